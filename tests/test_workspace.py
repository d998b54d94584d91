"""The learner's workspace: `make lab` copies new chapters in and never touches their work."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "lab"))
from sync_workspace import sync  # noqa: E402

from grading.samples import copy_course, make_command

# the sync tests are quick; the two that start JupyterLab are marked slow as well (make test-fast leaves them out)
pytestmark = pytest.mark.unit


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_first_sync_copies_the_whole_course(tmp_path):
    write(tmp_path / "course/ch01/ch01.ipynb", "release 1")
    added, kept = sync(tmp_path / "course", tmp_path / "workspace")
    assert added == [Path("ch01/ch01.ipynb")] and kept == []
    assert (tmp_path / "workspace/ch01/ch01.ipynb").read_text() == "release 1"


def test_later_syncs_add_new_chapters_and_keep_the_learners_files(tmp_path):
    write(tmp_path / "course/ch01/ch01.ipynb", "release 1")
    sync(tmp_path / "course", tmp_path / "workspace")
    write(tmp_path / "workspace/ch01/ch01.ipynb", "my answers")
    write(tmp_path / "course/ch01/ch01.ipynb", "release 2")
    write(tmp_path / "course/ch02/ch02.ipynb", "new chapter")
    write(tmp_path / "course/ch02/.ipynb_checkpoints/ch02-checkpoint.ipynb", "editor state")
    added, kept = sync(tmp_path / "course", tmp_path / "workspace")
    assert added == [Path("ch02/ch02.ipynb")] and kept == [Path("ch01/ch01.ipynb")]
    assert (tmp_path / "workspace/ch01/ch01.ipynb").read_text() == "my answers"
    assert not (tmp_path / "workspace/ch02/.ipynb_checkpoints").exists()


def test_missing_course_gives_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "lab/sync_workspace.py"), str(tmp_path / "nope"),
                             str(tmp_path / "ws")], capture_output=True, text=True)
    assert result.returncode != 0 and "run `make release`" in result.stderr


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def contents(port, path, token):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/{path}?token={token}", timeout=5) as reply:
        return json.load(reply)


def wait_for_contents(port, path, token, server, log, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            return contents(port, path, token)
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer on port {port} within {seconds} s")


@pytest.mark.slow
def test_make_lab_serves_the_learners_copy_and_release_leaves_it_alone(tmp_path):
    """`make lab` copies the course, JupyterLab serves it, and `make release` later changes nothing there."""
    course = copy_course(tmp_path / "repo", ["ch01_one_weight"])
    port, token = free_port(), "test-token"
    lab_args = f"--no-browser --ServerApp.token={token} --ServerApp.ip=127.0.0.1 --LabApp.news_url=None"
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(make_command("lab", f"PORT={port}", f"LAB_ARGS={lab_args}"),
                              cwd=course, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        listing = wait_for_contents(port, "ch01_one_weight", token, server, tmp_path / "lab.log")
        assert "ch01_one_weight.ipynb" in [item["name"] for item in listing["content"]]
        notebook = contents(port, "ch01_one_weight/ch01_one_weight.ipynb", token)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as reply:
            page = reply.read().decode()
        disabled = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                        page, re.S).group(1))["disabledExtensions"]
        assert "@jupyter/nbgrader:create-assignment" in disabled, "learners must not see the instructor's tools"
        assert "@jupyter/nbgrader:validate-assignment" not in disabled, "learners keep the Validate button"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    learner_copy = course / "workspace/ch01_one_weight/ch01_one_weight.ipynb"
    learner_copy.write_text(learner_copy.read_text().replace("raise NotImplementedError()", "return input * weight", 1))
    edited = learner_copy.read_bytes()
    result = subprocess.run(make_command("release", "A=ch01_one_weight"),
                            cwd=course, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert learner_copy.read_bytes() == edited


@pytest.mark.slow
@pytest.mark.parametrize("target", ["lab", "instructor-lab"])
def test_lab_kernels_draw_figures(target):
    """The Makefile exports MPLBACKEND=Agg for headless recipes; kernels of a lab must not inherit it
    (plt.show() would then draw nothing in the browser)."""
    recipe = subprocess.run(make_command("-n", target), cwd=ROOT, capture_output=True, text=True, check=True).stdout
    launch = next(line for line in recipe.replace("\\\n", " ").splitlines() if "jupyter lab" in line)
    assert "env -u MPLBACKEND" in launch, launch
