"""How long can one hostile submission hold up the batch? Wall time as a multiple of SUBMISSION_CAP.

The submission answers chapter 1 correctly but sleeps 9 s at the top of every answer cell, so it
needs more than its budget; its kernel is killed when the budget runs out. The same course is
graded at commit BEFORE (before one budget per submission: every restarted kernel and the
regrade alone got a fresh cap) and today, side by side, with `make autograde SUBMISSION_CAP=30
CELL_TIMEOUT=12`. Each row prints the seconds that one `make autograde` took, that as a multiple
of the cap, the same for the time beyond what one honest submission takes to grade in the same
course (nbgrader's start-up, the report: what the cap does not govern; target at most 1.1), and
the attempts the report gives.

A second figure (issue 20, "a worker is never held hostage"): one submission whose `train` never ends,
graded alone with the default cell timeout (60 s) and budget, beside an honest one graded alone the
same way: seconds each, and their ratio. Before the grader stopped a function that ran past the
timeout (the notebook's own later cells calling `train` each waited out a timeout of their own),
this read 249 s against 41 s; now only the first call waits.

Run: `.venv/bin/python benchmarks/bench_budget.py` (root and bubblewrap; about 5 minutes), or
`... bench_budget.py budget` / `... bench_budget.py endless` for one figure alone.
"""

import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import nbformat  # noqa: E402

from bench_grading import BEFORE, CHAPTER, course_before, run, typed_into  # noqa: E402
from grading import sandbox  # noqa: E402
from grading.samples import copy_course, make_command as make, reference_answers, with_mistake  # noqa: E402

CAP = 30
STUDENT = "sleeps_through_its_budget"


def one_submission_course(folder, before, hostile):
    folder.parent.mkdir(parents=True)
    course = course_before(folder) if before else copy_course(folder, [CHAPTER])
    answers = reference_answers(CHAPTER)
    if hostile:
        answers = {cell: "import time\ntime.sleep(9)\n" + source for cell, source in answers.items()}
    target = course / "submitted" / (STUDENT if hostile else "honest") / CHAPTER
    target.mkdir(parents=True)
    nbformat.write(typed_into(course / "course" / CHAPTER / f"{CHAPTER}.ipynb", answers), target / f"{CHAPTER}.ipynb")
    return course


def grade(course):
    """Seconds `make autograde` took, and (attempts, problem) from the report."""
    run(make("gradebook.db"), course)
    seconds, completed, _ = run(make("autograde", f"SUBMISSION_CAP={CAP}", "CELL_TIMEOUT=12"), course)
    return seconds, attempts(course) if completed.returncode == 0 else ("-", completed.stderr[-70:])


def attempts(course):
    with open(course / "reports" / "submissions.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return row["attempts"], row["problem"][:70]


def endless_train_course(folder, endless):
    """A course holding one ch01 submission: the reference answers, or them with a `train` that never ends."""
    course = copy_course(folder, [CHAPTER])
    answers = reference_answers(CHAPTER)
    if endless:
        answers = with_mistake(answers, "train", "    history = [weight]", "    while True:\n        pass")
    target = course / "submitted" / ("train_never_ends" if endless else "honest") / CHAPTER
    target.mkdir(parents=True)
    nbformat.write(typed_into(course / "course" / CHAPTER / f"{CHAPTER}.ipynb", answers), target / f"{CHAPTER}.ipynb")
    return course


def endless_train(work):
    """Print seconds to grade an honest ch01 submission alone and one whose train never ends, and the ratio."""
    print(f"\none ch01 submission graded alone, default CELL_TIMEOUT and SUBMISSION_CAP ({os.cpu_count()} CPUs)")
    print(f"{'submission':<30} {'seconds':>8} {'others %':>9}  problem")
    seconds = {}
    for label, endless in [("honest", False), ("train never ends", True)]:
        course = endless_train_course(work / label.replace(" ", "-"), endless)
        run(make("gradebook.db"), course)
        seconds[label], completed, others = run(make("autograde", "WORKERS=1"), course)
        busy = "" if others is None else f"{100 * others / seconds[label] / (os.cpu_count() or 1):.0f}"
        problem = attempts(course)[1] if completed.returncode == 0 else completed.stderr[-70:]
        print(f"{label:<30} {seconds[label]:>8.1f} {busy:>9}  {problem}")
    print(f"{'ratio':<30} {seconds['train never ends'] / seconds['honest']:>8.2f}")


def budget(work):
    """Print the seconds one submission sleeping past its budget holds up `make autograde`, then and now."""
    print(f"one submission sleeping past its budget; SUBMISSION_CAP={CAP} s, CELL_TIMEOUT=12 s")
    print(f"{'grading':<30} {'seconds':>8} {'x cap':>6} {'honest s':>9} {'beyond x cap':>13}  attempts  problem")
    for label, before in [(f"make autograde at {BEFORE}", True), ("make autograde (today)", False)]:
        where = "before" if before else "today"
        honest, _ = grade(one_submission_course(work / f"{where}-honest" / "course", before, hostile=False))
        seconds, (tried, problem) = grade(one_submission_course(work / where / "course", before, hostile=True))
        print(f"{label:<30} {seconds:>8.1f} {seconds / CAP:>6.2f} {honest:>9.1f} {(seconds - honest) / CAP:>13.2f}"
              f"  {tried:>8}  {problem}")


FIGURES = {"budget": budget, "endless": endless_train}


def main():
    if sandbox.problems():
        sys.exit("this benchmark needs the grading sandbox: " + "; ".join(sandbox.problems()))
    chosen = sys.argv[1:] or list(FIGURES)
    if set(chosen) - set(FIGURES):
        sys.exit(f"usage: bench_budget.py [{' | '.join(FIGURES)}] ...")
    work = Path(tempfile.mkdtemp(prefix="gd-bench-budget-"))
    try:
        for figure in chosen:
            FIGURES[figure](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
