"""Does parallel grading pay? Seconds per graded notebook with 1, 2 and N sandboxed workers, next to plain nbgrader.

The same synthetic class of chapter-1 submissions as bench_grading.py (reference answers,
untouched, the classic mistake, in rotation) is graded in identical fresh course copies, one per
row, each with a fresh gradebook (untimed); only the grading command is timed:

    make autograde WORKERS=1        the pipeline, one sandboxed worker
    make autograde WORKERS=2        two workers, each with its own sandbox uid
    make autograde WORKERS=N        N = the CPUs this process may use (the default), and 2N
    nbgrader autograde (1 process)  nbgrader alone, unsandboxed, no judge
    nbgrader autograde (2 processes on disjoint halves of the class, at once)

Each row prints total seconds, seconds per notebook, the speed-up over its own one-process row,
and the share of the CPUs other processes used meanwhile (above 10 %, the figures are inflated).
Every row's gradebook must hold the same score per student as the WORKERS=1 row; a MISMATCH
line names any student that differs.

Run: `make bench`, or `.venv/bin/python benchmarks/bench_workers.py [--students N]` (root and
bubblewrap for the sandboxed rows). The default 24 students take about 6 minutes on 2 cores.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_grading as shared  # noqa: E402  (the synthetic class, timing and scores)
from grading import parallel, sandbox  # noqa: E402


def pipeline(workers):
    return shared.make("autograde", f"A={shared.CHAPTER}", f"WORKERS={workers}")


def plain_nbgrader(*options):
    return ["nbgrader", "autograde", shared.CHAPTER, "--force", *options]


def plain_halves(students):
    """Two plain nbgrader commands, each excluding the other half of the class."""
    halves = [students[0::2], students[1::2]]
    return [plain_nbgrader(f"--CourseDirectory.student_id_exclude={','.join(other)}") for other in halves[::-1]]


def run_together(commands, course):
    """Run commands at once in one course; return (seconds, returncodes, CPU share of other processes)."""
    busy, own = shared.machine_busy_seconds(), shared.own_cpu_seconds()
    env = dict(os.environ, MPLBACKEND="Agg", GD_GRADING_RUN="1")
    started = time.perf_counter()
    processes = [subprocess.Popen(c, cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for c in commands]
    samplers = [shared.SandboxedCpu(p.pid) for p in processes]  # the kernels' CPU is the command's own
    for sampler in samplers:
        sampler.start()
    codes = [p.wait(timeout=shared.COMMAND_CAP) for p in processes]
    seconds = time.perf_counter() - started
    sandboxed = sum(sampler.stop() for sampler in samplers)
    others = None if busy is None else \
        (shared.machine_busy_seconds() - busy) - (shared.own_cpu_seconds() - own) - sandboxed
    return seconds, codes, others


def rows_to_run(students, cores):
    rows = [(f"make autograde WORKERS={n}", [pipeline(n)], "sandbox") for n in sorted({1, 2, cores, 2 * cores})]
    rows += [("nbgrader autograde, 1 process", [plain_nbgrader()], "plain"),
             ("nbgrader autograde, 2 processes", plain_halves(students), "plain")]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24, help="size of the synthetic class (default 24)")
    args = parser.parse_args()
    if args.students < 2:
        parser.error("--students must be at least 2")
    started = time.perf_counter()
    students, cores = shared.class_list(args.students), parallel.usable_cores()
    unavailable = sandbox.problems()
    rows = [row for row in rows_to_run(students, cores) if not (row[2] == "sandbox" and unavailable)]
    results, graded = [], {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        template = shared.build_template(scratch / "template", students)
        courses, _ = shared.fresh_courses(template, [scratch / f"row{i}" for i in range(len(rows))])
        for (name, commands, kind), course in zip(rows, courses):
            seconds, codes, others = run_together(commands, course)
            results.append((name, kind, seconds, others, "" if not any(codes) else f"FAILED: exit {codes}"))
            graded[name] = shared.scores(course, students)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_table(results, len(students), cores, unavailable)
    mismatches(graded, students)
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


def print_table(results, count, cores, unavailable):
    print(f"Grading {shared.CHAPTER}: {count} submissions per row, {cores} CPUs usable, "
          f"one fresh course copy and gradebook per row")
    if unavailable:
        print("sandboxed rows skipped: " + "; ".join(unavailable))
    print(f"{'row':<36} {'total s':>8} {'s/notebook':>11} {'speed-up':>9} {'others':>7}  note")
    single = {}  # each kind's first row: 1 worker, 1 process
    for _, kind, seconds, _, _ in results:
        single.setdefault(kind, seconds)
    for name, kind, seconds, others, note in results:
        share = f"{max(others, 0) / (seconds * cores):7.0%}" if others is not None else f"{'-':>7}"
        print(f"{name:<36} {seconds:8.1f} {seconds / count:11.2f} {single[kind] / seconds:8.2f}x {share}  {note}")
        if others is not None and others / (seconds * cores) > 0.1:
            print(f"{'':<36} WARNING: other processes used the CPUs: this row's timing is inflated")


def mismatches(graded, students):
    baseline = next(iter(graded))
    differing = [(name, s) for name in graded for s in students if graded[name][s] != graded[baseline][s]]
    for name, student in differing:
        print(f"MISMATCH {student}: {name} gave {graded[name][student]}, {baseline} gave {graded[baseline][student]}")
    if not differing:
        print(f"scores: every row gave every student the same score as '{baseline}'")


if __name__ == "__main__":
    main()
