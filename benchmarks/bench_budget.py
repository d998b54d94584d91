"""How long can one hostile submission hold up the batch? Wall time as a multiple of SUBMISSION_CAP.

The submission answers chapter 1 correctly but sleeps 9 s at the top of every answer cell, so it
needs more than its budget; its kernel is killed when the budget runs out. The same course is
graded at commit BEFORE (before one budget per submission: every restarted kernel and the
regrade alone got a fresh cap) and today, side by side, with `make autograde SUBMISSION_CAP=30
CELL_TIMEOUT=12`. Each row prints the seconds that one `make autograde` took, that as a multiple
of the cap (target: at most 1.1, plus nbgrader's start-up), and the attempts the report gives.

Run: `.venv/bin/python benchmarks/bench_budget.py` (root and bubblewrap; about 3 minutes).
"""

import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent / "tests")]

import nbformat  # noqa: E402

from bench_grading import BEFORE, CHAPTER, course_before, run, typed_into  # noqa: E402
from conftest import copy_course, make_command as make  # noqa: E402
from grading import sandbox  # noqa: E402
from submissions import reference_answers  # noqa: E402

CAP = 30
STUDENT = "sleeps_through_its_budget"


def hostile_course(folder, before):
    course = course_before(folder) if before else copy_course(folder, [CHAPTER])
    slow = {cell: "import time\ntime.sleep(9)\n" + source for cell, source in reference_answers(CHAPTER).items()}
    target = course / "submitted" / STUDENT / CHAPTER
    target.mkdir(parents=True)
    nbformat.write(typed_into(course / "course" / CHAPTER / f"{CHAPTER}.ipynb", slow), target / f"{CHAPTER}.ipynb")
    return course


def attempts(course):
    with open(course / "reports" / "submissions.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return row["attempts"], row["problem"][:70]


def main():
    if sandbox.problems():
        sys.exit("this benchmark needs the grading sandbox: " + "; ".join(sandbox.problems()))
    work = Path(tempfile.mkdtemp(prefix="gd-bench-budget-"))
    print(f"one submission sleeping past its budget; SUBMISSION_CAP={CAP} s, CELL_TIMEOUT=12 s")
    print(f"{'grading':<32} {'seconds':>8} {'x cap':>6}  attempts  problem")
    try:
        for label, before in [(f"make autograde at {BEFORE}", True), ("make autograde (today)", False)]:
            course = hostile_course(work / ("before" if before else "today"), before)
            run(make("gradebook.db"), course)
            started = time.perf_counter()
            _, completed, _ = run(make("autograde", f"SUBMISSION_CAP={CAP}", "CELL_TIMEOUT=12"), course)
            seconds = time.perf_counter() - started
            tried, problem = attempts(course) if completed.returncode == 0 else ("-", completed.stderr[-70:])
            print(f"{label:<32} {seconds:>8.1f} {seconds / CAP:>6.2f}  {tried:>8}  {problem}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
