"""Set up the multi-user course on one host; run as root by `make hub-setup` and `make hub`.

``setup``: the student environment (a Python environment every student can execute and read,
outside the course root, with the course's requirements, gdlib and the student-side Jupyter and
nbgrader settings), nbgrader's exchange, and the permissions: the course root and the hub's
state private to root, every student's home 0700.
``ports``: says which of the hub's three ports is taken, before the hub tries them.
(Returning feedback through the exchange is a course command: grading/course.py.)
"""

import argparse
import grp
import hashlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = ".gd-installed"


class SetupError(SystemExit):
    """A problem the administrator can fix; its message says how."""

    def __init__(self, message):
        super().__init__(f"make hub-setup: {message}")


def clean_environment():
    """This process's environment without what would change which Python code runs (PYTHONPATH, ...)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}


def run(*command, **options):
    options.setdefault("env", clean_environment())
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **options)
    if done.returncode != 0:
        raise SetupError(f"`{' '.join(map(str, command))}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


# --- the student environment ---------------------------------------------------------------------

def everyone_can_use(path):
    """Every folder down to ``path`` lets others in, and ``path`` itself is readable by others."""
    path = Path(path).resolve()
    if any(not folder.stat().st_mode & stat.S_IXOTH for folder in [*path.parents, path]):
        return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def copy_interpreter(base, name, target):
    """Copy the interpreter under ``base`` (binary, libpython, standard library) into ``target``.

    Third-party packages and the test suite stay behind. A binary that finds libpython through an
    absolute run path into ``base`` is pointed at its own copy instead ($ORIGIN/../lib).
    """
    base, target = Path(base), Path(target)
    shutil.rmtree(target, ignore_errors=True)
    (target / "bin").mkdir(parents=True)
    shutil.copy2(base / "bin" / name, target / "bin" / name)
    (target / "bin" / "python3").symlink_to(name)
    (target / "lib").mkdir()
    for library in (base / "lib").glob("libpython*.so*"):
        shutil.copy2(library, target / "lib" / library.name, follow_symlinks=False)
    skip_at_top = shutil.ignore_patterns("site-packages", "test", "idlelib", "tkinter", "turtledemo")
    shutil.copytree(base / "lib" / name, target / "lib" / name,
                    ignore=lambda folder, names: skip_at_top(folder, names) if Path(folder).name == name else [])
    (target / "lib" / name / "site-packages").mkdir()
    point_run_path_at_copy(target / "bin" / name, base / "lib")


def point_run_path_at_copy(binary, old_library_folder):
    """Rewrite an absolute run path ``old_library_folder`` in ``binary`` to $ORIGIN/../lib, in place."""
    old, new = str(old_library_folder).encode() + b"\0", b"$ORIGIN/../lib\0"
    data = binary.read_bytes()
    if old not in data:
        return  # no run path into the original tree: the copy finds its libraries like the original
    if data.count(old) != 1 or len(new) > len(old):
        raise SetupError(f"cannot relocate the copied interpreter {binary} (run path {old_library_folder}); "
                         "give an interpreter students can execute: make hub-setup STUDENT_PYTHON=/usr/bin/python3")
    binary.write_bytes(data.replace(old, new.ljust(len(old), b"\0")))


def student_interpreter(env, python):
    """An interpreter every student can execute: ``python``'s own, or a copy of it under ``env``."""
    found = run(python, "-c", "import sys; print(sys.base_prefix); print('python%d.%d' % sys.version_info[:2])")
    base, name = Path(found.split()[0]), found.split()[1]
    original = base / "bin" / name
    if not original.exists():
        raise SetupError(f"{python}: no {original}; give STUDENT_PYTHON=<a python3 with venv>")
    if everyone_can_use(base) and everyone_can_use(original):
        return original
    print(f"hub-setup: students cannot read {base}: copying the interpreter to {env / 'base-python'}")
    copy_interpreter(base, name, env / "base-python")
    return env / "base-python" / "bin" / name


def gdlib_project(course_root):
    """The project gdlib is installed from: the one the course's own Python imports, else the course root."""
    found = run(sys.executable, "-c", "import gdlib, os; print(os.path.dirname(os.path.dirname(gdlib.__file__)))",
                cwd="/").strip()
    for project in (Path(found), course_root):
        if (project / "pyproject.toml").is_file() and (project / "gdlib").is_dir():
            return project
    raise SetupError(f"no gdlib project (pyproject.toml and gdlib/) at {found} or {course_root}")


def wanted_installation(course_root, project):
    """A fingerprint of what the student environment holds: requirements and gdlib's source."""
    digest = hashlib.sha256((course_root / "requirements.txt").read_bytes())
    for path in [project / "pyproject.toml", *sorted((project / "gdlib").rglob("*"))]:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(project)).encode() + path.read_bytes())
    return digest.hexdigest()


def install_gdlib(env, project):
    """gdlib as a regular (non-editable) package: students never need to read the course root."""
    with tempfile.TemporaryDirectory(prefix="gd-gdlib-") as scratch:  # no build/ left in the project
        shutil.copy2(project / "pyproject.toml", scratch)
        shutil.copytree(project / "gdlib", Path(scratch) / "gdlib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
            "--force-reinstall", scratch)


def build_student_env(env, course_root, python):
    """The venv at ``env`` with requirements.txt and gdlib, skipped when it already holds them."""
    project = gdlib_project(course_root)
    wanted = wanted_installation(course_root, project)
    if (env / STAMP).exists() and (env / STAMP).read_text() == wanted and (env / "bin" / "python").exists():
        print(f"hub-setup: the student environment {env} is up to date")
        return
    env.mkdir(parents=True, exist_ok=True)
    interpreter = student_interpreter(env, python)
    print(f"hub-setup: building the student environment {env} from {interpreter}")
    run(interpreter, "-m", "venv", env)
    run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "-r", course_root / "requirements.txt")
    install_gdlib(env, project)
    (env / STAMP).write_text(wanted)


def write_student_settings(env, course_id, exchange):
    """What every student's Jupyter reads from the environment: nbgrader's course and exchange, the lab's plugins."""
    settings = env / "etc" / "jupyter"
    (settings / "labconfig").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "student-page_config.json", settings / "labconfig" / "page_config.json")
    (settings / "nbgrader_config.py").write_text(
        "# Written by `make hub-setup` (deploy/hub/setup.py): the nbgrader settings of every student.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course_id!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    server_extensions = settings / "jupyter_server_config.d"
    server_extensions.mkdir(exist_ok=True)
    off = {"nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False}
    # read after nbgrader.json (which switches them on): files in a .d folder are read in name order
    (server_extensions / "zz-generalizing-gd-students.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": off}}, indent=2) + "\n")


def readable_by_everyone(tree):
    """Every file and folder under ``tree`` readable (folders enterable) by all, writable by root only."""
    for folder, _, files in os.walk(tree):
        for path in [folder, *(os.path.join(folder, name) for name in files)]:
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            wanted = (mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH) & ~(stat.S_IWGRP | stat.S_IWOTH)
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                wanted |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            if wanted != mode:
                os.chmod(path, stat.S_IMODE(wanted))


def check_a_student_can_run(env):
    """The environment starts as an unprivileged user (``nobody``), gdlib and nbgrader included."""
    probe = "import gdlib, nbgrader, jupyterhub, numpy; print(gdlib.__file__)"
    found = run("runuser", "-u", "nobody", "--", env / "bin" / "python", "-c", probe, cwd="/").strip()
    if not found.startswith(str(env)):
        raise SetupError(f"the student environment imports gdlib from {found}, not from {env}")


# --- the exchange and the permissions ----------------------------------------------------------

def make_folder(path, mode):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 0, 0)
    os.chmod(path, mode)


def prepare_exchange(exchange, course_id):
    """nbgrader's filesystem exchange, made by root before any student can claim a name in it.

    The root is writable by all (nbgrader insists), sticky so that nobody renames what others
    made; the course's folders belong to root: outbound readable, inbound writable but not
    listable (a submission's folder name is unguessable) and sticky (nobody renames or removes a
    classmate's hand-in, even knowing its name), feedback enterable but not listable.
    """
    for parent in reversed(exchange.parents):
        if not parent.exists():
            make_folder(parent, 0o755)
    make_folder(exchange, 0o1777)
    course = exchange / course_id
    make_folder(course, 0o755)
    make_folder(course / "outbound", 0o755)
    make_folder(course / "inbound", 0o3733)
    make_folder(course / "feedback", 0o711)


def student_accounts(group):
    """The accounts in the Unix group ``group`` (members, and accounts with it as primary group)."""
    entry = grp.getgrnam(group)
    members = set(entry.gr_mem) | {user.pw_name for user in pwd.getpwall() if user.pw_gid == entry.gr_gid}
    return sorted(members)


def ensure_group(group):
    try:
        grp.getgrnam(group)
    except KeyError:
        run("groupadd", group)
        print(f"hub-setup: created the Unix group {group}; add students with "
              f"`useradd -m -K HOME_MODE=0700 -G {group} <name>` and `passwd <name>`")


def private_homes(group):
    for name in student_accounts(group):
        home = Path(pwd.getpwnam(name).pw_dir)
        if home.is_dir() and stat.S_IMODE(home.stat().st_mode) != 0o700:
            os.chmod(home, 0o700)
            print(f"hub-setup: {home} is now 0700 (only {name} can read it)")


def private_course(course_root, hub_state):
    """The course root (solutions, gradebook, submissions) and the hub's state: root only."""
    os.chmod(course_root, 0o700)
    make_folder(hub_state, 0o700)


def setup(arguments):
    os.umask(0o022)
    if os.geteuid() != 0:
        raise SetupError("run it as root: it builds the student environment and the exchange and sets "
                         "permissions (sudo make hub-setup)")
    course_root = Path(arguments.course_root).resolve()
    sys.path.insert(0, str(course_root))
    from grading.settings import COURSE_ID, exchange_root

    env, exchange = Path(arguments.student_env), Path(arguments.exchange or exchange_root())
    for path, name in [(env, "STUDENT_ENV"), (exchange, "EXCHANGE"), (Path(arguments.hub_state), "HUB_STATE")]:
        if not path.is_absolute() or path.resolve().is_relative_to(course_root):
            raise SetupError(f"{name}={path} must be an absolute path outside the course root {course_root}")
    build_student_env(env, course_root, arguments.python)
    write_student_settings(env, COURSE_ID, exchange)
    readable_by_everyone(env)
    check_a_student_can_run(env)
    prepare_exchange(exchange, COURSE_ID)
    ensure_group(arguments.group)
    private_homes(arguments.group)
    private_course(course_root, Path(arguments.hub_state))
    print(f"hub-setup: students use {env}, exchange {exchange}/{COURSE_ID}, group {arguments.group}; "
          f"{course_root} is root's alone")


# --- ports ---------------------------------------------------------------------------------------

def port_is_free(ip, port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def check_ports(arguments):
    wanted = [(arguments.ip, arguments.port, "the hub (HUB_PORT)"),
              ("127.0.0.1", arguments.port + 1, "the hub's internal API (HUB_PORT+1)"),
              ("127.0.0.1", arguments.port + 2, "the proxy's API (HUB_PORT+2)")]
    taken = [f"{ip}:{port} ({what})" for ip, port, what in wanted if not port_is_free(ip, port)]
    if taken:
        raise SystemExit(f"make hub: port taken: {', '.join(taken)}. Stop what uses it, or pick other ports: "
                         f"make hub HUB_PORT=<port> (the hub uses that port and the next two)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("setup", help="student environment, exchange, permissions")
    prepare.add_argument("--course-root", required=True)
    prepare.add_argument("--student-env", required=True)
    prepare.add_argument("--exchange", default="", help="nbgrader's exchange (default: grading/settings.py's)")
    prepare.add_argument("--hub-state", required=True)
    prepare.add_argument("--group", required=True)
    prepare.add_argument("--python", default=sys.executable, help="the interpreter to base the student environment on")
    ports = commands.add_parser("ports", help="fail with a clear message when a port the hub needs is taken")
    ports.add_argument("--ip", required=True)
    ports.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    {"setup": setup, "ports": check_ports}[arguments.command](arguments)


if __name__ == "__main__":
    main()
