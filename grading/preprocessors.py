"""nbgrader preprocessors the course adds to autograding."""

import base64
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
from nbclient.output_widget import OutputWidget
from nbconvert.exporters import NotebookExporter
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.converters.base import NbGraderException
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells, SaveAutoGrades
from traitlets import Bool, Integer

from grading import handgrades, hidden, notes, settings
from grading.hidden import collector, judge
from grading.sandbox import PrivateIpcKernelManager, budget_spent, death_reason, forget_stopped_kernel

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


# what a graded notebook keeps of an output's data: text and images, which feedback pages and the
# Formgrader show without a sanitizer (HTML, JavaScript, markdown and widget views would need one, or
# cannot be shown there at all)
KEPT_KINDS = ("text/plain", "image/png", "image/jpeg", "image/svg+xml")
BASE64_KINDS = ("image/png", "image/jpeg")
MAX_IMAGE_SIDE = 10_000  # pixels: a larger width or height in an output's metadata is dropped
PLAIN_NOTICE = ("[{kinds} output of {size:,} characters, not kept by the grader: graded notebooks keep only "
                "text and images; run the notebook to see it]")
GENERIC_REPR = re.compile(r"<[\w.]+ object( at 0x[0-9a-fA-F]+)?>")


class TextAndImageOutputs(NbGraderPreprocessor):
    """Keep only text and images of every output: each other kind is replaced by its plain text.

    Student code decides what every output holds (it runs every cell), and HTML is costly to
    sanitize (more than quadratically, for some markup), so no HTML, JavaScript, markdown or widget
    view of a submission ever reaches a feedback page or the Formgrader. Where the plain text is only
    a placeholder (``<IPython.core.display.HTML object>``: ch01's animation), a notice says what was
    left out. Images, which pages show as data URLs, stay if they are base64 indeed; so do the
    explorers' static figures. An output's metadata is rebuilt from an allow-list (see
    ``_image_sizes``): nbconvert writes an image's width and height into its ``<img>`` unquoted.
    """

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "metadata" in output:
                output["metadata"] = nbformat.from_dict(_image_sizes(output["metadata"]))
            if output.get("data"):
                output["data"] = nbformat.from_dict(_text_and_images(output["data"]))
        return cell, resources


def _text_and_images(data):
    """``data`` with every kind but text and well-formed images replaced by a notice where needed."""
    left_out = sorted(kind for kind, value in data.items() if kind not in KEPT_KINDS or not _well_formed(kind, value))
    kept = {kind: value for kind, value in data.items() if kind not in left_out}
    plain = _joined(kept.get("text/plain", "")).strip()
    if left_out and list(kept) in ([], ["text/plain"]) and (not plain or GENERIC_REPR.fullmatch(plain)):
        size = sum(len(_joined(data[kind])) for kind in left_out)
        kept["text/plain"] = PLAIN_NOTICE.format(kinds=", ".join(left_out), size=size)
    return kept


def _well_formed(kind, value):
    """Text is text; a PNG or JPEG must be base64 (the pages put it in a data URL), an SVG a string."""
    if kind not in BASE64_KINDS:
        return isinstance(value, (str, list))
    try:
        base64.b64decode(_joined(value).replace("\n", ""), validate=True)
    except (ValueError, TypeError):
        return False
    return True


def _image_sizes(metadata):
    """The only output metadata kept: each image kind's width and height, when they are plain integers.

    nbconvert's templates (the Formgrader's, the feedback page's) write ``width={{ width }}`` with no
    quotes, so a width of ``1 onerror=...`` would add a script to the instructor's page; filenames,
    ``unconfined`` and the rest have no use in a graded notebook.
    """
    if not isinstance(metadata, dict):
        return {}
    sizes = {}
    for kind in BASE64_KINDS + ("image/svg+xml",):
        given = metadata.get(kind)
        if isinstance(given, dict):
            kept = {key: value for key, value in given.items()
                    if key in ("width", "height") and type(value) is int and 0 < value <= MAX_IMAGE_SIDE}
            if kept:
                sizes[kind] = kept
    return sizes


LEFT_OUT = ("[the grader left out {what} from this cell: it keeps at most {per_cell:,} outputs per cell and "
            "{per_notebook:,} characters of output per notebook]")


def _chars(value):
    """Characters of a message's content, counted without recursion (a deep structure cannot stop it)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(len(str(key)) for key in item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 1
            stack.extend(item)
        else:
            total += 8
    return total


def _bounded_error(content):
    """An error output made from ``content``, its text cut to at most about STREAM_CHARS characters."""
    line_chars = settings.STREAM_CHARS // 10
    lines, kept, total = [str(line) for line in content.get("traceback") or []], [], 0
    for line in reversed(lines):  # the end of a traceback says most
        line = line[:line_chars]
        if total + len(line) > settings.STREAM_CHARS:
            break
        kept.append(line)
        total += len(line)
    kept.reverse()
    if len(kept) < len(lines):
        kept.insert(0, f"[{len(lines) - len(kept):,} traceback lines left out by the grader]")
    return nbformat.v4.new_output("error", ename=str(content.get("ename", ""))[:200],
                                  evalue=str(content.get("evalue", ""))[:line_chars], traceback=kept)


class DiscardedOutputWidget(OutputWidget):
    """nbclient's stand-in for an Output widget, keeping nothing: grading stores no widget state.

    Outputs a cell sends into an Output widget (the explorers draw their figures so) would live only
    in the widget state, which a graded notebook does not keep, so they are dropped as they arrive.
    """

    def __init__(self, comm_id, state, kernel_client, executor):
        super().__init__(comm_id, {**state, "outputs": []}, kernel_client, executor)
        self.msg_id = None

    def output(self, outs, msg, display_id, cell_index):
        return None

    def clear_output(self, outs, msg, cell_index):
        return None

    def handle_msg(self, msg):
        """Follow the widget's capturing (its ``msg_id``), whatever the messages hold."""
        content = msg.get("content") or {}
        state = (content.get("data") or {}).get("state") if content.get("comm_id") == self.comm_id else None
        if not isinstance(state, dict) or "msg_id" not in state:
            return
        hooks = self.executor.output_hook_stack
        if self.msg_id and self in hooks[self.msg_id]:
            hooks[self.msg_id].remove(self)
        self.msg_id = state["msg_id"] if isinstance(state["msg_id"], str) and state["msg_id"] else None
        if self.msg_id:
            self.executor.register_output_hook(self.msg_id, self)


class _LeftOut:
    """What one cell lost to the output bounds, shown in one notice output of that cell."""

    def __init__(self):
        self.counts = {"output": [0, 0], "text": [0, 0], "update": [0, 0]}  # kind -> [how many, characters]
        self.notice = None

    def add(self, kind, chars):
        self.counts[kind][0] += 1
        self.counts[kind][1] += chars

    def describe(self):
        (outputs, output_chars), (_, text_chars), (updates, update_chars) = self.counts.values()
        parts = [f"{outputs:,} output{'s' * (outputs != 1)} ({output_chars:,} characters)"] if outputs else []
        parts += [f"{text_chars:,} characters of printed text"] if text_chars else []
        parts += [f"{updates:,} display update{'s' * (updates != 1)} ({update_chars:,} characters)"] if updates else []
        return " and ".join(parts)


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

    Outputs are bounded as they arrive (grading/settings.py), before they can fill the grader's
    memory: a notebook keeps at most OUTPUT_CHARS characters of output (counted as they arrive;
    clearing gives none back), a cell at most OUTPUTS_PER_CELL outputs, a printed stream at most
    STREAM_CHARS characters (each stream is merged as it arrives, as nbclient merges it after the
    cell). Whatever does not fit is left out, and the cell says what in one notice. A cell's first
    error always stays, cut to a bounded size: it decides whether the cell failed. Each run beside
    the notebook (a hidden test's probe, a replay after a restart) gets a fresh allowance of its
    own, since its outputs are never stored, and a probe's evidence is never left out. No widget
    state is kept (nothing in grading reads it, and a widget can hold any amount of it).
    """

    max_deaths = Integer(5, help="kernel deaths survived per notebook").tag(config=True)
    store_widget_state = Bool(False, help="grading keeps no widget state: nothing reads it").tag(config=True)

    def __init__(self, *args, **kwargs):
        if os.environ.get("GD_SANDBOX_UID"):  # sandboxed: every kernel gets its own socket folder
            kwargs["kernel_manager_class"] = PrivateIpcKernelManager
        super().__init__(*args, **kwargs)
        self.timeout_func = self.timeout_of
        self._reset_output_bounds()

    def _reset_output_bounds(self):
        self._notebook_left, self._aside_left, self._aside = settings.OUTPUT_CHARS, 0, False
        self._left_out, self._streams, self._errored, self._evidence = {}, {}, set(), 0

    @property
    def _left(self):
        """Characters of output the current run may still keep: the notebook's, or a run's beside it."""
        return self._aside_left if self._aside else self._notebook_left

    def _charge(self, chars):
        if self._aside:
            self._aside_left = max(0, self._aside_left - chars)
        else:
            self._notebook_left = max(0, self._notebook_left - chars)

    def timeout_of(self, cell):
        """Seconds ``cell`` may run: the instructor's locked, ungraded cells get longer (settings.py)."""
        meta = cell.metadata.get("nbgrader", {})
        instructors = meta.get("locked") and not meta.get("grade") and not meta.get("solution")
        return max(self.timeout, settings.INSTRUCTOR_CELL_TIMEOUT) if instructors else self.timeout

    def preprocess(self, nb, resources=None, km=None):
        self._fatal, self._deaths, self._started = set(), 0, time.monotonic()
        self._interrupted_at = None
        self._timed_out = set()  # cells interrupted at their timeout: never replayed (they would hang again)
        self._stopped = {}  # name -> cell timeout: functions this grader made fail at once after they hung
        self._stops = {}  # cell index -> names stopped right after it ran: stopped again when it is replayed
        self._notes = {}  # cell index -> (reason code, reason): what only the grader knows (grading/notes.py)
        self._reset_output_bounds()
        nb.metadata.pop("widgets", None)  # a submission's own saved widget state is not kept either
        return super().preprocess(nb, resources, km)

    def set_widgets_metadata(self):
        self.nb.metadata.pop("widgets", None)

    def on_comm_open_jupyter_widget(self, msg):
        """An Output widget gets a stand-in that keeps nothing (nbclient's would keep its outputs)."""
        data = msg["content"].get("data")
        state = data.get("state") if isinstance(data, dict) else None
        if isinstance(state, dict) and (state.get("_model_module"), state.get("_model_name")) == (
                "@jupyter-widgets/output", "OutputModel"):
            return DiscardedOutputWidget(msg["content"].get("comm_id"), state, self.kc, self)
        return None

    def process_message(self, msg, cell, cell_index):
        self._current = (cell, cell_index)  # for display updates, which nbclient handles without the cell
        return super().process_message(msg, cell, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        kind, content = msg["msg_type"], msg["content"]
        if kind not in ("stream", "display_data", "execute_result", "error") or not isinstance(content, dict):
            return super().output(outs, msg, display_id, cell_index)
        if self.output_hook_stack[msg["parent_header"].get("msg_id")]:  # into an Output widget: discarded
            return super().output(outs, msg, display_id, cell_index)
        if self.clear_before_next_output:  # clear_output(wait=True) takes effect as the next output arrives
            self._clear(outs, cell_index)
            self.clear_before_next_output = False
        if kind == "stream":
            return self._stream(outs, content, cell_index)
        size = _chars({key: value for key, value in content.items() if key != "transient"})
        if kind == "error":
            if id(outs) not in self._errored:  # a cell's first error always stays, bounded
                self._errored.add(id(outs))
                error = _bounded_error(content)
                self._charge(_chars(error))
                outs.append(error)
                return error
        elif self._aside and kind == "display_data" and collector.MIME in (content.get("data") or {}):
            self._evidence += 1  # a hidden test's evidence (two at most: the judge reads only one)
            if self._evidence <= 2:
                return super().output(outs, msg, display_id, cell_index)
        elif len(outs) < settings.OUTPUTS_PER_CELL and size <= self._left:
            self._charge(size)
            return super().output(outs, msg, display_id, cell_index)
        self._leave_out(outs, cell_index, "output", size)
        return None

    def _stream(self, outs, content, cell_index):
        """Merge printed text into the cell's stream of that name, up to the bounds."""
        name, text = content.get("name"), content.get("text")
        if not isinstance(text, str) or name not in ("stdout", "stderr"):
            return None
        held = self._streams.get((id(outs), name))
        if held is None and len(outs) >= settings.OUTPUTS_PER_CELL:
            self._leave_out(outs, cell_index, "output", len(text))
            return None
        room = min(self._left, settings.STREAM_CHARS - (len(held.text) if held is not None else 0))
        taken = text[:max(0, room)]
        self._charge(len(taken))
        if len(taken) < len(text):
            self._leave_out(outs, cell_index, "text", len(text) - len(taken))
        if not taken:
            return None
        if held is None:
            held = nbformat.v4.new_output("stream", name=name, text=taken)
            self._streams[(id(outs), name)] = held
            outs.append(held)
        else:
            held.text += taken
        return held

    def _update_display_id(self, display_id, msg):
        """An update copies its data into every output showing ``display_id``: each copy is charged."""
        targets = sum(len(indices) for indices in self._display_id_map.get(display_id, {}).values())
        size = _chars(msg["content"].get("data")) + _chars(msg["content"].get("metadata"))
        if targets and size * targets > self._notebook_left:
            cell, cell_index = self._current
            self._leave_out(cell.outputs, cell_index, "update", size * targets)
            return None
        self._notebook_left -= size * targets  # the copies are in the notebook's cells, whichever run sent it
        return super()._update_display_id(display_id, msg)

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not outs:
            self._clear(outs, cell_index)

    def _clear(self, outs, cell_index):
        outs[:] = []
        self.clear_display_id_mapping(cell_index)
        self._streams = {key: held for key, held in self._streams.items() if key[0] != id(outs)}
        self._errored.discard(id(outs))
        left = self._left_out.get((id(outs), cell_index))
        if left is not None:
            left.notice = None  # cleared with the rest: the next loss shows a notice again

    def _leave_out(self, outs, cell_index, kind, chars):
        """Count what a cell lost; show it in the cell's one notice (appended again after a clear)."""
        left = self._left_out.setdefault((id(outs), cell_index), _LeftOut())
        left.add(kind, chars)
        text = LEFT_OUT.format(what=left.describe(), per_cell=settings.OUTPUTS_PER_CELL,
                               per_notebook=settings.OUTPUT_CHARS)
        if left.notice is None:
            left.notice = nbformat.v4.new_output("display_data", data={"text/plain": text})
            outs.append(left.notice)
        else:
            left.notice.data["text/plain"] = text

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)  # nbgrader's: adds the reply's error if no output showed it
        outputs = kwargs["cell"].outputs
        if outputs and outputs[-1].get("output_type") == "error" and _chars(outputs[-1]) > settings.STREAM_CHARS:
            outputs[-1] = _bounded_error(outputs[-1])

    def preprocess_cell(self, cell, resources, index):
        try:
            done = super().preprocess_cell(cell, resources, index)
            if self._interrupted_at is not None:  # this grader interrupted it at its timeout
                self._timed_out.add(index)
                self._notes[index] = self._timeout_note(cell)
                if any(o.get("ename") == "KeyboardInterrupt" for o in cell.outputs if o.get("output_type") == "error"):
                    self._stop_calling(index, self.timeout_of(cell))
            elif has_error(cell) and index not in self._notes:
                stopped = self._stopped_in(cell)
                if stopped:  # this grader stopped that function itself: a timeout, resting on it
                    self._notes[index] = ("timeout", stopped_reason(stopped))
            return done
        except (DeadKernelError, CellTimeoutError) as error:
            if isinstance(error, CellTimeoutError) and self._interrupted_at is None:
                raise
            # interrupted at its timeout, the cell went on running (it ignored SIGINT) or its kernel died
            # (stopped on the way, or killed by this grader): a timeout, whatever the kernel's exit status
            timed_out = self._interrupted_at is not None and not self._budget_killed()
            if timed_out:
                self._stop_timed_out_kernel()
            # a kernel stopped at a timeout is no crash: the budget, not max_deaths, bounds how often
            self._survive_death(replay_until=index, fatal=index, counted=not timed_out)
        if timed_out:
            why = (f"the cell ran past the {self.timeout_of(cell)} s cell timeout and did not stop when interrupted, "
                   "so its kernel was stopped; the cells after it ran in a fresh kernel")
            cell.outputs.append(nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=why,
                                                       traceback=[f"CellTimeoutError: {why}"]))
            self._notes[index] = self._timeout_note(cell)
        else:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="KernelDied", evalue=self._why(), traceback=[f"KernelDied: {self._why()}"]))
            self._notes[index] = ("killed", self._why().split(", while running")[0])
        return cell, self.resources

    def _stop_calling(self, index, timeout, name=None):
        """Make the function whose call ran past the timeout just now fail at once for the rest of the notebook.

        Run in the kernel beside the notebook (nothing recorded): the function is ``name`` (a hidden test's
        call) or the outermost function of the notebook's own that the interrupt stopped in cell ``index``,
        if its name still holds it. Later calls raise ``TimedOutEarlier`` ("train ran past the 60 s cell
        timeout earlier in this notebook, so it is not called again") instead of each waiting out a timeout;
        a later cell defining it again gets its own chance. Return the name stopped, or None."""
        token = secrets.token_hex(16)
        snippet = nbformat.v4.new_code_cell(collector.stop_source(token, timeout, name))
        try:
            self._execute_aside(snippet, index)
            found = judge.read_evidence(snippet.outputs, token)
        except (DeadKernelError, CellTimeoutError):  # only a kernel that patched what the snippet uses
            interrupted = self._interrupted_at is not None and not self._budget_killed()
            if interrupted:
                self._stop_timed_out_kernel()
            self._survive_death(replay_until=index + 1, counted=not interrupted)
            return None
        except judge.NoEvidence:
            return None
        stopped = found[0] if len(found) == 1 and isinstance(found[0], str) else None
        if not stopped or not stopped.isidentifier() or len(stopped) > 100 or name not in (None, stopped):
            return None
        self._stopped[stopped] = timeout
        if stopped not in self._stops.setdefault(index, []):  # (a replay stops it again: listed once)
            self._stops[index].append(stopped)
        return stopped

    def _stopped_in(self, cell):
        """The function this grader stopped whose call made ``cell`` fail, or None: the cell's last error (the
        one the report reads) must be that function's ``TimedOutEarlier``, word for word."""
        error = [o for o in cell.outputs if o.get("output_type") == "error"][-1]
        if error.get("ename") != "TimedOutEarlier":
            return None
        return next((name for name, timeout in self._stopped.items()
                     if (error.get("evalue") or "").strip() == collector.stopped_message(name, timeout)), None)

    def _timeout_note(self, cell):
        """The note on a cell this grader interrupted at its timeout: the same words on every run."""
        return "timeout", f"timeout: the cell ran past the {self.timeout_of(cell)} s cell timeout"

    def _budget_killed(self):
        """Whether the sandbox killed this submission's kernel for its wall-clock budget (a ``killed``)."""
        folder = self._folder()
        return death_reason(os.environ, folder.name, folder.parent.name).startswith("killed: the submission used up")

    def _stop_timed_out_kernel(self):
        """Stop the kernel of a cell interrupted at its timeout, and forget how the sandbox saw it end:
        its exit status (a crash on the way, or this very stop) says nothing about the submission."""
        run_sync(self.km.shutdown_kernel)(now=True, restart=True)
        folder = self._folder()
        forget_stopped_kernel(os.environ, folder.name, folder.parent.name)

    async def async_execute_cell(self, *args, **kwargs):
        self._interrupted_at = None
        self._streams, self._errored, self._evidence, self._left_out = {}, set(), 0, {}  # this cell's bookkeeping
        return await super().async_execute_cell(*args, **kwargs)

    # nbclient's execute_cell wraps its own async_execute_cell: without this, the override above never ran
    execute_cell = run_sync(async_execute_cell)

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
            if replay.cell_type == "code" and earlier not in self._fatal | self._timed_out:
                self._execute_aside(copy.deepcopy(replay), earlier)
            for name in self._stops.get(earlier, []):  # stopped right after this cell ran: stopped again
                self._stop_calling(earlier, self._stopped[name], name)

    def _execute_aside(self, cell, index):
        """Execute ``cell`` in the kernel as if at ``index``, leaving the notebook's own cell alone.

        Its outputs are never stored: it gets an output allowance of its own."""
        kept, bounds = self.nb.cells[index], (self._aside_left, self._left_out, self._aside)
        self._aside_left, self._left_out, self._aside = settings.OUTPUT_CHARS, {}, True
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = kept
            self._aside_left, self._left_out, self._aside = bounds

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


class GradeElsewhere(NbGraderException, RuntimeError):
    """Autograding was started outside `python -m grading`; the message says what to run instead."""


class GradingRunExporter(NotebookExporter):
    """Autograde's exporter (``Autograde.exporter_class``): outside `python -m grading` it refuses.

    nbgrader's Autograde makes its exporter first, before it looks at any submission; only after
    that does it remove ``autograded/<student>/<chapter>/`` (with --force, as the Formgrader's
    Autograde button runs it, or after any failure). Refusing here leaves every file as it was."""

    def __init__(self, *args, **kwargs):
        if not settings.in_grading_run():
            parent = kwargs.get("parent")
            if parent is not None:
                parent.log.error(GRADE_ELSEWHERE)
            raise GradeElsewhere(GRADE_ELSEWHERE)
        super().__init__(*args, **kwargs)


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
        self._hung = set()  # functions a hidden test's call left running past the timeout: never called again
        self._probe_timeouts = {}  # test cell index -> the timeout reason this grader saw while judging it
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
        if index in self._probe_timeouts:  # this grader's own knowledge, never the kernel's words
            self._notes[index] = ("timeout", self._probe_timeouts[index])
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
        """Ask the kernel for evidence on ``requests``; return the records of this very run.

        A request for a function that an earlier call left running past the cell timeout fails at once:
        an endless loop costs one timeout per submission, not one per hidden test that calls it again.
        """
        hung = next((request["name"] for request in requests if request["name"] in self._hung), None)
        if hung:
            self._probe_timeouts[index] = stopped_reason(hung)
            raise judge.NoEvidence(f"{hung} ran past the {self.timeout} s cell timeout earlier in this notebook, "
                                   "so it was not called again")
        token = secrets.token_hex(16)
        probe = nbformat.v4.new_code_cell(collector.probe_source(requests, token))
        try:
            self._execute_aside(probe, index)
            interrupted = self._interrupted_at is not None  # this grader interrupted it at the timeout
        except (DeadKernelError, CellTimeoutError) as error:
            interrupted = self._interrupted_at is not None and not self._budget_killed()
            if not interrupted:
                if isinstance(error, CellTimeoutError):
                    raise
                self._survive_death(replay_until=index + 1)
                raise judge.NoEvidence(f"{self._why().split(', while')[0]}, while the hidden test ran") from None
            self._stop_timed_out_kernel()  # it ignored the interrupt, or died on the way: still a timeout
            self._survive_death(replay_until=index + 1, counted=False)
        if interrupted:
            hanging = self._hanging_call(requests, probe.outputs, token)
            if hanging:
                self._hung.add(hanging)
                self._stop_calling(index, self.timeout, hanging)  # the student's own later cells too
            self._probe_timeouts[index] = f"timeout: the hidden test ran past the {self.timeout} s cell timeout"
            raise judge.NoEvidence(f"the hidden test ran past {self.timeout} s (an endless loop?)")
        records = judge.read_evidence(probe.outputs, token)
        stopped = next((name for record in records for name, timeout in self._stopped.items()
                        if isinstance(record, dict) and record.get("raised") == "TimedOutEarlier: "
                        + collector.stopped_message(name, timeout)), None)
        if stopped:  # a function this grader stopped after it ran past the timeout in a cell
            self._probe_timeouts[index] = stopped_reason(stopped)
            raise judge.NoEvidence(collector.stopped_message(stopped, self._stopped[stopped]).replace(
                "is not called again", "was not called again"))
        return records

    @staticmethod
    def _hanging_call(requests, outputs, token):
        """The function whose call ran past the timeout: the round's only one, or the one the collector
        was running when interrupted (a kernel's word, trusted only to fail that function's later calls)."""
        names = {request["name"] for request in requests}
        if len(names) == 1:
            return names.pop()
        try:
            records = judge.read_evidence(outputs, token)
        except judge.NoEvidence:
            return None
        found = [request["name"] for request, record in zip(requests, records)
                 if isinstance(record, dict) and record.get("interrupted")]
        return found[0] if found and found[0] in names else None


class JudgedSaveAutoGrades(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, scoring graded test cells by the judge's verdict alone.

    Outputs a submission can produce (a number shown as partial credit, a missing error)
    no longer decide anything: no verdict from ``JudgedExecute`` means no points. A written
    answer graded by hand keeps its grade unless the answer or its question changed
    (grading/handgrades.py): nbgrader's own rule would ask for it again on every regrade.
    """

    def preprocess(self, nb, resources):
        self._nb = nb  # a written answer's question is in the cells before it
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        if utils.is_solution(cell):
            return self._add_written_score(cell, resources)
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

    def _add_written_score(self, cell, resources):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        waiting = grade.needs_manual_grade
        super()._add_score(cell, resources)
        released = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id).checksum
        question = [released, *handgrades.question_of(self._nb, cell)]
        decided = handgrades.still_waiting(self.gradebook, (self.assignment_id, self.student_id, grade_id),
                                           handgrades.fingerprint(handgrades.answer_of(cell), question),
                                           grade.manual_score is not None, waiting)
        if decided is not None:
            grade.needs_manual_grade = decided
        self.gradebook.db.commit()


class ReleasedFormOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, knowing that a test cell is released without its hidden region.

    The gradebook keeps each test cell whole, hidden region included (JudgedExecute needs it),
    and the release strips that region: nbgrader would report every honest test cell as changed.
    A locked cell holding exactly its released form gets its stored source back silently; any
    other change is still reported and restored by nbgrader.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        stored = self._stored_locked_source(cell)
        if stored is not None and cell.source != stored and cell.source == released_form(stored):
            cell.source = stored
        return super().preprocess_cell(cell, resources, cell_index)

    def _stored_locked_source(self, cell):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return None
        try:
            stored = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return None
        return stored.source if stored.locked else None


def released_form(source):
    """``source`` as `nbgrader generate_assignment` releases it: its hidden test region removed."""
    cell = nbformat.v4.new_code_cell(source)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: no hidden-test source and no evidence outputs, whatever the notebook holds.

    (An NbGraderPreprocessor, enabled by default: nbgrader registers its steps without enabling
    them, so a plain nbconvert Preprocessor would be skipped.)"""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.source = without_hidden_tests(cell.source)
            cell.outputs = [o for o in cell.outputs if collector.MIME not in o.get("data", {})]
        return cell, resources


HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?(### END HIDDEN TESTS[ \t]*\n?|\Z)", re.S | re.M)


def without_hidden_tests(source):
    return HIDDEN_REGION.sub("", source).rstrip("\n")


def stopped_reason(name):
    """The report's reason for a test that failed because ``name`` ran past the timeout earlier (its rests_on)."""
    return f"timeout: {name} ran past the cell timeout earlier"


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
