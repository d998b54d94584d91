"""nbgrader preprocessors the course adds to autograding."""

import copy
import os
import re
import secrets
import time
from pathlib import Path

import nbformat
import numpy as np
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Integer

from grading import hidden, notes, settings
from grading.hidden import collector, judge
from grading.sandbox import PrivateIpcKernelManager, budget_spent, death_reason

NOTICE = "\n... [output truncated by the grader: {dropped:,} more characters]\n"
RICH_NOTICE = ("[an output of {size:,} characters ({kinds}) was left out by the grader: "
               "outputs other than plain text are kept only whole, up to {budget:,} characters]")


class TruncateLongOutputs(NbGraderPreprocessor):
    """Bound every output: plain text is cut, anything richer is kept whole or dropped whole.

    nbgrader's LimitOutput caps the number of lines, not their length: one giant line
    would otherwise make a notebook (and its feedback page) tens of megabytes. Markup
    (HTML, JavaScript, SVG) cut in the middle would break the page it is shown in, so an
    output with rich data is never cut: past ``max_rich_chars`` it is replaced by a notice.
    """

    max_chars = Integer(20_000, help="longest plain text kept from one output").tag(config=True)
    max_rich_chars = Integer(2_000_000, help="largest rich output (HTML, images, ...) kept whole").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if "outputs" in cell:
            cell.outputs = [self._bounded(output) for output in cell.outputs]
        return cell, resources

    def _bounded(self, output):
        if "text" in output:
            output["text"] = self._cut(output["text"])
        if "traceback" in output:
            output["traceback"] = [self._cut(line) for line in output["traceback"]]
        data = output.get("data", {})
        rich = {mime: value for mime, value in data.items() if mime != "text/plain"}
        size = sum(len(_joined(value)) for value in rich.values())
        if size > self.max_rich_chars:
            notice = RICH_NOTICE.format(size=size, kinds=", ".join(sorted(rich)), budget=self.max_rich_chars)
            output["data"] = nbformat.from_dict({"text/plain": notice})
        elif "text/plain" in data:
            data["text/plain"] = self._cut(data["text/plain"])
        return output

    def _cut(self, text):
        text = _joined(text)
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + NOTICE.format(dropped=len(text) - self.max_chars)


def _joined(value):
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else str(value)


class ResilientExecute(Execute):
    """nbgrader's Execute, surviving a kernel that dies.

    When a cell kills the kernel (``os._exit``, a crash, a resource limit), that cell gets a
    ``KernelDied`` error, a fresh kernel replays the cells before it, and execution goes on,
    so tests that do not depend on the fatal code still earn their points. After
    ``max_deaths`` deaths, or past the submission's wall-clock cap, the notebook fails as
    before and the grading driver takes over.
    """

    max_deaths = Integer(5, help="kernel deaths survived per notebook").tag(config=True)

    def __init__(self, *args, **kwargs):
        if os.environ.get("GD_SANDBOX_UID"):  # sandboxed: every kernel gets its own socket folder
            kwargs["kernel_manager_class"] = PrivateIpcKernelManager
        super().__init__(*args, **kwargs)
        self.timeout_func = self.timeout_of

    def timeout_of(self, cell):
        """Seconds ``cell`` may run: the instructor's locked, ungraded cells get longer (settings.py)."""
        meta = cell.metadata.get("nbgrader", {})
        instructors = meta.get("locked") and not meta.get("grade") and not meta.get("solution")
        return max(self.timeout, settings.INSTRUCTOR_CELL_TIMEOUT) if instructors else self.timeout

    def preprocess(self, nb, resources=None, km=None):
        self._fatal, self._deaths, self._started = set(), 0, time.monotonic()
        self._interrupted_at = None
        self._notes = {}  # cell index -> (reason code, reason): what only the grader knows (grading/notes.py)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        stubborn = False
        try:
            done = super().preprocess_cell(cell, resources, index)
            if self._interrupted_at is not None:  # this grader interrupted it at its timeout
                self._notes[index] = ("timeout", f"timeout: the cell ran past {self.timeout_of(cell)} s")
            return done
        except (DeadKernelError, CellTimeoutError) as error:
            if isinstance(error, CellTimeoutError):  # interrupted at its timeout, the cell went on running
                if self._interrupted_at is None:
                    raise
                stubborn = True
                run_sync(self.km.shutdown_kernel)(now=True, restart=True)
            # a kernel stopped at a timeout is no crash: the budget, not max_deaths, bounds how often
            self._survive_death(replay_until=index, fatal=index, counted=not stubborn)
        if stubborn:
            why = (f"the cell ran past {self.timeout} s and ignored the interrupt, so its kernel was stopped; "
                   "the cells after it ran in a fresh kernel")
            cell.outputs.append(nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=why,
                                                       traceback=[f"CellTimeoutError: {why}"]))
            self._notes[index] = ("timeout", f"timeout: the cell ran past {self.timeout_of(cell)} s")
        else:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="KernelDied", evalue=self._why(), traceback=[f"KernelDied: {self._why()}"]))
            self._notes[index] = ("killed", self._why().split(", while running")[0])
        return cell, self.resources

    async def async_execute_cell(self, *args, **kwargs):
        self._interrupted_at = None
        return await super().async_execute_cell(*args, **kwargs)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._interrupted_at = time.monotonic()
        return await super()._async_handle_timeout(timeout, cell)

    def _survive_death(self, replay_until, fatal=None, counted=True):
        """Restart the kernel and replay the code cells before ``replay_until``, except the fatal ones."""
        self._deaths += counted
        if self._deaths > self.max_deaths or self._past_wall_cap():
            raise DeadKernelError(f"the kernel died {self._deaths} times")
        if fatal is not None:
            self._fatal.add(fatal)
        self._restart()
        for earlier in range(replay_until):
            replay = self.nb.cells[earlier]
            if replay.cell_type == "code" and earlier not in self._fatal:
                self._execute_aside(copy.deepcopy(replay), earlier)

    def _execute_aside(self, cell, index):
        """Execute ``cell`` in the kernel as if at ``index``, leaving the notebook's own cell alone."""
        kept = self.nb.cells[index]
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = kept

    def _restart(self):
        self.kc.stop_channels()
        run_sync(self.km.restart_kernel)(now=True)
        run_sync(self.async_start_new_kernel_client)()

    def _past_wall_cap(self):
        folder = self._folder()
        return (budget_spent(os.environ, folder.name, folder.parent.name)
                or time.monotonic() - self._started > settings.SUBMISSION_CAP)

    def _folder(self):
        return Path((self.resources or {}).get("metadata", {}).get("path") or os.getcwd()).resolve()

    def _why(self):
        folder = self._folder()
        reason = death_reason(os.environ, folder.name, folder.parent.name) or "the kernel died"
        return f"{reason}, while running this cell; the cells after it ran in a fresh kernel"


GRADE_ELSEWHERE = (
    "This course grades submissions only with `make autograde` (python -m grading autograde), which "
    "runs each one in the grading sandbox after preflight checks. The Formgrader's Autograde button, "
    "or a plain `nbgrader autograde`, would run student code unconfined, with your permissions: run "
    "`make autograde` in the course folder, then reload this page to see the scores.")


class GradeElsewhere(RuntimeError):
    """Autograding was started outside `python -m grading`; the message says what to run instead."""


class JudgedExecute(ResilientExecute):
    """Execute a submission; decide every graded test cell in this process, from evidence only.

    Before execution the hidden region of every graded test cell is removed, so the kernel
    runs only the visible checks. When a test cell's visible checks pass, the cell's hidden
    test (``grading/hidden/<assignment>.py``) sends its requests, with inputs drawn from a
    fresh seed and a one-time token, to the kernel in a separate, unrecorded execution; the
    collector answers with plain data, and the test decides here. A test cell earns its
    points only on a verdict reached this way in this run: one that was skipped, never
    reached or answered with forged or missing evidence earns nothing. The verdicts go to
    ``JudgedSaveAutoGrades`` through ``resources``, never through the notebook.
    """

    def preprocess(self, nb, resources=None, km=None):
        if not settings.in_grading_run():
            raise GradeElsewhere(GRADE_ELSEWHERE)
        self._verdicts, self._tests = {}, {}
        for index, cell in enumerate(nb.cells):
            if is_graded_test(cell):
                self._tests[index] = cell.metadata["nbgrader"]["grade_id"]
                cell.source = without_hidden_tests(cell.source)
        nb, resources = super().preprocess(nb, resources, km)
        for index in self._tests:
            if index not in self._verdicts and not has_error(nb.cells[index]):
                self._fail(index, nb.cells[index], "this test cell did not run, so its hidden test could not either")
        resources["gd_verdicts"] = {grade_id: self._verdicts.get(index, False)
                                    for index, grade_id in self._tests.items()}
        resources["gd_notes"] = {grade_id: self._notes[index] for index, grade_id in self._tests.items()
                                 if index in self._notes}
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index in self._tests and not has_error(cell):
            grade_id = self._tests[index]
            message = self._judge(index, grade_id)
            self._verdicts[index] = message is None
            if message:
                self._fail(index, cell, message)
        return cell, resources

    def _fail(self, index, cell, message):
        """Fail the test cell ``cell`` (at ``index``) with ``message``, and note why for the report."""
        grade_id = self._tests[index]
        fail(cell, grade_id, message)
        first = f"hidden test {grade_id}: {message}".splitlines()[0][:300]
        if message.startswith("the hidden test ran past"):
            self._notes[index] = ("timeout", "timeout: " + first)
        else:
            self._notes[index] = ("wrong_answer", "wrong answer: " + first)

    def _judge(self, index, grade_id):
        try:
            test = hidden.find(self.resources["nbgrader"]["assignment"], grade_id)
        except (ImportError, KeyError) as error:
            return f"the course has no hidden test for this cell ({error}): tell your instructor"
        rng = np.random.default_rng(secrets.randbits(64))
        return judge.decide(test, rng, lambda requests: self._gather(index, requests))

    def _gather(self, index, requests):
        """Ask the kernel for evidence on ``requests``; return the records of this very run."""
        token = secrets.token_hex(16)
        probe = nbformat.v4.new_code_cell(collector.probe_source(requests, token))
        try:
            self._execute_aside(probe, index)
        except DeadKernelError:
            self._survive_death(replay_until=index + 1)
            raise judge.NoEvidence(f"{self._why().split(', while')[0]}, while the hidden test ran") from None
        errors = [o for o in probe.outputs if o.get("output_type") == "error"]
        if errors and errors[-1].get("ename") in {"CellTimeoutError", "KeyboardInterrupt"}:
            raise judge.NoEvidence(f"the hidden test ran past {self.timeout} s (an endless loop?)")
        return judge.read_evidence(probe.outputs, token)


class JudgedSaveAutoGrades(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, scoring graded test cells by the judge's verdict alone.

    Outputs a submission can produce (a number shown as partial credit, a missing error)
    no longer decide anything: no verdict from ``JudgedExecute`` means no points.
    """

    def _add_score(self, cell, resources):
        if not is_graded_test(cell):
            return super()._add_score(cell, resources)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        passed = resources.get("gd_verdicts", {}).get(grade_id, False) and not has_error(cell)
        grade.auto_score = float(cell.metadata["nbgrader"]["points"]) if passed else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        notes.record(self.gradebook, self.assignment_id, self.student_id, grade_id,
                     resources.get("gd_notes", {}).get(grade_id))
        self.gradebook.db.commit()


class HideHiddenTests(Preprocessor):
    """For feedback: no hidden-test source and no evidence outputs, whatever the notebook holds."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.source = without_hidden_tests(cell.source)
            cell.outputs = [o for o in cell.outputs if collector.MIME not in o.get("data", {})]
        return cell, resources


HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?(### END HIDDEN TESTS[ \t]*\n?|\Z)", re.S | re.M)


def without_hidden_tests(source):
    return HIDDEN_REGION.sub("", source).rstrip("\n")


def is_graded_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def has_error(cell):
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def fail(cell, grade_id, message):
    """Show a failed hidden test as the cell's error: the message only, no hidden code."""
    cell.outputs.append(nbformat.v4.new_output(
        "error", ename="HiddenTestFailed", evalue=f"hidden test {grade_id}: {message}",
        traceback=[f"\x1b[0;31mHidden test {grade_id} failed\x1b[0m: {message}"]))
