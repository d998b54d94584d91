"""Mutants: named faulty versions of each answer, kept with the instructor's material.

``grading/mutants/<chapter>.py`` holds ``MUTANTS``, a list of ``Mutant``: the answer cell it
changes, a text replacement on the reference answer, and the hint the visible check gives for
it (the key of its entry in the check's ``mistakes={...}`` table), if it has one. They serve
three purposes, all checked by ``make test``:

- every hidden test fails on every mutant of its exercise;
- every mistake-table entry is recognised: with the mutant typed in, the visible check says
  ``Likely mistake: <hint>``;
- ``python -m grading.mutants`` (``make mistakes``) rewrites each literal table value from
  what its mutant really returns, so a table never drifts from the mistake it describes.

``run_chapter`` executes a solutions notebook in process, as the tests and the table writer do.
"""

import ast
import contextlib
import importlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grading.preprocessors import is_graded_test, without_hidden_tests

ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)


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


def write_tables(chapter, log=print):
    """Rewrite the literal values of ``chapter``'s mistake tables from what each mutant returns."""
    path = ROOT / "solutions" / chapter / f"{chapter}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if is_graded_test(c)}
    owners, changed = exercises(chapter), 0
    for mutant in mutants_of(chapter):
        if not mutant.hint:
            continue
        for grade_id in [g for g, owner in owners.items() if owner == mutant.cell]:
            got = _recorded_got(chapter, mutant, grade_id)
            if got is not None:
                source, count = _replace_value(cells[grade_id].source, mutant.hint, got)
                cells[grade_id].source, changed = source, changed + count
    nbformat.write(nb, path)
    log(f"{chapter}: {changed} mistake values rewritten")


def _recorded_got(chapter, mutant, grade_id):
    """The value the mutant gives at the visible check whose table names its hint, or None."""
    from gdlib import checks

    seen, original = [], checks.expect_close

    def recording(got, expected, **options):
        if mutant.hint in (options.get("mistakes") or {}):
            seen.append(got)
        return original(got, expected, **options)

    checks.expect_close = recording
    try:
        run_chapter(chapter, mutant.apply(reference_answers(chapter)), until=grade_id)
    finally:
        checks.expect_close = original
    return seen[0] if seen else None


def _replace_value(source, hint, got):
    """Replace the literal value of ``hint`` in the cell's mistake tables; return (source, changes)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and key.value == hint:
                try:
                    stored = ast.literal_eval(value)
                except ValueError:
                    return source, 0  # an expression: kept, and still checked by the tests
                if _equal(stored, got):
                    return source, 0
                start = _offset(source, value.lineno, value.col_offset)
                end = _offset(source, value.end_lineno, value.end_col_offset)
                return source[:start] + _literal(got) + source[end:], 1
    return source, 0


def _offset(source, line, column):
    lines = source.splitlines(keepends=True)
    return sum(len(text) for text in lines[: line - 1]) + len(lines[line - 1].encode()[:column].decode())


def _equal(stored, got):
    import numpy as np

    try:
        return bool(np.allclose(np.asarray(stored, dtype=float), np.asarray(got, dtype=float), rtol=1e-10, atol=1e-12))
    except (TypeError, ValueError):
        return False


def _literal(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    number = float(f"{float(value):.12g}")
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
