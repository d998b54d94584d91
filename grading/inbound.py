"""Check nbgrader's exchange inbound before `make collect`: only a student's own hand-ins get through.

    python -m grading.inbound          (what `make collect` runs first)

nbgrader's collect takes the newest folder named ``<student>+<chapter>+<time>+<random>`` for each
student and only *warns* when someone else made it; one name it cannot parse stops it for the
whole class. On a shared host any student can write into the inbound, so every entry is moved to
``<exchange>/<course>/quarantine/`` (root's, with <name>.REASON.txt beside it) unless: its name has nbgrader's
form, with a student id the grading accepts and a time that is not in the future; that student is
a Unix user of this machine; and the entry and everything in it belong to that user, with no
symbolic link or special file among them.
"""

import os
import pwd
import shutil
import stat
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from grading import settings
from grading.preflight import NBGRADER_FILES, STUDENT_ID, STUDENT_ID_RULE

FUTURE_SLACK_SECONDS = 300  # clocks of the students' servers and of the grader may differ this much


def problem_with(entry, now=None):
    """Why ``entry`` (a folder in the inbound) must not be collected; "" when it may be."""
    parts = entry.name.rsplit("+", 3)
    if len(parts) != 4:
        return "its name is not <student>+<chapter>+<time>+<random>, the form `nbgrader submit` writes"
    student, _, stamp, _ = parts
    if not STUDENT_ID.fullmatch(student):
        return f"the student id {student!r} is not one grading accepts ({STUDENT_ID_RULE})"
    if not NBGRADER_FILES["timestamp.txt"].fullmatch(stamp):
        return f"its time {stamp!r} is not in the form nbgrader writes"
    handed_in = datetime.strptime(stamp.removesuffix(" UTC").split(".")[0], "%Y-%m-%d %H:%M:%S")
    if handed_in.replace(tzinfo=timezone.utc).timestamp() > (now or time.time()) + FUTURE_SLACK_SECONDS:
        return f"its time {stamp} is in the future"
    try:
        uid = pwd.getpwnam(student).pw_uid
    except KeyError:
        return f"{student} is not a user of this machine, so nobody could hand in as {student}"
    return not_owned_by(entry, uid, student)


def not_owned_by(entry, uid, student):
    for path in [entry, *entry.rglob("*")]:
        info = path.lstat()
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            return f"{path.relative_to(entry.parent)} is a link or a special file"
        if info.st_uid != uid:
            return (f"{path.relative_to(entry.parent)} belongs to {owner_of(info.st_uid)}, not to {student}: "
                    "handed in as someone else")
    return ""


def owner_of(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def quarantine(entry, reason):
    """Move ``entry`` (a link stays a link, never followed) to the quarantine, its reason beside it."""
    folder = entry.parent.parent / "quarantine"
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / entry.name
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    os.rename(entry, target)
    (folder / f"{entry.name}.REASON.txt").write_text(reason + "\n")


def check_inbound(inbound, log=print):
    """Quarantine every entry of ``inbound`` that must not be collected; return how many."""
    moved = 0
    for entry in sorted(Path(inbound).iterdir()) if Path(inbound).is_dir() else []:
        reason = problem_with(entry) if entry.is_dir() and not entry.is_symlink() else "it is not a folder"
        if reason:
            quarantine(entry, reason)
            moved += 1
            log(f"collect: set aside {entry.name!r} in {entry.parent.parent / 'quarantine'}: {reason}")
    return moved


def main():
    inbound = Path(settings.exchange_root()) / settings.COURSE_ID / "inbound"
    if os.path.isdir(inbound):
        check_inbound(inbound)
    return 0


if __name__ == "__main__":
    sys.exit(main())
