"""Unix accounts for the tests that need real students (test_hub.py, test_term.py): made, used, removed."""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def run_checked(command, **options):
    done = subprocess.run(command, capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{command}: {done.stdout[-4000:]}{done.stderr[-4000:]}"
    return done


def processes_of(uid):
    """Ids of the processes running as ``uid`` (the servers and kernels the hub started for a student)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
    return found


def stop_processes_of(uid):
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal_number)
        deadline = time.monotonic() + 20
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.5)


def add_account(name, *options):
    run_checked(["useradd", "--create-home", "--shell", "/bin/bash", *options, name])
    return pwd.getpwnam(name)


def remove_account(name):
    with contextlib.suppress(KeyError):
        stop_processes_of(pwd.getpwnam(name).pw_uid)
        subprocess.run(["userdel", "--remove", name], capture_output=True)


@contextlib.contextmanager
def folder_everyone_may_enter(prefix):
    """A fresh folder under /tmp (mode 0755, so students can reach what is put in it), removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
