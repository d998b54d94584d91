"""What a regrade keeps of the instructor's hand grades: every one whose answer did not change.

nbgrader's SaveAutoGrades asks again for every written answer that has a manual score, on every
autograde. The course remembers, in the gradebook's table ``gd_answer_checksums``, a sha256 of each
written answer as it was last autograded, together with the question it answers: the question's
text as the submission shows it (the markdown cells since the graded cell before the answer) and the
gradebook's checksum of the answer cell (its grade id, points and released text). A regrade asks for
grading again only when that changed, and notes why (grading/notes.py) for the report.
"""

import hashlib
import json

import sqlalchemy

from grading import notes

CHECKSUMS = sqlalchemy.Table(
    "gd_answer_checksums", sqlalchemy.MetaData(),
    *(sqlalchemy.Column(name, sqlalchemy.String(length), nullable=False)
      for name, length in [("assignment", 128), ("student", 128), ("exercise", 128), ("sha256", 64)]),
)

CHANGED = ("needs_manual_grading", "answer changed since it was graded by hand")


def fingerprint(answer, question):
    """The sha256 of a written answer (answer_of) and of ``question``, a list of strings that define it."""
    return hashlib.sha256(json.dumps([answer, *question], sort_keys=True).encode()).hexdigest()


def answer_of(cell):
    """What the grader sees of the written answer ``cell``: its source and, when it has any, the images
    attached to it (``![](attachment:x.png)`` shows one: a new image behind the same text is a new answer).
    An answer without attachments is its source alone, as its fingerprint has always been."""
    attachments = cell.get("attachments")
    return [cell.source, attachments] if attachments else cell.source


def question_of(nb, answer):
    """The text of the markdown cells that ask what the cell ``answer`` answers: those after the graded
    or answer cell before it."""
    asked = []
    for cell in nb.cells:
        if cell is answer:
            return asked
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            asked = []
        elif cell.cell_type == "markdown":
            asked.append(cell.source)
    return asked


def remembered(book, assignment, student, exercise):
    """The fingerprint this written answer had when it was last autograded, or None."""
    CHECKSUMS.create(book.db.connection(), checkfirst=True)
    found = book.db.execute(sqlalchemy.select(CHECKSUMS.c.sha256).where(_one(assignment, student, exercise)))
    return found.scalar()


def remember(book, assignment, student, exercise, sha256):
    CHECKSUMS.create(book.db.connection(), checkfirst=True)
    book.db.execute(CHECKSUMS.delete().where(_one(assignment, student, exercise)))
    book.db.execute(CHECKSUMS.insert(), [{"assignment": assignment, "student": student, "exercise": exercise,
                                          "sha256": sha256}])


def still_waiting(book, key, sha256, graded_by_hand, waiting):
    """Whether a written answer asks for grading after this autograde, or None to let nbgrader decide.

    ``key`` is (assignment, student, exercise), ``sha256`` its fingerprint now, ``waiting`` whether it
    asked before this autograde. An answer graded by hand keeps its grade, and waits only if it did
    before, unless its fingerprint changed: then it asks again, with a note saying why."""
    before = remembered(book, *key)
    remember(book, *key, sha256)
    if not graded_by_hand:
        notes.record(book, *key, None)
        return None
    if before == sha256:
        if not waiting:
            notes.record(book, *key, None)
        return waiting
    if before is not None:  # else graded before fingerprints were kept: nbgrader's rule, ask again
        notes.record(book, *key, CHANGED)
    return True


def _one(assignment, student, exercise):
    return ((CHECKSUMS.c.assignment == assignment) & (CHECKSUMS.c.student == student)
            & (CHECKSUMS.c.exercise == exercise))
