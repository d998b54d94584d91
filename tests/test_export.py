"""grading.export on a small real nbgrader gradebook (SQLite) built here, with tricky names and every status.

Two chapters: "ch_a" has two autograded tests (3 and 2 points) and a written answer (1 point);
"ch_b" has one autograded test (4 points). The students:

- ann  (lms id, a name with commas, quotes and a line break): ch_a fully graded, also by hand; ch_b missing
- bo   (non-ASCII name): ch_a autograded, written answer waiting; ch_b graded 4
- cy   ch_a could not be graded (gd_lost_points not_graded, as grading.report stores it); ch_b
       collected but never autograded
- dee  in the gradebook, nothing submitted
- eve  only in reports/set_aside/ (preflight set her ch_b aside); not in the gradebook at all
- fay  ch_b zeroed by grading.run.record_zero (its not_graded reasons), no report written after it
"""

import csv
import shutil
import subprocess
import sys

import pytest
import sqlalchemy  # noqa: F401 (named in the warning filter)
from nbgrader.api import Gradebook

from conftest import ROOT
from grading import export, run, settings
from grading.report import REASONS
from grading.samples import copy_course

ANN_LAST = 'O"Brien, Jr.'
ANN_FIRST = 'Ann, "Annie"\nMarie'
BO_FIRST = "Bø Ñúñez-Łukasz 李"
KILLED = "kernel died: the kernel exited with status 4 (os._exit or a crash)"


def build_gradebook(url):
    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        for chapter, tests in [("ch_a", {"t1": 3, "t2": 2}), ("ch_b", {"t1": 4})]:
            book.add_assignment(chapter)
            book.add_notebook(chapter, chapter)
            for name, points in tests.items():
                book.add_solution_cell(f"answer_{name}", chapter, chapter)
                book.add_grade_cell(name, chapter, chapter, max_score=points, cell_type="code")
            if chapter == "ch_a":
                book.add_solution_cell("why", chapter, chapter)
                book.add_grade_cell("why", chapter, chapter, max_score=1, cell_type="markdown")
        book.add_student("ann", last_name=ANN_LAST, first_name=ANN_FIRST, email="ann@example.org", lms_user_id="lms-1")
        book.add_student("bo", first_name=BO_FIRST, last_name="=1+1")
        for student in ["cy", "dee", "fay"]:
            book.add_student(student)
        autograde(book, "ch_a", "ann", {"t1": 3, "t2": 2}, written=1)
        autograde(book, "ch_a", "bo", {"t1": 3, "t2": 0})
        autograde(book, "ch_b", "bo", {"t1": 4})
        autograde(book, "ch_a", "cy", {"t1": 0, "t2": 0})
        book.add_submission("ch_b", "cy")  # collected, never autograded
        autograde(book, "ch_b", "fay", {"t1": 0})
        with book.engine.begin() as connection:
            REASONS.create(connection, checkfirst=True)
            connection.execute(REASONS.insert(), [
                {"assignment": "ch_a", "student": "cy", "exercise": name, "code": "not_graded", "reason": KILLED}
                for name in ("t1", "t2")] + [
                {"assignment": "ch_a", "student": "bo", "exercise": "t2", "code": "wrong_answer", "reason": "wrong"}])
        book.db.commit()


def autograde(book, chapter, student, scores, written=None):
    """What nbgrader's autograde leaves: scored tests; the written answer waits unless ``written``."""
    book.add_submission(chapter, student)
    for name, score in scores.items():
        grade = book.find_grade(name, chapter, chapter, student)
        grade.auto_score, grade.needs_manual_grade = score, False
    if chapter == "ch_a":
        grade = book.find_grade("why", chapter, chapter, student)
        if written is not None:
            grade.manual_score, grade.needs_manual_grade = written, False
    book.db.commit()


# nbgrader's own add_submission makes SQLAlchemy warn about its autoflush
pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]


@pytest.fixture(scope="module")
def built(tmp_path_factory, empty_gradebook):
    """The gradebook and eve's set-aside submission, built once."""
    folder = tmp_path_factory.mktemp("built")
    shutil.copy2(empty_gradebook, folder / "gradebook.db")
    build_gradebook(f"sqlite:///{folder / 'gradebook.db'}")
    note = folder / "reports" / "set_aside" / "eve" / "ch_b" / "REASON.txt"
    note.parent.mkdir(parents=True)
    note.write_text("ch_b.ipynb is not a readable notebook (NotJSONError: ...)\n")
    return folder


@pytest.fixture
def course(built, tmp_path):
    """A fresh copy of the built gradebook and reports/ for one test, in which grading.run gave up on
    fay's ch_b (nbgrader_config.py, copied, names the gradebook)."""
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    run.record_zero(tmp_path, "ch_b", "fay", KILLED)
    return tmp_path


@pytest.fixture
def exported(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=settings.COURSE_ID) as book:
        export.export(book, course, course / "grades.csv", course / "grades_wide.csv")
    return read(course / "grades.csv"), read(course / "grades_wide.csv")


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_key(rows):
    return {(row["student_id"], row["assignment"]): row for row in rows}


def test_one_row_per_student_and_chapter_every_student_and_chapter(exported):
    rows, _ = exported
    assert [(r["student_id"], r["assignment"]) for r in rows] == [
        (s, c) for s in ["ann", "bo", "cy", "dee", "eve", "fay"] for c in ["ch_a", "ch_b"]]
    assert list(rows[0]) == list(export.LONG_COLUMNS)


def test_each_status_score_and_reason(exported):
    rows = by_key(exported[0])
    seen = {key: (row["status"], row["score"], row["max_score"]) for key, row in rows.items()}
    assert seen == {
        ("ann", "ch_a"): ("graded", "6", "6"), ("ann", "ch_b"): ("missing", "", "4"),
        ("bo", "ch_a"): ("needs manual grading", "3", "6"), ("bo", "ch_b"): ("graded", "4", "4"),
        ("cy", "ch_a"): ("not graded", "0", "6"), ("cy", "ch_b"): ("not graded", "0", "4"),
        ("dee", "ch_a"): ("missing", "", "6"), ("dee", "ch_b"): ("missing", "", "4"),
        ("eve", "ch_a"): ("missing", "", "6"), ("eve", "ch_b"): ("not graded", "", "4"),
        ("fay", "ch_a"): ("missing", "", "6"), ("fay", "ch_b"): ("not graded", "0", "4"),
    }
    assert {row["status"] for row in rows.values()} == set(export.STATUSES)
    assert rows[("bo", "ch_a")]["reason"] == "not graded by hand yet: why"
    assert rows[("cy", "ch_a")]["reason"] == KILLED, "the report's not_graded reason"
    assert rows[("cy", "ch_b")]["reason"] == "not autograded yet: run make autograde"
    assert rows[("eve", "ch_b")]["reason"].startswith("set aside: ch_b.ipynb is not a readable notebook")
    assert rows[("fay", "ch_b")]["reason"] == KILLED, "the reason record_zero stored"
    assert rows[("dee", "ch_a")]["reason"] == "no submission" and rows[("ann", "ch_a")]["reason"] == ""


def test_names_and_ids_survive_a_round_trip(exported, course):
    rows, wide = by_key(exported[0]), {row["student_id"]: row for row in exported[1]}
    for found in [rows[("ann", "ch_a")], wide["ann"]]:
        assert (found["last_name"], found["first_name"], found["email"], found["lms_user_id"]) == \
            (ANN_LAST, ANN_FIRST, "ann@example.org", "lms-1")
    assert (wide["bo"]["first_name"], wide["bo"]["last_name"], wide["bo"]["lms_user_id"]) == (BO_FIRST, "=1+1", "")
    assert '"O""Brien, Jr."' in (course / "grades.csv").read_text(encoding="utf-8"), "quoted as RFC 4180 says"


def test_wide_form_holds_final_scores_only_and_a_total_only_when_every_chapter_is_graded(exported):
    _, wide = exported
    assert list(wide[0]) == [*export.IDENTITY, "ch_a", "ch_b", "total", "total_note"]
    possible, *students = wide
    assert (possible["student_id"], possible["ch_a"], possible["ch_b"], possible["total"]) == \
        (export.POINTS_POSSIBLE, "6", "4", "10")
    assert possible["total_note"] == "the sum of ch_a, ch_b: the chapters handed in so far"
    cells = {row["student_id"]: (row["ch_a"], row["ch_b"], row["total"]) for row in students}
    assert cells == {"ann": ("6", "", ""), "bo": ("", "4", ""), "cy": ("", "", ""), "dee": ("", "", ""),
                     "eve": ("", "", ""), "fay": ("", "", "")}
    notes = {row["student_id"]: row["total_note"] for row in students}
    assert notes["ann"] == "no total: ch_b missing"
    assert notes["bo"] == "no total: ch_a needs manual grading"


def test_only_chapters_someone_handed_in_count_towards_the_total():
    rows = [{**dict.fromkeys(export.IDENTITY, ""), "student_id": student, "assignment": chapter,
             "status": status, "score": score, "max_score": most}
            for student, chapter, status, score, most in [
                ("al", "ch1", "graded", "3", "4"), ("al", "ch2", "missing", "", "5"),
                ("bea", "ch1", "missing", "", "4"), ("bea", "ch2", "missing", "", "5")]]
    wide, _ = export.wide_rows(rows)
    assert [(r["student_id"], r["total"], r["total_note"]) for r in wide] == [
        (export.POINTS_POSSIBLE, "4", "the sum of ch1: the chapters handed in so far"),
        ("al", "3", "the sum of ch1: the chapters handed in so far"),
        ("bea", "", "no total: ch1 missing")]


def test_a_regraded_student_is_graded_again(course):
    """The same gradebook after cy's ch_a is graded properly and bo's written answer is marked: the
    statuses follow (a stale not_graded reason would keep cy 'not graded')."""
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        for name, score in {"t1": 3, "t2": 2}.items():
            book.find_grade(name, "ch_a", "ch_a", "cy").auto_score = score
        book.find_grade("why", "ch_a", "ch_a", "bo").manual_score = 1
        book.find_grade("why", "ch_a", "ch_a", "bo").needs_manual_grade = False
        book.db.execute(REASONS.delete().where(REASONS.c.student == "cy"))
        book.db.commit()
        rows = by_key(export.grade_rows(book))
    assert (rows[("bo", "ch_a")]["status"], rows[("bo", "ch_a")]["score"]) == ("graded", "4")
    assert rows[("cy", "ch_a")]["status"] == "needs manual grading"
    bo = {row["student_id"]: row for row in export.wide_rows(list(rows.values()))[0]}["bo"]
    assert (bo["ch_a"], bo["ch_b"], bo["total"]) == ("4", "4", "8"), "every chapter graded: a total"


def test_a_set_aside_submission_handed_in_again_is_no_longer_set_aside(course):
    (course / "submitted" / "eve" / "ch_b").mkdir(parents=True)
    assert export.set_aside_now(course) == {}
    assert (course / "reports" / "set_aside" / "eve").exists()


@pytest.mark.parametrize("value, shown", [(7, "7"), (7.0, "7"), (2.5, "2.5"), (1 / 3, "0.3333"), (0, "0"),
                                          (None, "")])
def test_points_are_written_as_an_lms_reads_them(value, shown):
    assert export.points(value) == shown


@pytest.mark.slow  # a Python process of its own, or a wait of seconds
def test_make_grades_command_writes_both_files_and_says_what_it_wrote(course, tmp_path_factory):
    """`python -m grading.export` in a course, the gradebook named by DB_URL (here an SQLite file)."""
    root = copy_course(tmp_path_factory.mktemp("course"), [])
    shutil.copytree(course / "reports", root / "reports")  # eve's set-aside submission
    env = {"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "DB_URL": f"sqlite:///{course / 'gradebook.db'}"}
    done = subprocess.run([sys.executable, "-m", "grading.export"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote grades.csv (12 rows: 2 graded, 5 missing, 1 needs manual grading, 4 not graded) and " \
           "grades_wide.csv (6 students, 2 chapters)" in done.stdout
    assert not (root / "gradebook.db").exists(), "DB_URL, not the course's SQLite file"
    assert read(root / "grades.csv")[0]["student_id"] == "ann"


@pytest.mark.slow  # a Python process of its own, or a wait of seconds
def test_an_unreachable_gradebook_gives_one_clear_paragraph(tmp_path):
    root = copy_course(tmp_path / "course", [])
    env = {"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "DB_URL": "postgresql://gd:s3cret@127.0.0.1:1/gd"}
    done = subprocess.run([sys.executable, "-m", "grading.export"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Cannot open the gradebook postgresql://gd:***@127.0.0.1:1/gd (set by DB_URL): ")
    assert "Connection refused" in done.stderr and "s3cret" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (root / "grades.csv").exists()
