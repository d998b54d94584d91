"""Check every submission before grading: repair what is safe to repair, set aside the rest.

A submission is ``submitted/<student>/<assignment>/``. Outcomes:
- ``ok``: graded as it is;
- ``repaired``: graded after a safe fix (the original is kept under reports/originals/), such as
  leaving out every file beyond the notebook and the data files the chapter's release holds
  (moved, untouched, to reports/left_out/<student>/<assignment>/);
- ``set aside``: moved to reports/set_aside/<student>/<assignment>/ with REASON.txt, not graded.
"""

import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grading import tamper

PYTHON_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LARGE_NOTEBOOK_BYTES = 5_000_000
# what `nbgrader submit` adds to a submission, in the form it writes them
NBGRADER_FILES = {"timestamp.txt": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})? UTC", re.ASCII),
                  "submission_secret.txt": re.compile(r"[0-9a-f]{128}")}
# a student id nbgrader's command line and its exchange can name alone: no separators (, +), no
# wildcards, no whitespace or control characters, nothing outside ASCII
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
STUDENT_ID_RULE = "1 to 64 ASCII letters, digits, '.', '_', '@' or '-', starting with a letter or digit"


@dataclass
class Preflight:
    student: str
    assignment: str
    status: str = "ok"
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)


def check_all(course, assignment, keep=lambda student: True):
    """Preflight every submission of one assignment whose student ``keep`` accepts (this machine's
    shard); return a list of Preflight results.

    A student id outside STUDENT_ID is set aside before anything else reads it: nbgrader lists
    every folder of submitted/, so one unnameable folder would stop every batch.
    """
    submitted = Path(course) / "submitted"
    results = []
    for folder in sorted(submitted.glob(f"*/{assignment}")):
        student = folder.parent.name
        if not (folder.is_dir() or folder.is_symlink()) or not keep(student):
            continue
        if not STUDENT_ID.fullmatch(student):
            results.append(set_aside(course, Preflight(student, assignment), f"the student id {student!r} is not "
                                     f"one nbgrader can name ({STUDENT_ID_RULE}): rename the folder and grade again"))
        else:
            results.append(check(course, student, assignment))
    return results


def check(course, student, assignment):
    """Preflight one submission folder, repairing it in place or setting it aside."""
    course = Path(course)
    result = Preflight(student, assignment)
    folder = course / "submitted" / student / assignment
    expected = folder / f"{assignment}.ipynb"
    unsafe = not_plain_files(course / "submitted", folder)
    if unsafe:
        return set_aside(course, result, f"the submission holds {unsafe}, which grading never follows or copies: "
                                         "ask the student for the notebook itself, as a plain file")
    leave_out_extra_files(course, result, folder)
    if not expected.exists():
        found = sorted(folder.glob("*.ipynb"))
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "no notebook at all"
            return set_aside(course, result, f"expected {expected.name}, found {names}: "
                                             f"rename the student's notebook to {expected.name} and grade again")
        keep_original(course, result, found[0])
        found[0].rename(expected)
        result.notes.append(f"renamed {found[0].name} to {expected.name}")
    try:
        nb = nbformat.read(expected, as_version=4)
    except Exception as error:  # any unreadable file: JSON, encoding or schema
        return set_aside(course, result, f"{expected.name} is not a readable notebook ({type(error).__name__}: "
                                         f"{str(error).splitlines()[0][:200]}); ask the student to upload it again")
    changed = repair(nb, result, release_grade_ids(course, assignment))
    if changed or expected.stat().st_size > LARGE_NOTEBOOK_BYTES:
        if expected.stat().st_size > LARGE_NOTEBOOK_BYTES:
            clear_outputs(nb, result)
        keep_original(course, result, expected)
        nbformat.write(nb, expected)
    result.flags = tamper.scan(nb)
    if result.notes and result.status == "ok":
        result.status = "repaired"
    return result


def not_plain_files(submitted, folder):
    """Describe the first entry of ``folder`` (or on the way to it) that is not a plain file or folder.

    Links, devices, FIFOs, sockets and hard-linked files could make the grader, which runs as
    root, read or write something the submission does not own; nothing here follows a link.
    """
    for path in [folder.parent, folder]:
        if path.is_symlink():
            return f"a symbolic link ({path.relative_to(submitted)})"
    for root, folders, files in os.walk(folder, followlinks=False):
        for name in folders + files:
            path = Path(root) / name
            info = path.lstat()
            kind = ("a symbolic link" if stat.S_ISLNK(info.st_mode) else
                    "a hard link" if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 else
                    None if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode) else "a special file")
            if kind:
                return f"{kind} ({path.relative_to(folder)})"
    return None


def nbgraders_own(folder, path):
    """nbgrader's text files of a submission (its time, for late penalties, and the secret that
    names its returned feedback), which stay with it when they hold exactly what nbgrader writes."""
    pattern = NBGRADER_FILES.get(str(path))
    if pattern is None or (folder / path).stat().st_size > 1024:
        return False
    return bool(pattern.fullmatch((folder / path).read_bytes().decode("ascii", errors="replace").strip()))


def leave_out_extra_files(course, result, folder):
    """Move aside every file but the notebooks and the chapter's own data files: grading never sees them.

    Student code runs on the notebook and the data the release ships, nothing else the
    student uploaded (a numpy.py, a gigabyte of output, last week's draft); the files are
    kept, unchanged, for the instructor.
    """
    release = course / "course" / result.assignment
    declared = {p.relative_to(release) for p in release.rglob("*") if p.is_file()} if release.is_dir() else set()
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    extra = [path for path in files if path not in declared and not (path.suffix == ".ipynb" and len(path.parts) == 1)
             and not nbgraders_own(folder, path)]
    if not extra:
        return
    kept = course / "reports" / "left_out" / result.student / result.assignment
    for path in extra:
        (kept / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder / path), str(kept / path))
    for empty in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(empty.iterdir()):
            empty.rmdir()
    shown = ", ".join(str(path) for path in extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    result.notes.append(f"left out of grading {len(extra)} file{'s' * (len(extra) > 1)} beyond the notebook "
                        f"({shown}), kept in reports/left_out/")


def repair(nb, result, known_ids=None):
    """Fix a foreign kernel and foreign or repeated grade ids in place; return whether anything changed.

    nbgrader stops on a cell whose grade id its gradebook does not know (a cell pasted from another
    chapter, or made up): such a cell, and any repeat of an id, is kept as an ordinary cell.
    ``known_ids`` are the release notebook's; None when there is no release to ask.
    """
    changed = False
    kernelspec = nb.metadata.get("kernelspec", {})
    if kernelspec.get("name") != "python3":
        nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
        result.notes.append(f"kernel {kernelspec.get('name', 'none')!r} replaced by python3")
        changed = True
    seen = set()
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        problem = foreign_grade_id(cell.metadata["nbgrader"], seen, known_ids)
        if problem:
            del cell.metadata["nbgrader"]
            result.notes.append(f"cell {index} {problem}: kept as an ordinary cell")
            changed = True
        else:
            seen.add(cell.metadata["nbgrader"]["grade_id"])
    return changed


def foreign_grade_id(meta, seen, known_ids):
    """Why nbgrader must not see this cell's nbgrader metadata, or None when it may."""
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    if not isinstance(grade_id, str):
        return "has nbgrader metadata without a grade id"
    shown = ascii(grade_id[:40])  # printable, whatever the notebook holds
    if known_ids is not None and grade_id not in known_ids:
        return f"has the grade id {shown}, which is not in this chapter"
    if grade_id in seen:
        return f"repeated grade id {shown}"
    return None


def release_grade_ids(course, assignment):
    """The grade ids of the chapter's release notebook, or None when the course has no release of it."""
    try:
        nb = nbformat.read(Path(course) / "course" / assignment / f"{assignment}.ipynb", as_version=4)
    except OSError:
        return None
    return {cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def clear_outputs(nb, result):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    result.notes.append("outputs cleared (the notebook was over 5 MB)")


def keep_original(course, result, path):
    backup = Path(course) / "reports" / "originals" / result.student / result.assignment / path.name
    if not backup.exists():
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup)


def set_aside(course, result, reason):
    """Move the submission to reports/set_aside/ with REASON.txt; a linked folder is only unlinked."""
    student = Path(course) / "submitted" / result.student
    source = student / result.assignment
    target = Path(course) / "reports" / "set_aside" / result.student / result.assignment
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    link = next((path for path in [student, source] if path.is_symlink()), None)
    if link:  # never move what a link points at: record it and drop the link
        target.mkdir()
        reason += f" ({link.name} pointed at {os.readlink(link)})"
        link.unlink()
    else:
        shutil.move(str(source), str(target))
    (target / "REASON.txt").write_text(reason + "\n")
    if student.is_dir() and not student.is_symlink() and not any(student.iterdir()):
        student.rmdir()
    result.status, result.notes = "set aside", result.notes + [reason]
    return result
