"""Build student submissions from the release notebooks, as a student would hand them in."""

import re

import nbformat

from conftest import release_notebook, solution_notebook

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def reference_answers(chapter):
    """Map each answer cell's grade_id to what a student who knows the answer would type."""
    answers = {}
    for cell in nbformat.read(solution_notebook(chapter), as_version=4).cells:
        if nbgrader_meta(cell).get("solution"):
            answers[nbgrader_meta(cell)["grade_id"]] = SOLUTION_MARKERS.sub("", cell.source)
    return answers


def answered(chapter, answers=None):
    """The release notebook with ``answers`` (grade_id -> source) typed into its answer cells.

    With ``answers=None`` the notebook is handed in untouched.
    """
    nb = nbformat.read(release_notebook(chapter), as_version=4)
    for cell in nb.cells:
        if answers is not None and nbgrader_meta(cell).get("solution"):
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    return nb


def with_mistake(answers, cell, old, new):
    """Return a copy of ``answers`` where the answer to ``cell`` has ``old`` replaced by ``new``."""
    assert old in answers[cell], f"{old!r} is not in the answer to {cell}"
    return dict(answers, **{cell: answers[cell].replace(old, new)})


def points_of(chapter):
    """Map each autograded test cell's grade_id to its points."""
    cells = nbformat.read(solution_notebook(chapter), as_version=4).cells
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
            for c in cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")}
