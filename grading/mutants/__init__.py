"""Mutants: named faulty versions of each answer, kept with the instructor's material.

``grading/mutants/<chapter>.py`` holds ``MUTANTS``, a list of ``Mutant``: the answer cell it
changes, a text replacement on the reference answer, and the hint the visible check gives for
it, if it has one. They serve three purposes, all checked by ``make test``:

- every hidden test fails on every mutant of its exercise;
- ``python -m grading.mutants`` (``make mistakes``) writes the visible checks' mistake tables,
  ``gdlib/mistakes/<chapter>.json``: each hint, under its exercise and the name of the check
  that fails first with the mutant typed in, with the value the mutant really returns there.
  The learner's gdlib reads them (``checks.mistakes_of``); no check cell lists them;
- every hint is recognised: with the mutant typed in, the visible check says
  ``Likely mistake: <hint>``, and a test fails when the file drifts from the mutants.

``run_chapter`` executes a solutions notebook in process, as the tests and the table writer do.
"""

import contextlib
import importlib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grading.preprocessors import is_graded_test, without_hidden_tests

ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)
EXERCISE_LINE = re.compile(r'checks\.exercise\("([^"]+)"')
HEADER_KEY = "_generated"


@dataclass(frozen=True)
class Mutant:
    name: str
    cell: str  # grade id of the answer cell it changes
    old: str
    new: str
    hint: str = ""  # the visible check's "Likely mistake" for it; empty when the check cannot tell

    def apply(self, answers):
        source = answers[self.cell]
        if self.old not in source:
            raise ValueError(f"mutant {self.name}: {self.old!r} is not in the answer to {self.cell}")
        return dict(answers, **{self.cell: source.replace(self.old, self.new)})


def mutants_of(chapter):
    return importlib.import_module(f"grading.mutants.{chapter}").MUTANTS


def alternatives_of(chapter):
    """Correct answers written differently (loops vs NumPy, tuples vs lists): full marks for each."""
    return importlib.import_module(f"grading.mutants.{chapter}").ALTERNATIVES


def alternative_answers(chapter):
    """The reference answers with the first alternative of every exercise that has one typed in."""
    answers = reference_answers(chapter)
    for alternative in {a.cell: a for a in reversed(alternatives_of(chapter))}.values():
        answers = alternative.apply(answers)
    return answers


def notebook(chapter):
    return nbformat.read(ROOT / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)


def reference_answers(chapter):
    """Map each answer cell's grade id to the reference answer, without solution markers."""
    return {cell.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
            for cell in notebook(chapter).cells if cell.metadata.get("nbgrader", {}).get("solution")}


def exercises(chapter):
    """Map each graded test cell's grade id to the answer cell it follows (its exercise)."""
    owner, found = None, {}
    for cell in notebook(chapter).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            owner = meta["grade_id"]
        elif is_graded_test(cell):
            found[meta["grade_id"]] = owner
    return found


@dataclass
class ChapterRun:
    namespace: dict
    failures: dict  # grade id (or "cell <index>") -> the error the cell raised
    first_failures: list = field(default_factory=list)  # see run_mutant


def run_chapter(chapter, answers=None, until=None):
    """Execute ``chapter``'s code cells in one namespace, with ``answers`` typed into the answer cells.

    Test cells run their visible checks only. Errors are collected, not raised (by grade id, or
    ``cell <index>`` for other cells), and execution goes on, as when nbgrader grades.
    Execution stops after the test cell ``until`` (default: the whole notebook).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    answers = reference_answers(chapter) if answers is None else answers
    namespace, failures = {"__name__": "__main__", "display": lambda *args, **kwargs: None}, {}
    with contextlib.redirect_stdout(io.StringIO()):
        _run_cells(chapter, answers, until, namespace, failures)
    plt.close("all")
    return ChapterRun(namespace, failures)


def _run_cells(chapter, answers, until, namespace, failures):
    for index, cell in enumerate(notebook(chapter).cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = answers[meta["grade_id"]] if meta.get("solution") else without_hidden_tests(cell.source)
        try:
            exec(compile(_without_magics(source), f"<{meta.get('grade_id', 'cell')}>", "exec"), namespace)
        except Exception as error:  # recorded, and execution goes on, as nbgrader does
            failures[meta.get("grade_id", f"cell {index}")] = f"{type(error).__name__}: {error}"
        if until is not None and meta.get("grade_id") == until:
            break


def _without_magics(source):
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def exercise_label(source):
    """The exercise a check cell names on its first line, ``checks.exercise("<label>", ...)``, or None."""
    found = EXERCISE_LINE.match(source)
    return found.group(1) if found else None


def run_mutant(chapter, mutant):
    """Run ``chapter`` with ``mutant`` typed in, up to its exercise's last test cell.

    The run's ``first_failures`` lists, for each test cell of the exercise, where its first
    failing ``expect_close`` was: (exercise label, check name, the value the mutant gave).
    """
    from gdlib import checks

    owned = [test for test, owner in exercises(chapter).items() if owner == mutant.cell]
    seen, originals = [], (checks.expect_close, checks.call)

    def record(name, value):
        cell = _calling_cell()
        if cell in owned and cell not in [c for c, *_ in seen]:
            seen.append((cell, checks._current["exercise"], name, value))

    def expect_close(got, expected, **options):
        try:
            return originals[0](got, expected, **options)
        except checks.CheckFailed:
            try:
                record(options["name"], _plain(got))
            except (TypeError, ValueError):  # None, text: no value to name
                pass
            raise

    def call(function, *args, name):
        try:
            return function(*args)
        except Exception as error:  # what the mutant raises, recorded, then checked as usual
            record(name, {"raises": f"{type(error).__name__}: {error}"})

            def again(error=error):  # the same error again, without calling the answer twice
                raise error
            return originals[1](again, name=name)

    checks.expect_close, checks.call = expect_close, call
    try:
        run = run_chapter(chapter, mutant.apply(reference_answers(chapter)), until=owned[-1])
    finally:
        checks.expect_close, checks.call = originals
    run.first_failures = [record[1:] for record in seen]
    return run


def _calling_cell():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<") and name.endswith(">"):
            return name[1:-1]
        frame = frame.f_back
    return None


def _plain(got):
    import numpy as np

    array = np.asarray(got, dtype=float)
    return array.item() if array.ndim == 0 else array.tolist()


def tables_of(chapter):
    """The mistake tables ``chapter``'s mutants give: {exercise: {check name: {hint: value}}}, in mutant order."""
    tables = {}
    for mutant in mutants_of(chapter):
        if not mutant.hint:
            continue
        for label, name, got in run_mutant(chapter, mutant).first_failures:
            entry = tables.setdefault(label, {}).setdefault(name, {})
            if mutant.hint in entry and not _equal(entry[mutant.hint], got):
                raise ValueError(f"{chapter}: two mutants give {label} / {name} different values for {mutant.hint!r}")
            entry[mutant.hint] = got
    return tables


def table_path(chapter):
    return ROOT / "gdlib" / "mistakes" / f"{chapter}.json"


def read_tables(chapter):
    """The tables in ``gdlib/mistakes/<chapter>.json`` (empty if there is none), without the header."""
    path = table_path(chapter)
    tables = json.loads(path.read_text()) if path.exists() else {}
    tables.pop(HEADER_KEY, None)
    return tables


def write_tables(chapter, log=print):
    """Write ``gdlib/mistakes/<chapter>.json`` from what each mutant of ``chapter`` returns."""
    tables = tables_of(chapter)
    path = table_path(chapter)
    path.parent.mkdir(exist_ok=True)
    path.write_text(_json(tables, chapter))
    count = sum(len(entry) for names in tables.values() for entry in names.values())
    log(f"{chapter}: {count} mistakes written to {path.relative_to(ROOT)}")


def _json(tables, chapter):
    """The tables as JSON, one line per mistake (its value on that line, however long)."""
    def text(value):
        return json.dumps(value, ensure_ascii=False)

    header = f"made by make mistakes from grading/mutants/{chapter}.py: do not edit"
    lines = ["{", f"  {text(HEADER_KEY)}: {text(header)}"]
    for label, names in tables.items():
        lines[-1] += ","
        lines.append(f"  {text(label)}: {{")
        for k, (name, entry) in enumerate(names.items()):
            lines.append(f"    {text(name)}: {{")
            lines += [f"      {text(hint)}: {text(_rounded(got))}" + ("," if i < len(entry) - 1 else "")
                      for i, (hint, got) in enumerate(entry.items())]
            lines.append("    }" + ("," if k < len(names) - 1 else ""))
        lines.append("  }")
    return "\n".join(lines + ["}", ""])


def _rounded(value):
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    number = float(f"{float(value):.12g}")
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def _equal(stored, got):
    import numpy as np

    if isinstance(stored, dict) or isinstance(got, dict):
        return stored == got
    try:
        return bool(np.allclose(np.asarray(stored, dtype=float), np.asarray(got, dtype=float), rtol=1e-10, atol=1e-12))
    except (TypeError, ValueError):
        return False
