"""grading.inbound: only a student's own hand-ins reach `make collect` (real uids: needs root).

The race test makes two Unix accounts (a victim and an attacker, removed at the end) and swap the
attacker's notebook for a link to the victim's private one, as the attacker, while collect runs."""

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from accounts import remove_account, run_checked
from grading import course, inbound, settings
from grading.samples import copy_course

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="chown needs root")]

NOW = "2026-12-02 02:00:00.000000 UTC"  # for names refused before their time is compared with their files'
STUDENT = "nobody"  # a Unix user every Debian machine has


def just_now(seconds_ago=0):
    """The time of a hand-in written now (``seconds_ago`` earlier, well within inbound.WRITTEN_SLACK_SECONDS,
    for one older than another), in nbgrader's form: a hand-in counts when its files were written."""
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def hand_in(inbound_folder, name, owner=STUDENT):
    """An entry named ``name`` (its time, if any, written into timestamp.txt, as `nbgrader submit` does)."""
    uid = pwd.getpwnam(owner).pw_uid
    entry = inbound_folder / name
    entry.mkdir(parents=True)
    (entry / "ch01.ipynb").write_text("{}")
    parts = name.rsplit("+", 3)
    (entry / "timestamp.txt").write_text(parts[2] if len(parts) == 4 else "")
    for path in [entry, *entry.iterdir()]:
        os.chown(path, uid, uid)
    return entry


@pytest.fixture
def exchange(tmp_path):
    folder = tmp_path / "exchange" / "course" / "inbound"
    folder.mkdir(parents=True)
    return folder


def reasons(exchange):
    quarantine = exchange.parent / "quarantine"
    return {p.name.removesuffix(".REASON.txt"): p.read_text() for p in quarantine.glob("*.REASON.txt")}


def test_a_students_own_hand_in_gets_through(exchange):
    entry = hand_in(exchange, f"{STUDENT}+ch01+{just_now()}+r4nd")
    assert inbound.check_inbound(exchange, log=lambda _: None) == 0
    assert entry.is_dir()


@pytest.mark.parametrize("name, owner, why", [
    (f"root+ch01+{NOW}+r4nd", STUDENT, "belongs to nobody, not to root: handed in as someone else"),
    (f"ghost-student+ch01+{NOW}+r4nd", STUDENT, "is not a user of this machine"),
    ("just-a-folder", STUDENT, "is not <student>+<chapter>+<time>+<random>"),
    (f"{STUDENT}+ch01+not-a-time+r4nd", STUDENT, "is not in the form nbgrader writes"),
    (f"{STUDENT}+ch01+2099-01-01 00:00:00.000000 UTC+r4nd", STUDENT, "is in the future"),
    (f"ev\udcffe+ch01+{NOW}+r4nd", STUDENT, "is not one grading accepts"),
])
def test_anything_else_waits_in_quarantine_with_its_reason(exchange, name, owner, why):
    hand_in(exchange, name, owner)
    honest = hand_in(exchange, f"{STUDENT}+ch01+{just_now()}+k33p")
    assert inbound.check_inbound(exchange, log=lambda _: None) == 1
    assert why in reasons(exchange)[name]
    assert not (exchange / name).exists() and (exchange.parent / "quarantine" / name / "ch01.ipynb").is_file()
    assert honest.is_dir(), "the other hand-ins are collected as usual"


def test_links_are_moved_as_links_and_never_followed(exchange, tmp_path):
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "keep.txt").write_text("untouched")
    stamp = just_now()
    (exchange / f"{STUDENT}+ch01+{stamp}+l1nk").symlink_to(secret)
    inside = hand_in(exchange, f"{STUDENT}+ch01+{stamp}+1n51de")
    (inside / "data").symlink_to(secret)
    assert inbound.check_inbound(exchange, log=lambda _: None) == 2
    assert sorted(secret.iterdir()) == [secret / "keep.txt"] and (secret / "keep.txt").read_text() == "untouched"
    assert "is a link or a special file" in reasons(exchange)[f"{STUDENT}+ch01+{stamp}+1n51de"]
    assert (exchange.parent / "quarantine" / f"{STUDENT}+ch01+{stamp}+l1nk").is_symlink()


# --- taking the hand-ins through descriptors into root's own copy --------------------------------

CHAPTER = "ch01_one_weight"
NOTEBOOK = f"{CHAPTER}.ipynb"


def full_hand_in(inbound_folder, student, stamp, notebook=b"{}", suffix="r4nd"):
    """A hand-in as `nbgrader submit` leaves it: the notebook, timestamp.txt and submission_secret.txt."""
    entry = inbound_folder / f"{student}+{CHAPTER}+{stamp}+{suffix}"
    entry.mkdir()
    (entry / NOTEBOOK).write_bytes(notebook)
    (entry / "timestamp.txt").write_text(stamp)
    (entry / "submission_secret.txt").write_text(secrets.token_hex(64))
    uid = pwd.getpwnam(student).pw_uid
    for path in [entry, *entry.iterdir()]:
        os.chown(path, uid, uid)
    return entry


def test_the_copy_holds_each_students_newest_good_hand_in_of_the_chapters_asked(exchange, tmp_path):
    older = full_hand_in(exchange, STUDENT, just_now(seconds_ago=2), b"old", "0ld")
    now = just_now()
    newer = full_hand_in(exchange, STUDENT, now, b"new", "n3w")
    (newer / "data").mkdir()
    (newer / "data" / "x.csv").write_text("1,2")
    os.chown(newer / "data" / "x.csv", pwd.getpwnam(STUDENT).pw_uid, -1)
    os.chown(newer / "data", pwd.getpwnam(STUDENT).pw_uid, -1)
    full_hand_in(exchange, STUDENT, now, b"other chapter").rename(exchange / f"{STUDENT}+ch02_x+{now}+r4nd")
    copies = tmp_path / "copies"
    copies.mkdir()
    assert inbound.check_inbound(exchange, lambda _: None, copies, [CHAPTER]) == 0
    assert [p.name for p in copies.iterdir()] == [newer.name]
    copy = copies / newer.name
    assert (copy / NOTEBOOK).read_bytes() == b"new" and (copy / "data" / "x.csv").read_text() == "1,2"
    assert (copy / "timestamp.txt").read_text() == now
    assert all(p.stat().st_uid == 0 and not p.is_symlink() for p in copy.rglob("*")), "root's copy"
    assert older.is_dir() and newer.is_dir(), "the inbound itself is left as it was"


def test_a_link_or_fifo_inside_the_newest_hand_in_leaves_it_out_and_the_next_is_copied(exchange, tmp_path):
    good = full_hand_in(exchange, STUDENT, just_now(seconds_ago=2), b"good", "g00d")
    linked = full_hand_in(exchange, STUDENT, just_now(seconds_ago=1), b"linked", "l1nk")
    (linked / NOTEBOOK).unlink()
    (linked / NOTEBOOK).symlink_to(tmp_path / "secret.ipynb")
    fifo = full_hand_in(exchange, STUDENT, just_now(), b"fifo", "f1f0")
    os.mkfifo(fifo / "pipe")
    copies = tmp_path / "copies"
    copies.mkdir()
    assert inbound.check_inbound(exchange, lambda _: None, copies) == 2
    assert f"{linked.name}/{NOTEBOOK} is a link or a special file" in reasons(exchange)[linked.name]
    assert f"{fifo.name}/pipe is a link or a special file" in reasons(exchange)[fifo.name]
    assert [p.name for p in copies.iterdir()] == [good.name]


def test_a_hand_in_bigger_than_nbgrader_collects_waits_in_quarantine(exchange, tmp_path, monkeypatch):
    monkeypatch.setattr(inbound, "ENTRY_BYTES", 1000)
    big = full_hand_in(exchange, STUDENT, just_now(), b"x" * 1001)
    copies = tmp_path / "copies"
    copies.mkdir()
    assert inbound.check_inbound(exchange, lambda _: None, copies) == 1
    assert "more than 1,000 bytes" in reasons(exchange)[big.name]
    assert list(copies.iterdir()) == []


def test_collect_needs_an_inbound_and_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.EXCHANGE_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(course.CourseError, match="there is no .*nowhere.*inbound: publish a chapter first"):
        course.collect(tmp_path, [CHAPTER], lambda *_: pytest.fail("nbgrader must not run"))


@pytest.fixture
def course_and_exchange(tmp_path, monkeypatch):
    """A copy of the course (no chapter but CHAPTER's folder) and an exchange laid out as `make hub-setup` does."""
    root = copy_course(tmp_path / "course", [])
    (root / "solutions" / CHAPTER).mkdir(parents=True)
    exchange_root = tmp_path / "exchange"
    folder = exchange_root / settings.COURSE_ID / "inbound"
    folder.mkdir(parents=True)
    os.chmod(exchange_root, 0o1777)
    os.chmod(folder, 0o2733)
    monkeypatch.setenv(settings.EXCHANGE_VARIABLE, str(exchange_root))
    return root, folder


@pytest.mark.slow
def test_nbgrader_collects_roots_copy_and_never_reads_the_inbound(course_and_exchange):
    root, folder = course_and_exchange
    now = just_now()
    entry = full_hand_in(folder, STUDENT, now, b'{"answers": "handed in"}')
    seen = []

    def nbgrader_without_the_inbound(course_root, command):
        """Take the students' inbound away (and plant a changed notebook there) before nbgrader runs."""
        seen.append(command)
        (entry / NOTEBOOK).write_bytes(b"changed after the check")
        folder.rename(folder.with_name("inbound-away"))
        try:
            course.run_nbgrader(course_root, command)
        finally:
            folder.with_name("inbound-away").rename(folder)

    course.collect(root, [CHAPTER], nbgrader_without_the_inbound)
    submitted = root / "submitted" / STUDENT / CHAPTER
    assert (submitted / NOTEBOOK).read_bytes() == b'{"answers": "handed in"}'
    assert (submitted / "timestamp.txt").read_text() == now
    assert (submitted / "submission_secret.txt").read_text() == (entry / "submission_secret.txt").read_text()
    assert course.submission_file(root, STUDENT, CHAPTER, "timestamp.txt") == now, "return-feedback finds it"
    staging = [a for a in seen[0] if a.startswith("--Exchange.root=")][0].removeprefix("--Exchange.root=")
    assert staging.startswith(str(folder.parent / ".collect-")) and not os.path.exists(staging), "removed after"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["inbound"]


# --- the race: a student swaps its notebook for a link to a classmate's, as collect runs ---------

ROUNDS = 40
MINE = b'{"cells": [], "by": "the attacker"}'
THEIRS = b'{"cells": [], "by": "the victim, private"}'


@pytest.fixture
def two_students():
    """A victim and an attacker: Unix accounts of their own (no home), removed at the end."""
    if not shutil.which("useradd"):
        pytest.skip("no useradd here")
    names = [f"gdrace{secrets.token_hex(3)}{who}" for who in ("v", "a")]
    try:
        for name in names:
            run_checked(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
        yield [pwd.getpwnam(name) for name in names]
    finally:
        for name in names:
            remove_account(name)


def private_notebook(tmp_path, victim):
    """The victim's notebook in a folder only the victim may enter (0700)."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / NOTEBOOK).write_bytes(THEIRS)
    for path, mode in [(folder, 0o700), (folder / NOTEBOOK, 0o600)]:
        os.chown(path, victim.pw_uid, victim.pw_gid)
        os.chmod(path, mode)
    return folder / NOTEBOOK


def swapper(attacker, entry, scratch, target):
    """Fork a process that, AS THE ATTACKER, swaps the notebook of ``entry`` between its own file and a
    link to ``target``, renaming each into place from ``scratch`` so that the entry never shows a spare name."""
    pid = os.fork()
    if pid:
        return pid
    try:
        entry_fd, scratch_fd = os.open(entry, os.O_DIRECTORY), os.open(scratch, os.O_DIRECTORY)
        os.setgroups([])
        os.setgid(attacker.pw_gid)
        os.setuid(attacker.pw_uid)
        while True:
            with contextlib.suppress(OSError):
                os.symlink(target, "link", dir_fd=scratch_fd)
                os.rename("link", NOTEBOOK, src_dir_fd=scratch_fd, dst_dir_fd=entry_fd)
                own = os.open("file", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=scratch_fd)
                os.write(own, MINE)
                os.close(own)
                os.rename("file", NOTEBOOK, src_dir_fd=scratch_fd, dst_dir_fd=entry_fd)
    finally:
        os._exit(0)


def collect_in_process(course_root, command):
    """nbgrader's own collect (ExchangeCollect), in this process, for the exact command line collect runs;
    only the gradebook, which gives nothing but a due date, is left out (opening it takes a second)."""
    from nbgrader.apps.collectapp import CollectApp
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import collect as exchange_collect

    app = CollectApp()
    app.parse_command_line(command[2:])
    app.config.CourseDirectory.root = str(course_root)
    app.config.CourseDirectory.course_id = settings.COURSE_ID
    app.config.CourseDirectory.assignment_id = app.extra_args[0]
    coursedir = CourseDirectory(config=app.config)
    with mock_gradebook(exchange_collect):
        exchange_collect.ExchangeCollect(coursedir=coursedir, authenticator=Authenticator(config=app.config),
                                         config=app.config).start()


@contextlib.contextmanager
def mock_gradebook(module):
    """A gradebook that knows no due date."""
    from nbgrader.api import MissingEntry

    class NoDueDate:
        def __init__(self, *_):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def find_assignment(self, _):
            raise MissingEntry()

    saved, module.Gradebook = module.Gradebook, NoDueDate
    try:
        yield
    finally:
        module.Gradebook = saved


@pytest.mark.slow
def test_a_student_swapping_its_notebook_for_a_link_never_gets_a_classmates_work(tmp_path, course_and_exchange,
                                                                                   two_students):
    root, folder = course_and_exchange
    victim, attacker = two_students
    target = private_notebook(tmp_path, victim)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    os.chown(scratch, attacker.pw_uid, attacker.pw_gid)
    submitted = root / "submitted" / attacker.pw_name / CHAPTER / NOTEBOOK
    outcomes = {"collected": 0, "set aside": 0}
    for round_number in range(ROUNDS):
        entry = full_hand_in(folder, attacker.pw_name, just_now(), MINE, f"r{round_number}")
        pid = swapper(attacker, entry, scratch, target)
        try:
            time.sleep(0.005)
            course.collect(root, [CHAPTER], collect_in_process, log=lambda _: None)
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        got = submitted.read_bytes() if submitted.exists() else None
        assert got in (MINE, None), f"round {round_number}: the attacker got {got!r}"
        outcomes["set aside" if (folder.parent / "quarantine" / entry.name).exists() else "collected"] += 1
    assert target.read_bytes() == THEIRS
    assert not list(folder.parent.glob(".collect-*")), "each round's copy is removed"
    print(f"{ROUNDS} rounds: {outcomes}")  # both happen: the swap is caught as a link, or copied as its own
