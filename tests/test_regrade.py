"""A regrade keeps the instructor's hand grades, and grading logs only real changes to test cells.

One chapter is graded with `python -m grading autograde` for two students: one typed the reference
answers, one also edited a locked test cell. The instructor then grades a written answer by hand
through nbgrader's Gradebook API, as the Formgrader does; regrades must keep that grade while the
answer stays the same, and ask again, saying why, once it changed.
"""

import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import CHAPTERS
from grading import notes, sandbox
from grading.preprocessors import released_form
from grading.report import stored_reasons
from grading.run import gradebook
from grading.samples import answered, copy_course, nbgrader_meta, points_of, reference_answers, solution_notebook

pytestmark = pytest.mark.grading

CHAPTER = "ch01_one_weight" if "ch01_one_weight" in CHAPTERS else CHAPTERS[0]
TAMPERED = "tampered"  # the student who edited a test cell
MANUAL = {"manual_score": 1.5, "comment": "Good: the factor 1 - 2 alpha input^2 is the point."}


def graded_cells(kind):
    """grade_id -> solution cell of the chapter's written answers ("markdown") or test cells ("code")."""
    cells = nbformat.read(solution_notebook(CHAPTER), as_version=4).cells
    return {nbgrader_meta(c)["grade_id"]: c for c in cells if nbgrader_meta(c).get("grade") and c.cell_type == kind
            and nbgrader_meta(c).get("solution") == (kind == "markdown")}


def tampered_notebook():
    """The reference answers, with the first test cell's checks replaced by one that always fails."""
    nb = answered(CHAPTER, reference_answers(CHAPTER))
    first = next(iter(graded_cells("code")))
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == first:
            cell.source = 'assert False, "tampered with"'
    return nb


def submission(course, student):
    return course / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb"


def autograde(course):
    # these submissions are trusted; without root and bubblewrap they are graded unsandboxed
    unsafe = ["--unsafe-no-sandbox"] if sandbox.problems() and not os.environ.get("CI") else []
    done = subprocess.run([sys.executable, "-m", "grading", "autograde", CHAPTER, "--course", str(course),
                           "--workers", "1", *unsafe], cwd=course, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"), [CHAPTER])
    for student, nb in [("reference", answered(CHAPTER, reference_answers(CHAPTER))),
                        (TAMPERED, tampered_notebook())]:
        submission(course, student).parent.mkdir(parents=True)
        nbformat.write(nb, submission(course, student))
    autograde(course)
    return course


def checksum_warnings(course):
    log = (course / "reports" / "nbgrader.log").read_text()
    return [line for line in log.splitlines() if "checksum" in line.lower()]


def test_honest_test_cells_log_no_checksum_warning(course):
    """Only the one edited test cell is reported: cells handed in as released are no change."""
    first = next(iter(graded_cells("code")))
    warnings = checksum_warnings(course)
    assert warnings and all(re.search(rf"\bcell {re.escape(first)}\b", line) for line in warnings), warnings
    assert len(warnings) == len((course / "reports" / "nbgrader.log").read_text().split("$ nbgrader autograde")) - 1


def test_a_tampered_test_cell_is_still_restored(course):
    first, cell = next(iter(graded_cells("code").items()))
    nb = nbformat.read(course / "autograded" / TAMPERED / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    restored = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == first]
    assert [c.source for c in restored] == [released_form(cell.source)]
    with gradebook(course) as book:
        grade = book.find_grade(first, CHAPTER, CHAPTER, TAMPERED)
        assert grade.auto_score == points_of(CHAPTER)[first], "restored, the reference answer passes its tests"


def grade_by_hand(course, student, grade_id):
    """What the Formgrader does when the instructor types a score and a comment."""
    with gradebook(course) as book:
        grade = book.find_grade(grade_id, CHAPTER, CHAPTER, student)
        grade.manual_score, grade.needs_manual_grade = MANUAL["manual_score"], False
        book.find_comment(grade_id, CHAPTER, CHAPTER, student).manual_comment = MANUAL["comment"]
        book.db.commit()


def hand_grades(course, student):
    """grade_id -> (manual score, manual comment, needs manual grade, reason) of every written answer."""
    with gradebook(course) as book:
        reasons = stored_reasons(book, CHAPTER, student)
        return {grade_id: (book.find_grade(grade_id, CHAPTER, CHAPTER, student).manual_score,
                           book.find_comment(grade_id, CHAPTER, CHAPTER, student).manual_comment,
                           book.find_grade(grade_id, CHAPTER, CHAPTER, student).needs_manual_grade,
                           reasons.get(grade_id, ("", ""))[1])
                for grade_id in graded_cells("markdown")}


def edit_answer(course, student, grade_id):
    nb = nbformat.read(submission(course, student), as_version=4)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            cell.source += "\n\nOn second thought: it also depends on alpha."
    nbformat.write(nb, submission(course, student))


def edit_question(course, student, grade_id):
    """Reword the markdown cell right before the written answer ``grade_id``, where its question is."""
    nb = nbformat.read(submission(course, student), as_version=4)
    index = next(i for i, cell in enumerate(nb.cells) if nbgrader_meta(cell).get("grade_id") == grade_id)
    assert nb.cells[index - 1].cell_type == "markdown" and not nbgrader_meta(nb.cells[index - 1])
    nb.cells[index - 1].source += "\n\nAlso say what happens with input 10."
    nbformat.write(nb, submission(course, student))


def test_a_regrade_keeps_hand_grades_until_the_answer_or_question_changes(course):
    written = list(graded_cells("markdown"))
    assert written, f"{CHAPTER} has no written answer"
    for grade_id in written:
        grade_by_hand(course, "reference", grade_id)
    graded = (MANUAL["manual_score"], MANUAL["comment"], False, "")
    autograde(course)
    assert hand_grades(course, "reference") == dict.fromkeys(written, graded)

    edit_answer(course, "reference", written[0])
    autograde(course)
    asks = (MANUAL["manual_score"], MANUAL["comment"], True, "answer changed since it was graded by hand")
    assert hand_grades(course, "reference") == {**dict.fromkeys(written, graded), written[0]: asks}
    autograde(course)  # a regrade before the instructor looked at it still asks, and says why
    assert hand_grades(course, "reference")[written[0]] == asks
    with gradebook(course) as book:
        assert notes.notes_of(book, CHAPTER, "reference")[written[0]][1] == asks[3]

    grade_by_hand(course, "reference", written[0])
    edit_question(course, "reference", written[0])
    autograde(course)
    assert hand_grades(course, "reference")[written[0]][2], "a changed question asks again"

    grade_by_hand(course, "reference", written[0])
    autograde(course)
    assert hand_grades(course, "reference") == dict.fromkeys(written, graded)
