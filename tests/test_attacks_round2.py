"""A cheating student against this session's code: the collect, hand grades that survive a regrade, the log.

Each test is one attack; the ones still open are xfail(strict=True) with the reason."""

import os
import pwd
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.preprocessors import SaveAutoGrades

from grading import handgrades, inbound, report, run
from grading.preprocessors import JudgedSaveAutoGrades

pytestmark = pytest.mark.unit

CHAPTER = "ch01_one_weight"
NOW = "2026-12-02 02:00:00.000000 UTC"  # for names only: a hand-in written now claims just_now()
ME = pwd.getpwuid(os.geteuid()).pw_name  # a hand-in owned by whoever runs the test needs no chown


def just_now(seconds_ago=0):
    """The time of a hand-in written now (``seconds_ago`` earlier, within inbound.WRITTEN_SLACK_SECONDS,
    for one older than another), in nbgrader's form."""
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def hand_in(folder, student, stamp, suffix="r4nd", notebook=b"{}"):
    entry = folder / f"{student}+{CHAPTER}+{stamp}+{suffix}"
    entry.mkdir()
    (entry / f"{CHAPTER}.ipynb").write_bytes(notebook)
    (entry / "timestamp.txt").write_text(stamp)
    return entry


@pytest.fixture
def exchange(tmp_path):
    if not inbound.STUDENT_ID.fullmatch(ME):
        pytest.skip(f"the user running the tests, {ME!r}, is no student id")
    folder = tmp_path / "exchange" / "course" / "inbound"
    folder.mkdir(parents=True)
    copies = tmp_path / "copies"
    copies.mkdir()
    return folder, copies


def reasons(folder):
    quarantine = folder.parent / "quarantine"
    return {p.name.removesuffix(".REASON.txt"): p.read_text() for p in quarantine.glob("*.REASON.txt")}


# ---- 1. the collect ------------------------------------------------------------------------------

@pytest.mark.parametrize("stamp", ["2026-13-45 00:00:00 UTC", "2026-02-30 25:61:00.000000 UTC",
                                   "\u0662\u0660\u0662\u0666-12-01 00:00:00 UTC"])  # Arabic-Indic digits
def test_a_hand_in_named_with_an_impossible_time_does_not_stop_the_collect_of_the_class(exchange, stamp):
    """Any student may create `<anyone>+ch+2026-13-45 00:00:00 UTC+x` in the inbound: its name passed the
    form check, and strptime raised ValueError while sorting the names, so nobody's hand-in was collected."""
    folder, copies = exchange
    odd = folder / f"{ME}+{CHAPTER}+{stamp}+x"
    odd.mkdir()
    honest = hand_in(folder, ME, just_now(), notebook=b"honest")
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert "is not in the form nbgrader writes" in reasons(folder)[odd.name]
    assert (copies / honest.name / f"{CHAPTER}.ipynb").read_bytes() == b"honest"


def test_a_name_listed_twice_while_its_student_renames_quarantines_that_hand_in_only(exchange, monkeypatch):
    """A folder's listing may show a name twice when its owner renames entries while it is read (tmpfs
    does with a few thousand files); the second copy of the name raised FileExistsError (O_EXCL) out of
    check_inbound, and the collect stopped for the whole class."""
    folder, copies = exchange
    newest = hand_in(folder, ME, just_now(), "tw1ce", b"mine")
    earlier = hand_in(folder, ME, just_now(seconds_ago=2), "e4rly", b"earlier")
    real_scandir = os.scandir

    class Twice:
        def __init__(self, fd):
            self.items = list(real_scandir(fd))

        def __enter__(self):
            return iter(self.items + self.items)

        def __exit__(self, *_):
            return False

    monkeypatch.setattr(inbound.os, "scandir", Twice)
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 2
    assert "changed while it was collected" in reasons(folder)[newest.name]
    assert not list(copies.iterdir()), "nothing half-copied stays"
    assert earlier.name in reasons(folder)  # each listed twice: all quarantined, none crashed the run


def test_a_hand_in_written_now_cannot_claim_it_was_handed_in_a_day_ago(exchange):
    """A hand-in's time was what the student wrote (its name and its timestamp.txt, both the student's), so a
    late hand-in could claim any earlier time and skip the late penalty; back-dating the files' mtime (touch)
    does not help either: the time that counts is the files' inode change time, which no student can set."""
    folder, copies = exchange
    a_day_ago = just_now(seconds_ago=24 * 3600)
    late = hand_in(folder, ME, a_day_ago, notebook=b"written after the deadline")
    then = time.time() - 24 * 3600
    for path in [*late.iterdir(), late]:
        os.utime(path, (then, then))
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert not (copies / late.name).exists(), "collected with a time a day before it was written"
    assert f"claim it was handed in at {a_day_ago}, but it (or a file in it) was last written at" \
        in reasons(folder)[late.name]


def test_an_on_time_hand_in_changed_afterwards_is_set_aside_and_the_one_before_collected(exchange, monkeypatch):
    """The entry stays the student's after it is handed in: a notebook rewritten in it after its time (here
    later than the slack, made one second) changes the file's ctime, and the hand-in before it counts."""
    folder, copies = exchange
    monkeypatch.setattr(inbound, "WRITTEN_SLACK_SECONDS", 1)
    before = hand_in(folder, ME, just_now(seconds_ago=0.5), "b3f0re", b"the one before")
    on_time = hand_in(folder, ME, just_now(), "0nt1me", b"on time")
    time.sleep(1.5)
    (on_time / f"{CHAPTER}.ipynb").write_bytes(b"rewritten after the deadline")
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert "was last written at" in reasons(folder)[on_time.name]
    assert (copies / before.name / f"{CHAPTER}.ipynb").read_bytes() == b"the one before"


def test_a_notebook_written_while_it_is_copied_counts_as_written_then(exchange, monkeypatch):
    """A student can watch its own entry (inotify tells it when root opens its notebook) and write into the
    notebook just after the check: the ctime is read again once the bytes are copied."""
    folder, copies = exchange
    monkeypatch.setattr(inbound, "WRITTEN_SLACK_SECONDS", 1)
    entry = hand_in(folder, ME, just_now(), notebook=b"on time")
    real_read, done = os.read, []

    def read_then_write(fd, size):
        if not done and os.fstat(fd).st_ino == (entry / f"{CHAPTER}.ipynb").stat().st_ino:
            done.append(True)
            time.sleep(1.5)
            (entry / f"{CHAPTER}.ipynb").write_bytes(b"written during the copy, after the deadline")
        return real_read(fd, size)

    monkeypatch.setattr(inbound.os, "read", read_then_write)
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert done and "was last written at" in reasons(folder)[entry.name]
    assert not list(copies.iterdir())


@pytest.mark.parametrize("written", [None, "2026-12-01 01:00:00.000000 UTC", "same time, longer" + "x" * 100])
def test_timestamp_txt_must_hold_the_time_of_the_name(exchange, written):
    """nbgrader's collect orders hand-ins by the name's time and autograde counts lateness from the copied
    timestamp.txt: one without it was never late, one with an earlier time than its name's was less late."""
    folder, copies = exchange
    entry = hand_in(folder, ME, just_now())
    if written is None:
        (entry / "timestamp.txt").unlink()
    else:
        (entry / "timestamp.txt").write_text(written)
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert ("has no timestamp.txt" if written is None else "not the time of its name") in reasons(folder)[entry.name]
    assert not list(copies.iterdir())


def test_a_hand_in_written_within_the_slack_of_its_time_is_collected_with_that_time(exchange):
    """`nbgrader submit` reads the clock, then writes the entry: a few seconds later is honest."""
    folder, copies = exchange
    stamp = just_now(seconds_ago=min(10, inbound.WRITTEN_SLACK_SECONDS / 2))
    entry = hand_in(folder, ME, stamp, notebook=b"honest")
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 0
    assert (copies / entry.name / "timestamp.txt").read_text() == stamp


@pytest.mark.parametrize("name", ["just-a-folder", f"ghost-student+{CHAPTER}+{NOW}+x",
                                  f"{ME}+{CHAPTER}+2099-01-01 00:00:00 UTC+x"])
def test_any_badly_named_entry_does_not_stop_the_collect_of_one_chapter(exchange, name):
    """`make collect A=<chapter>` passes the chapters: an entry whose name failed a check had no
    (student, chapter) key, and `key[1]` raised TypeError, so any student's `mkdir inbound/x` stopped
    the collect of the whole class."""
    folder, copies = exchange
    (folder / name).mkdir()
    honest = hand_in(folder, ME, just_now(), notebook=b"honest")
    assert inbound.check_inbound(folder, lambda _: None, copies, [CHAPTER]) == 1
    assert name in reasons(folder)
    assert (copies / honest.name / f"{CHAPTER}.ipynb").read_bytes() == b"honest"


# ---- 2. hand grades that survive a regrade -------------------------------------------------------

def png(colour):
    return {"image/png": colour}


def written_answer(attachments=None):
    cell = nbformat.v4.new_markdown_cell("My derivation: ![](attachment:work.png)",
                                         metadata={"nbgrader": {"grade": True, "solution": True,
                                                                "grade_id": "overshoot_explained", "points": 2}})
    if attachments:
        cell.attachments = attachments
    return cell


def fingerprint_saved(cell, monkeypatch):
    """The fingerprint JudgedSaveAutoGrades hands to still_waiting for the written answer ``cell``."""
    seen = []
    monkeypatch.setattr(SaveAutoGrades, "_add_score", lambda *_: None)
    monkeypatch.setattr(handgrades, "still_waiting", lambda book, key, sha, *_: seen.append(sha))
    grade = SimpleNamespace(needs_manual_grade=False, manual_score=2.0)
    saver = JudgedSaveAutoGrades()
    saver.gradebook = SimpleNamespace(find_grade=lambda *_: grade, db=SimpleNamespace(commit=lambda: None),
                                      find_source_cell=lambda *_: SimpleNamespace(checksum="released"))
    saver.notebook_id, saver.assignment_id, saver.student_id = CHAPTER, CHAPTER, "ada"
    saver._nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Why?"), cell])
    saver._add_written_score(cell, {})
    return seen[0]


def test_a_new_image_behind_the_same_text_is_a_new_written_answer(monkeypatch):
    """A written answer that is a pasted image (a photo of a derivation) keeps its text when the image is
    replaced: the fingerprint covered the text only, so a resubmission with another image kept the hand
    grade, and the feedback page showed the new image under the old score and comment."""
    graded = fingerprint_saved(written_answer({"work.png": png("d3Jvbmc=")}), monkeypatch)
    resubmitted = fingerprint_saved(written_answer({"work.png": png("cmlnaHQ=")}), monkeypatch)
    assert graded != resubmitted


def test_an_answer_without_attachments_keeps_the_fingerprint_it_always_had(monkeypatch):
    """(So that no hand grade already given is asked again after the fix above.)"""
    cell = written_answer()
    question = ["released", "Why?"]
    assert fingerprint_saved(cell, monkeypatch) == handgrades.fingerprint(cell.source, question)


# ---- 4. the log and the reports -------------------------------------------------------------------

BATCH = ("[AutogradeApp | INFO] Creating/updating student with ID 'ada': {}\n"
         "  [kernel] student with ID 'bo'\n"
         "  [kernel] Segmentation fault (written by ada's code)\n"
         "[AutogradeApp | INFO] Creating/updating student with ID 'bo': {}\n"
         "[AutogradeApp | INFO] Autograding /c/autograded/bo/ch/ch.ipynb\n")


def test_a_kernel_line_cannot_name_the_student_of_the_log_lines_after_it():
    """A submission writes to its raw stderr (`os.write(2, ...)`), which reaches the log as a [kernel]
    line; one holding "student with ID 'bo'" made every later line of ada's grading read [bo]."""
    lines = run.attributed(BATCH, 1).splitlines()
    assert lines[1] == "[worker 1] [ada]   [kernel] student with ID 'bo'"
    assert lines[2].startswith("[worker 1] [ada]   [kernel] Segmentation fault")
    assert lines[3].startswith("[worker 1] [bo] [AutogradeApp | INFO]")
    assert lines[4].startswith("[worker 1] [bo] ")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_a_unicode_line_separator_forges_no_log_line(separator):
    """U+2028 and U+2029 are line breaks to Python's splitlines (and some editors): a kernel line holding
    one, then "[AutogradeApp | INFO] Creating/updating student with ID 'bo'", started a line of its own
    that named bo as the student of everything after it."""
    forged = f"  [kernel] x{separator}[AutogradeApp | INFO] Creating/updating student with ID 'bo': {{}}\n"
    output = report.visible("[AutogradeApp | INFO] Creating/updating student with ID 'ada': {}\n" + forged
                            + "  [kernel] ada's own crash\n")
    lines = run.attributed(output, 1).splitlines()
    assert len(lines) == 3 and lines[-1].startswith("[worker 1] [ada] ")
    assert separator not in "".join(lines) and f"\\u{ord(separator):04x}" in lines[1]


def test_bidirectional_overrides_are_shown_as_escapes():
    """A right-to-left override (U+202E) in a reason reorders what the rest of the line shows."""
    safe = report.spreadsheet_safe({"reason": "wrong answer \u202e0 = 1", "score": 0})
    assert safe == {"reason": "wrong answer \\u202e0 = 1", "score": 0}
    assert report.visible("\x1b[2J") == "\\x1b[2J", "escapes as before"


def test_the_name_check_itself_refuses_an_impossible_time_without_raising():
    assert "not in the form" in inbound.name_problem(f"{ME}+{CHAPTER}+2026-13-45 00:00:00 UTC+x", now=time.time())
    assert inbound.newest_first(["a+b+2026-13-45 00:00:00 UTC+x", f"a+b+{NOW}+y"])[0].endswith("+y")
