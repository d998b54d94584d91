"""How long can one hostile submission hold up the batch? Wall time as a multiple of SUBMISSION_CAP.

The submission answers chapter 1 correctly but sleeps 9 s at the top of every answer cell, so it
needs more than its budget; its kernel is killed when the budget runs out. The same course is
graded at commit BEFORE (before one budget per submission: every restarted kernel and the
regrade alone got a fresh cap) and today, side by side, with `make autograde SUBMISSION_CAP=30
CELL_TIMEOUT=12`. Each row prints the seconds that one `make autograde` took, that as a multiple
of the cap, the same for the time beyond what one honest submission takes to grade in the same
course (nbgrader's start-up, the report: what the cap does not govern; target at most 1.1), and
the attempts the report gives.

Run: `.venv/bin/python benchmarks/bench_budget.py` (root and bubblewrap; about 3 minutes).
"""

import csv
import shutil
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import nbformat  # noqa: E402

from bench_grading import BEFORE, CHAPTER, course_before, run, typed_into  # noqa: E402
from grading import sandbox  # noqa: E402
from grading.samples import copy_course, make_command as make, reference_answers  # noqa: E402

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


def main():
    if sandbox.problems():
        sys.exit("this benchmark needs the grading sandbox: " + "; ".join(sandbox.problems()))
    work = Path(tempfile.mkdtemp(prefix="gd-bench-budget-"))
    print(f"one submission sleeping past its budget; SUBMISSION_CAP={CAP} s, CELL_TIMEOUT=12 s")
    print(f"{'grading':<30} {'seconds':>8} {'x cap':>6} {'honest s':>9} {'beyond x cap':>13}  attempts  problem")
    try:
        for label, before in [(f"make autograde at {BEFORE}", True), ("make autograde (today)", False)]:
            where = "before" if before else "today"
            honest, _ = grade(one_submission_course(work / f"{where}-honest" / "course", before, hostile=False))
            seconds, (tried, problem) = grade(one_submission_course(work / where / "course", before, hostile=True))
            print(f"{label:<30} {seconds:>8.1f} {seconds / CAP:>6.2f} {honest:>9.1f} {(seconds - honest) / CAP:>13.2f}"
                  f"  {tried:>8}  {problem}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
