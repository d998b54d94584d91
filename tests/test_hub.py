"""The multi-user course on one host, end to end: JupyterHub, real Unix students, nbgrader's exchange.

A copy of the course (chapter 1) gets `make hub-setup` and `make hub` (deploy/hub/) on a free
loopback port, with the student environment, the exchange and the hub's state in a fresh folder
that every user can enter (so a "Permission denied" comes from the permissions the setup made,
not from where the test put things). Two student accounts are made for the test, with Debian's
default 0755 homes, and removed at the end whatever happens.

The instructor publishes the chapter (`make publish`); both students log in with their Unix
password in headless Chromium, fetch the chapter from the Assignment List, and submit it with its
Submit button, one with the reference answers (written into the fetched notebook as that student),
one with the chapter's classic mistake. The instructor runs `make collect`, `make autograde` (two
workers, a Postgres gradebook) and `make return-feedback`; each student fetches the feedback in
the Assignment List and opens it: their own score, never the other's. Finally each student
account gets "Permission denied" reading solutions/, the gradebook, the other's home and the
exchange's submissions. Screenshots go to $GD_SCREENSHOTS (default reports/hub/).
"""

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from accounts import folder_everyone_may_enter, remove_account, run_checked, stop_processes_of
from conftest import CHROMIUM, ROOT
from grading.samples import MISTAKES, answered, copy_course, make_command, points_of, reference_answers

CHAPTER = "ch01_one_weight"
SHOTS = Path(os.environ.get("GD_SCREENSHOTS", ROOT / "reports" / "hub"))
SETUP_SECONDS = 1500  # the student environment is built from scratch (pip's cache makes it minutes)
LAB_SECONDS = 180  # login to a usable JupyterLab, on a busy 2-core machine
LIST_SECONDS = 90  # an Assignment List action (fetch, submit, fetch feedback) to show its result

pytestmark = [
    pytest.mark.hub,
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub test makes Unix accounts and starts the hub: run it as root"),
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="no chromium here (`apt-get install chromium`; .ci/run installs it)"),
    pytest.mark.skipif(not shutil.which("npm") and not os.environ.get("CI"),
                       reason="no npm here for the hub's proxy (`apt-get install nodejs npm`; .ci/run installs it)"),
]


@dataclass
class Student:
    label: str  # what the screenshots call them
    name: str
    password: str = field(repr=False)
    answers: dict = field(repr=False)
    made_the_mistake: bool = False
    page: object = field(default=None, repr=False)

    @property
    def home(self):
        return Path(pwd.getpwnam(self.name).pw_dir)

    @property
    def notebook(self):
        return self.home / CHAPTER / f"{CHAPTER}.ipynb"


@dataclass
class Hub:
    url: str
    course: Path
    place: Path
    make_variables: list
    db_url: str


# --- accounts, processes, the hub -------------------------------------------------------------------

@pytest.fixture(scope="module")
def group():
    name = f"gd-hubtest-{secrets.token_hex(3)}"
    run_checked(["groupadd", name])
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture(scope="module")
def students(group):
    """Two student accounts in ``group`` with Debian's default (0755) homes, removed at the end."""
    suffix = secrets.token_hex(2)
    mistaken = MISTAKES[CHAPTER].apply(reference_answers(CHAPTER))
    made = [Student("ann", f"ann{suffix}", secrets.token_urlsafe(12), reference_answers(CHAPTER), False),
            Student("bob", f"bob{suffix}", secrets.token_urlsafe(12), mistaken, True)]
    try:
        for student in made:
            run_checked(["useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, student.name])
            run_checked(["chpasswd"], input=f"{student.name}:{student.password}\n")
        yield made
    finally:
        for student in made:
            remove_account(student.name)


def three_free_ports():
    """A port whose next two are free too (the hub's own API and the proxy's)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65000 and all(port_is_free(port + k) for k in (1, 2)):
            return port
    pytest.fail("no three consecutive free ports on loopback")


def port_is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def course_for_the_hub(place):
    """A copy of the course with the hub's files and the requirements (gdlib comes from this venv's project)."""
    course = copy_course(place / "course", [CHAPTER])
    shutil.copy2(ROOT / "requirements.txt", course / "requirements.txt")
    shutil.copytree(ROOT / "deploy", course / "deploy", ignore=shutil.ignore_patterns("__pycache__", ".node"))
    return course


def wait_for_login_page(url, server, log, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"make hub stopped:\n{log.read_text()[-4000:]}"
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/hub/login", timeout=5) as reply:
                if reply.status == 200:
                    return
        time.sleep(1)
    pytest.fail(f"the hub did not answer at {url} within {seconds} s:\n{log.read_text()[-4000:]}")


def stop(server):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def place():
    """A fresh folder every user may enter (mode 0755), removed at the end."""
    with folder_everyone_may_enter("gd-hub-") as folder:
        yield folder


@pytest.fixture(scope="module")
def gradebook_url(postgres):
    return postgres.new_database("hub_gradebook")


@pytest.fixture(scope="module")
def hub(place, students, group, gradebook_url):
    """`make hub-setup`, then `make hub` on a free loopback port; stopped at the end."""
    course = course_for_the_hub(place)
    variables = [f"STUDENT_ENV={place / 'student-env'}", f"EXCHANGE={place / 'exchange'}",
                 f"HUB_STATE={place / 'hub-state'}", f"STUDENT_GROUP={group}"]
    started = time.monotonic()
    run_checked(make_command("hub-setup", *variables), cwd=course, timeout=SETUP_SECONDS)
    print(f"\nmake hub-setup: {time.monotonic() - started:.0f} s (student environment built from scratch)")
    port = three_free_ports()
    log_path = place / "hub.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(make_command("hub", *variables, f"HUB_PORT={port}"), cwd=course,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_login_page(f"http://127.0.0.1:{port}", server, log_path)
        yield Hub(f"http://127.0.0.1:{port}", course, place, variables, gradebook_url)
    finally:
        stop(server)
        for student in students:  # a server the hub could not stop in time
            stop_processes_of(pwd.getpwnam(student.name).pw_uid)


def instructor(hub, *arguments):
    """A make target in the hub's course, as root, with the hub's paths and the gradebook."""
    return run_checked(make_command(*arguments, *hub.make_variables, f"DB_URL={hub.db_url}"),
                       cwd=hub.course, timeout=1800)


def as_student(student, *command):
    return subprocess.run(["runuser", "-u", student.name, "--", *map(str, command)],
                          capture_output=True, text=True, timeout=60, cwd="/")


# --- the browser ---------------------------------------------------------------------------------


def screenshot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def log_in(browser, hub, student):
    """Log in at the hub's login page; return the page once the student's JupyterLab has its menus."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", student.name)
    page.fill("#password_input", student.password)
    page.click("#login_submit")
    page.wait_for_selector(".lm-MenuBar-itemLabel:text('Nbgrader')", timeout=LAB_SECONDS * 1000)
    assert page.url.startswith(f"{hub.url}/user/{student.name}/lab"), page.url
    return page


def nbgrader_menu(page):
    """Open the Nbgrader menu; return the labels of its items."""
    page.click(".lm-MenuBar-itemLabel:text('Nbgrader')")
    page.wait_for_selector(".lm-Menu .lm-Menu-itemLabel")
    return page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()


def open_assignment_list(page):
    nbgrader_menu(page)
    page.click(".lm-Menu-itemLabel:text('Assignment List')")
    page.wait_for_selector("#released_assignments_list", timeout=LIST_SECONDS * 1000)


def refresh_assignment_list(page):
    page.click("#refresh_assignments_list")


def row_of(page, section, text):
    """The Assignment List's row for ``text`` in a section (released, fetched, submitted)."""
    return page.locator(f"#{section}_assignments_list .list_item", has_text=text).first


def wait_for_button(row, label):
    button = row.locator("button", has_text=label)
    button.wait_for(state="visible", timeout=LIST_SECONDS * 1000)
    return button


def write_as(student, path, notebook):
    """Write ``notebook`` to ``path`` as the student (their own file, their own permissions)."""
    done = subprocess.run(["runuser", "-u", student.name, "--", "tee", str(path)], input=nbformat.writes(notebook),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def gradebook_scores(hub, student):
    from nbgrader.api import Gradebook

    with Gradebook(hub.db_url) as book:
        submission = book.find_submission(CHAPTER, student.name)
        return float(submission.score), float(submission.max_score)


# --- the round trip --------------------------------------------------------------------------------

def test_students_log_in_and_fetch_the_published_chapter(hub, students, browser):
    instructor(hub, "publish", f"A={CHAPTER}")
    for student in students:
        for attempt in (1, 2):  # NOTES: a first lab start can time out once
            try:
                student.page = log_in(browser, hub, student)
                break
            except Exception:
                if attempt == 2:
                    raise
        # the students' lab settings: the Assignment List, none of the instructor's tools
        assert [label for label in nbgrader_menu(student.page) if label] == ["Assignment List"]
        student.page.keyboard.press("Escape")
        formgrader = student.page.request.get(f"{hub.url}/user/{student.name}/formgrader")
        assert formgrader.status == 404, f"{student.name}'s server serves the Formgrader ({formgrader.status})"
        open_assignment_list(student.page)
        released = row_of(student.page, "released", CHAPTER)
        wait_for_button(released, "Fetch").click()
        wait_for_button(row_of(student.page, "fetched", CHAPTER), "Submit")
        screenshot(student.page, f"{student.label}-1-fetched")
        assert student.notebook.is_file(), f"nothing fetched into {student.notebook}"
        assert student.notebook.stat().st_uid == pwd.getpwnam(student.name).pw_uid
        assert stat_mode(student.home) == 0o700, f"{student.home} is {oct(stat_mode(student.home))}"


def stat_mode(path):
    return path.stat().st_mode & 0o7777


def test_students_submit_their_answers_from_the_assignment_list(hub, students):
    inbound = hub.place / "exchange" / "generalizing-gd" / "inbound"
    for student in students:
        write_as(student, student.notebook, answered(CHAPTER, student.answers))
        page = student.page
        refresh_assignment_list(page)
        wait_for_button(row_of(page, "fetched", CHAPTER), "Submit").click()
        submitted = row_of(page, "submitted", CHAPTER)
        submitted.locator(".nested_list_item").first.wait_for(state="visible", timeout=LIST_SECONDS * 1000)
        screenshot(page, f"{student.label}-2-submitted")
        handed_in = list(inbound.glob(f"{student.name}+{CHAPTER}+*/{CHAPTER}.ipynb"))
        assert len(handed_in) == 1, f"{student.name}: {handed_in}"
        cells = nbformat.read(handed_in[0], as_version=4).cells
        assert [c.source for c in cells] == [c.source for c in answered(CHAPTER, student.answers).cells]


def test_instructor_collects_autogrades_in_parallel_and_returns_feedback(hub, students):
    instructor(hub, "collect", f"A={CHAPTER}")
    for student in students:
        assert (hub.course / "submitted" / student.name / CHAPTER / f"{CHAPTER}.ipynb").is_file()
    graded = instructor(hub, "autograde", f"A={CHAPTER}", "WORKERS=2")
    print(graded.stdout[-1500:])
    # the written answers are not graded by hand here: the pages go back marked provisional
    instructor(hub, "return-feedback", f"A={CHAPTER}", "PROVISIONAL=1")
    autograded_points = float(sum(points_of(CHAPTER).values()))  # the written answer waits for the instructor
    (well, maximum), (badly, same_maximum) = (gradebook_scores(hub, student) for student in students)
    assert well == autograded_points and 0 < badly < autograded_points, (well, badly)
    assert maximum == same_maximum > autograded_points
    returned = list((hub.place / "exchange" / "generalizing-gd" / "feedback").glob("*.html"))
    assert len(returned) == len(students), returned


def feedback_text(page, student):
    """Fetch the feedback in the Assignment List, open the page it returned; return its visible text."""
    refresh_assignment_list(page)
    submitted = row_of(page, "submitted", CHAPTER)
    submitted.get_by_text("(feedback available to fetch)").wait_for(timeout=LIST_SECONDS * 1000)
    wait_for_button(submitted, "Fetch Feedback").click()
    link = submitted.get_by_text("(view feedback)")
    link.wait_for(timeout=LIST_SECONDS * 1000)
    link.click()  # the file browser goes to the feedback's folder
    page.locator(".jp-DirListing-item", has_text=f"{CHAPTER}.html").dblclick()
    viewer = feedback_viewer(page)
    heading = viewer.locator("h4", has_text="(Score:").first
    heading.wait_for(timeout=LIST_SECONDS * 1000)
    screenshot(page, f"{student.label}-3-feedback")
    return viewer.locator("body").inner_text()


def feedback_viewer(page):
    return page.frame_locator(".jp-HTMLViewer:not(.lm-mod-hidden) iframe")


def shown_score(score, max_score):
    return f"{CHAPTER} (Score: {round(score, 2)} / {round(max_score, 2)})"


def test_each_student_fetches_their_own_feedback_and_sees_only_their_score(hub, students):
    scores = {student.name: gradebook_scores(hub, student) for student in students}
    mistake = MISTAKES[CHAPTER].message
    for student, other in zip(students, students[::-1]):
        text = feedback_text(student.page, student)
        assert shown_score(*scores[student.name]) in text, text[:300]
        assert shown_score(*scores[other.name]) not in text, text[:300]
        # every page shows the visible checks' code, mistake tables included; only a failing check prints
        failed = [text[k:k + 400] for k in range(len(text)) if text.startswith("Check failed:", k)]
        assert bool(failed) == student.made_the_mistake, f"{student.label}: failing checks shown: {failed}"
        if student.made_the_mistake:  # the diagnostic as the student reads it
            assert any(mistake in message for message in failed), failed
            feedback_viewer(student.page).get_by_text("Check failed:").first.scroll_into_view_if_needed()
            screenshot(student.page, f"{student.label}-4-feedback-diagnostic")
        fetched = list((student.home / CHAPTER / "feedback").glob(f"*/{CHAPTER}.html"))
        assert len(fetched) == 1 and fetched[0].stat().st_uid == pwd.getpwnam(student.name).pw_uid


def test_students_cannot_read_solutions_the_gradebook_or_each_other(hub, students):
    course, exchange = hub.course, hub.place / "exchange" / "generalizing-gd"
    for student, other in zip(students, students[::-1]):
        # what they may: enter the folder the course sits in, read their own work, run the environment
        assert as_student(student, "ls", hub.place).returncode == 0
        assert as_student(student, "cat", student.notebook).returncode == 0
        refused = {
            "solutions/": ["ls", course / "solutions"],
            "a solution notebook": ["cat", course / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"],
            "the course root": ["ls", course],
            "the other's home": ["ls", other.home],
            "the other's notebook": ["cat", other.notebook],
            "the exchange's submissions": ["ls", exchange / "inbound"],
            "the exchange's feedback": ["ls", exchange / "feedback"],
        }
        for what, command in refused.items():
            done = as_student(student, *command)
            assert done.returncode != 0 and "Permission denied" in done.stderr, f"{student.name} read {what}: {done}"
        assert gradebook_refused(hub, student)


def gradebook_refused(hub, student):
    """The Postgres gradebook, asked by a student who knows its address but not its password."""
    address = hub.db_url.split("@", 1)[1]
    probe = f"import psycopg; psycopg.connect('postgresql://postgres@{address}', connect_timeout=10)"
    done = as_student(student, hub.place / "student-env" / "bin" / "python", "-c", probe)
    assert done.returncode != 0, f"{student.name} connected to the gradebook"
    assert "password" in done.stderr, done.stderr[-1000:]
    return True


# --- what the administrator is told --------------------------------------------------------------

def test_a_second_hub_on_a_taken_port_says_which_port_and_what_to_do(hub):
    port = int(hub.url.rsplit(":", 1)[1])
    done = subprocess.run(make_command("hub", *hub.make_variables, f"HUB_PORT={port}"), cwd=hub.course,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert f"port taken: 127.0.0.1:{port}" in done.stderr and "make hub HUB_PORT=" in done.stderr, done.stderr[-2000:]


@pytest.fixture
def bare_course(place):
    """Only the Makefile, in a folder anyone can read: enough for the checks before any work."""
    folder = place / f"bare-{secrets.token_hex(2)}"
    folder.mkdir(mode=0o755)
    shutil.copy2(ROOT / "Makefile", folder / "Makefile")
    os.chmod(folder / "Makefile", 0o644)
    return folder


def test_hub_setup_without_root_says_to_run_it_as_root(bare_course):
    command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *make_command("hub-setup")]
    done = subprocess.run(command, cwd=bare_course, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "make hub-setup needs root" in done.stderr and "sudo make hub-setup" in done.stderr


def test_hub_setup_without_npm_says_what_to_install(bare_course):
    done = subprocess.run(make_command("hub-setup", "NPM=/nonexistent/npm", f"PROXY={bare_course / 'no-proxy'}"),
                          cwd=bare_course, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "npm is missing" in done.stderr and "apt-get install nodejs npm" in done.stderr
