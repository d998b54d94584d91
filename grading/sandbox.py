"""The sandboxed kernel that runs student code during grading (Linux: bubblewrap + prlimit).

`prepare` checks that the sandbox really works on this machine, writes a kernel spec whose
argv is tools/sandbox/kernel.sh, and returns the command-line options and environment that
make nbgrader execute every submission with it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "gd-sandbox"
LAUNCHER = Path(__file__).resolve().parent.parent / "tools" / "sandbox" / "kernel.sh"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's kernel."""
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 600
    wall_seconds: int = 600
    processes: int = 64
    file_bytes: int = 100 * 1024**2
    uid: int = 64999


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
    trial = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                            "--unshare-net", "--unshare-pid", "true"], capture_output=True, text=True)
    if trial.returncode != 0:
        return [f"bwrap cannot create a sandbox here: {trial.stderr.strip() or trial.returncode}"]
    return []


def prepare(course, limits=Limits()):
    """Write the kernel spec; return (nbgrader options, environment) for sandboxed grading."""
    reasons = problems()
    if reasons:
        raise SandboxUnavailable("; ".join(reasons))
    runtime = Path(tempfile.mkdtemp(prefix="gd-grading-"))
    ipc = runtime / "ipc"
    ipc.mkdir()
    ipc.chmod(0o1777)
    (runtime / "notes").mkdir()
    (runtime / "scratch").mkdir()
    spec = runtime / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(LAUNCHER), sys.executable, "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)", "language": "python", "interrupt_mode": "signal",
    }))
    course = Path(course).resolve()
    env = {
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(runtime), os.environ.get("JUPYTER_PATH")])),
        "GD_SANDBOX_HIDE": str(course),
        "GD_SANDBOX_NOTES": str(runtime / "notes"),
        "GD_SANDBOX_SCRATCH": str(runtime / "scratch"),
        "GD_SANDBOX_SHOW": os.pathsep.join(str(p) for p in visible_paths()),
        "GD_SANDBOX_UID": str(limits.uid),
        "GD_SANDBOX_MEMORY": str(limits.memory_bytes),
        "GD_SANDBOX_CPU": str(limits.cpu_seconds),
        "GD_SANDBOX_WALL": str(limits.wall_seconds),
        "GD_SANDBOX_NPROC": str(limits.processes),
        "GD_SANDBOX_FSIZE": str(limits.file_bytes),
    }
    options = [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
               f"--KernelManager.ip={ipc / 'kernel'}"]
    return options, env, runtime


def visible_paths():
    """What the kernel needs, read-only, wherever it lives: the Python environment and gdlib.

    The launcher binds each of them back only if it lies in a folder the sandbox empties
    (the course, or /tmp as in a fresh clone under /tmp).
    """
    import gdlib

    needed = {Path(sys.prefix), Path(sys.base_prefix), Path(gdlib.__file__).parent}
    return sorted({p.resolve() for p in needed} | needed)


def kill_leftovers(course, limits=Limits()):
    """Kill kernels of this course still running as the sandbox user (their launcher was killed).

    Only processes whose command line names this course's autograded/ folder are touched, so
    two courses grading on one machine never stop each other's kernels.
    """
    pattern = str(Path(course).resolve() / "autograded") + "/"
    subprocess.run(["pkill", "-KILL", "-U", str(limits.uid), "-f", pattern], capture_output=True)


def death_notes(env, assignment, student):
    """The files in which the sandbox launcher notes how this submission's kernel ended."""
    folder = Path(env.get("GD_SANDBOX_NOTES", "/nonexistent"))
    return folder / f"{student}--{assignment}.exit", folder / f"{student}--{assignment}.wall"


def kernel_died(env, assignment, student):
    return any(note.exists() for note in death_notes(env, assignment, student))


def clear_death_notes(env, assignment, student):
    for note in death_notes(env, assignment, student):
        note.unlink(missing_ok=True)


def clear_scratch(env, assignment, student):
    """Forget the scratch copy a submission's kernels worked in, so that a regrade starts afresh."""
    if env.get("GD_SANDBOX_SCRATCH"):
        shutil.rmtree(Path(env["GD_SANDBOX_SCRATCH"]) / f"{student}--{assignment}", ignore_errors=True)


def death_reason(env, assignment, student):
    """Say why the kernel of this submission died, from the notes the sandbox launcher left."""
    exit_note, wall_note = death_notes(env, assignment, student)
    if wall_note.exists():
        return f"killed: the submission ran past the {wall_note.read_text().strip()}"
    if not exit_note.exists():
        return ""
    status = int(exit_note.read_text().strip() or 0)
    causes = {137: "killed (SIGKILL: out of memory or killed by the system)", 152: "killed: CPU time limit reached",
              153: "killed: file size limit reached"}
    return "kernel died: " + causes.get(status, f"the kernel exited with status {status} (os._exit or a crash)")
