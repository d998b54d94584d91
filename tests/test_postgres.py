"""The gradebook in PostgreSQL (DB_URL): a real grading round trip, and clear errors for a bad DB_URL.

Two copies of the course get the same ch01 submissions: one graded with the default SQLite
gradebook.db, one with DB_URL naming a fresh database on the private test server
(tests/postgres.py). Both run `make autograde feedback grades`; the Postgres one must give the
same scores and reason codes, keep its gd_lost_points rows in Postgres, never create gradebook.db,
and export grades.csv with every status. The students: a right answer, the classic wrong one
(MISTAKES in grading/samples.py), which also prints DB_URL and knocks on the database's port
from inside the sandbox, and a broken one (its predict kills the kernel, and every test needs it: not graded).
Postgres also knows a student who handed nothing in.
"""

import csv
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
import sqlalchemy
from nbgrader.api import Gradebook

from grading import database, sandbox, settings
from grading.report import REASON_CODES, REASONS, stored_reasons
from grading.samples import MISTAKES, answered, copy_course, make_command, points_of, reference_answers, with_mistake

pytestmark = pytest.mark.grading

CHAPTER = "ch01_one_weight"
STUDENTS = ("right", "wrong", "broken")
ABSENT = ("absent", {"first_name": 'Zoë "Z", Jr.', "last_name": "Null, None", "lms_user_id": "canvas-42"})
KILLED = "kernel died: the kernel exited with status 4 (os._exit or a crash)"
SNOOP = '''import os as _os, socket as _socket
print("DB_URL seen:", _os.environ.get("DB_URL"))
try:
    _socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    print("database port: reachable")
except OSError as _error:
    print("database port:", type(_error).__name__)

'''


def notebook_of(student, port):
    answers = reference_answers(CHAPTER)
    if student == "wrong":
        answers = MISTAKES[CHAPTER].apply(answers)
        answers = dict(answers, predict=SNOOP.format(port=port) + answers["predict"])
    if student == "broken":
        answers = with_mistake(answers, "predict", "    return input * weight", "    import os\n    os._exit(4)")
    return answered(CHAPTER, answers)


def make(course, *targets, db_url=""):
    """`make` in a copied course; DB_URL as the instructor would pass it (empty: SQLite)."""
    unsafe = ["UNSAFE_NO_SANDBOX=1"] if sandbox.problems() and not os.environ.get("CI") else []
    env = dict(os.environ, DB_URL=db_url)
    return subprocess.run(make_command(*targets, *unsafe), cwd=course, env=env,
                          capture_output=True, text=True, timeout=1800)


def succeeded(result):
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres):
    """Both courses graded; {"sqlite": course, "postgres": course, "url": ..., "output": {...}}."""
    url = postgres.new_database("roundtrip")
    courses = {kind: copy_course(tmp_path_factory.mktemp(kind), [CHAPTER]) for kind in ("sqlite", "postgres")}
    for course in courses.values():
        for student in STUDENTS:
            folder = course / "submitted" / student / CHAPTER
            folder.mkdir(parents=True)
            nbformat.write(notebook_of(student, postgres.port), folder / f"{CHAPTER}.ipynb")
    registered = succeeded(make(courses["postgres"], "gradebook", db_url=url))
    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        book.add_student(ABSENT[0], **ABSENT[1])
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:  # the two courses at once: two grading runs, two worker slots
        runs = {kind: pool.submit(make, course, "autograde", db_url=url if kind == "postgres" else "")
                for kind, course in courses.items()}
        output = {kind: succeeded(run.result()) for kind, run in runs.items()}
    print(f"\nautograde, SQLite and Postgres side by side: {time.perf_counter() - started:.1f} s")
    # nobody grades the written answers here: the feedback pages are written anyway, marked provisional
    for target in [("feedback", "PROVISIONAL=1"), ("grades",)]:
        for kind, course in courses.items():
            output[kind] += succeeded(make(course, *target, db_url=url if kind == "postgres" else ""))
    return {**courses, "url": url, "output": output, "registered": registered}


def scores(url):
    """{student: {test: auto_score}} of every submission in the gradebook at ``url``."""
    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        return {s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades
                               if g.cell.cell_type == "code"} for s in book.assignment_submissions(CHAPTER)}


def sqlite_url(course):
    return f"sqlite:///{course / 'gradebook.db'}"


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_gradebook_step_registers_the_chapter_in_postgres(graded):
    assert f"registered {CHAPTER}" in graded["registered"]
    with Gradebook(graded["url"], course_id=settings.COURSE_ID) as book:
        assert [a.name for a in book.assignments] == [CHAPTER]
        assert sqlalchemy.inspect(book.engine).has_table(REASONS.name)
    assert not (graded["postgres"] / "gradebook.db").exists(), "nothing went to SQLite"


def test_postgres_scores_equal_sqlite_scores(graded):
    in_postgres, in_sqlite = scores(graded["url"]), scores(sqlite_url(graded["sqlite"]))
    full = points_of(CHAPTER)
    assert in_postgres == in_sqlite
    assert in_postgres["right"] == full
    assert in_postgres["broken"] == dict.fromkeys(full, 0)
    assert in_postgres["wrong"] == {test: 0 if test in MISTAKES[CHAPTER].failing else points
                                    for test, points in full.items()}


def test_autograde_says_how_many_it_graded(graded):
    for kind in ("sqlite", "postgres"):
        assert re.search(r"^graded 2 of 3 submissions", graded["output"][kind], re.M), graded["output"][kind]
        assert f"broken/{CHAPTER}: {KILLED}" in graded["output"][kind]


def test_reason_codes_in_the_report_and_in_postgres(graded):
    def codes(course):
        return {(r["student"], r["exercise"]): (r["points"], r["reason_code"])
                for r in csv_rows(course / "reports" / "exercises.csv")}

    reported = codes(graded["postgres"])
    assert reported == codes(graded["sqlite"])
    assert {code for _, code in reported.values()} - {""} <= set(REASON_CODES)
    assert {reported[("broken", test)][1] for test in points_of(CHAPTER)} == {"not_graded"}
    assert {reported[("wrong", test)][1] for test in MISTAKES[CHAPTER].failing} == {"wrong_answer"}
    with Gradebook(graded["url"], course_id=settings.COURSE_ID) as book:
        for student in STUDENTS:
            stored = {exercise: code for exercise, (code, _) in stored_reasons(book, CHAPTER, student).items()}
            assert stored == {exercise: code for (who, exercise), (_, code) in reported.items()
                              if who == student and code}
            assert stored, f"no gd_lost_points rows for {student} in Postgres"


def test_feedback_against_postgres(graded):
    page = (graded["postgres"] / "feedback" / "wrong" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert MISTAKES[CHAPTER].message in re.sub(r"<[^>]+>", "", page).replace("&#39;", "'")
    assert (graded["postgres"] / "feedback" / "right" / CHAPTER / f"{CHAPTER}.html").is_file()


def test_grades_export_against_postgres(graded):
    rows = {r["student_id"]: r for r in csv_rows(graded["postgres"] / "grades.csv")}
    assert sorted(rows) == sorted([*STUDENTS, ABSENT[0]])
    assert (rows["absent"]["status"], rows["absent"]["score"]) == ("missing", "")
    assert (rows["absent"]["first_name"], rows["absent"]["last_name"], rows["absent"]["lms_user_id"]) == \
        (ABSENT[1]["first_name"], ABSENT[1]["last_name"], ABSENT[1]["lms_user_id"])
    assert (rows["broken"]["status"], rows["broken"]["score"], rows["broken"]["reason"]) == ("not graded", "0", KILLED)
    for student in ("right", "wrong"):  # the written answer waits for the instructor
        assert rows[student]["status"] == "needs manual grading"
    assert float(rows["right"]["score"]) == sum(points_of(CHAPTER).values()) > float(rows["wrong"]["score"]) > 0
    in_sqlite = {r["student_id"]: r for r in csv_rows(graded["sqlite"] / "grades.csv")}
    assert {s: rows[s] for s in STUDENTS} == in_sqlite
    assert "wrote grades.csv (4 rows: 1 missing, 2 needs manual grading, 1 not graded)" in graded["output"]["postgres"]


def test_a_hand_graded_answer_makes_the_export_say_graded(graded, tmp_path):
    """Mark the right student's written answers in Postgres, as the Formgrader does; export again."""
    with Gradebook(graded["url"], course_id=settings.COURSE_ID) as book:
        for notebook in book.find_submission(CHAPTER, "right").notebooks:
            for grade in notebook.grades:
                if grade.needs_manual_grade:
                    grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        book.db.commit()
        full = book.find_assignment(CHAPTER).max_score
    env = dict(os.environ, DB_URL=graded["url"])
    done = subprocess.run([sys.executable, "-m", "grading.export", "--long", str(tmp_path / "long.csv"),
                           "--wide", str(tmp_path / "wide.csv")], cwd=graded["postgres"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    right = next(r for r in csv_rows(tmp_path / "long.csv") if r["student_id"] == "right")
    assert (right["status"], float(right["score"]), float(right["max_score"])) == ("graded", full, full)
    wide = {r["student_id"]: r for r in csv_rows(tmp_path / "wide.csv")}
    assert float(wide["right"][CHAPTER]) == float(wide["right"]["total"]) == full
    assert wide["wrong"][CHAPTER] == "" and wide["absent"][CHAPTER] == ""


def test_student_code_never_sees_the_database(graded, postgres):
    """The wrong student's predict cell printed DB_URL and tried the server's port, in the sandbox."""
    if sandbox.problems():
        pytest.skip("graded without the sandbox (it needs root and bubblewrap): student code runs as the grader")
    notebook = nbformat.read(graded["postgres"] / "autograded" / "wrong" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert "DB_URL seen: None\n" in printed
    assert re.search(r"^database port: (ConnectionRefusedError|OSError|TimeoutError)", printed, re.M), printed
    assert postgres.password not in printed + (graded["postgres"] / "reports" / "nbgrader.log").read_text()


# a DB_URL that cannot work: one clear paragraph from make, no traceback, nothing graded

BAD_URLS = {
    "server down": ("postgresql://gd:s3cret@127.0.0.1:1/gd", "Connection refused"),
    "not a URL": ("gradebook on the server", "is not a database URL"),
    "postgres:// scheme": ("postgres://gd@127.0.0.1/gd", "PostgreSQL is written postgresql://"),
}


@pytest.fixture(scope="module")
def one_submission(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("bad_url"), [CHAPTER])
    folder = course / "submitted" / "right" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(notebook_of("right", 1), folder / f"{CHAPTER}.ipynb")
    return course


@pytest.mark.parametrize("target, problem", [("autograde", problem) for problem in BAD_URLS]
                         + [("feedback", "server down"), ("grades", "server down")])
def test_a_bad_db_url_gives_one_clear_paragraph(one_submission, target, problem):
    url, said = BAD_URLS[problem]
    result = make(one_submission, target, db_url=url)
    # make's own closing line ("make: ***", or "make[1]: ***" under `make test`)
    message = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    assert len(message) == 1 and message[0].startswith("Cannot open the gradebook") and said in message[0], message
    assert "s3cret" not in result.stdout + result.stderr
    assert not (one_submission / "autograded").exists() and not (one_submission / "gradebook.db").exists()


def test_the_driver_missing_is_named_with_its_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(database.GradebookProblem, match=r"the Python module 'psycopg', is not installed .*"
                                                        r"requirements.txt pins psycopg\[binary\]"):
        database.check("postgresql://gd@127.0.0.1:1/gd")


def test_a_reachable_database_passes_the_check(postgres, tmp_path):
    database.check(postgres.new_database("check_ok"))
    database.check(f"sqlite:///{tmp_path / 'gradebook.db'}")
    with pytest.raises(database.GradebookProblem, match="password authentication failed"):
        database.check(postgres.url("check_ok").replace(postgres.password, "wrong"))
    with pytest.raises(database.GradebookProblem, match='database "nowhere" does not exist'):
        database.check(postgres.url("nowhere"))


@pytest.mark.parametrize("value, expected", [("", None), ("  ", None), ("postgresql://u@h/db", "postgresql://u@h/db")])
def test_db_url_chooses_the_gradebook_and_empty_means_sqlite(monkeypatch, value, expected):
    monkeypatch.setenv("DB_URL", value)
    assert settings.configured_db_url("/course") == (expected or "sqlite:////course/gradebook.db")


def test_nbgrader_reads_db_url_through_the_course_config(tmp_path):
    course = copy_course(tmp_path / "course", [])
    probe = "from grading import settings; print(settings.db_url('.'))"
    for value, expected in [("postgresql://u:p@h:5/db", "postgresql://u:p@h:5/db"),
                            ("", f"sqlite:///{course / 'gradebook.db'}")]:
        done = subprocess.run([sys.executable, "-c", probe], cwd=course, env=dict(os.environ, DB_URL=value),
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == expected, done.stderr
