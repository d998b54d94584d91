"""nbgrader's configuration for students in the course image (/etc/jupyter/nbgrader_config.py).

Students never read the course's own nbgrader_config.py: this file names the course and the
shared exchange volume (deploy/k8s/values.yaml mounts it at /srv/nbgrader/exchange).
"""

c = get_config()  # noqa: F821 (provided by Jupyter)

c.CourseDirectory.course_id = "generalizing-gd"
c.Exchange.root = "/srv/nbgrader/exchange"
