"""Every command that grades, writes feedback or exports first makes the gradebook know its chapters.

The bug this guards against: on a fresh SQLite course `make collect` creates an empty gradebook.db,
a Makefile rule keyed on the file's age then thought it up to date, and `make autograde` graded
nothing ("No assignment with ID ... exists") while exiting 0.
"""

import subprocess
import sys
from types import SimpleNamespace

import pytest
from nbgrader.api import Gradebook

from grading import __main__ as command_line, database, settings
from grading.samples import copy_course

pytestmark = pytest.mark.unit

CHAPTER = "ch01_one_weight"


def known_chapters(course):
    with Gradebook(settings.db_url(str(course)), course_id=settings.COURSE_ID) as book:
        return sorted(a.name for a in book.assignments if a.notebooks)


@pytest.fixture
def course_with_an_empty_gradebook(tmp_path):
    """A course whose gradebook.db exists but knows no chapter, newer than every solution (as after collect)."""
    course = copy_course(tmp_path / "course", [CHAPTER])
    Gradebook(f"sqlite:///{course / settings.SQLITE_GRADEBOOK}", course_id=settings.COURSE_ID).close()
    return course


@pytest.mark.slow
@pytest.mark.parametrize("command", [["grading", "grades"], ["grading", "feedback"], ["grading", "gradebook"]])
def test_a_command_that_reads_the_gradebook_registers_every_chapter_first(course_with_an_empty_gradebook, command):
    course = course_with_an_empty_gradebook
    assert known_chapters(course) == []
    done = subprocess.run([sys.executable, "-m", *command], cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"registered {CHAPTER} from solutions/" in done.stdout
    assert known_chapters(course) == [CHAPTER]


def test_a_chapter_that_is_not_in_solutions_is_named_with_the_chapters_there(tmp_path):
    course = copy_course(tmp_path / "course", [CHAPTER])
    with pytest.raises(database.GradebookProblem, match=f"no solutions/ch99_nope/ch99_nope.ipynb.*: {CHAPTER}"):
        database.ensure_registered(course, ["ch99_nope"])


def outcome(graded, problem=""):
    return SimpleNamespace(graded=graded, problem=problem)


def test_a_run_that_grades_none_of_its_submissions_fails_with_one_paragraph(capsys):
    failed = [outcome(False, "nbgrader failed: No assignment with ID 'ch01_one_weight' exists")] * 3
    assert command_line.exit_status(failed) == 1
    said = capsys.readouterr().err
    assert said.startswith("NOTHING GRADED: none of the 3 submissions could be graded. The reason given: "
                           "nbgrader failed: No assignment with ID 'ch01_one_weight' exists.")
    assert len(said.strip().splitlines()) == 1


@pytest.mark.parametrize("outcomes", [[], [outcome(True)], [outcome(False, "timeout"), outcome(True)]])
def test_a_run_that_grades_something_or_had_nothing_to_grade_succeeds(outcomes):
    assert command_line.exit_status(outcomes) == 0
