"""An endless loop through the real `make autograde`: it costs its own cells, reads `timeout` on every run,
and a function that ran past the timeout is never called again by a later hidden test; the student's own later
cells that call it fail at once, reading `timeout` resting on it, unless the notebook defines it again.

The course copied here has ch01's train_history rest on step_goes_downhill (``judge.again``, as ch06's
and ch08's tests rest on others), so that a later hidden test asks for step again.
"""

import csv
import os
import subprocess
import sys

import nbformat
import pytest

from grading import sandbox
from grading.hidden import collector
from grading.hidden.collector import stopped_message
from grading.preprocessors import ResilientExecute, stopped_reason
from grading.samples import answered, copy_course, make_command, reference_answers, with_mistake

CHAPTER = "ch01_one_weight"
CELL_TIMEOUT = 5

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(not os.environ.get("CI") and bool(sandbox.problems()),
                                 reason="grading in the sandbox needs root and bubblewrap")]


FORGED = f"""
class TimedOutEarlier(Exception):
    pass

def train(weight, input, goal, alpha, num_steps):
    raise TimedOutEarlier({stopped_message("train", CELL_TIMEOUT)!r})
"""


def after_trying(notebook, source):
    """``notebook`` with a cell of the student's own holding ``source`` right after train's try-it cell."""
    tried = next(i for i, cell in enumerate(notebook.cells) if cell.source.startswith("# try it: three steps"))
    notebook.cells.insert(tried + 1, nbformat.v4.new_code_cell(source))
    return notebook


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
        "forges_the_message": dict(answers, train=FORGED),
    }
    notebooks = {student: answered(CHAPTER, given) for student, given in hangs.items()}
    notebooks["train_hangs_then_fixed"] = after_trying(answered(CHAPTER, hangs["train_hangs"]), answers["train"])
    notebooks["train_hangs_then_crashes"] = after_trying(answered(CHAPTER, hangs["train_hangs"]),
                                                         "import os\nos._exit(1)")
    for student, notebook in notebooks.items():
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{CHAPTER}.ipynb")
    runs = []
    for _ in range(2):
        done = subprocess.run(make_command("autograde", f"A={CHAPTER}", f"CELL_TIMEOUT={CELL_TIMEOUT}", "WORKERS=1"),
                              cwd=course, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with open(course / "reports" / CHAPTER / "exercises.csv", newline="") as handle:
            exercises = {(r["student"], r["exercise"]): r for r in csv.DictReader(handle)}
        with open(course / "reports" / CHAPTER / "submissions.csv", newline="") as handle:
            submissions = {r["student"]: r for r in csv.DictReader(handle)}
        graded = {student: nbformat.read(course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
                  for student in notebooks}
        runs.append((exercises, submissions, graded))
    return runs


def errors_of(notebook):
    """[(cell index, source, [(ename, evalue) of each error output])] of the code cells."""
    return [(index, cell.source, [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"])
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def ran_to_the_timeout(notebook):
    """The cells of ``notebook`` that ran until this grader interrupted or stopped them."""
    return [index for index, _, errors in errors_of(notebook)
            if {"KeyboardInterrupt", "CellTimeoutError"} & {name for name, _ in errors}]


def calls_after(notebook, index, function):
    """The code cells after ``index`` whose source calls ``function``, with their errors."""
    return [(later, errors) for later, source, errors in errors_of(notebook)
            if later > index and f"{function}(" in source]


def test_a_function_that_ran_past_the_timeout_is_not_called_again_by_a_later_hidden_test(two_runs):
    for rows, _, _ in two_runs:
        assert rows[("step_hangs", "step_goes_downhill")]["reason"] == (
            "timeout: the hidden test ran past the 5 s cell timeout")
        train = rows[("step_hangs", "train_history")]
        assert (train["reason_code"], train["reason"], train["rests_on"]) == (
            "timeout", "timeout: step ran past the cell timeout earlier", "step")
        assert rows[("step_hangs", "predict_multiplies")]["reason"] == ""


def test_an_endless_loop_reads_timeout_on_every_run_never_a_crash(two_runs):
    for rows, submissions, _ in two_runs:
        assert rows[("train_hangs", "train_history")]["reason_code"] == "timeout"
        for student in ["train_hangs", "step_hangs", "train_hangs_then_fixed"]:
            row = submissions[student]
            assert row["status"] == "graded, written answers pending" and row["problem"] == ""
            assert "kernel died" not in row["earlier_attempts"], row
        assert all(row["reason"] == "" for (student, exercise), row in rows.items()
                   if student == "honest" and exercise != "overshoot_explained")


def test_a_function_that_ran_past_the_timeout_in_a_cell_fails_at_once_in_every_later_cell(two_runs):
    """One timeout for one endless loop: the try-it cell waits it out, every later cell calling train fails at once."""
    stopped = ("TimedOutEarlier", stopped_message("train", CELL_TIMEOUT))
    for rows, _, graded in two_runs:
        for student in ["train_hangs", "train_hangs_then_crashes"]:  # (a fresh kernel after the crash: stopped too)
            notebook = graded[student]
            [hung] = ran_to_the_timeout(notebook)
            assert "train(" in notebook.cells[hung].source and "checks." not in notebook.cells[hung].source  # try-it
            later = calls_after(notebook, hung, "train")
            assert len(later) >= 3 and all(errors == [stopped] for _, errors in later), later
            train = rows[(student, "train_history")]
            assert (train["reason_code"], train["reason"], train["rests_on"]) == (
                "timeout", "timeout: train ran past the cell timeout earlier", "train")
            assert train["points"] == "0.0"
        assert "KernelDied" in {name for _, _, errors in errors_of(graded["train_hangs_then_crashes"])
                                for name, _ in errors}


def test_a_function_that_ran_past_the_timeout_in_a_hidden_test_fails_at_once_in_the_students_later_cells(two_runs):
    """step loops forever only on the hidden test's floats: no cell of the notebook waits out a timeout after."""
    stopped = ("TimedOutEarlier", stopped_message("step", CELL_TIMEOUT))
    for _, _, graded in two_runs:
        notebook = graded["step_hangs"]
        assert ran_to_the_timeout(notebook) == []
        tried = next(i for i, source, _ in errors_of(notebook) if source.startswith("# try it: three steps"))
        later = calls_after(notebook, tried - 1, "train")
        assert len(later) >= 3 and all(errors == [stopped] for _, errors in later), later


def test_a_function_defined_again_after_it_ran_past_the_timeout_gets_its_own_chance(two_runs):
    for rows, _, graded in two_runs:
        assert len(ran_to_the_timeout(graded["train_hangs_then_fixed"])) == 1
        assert all(row["reason"] == "" for (student, exercise), row in rows.items()
                   if student == "train_hangs_then_fixed" and exercise != "overshoot_explained")


def test_the_student_cannot_forge_the_timeout_reason_by_raising_its_words(two_runs):
    for rows, _, graded in two_runs:
        assert ran_to_the_timeout(graded["forges_the_message"]) == []
        train = rows[("forges_the_message", "train_history")]
        assert (train["reason_code"], train["rests_on"]) == ("error", ""), train
        assert train["reason"] == f"error: TimedOutEarlier: {stopped_message('train', CELL_TIMEOUT)}"


# ---- the pieces, without a kernel ----

def interrupted_in(namespace, name):
    """Call ``namespace[name]``, interrupted as the grader's timeout interrupts it; set sys.last_* as IPython does."""
    try:
        namespace[name]()
    except KeyboardInterrupt as interrupt:
        sys.last_type, sys.last_value, sys.last_traceback = type(interrupt), interrupt, interrupt.__traceback__


def notebook_namespace():
    namespace = {"__name__": "__main__"}
    exec("def step():\n    raise KeyboardInterrupt\n\ndef train():\n    return step()\n", namespace)
    return namespace


def test_the_outermost_function_of_the_notebook_the_interrupt_stopped_is_made_to_fail_at_once():
    namespace = notebook_namespace()
    interrupted_in(namespace, "train")
    assert collector.stop_calling(namespace, 60) == ["train"]
    with pytest.raises(collector.TimedOutEarlier, match=r"^train ran past the 60 s cell timeout earlier in this "
                                                        r"notebook, so it is not called again$"):
        namespace["train"](2, 3, alpha=0.1)
    assert collector.stop_calling(namespace, 60) == [] and collector.stop_calling(namespace, 60, "train") == []
    assert namespace["step"].__name__ == "step"  # only the function whose call ran past the timeout


def test_a_name_that_no_longer_holds_the_function_that_hung_is_left_alone():
    namespace = notebook_namespace()
    interrupted_in(namespace, "train")
    exec("def train():\n    return 1\n", namespace)  # (not what the grader does between the timeout and the stop)
    assert collector.stop_calling(namespace, 60) == [] and namespace["train"]() == 1


def test_only_the_grader_knows_which_errors_come_from_a_function_it_stopped():
    execute = ResilientExecute(timeout=60)
    execute._stopped = {}

    def failed(ename, evalue):
        return nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                                          traceback=[])])

    forged = failed("TimedOutEarlier", stopped_message("train", 60))
    assert execute._stopped_in(forged) is None  # the grader stopped no train: the student's own words
    execute._stopped = {"train": 60}
    assert execute._stopped_in(forged) == "train"
    assert execute._stopped_in(failed("TimedOutEarlier", stopped_message("step", 60))) is None
    assert execute._stopped_in(failed("RuntimeError", stopped_message("train", 60))) is None
    assert stopped_reason("train") == "timeout: train ran past the cell timeout earlier"
