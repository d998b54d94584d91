"""nbgrader preprocessors the course adds to autograding."""

import copy
import os
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer

from grading.sandbox import death_reason

NOTICE = "\n... [output truncated by the grader: {dropped:,} more characters]\n"


class TruncateLongOutputs(NbGraderPreprocessor):
    """Cut any single output text longer than ``max_chars``.

    nbgrader's LimitOutput caps the number of lines, not their length: one giant line
    would otherwise make a notebook (and its feedback page) tens of megabytes.
    """

    max_chars = Integer(20_000, help="longest text kept from one output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = self._cut(output["text"])
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime] = self._cut(value)
            if "traceback" in output:
                output["traceback"] = [self._cut(line) for line in output["traceback"]]
        return cell, resources

    def _cut(self, text):
        if isinstance(text, list):
            text = "".join(text)
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + NOTICE.format(dropped=len(text) - self.max_chars)


class ResilientExecute(Execute):
    """nbgrader's Execute, surviving a kernel that dies.

    When a cell kills the kernel (``os._exit``, a crash, a resource limit), that cell gets a
    ``KernelDied`` error, a fresh kernel replays the cells before it, and execution goes on,
    so tests that do not depend on the fatal code still earn their points. After
    ``max_deaths`` deaths, or past the submission's wall-clock cap, the notebook fails as
    before and the grading driver takes over.
    """

    max_deaths = Integer(5, help="kernel deaths survived per notebook").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._fatal, self._started = set(), time.monotonic()
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            if len(self._fatal) >= self.max_deaths or self._past_wall_cap():
                raise
        self._fatal.add(index)
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename="KernelDied", evalue=self._why(), traceback=[f"KernelDied: {self._why()}"]))
        self._restart()
        for earlier in range(index):
            replay = self.nb.cells[earlier]
            if replay.cell_type == "code" and earlier not in self._fatal:
                self.execute_cell(copy.deepcopy(replay), earlier, store_history=False)
        return cell, self.resources

    def _restart(self):
        self.kc.stop_channels()
        run_sync(self.km.restart_kernel)(now=True)
        run_sync(self.async_start_new_kernel_client)()

    def _past_wall_cap(self):
        return time.monotonic() - self._started > float(os.environ.get("GD_SANDBOX_WALL", "600"))

    def _why(self):
        folder = Path((self.resources or {}).get("metadata", {}).get("path") or os.getcwd()).resolve()
        reason = death_reason(os.environ, folder.name, folder.parent.name) or "the kernel died"
        return f"{reason}, while running this cell; the cells after it ran in a fresh kernel"
