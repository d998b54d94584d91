"""The grader's own notes on why a test cell lost points, kept where no submission can write them.

A cell's outputs come from the student's kernel, which can raise an exception of any name with any
message: an error output named ``KernelDied`` or ``HiddenTestFailed`` proves nothing. What only the
grader knows (it stopped a kernel that died or ignored its timeout, it interrupted a cell at its
timeout, a hidden test failed) it records here, in the gradebook's table ``gd_grader_notes``, while
it grades; the report (grading/report.py) takes the reasons ``killed`` and ``timeout`` and the
hidden tests' messages from this table alone.
"""

import sqlalchemy

NOTES = sqlalchemy.Table(
    "gd_grader_notes", sqlalchemy.MetaData(),
    *(sqlalchemy.Column(name, sqlalchemy.String(length), nullable=False)
      for name, length in [("assignment", 128), ("student", 128), ("exercise", 128), ("code", 32)]),
    sqlalchemy.Column("reason", sqlalchemy.Text, nullable=False),
)


def record(book, assignment, student, exercise, note):
    """Replace the note on one test cell of one submission by ``note`` (code, reason), or by none."""
    NOTES.create(book.db.connection(), checkfirst=True)
    book.db.execute(NOTES.delete().where((NOTES.c.assignment == assignment) & (NOTES.c.student == student)
                                         & (NOTES.c.exercise == exercise)))
    if note:
        code, reason = note
        book.db.execute(NOTES.insert(), [{"assignment": assignment, "student": student, "exercise": exercise,
                                          "code": code, "reason": reason}])


def notes_of(book, assignment, student):
    """{exercise: (code, reason)}: the grader's notes on one submission."""
    if not sqlalchemy.inspect(book.db.connection()).has_table(NOTES.name):
        return {}
    rows = book.db.execute(sqlalchemy.select(NOTES.c.exercise, NOTES.c.code, NOTES.c.reason)
                           .where((NOTES.c.assignment == assignment) & (NOTES.c.student == student)))
    return {exercise: (code, reason) for exercise, code, reason in rows}
