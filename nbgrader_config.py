"""nbgrader configuration for the course. Paths are relative to this file's folder."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "generalizing-gd"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
# never copy editor or notebook checkpoints into a release
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py"]

# nbgrader's exchange, for release/fetch/submit/collect on one shared machine or JupyterHub
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(HERE, "exchange"))

# every notebook a student submits must be graded even if they deleted a graded cell
c.OverwriteCells.add_missing_cells = True
# a cell that runs longer than this is stopped; the course's cells take well under a second
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
