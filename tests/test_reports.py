"""The grading report, nbgrader's log and the progress line, on outcomes and a small gradebook built here.

Two chapters: "ch_a" has two autograded tests (t1: 3 points, t2: 2) and a written answer "why" (1 point);
"ch_b" one test (t1: 4). ann is graded in full, by hand too; bo's written answer waits; cy's ch_a could
not be graded; each test a grader's note or an autograded notebook gives its reason.
"""

import csv
import io
import re
import shutil
import time

import nbformat
import pytest
import sqlalchemy  # noqa: F401 (named in the warning filter)
from nbgrader.api import Gradebook

from conftest import ROOT
from grading import notes, parallel, preflight, report, run, settings
from grading.hidden import collector, judge
from grading.preprocessors import JudgedExecute, ResilientExecute

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

TESTS = {"ch_a": {"t1": 3, "t2": 2}, "ch_b": {"t1": 4}}
ESCAPE, NUL, BELL = "\x1b", "\x00", "\x07"


def build_gradebook(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=settings.COURSE_ID) as book:
        for chapter, tests in TESTS.items():
            book.add_assignment(chapter)
            book.add_notebook(chapter, chapter)
            for name, points in tests.items():
                book.add_grade_cell(name, chapter, chapter, max_score=points, cell_type="code")
            if chapter == "ch_a":
                book.add_grade_cell("why", chapter, chapter, max_score=1, cell_type="markdown")
        for student in ["ann", "bo", "cy"]:
            book.add_student(student)
            for chapter in TESTS:
                book.add_submission(chapter, student)
        scores = {("ann", "ch_a"): {"t1": 3, "t2": 2, "why": 1}, ("bo", "ch_a"): {"t1": 3, "t2": 0},
                  ("cy", "ch_a"): {"t1": 0, "t2": 0}}
        for chapter, tests in TESTS.items():
            for student in ["ann", "bo", "cy"]:
                given = scores.get((student, chapter), dict.fromkeys(tests, 4))
                for name in tests:
                    grade = book.find_grade(name, chapter, chapter, student)
                    grade.auto_score, grade.needs_manual_grade = given[name], False
                if chapter == "ch_a" and "why" in given:
                    grade = book.find_grade("why", chapter, chapter, student)
                    grade.manual_score, grade.needs_manual_grade = given["why"], False
        # bo's t2 failed because the test it rests on failed again (judge.again), with a control character
        notes.record(book, "ch_a", "bo", "t2", ("wrong_answer", "wrong answer: hidden test t2: this cell rests on "
                                                f"the test t1, which fails again on fresh inputs: got {ESCAPE}[31m"))
        book.db.commit()


@pytest.fixture(scope="module")
def built(tmp_path_factory, empty_gradebook):
    folder = tmp_path_factory.mktemp("built")
    shutil.copy2(empty_gradebook, folder / "gradebook.db")
    build_gradebook(folder)
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    return folder


@pytest.fixture
def course(built, tmp_path):
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path


def outcome(student, chapter, problem="", status="ok"):
    return run.Outcome(student, chapter, preflight.Preflight(student, chapter, status=status), graded=not problem,
                       attempts=1, problem=problem)


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# ---- one folder per chapter, a combined view of them all ----

def test_each_chapter_has_its_own_folder_and_the_combined_files_hold_every_chapter(course):
    reports = course / "reports"
    report.write(course, [outcome(s, "ch_a") for s in ["ann", "bo"]])
    report.write(course, [outcome(s, "ch_b") for s in ["ann", "bo", "cy"]])
    for chapter in TESTS:
        assert {p.name for p in (reports / chapter).iterdir()} == {
            "submissions.csv", "exercises.csv", "pass_rates.csv", "pass_rates.png"}
    assert [(r["assignment"], r["student"]) for r in rows(reports / "submissions.csv")] == [
        ("ch_a", "ann"), ("ch_a", "bo"), ("ch_b", "ann"), ("ch_b", "bo"), ("ch_b", "cy")]
    assert {r["assignment"] for r in rows(reports / "exercises.csv")} == {"ch_a", "ch_b"}
    assert {(r["assignment"], r["exercise"]) for r in rows(reports / "pass_rates.csv")} == {
        ("ch_a", "t1"), ("ch_a", "t2"), ("ch_b", "t1")}
    assert (reports / "pass_rates.png").stat().st_size > 1000


def test_grading_a_chapter_again_replaces_only_its_own_folder(course):
    reports = course / "reports"
    report.write(course, [outcome(s, "ch_a") for s in ["ann", "bo"]])
    report.write(course, [outcome("ann", "ch_b")])
    (reports / "ch_a" / "stale.txt").write_text("from the last run")
    report.write(course, [outcome("bo", "ch_a")])
    assert not (reports / "ch_a" / "stale.txt").exists()
    assert [r["student"] for r in rows(reports / "ch_a" / "submissions.csv")] == ["bo"]
    assert [(r["assignment"], r["student"]) for r in rows(reports / "submissions.csv")] == [
        ("ch_a", "bo"), ("ch_b", "ann")]
    report.write(course, [], assignments=["ch_b"])  # no submission left: an empty report, not the last one
    assert rows(reports / "ch_b" / "submissions.csv") == [] and not (reports / "ch_b" / "pass_rates.png").exists()
    assert [r["assignment"] for r in rows(reports / "submissions.csv")] == ["ch_a"]


def test_a_shard_reports_per_chapter_in_its_own_folder_and_never_in_the_whole_courses(course):
    reports = course / "reports"
    report.write(course, [outcome("ann", "ch_a")])
    report.write(course, [outcome("bo", "ch_a")], folder=reports / "shard-1-of-2")
    assert [r["student"] for r in rows(reports / "shard-1-of-2" / "ch_a" / "submissions.csv")] == ["bo"]
    assert [r["student"] for r in rows(reports / "shard-1-of-2" / "submissions.csv")] == ["bo"]
    report.combine(reports)
    assert [r["student"] for r in rows(reports / "submissions.csv")] == ["ann"]


# ---- what each row says ----

def test_status_says_when_written_answers_are_still_to_be_graded(course):
    report.write(course, [outcome("ann", "ch_a"), outcome("bo", "ch_a"), outcome("cy", "ch_a", problem="killed: x"),
                          outcome("ann", "ch_b")])
    found = {(r["assignment"], r["student"]): r for r in rows(course / "reports" / "submissions.csv")}
    assert (found[("ch_a", "ann")]["status"], found[("ch_a", "ann")]["written_pending"]) == ("graded", "")
    assert (found[("ch_a", "bo")]["status"], found[("ch_a", "bo")]["written_pending"]) == (
        "graded, written answers pending", "why")
    assert found[("ch_a", "cy")]["status"] == "not graded"
    assert found[("ch_b", "ann")]["status"] == "graded" and found[("ch_a", "ann")]["preflight"] == "ok"


def test_a_failure_resting_on_another_names_its_cause(course):
    report.write(course, [outcome("bo", "ch_a")])
    t2 = next(r for r in rows(course / "reports" / "exercises.csv") if r["exercise"] == "t2")
    assert t2["reason_code"] == "wrong_answer" and "rests on the test t1" in t2["reason"] and t2["rests_on"] == "t1"


@pytest.mark.parametrize("text, cause", [
    ("wrong answer: slope(3, 2, 10) is wrong. Likely cause: this builds on predict, which is not right yet "
     "(it gives 5 where 6 is expected): fix predict first.", "predict"),
    ("wrong answer: hidden test trained: this cell rests on the test batch_update, which fails again", "batch_update"),
    ("timeout: train ran past the cell timeout earlier", "train"),
    ("wrong answer: hidden test t1: predict(1, 2) should be 2, got 3.", ""),
])
def test_the_cause_of_a_cascade_is_read_from_its_reason(text, cause):
    assert report.rests_on(text) == cause


def test_a_visible_checks_likely_cause_stays_in_the_reason(course):
    cell = nbformat.v4.new_code_cell("checks...", metadata={"nbgrader": {"grade_id": "t1", "grade": True}})
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue=(
        "slope(3, 2, 10) is wrong.\n  expected: -24\n  got:      -30\nLikely cause: this builds on predict, which "
        "is not right yet (it gives 5 where 6 is expected): fix predict first."), traceback=[])]
    grade = type("Grade", (), {"cell": type("Cell", (), {"cell_type": "code"}), "score": 0, "max_score": 2})
    code, why = report.reason(grade, cell, outcome("bo", "ch_a"))
    assert code == "wrong_answer" and why.endswith("fix predict first.") and report.rests_on(why) == "predict"


# ---- control characters, formulas ----

def test_control_characters_are_shown_as_visible_escapes():
    assert report.visible(f"a{ESCAPE}[31mb{NUL}c{BELL}\x7f\x9b\r") == "a\\x1b[31mb\\x00c\\x07\\x7f\\x9b\\x0d"
    assert report.visible("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert report.visible(report.visible(ESCAPE)) == "\\x1b"


def test_no_csv_cell_holds_a_control_character_or_starts_a_formula():
    row = {"reason": f"=1+1{ESCAPE}", "b": f"{NUL}=SUM(A1)", "c": "\t=1", "points": -2.0, "d": "-3"}
    assert report.spreadsheet_safe(row) == {"reason": "'=1+1\\x1b", "b": "\\x00=SUM(A1)", "c": "'\t=1",
                                            "points": -2.0, "d": "-3"}
    # the LMS export quotes only its reasons: names stay exact
    assert report.spreadsheet_safe({"reason": BELL, "name": "=Ann"}, ["reason"]) == {"reason": "\\x07", "name": "=Ann"}


def test_the_report_files_show_a_submissions_control_characters_as_escapes(course):
    report.write(course, [outcome("bo", "ch_a")])
    for name in ["submissions.csv", "exercises.csv", "pass_rates.csv"]:
        text = (course / "reports" / "ch_a" / name).read_text() + (course / "reports" / name).read_text()
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", text.replace("\r\n", "")), name
    assert "\\x1b[31m" in (course / "reports" / "exercises.csv").read_text()


# ---- nbgrader's log ----

BATCH = """\
[AutogradeApp | INFO] Creating/updating student with ID 'ann': {}
[AutogradeApp | INFO] Sanitizing /c/submitted/ann/ch_a/ch_a.ipynb
[AutogradeApp | WARNING] Attribute 'checksum' for cell t1 has changed! \x1b[2J
  [kernel] Fontconfig error
[AutogradeApp | INFO] Creating/updating student with ID 'bo': {}
[AutogradeApp | INFO] Autograding /c/autograded/bo/ch_a/ch_a.ipynb
[AutogradeApp | ERROR] Timeout waiting for execute reply (60s).
"""


def test_every_log_line_names_its_worker_and_student_with_escapes():
    lines = run.attributed("$ nbgrader autograde ch_a\n" + BATCH, 3).splitlines()
    assert lines[0] == "[worker 3] $ nbgrader autograde ch_a"
    assert lines[3] == ("[worker 3] [ann] [AutogradeApp | WARNING] Attribute 'checksum' for cell t1 has changed! "
                        "\\x1b[2J")
    assert lines[4] == "[worker 3] [ann]   [kernel] Fontconfig error"
    assert lines[-1] == "[worker 3] [bo] [AutogradeApp | ERROR] Timeout waiting for execute reply (60s)."


def test_the_log_is_appended_to_with_a_header_per_run(tmp_path):
    log = tmp_path / "reports" / "nbgrader.log"
    for chapters in [["ch_a"], ["ch_a", "ch_b"]]:
        run.log_run(tmp_path, chapters, run.Settings(workers=2))
        run.append_log(tmp_path, run.attributed(BATCH, 0))
    headers = [line for line in log.read_text().splitlines() if line.startswith("====")]
    assert len(headers) == 2 and headers[1].endswith("grading run: ch_a ch_b (2 workers, cell timeout 60 s)")
    assert re.match(r"==== \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", headers[0])
    assert log.read_text().count("[worker 0] [bo]") == 2 * 3


# ---- the progress line ----

class Captured(io.StringIO):
    def isatty(self):
        return False


def test_progress_counts_the_one_in_flight_and_never_as_graded(tmp_path):
    outcomes = [outcome(s, "ch_a") for s in ["ann", "bo", "cy"]]
    output = tmp_path / "worker-0.out"
    output.write_text(BATCH)
    with parallel.Progress(tmp_path, "ch_a", outcomes, out=Captured(), every=0) as progress:
        progress.watch(0, output)
        for student in ["ann", "bo"]:  # nbgrader writes the notebook when it starts on it, and when done
            graded = tmp_path / "autograded" / student / "ch_a"
            graded.mkdir(parents=True)
            (graded / "ch_a.ipynb").write_text("{}")
        assert progress.counts() == (1, 0, 1), "ann is done (bo came after her); bo is in flight"
        assert re.fullmatch(r"ch_a: 1/3 graded, 0 failed, 1 in flight, \d+ s, about \d+ s left", progress.line())
        progress.unwatch(0)
        progress.finish("bo")
        assert progress.counts() == (2, 0, 0)


@pytest.mark.slow  # a Python process of its own, or a wait of seconds
def test_progress_prints_a_line_at_least_every_few_seconds_while_nothing_changes(tmp_path):
    out = Captured()
    with parallel.Progress(tmp_path, "ch_a", [outcome("ann", "ch_a")], out=out, every=1):
        time.sleep(2.2)
    assert len(out.getvalue().splitlines()) >= 3, "a line after 1 s, one after 2 s though nothing changed, the last"


# ---- timeouts ----

def test_a_timeout_reads_the_same_on_every_run():
    execute = ResilientExecute(timeout=60)
    test_cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade": True, "locked": True, "points": 1}})
    assert execute._timeout_note(test_cell) == ("timeout", "timeout: the cell ran past the 60 s cell timeout")


def test_the_collector_says_which_call_the_timeout_interrupted():
    def hangs(x):
        raise KeyboardInterrupt  # what the grader's interrupt raises in the kernel

    requests = [judge.call(name, 1).plain() for name in ["double", "hangs", "double"]]
    records = collector.collect(requests, {"double": lambda x: 2 * x, "hangs": hangs})
    assert records[1:] == [{"interrupted": True}] and records[0]["result"] == 2


def test_a_function_that_ran_past_the_timeout_is_never_called_again():
    execute = JudgedExecute(timeout=10)
    execute._hung, execute._probe_timeouts = {"train"}, {}
    execute._execute_aside = lambda *args: pytest.fail("the kernel was asked to call train again")
    with pytest.raises(judge.NoEvidence, match="train ran past the 10 s cell timeout earlier"):
        execute._gather(5, [judge.call("step", 1).plain(), judge.call("train", 1).plain()])
    assert execute._probe_timeouts == {5: "timeout: train ran past the cell timeout earlier"}
    assert JudgedExecute._hanging_call([judge.call("train", n).plain() for n in range(3)], [], "token") == "train"
