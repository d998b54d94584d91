"""The grading report: points and reasons per student and exercise, pass rates per exercise.

Writes into reports/:
- submissions.csv   one row per submission: status, score, attempts, repairs, flags;
- exercises.csv     one row per student and exercise: points, and why points were lost;
- pass_rates.csv    one row per exercise: how many students got full marks;
- pass_rates.png    the same as a bar chart, to see which exercises the class struggled with.
"""

import csv
from pathlib import Path

import nbformat
import sqlalchemy
from nbgrader.api import MissingEntry

from grading import notes
from grading.run import gradebook


def write(course, outcomes, folder=None):
    """Write every report file for these outcomes into ``folder`` (default: reports/); return the
    rows of exercises.csv."""
    folder = Path(folder or Path(course) / "reports")
    folder.mkdir(parents=True, exist_ok=True)
    submissions, exercises = [], []
    for outcome in sorted(outcomes, key=lambda o: (o.assignment, o.student)):
        rows = exercise_rows(course, outcome)
        exercises += rows
        submissions.append(submission_row(outcome, rows))
    rates = pass_rates(exercises)
    write_csv(folder / "submissions.csv", submissions)
    write_csv(folder / "exercises.csv", exercises)
    write_csv(folder / "pass_rates.csv", rates)
    if rates:
        draw_pass_rates(rates, folder / "pass_rates.png")
    return exercises


def exercise_rows(course, outcome):
    flags = "; ".join(outcome.preflight.flags)
    if outcome.preflight.status == "set aside":  # run.record_zero stored its reasons
        return []
    cells = autograded_cells(course, outcome.assignment, outcome.student)
    rows = []
    with gradebook(course) as book:
        try:
            submission = book.find_submission(outcome.assignment, outcome.student)
        except MissingEntry:
            return []
        grader_notes = notes.notes_of(book, outcome.assignment, outcome.student)
        for notebook in submission.notebooks:
            order = {grade_id: index for index, grade_id in enumerate(cells)}  # notebook order
            for grade in sorted(notebook.grades, key=lambda g: (order.get(g.cell.name, len(order)), g.cell.name)):
                rows.append({
                    "assignment": outcome.assignment, "student": outcome.student, "exercise": grade.cell.name,
                    "kind": "auto" if grade.cell.cell_type == "code" else "manual",
                    "points": "" if grade.score is None or grade.needs_manual_grade else grade.score,
                    "max_points": grade.max_score,
                    **dict(zip(("reason_code", "reason"),
                               reason(grade, cells.get(grade.cell.name), outcome,
                                      grader_notes.get(grade.cell.name)))),
                    "flags": flags,
                })
        store_reasons(book, outcome.assignment, outcome.student, rows)
    return rows


def reason(grade, cell, outcome, note=None):
    """Say why a cell lost points: (a code from REASON_CODES, prose); ("", "") when it got them all.

    A timeout, a killed kernel and a hidden test's verdict come from the grader's own ``note``
    (grading/notes.py), never from the cell's outputs: the student's code can raise an error of
    any name. The outputs say only what the student's own code did.
    """
    if grade.cell.cell_type != "code":
        return ("needs_manual_grading", "needs manual grading") if grade.needs_manual_grade else ("", "")
    if grade.score == grade.max_score:
        return "", ""
    if outcome.problem:
        return "not_graded", outcome.problem
    if note:
        return tuple(note)
    errors = [o for o in (cell or {}).get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "no_result", "no result recorded"
    error = errors[-1]
    name, value = error.get("ename", ""), (error.get("evalue") or "").strip()
    if name == "NotImplementedError":
        return "not_answered", "not answered"
    if name == "MemoryError":
        return "out_of_memory", "error: out of memory (MemoryError)"
    if name in {"CheckFailed", "AssertionError"}:
        lines = value.splitlines() or ["a visible check failed"]
        likely = [line for line in lines if line.startswith("Likely mistake")]
        return "wrong_answer", "wrong answer: " + " ".join([lines[0]] + likely[:1])
    return "error", f"error: {name}: {value.splitlines()[0][:200] if value else ''}".rstrip(": ")


REASON_CODES = {
    "wrong_answer": "a visible check or the hidden test failed",
    "not_answered": "the answer cell still raises NotImplementedError",
    "error": "the cell raised another exception",
    "timeout": "the cell (or its hidden test) ran past the cell timeout",
    "out_of_memory": "the cell ran out of memory",
    "killed": "the kernel died or was killed (a crash, a resource limit, the submission's time budget)",
    "not_graded": "the whole submission could not be graded; every test got 0",
    "no_result": "the cell produced no verdict (it never ran)",
    "needs_manual_grading": "a written answer waiting for the instructor",
}
REASONS = sqlalchemy.Table(
    "gd_lost_points", sqlalchemy.MetaData(),
    *(sqlalchemy.Column(name, sqlalchemy.String(length), nullable=False)
      for name, length in [("assignment", 128), ("student", 128), ("exercise", 128), ("code", 32)]),
    sqlalchemy.Column("reason", sqlalchemy.Text, nullable=False),
)


def store_reasons(book, assignment, student, rows):
    """Replace this submission's reasons in the gradebook's own gd_lost_points table."""
    REASONS.create(book.db.connection(), checkfirst=True)
    book.db.execute(REASONS.delete().where((REASONS.c.assignment == assignment) & (REASONS.c.student == student)))
    lost = [{"assignment": assignment, "student": student, "exercise": row["exercise"],
             "code": row["reason_code"], "reason": row["reason"]} for row in rows if row["reason_code"]]
    if lost:
        book.db.execute(REASONS.insert(), lost)
    book.db.commit()


def stored_reasons(book, assignment, student):
    """{exercise: (code, reason)} for one submission, as the last report stored them."""
    REASONS.create(book.db.connection(), checkfirst=True)
    found = book.db.execute(REASONS.select().where((REASONS.c.assignment == assignment)
                                                   & (REASONS.c.student == student)))
    return {row.exercise: (row.code, row.reason) for row in found}


def autograded_cells(course, assignment, student):
    path = Path(course) / "autograded" / student / assignment / f"{assignment}.ipynb"
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return {}
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")}


def submission_row(outcome, rows):
    auto = [r for r in rows if r["kind"] == "auto"]
    status = outcome.preflight.status
    if outcome.problem and status != "set aside":
        status = "not graded"
    return {
        "assignment": outcome.assignment, "student": outcome.student, "status": status,
        "score": sum(float(r["points"] or 0) for r in auto) if auto else "",
        "max_score": sum(float(r["max_points"]) for r in auto) if auto else "",
        "attempts": outcome.attempts, "problem": outcome.problem, "earlier_attempts": "; ".join(outcome.notes),
        "repairs": "; ".join(outcome.preflight.notes) if outcome.preflight.status != "set aside" else "",
        "set_aside_reason": outcome.preflight.notes[-1] if outcome.preflight.status == "set aside" else "",
        "flags": "; ".join(outcome.preflight.flags),
    }


def pass_rates(exercises):
    rates = {}
    for row in exercises:
        if row["kind"] != "auto":
            continue
        key = (row["assignment"], row["exercise"])
        entry = rates.setdefault(key, {"assignment": key[0], "exercise": key[1], "max_points": row["max_points"],
                                       "students": 0, "full_marks": 0})
        entry["students"] += 1
        entry["full_marks"] += float(row["points"] or 0) == float(row["max_points"])
    for entry in rates.values():
        entry["pass_rate"] = round(entry["full_marks"] / entry["students"], 3)
    return list(rates.values())


def write_csv(path, rows):
    fields = list(rows[0]) if rows else ["empty"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(spreadsheet_safe(row) for row in rows)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row, columns=None):
    """``row`` with every text (in ``columns``, default all) that a spreadsheet would run as a formula
    (=, +, -, @ first) quoted by a leading apostrophe: reasons quote what a submission printed.
    Numbers stay numbers."""
    return {key: "'" + value if (columns is None or key in columns) and isinstance(value, str)
            and value.startswith(FORMULA_STARTS) and not _is_number(value) else value for key, value in row.items()}


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def draw_pass_rates(rates, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['assignment'][:4]} {r['exercise']}" for r in rates]
    values = [100 * r["pass_rate"] for r in rates]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rates) + 1.2))
    bars = ax.barh(labels, values, color=["tab:red" if v < 50 else "tab:blue" for v in values])
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3)
    ax.invert_yaxis()
    ax.set(xlim=(0, 110), xlabel="students with full marks (%)", title="Pass rate per exercise")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
