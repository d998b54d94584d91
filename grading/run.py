"""Autograde every submission so that no single submission can stop, stall or corrupt the batch.

For each assignment: preflight every submission; grade them all in one nbgrader process
(the fast path), in which a dying kernel costs only the cells that kill it (ResilientExecute);
grade again, alone, any student that the batch still left ungraded; record what could not be
graded, with its reason, as zero points in the gradebook.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grading import preflight, sandbox, settings as defaults


@dataclass
class Settings:
    cell_timeout: int = defaults.CELL_TIMEOUT
    limits: sandbox.Limits = sandbox.Limits()
    use_sandbox: bool = True


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


def autograde(course, assignments, settings=Settings(), log=print):
    """Grade every submission of the given assignments; return a list of Outcomes."""
    course = Path(course).resolve()
    options, env, runtime = nbgrader_options(course, settings)
    outcomes = []
    try:
        for assignment in assignments:
            checked = preflight.check_all(course, assignment)
            for result in checked:
                if result.status != "ok":
                    log(f"preflight {result.student}/{assignment}: {result.status}: {'; '.join(result.notes)}")
            outcomes += grade_assignment(course, assignment, checked, options, env, settings, log)
    finally:  # the kernels' socket folders and notes go, whatever happened
        if runtime:
            sandbox.kill_leftovers(env)
            shutil.rmtree(runtime, ignore_errors=True)
    return outcomes


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


def grade_assignment(course, assignment, checked, options, env, settings, log):
    """Grade one assignment's checked submissions: one batch, then each casualty alone, once."""
    outcomes = [Outcome(r.student, assignment, r, attempts=1) for r in checked if r.status != "set aside"]
    set_aside = [Outcome(r.student, assignment, r, problem=r.notes[-1]) for r in checked if r.status == "set aside"]
    for outcome in set_aside:  # scores of an earlier submission must not stand for this one
        record_zero(course, assignment, outcome.student, f"set aside: {outcome.problem}")
    if not outcomes:
        return set_aside
    started = time.time()
    batch = nbgrader(course, ["autograde", assignment, "--force"] + options, env, settings)
    casualties = [o for o in outcomes if not fully_graded(course, assignment, o.student, started)]
    for outcome in outcomes:
        if outcome not in casualties and sandbox.kernel_died(env, assignment, outcome.student):
            outcome.notes.append(sandbox.death_reason(env, assignment, outcome.student)
                                 + "; the cells after the one that killed it ran in a fresh kernel")
    if batch.returncode != 0 and not casualties:
        log(f"nbgrader reported problems for {assignment}:\n{tail(batch)}")
    for outcome in casualties:
        if sandbox.budget_spent(env, assignment, outcome.student):
            give_up(course, outcome, sandbox.death_reason(env, assignment, outcome.student)
                    or "killed: the submission used up its wall-clock budget", log)
        else:
            regrade_alone(course, outcome, batch, options, env, settings, log)
    for outcome in outcomes:
        outcome.graded = not outcome.problem
    if settings.use_sandbox:
        sandbox.kill_leftovers(env)
    return outcomes + set_aside


def regrade_alone(course, outcome, batch, options, env, settings, log):
    """Grade one submission on its own; if it still fails, record 0 points and the reason."""
    assignment, student = outcome.assignment, outcome.student
    reason = sandbox.death_reason(env, assignment, student) or f"not graded: {last_error(batch)}"
    log(f"{student}/{assignment}: {reason}; grading it again on its own")
    outcome.notes.append(f"attempt 1: {reason}")
    sandbox.clear_death_notes(env, assignment, student)
    started = time.time()
    single = nbgrader(course, ["autograde", assignment, f"--student={student}", "--force"] + options, env, settings)
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


def nbgrader(course, arguments, env, settings):
    """Run one nbgrader command in the course, its output appended to reports/nbgrader.log.

    The output goes to a file, not a pipe: a process a submission left behind could hold a
    pipe open and stall the grader. A stuck nbgrader is stopped after a generous cap.
    """
    cap = max(600, 4 * settings.limits.wall_seconds)  # a backstop only: the sandbox enforces the budget
    log_path = Path(course) / "reports" / "nbgrader.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "a") as log:
        start = log.tell()
        log.write(f"$ nbgrader {' '.join(arguments)}\n")
        log.flush()
        try:
            returncode = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *arguments, "--log-level=WARN"],
                                        cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, timeout=cap).returncode
        except subprocess.TimeoutExpired:
            returncode = -9
            log.write(f"stopped after {cap} s\n")
    with open(log_path) as log:
        log.seek(start)
        return subprocess.CompletedProcess(arguments, returncode, log.read(), "")


def fully_graded(course, assignment, student, since):
    """True when nbgrader wrote this submission's graded notebook after ``since`` (a time.time())
    and every autograded test cell has a score: scores of an earlier run never count."""
    graded = Path(course) / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not graded.is_file() or graded.stat().st_mtime < since - 1:
        return False
    with gradebook(course) as book:
        try:
            submission = book.find_submission(assignment, student)
        except MissingEntry:
            return False
        return all(grade.auto_score is not None for notebook in submission.notebooks
                   for grade in notebook.grades if grade.cell.cell_type == "code")


def record_zero(course, assignment, student, reason):
    """Give 0 points to every autograded test of a submission this run could not grade, with the
    reason as a comment; its feedback page, from an earlier run, is removed."""
    shutil.rmtree(Path(course) / "feedback" / student / assignment, ignore_errors=True)
    with gradebook(course) as book:
        try:
            submission = book.find_submission(assignment, student)
        except MissingEntry:
            return
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code":
                    grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
            for comment in notebook.comments:
                if comment.cell.name in {g.cell.name for g in notebook.grades if g.cell.cell_type == "code"}:
                    comment.auto_comment = f"Not graded: {reason}."
        book.db.commit()


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
