"""A learner's progress: the visible checks of every exercise, run again and summed up in a table.

The cell at the end of each chapter calls ``summary(chapter, globals())``. It reads the chapter's
notebook from disk (the check cells are locked, so their source there is the course's), runs the
visible part of each check cell in a copy of the kernel's namespace, and prints one row per
exercise: passed, failed (and why), not attempted, or not run. Nothing it runs can stop the others.

``python -m gdlib.progress workspace`` (``make progress``) runs every chapter notebook of a
workspace headless, as saved, and prints one table for all chapters.
"""

import argparse
import contextlib
import copy
import io
import json
import linecache
import logging
import re
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gdlib import checks, in_grading_run

SUMMARY_CELL = "progress_summary"  # grade_id of the summary cell; `make progress` runs its own instead
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
EXERCISE_HEADING = re.compile(r"Exercise\s+(\d+(?:\.\d+)*)\b:?\s*(.*)$")
UNANSWERED = {"", "YOUR ANSWER HERE"}
PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN = "passed", "failed", "not attempted", "not run"
CLOSING = ("Hidden tests also run, on fresh inputs, when your notebook is graded, and your instructor "
           "grades the written answers: passing here is not yet full marks.")
REPORT_MARKER = "gdlib-progress-report:"
TIMED_OUT = "its check cell ran out of time: does a loop in your answer never end?"


@dataclass
class Exercise:
    """One graded cell of a chapter: a check cell's visible source, or a written answer."""

    label: str  # "1.4 step"
    grade_id: str
    points: float
    source: str = ""  # the check cell without its hidden region
    functions: tuple = ()  # what its answer cells define
    answer_cells: tuple = ()  # their indices in the notebook
    written: bool = False
    answered: bool = False  # a written answer that is no longer the release's placeholder


@dataclass
class Result:
    label: str
    grade_id: str
    points: float
    status: str
    reason: str = ""
    written: bool = False


def exercises(cells):
    """Return the chapter's exercises, in order, from its cells (notebook JSON or nbformat cells)."""
    found, heading, exercise_heading, answers, functions = [], "", None, [], []
    for index, cell in enumerate(cells):
        source = _text(cell.get("source", ""))
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "markdown" and not meta.get("solution"):
            for title in _headings(source):
                heading = title
                exercise_heading = title if EXERCISE_HEADING.match(title) else exercise_heading
            continue
        if meta.get("solution") and cell["cell_type"] == "code":
            answers.append(index)
            functions += _defined_functions(source)
        if not meta.get("grade"):
            continue
        written = cell["cell_type"] == "markdown"
        found.append(Exercise(
            label=_label(exercise_heading or heading, written) or meta["grade_id"], grade_id=meta["grade_id"],
            points=meta.get("points", 0), source="" if written else HIDDEN_REGION.sub("", source),
            functions=tuple(functions), answer_cells=tuple(answers), written=written,
            answered=written and source.strip() not in UNANSWERED))
        exercise_heading, answers, functions = None, [], []
    return found


def read_cells(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def results(chapter, namespace, notebook=None, timed_out=()):
    """Run every exercise's visible checks against ``namespace``; return one ``Result`` each.

    The checks in ``timed_out`` (grade ids) are not run again: they already ran out of time once.
    """
    listed = exercises(read_cells(notebook or Path.cwd() / f"{chapter}.ipynb"))
    owners = {name: exercise.label for exercise in listed for name in exercise.functions}
    return [_written_result(exercise) if exercise.written
            else Result(exercise.label, exercise.grade_id, exercise.points, FAILED, TIMED_OUT)
            if exercise.grade_id in timed_out else run_check(exercise, namespace, owners)
            for exercise in listed]


def summary(chapter, namespace, notebook=None):
    """Print the table of the chapter's exercises (the chapter's last cell calls this)."""
    if in_grading_run():
        print("Progress summary: left out while grading (the test cells above hold your scores).")
        return
    path = Path(notebook or Path.cwd() / f"{chapter}.ipynb")
    try:
        rows, title = results(chapter, namespace, path), _title(path)
    except FileNotFoundError:
        print(f"Progress summary: cannot find {path.name} in {path.parent}. The summary reads the exercises "
              "from the chapter's notebook: keep it in its chapter folder, under the name it was released with.")
        return
    except (OSError, ValueError, KeyError) as unreadable:  # a notebook file edited outside JupyterLab
        print(f"Progress summary: cannot read the exercises from {path.name} ({type(unreadable).__name__}).")
        return
    print(table(chapter, rows, title))


def report(chapter, namespace, timed_out=()):
    """Print the results as one line of JSON (what `make progress` reads from the kernel)."""
    print(REPORT_MARKER + json.dumps([asdict(result) for result in results(chapter, namespace, None, timed_out)]))


def run_check(exercise, namespace, owners):
    """Run one check cell's visible source in a copy of ``namespace``; return its ``Result``."""
    def result(status, reason=""):
        return Result(exercise.label, exercise.grade_id, exercise.points, status, reason)

    filename = f"<visible checks of {exercise.label}>"
    linecache.cache[filename] = (len(exercise.source), None, exercise.source.splitlines(True), filename)
    try:
        code = compile(exercise.source, filename, "exec")
        with _isolated():
            exec(code, _copy_of(namespace))
    except NameError as missing:
        culprit = _culprit(missing, owners)
        if missing.name in exercise.functions:
            return result(NOT_ATTEMPTED, f"{missing.name} is not defined yet: write it and run its cell")
        if missing.name in owners:
            owner = owners[missing.name]
            return result(FAILED, f"needs {owner}, which is not defined yet: finish {owner} and run its cell first")
        if culprit:
            return result(FAILED, f"{culprit} raised NameError: {missing}")
        return result(NOT_RUN, f"`{missing.name}` is not defined: run the cells above first")
    except NotImplementedError as unfinished:
        culprit = _culprit(unfinished, owners)
        if culprit in exercise.functions:
            return result(NOT_ATTEMPTED, f"{culprit} still raises NotImplementedError")
        if culprit:
            return result(FAILED, f"needs {owners[culprit]}, which is not written yet: do {owners[culprit]} first")
        return result(FAILED, _reason(unfinished, owners))
    except (Exception, SystemExit) as failure:  # any answer may crash in any way: report it, go on with the next
        return result(FAILED, _reason(failure, owners))
    return result(PASSED)


def table(chapter, rows, title=None):
    """The summary a learner reads: one row per exercise, what to do next, and the closing reminder."""
    graded = [row for row in rows if not row.written]
    passed = [row for row in graded if row.status == PASSED]
    width = max([len("exercise")] + [len(row.label) for row in rows])
    lines = [title or chapter,
             f"{len(passed)} of {len(graded)} exercises pass their visible checks "
             f"({_points(sum(r.points for r in passed))} of {_points(sum(r.points for r in graded))} points).", "",
             f"  {'exercise':<{width}}  points  status"]
    lines += [f"  {row.label:<{width}}  {_points(row.points):>6}  {_status(row)}" for row in rows]
    lines += ["", _next_step(graded, [row for row in rows if row.written]), CLOSING]
    return "\n".join(lines)


def _written_result(exercise):
    if exercise.answered:
        status, reason = "answered", "your instructor grades it"
    else:  # read from the file: an answer typed but not yet saved is not seen
        status, reason = "not answered yet", "write it where it says YOUR ANSWER HERE, then save the notebook"
    return Result(exercise.label, exercise.grade_id, exercise.points, status, reason, written=True)


def _status(row):
    return f"{row.status}: {row.reason}" if row.reason else row.status


def _next_step(graded, written):
    todo = next((row for row in graded if row.status != PASSED), None)
    if todo is None:
        unanswered = [row.label for row in written if row.status != "answered"]
        return ("Next: write " + " and ".join(unanswered) + "." if unanswered
                else "Every visible check passes and every written answer is in.")
    if all(row.status == NOT_RUN for row in graded):
        return "Next: run the notebook from the top (Run > Run All Cells): this cell needs what the cells above define."
    if todo.status == FAILED:
        return f"Next: fix {todo.label}; its check cell above shows the whole message."
    if todo.status == NOT_ATTEMPTED:
        return f"Next: write {todo.label}, then run its check cell."
    return f"Next: run the cells above {todo.label}'s check cell, then this cell again."


def _reason(failure, owners):
    """One line: a check's first line (and its likely mistake), or where the answer crashed and how."""
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    if isinstance(failure, AssertionError):
        if not lines:
            return f"a check failed: {_failing_line(failure) or 'assert'}"
        first = re.sub(r"^Exercise\s+\d+(?:\.\d+)*[^:]*:\s*", "", lines[0])
        likely = next((line for line in lines[1:] if line.startswith("Likely")), None)
        return f"{first} {likely}" if likely else first
    culprit = _culprit(failure, owners)
    said = f"{type(failure).__name__}: {lines[0]}" if lines else type(failure).__name__
    return f"{culprit} raised {said}" if culprit else f"the check raised {said}"


def _culprit(failure, owners):
    """The innermost answer function (one the chapter asks for) in the traceback, if any."""
    frames, tb = [], failure.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return next((name for name in reversed(frames) if name in owners), None)


def _failing_line(failure):
    tb = failure.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).strip() if tb else ""


@contextlib.contextmanager
def _isolated():
    """Swallow what a check prints or warns; undo what it does to matplotlib, NumPy's global seed and
    the exercise the checks name."""
    plt, numpy = sys.modules.get("matplotlib.pyplot"), sys.modules.get("numpy")
    figures = set(plt.get_fignums()) if plt else set()
    seed = numpy.random.get_state() if numpy else None
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
        stack.enter_context(warnings.catch_warnings())
        stack.enter_context(checks.no_exercise_named())
        if plt:
            stack.enter_context(plt.rc_context())
        try:
            yield
        finally:
            if plt:
                for number in set(plt.get_fignums()) - figures:
                    plt.close(number)
            if numpy:
                numpy.random.set_state(seed)


def _copy_of(namespace):
    """A shallow copy: a check's temporaries stay out of the learner's namespace; random generators are
    copied too, so that a check drawing from the notebook's ``rng`` leaves it where it was."""
    numpy = sys.modules.get("numpy")
    generator = numpy.random.Generator if numpy else ()
    return {name: copy.deepcopy(value) if isinstance(value, generator) else value
            for name, value in namespace.items()}


def _text(source):
    return "".join(source) if isinstance(source, list) else source


def _headings(markdown):
    fenced = False
    for line in markdown.splitlines():
        fenced ^= line.lstrip().startswith("```")
        if not fenced and re.match(r"#{1,6}\s", line):
            yield line.lstrip("#").strip()


def _label(heading, written):
    """ "Exercise 1.4: `step`" -> "1.4 step"; a written exercise -> "1.6 (written)"; other headings as they are."""
    if not heading:
        return None
    match = EXERCISE_HEADING.match(heading)
    if not match:
        return heading
    number, name = match.group(1), (match.group(2) or "").replace("`", "").strip()
    if written:
        return f"{number} (written)"
    return f"{number} {name}" if name and not name.startswith("(") else f"Exercise {number}"


def _defined_functions(source):
    return re.findall(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)", source, re.M)


def _title(path):
    for cell in read_cells(path):
        if cell["cell_type"] == "markdown":
            return next(_headings(_text(cell["source"])), None)
    return None


def _points(value):
    return f"{value:g}"


# `make progress`: every chapter of a workspace, executed headless as saved

REPORT_CELL = "from gdlib import progress as _gd_progress\n_gd_progress.report({chapter!r}, globals(), {timed_out!r})"
SYNTAX_ERRORS = {"SyntaxError", "IndentationError", "TabError"}


@dataclass
class ChapterRun:
    chapter: str
    rows: list = field(default_factory=list)  # Result, one per exercise
    problems: list = field(default_factory=list)  # cells that could not run, one line each
    fatal: str = ""  # why the chapter has no results
    seconds: float = 0.0


def chapter_notebooks(workspace):
    """The chapter notebooks of a workspace: chNN_slug/chNN_slug.ipynb (copies and checkpoints left out)."""
    return sorted(path for path in Path(workspace).glob("ch*/ch*.ipynb") if path.stem == path.parent.name)


def run_notebook(path, timeout=300):
    """Execute one chapter notebook headless in its folder (nothing is saved); return its ``ChapterRun``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path, started = Path(path), time.monotonic()
    run = ChapterRun(path.stem)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as unreadable:  # not JSON, or not a notebook
        run.fatal = f"the notebook file cannot be read ({type(unreadable).__name__}: {_first_line(unreadable)})"
        return run
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") != SUMMARY_CELL]
    nb.cells.append(nbformat.v4.new_code_cell())
    listed = exercises(nb.cells)
    errors, current = {}, {}

    def starting(cell, cell_index):
        current.update(index=cell_index)
        if cell_index == len(nb.cells) - 1:  # the report: checks that ran out of time are not run twice
            timed_out = [nb.cells[index].metadata.get("nbgrader", {}).get("grade_id")
                         for index, (name, _) in errors.items() if name == "Timeout"]
            cell.source = REPORT_CELL.format(chapter=run.chapter, timed_out=timed_out)

    def executed(cell, cell_index, execute_reply):
        content = execute_reply.get("content", {}) if execute_reply else {}
        if content.get("status") == "error":
            # "invalid syntax (3141592.py, line 4)": the kernel's name for the cell means nothing to a learner
            evalue = re.sub(r"\([^()]*\.py, (line \d+)\)", r"(\1)", _first_line(content.get("evalue", "")))
            errors[cell_index] = (content.get("ename", "an error"), evalue)

    logger = logging.getLogger("gdlib.progress.nbclient")
    logger.setLevel(logging.CRITICAL)  # what goes wrong is reported in the table, not as a log line
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True, record_timing=False, log=logger,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran longer than {timeout} s", "traceback": []},
        on_cell_start=starting,
        on_cell_executed=executed, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines; what failed is in the table
    except DeadKernelError:
        run.fatal = f"the kernel died while running {_describe(nb.cells, current.get('index'), listed)}"
    except Exception as broken:  # no kernel could start, or nbclient itself gave up
        run.fatal = f"it could not be executed ({type(broken).__name__}: {_first_line(broken)})"
    run.seconds = time.monotonic() - started
    if run.fatal:
        return run
    run.rows = _reported_rows(nb.cells[-1])
    if run.rows is None:
        name, value = errors.get(len(nb.cells) - 1, ("no report", "the summary printed nothing"))
        run.rows, run.fatal = [], f"the summary of its exercises stopped with {name}: {value}"
        return run
    _blame_answer_cells(run.rows, listed, errors)
    # the rest of what could not run at all (answer cells are in the table, check cells fail as they should)
    graded = {index for index, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade")}
    graded |= {index for exercise in listed for index in exercise.answer_cells}
    run.problems = [f"{name} in {_describe(nb.cells, index, listed)}: {value}"
                    for index, (name, value) in sorted(errors.items())
                    if (name in SYNTAX_ERRORS or name == "Timeout") and index not in graded]
    return run


def _reported_rows(cell):
    for output in cell.get("outputs", []):
        for line in _text(output.get("text", "")).splitlines():
            if line.startswith(REPORT_MARKER):
                return [Result(**row) for row in json.loads(line[len(REPORT_MARKER):])]
    return None


def _blame_answer_cells(rows, listed, errors):
    """An exercise whose own answer cell stopped with an error is failed for that reason."""
    by_id = {exercise.grade_id: exercise for exercise in listed}
    for row in rows:
        exercise = by_id.get(row.grade_id)
        broken = [errors[index] for index in (exercise.answer_cells if exercise else ()) if index in errors]
        if broken and row.status != PASSED:
            name, value = broken[0]
            row.status, row.reason = FAILED, f"your answer cell stops with {name}: {value}"
        elif row.status == NOT_RUN:
            row.reason += " (a cell above it stopped with an error)"


def _describe(cells, index, listed):
    """Name a cell as a learner finds it: the answer to an exercise, or the heading above it."""
    if index is None or index >= len(cells):
        return "a cell"
    if index == len(cells) - 1:
        return "the progress summary"
    for exercise in listed:
        if index in exercise.answer_cells:
            return f"your answer to {exercise.label}"
    heading = next((title for cell in reversed(cells[:index]) if cell.cell_type == "markdown"
                    for title in reversed(list(_headings(cell.source)))), None)
    first = next((line.strip() for line in cells[index].source.splitlines() if line.strip()), "")
    return f"the cell under “{heading}” that starts `{first[:40]}`" if heading else f"the cell starting `{first[:40]}`"


def _first_line(text):
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def workspace_table(runs):
    """One table for all chapters, then the exercises that fail with their one-line reason."""
    width = max([len("chapter")] + [len(run.chapter) for run in runs])
    lines = [f"  {'chapter':<{width}}  exercises passed  visible points"]
    todo, problems = [], []
    for run in runs:
        graded = [row for row in run.rows if not row.written]
        passed = [row for row in graded if row.status == PASSED]
        if run.fatal:
            lines.append(f"  {run.chapter:<{width}}  could not run: {run.fatal}")
            continue
        earned, total = sum(row.points for row in passed), sum(row.points for row in graded)
        note = "  not started" if graded and all(row.status == NOT_ATTEMPTED for row in graded) else ""
        lines.append(f"  {run.chapter:<{width}}  {f'{len(passed)} / {len(graded)}':<16}  "
                     f"{_points(earned)} / {_points(total)}{note}")
        if not note:
            todo += [(run.chapter, row) for row in graded if row.status != PASSED]
        problems += [f"  {run.chapter}: {problem}" for problem in run.problems]
    written = [row for run in runs for row in run.rows if row.written]
    if todo:
        label_width = max(len(row.label) for _, row in todo)
        lines += ["", "Exercises to finish (each check cell in the notebook shows the whole message):"]
        lines += [f"  {chapter:<{width}}  {row.label:<{label_width}}  {_status(row)}" for chapter, row in todo]
    if problems:
        lines += ["", "Cells that could not run:", *problems]
    if written:
        answered = sum(row.status == "answered" for row in written)
        lines += ["", f"Written answers: {answered} of {len(written)} answered; your instructor grades them."]
    lines += ["", CLOSING]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gdlib.progress", description=(
        "Run every chapter notebook of a workspace headless, as saved, and print which exercises pass "
        "their visible checks. Nothing is written to the notebooks."))
    parser.add_argument("workspace", nargs="?", default="workspace", help="the folder `make lab` copied the course to")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may run (default 300)")
    arguments = parser.parse_args(argv)
    notebooks = chapter_notebooks(arguments.workspace)
    if not notebooks:
        print(f"No chapter notebooks in {arguments.workspace}/: `make lab` copies the course there.", file=sys.stderr)
        return 2
    print(f"Running the {len(notebooks)} chapter notebooks in {arguments.workspace}/ as saved "
          "(save your work in JupyterLab first); this can take a few minutes.")
    runs = []
    for path in notebooks:
        runs.append(run_notebook(path, arguments.timeout))
        print(f"  {path.stem}: {runs[-1].seconds:.0f} s", flush=True)
    print()
    print(workspace_table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
