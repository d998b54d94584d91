"""Grades for a learning-management system, from the gradebook: what `make grades` runs.

    python -m grading.export [--course .] [--long grades.csv] [--wide grades_wide.csv]

- grades.csv, one row per student and chapter: student_id, lms_user_id (nbgrader's
  Student.lms_user_id, empty when unknown), last_name, first_name, email, assignment, status,
  score, max_score, late_penalty, reason. ``status`` is one of STATUSES:
  ``graded``; ``missing`` (nothing submitted: score empty, not 0); ``needs manual grading`` (a
  written answer is not graded yet: score is the points so far); ``not graded`` (the grading run
  could not grade it, or it was never autograded: score is what the gradebook holds, reason says why).
- grades_wide.csv: first a ``Points Possible`` row (each chapter's maximum, and the total's), then one
  row per student: the same names and ids, then one column per chapter holding its score when the
  status is ``graded`` and empty otherwise (grades.csv says why), so an import never posts a missing,
  provisional or failed grade; ``total``, the sum over the chapters handed in so far (those anyone in
  the class submitted), given only when every one of them is ``graded`` for this student; and
  ``total_note``, saying what the total adds up or why there is none.

Every chapter of solutions/ appears (the gradebook learns them all first, so the columns never depend
on how the gradebook came to be), as does every student of the gradebook's roster and every student
whose only submission was set aside by preflight (reports/set_aside/). Scores are nbgrader's (the late penalty already
taken off). Both files are written with the csv module, UTF-8: a name holding a comma, a quote or
a line break survives a round trip.
"""

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from nbgrader.api import Assignment, Grade, Gradebook, GradeCell, SubmittedAssignment, SubmittedNotebook

from grading import database, settings
from grading.report import REASONS, spreadsheet_safe

STATUSES = ("graded", "missing", "needs manual grading", "not graded")
IDENTITY = ("student_id", "lms_user_id", "last_name", "first_name", "email")
LONG_COLUMNS = (*IDENTITY, "assignment", "status", "score", "max_score", "late_penalty", "reason")


@dataclass
class Person:
    student_id: str
    lms_user_id: str = ""
    last_name: str = ""
    first_name: str = ""
    email: str = ""


def grade_rows(book, set_aside=None):
    """One dict per student and chapter (columns LONG_COLUMNS), sorted by student then chapter.

    ``set_aside``: {(assignment, student): reason} for submissions preflight set aside (set_aside_now).
    """
    set_aside = set_aside or {}
    chapters = {a.name: a.max_score for a in book.assignments if a.notebooks}  # registered ones
    people = {s.id: Person(s.id, s.lms_user_id or "", s.last_name or "", s.first_name or "", s.email or "")
              for s in book.students}
    for _, student in set_aside:
        people.setdefault(student, Person(student))
    submissions = {(s.assignment.name, s.student_id): s for s in book.db.query(SubmittedAssignment)}
    why_not_graded = {**not_graded_reasons(book), **{key: f"set aside: {why}" for key, why in set_aside.items()}}
    rows = []
    for student_id in sorted(people):
        for chapter in sorted(chapters):
            key = (chapter, student_id)
            status, score, penalty, reason = judge(submissions.get(key), why_not_graded.get(key))
            rows.append({**vars(people[student_id]), "assignment": chapter, "status": status, "score": score,
                         "max_score": points(chapters[chapter]), "late_penalty": penalty, "reason": reason})
    return rows


def judge(submission, not_graded_reason):
    """(status, score, late penalty, reason) of one student's chapter."""
    if submission is None:
        return ("not graded", "", "", not_graded_reason) if not_graded_reason else ("missing", "", "", "no submission")
    score = points(max(0.0, submission.score - submission.late_submission_penalty))
    penalty = points(submission.late_submission_penalty)
    if not_graded_reason:
        return "not graded", score, penalty, not_graded_reason
    waiting = written_answers_waiting(submission)
    if waiting:
        return "needs manual grading", score, penalty, "not graded by hand yet: " + ", ".join(waiting)
    return "graded", score, penalty, ""


def written_answers_waiting(submission):
    if not submission.needs_manual_grade:  # one column of the submission query: most need no walk
        return []
    return sorted(grade.cell.name for notebook in submission.notebooks for grade in notebook.grades
                  if grade.needs_manual_grade)


def not_graded_reasons(book):
    """{(assignment, student): why} for submissions the grading run could not grade, or never autograded:
    the not_graded reason grading.run.record_zero and grading.report store (gd_lost_points), else
    "not autograded"."""
    return {**never_autograded(book), **reported_not_graded(book)}


def reported_not_graded(book):
    """{(assignment, student): reason} of the not_graded rows grading.report stored in gd_lost_points."""
    if not sqlalchemy.inspect(book.db.connection()).has_table(REASONS.name):
        return {}
    found = book.db.execute(REASONS.select().where(REASONS.c.code == "not_graded")
                            .order_by(REASONS.c.assignment, REASONS.c.student, REASONS.c.exercise))
    reasons = {}
    for row in found:
        reasons.setdefault((row.assignment, row.student), row.reason)
    return reasons


def never_autograded(book):
    """{(assignment, student): reason} for submissions with an autograded test that holds no score."""
    found = (book.db.query(Assignment.name, SubmittedAssignment.student_id)
             .join(SubmittedAssignment, SubmittedAssignment.assignment_id == Assignment.id)
             .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
             .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
             .join(GradeCell, GradeCell.id == Grade.cell_id)
             .filter(GradeCell.cell_type == "code", Grade.auto_score.is_(None), Grade.manual_score.is_(None))
             .distinct())
    return {(assignment, student): "not autograded yet: run make autograde" for assignment, student in found}


def set_aside_now(course):
    """{(assignment, student): reason} for submissions preflight set aside (reports/set_aside/) that were
    not handed in again since (nothing in submitted/<student>/<assignment>/)."""
    found = {}
    for note in sorted(Path(course).glob("reports/set_aside/*/*/REASON.txt")):
        student, assignment = note.parent.parent.name, note.parent.name
        if not (Path(course) / "submitted" / student / assignment).exists():
            found[(assignment, student)] = note.read_text().strip()
    return found


POINTS_POSSIBLE = "Points Possible"  # the wide form's first row (no student id has a space: preflight)


def wide_rows(rows):
    """The wide form: a points-possible row, then one row per student (identity, one score column per
    chapter, empty unless graded, then total and total_note); and its columns."""
    chapters = sorted({row["assignment"] for row in rows})
    counted = sorted({row["assignment"] for row in rows if row["status"] != "missing"})
    students = {}
    for row in rows:
        students.setdefault(row["student_id"], []).append(row)
    wide = [possible_row(rows, chapters, counted)]
    wide += [student_row(students[student], chapters, counted) for student in sorted(students)]
    return wide, [*IDENTITY, *chapters, "total", "total_note"]


def possible_row(rows, chapters, counted):
    most = {row["assignment"]: row["max_score"] for row in rows}
    return {**dict.fromkeys(IDENTITY, ""), "student_id": POINTS_POSSIBLE, **{c: most[c] for c in chapters},
            "total": points(sum(float(most[c]) for c in counted)), "total_note": adds_up(counted)}


def adds_up(counted):
    if not counted:
        return "no chapter handed in yet"
    return f"the sum of {', '.join(counted)}: the chapters handed in so far"


def student_row(rows, chapters, counted):
    """One student's wide row: a total only when every chapter handed in so far is graded for them."""
    status = {row["assignment"]: row for row in rows}
    entry = {**{c: rows[0][c] for c in IDENTITY}, **dict.fromkeys(chapters, "")}
    for chapter, row in status.items():
        if row["status"] == "graded":
            entry[chapter] = row["score"]
    waiting = [f"{c} {status[c]['status']}" for c in counted if status[c]["status"] != "graded"]
    entry["total"] = "" if waiting else points(sum(float(entry[c]) for c in counted))
    entry["total_note"] = f"no total: {'; '.join(waiting)}" if waiting else adds_up(counted)
    return entry


def points(value):
    """A score as an LMS reads it: 7, 2.5, 0.3333 (no trailing zeros); empty for None."""
    if value is None:
        return ""
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


def write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        # the roster's names and ids go to the LMS exactly as they are; the reasons quote submissions
        writer.writerows(spreadsheet_safe(row, ["reason", "total_note"]) for row in rows)


def export(book, course, long_path, wide_path):
    """Write both files from an open gradebook; return the long rows."""
    rows = grade_rows(book, set_aside_now(course))
    wide, columns = wide_rows(rows)
    write_csv(long_path, rows, LONG_COLUMNS)
    write_csv(wide_path, wide, columns)
    return rows


def summary(rows):
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    return ", ".join(f"{count} {status}" for status, count in counts.items() if count) or "no rows"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", default=".", help="the course root (default: the current folder)")
    parser.add_argument("--long", default="grades.csv", help="one row per student and chapter (default grades.csv)")
    parser.add_argument("--wide", default="grades_wide.csv",
                        help="one row per student, one column per chapter (default grades_wide.csv)")
    args = parser.parse_args(argv)
    course = Path(args.course).resolve()
    long_path, wide_path = course / args.long, course / args.wide
    url = settings.db_url(str(course))
    try:  # every chapter of solutions/, however the gradebook came to be
        database.ensure_registered(course)
    except database.GradebookProblem as problem:
        sys.exit(str(problem))
    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        rows = export(book, course, long_path, wide_path)
    print(f"wrote {args.long} ({len(rows)} rows: {summary(rows)}) and {args.wide} "
          f"({len({r['student_id'] for r in rows})} students, {len({r['assignment'] for r in rows})} chapters)")


if __name__ == "__main__":
    main()
