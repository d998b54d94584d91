"""Take the hand-ins out of nbgrader's exchange for `make collect`: only a student's own bytes get through.

    python -m grading.inbound          (check the inbound and quarantine what must not be collected)

nbgrader's collect takes the newest folder named ``<student>+<chapter>+<time>+<random>`` for each
student, only *warns* when someone else made it, follows symbolic links as root, and stops for the
whole class on one name it cannot parse. On a shared host any student can write into the inbound,
and owns what it wrote there, so it can change an entry between any check and nbgrader's copy
(a notebook swapped for a link to a classmate's private one). So nbgrader never sees the inbound:
`staged` makes a private exchange of root's (``<staging>/<course>/inbound/<entry>``, in a fresh
0700 folder) and `check_inbound` fills it. Every entry is opened once, relative to the folder
already open above it and never through a link (O_NOFOLLOW); its type and owner are read from
the descriptor opened (fstat), and the bytes copied are read from that same descriptor, so what
is checked is what is copied. An entry is moved to ``<exchange>/<course>/quarantine/`` (root's,
with <name>.REASON.txt beside it) unless: its name has nbgrader's form, with a student id the
grading accepts and a time that is not in the future; that student is a Unix user of this
machine; the entry and everything in it are folders and regular files belonging to that user;
and it is no bigger than nbgrader collects (ENTRY_BYTES, ENTRY_ITEMS, ENTRY_DEPTH); and it was
handed in when it says (below). Each student's newest good hand-in of each chapter collected is
copied; a student who changes its entry during the copy gets only its own bytes or, when a link
or a foreign file appears, the quarantine.

When a hand-in was handed in: its time decides lateness (nbgrader's collect keeps the newest by the
time in the name; autograde counts the late seconds from the copied timestamp.txt), and both are
the student's to write. So the time a hand-in counts is the time its name claims only when nothing
in it was written after that: its timestamp.txt must hold exactly the time of its name, and that
time must not be earlier than the newest inode change time (st_ctime, read by fstat on the opened
descriptors, again after each file is copied and each folder is read, so a write during the copy
counts) of the entry folder and everything in it, less WRITTEN_SLACK_SECONDS. A file's ctime is
set by the kernel to the current time whenever its bytes, name, owner or mode change, and no
unprivileged user can set it back (utime and touch set the mtime and atime, and the ctime to now):
so an entry written, renamed into place or altered after its claimed time is quarantined, and the
student's previous hand-in is collected instead. An honest `nbgrader submit` (the Assignment List's
Submit) reads the clock, then writes the entry within a second or two, and running `make collect`
later reads the entry without changing any ctime; but copying the inbound, restoring it from a
backup or moving an entry back from the quarantine sets its ctime to that moment, so such an entry
is quarantined too (the student can simply submit again). An entry is never collected with a time
other than its own: it is collected as it claims, or set aside with the reason.
"""

import contextlib
import errno
import os
import pwd
import shutil
import stat
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from grading import settings
from grading.preflight import NBGRADER_FILES, STUDENT_ID, STUDENT_ID_RULE

FUTURE_SLACK_SECONDS = 300  # clocks of the students' servers and of the grader may differ this much
# `nbgrader submit` reads the clock, then copies the notebooks and writes timestamp.txt: an entry's files
# may change this long after the time of its name (and a late student gains at most this much)
WRITTEN_SLACK_SECONDS = 60
STAMP_FILE = "timestamp.txt"
STAMP_BYTES = 64  # more than any time nbgrader writes: a longer timestamp.txt is not the time of the name
# nbgrader's collect stops for the whole class at a hand-in past CourseDirectory.max_dir_size
# (100,000 kB, counted in thousands): such an entry waits in quarantine instead
ENTRY_BYTES = 100_000_000
ENTRY_ITEMS = 10_000  # files and folders in one hand-in
ENTRY_DEPTH = 32  # folders within folders (each level holds a descriptor open)
CHUNK = 1024**2
# never through a link; a FIFO opens without waiting for a writer; no terminal becomes ours
READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
FOLDER = READ | os.O_DIRECTORY
WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    """A hand-in (or the whole collect) must not go on; the message says why."""


def handed_in_at(stamp):
    """The time of a hand-in, from the ``<time>`` of its name (nbgrader's timestamp.txt form)."""
    moment = datetime.strptime(stamp.removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S.%f" if "." in stamp
                               else "%Y-%m-%d %H:%M:%S")
    return moment.replace(tzinfo=timezone.utc).timestamp()


def valid_time(stamp):
    """The time of ``stamp`` (handed_in_at), or None when it names no real moment (month 13, day 45):
    one such name must not stop the collect of the whole class."""
    try:
        return handed_in_at(stamp)
    except ValueError:
        return None


def name_problem(name, now=None):
    """Why the entry ``name`` must not be collected, from its name alone ("" when it may be)."""
    parts = name.rsplit("+", 3)
    if len(parts) != 4:
        return "its name is not <student>+<chapter>+<time>+<random>, the form `nbgrader submit` writes"
    student, _, stamp, _ = parts
    if not STUDENT_ID.fullmatch(student):
        return f"the student id {student!r} is not one grading accepts ({STUDENT_ID_RULE})"
    if not NBGRADER_FILES["timestamp.txt"].fullmatch(stamp) or valid_time(stamp) is None:
        return f"its time {stamp!r} is not in the form nbgrader writes"
    if handed_in_at(stamp) > (now or time.time()) + FUTURE_SLACK_SECONDS:
        return f"its time {stamp} is in the future"
    try:
        pwd.getpwnam(student)
    except KeyError:
        return f"{student} is not a user of this machine, so nobody could hand in as {student}"
    return ""


def owner_of(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def utc(moment):
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class Entry:
    """One hand-in being taken: whose it is, how much of the limits it has used, when it was last
    written (the newest ctime seen) and what its timestamp.txt holds."""

    def __init__(self, name):
        self.student, _, self.stamp, _ = name.rsplit("+", 3)
        self.uid = pwd.getpwnam(self.student).pw_uid
        self.bytes = self.items = 0
        self.changed = 0.0
        self.stamp_written = None  # the first STAMP_BYTES + 1 bytes of its timestamp.txt, once read

    def saw(self, info):
        """Note the inode change time of an fstat of the entry or of something in it."""
        self.changed = max(self.changed, info.st_ctime)

    def check_time(self):
        """Refuse a hand-in whose claimed time is not when it was written (see the module's docstring)."""
        if self.stamp_written is None:
            raise Refused(f"it has no {STAMP_FILE}, which `nbgrader submit` always writes")
        if self.stamp_written != self.stamp.encode():
            written = self.stamp_written[:STAMP_BYTES].decode(errors="backslashreplace")
            raise Refused(f"its {STAMP_FILE} says {written!r}, not the time of its name ({self.stamp}): "
                          "`nbgrader submit` writes the same time in both")
        if handed_in_at(self.stamp) < self.changed - WRITTEN_SLACK_SECONDS:
            raise Refused(f"its name and {STAMP_FILE} claim it was handed in at {self.stamp}, but it (or a file "
                          f"in it) was last written at {utc(self.changed)} (its inode change time, which no "
                          "student can set): a hand-in counts when it was written, so submit again")

    def check(self, fd, where):
        """fstat the descriptor opened, never the path: the type and owner of what will be read."""
        info = os.fstat(fd)
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            raise Refused(f"{where} is a link or a special file")
        if info.st_uid != self.uid:
            raise Refused(f"{where} belongs to {owner_of(info.st_uid)}, not to {self.student}: "
                          "handed in as someone else")
        self.saw(info)
        self.items += 1
        if self.items > ENTRY_ITEMS:
            raise Refused(f"it holds more than {ENTRY_ITEMS:,} files and folders")
        self.spend(info.st_size if stat.S_ISREG(info.st_mode) else 0)
        return info

    def spend(self, size):
        self.bytes += size
        if self.bytes > ENTRY_BYTES:
            raise Refused(f"it holds more than {ENTRY_BYTES:,} bytes, more than nbgrader collects")


def open_in(folder_fd, name, where):
    """Open ``name`` in the folder already open at ``folder_fd``, refusing a link or a vanished file."""
    try:
        return os.open(name, READ, dir_fd=folder_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENXIO):
            raise Refused(f"{where} is a link or a special file") from None
        if error.errno == errno.ENOENT:
            raise Refused(f"{where} changed while it was collected") from None
        raise


def take(entry, folder_fd, where, into=None, depth=0):
    """Check everything in the folder open at ``folder_fd``; copy it into the folder open at ``into``."""
    if depth > ENTRY_DEPTH:
        raise Refused(f"{where} lies more than {ENTRY_DEPTH} folders deep")
    with os.scandir(folder_fd) as listing:  # one name at a time: a folder may hold millions
        for item in listing:
            take_one(entry, folder_fd, item.name, f"{where}/{item.name}", into, depth)


def take_one(entry, folder_fd, name, where, into, depth):
    """Check (and copy) the file or folder ``name`` of the folder open at ``folder_fd``."""
    fd = open_in(folder_fd, name, where)
    try:
        info = entry.check(fd, where)
        stamp = depth == 0 and name == STAMP_FILE and stat.S_ISREG(info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            with folder_copy(into, name) as copy:
                take(entry, fd, where, copy, depth + 1)
        elif into is not None:
            first = copy_file(entry, fd, info, into, name)
            if stamp:
                entry.stamp_written = first
        elif stamp:
            entry.stamp_written = os.read(fd, STAMP_BYTES + 1)
        entry.saw(os.fstat(fd))  # again, after reading: a write during the copy changed its ctime
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_copy(into, name):
    """A new folder ``name`` in root's staging folder open at ``into`` (None when only checking)."""
    if into is None:
        yield None
        return
    try:
        os.mkdir(name, 0o755, dir_fd=into)
    except FileExistsError:  # a listing shows a name twice when the student renames meanwhile
        raise Refused(f"{name} changed while it was collected") from None
    fd = os.open(name, FOLDER, dir_fd=into)
    try:
        yield fd
    finally:
        os.close(fd)


def copy_file(entry, fd, info, into, name):
    """Copy the bytes of the checked descriptor ``fd``, counting what is read (a file may grow meanwhile);
    return the first STAMP_BYTES + 1 bytes copied."""
    entry.spend(-info.st_size)
    first = b""
    try:
        out = os.open(name, WRITE, 0o644, dir_fd=into)
    except FileExistsError:  # a listing shows a name twice when the student renames meanwhile
        raise Refused(f"{name} changed while it was collected") from None
    try:
        while chunk := os.read(fd, CHUNK):
            entry.spend(len(chunk))
            if len(first) <= STAMP_BYTES:
                first = (first + chunk)[:STAMP_BYTES + 1]
            written = 0
            while written < len(chunk):  # a write may take only part of it
                written += os.write(out, chunk[written:])
        os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
    finally:
        os.close(out)
    return first


def take_entry(inbound_fd, name, copies=None):
    """Check the entry ``name`` through descriptors; copy it into the folder ``copies`` when given."""
    entry = Entry(name)
    try:
        fd = os.open(name, FOLDER, dir_fd=inbound_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
            raise Refused("it is not a folder") from None
        raise
    try:
        entry.check(fd, name)
        if copies is None:
            take(entry, fd, name)
            entry.saw(os.fstat(fd))
            entry.check_time()
            return
        copies_fd = os.open(copies, FOLDER)
        try:
            with folder_copy(copies_fd, name) as copy:
                take(entry, fd, name, copy)
            entry.saw(os.fstat(fd))  # a name added, removed or renamed in it meanwhile changed its ctime
            entry.check_time()
        except Refused:
            shutil.rmtree(Path(copies) / name, ignore_errors=True)
            raise
        finally:
            os.close(copies_fd)
    finally:
        os.close(fd)


def quarantine(inbound, inbound_fd, name, reason):
    """Move the entry ``name`` (a link stays a link, never followed) to the quarantine, its reason beside it."""
    folder = Path(inbound).parent / "quarantine"
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / name
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    os.rename(name, target, src_dir_fd=inbound_fd)
    (folder / f"{name}.REASON.txt").write_text(reason + "\n")


def newest_first(names):
    """Entry names, newest hand-in first (so the first good one of a student's chapter is the one to copy)."""
    def when(name):
        parts = name.rsplit("+", 3)
        stamp = parts[2] if len(parts) == 4 else ""
        return (valid_time(stamp) or 0.0) if NBGRADER_FILES["timestamp.txt"].fullmatch(stamp) else 0.0
    return sorted(names, key=lambda name: (when(name), name), reverse=True)


def check_inbound(inbound, log=print, copies=None, chapters=None):
    """Quarantine every entry of ``inbound`` that must not be collected; return how many.

    With ``copies`` (a folder of root's), also copy there each student's newest good hand-in of each
    of ``chapters`` (every chapter when None), from the very descriptors that were checked."""
    if not os.path.isdir(inbound):
        return 0
    inbound_fd, moved, copied = os.open(inbound, FOLDER), 0, set()
    try:
        for name in newest_first(os.listdir(inbound_fd)):
            reason = name_problem(name)
            key = None if reason else tuple(name.rsplit("+", 3)[:2])
            wanted = (copies is not None and key is not None and key not in copied
                      and (chapters is None or key[1] in chapters))
            try:
                if not reason:
                    take_entry(inbound_fd, name, copies if wanted else None)
            except Refused as refused:
                reason = str(refused)
            except FileNotFoundError:
                log(f"collect: skipped {name!r}: it was removed while it was collected")
                continue
            if reason:
                moved += quarantine_logged(inbound, inbound_fd, name, reason, log)
            elif wanted:
                copied.add(key)
    finally:
        os.close(inbound_fd)
    return moved


def quarantine_logged(inbound, inbound_fd, name, reason, log):
    """Quarantine ``name`` and say so; 0 when it vanished first (nothing was moved)."""
    try:
        quarantine(inbound, inbound_fd, name, reason)
    except FileNotFoundError:
        log(f"collect: skipped {name!r}: it was removed while it was collected")
        return 0
    log(f"collect: set aside {name!r} in {Path(inbound).parent / 'quarantine'}: {reason}")
    return 1


def private(folder):
    """Whether nobody but root can rename or replace ``folder`` or a folder above it."""
    for place in [Path(folder), *Path(folder).parents]:
        try:
            info = os.lstat(place)
        except FileNotFoundError:
            return False
        writable_by_others = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
        if stat.S_ISLNK(info.st_mode) or info.st_uid not in (0, os.geteuid()) or writable_by_others:
            return False
    return True


@contextlib.contextmanager
def staged(chapters=None, log=print, exchange=None):
    """Yield the root of a private exchange holding root's copy of the hand-ins nbgrader may collect
    (``<staging>/<course>/inbound/<entry>``), so that nbgrader never reads the students' inbound;
    remove it afterwards."""
    course_folder = Path(exchange or settings.exchange_root()) / settings.COURSE_ID
    if not (course_folder / "inbound").is_dir():
        raise Refused(f"there is no {course_folder / 'inbound'}: publish a chapter first (make publish A=...), "
                      "or name the exchange (make collect EXCHANGE=<folder>)")
    beside = course_folder if private(course_folder) else Path(tempfile.gettempdir())
    if not private(beside):
        raise Refused(f"neither {course_folder} nor {beside} is root's alone: no private place to collect in")
    staging = Path(tempfile.mkdtemp(prefix=".collect-", dir=beside))
    try:
        copies = staging / settings.COURSE_ID / "inbound"
        copies.mkdir(parents=True)
        check_inbound(course_folder / "inbound", log, copies, chapters)
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main():
    check_inbound(Path(settings.exchange_root()) / settings.COURSE_ID / "inbound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
