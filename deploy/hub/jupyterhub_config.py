"""JupyterHub for the course on one host: local Unix accounts, PAM passwords, one server per student.

`make hub` starts it as root (the spawner starts each student's server as that student) and
passes what is host-specific in the environment:

- GD_HUB_IP, GD_HUB_PORT: where students connect (the hub also uses GD_HUB_PORT+1 for its own
  API and GD_HUB_PORT+2 for the proxy's, both on loopback);
- GD_STUDENT_ENV: the student environment (`make hub-setup`), whose jupyterhub-singleuser each
  student's server runs and whose etc/jupyter holds the students' nbgrader and lab settings;
- GD_STUDENT_GROUP: the Unix group whose members may log in;
- GD_HUB_STATE: root's private folder for the hub's database and cookie secret;
- GD_PROXY: the configurable-http-proxy executable.
"""

import os
import pwd

c = get_config()  # noqa: F821 (provided by JupyterHub)

ip = os.environ.get("GD_HUB_IP", "127.0.0.1")
port = int(os.environ.get("GD_HUB_PORT", "8000"))
student_env = os.environ.get("GD_STUDENT_ENV", "/opt/generalizing-gd")
state = os.environ.get("GD_HUB_STATE", "/srv/generalizing-gd/hub")

c.JupyterHub.bind_url = f"http://{ip}:{port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [os.environ.get("GD_PROXY", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(state, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the students' servers

# who may log in: members of the students' group, with their Unix password
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {os.environ.get("GD_STUDENT_GROUP", "gd-students")}

# each student's server: the student environment, in their home, opening JupyterLab
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(student_env, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# nothing of root's environment (PYTHONPATH, the course's venv, MPLBACKEND) reaches a student
c.Spawner.env_keep = ["LANG", "LC_ALL"]
student_path = [os.path.join(student_env, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
c.Spawner.environment = {"PATH": os.pathsep.join(student_path)}
c.Spawner.args = ["--LabApp.news_url=None"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def private_home(spawner):
    """A student's home is theirs alone (Debian's useradd makes it 0755), checked at every start."""
    os.chmod(pwd.getpwnam(spawner.user.name).pw_dir, 0o700)


c.Spawner.pre_spawn_hook = private_home
