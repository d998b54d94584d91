"""Sample submissions for the tests and the benchmarks: a course folder, and notebooks handed in.

``copy_course`` makes an instructor's course folder (no grading state) to grade in, and
``make_command`` runs its Makefile with this environment. ``answered`` builds a submission from
the release notebook with chosen answers typed in: the reference answers
(``reference_answers``), one mistake (``with_mistake``), lying objects (``liar_answers``), or
each chapter's classic mistake (``MISTAKES``, a mutant of grading/mutants/): autograding must
then fail exactly the test cells in its ``failing`` (the rest get full points), and the feedback
must show its ``message``, the diagnostic the visible check prints.
"""

import ast
import shutil
import sys
from dataclasses import dataclass

import nbformat

from grading.mutants import ROOT, mutants_of, reference_answers  # noqa: F401 (reference_answers: re-exported)

COURSE_FILES = ["Makefile", "nbgrader_config.py"]
COURSE_FOLDERS = ["grading", "lab", "tools"]


def solution_notebook(chapter):
    return ROOT / "solutions" / chapter / f"{chapter}.ipynb"


def release_notebook(chapter):
    return ROOT / "course" / chapter / f"{chapter}.ipynb"


def copy_course(target, chapters):
    """Copy what an instructor's course folder holds (no grading state) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        shutil.copy2(ROOT / name, target / name)
    for folder in COURSE_FOLDERS:
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for chapter in chapters:
        for folder in ["solutions", "course"]:
            shutil.copytree(ROOT / folder / chapter, target / folder / chapter)
    return target


def make_command(*arguments):
    """`make` in a copied course, using this interpreter's environment and never rebuilding it."""
    return ["make", "-o", "env", *arguments, f"VENV={sys.prefix}"]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


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


LIAR = '''
class _Liar:
    """Claims to be whatever number, list or array the caller expected, found in the caller's frames."""

    def _guess(self):
        try:
            raise RuntimeError
        except RuntimeError as error:
            frame = error.__traceback__.tb_frame
        while frame is not None:
            for name, found in list(frame.f_locals.items()):
                if name.lstrip("_") in {"expected", "want", "expected_array", "reference", "ref"}:
                    return found
            frame = frame.f_back
        return 0.0

    def __float__(self):
        return float(np.asarray(self._guess(), dtype=float).ravel()[0])

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._guess(), dtype=dtype)

    def __len__(self):
        return len(np.atleast_1d(np.asarray(self._guess())))

    def __iter__(self):
        return iter(np.atleast_1d(np.asarray(self._guess())).tolist())

    def __getitem__(self, index):
        return np.asarray(self._guess())[index]

    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __gt__ = __eq__
    __hash__ = object.__hash__

    def __getattr__(self, name):
        return getattr(np.asarray(self._guess()), name)


class _LyingList(list):
    """A list whose comparisons and length always agree with the caller."""

    def __eq__(self, other):
        return True

    def __len__(self):
        return 10**6
'''


def liar_answers(chapter):
    """Every graded function replaced by one that returns a lying object instead of an answer."""
    answers = {}
    for grade_id, source in reference_answers(chapter).items():
        try:
            functions = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
        except SyntaxError:  # a written answer
            functions = []
        if not functions:
            answers[grade_id] = source  # a written answer or a variable: handed in as it is
            continue
        lies = [f"def {f.name}(*args, **kwargs):\n    return _Liar()" for f in functions]
        answers[grade_id] = "\n\n".join([LIAR, *lies])
    return answers


@dataclass(frozen=True)
class Mistake:
    chapter: str
    cell: str
    mutant: str
    failing: frozenset
    message: str

    def apply(self, answers):
        """``answers`` with this mistake typed into its cell."""
        found = [m for m in mutants_of(self.chapter) if (m.cell, m.name) == (self.cell, self.mutant)]
        assert len(found) == 1, f"grading/mutants/{self.chapter}.py has no mutant {self.cell}/{self.mutant}"
        return found[0].apply(answers)


MISTAKES = {mistake.chapter: mistake for mistake in [
    Mistake("ch01_one_weight", "step", "uphill", frozenset({"step_goes_downhill", "train_history"}),
            "the sign is flipped: you stepped uphill"),
    Mistake("ch02_multiple_inputs", "update_weights", "in_place",
            frozenset({"update_weights_steps_downhill", "train_history"}),
            "update_weights changed its argument `weights`"),
    Mistake("ch03_freezing_one_weight", "frozen_weight_deltas", "not_frozen",
            frozenset({"frozen_weight_gets_no_delta", "step_frozen_keeps_frozen_weight", "train_frozen_history"}),
            "the frozen weight (index 0, weight a) still gets a weight delta"),
    Mistake("ch04_multiple_outputs", "deltas", "true_minus_pred",
            frozenset({"deltas_pred_minus_true", "train_history"}),
            "the sign is flipped: you computed true - pred"),
    Mistake("ch05_multiple_inputs_outputs", "train_step", "swapped_outer", frozenset({"train_step_outer_delta_input"}),
            "did you call outer_prod(input, delta)?"),
    Mistake("ch06_mnist", "batch_update", "sum_not_mean",
            frozenset({"batch_update_is_mean_of_sample_updates", "trained_network_reads_digits"}),
            "sum instead of mean: you added the weight deltas of the batch"),
    Mistake("ch08_backprop_graph", "backward", "overwritten",
            frozenset({"backward_sums_over_consumers", "minimize_descends_a_convex_loss",
                       "softmax_regression_reads_92_percent"}),  # the training cell runs backward
            "a gradient was overwritten instead of accumulated"),
    Mistake("ch07_datasets", "sigmoid", "naive_overflow", frozenset({"sigmoid_is_stable"}),
            "overflow: 1 / (1 + np.exp(-z)) computes np.exp(1000) for z = -1000"),
]}
