"""The grading report: points and reasons per student and exercise, pass rates per exercise.

Each chapter graded writes its own folder, reports/<chapter>/, replacing only that folder:
- submissions.csv   one row per submission: status, score, attempts, repairs, flags;
- exercises.csv     one row per student and exercise: points, and why points were lost;
- pass_rates.csv    one row per exercise: how many students got full marks;
- pass_rates.png    the same as a bar chart, to see which exercises the class struggled with.
reports/submissions.csv, exercises.csv, pass_rates.csv and pass_rates.png are then rebuilt from
every chapter folder present, so grading one chapter never loses another's report.

Every text cell shows control characters as visible escapes (``visible``) and never starts a
spreadsheet formula (``spreadsheet_safe``): reasons quote what a submission printed.
"""

import csv
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import sqlalchemy
from nbgrader.api import MissingEntry

from grading import notes
from grading.run import gradebook

COLUMNS = {
    "submissions.csv": ["assignment", "student", "status", "score", "max_score", "written_pending", "attempts",
                        "problem", "earlier_attempts", "preflight", "repairs", "set_aside_reason", "flags"],
    "exercises.csv": ["assignment", "student", "exercise", "kind", "points", "max_points", "reason_code", "reason",
                      "rests_on", "flags"],
    "pass_rates.csv": ["assignment", "exercise", "max_points", "students", "full_marks", "pass_rate"],
}
GRADED, PENDING = "graded", "graded, written answers pending"


def write(course, outcomes, folder=None, assignments=()):
    """Write the report of these outcomes into ``folder`` (default: reports/), one folder per chapter
    (each chapter in ``assignments`` or in ``outcomes`` replaced whole, the others kept), then the
    combined files from every chapter folder present; return the rows of exercises.csv."""
    folder = Path(folder or Path(course) / "reports")
    folder.mkdir(parents=True, exist_ok=True)
    chapters = sorted(set(assignments) | {o.assignment for o in outcomes})
    exercises = []
    for chapter in chapters:
        exercises += write_chapter(course, [o for o in outcomes if o.assignment == chapter], folder / chapter)
    combine(folder)
    return exercises


def write_chapter(course, outcomes, target):
    """Write one chapter's report files into ``target``, replacing it whole; return its exercise rows."""
    submissions, exercises = [], []
    for outcome in sorted(outcomes, key=lambda o: o.student):
        rows = exercise_rows(course, outcome)
        exercises += rows
        submissions.append(submission_row(outcome, rows))
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    write_files(fresh, {"submissions.csv": submissions, "exercises.csv": exercises,
                        "pass_rates.csv": pass_rates(exercises)})
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    return exercises


def write_files(folder, tables):
    for name, rows in tables.items():
        write_csv(folder / name, rows, COLUMNS[name])
    if tables["pass_rates.csv"]:
        draw_pass_rates(tables["pass_rates.csv"], folder / "pass_rates.png")
    else:
        (folder / "pass_rates.png").unlink(missing_ok=True)


def chapter_folders(folder):
    """The chapter folders of a report folder (not shards, not preflight's originals or set-asides)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith((".", "shard-"))
                  and (p / "submissions.csv").is_file())


def combine(folder):
    """Rebuild ``folder``'s submissions.csv, exercises.csv, pass_rates.csv and .png from its chapter folders."""
    tables = {name: [] for name in COLUMNS}
    for chapter in chapter_folders(folder):
        for name in COLUMNS:
            tables[name] += read_csv(chapter / name)
    write_files(Path(folder), tables)


def read_csv(path):
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


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
                code, why = reason(grade, cells.get(grade.cell.name), outcome, grader_notes.get(grade.cell.name))
                rows.append({
                    "assignment": outcome.assignment, "student": outcome.student, "exercise": grade.cell.name,
                    "kind": "auto" if grade.cell.cell_type == "code" else "manual",
                    "points": "" if grade.score is None or grade.needs_manual_grade else grade.score,
                    "max_points": grade.max_score, "reason_code": code, "reason": why, "rests_on": rests_on(why),
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
    if grade.cell.cell_type != "code":  # a written answer; a note says when it changed since graded by hand
        if not grade.needs_manual_grade:
            return "", ""
        return tuple(note) if note else ("needs_manual_grading", "needs manual grading")
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
        cause = [line for line in lines if line.startswith("Likely cause")]
        likely = [line for line in lines if line.startswith("Likely mistake")]
        return "wrong_answer", "wrong answer: " + " ".join([lines[0]] + (cause or likely)[:1])
    return "error", f"error: {name}: {value.splitlines()[0][:200] if value else ''}".rstrip(": ")


# a failure caused by an earlier one: a visible check's "Likely cause" line (gdlib/checks.py), a hidden
# test resting on another (grading/hidden/judge.py's again), a hidden test calling a function that
# already ran past its timeout (grading/preprocessors.py)
CAUSES = [re.compile(r"this builds on (\w+), which is not right yet"), re.compile(r"rests on the test (\w+)"),
          re.compile(r"timeout: (\w+) ran past the cell timeout earlier")]


def rests_on(text):
    """The exercise (or function) an exercise's failure rests on, named in its reason; "" when none."""
    found = [m for m in (pattern.search(text) for pattern in CAUSES) if m]
    return min(found, key=lambda m: m.start()).group(1) if found else ""


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
    pending = [r["exercise"] for r in rows if r["kind"] == "manual" and r["points"] == ""]
    aside = outcome.preflight.status == "set aside"
    return {
        "assignment": outcome.assignment, "student": outcome.student, "status": status_of(outcome, pending),
        "score": sum(float(r["points"] or 0) for r in auto) if auto else "",
        "max_score": sum(float(r["max_points"]) for r in auto) if auto else "",
        "written_pending": "; ".join(pending),
        "attempts": outcome.attempts, "problem": outcome.problem, "earlier_attempts": "; ".join(outcome.notes),
        "preflight": outcome.preflight.status,
        "repairs": "; ".join(outcome.preflight.notes) if not aside else "",
        "set_aside_reason": outcome.preflight.notes[-1] if aside else "",
        "flags": "; ".join(outcome.preflight.flags),
    }


def status_of(outcome, pending):
    """``set aside``, ``not graded``, ``graded, written answers pending`` (points still to come from the
    instructor: ``pending`` names the written answers) or ``graded``."""
    if outcome.preflight.status == "set aside":
        return "set aside"
    if outcome.problem:
        return "not graded"
    return PENDING if pending else GRADED


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


def write_csv(path, rows, fields=None):
    fields = fields or (list(rows[0]) if rows else ["empty"])
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(spreadsheet_safe(row) for row in rows)


# C0 and C1 control characters but tab and line feed: a terminal or a viewer would act on them
# and the line and paragraph separators (a line break to Python's splitlines and to some editors) and
# the bidirectional overrides and isolates (which reorder what a line shows)
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text):
    """``text`` with every control character but tab and newline shown as an escape: ESC as ``\\x1b``,
    NUL as ``\\x00``. What every report, CSV and log line an instructor opens goes through."""
    return CONTROL_CHARACTERS.sub(lambda found: _escape(ord(found.group())), text)


def _escape(code):
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row, columns=None):
    """``row`` with every text (in ``columns``, default all) made safe to open: control characters shown
    as escapes (``visible``), and a text a spreadsheet would run as a formula (=, +, -, @ first) quoted
    by a leading apostrophe: reasons quote what a submission printed. Numbers stay numbers."""
    return {key: _safe(value) if columns is None or key in columns else value for key, value in row.items()}


def _safe(value):
    if not isinstance(value, str):
        return value
    value = visible(value)
    return "'" + value if value.startswith(FORMULA_STARTS) and not _is_number(value) else value


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
    values = [100 * float(r["pass_rate"]) for r in rates]  # (read back from a chapter's CSV: text)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rates) + 1.2))
    bars = ax.barh(labels, values, color=["tab:red" if v < 50 else "tab:blue" for v in values])
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3)
    ax.invert_yaxis()
    ax.set(xlim=(0, 110), xlabel="students with full marks (%)", title="Pass rate per exercise")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
