"""Autograde every submission so that no single submission can stop, stall or corrupt the batch.

For each assignment: preflight this machine's submissions (its shard, ``SHARD=i/K``); deal them
out to the workers, each of which grades its share in one nbgrader process (the fast path), in
which a dying kernel costs only the cells that kill it (ResilientExecute); grade again, alone,
any student that the batch still left ungraded; record what could not be graded, with its
reason, as zero points in the gradebook.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grading import parallel, preflight, sandbox, settings as defaults

# the lines of nbgrader's output that say which student it works on now (at --log-level=INFO)
# nbgrader's own lines only ("[AutogradeApp | INFO] ..." from their first character): a kernel's line
# ("  [kernel] ...") that prints "student with ID 'bo'" must not name the student of the lines after it
COLOUR = r"(?:(?:\x1b|\\x1b)\[[0-9;]*m)?"  # raw, or as report.visible shows it
NBGRADER_LINE = COLOUR + r"\[\w+ \| \w+\]" + COLOUR + " "
STUDENT_LINES = [re.compile(NBGRADER_LINE + r"Creating/updating student with ID '([^'/]+)'"),
                 re.compile(NBGRADER_LINE + r"(?:Sanitizing|Autograding) \S*?/(?:submitted|autograded)/([^/]+)/")]


@dataclass
class Settings:
    cell_timeout: int = defaults.CELL_TIMEOUT
    limits: sandbox.Limits = sandbox.Limits()
    use_sandbox: bool = True
    workers: int = parallel.default_workers()
    shard: parallel.Shard = parallel.Shard()


@dataclass
class Outcome:
    """How one submission was graded."""
    student: str
    assignment: str
    preflight: preflight.Preflight
    graded: bool = False
    attempts: int = 0
    problem: str = ""
    notes: list = field(default_factory=list)


@dataclass
class Worker:
    """One grading worker: the nbgrader options and environment of its own sandbox slot."""
    number: int
    options: list
    env: dict
    runtime: Path = None


def autograde(course, assignments, settings=None, log=print):
    """Grade every submission of the given assignments in this shard; return a list of Outcomes."""
    course, settings = Path(course).resolve(), settings or Settings()
    log_run(course, assignments, settings)
    workers = start_workers(course, settings)
    outcomes = []
    try:
        for assignment in assignments:
            checked = preflight.check_all(course, assignment, settings.shard.holds)
            for result in checked:
                if result.status != "ok":
                    log(f"preflight {result.student}/{assignment}: {result.status}: {'; '.join(result.notes)}")
            outcomes += grade_assignment(course, assignment, checked, workers, settings, log)
    finally:  # the kernels' socket folders and notes go, whatever happened
        stop_workers(workers)
    return outcomes


_log_lock = threading.Lock()


def log_run(course, assignments, settings):
    """Start this run's part of reports/nbgrader.log (appended to, never truncated) with one header line."""
    shard = f", shard {settings.shard.index}/{settings.shard.count}" if settings.shard.count > 1 else ""
    append_log(course, f"==== {time.strftime('%Y-%m-%d %H:%M:%S %z')} grading run: {' '.join(assignments)} "
                       f"({settings.workers} worker{'s' * (settings.workers != 1)}{shard}, "
                       f"cell timeout {settings.cell_timeout} s)\n")


def append_log(course, text):
    reports = Path(course) / "reports"
    reports.mkdir(exist_ok=True)
    with _log_lock, open(reports / "nbgrader.log", "a") as log:
        log.write(text)


def start_workers(course, settings):
    workers = []
    try:
        for number in range(max(1, settings.workers)):
            workers.append(Worker(number, *nbgrader_options(course, settings)))
    except BaseException:
        stop_workers(workers)
        raise
    return workers


def stop_workers(workers):
    for worker in workers:
        if worker.runtime:
            sandbox.kill_leftovers(worker.env)
            shutil.rmtree(worker.runtime, ignore_errors=True)


def nbgrader_options(course, settings):
    options = [f"--Execute.timeout={settings.cell_timeout}", "--Execute.interrupt_on_timeout=True"]
    # the kernel never imports from the submission's folder (a numpy.py written there at run time)
    env = dict(os.environ, PYTHONSAFEPATH="1", **{defaults.GRADING_RUN_VARIABLE: "1"},
               PYTHONPATH=os.pathsep.join(filter(None, [str(course), os.environ.get("PYTHONPATH")])))
    runtime = None
    if settings.use_sandbox:
        sandbox_options, sandbox_env, runtime = sandbox.prepare(settings.limits)
        options += sandbox_options
        env.update(sandbox_env)
    return options, env, runtime


def grade_assignment(course, assignment, checked, workers, settings, log):
    """Grade one assignment's checked submissions, one share per worker, all at once."""
    outcomes = [Outcome(r.student, assignment, r, attempts=1) for r in checked if r.status != "set aside"]
    set_aside = [Outcome(r.student, assignment, r, problem=r.notes[-1]) for r in checked if r.status == "set aside"]
    for outcome in set_aside:  # scores of an earlier submission must not stand for this one
        record_zero(course, assignment, outcome.student, f"set aside: {outcome.problem}")
    if not outcomes:
        return set_aside
    present = sorted(folder.parent.name for folder in (course / "submitted").glob(f"*/{assignment}"))
    dealt = parallel.shares(outcomes, len(workers))
    with parallel.Progress(course, assignment, outcomes) as progress, ThreadPoolExecutor(len(dealt)) as pool:
        jobs = [pool.submit(grade_share, course, share, present, worker, settings, log, progress)
                for share, worker in zip(dealt, workers)]
        for job in jobs:
            job.result()
    return outcomes + set_aside


def grade_share(course, share, present, worker, settings, log, progress):
    """One worker's part of an assignment: one batch, then each casualty alone, once."""
    assignment, env = share[0].assignment, worker.env
    started = time.time()
    batch = nbgrader(course, ["autograde", assignment, "--force", *only(share, present)] + worker.options,
                     worker, settings, students=len(share), progress=progress)
    casualties = [o for o in share if not fully_graded(course, assignment, o.student, started)]
    for outcome in share:
        if outcome not in casualties:
            progress.finish(outcome.student)
            if sandbox.kernel_died(env, assignment, outcome.student):
                outcome.notes.append(sandbox.death_reason(env, assignment, outcome.student)
                                     + "; the cells after the one that killed it ran in a fresh kernel")
    if batch.returncode != 0 and not casualties:
        log(f"nbgrader reported problems for {assignment}:\n{tail(batch)}")
    for outcome in casualties:
        if sandbox.budget_spent(env, assignment, outcome.student):
            give_up(course, outcome, sandbox.death_reason(env, assignment, outcome.student)
                    or "killed: the submission used up its wall-clock budget", log)
        else:
            regrade_alone(course, outcome, batch, worker, settings, log, progress)
        progress.finish(outcome.student)
    for outcome in share:
        outcome.graded = not outcome.problem
    if settings.use_sandbox:
        sandbox.kill_leftovers(env)


def only(share, present):
    """nbgrader options that select exactly the students of ``share`` among those ``present``.

    (Preflight sets aside student ids that nbgrader could not name on its command line.)
    """
    if len(share) == 1:
        return [f"--student={share[0].student}"]
    mine = {outcome.student for outcome in share}
    others = [student for student in present if student not in mine]
    return [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []


def regrade_alone(course, outcome, batch, worker, settings, log, progress=None):
    """Grade one submission on its own; if it still fails, record 0 points and the reason."""
    assignment, student, env = outcome.assignment, outcome.student, worker.env
    # a batch grades many students: only the sandbox's notes on this one say what happened to it
    reason = sandbox.death_reason(env, assignment, student) or "not graded by its batch (see reports/nbgrader.log)"
    log(f"{student}/{assignment}: {reason}; grading it again on its own")
    outcome.notes.append(f"attempt 1: {reason}")
    sandbox.clear_death_notes(env, assignment, student)
    started = time.time()
    single = nbgrader(course, ["autograde", assignment, f"--student={student}", "--force"] + worker.options,
                      worker, settings, progress=progress)
    outcome.attempts = 2
    if fully_graded(course, assignment, student, started):
        return
    give_up(course, outcome, sandbox.death_reason(env, assignment, student) or f"nbgrader failed: {last_error(single)}",
            log)


def give_up(course, outcome, problem, log):
    """Record 0 points, with the reason, for a submission this run could not grade."""
    outcome.problem = problem
    record_zero(course, outcome.assignment, outcome.student, problem)
    log(f"{outcome.student}/{outcome.assignment}: {problem}; recorded as 0 points for the ungraded tests")


def nbgrader(course, arguments, worker, settings, students=1, progress=None):
    """Run one nbgrader command in the course; its output is appended, whole, to reports/nbgrader.log,
    every line naming its worker and, once nbgrader has said which one it grades, the student
    (``attributed``), with control characters shown as escapes.

    The output goes to a file of the worker's own, not a pipe: a process a submission left
    behind could hold a pipe open and stall the grader. A stuck nbgrader is stopped after a
    generous cap.
    """
    # a backstop only (the sandbox enforces each submission's budget): every student of the batch
    # may use a whole budget
    cap = max(600, 4 * settings.limits.wall_seconds) + students * settings.limits.wall_seconds
    reports = Path(course) / "reports"
    reports.mkdir(exist_ok=True)
    handle, own_log = tempfile.mkstemp(prefix=".nbgrader-", suffix=".out", dir=reports)
    own_log = Path(own_log)
    if progress:
        progress.watch(worker.number, own_log)
    with open(handle, "w") as out:
        try:
            returncode = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *arguments, "--log-level=INFO"],
                                        cwd=course, env=worker.env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, timeout=cap).returncode
        except subprocess.TimeoutExpired:
            returncode = -9
            out.write(f"stopped after {cap} s\n")
    if progress:
        progress.unwatch(worker.number)
    output = report_visible(own_log.read_text(errors="replace"))  # it may quote a submission (a cell's grade id)
    own_log.unlink()
    append_log(course, attributed(f"$ nbgrader {' '.join(arguments)}   (worker {worker.number})\n{output}",
                                  worker.number))
    return subprocess.CompletedProcess(arguments, returncode, output, "")


def attributed(output, worker):
    """``output`` with each line prefixed by ``[worker N]`` and, from the line where nbgrader names the
    student it grades on, ``[student]``; control characters shown as escapes (report.visible)."""
    lines, student = [], ""
    # lines end at a newline only: a \u2028 (or \x1e, \x85) a kernel printed starts no line of its own
    for line in output.removesuffix("\n").split("\n") if output else []:
        for pattern in STUDENT_LINES:
            found = pattern.match(line)
            if found:
                student = found.group(1)
                break
        lines.append(f"[worker {worker}]{f' [{student}]' if student else ''} {report_visible(line)}\n")
    return "".join(lines)


def fully_graded(course, assignment, student, since):
    """True when nbgrader wrote this submission's graded notebook after ``since`` (a time.time())
    and every autograded test cell has a score: scores of an earlier run never count."""
    if not parallel.graded_since(course, assignment, student, since):
        return False
    with gradebook(course) as book:
        try:
            submission = book.find_submission(assignment, student)
        except MissingEntry:
            return False
        return all(grade.auto_score is not None for notebook in submission.notebooks
                   for grade in notebook.grades if grade.cell.cell_type == "code")


def record_zero(course, assignment, student, reason):
    """Give 0 points to every autograded test of a submission this run could not grade, and store
    the reason for each (gd_lost_points, code not_graded); its feedback page, from an earlier run,
    is removed."""
    from grading.report import store_reasons  # (the report reads this module's gradebook)

    shutil.rmtree(Path(course) / "feedback" / student / assignment, ignore_errors=True)
    with gradebook(course) as book:
        try:
            submission = book.find_submission(assignment, student)
        except MissingEntry:
            return
        zeroed = []
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code":
                    grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
                    zeroed.append({"exercise": grade.cell.name, "reason_code": "not_graded", "reason": reason})
        book.db.commit()
        store_reasons(book, assignment, student, zeroed)


def report_visible(text):
    """grading.report.visible (imported here late: the report reads this module's gradebook)."""
    from grading.report import visible

    return visible(text)


def gradebook(course):
    """Open the gradebook nbgrader_config.py names (use as a context manager)."""
    return Gradebook(defaults.db_url(str(Path(course).resolve())), course_id=defaults.COURSE_ID)


def last_error(completed):
    """The most telling error line nbgrader printed (its final line only says 'see above')."""
    lines = [line.strip() for line in (completed.stdout or "").splitlines()
             if re.search(r"Error|Exception|died|Timeout", line) and "Please see" not in line]
    return lines[-1][:300] if lines else f"exit status {completed.returncode}"


def tail(completed, count=20):
    return "\n".join(((completed.stdout or "") + (completed.stderr or "")).splitlines()[-count:])
