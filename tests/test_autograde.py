"""Round trip through the instructor's make targets with real nbgrader and real submissions.

A temporary copy of the course gets, for every chapter, three students who worked in the
*release* notebook: one typed the reference answers, one handed it in untouched, one made the
chapter's classic mistake (MISTAKES in grading/samples.py). `make autograde feedback grades` must give them
full, zero and partial marks, the feedback must show the diagnostic, and the gradebook and the
CSV export must agree.
"""

import csv
import html
import json
import os
import re
import subprocess
import sys
import time

import nbformat
import pytest

from conftest import CHAPTERS, ROOT
from grading import sandbox
from grading.hidden import collector
from grading.mutants import alternative_answers
from grading.report import REASON_CODES, stored_reasons
from grading.run import gradebook
from grading.samples import MISTAKES, answered, copy_course, liar_answers, make_command, points_of, reference_answers

pytestmark = pytest.mark.grading

STUDENTS = ("reference", "untouched", "mistake", "alternative", "liar")


def student_notebook(chapter, student):
    """The release notebook as this student hands it in."""
    if student == "untouched":
        return answered(chapter)
    if student == "liar":
        return answered(chapter, liar_answers(chapter))
    answers = reference_answers(chapter)
    if student == "mistake":
        answers = MISTAKES[chapter].apply(answers)
    if student == "alternative":  # one correct answer written differently per exercise that has one
        answers = alternative_answers(chapter)
    return answered(chapter, answers)


def make(course, *targets):
    # these submissions are trusted; without root and bubblewrap they are graded unsandboxed
    unsafe = ["UNSAFE_NO_SANDBOX=1"] if sandbox.problems() and not os.environ.get("CI") else []
    return subprocess.run(
        make_command(*targets, *unsafe),
        cwd=course, capture_output=True, text=True, timeout=1800,
    )


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A graded temporary course: submissions written, then `make autograde feedback grades`."""
    course = copy_course(tmp_path_factory.mktemp("course"), CHAPTERS)
    for chapter in CHAPTERS:
        for student in STUDENTS:
            folder = course / "submitted" / student / chapter
            folder.mkdir(parents=True)
            nbformat.write(student_notebook(chapter, student), folder / f"{chapter}.ipynb")
    started = time.perf_counter()
    graded = make(course, "autograde")
    seconds = time.perf_counter() - started
    assert graded.returncode == 0, graded.stdout[-4000:] + graded.stderr[-4000:]
    print(f"\nautograde: {seconds:.1f} s for {len(CHAPTERS) * len(STUDENTS)} notebooks, "
          f"{seconds / (len(CHAPTERS) * len(STUDENTS)):.2f} s per notebook (including gradebook creation)")
    # nobody grades the written answers here: the pages are written anyway, marked provisional
    for target in [("feedback", "PROVISIONAL=1"), ("grades",)]:
        result = make(course, *target)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return course


def autograded_scores(course, chapter, student):
    """Map each autograded cell's grade_id to its score, read from the gradebook."""
    with gradebook(course) as book:
        notebook = book.find_submission_notebook(chapter, chapter, student)
        return {grade.name: grade.auto_score for grade in notebook.grades if grade.cell.cell_type == "code"}


def why_points_were_lost(course, chapter, student):
    """The stored reason of every exercise that lost points: what a failed full-marks assertion shows."""
    with gradebook(course) as book:
        return {exercise: reason for exercise, (code, reason) in stored_reasons(book, chapter, student).items()
                if code != "needs_manual_grading"}


def csv_scores(course, chapter):
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)
                if row["assignment"] == chapter}


def test_reference_answers_get_full_marks(graded_course, chapter):
    points = points_of(chapter)
    assert autograded_scores(graded_course, chapter, "reference") == points, \
        why_points_were_lost(graded_course, chapter, "reference")
    assert csv_scores(graded_course, chapter)["reference"] == sum(points.values())


def test_correct_answers_written_differently_get_full_marks(graded_course, chapter):
    assert autograded_scores(graded_course, chapter, "alternative") == points_of(chapter), \
        why_points_were_lost(graded_course, chapter, "alternative")
    with open(graded_course / "reports" / "submissions.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r["assignment"], r["student"]) == (chapter, "alternative")]
    assert rows[0]["flags"] == "", "np.stack, setattr on one's own objects and the like are not tampering"


def test_answers_that_lie_about_their_value_get_zero(graded_course, chapter):
    assert autograded_scores(graded_course, chapter, "liar") == {grade_id: 0 for grade_id in points_of(chapter)}


def test_nothing_returned_to_students_shows_hidden_tests(graded_course, chapter):
    """Feedback and autograded notebooks carry messages, never hidden-test code or the probe."""
    module = (ROOT / "grading" / "hidden" / f"{chapter}.py").read_text().splitlines()
    code = [line.strip() for line in module if len(line.strip()) >= 25 and not line.strip().startswith(("#", '"""'))]
    for student in STUDENTS:
        for path in [graded_course / "feedback" / student / chapter / f"{chapter}.html",
                     graded_course / "autograded" / student / chapter / f"{chapter}.ipynb"]:
            text = html.unescape(path.read_text()).replace("\\n", "\n").replace('\\"', '"')
            for marker in ["BEGIN HIDDEN TESTS", "hidden.check(", "_gd_probe", collector.MIME, *code]:
                assert marker not in text, f"{path.relative_to(graded_course)} shows {marker!r}"


def test_untouched_release_gets_zero(graded_course, chapter):
    points = points_of(chapter)
    assert autograded_scores(graded_course, chapter, "untouched") == {grade_id: 0 for grade_id in points}
    assert csv_scores(graded_course, chapter)["untouched"] == 0


def test_classic_mistake_gets_partial_credit(graded_course, chapter):
    mistake = MISTAKES.get(chapter)
    assert mistake, f"MISTAKES in grading/samples.py has no classic mistake for {chapter}"
    points = points_of(chapter)
    expected = {grade_id: 0 if grade_id in mistake.failing else value for grade_id, value in points.items()}
    assert autograded_scores(graded_course, chapter, "mistake") == expected
    assert 0 < csv_scores(graded_course, chapter)["mistake"] < sum(points.values())


def test_feedback_shows_the_diagnostic_message(graded_course, chapter):
    feedback = graded_course / "feedback" / "mistake" / chapter / f"{chapter}.html"
    assert feedback.is_file(), f"no feedback was generated at {feedback}"
    text = html.unescape(re.sub(r"<[^>]+>", "", feedback.read_text()))
    assert MISTAKES[chapter].message in text


def test_feedback_draws_every_figure_the_graded_notebook_keeps(graded_course, chapter):
    """Graded notebooks keep text and images only (no HTML): the images are what feedback draws."""
    nb = nbformat.read(graded_course / "autograded" / "reference" / chapter / f"{chapter}.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    figures = sum("image/png" in output.get("data", {}) for cell in code for output in cell.outputs)
    for cell in (c for c in code if c.source.startswith("explorers.")):  # no explorer is built while grading
        assert "left out while grading" in "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
    page = (graded_course / "feedback" / "reference" / chapter / f"{chapter}.html").read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == figures


def test_written_answers_wait_for_the_instructor(graded_course, chapter):
    with gradebook(graded_course) as book:
        notebook = book.find_submission_notebook(chapter, chapter, "reference")
        written = [grade for grade in notebook.grades if grade.cell.cell_type == "markdown"]
        assert written and all(grade.needs_manual_grade for grade in written)


def test_feedback_shows_every_section_and_a_score_box_for_every_graded_cell(graded_course, chapter):
    """A page cut mid-markup ends early: every heading and every graded cell's score must be there."""
    page = (graded_course / "feedback" / "reference" / chapter / f"{chapter}.html").read_text()
    release = nbformat.read(graded_course / "course" / chapter / f"{chapter}.ipynb", as_version=4)
    headings = [line.lstrip("#").strip() for cell in release.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if re.match(r"#{1,3} ", line)]
    shown = [html.unescape(re.sub(r"<[^>]+>", "", title)).rstrip("¶").strip()
             for title in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", page, re.S)]
    assert [h for h in headings if re.sub(r"[`*]", "", h) not in shown] == []
    graded = [c.metadata["nbgrader"]["grade_id"] for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    boxed = re.findall(r'<a name="([^"]+)"></a><div class="panel-heading">(?:(?!<a name=).)*?Score: [\d.]+ / [\d.]+',
                       page, re.S)
    assert set(graded) <= set(boxed), f"no score box for {sorted(set(graded) - set(boxed))}"


def test_every_lost_point_has_a_reason_code_in_the_gradebook(graded_course, chapter):
    points = points_of(chapter)
    with gradebook(graded_course) as book:
        codes = {student: {exercise: code for exercise, (code, _) in stored_reasons(book, chapter, student).items()}
                 for student in ("reference", "untouched", "mistake")}
    assert {code for lost in codes.values() for code in lost.values()} <= set(REASON_CODES)
    written = {exercise for exercise in codes["reference"] if exercise not in points}
    assert written and {codes["reference"][w] for w in written} == {"needs_manual_grading"}
    untouched = {e: c for e, c in codes["untouched"].items() if e in points}
    assert set(untouched) == set(points) and "not_answered" in untouched.values()
    assert set(untouched.values()) <= {"not_answered", "wrong_answer", "error"}, untouched  # later cells see the gaps
    mistake = {e: c for e, c in codes["mistake"].items() if e in points}
    assert set(mistake) == MISTAKES[chapter].failing and set(mistake.values()) <= {"wrong_answer", "error"}


# nbgrader's Formgrader, as its Autograde button runs: NbGraderAPI with the course's configuration
FORMGRADER_AUTOGRADE = """
import json, sys
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader
config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
print(json.dumps(NbGraderAPI(CourseDirectory(config=config), config=config).autograde(*sys.argv[1:])))
"""


def test_autograding_outside_make_autograde_refuses_and_says_what_to_run(tmp_path):
    """The Formgrader's Autograde button runs nbgrader's autograde with this config: it must not grade,
    and must refuse before it touches anything (nbgrader removes the graded folder first)."""
    chapter = CHAPTERS[0]
    course = copy_course(tmp_path / "course", [chapter])
    folder = course / "submitted" / "ann" / chapter
    folder.mkdir(parents=True)
    nbformat.write(student_notebook(chapter, "reference"), folder / f"{chapter}.ipynb")
    graded = course / "autograded" / "ann" / chapter  # what an earlier `make autograde` wrote
    graded.mkdir(parents=True)
    nbformat.write(student_notebook(chapter, "reference"), graded / f"{chapter}.ipynb")
    (graded / "data.csv").write_text("1,2\n")
    before = {path.name: path.read_bytes() for path in graded.iterdir()}
    assert make(course, "gradebook.db").returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "GD_GRADING_RUN"}
    result = subprocess.run(["nbgrader", "autograde", chapter, "--force"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and "make autograde" in result.stdout + result.stderr
    assert {path.name: path.read_bytes() for path in graded.iterdir()} == before
    button = subprocess.run([sys.executable, "-c", FORMGRADER_AUTOGRADE, chapter, "ann"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    answer = json.loads(button.stdout.splitlines()[-1])
    assert not answer["success"] and "make autograde" in answer["error"] + answer.get("log", ""), answer
    assert {path.name: path.read_bytes() for path in graded.iterdir()} == before
    with gradebook(course) as book:
        assert book.find_assignment(chapter).submissions == [], "nothing was graded, not even a submission made"


def test_a_regraded_resubmission_replaces_every_score_reason_and_feedback_page(tmp_path):
    chapter = "ch01_one_weight" if "ch01_one_weight" in CHAPTERS else CHAPTERS[0]
    course = copy_course(tmp_path / "course", [chapter])
    notebook = course / "submitted" / "ann" / chapter / f"{chapter}.ipynb"
    notebook.parent.mkdir(parents=True)
    page = course / "feedback" / "ann" / chapter / f"{chapter}.html"
    full = sum(points_of(chapter).values())
    for student in ["mistake", "reference"]:
        nbformat.write(student_notebook(chapter, student), notebook)
        for target in [("autograde",), ("feedback", "PROVISIONAL=1")]:  # the written answer is never graded here
            assert make(course, *target).returncode == 0
        with gradebook(course) as book:
            score = book.find_submission(chapter, "ann").code_score
            lost = stored_reasons(book, chapter, "ann")
        shown = re.search(r"\(Score: ([\d.]+) / [\d.]+\)</h4>", page.read_text()).group(1)
        assert shown == f"{score:.1f}", "the feedback page shows this run's score"
    assert score == full and set(code for code, _ in lost.values()) == {"needs_manual_grading"}
