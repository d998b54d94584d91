"""A term as an instructor lives it, on two chapters, on the default SQLite gradebook and on Postgres.

Two Unix student accounts hand in through nbgrader's exchange: ``alice`` the reference answers,
``bob`` each chapter's classic mistake (MISTAKES in grading/samples.py). Their hand-ins are made by
nbgrader's own ``submit`` on their behalf and then belong to them, as their own would (the browser
side, students submitting from the Assignment List, is test_hub.py's). While `make collect` runs, a
process of bob's swaps his notebook for a link to alice's private copy, again and again.

The instructor then does what the README says, in order: publish, collect, `make autograde
WORKERS=2`, feedback (withheld while written answers wait), grade the written answers in the
Formgrader (its own HTTP API, on a real Jupyter server), export, change a test's points and regrade,
collect bob's late resubmission and regrade it, return the feedback, export. Every grade, status and
reason is checked along the way, and nothing of the hand grading may be lost.
"""

import csv
import json
import os
import pwd
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from accounts import add_account, folder_everyone_may_enter, remove_account, run_checked
from grading import sandbox, settings
from grading.samples import MISTAKES, answered, copy_course, make_command, points_of, reference_answers

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(os.geteuid() != 0, reason="the term test makes Unix accounts: run it as root"),
    pytest.mark.skipif(bool(sandbox.problems()) and not os.environ.get("CI"),
                       reason="grading untrusted hand-ins needs the sandbox (root and bubblewrap)"),
]

CHAPTERS = ("ch01_one_weight", "ch07_datasets")
LATE = "ch01_one_weight"  # bob hands it in again, correct, after its due date
RETUNED = "ch01_one_weight"  # the chapter one of whose tests changes its points mid-term
COMMENT = "Clear, and the reason is right."


@pytest.fixture(scope="module")
def place():
    """A folder every user may enter (the exchange lives in it), removed at the end."""
    with folder_everyone_may_enter("gd-term-") as folder:
        yield folder


@pytest.fixture(scope="module")
def students():
    """{"alice": account name, "bob": account name}: two Unix students, removed at the end."""
    suffix = secrets.token_hex(2)
    names = {"alice": f"gdt-alice{suffix}", "bob": f"gdt-bob{suffix}"}
    try:
        for name in names.values():
            add_account(name)
        yield names
    finally:
        for name in names.values():
            remove_account(name)


class Term:
    """One course, its exchange and its gradebook, and the instructor's make targets in it."""

    def __init__(self, place, backend, db_url):
        self.root = place / backend
        self.root.mkdir()
        os.chmod(self.root, 0o755)
        self.course = copy_course(self.root / "course", CHAPTERS)
        os.chmod(self.course, 0o700)
        self.exchange = self.root / "exchange"
        self.variables = [f"EXCHANGE={self.exchange}", f"DB_URL={db_url}"]
        self.db_url = db_url or f"sqlite:///{self.course / settings.SQLITE_GRADEBOOK}"

    def make(self, *arguments, expect_ok=True):
        done = subprocess.run(make_command(*arguments, *self.variables), cwd=self.course, capture_output=True,
                              text=True, timeout=1800)
        if expect_ok:
            assert done.returncode == 0, f"make {' '.join(arguments)}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        return done

    def gradebook(self):
        return Gradebook(self.db_url, course_id=settings.COURSE_ID)

    def inbound(self):
        return self.exchange / settings.COURSE_ID / "inbound"


@pytest.fixture(params=["sqlite", "postgres"])
def term(request, place, students):
    url = request.getfixturevalue("postgres").new_database(f"term_{secrets.token_hex(3)}") \
        if request.param == "postgres" else ""
    return Term(place, request.param, url)


# --- the students' side ------------------------------------------------------------------------------

def notebook_of(chapter, who):
    answers = reference_answers(chapter)
    return answered(chapter, MISTAKES[chapter].apply(answers) if who == "bob" else answers)


def hand_in(term, account, chapter, notebook):
    """Submit ``notebook`` through the exchange as ``account``: nbgrader's submit, the entry then theirs."""
    folder = term.root / "hand-ins" / account / chapter
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{chapter}.ipynb")
    before = set(term.inbound().iterdir()) if term.inbound().is_dir() else set()
    run_checked([str(Path(sys.executable).parent / "nbgrader"), "submit", chapter, f"--student={account}",
                 f"--course={settings.COURSE_ID}", f"--Exchange.root={term.exchange}", "--log-level=WARN"],
                cwd=folder.parent)
    (entry,) = set(term.inbound().iterdir()) - before
    user = pwd.getpwnam(account)
    for path in [entry, *entry.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    time.sleep(1.1)  # nbgrader's submission times are to the second: the next one is newer
    return entry


def private_copy(account, notebook):
    """``notebook`` as a file only ``account`` may read (mode 0600 in a 0700 folder of their home)."""
    user = pwd.getpwnam(account)
    folder = Path(user.pw_dir) / "private"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "answers.ipynb"
    nbformat.write(notebook, path)
    for made in (folder, path):
        os.chown(made, user.pw_uid, user.pw_gid)
    os.chmod(path, 0o600)
    return path


def swap_forever(account, notebook_path, target):
    """A process of ``account``'s that swaps its notebook for a link to ``target`` and back, until killed."""
    user = pwd.getpwnam(account)
    own = notebook_path.read_bytes()
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: bob, from here on
        os.setgid(user.pw_gid)
        os.setgroups([])
        os.setuid(user.pw_uid)
        spare_link, spare_file = notebook_path.with_name(".link"), notebook_path.with_name(".file")
        while True:
            for name in (spare_link, spare_file):
                if os.path.lexists(name):
                    os.unlink(name)
            os.symlink(target, spare_link)
            os.replace(spare_link, notebook_path)
            spare_file.write_bytes(own)
            os.replace(spare_file, notebook_path)
    except BaseException:
        os._exit(0)


# --- the instructor's side -------------------------------------------------------------------------

def submission(term, chapter, account):
    with term.gradebook() as book:
        found = book.find_submission(chapter, account)
        grades = {g.cell.name: g for nb in found.notebooks for g in nb.grades}
        return {
            "auto": {name: g.auto_score for name, g in grades.items() if g.cell.cell_type == "code"},
            "written": {name: (g.manual_score, g.needs_manual_grade) for name, g in grades.items()
                        if g.cell.cell_type != "code"},
            "comments": {c.cell.name: c.manual_comment for nb in found.notebooks for c in nb.comments
                         if c.cell.name in grades and grades[c.cell.name].cell.cell_type != "code"},
            "late": found.total_seconds_late,
        }


def expected_auto(chapter, who, retuned=False):
    """What autograding must give: the chapter's points, 0 on the mistake's failing tests (bob)."""
    points = points_of(chapter)
    if retuned and chapter == RETUNED:
        points[retuned_cell()] += 1
    failing = MISTAKES[chapter].failing if who == "bob" else set()
    return {cell: 0 if cell in failing else value for cell, value in points.items()}


def retuned_cell():
    """A test of RETUNED that both students pass (its points change mid-term)."""
    return sorted(set(points_of(RETUNED)) - MISTAKES[RETUNED].failing)[0]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def exported(term):
    term.make("grades")
    long = {(r["student_id"], r["assignment"]): r for r in read_csv(term.course / "grades.csv")}
    wide = {r["student_id"]: r for r in read_csv(term.course / "grades_wide.csv")}
    return long, wide


class Formgrader:
    """nbgrader's Formgrader on a real Jupyter server at the course root, driven through its HTTP API."""

    def __init__(self, term):
        self.token = secrets.token_hex(16)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=str(term.course), DB_URL=term.db_url if "postgres" in term.db_url else "",
                   NBGRADER_EXCHANGE=str(term.exchange))
        self.log = open(term.root / "formgrader.log", "w")
        self.server = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "server", "--allow-root", "--no-browser",
             f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={term.course}"],
            cwd=term.course, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_until_up()

    def call(self, method, path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/formgrader/api/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def wait_until_up(self, seconds=120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.server.poll() is None, f"the Formgrader's server stopped: {self.log.name}"
            try:
                if self.call("GET", "status")["status"]:
                    return
            except OSError:
                time.sleep(1)
        raise AssertionError(f"the Formgrader did not answer in {seconds} s: {self.log.name}")

    def grade_written_answers(self, chapter, account, score_of):
        """Give every written answer of the submission ``score_of(max)`` points and COMMENT, as a grader would."""
        (notebook,) = [n for n in self.call("GET", f"submitted_notebooks/{chapter}/{chapter}")
                       if n["student"] == account]
        for grade in self.call("GET", f"grades?submission_id={notebook['id']}"):
            if grade["auto_score"] is None:
                self.call("PUT", f"grade/{grade['id']}", {"manual_score": score_of(grade["max_score"])})
        for comment in self.call("GET", f"comments?submission_id={notebook['id']}"):
            if comment["auto_comment"] is None:
                self.call("PUT", f"comment/{comment['id']}", {"manual_comment": COMMENT})

    def stop(self):
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
        self.log.close()


# --- the term --------------------------------------------------------------------------------------

def test_a_term_from_publishing_to_the_lms_export(term, students):
    alice, bob = students["alice"], students["bob"]
    who = {alice: "alice", bob: "bob"}

    # publish, and the class hands in; bob races the collect with a link to alice's private answers
    entries = {}
    for chapter in CHAPTERS:
        term.make("publish", f"A={chapter}")
        for account in (alice, bob):
            entries[account, chapter] = hand_in(term, account, chapter, notebook_of(chapter, who[account]))
    alices_secret = private_copy(alice, notebook_of("ch07_datasets", "alice"))
    racer = swap_forever(bob, entries[bob, "ch07_datasets"] / "ch07_datasets.ipynb", alices_secret)
    try:
        term.make("collect")
    finally:
        os.kill(racer, 9)
        os.waitpid(racer, 0)
    collected = term.course / "submitted" / bob / "ch07_datasets" / "ch07_datasets.ipynb"
    assert not collected.exists() or collected.read_bytes() != alices_secret.read_bytes(), \
        "bob's submission holds alice's private answers"
    if not collected.exists() or nbformat.read(collected, as_version=4) != notebook_of("ch07_datasets", "bob"):
        hand_in(term, bob, "ch07_datasets", notebook_of("ch07_datasets", "bob"))  # set aside: he hands in again
        term.make("collect")
    for chapter in CHAPTERS:
        for account in (alice, bob):
            assert (term.course / "submitted" / account / chapter / f"{chapter}.ipynb").is_file()

    # autograde with two workers: the tests are right, the written answers wait for the instructor
    term.make("autograde", "WORKERS=2")
    for chapter in CHAPTERS:
        for account in (alice, bob):
            graded = submission(term, chapter, account)
            assert graded["auto"] == expected_auto(chapter, who[account]), (chapter, account)
            assert graded["written"] and all(needs for _, needs in graded["written"].values())
    reasons = {(r["student"], r["exercise"]): r for r in read_csv(term.course / "reports" / "exercises.csv")}
    for cell in MISTAKES["ch01_one_weight"].failing:
        assert reasons[(bob, cell)]["reason_code"] == "wrong_answer", reasons[(bob, cell)]

    # feedback waits for the hand grading; the export posts no provisional grade
    withheld = term.make("feedback")
    assert alice in withheld.stdout + withheld.stderr and bob in withheld.stdout + withheld.stderr
    assert not list((term.course / "feedback").glob("*/*/*.html")), "pages with written answers at 0"
    long, wide = exported(term)
    assert {row["status"] for row in long.values()} == {"needs manual grading"}
    assert wide[alice]["total"] == "" and wide[alice]["total_note"].startswith("no total:")

    # the Formgrader: full marks for alice's written answers, half for bob's, with a comment each
    formgrader = Formgrader(term)
    try:
        for chapter in CHAPTERS:
            formgrader.grade_written_answers(chapter, alice, lambda most: most)
            formgrader.grade_written_answers(chapter, bob, lambda most: most / 2)
    finally:
        formgrader.stop()
    long, wide = exported(term)
    assert {row["status"] for row in long.values()} == {"graded"}
    full = {chapter: sum(points_of(chapter).values()) for chapter in CHAPTERS}
    written = {chapter: sum(m for m, _ in submission(term, chapter, alice)["written"].values()) for chapter in CHAPTERS}
    assert float(long[(alice, "ch01_one_weight")]["score"]) == full["ch01_one_weight"] + written["ch01_one_weight"]
    assert float(wide[alice]["total"]) == sum(full.values()) + sum(written.values())

    # a test's points change mid-term: the regrade gives the new points and keeps every hand grade
    source = term.course / "solutions" / RETUNED / f"{RETUNED}.ipynb"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == retuned_cell():
            cell.metadata.nbgrader.points += 1
    nbformat.write(notebook, source)
    term.make("autograde", f"A={RETUNED}", "WORKERS=2")
    for account in (alice, bob):
        regraded = submission(term, RETUNED, account)
        assert regraded["auto"] == expected_auto(RETUNED, who[account], retuned=True)
        assert all(not needs and score is not None for score, needs in regraded["written"].values()), regraded
        assert set(regraded["comments"].values()) == {COMMENT}
    long, _ = exported(term)
    assert long[(alice, RETUNED)]["status"] == "graded"

    # bob hands the chapter in again, correct, after its due date: collected, graded, late, hand grade kept
    with term.gradebook() as book:
        book.update_or_create_assignment(LATE, duedate=datetime.now(timezone.utc).replace(tzinfo=None)
                                         - timedelta(minutes=1))
    hand_in(term, bob, LATE, notebook_of(LATE, "alice"))
    term.make("collect")
    term.make("autograde", f"A={LATE}")
    late = submission(term, LATE, bob)
    assert late["auto"] == expected_auto(LATE, "alice", retuned=True) and late["late"] > 0
    assert all(not needs for _, needs in late["written"].values()), "the same written answer keeps its grade"

    # feedback goes back through the exchange, each page with its own student's score
    term.make("return-feedback")
    for chapter in CHAPTERS:
        for account in (alice, bob):
            pages = list((term.exchange / settings.COURSE_ID / "feedback").glob("*.html"))
            assert pages and (term.course / "feedback" / account / chapter / f"{chapter}.html").is_file()
    long, wide = exported(term)
    assert {row["status"] for row in long.values()} == {"graded"}
    assert wide["Points Possible"]["total"] != "" and wide[alice]["total"] != "" and wide[bob]["total"] != ""
    assert float(long[(bob, LATE)]["score"]) == float(long[(alice, LATE)]["score"]) - written[LATE] / 2
