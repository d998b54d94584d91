"""An endless loop through the real `make autograde`: it costs its own cells, reads `timeout` on every run,
and a function that ran past the timeout is never called again by a later hidden test.

The course copied here has ch01's train_history rest on step_goes_downhill (``judge.again``, as ch06's
and ch08's tests rest on others), so that a later hidden test asks for step again.
"""

import csv
import os
import subprocess

import nbformat
import pytest

from grading import sandbox
from grading.samples import answered, copy_course, make_command, reference_answers, with_mistake

CHAPTER = "ch01_one_weight"
CELL_TIMEOUT = 5

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(not os.environ.get("CI") and bool(sandbox.problems()),
                                 reason="grading in the sandbox needs root and bubblewrap")]


def rest_train_history_on_step(course):
    hidden = course / "grading" / "hidden" / f"{CHAPTER}.py"
    text = hidden.read_text().replace("import call, expect, expect_near", "import again, call, expect, expect_near")
    marker = '    """train returns num_steps + 1 weights, each one gradient step from the one before."""\n'
    assert marker in text
    hidden.write_text(text.replace(marker, marker + "    yield from again(rng, step_goes_downhill)\n"))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The exercises.csv and submissions.csv rows of two `make autograde` runs, one after the other, of one class."""
    course = copy_course(tmp_path_factory.mktemp("timeouts"), [CHAPTER])
    rest_train_history_on_step(course)
    answers = reference_answers(CHAPTER)
    hangs = {  # step passes its visible checks (whole inputs) and loops forever on the hidden test's (floats)
        "step_hangs": with_mistake(answers, "step", "    return weight -",
                                   "    while isinstance(input, float):\n        pass\n    return weight -"),
        "train_hangs": with_mistake(answers, "train", "    history = [weight]", "    while True:\n        pass"),
        "honest": answers,
    }
    for student, given in hangs.items():
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(answered(CHAPTER, given), folder / f"{CHAPTER}.ipynb")
    runs = []
    for _ in range(2):
        done = subprocess.run(make_command("autograde", f"A={CHAPTER}", f"CELL_TIMEOUT={CELL_TIMEOUT}", "WORKERS=1"),
                              cwd=course, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with open(course / "reports" / CHAPTER / "exercises.csv", newline="") as handle:
            exercises = {(r["student"], r["exercise"]): r for r in csv.DictReader(handle)}
        with open(course / "reports" / CHAPTER / "submissions.csv", newline="") as handle:
            runs.append((exercises, {r["student"]: r for r in csv.DictReader(handle)}))
    return runs


def test_a_function_that_ran_past_the_timeout_is_not_called_again_by_a_later_hidden_test(two_runs):
    for rows, _ in two_runs:
        assert rows[("step_hangs", "step_goes_downhill")]["reason"] == (
            "timeout: the hidden test ran past the 5 s cell timeout")
        train = rows[("step_hangs", "train_history")]
        assert (train["reason_code"], train["reason"], train["rests_on"]) == (
            "timeout", "timeout: step ran past the cell timeout earlier", "step")
        assert rows[("step_hangs", "predict_multiplies")]["reason"] == ""


def test_an_endless_loop_reads_timeout_on_every_run_never_a_crash(two_runs):
    for rows, submissions in two_runs:
        assert rows[("train_hangs", "train_history")]["reason_code"] == "timeout"
        assert rows[("train_hangs", "train_history")]["reason"] == (
            f"timeout: the cell ran past the {CELL_TIMEOUT} s cell timeout")
        for student in ["train_hangs", "step_hangs"]:
            row = submissions[student]
            assert row["status"] == "graded, written answers pending" and row["problem"] == ""
            assert "kernel died" not in row["earlier_attempts"], row
        assert all(row["reason"] == "" for (student, exercise), row in rows.items()
                   if student == "honest" and exercise != "overshoot_explained")
