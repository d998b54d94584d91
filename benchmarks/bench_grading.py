"""What does safe grading cost? Seconds per graded notebook: today's pipeline vs an earlier commit's vs plain nbgrader.

A temporary course holds chapter 1 and a class of synthetic students who worked in the release
notebook, in a fixed rotation: one typed the reference answers, one handed it in untouched, one
made chapter 1's classic mistake (MISTAKES in grading/samples.py). Identical fresh copies of that course are
graded, one per method, each with a fresh gradebook made by the Makefile's `gradebook.db`
target (untimed); only the grading command is timed:

    (0) `make autograde` in the course as it was at commit BEFORE (default: the last one before
        the allow-list sandbox, with its tmpfs scratch space, clean environment and per-run
        uid; 5a44f8b is the last one whose hidden tests ran inside the student's kernel),
        exported with `git archive`, the same answers typed into that version's
        release notebook: what grading cost before that change
    (1) `make autograde`: the course's pipeline (preflight, one nbgrader batch with every kernel in
        the bwrap + prlimit sandbox, the kernel collecting evidence and the judge deciding in the
        grader's process, retries, report); needs root and bwrap, else (0) and (1) say why
    (2) `make autograde UNSAFE_NO_SANDBOX=1`: the same pipeline with unconfined kernels
    (3) `nbgrader autograde ch01_one_weight --force` in the course folder: nbgrader alone

Each row prints the total seconds, the seconds per graded notebook, the ratio to (3) and, for (1),
its ratio to (0) (the cost of the change; at most 1.10 is the target), and the
share of the machine's CPUs that *other* processes used meanwhile ("others"; its CPU time minus
the command's own, sandboxed kernels included): above 10 % a warning says the timings are
inflated. The three gradebooks must then hold the same total score for every student; a
MISMATCH line names any student for whom they differ. A pipeline row lists any submission the
pipeline had to grade a second time, with the reason it gave; another sandboxed grading run on
the same machine can cause that, since it kills every process of the sandbox user when it ends.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_grading.py [--students N] [--keep]`).
With the default 40 students the whole run takes about 5 minutes on 2 cores.
"""

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import nbformat  # noqa: E402
import nbgrader  # noqa: E402
from nbgrader.api import MissingEntry  # noqa: E402

from grading import sandbox  # noqa: E402
from grading.run import gradebook  # noqa: E402
from grading.samples import MISTAKES, answered, copy_course, make_command as make, points_of, reference_answers  # noqa: E402

CHAPTER = "ch01_one_weight"
KINDS = ("reference", "untouched", "mistake")  # the rotation of the synthetic class
BEFORE = "2f4ec15"  # the last commit before the allow-list sandbox (issue 9)
COMMAND_CAP = 1800  # seconds any one command may take before the benchmark gives up on it


def class_list(count):
    """Student ids in a fixed rotation of KINDS: reference01, untouched02, mistake03, reference04, ..."""
    width = max(2, len(str(count)))
    return [f"{KINDS[i % len(KINDS)]}{i + 1:0{width}d}" for i in range(count)]


def kind_of(student):
    return student.rstrip("0123456789")


def notebooks_by_kind(release=None):
    """The notebook each kind of student hands in (typed into ``release``, default today's)."""
    answers = reference_answers(CHAPTER)
    kinds = {"reference": answers, "untouched": None, "mistake": MISTAKES[CHAPTER].apply(answers)}
    return {kind: typed_into(release, given) if release else answered(CHAPTER, given) for kind, given in kinds.items()}


def typed_into(release, answers):
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if answers is not None and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[grade_id]
    return nb


def course_before(folder, commit=BEFORE):
    """The course folder as it was at ``commit`` (chapter 1 only), exported from git."""
    source = folder.parent / "before-source"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    folder.mkdir()
    for name in ["Makefile", "nbgrader_config.py"]:
        shutil.copy2(source / name, folder / name)
    for name in ["grading", "tools", f"solutions/{CHAPTER}", f"course/{CHAPTER}"]:
        shutil.copytree(source / name, folder / name)
    return folder


def build_template(folder, students, before=False):
    """A course folder with chapter 1 and one submission per student, no grading state."""
    course = course_before(folder) if before else copy_course(folder, [CHAPTER])
    notebooks = notebooks_by_kind(course / "course" / CHAPTER / f"{CHAPTER}.ipynb" if before else None)
    for student in students:
        target = course / "submitted" / student / CHAPTER
        target.mkdir(parents=True)
        nbformat.write(notebooks[kind_of(student)], target / f"{CHAPTER}.ipynb")
    return course


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (None where /proc/stat is missing)."""
    try:
        with open("/proc/stat") as handle:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU seconds used by this process and the children it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class SandboxedCpu(threading.Thread):
    """Sample the CPU seconds of a command's descendants that run in another PID namespace.

    The sandboxed kernels live in a bwrap PID namespace, and their CPU time is not added to ours
    when they end (os.times() misses it): sampled every ``interval`` seconds instead, which misses
    at most one interval's worth per kernel.
    """

    def __init__(self, root, interval=0.2):
        super().__init__(daemon=True)
        self.root, self.interval, self.stopping, self.seen = root, interval, threading.Event(), {}
        self.namespace = os.readlink("/proc/self/ns/pid") if os.path.exists("/proc/self/ns/pid") else None

    def run(self):
        while self.namespace and not self.stopping.wait(self.interval):
            self.sample()

    def stop(self):
        self.stopping.set()
        self.join()
        return sum(self.seen.values()) / os.sysconf("SC_CLK_TCK")

    def sample(self):
        processes = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone already
            # after the command name: state, ppid, ..., utime (12th), stime (13th), ..., starttime (20th)
            processes[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), fields[19])
        children = {}
        for pid, (ppid, _, _) in processes.items():
            children.setdefault(ppid, []).append(pid)
        todo = list(children.get(self.root, []))
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                elsewhere = os.readlink(f"/proc/{pid}/ns/pid") != self.namespace
            except OSError:
                continue
            if elsewhere:
                key = (pid, processes[pid][2])
                self.seen[key] = max(self.seen.get(key, 0), processes[pid][1])


def run(command, course):
    """Run a command in the course folder; return (seconds, CompletedProcess, CPU seconds used by other work).

    The last figure is the machine's busy time during the run minus the command's own: well above
    zero, other processes shared the cores and the timing is inflated.
    """
    # GD_GRADING_RUN: row (3) runs nbgrader's autograde directly, which the course otherwise refuses
    env = dict(os.environ, MPLBACKEND="Agg", GD_GRADING_RUN="1")
    busy, own = machine_busy_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler = SandboxedCpu(process.pid)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=COMMAND_CAP)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sandboxed = sampler.stop()
    others = None if busy is None else (machine_busy_seconds() - busy) - (own_cpu_seconds() - own) - sandboxed
    return seconds, subprocess.CompletedProcess(command, process.returncode, stdout, stderr), others


def fresh_courses(template, folders):
    """Identical copies of the template, each with a fresh gradebook made by `make gradebook.db` (untimed).

    Returns the copies and the seconds each gradebook took.
    """
    courses, seconds = [], []
    for folder in folders:
        course = Path(shutil.copytree(template, folder, symlinks=True))
        took, completed, _ = run(make("gradebook.db"), course)
        if completed.returncode != 0 or not (course / "gradebook.db").exists():
            sys.exit(f"`make gradebook.db` failed in {course}:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")
        courses.append(course)
        seconds.append(took)
    return courses, seconds


def scores(course, students):
    """Map each student to the total score the gradebook holds (None: no submission recorded)."""
    result = {}
    with gradebook(course) as book:
        for student in students:
            try:
                result[student] = book.find_submission(CHAPTER, student).score
            except MissingEntry:
                result[student] = None
    return result


def pipeline_note(course, output):
    """What the pipeline's report says beyond the scores: retries (with the reasons it printed) and problems."""
    path = course / "reports" / "submissions.csv"
    if not path.exists():
        return "no reports/submissions.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    retried = sum(int(row.get("attempts") or 0) > 1 for row in rows)
    problems = sum(bool(row.get("problem")) for row in rows)
    flagged = sum(bool(row.get("flags")) for row in rows)
    note = f"report: {len(rows)} rows, {retried} retried, {problems} with a problem, {flagged} flagged"
    reasons = [line.strip() for line in output.splitlines() if "grading it again" in line]
    return note + "".join(f"\n{'':<47} {'':>8} {'':>11} {'':>7} {'':>7}  retry: {reason}" for reason in reasons)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="size of the synthetic class (default 40)")
    parser.add_argument("--keep", action="store_true", help="keep the graded course copies (their path is printed)")
    args = parser.parse_args()
    if args.students < 1:
        parser.error("--students must be at least 1")
    started = time.perf_counter()
    students = class_list(args.students)
    counts = {kind: sum(kind_of(s) == kind for s in students) for kind in KINDS}
    methods = [
        (f"(0) make autograde at {BEFORE} (before)", make("autograde"), True),
        ("(1) make autograde (sandboxed, judged)", make("autograde"), True),
        ("(2) make autograde UNSAFE_NO_SANDBOX=1", make("autograde", "UNSAFE_NO_SANDBOX=1"), True),
        (f"(3) nbgrader autograde {CHAPTER} --force", ["nbgrader", "autograde", CHAPTER, "--force"], False),
    ]
    unavailable = sandbox.problems()
    rows, graded = [], {}
    scratch = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        template = build_template(Path(scratch) / "template", students)
        before = build_template(Path(scratch) / "template-before", students, before=True)
        chosen = [(index, name) for index, (name, _, _) in enumerate(methods) if not (index < 2 and unavailable)]
        copies, gradebook_seconds = fresh_courses(template, [Path(scratch) / f"method{i}" for i, _ in chosen if i])
        if chosen[0][0] == 0:
            old, old_seconds = fresh_courses(before, [Path(scratch) / "method0"])
            copies, gradebook_seconds = old + copies, old_seconds + gradebook_seconds
        courses = {name: course for (_, name), course in zip(chosen, copies)}
        for index, (name, command, is_pipeline) in enumerate(methods):
            if index < 2 and unavailable:
                rows.append((name, None, None, "skipped: " + "; ".join(unavailable)))
                continue
            course = courses[name]
            seconds, completed, others = run(command, course)
            output = completed.stdout + completed.stderr
            note = pipeline_note(course, output) if is_pipeline else "nbgrader alone, one process"
            if completed.returncode != 0:
                note = f"FAILED (exit {completed.returncode}): " + " | ".join(output.strip().splitlines()[-3:])
            rows.append((name, seconds, others, note))
            graded[name] = scores(course, students)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    plain = rows[-1][1]
    cores = os.cpu_count() or 1
    print(f"Grading {CHAPTER}: {len(students)} submissions "
          f"({', '.join(f'{counts[k]} {k}' for k in KINDS)}), one fresh course copy and gradebook per method")
    print(f"nbgrader {nbgrader.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{'root' if os.geteuid() == 0 else 'not root'}; each fresh gradebook (untimed) took "
          f"{min(gradebook_seconds):.1f}-{max(gradebook_seconds):.1f} s")
    print(f"{'method':<47} {'total s':>8} {'s/notebook':>11} {'/ (3)':>7} {'others':>7}  note")
    for name, seconds, others, note in rows:
        if seconds is None:
            print(f"{name:<47} {'-':>8} {'-':>11} {'-':>7} {'-':>7}  {note}")
            continue
        ratio = f"{seconds / plain:6.2f}x" if plain else f"{'-':>7}"
        if name.startswith("(1)") and rows[0][1]:
            note = f"{seconds / rows[0][1]:.2f}x (0), the cost of what changed since (0); " + note
        # the share of the machine that other processes used while this method ran
        share = f"{max(others, 0) / (seconds * cores):7.0%}" if others is not None else f"{'-':>7}"
        print(f"{name:<47} {seconds:8.1f} {seconds / len(students):11.2f} {ratio} {share}  {note}")
    shares = [others / (seconds * cores) for _, seconds, others, _ in rows if seconds and others is not None]
    if shares and max(shares) > 0.1:
        print(f"WARNING: other processes used up to {max(shares):.0%} of the {cores} CPUs during a timed run: "
              "those timings are inflated; run again on a quiet machine")

    compare_scores(graded, students)
    if args.keep:
        print(f"course copies kept in {scratch}")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


def compare_scores(graded, students):
    """Print the scores per kind of student, and a MISMATCH line for every student the methods disagree on."""
    names = list(graded)
    full = sum(points_of(CHAPTER).values())
    summary = []
    for kind in KINDS:
        seen = sorted({graded[name][s] for name in names for s in students if kind_of(s) == kind},
                      key=lambda v: (v is None, v))
        if seen:
            summary.append(f"{kind} {'/'.join('none' if v is None else f'{v:g}' for v in seen)}")
    print(f"scores (of {full:g} autograded points): " + ", ".join(summary))
    mismatches = [s for s in students if len({graded[name][s] for name in names}) > 1]
    for student in mismatches:
        print(f"MISMATCH {student}: " + ", ".join(f"{name.split()[0]} {graded[name][student]}" for name in names))
    if not mismatches:
        print(f"same total score for every student from all {len(names)} methods "
              f"({', '.join(name.split()[0] for name in names)})")


if __name__ == "__main__":
    main()
