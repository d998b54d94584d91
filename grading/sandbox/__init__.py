"""The sandboxed kernel that runs student code during grading (Linux: bubblewrap + prlimit).

`prepare` checks that the sandbox really works on this machine, takes a free worker slot (its
own sandbox uid, held until this process ends), writes a kernel spec whose argv is
grading/sandbox/kernel.sh, and returns the command-line options and environment that make
nbgrader execute every submission with it.
"""

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from grading import settings

KERNEL_NAME = "gd-sandbox"
LAUNCHER = Path(__file__).resolve().parent / "kernel.sh"  # beside this file


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (defaults: grading/settings.py)."""
    memory_bytes: int = settings.MEMORY_BYTES
    cpu_seconds: int = settings.SUBMISSION_CAP
    wall_seconds: int = settings.SUBMISSION_CAP
    processes: int = settings.PROCESSES
    cpus: int = settings.CPUS
    file_bytes: int = settings.FILE_BYTES
    scratch_bytes: int = settings.SCRATCH_BYTES
    uid: int = settings.FIRST_SANDBOX_UID


class PrivateIpcKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel's sockets live in a folder of that kernel's own.

    The sandbox binds only that folder into the kernel, lets it create its sockets there and
    then closes the folder (kernel.sh): no kernel can leave files for the next
    one, or fill the grader's disk through it.
    """

    def write_connection_file(self, **kwargs):
        if self.transport == "ipc" and not self._connection_file_written:
            folder = Path(self.ip).parent / f"kernel-{secrets.token_hex(8)}"
            folder.mkdir(mode=0o700)
            self.ip = str(folder / "socket")
        super().write_connection_file(**kwargs)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here; the message says why and what to install."""


def problems():
    """Return the reasons the sandbox cannot run here (empty when it can)."""
    if not sys.platform.startswith("linux"):
        return [f"the sandbox needs Linux (this is {sys.platform})"]
    missing = [tool for tool in ("bwrap", "prlimit", "setpriv") if shutil.which(tool) is None]
    if missing:
        return [f"missing {', '.join(missing)}: install them with `apt-get install bubblewrap util-linux`"]
    if os.geteuid() != 0:
        return ["grading must run as root so that student code can run as an unprivileged user "
                "(the process limit does not hold otherwise)"]
    trial = subprocess.run(["bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--dev", "/dev",
                            "--proc", "/proc", "--size", "1048576", "--tmpfs", "/tmp", "--clearenv",
                            "--unshare-net", "--unshare-pid", "/usr/bin/true"], capture_output=True, text=True)
    if trial.returncode != 0:
        return [f"bwrap cannot create a sandbox here: {trial.stderr.strip() or trial.returncode}"]
    return []


def prepare(limits=Limits()):
    """Write the kernel spec; return (nbgrader options, environment) for sandboxed grading."""
    reasons = problems()
    if reasons:
        raise SandboxUnavailable("; ".join(reasons))
    uid = take_worker_slot(limits.uid)
    runtime = Path(tempfile.mkdtemp(prefix="gd-grading-"))
    ipc = runtime / "ipc"  # root's: each kernel gets a folder of its own in it (PrivateIpcKernelManager)
    ipc.mkdir(mode=0o755)
    (runtime / "notes").mkdir()
    spec = runtime / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(LAUNCHER), sys.executable, "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)", "language": "python", "interrupt_mode": "signal",
    }))
    env = {
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(runtime), os.environ.get("JUPYTER_PATH")])),
        "GD_SANDBOX_NOTES": str(runtime / "notes"),
        "GD_SANDBOX_SHOW": os.pathsep.join(str(p) for p in visible_paths()),
        "GD_SANDBOX_UID": str(uid),
        "GD_SANDBOX_SCRATCH_BYTES": str(limits.scratch_bytes),
        "GD_SANDBOX_NO_USERNS": "1" if can_forbid_user_namespaces(uid) else "0",
        "GD_SANDBOX_CGROUPS": cgroup_kind(),
        "GD_SANDBOX_MEMORY": str(limits.memory_bytes),
        "GD_SANDBOX_CPU": str(limits.cpu_seconds),
        "GD_SANDBOX_WALL": str(limits.wall_seconds),
        "GD_SANDBOX_NPROC": str(limits.processes),
        "GD_SANDBOX_CPUS": str(limits.cpus),
        "GD_SANDBOX_FSIZE": str(limits.file_bytes),
    }
    options = [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
               f"--KernelManager.ip={ipc / 'kernel'}"]
    return options, env, runtime


_held_slots = []


def take_worker_slot(first_uid, slots=settings.WORKER_SLOTS):
    """Hold the first free worker slot for the life of this process; return its sandbox uid.

    Each concurrent grading run on the machine gets its own uid, so the process limit and
    the cleanup of leftover kernels concern that run alone. A slot is an exclusive lock on
    /run/lock/generalizing-gd/slot-<n> (the lock ends with the process that holds it).
    """
    for slot in range(slots):
        handle = open(slot_file(slot), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held_slots.append(handle)
        uid = first_uid + slot
        _kill_everything_of(uid)  # a run that was killed may have left kernels behind
        return uid
    raise SandboxUnavailable(f"all {slots} grading worker slots are busy: wait for a grading run to finish")


def slot_file(slot):
    folder = Path("/run/lock" if Path("/run/lock").is_dir() else tempfile.gettempdir()) / "generalizing-gd"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"slot-{slot}"


def _kill_everything_of(uid):
    subprocess.run(["pkill", "-KILL", "-U", str(uid)], capture_output=True)


CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_kind():
    """How kernel.sh can bound a submission's memory, processes and CPU as a whole: "v1", "v2" or "none".

    Without control groups the limits hold per process only (prlimit): one submission's
    processes together can use more memory than ``memory_bytes``, and more cores than ``cpus``
    (slowing the submissions that parallel workers grade beside it).
    """
    if all(os.access(CGROUP_ROOT / name, os.W_OK) for name in ("memory", "pids")):
        return "v1"
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and {"memory", "pids"} <= set(controllers.read_text().split()) \
            and os.access(CGROUP_ROOT, os.W_OK):
        return "v2"
    return "none"


def can_forbid_user_namespaces(uid):
    """Whether an unprivileged bwrap can run here, and so forbid the kernel to make user namespaces.

    Where it cannot, the machine lets no unprivileged user make one, the student's code included.
    """
    trial = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                            "bwrap", "--unshare-user", "--disable-userns", "--ro-bind", "/", "/", "true"],
                           capture_output=True)
    return trial.returncode == 0


def visible_paths():
    """What the kernel needs, read-only, wherever it lives: the Python environment and gdlib."""
    needed = {Path(sys.prefix), Path(sys.base_prefix), kernels_gdlib()}
    return sorted({p.resolve() for p in needed} | needed)


def kernels_gdlib():
    """The gdlib the kernel will import: the environment's, found as the kernel finds it (from /,
    with a clean environment and no script folder on the path), not a gdlib/ beside this process."""
    found = subprocess.run([sys.executable, "-P", "-c", "import gdlib; print(gdlib.__file__)"], cwd="/",
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, capture_output=True, text=True)
    if found.returncode != 0:
        raise SandboxUnavailable(f"the grading environment {sys.prefix} cannot import gdlib "
                                 f"({found.stderr.strip().splitlines()[-1:]}): run `make env`")
    return Path(found.stdout.strip()).parent


def kill_leftovers(env):
    """Kill whatever still runs as this grading run's sandbox uid (a kernel whose launcher was killed).

    The uid belongs to this run's worker slot alone, so no other grading run is touched.
    """
    if env.get("GD_SANDBOX_UID"):
        _kill_everything_of(int(env["GD_SANDBOX_UID"]))
    for group in CGROUP_ROOT.glob("*/generalizing-gd/kernel-*") if env.get("GD_SANDBOX_CGROUPS") == "v1" else \
            CGROUP_ROOT.glob("generalizing-gd/kernel-*"):
        try:  # the groups of kernels whose launcher was killed; a group still in use stays
            group.rmdir()
        except OSError:
            pass


def death_notes(env, assignment, student):
    """The files in which the sandbox launcher notes how this submission's kernel ended."""
    folder = Path(env.get("GD_SANDBOX_NOTES", "/nonexistent"))
    return folder / f"{student}--{assignment}.exit", folder / f"{student}--{assignment}.wall"


def budget_spent(env, assignment, student):
    """True once this submission's kernels have lived its whole wall-clock budget (kernel.sh counts)."""
    notes = Path(env.get("GD_SANDBOX_NOTES", "/nonexistent"))
    try:
        used = int((notes / f"{student}--{assignment}.used").read_text())
        started = notes / f"{student}--{assignment}.started"
        if started.exists():
            used += int(time.time()) - int(started.read_text())
        return used >= int(env.get("GD_SANDBOX_WALL", settings.SUBMISSION_CAP))
    except (OSError, ValueError):
        return False


def kernel_died(env, assignment, student):
    return any(note.exists() for note in death_notes(env, assignment, student))


def clear_death_notes(env, assignment, student):
    for note in death_notes(env, assignment, student):
        note.unlink(missing_ok=True)


def forget_stopped_kernel(env, assignment, student):
    """Forget the exit status of a kernel the grader stopped itself (at a cell's timeout): it is no death
    of the submission's making. A used-up budget (the .wall note) stays."""
    death_notes(env, assignment, student)[0].unlink(missing_ok=True)


def death_reason(env, assignment, student):
    """Say why the kernel of this submission died, from the notes the sandbox launcher left."""
    exit_note, wall_note = death_notes(env, assignment, student)
    if wall_note.exists():
        return f"killed: the submission used up its {wall_note.read_text().strip()}"
    if not exit_note.exists():
        return ""
    status = int(exit_note.read_text().strip() or 0)
    causes = {137: "killed (SIGKILL: out of memory or killed by the system)", 152: "killed: CPU time limit reached",
              153: "killed: file size limit reached"}
    return "kernel died: " + causes.get(status, f"the kernel exited with status {status} (os._exit or a crash)")
