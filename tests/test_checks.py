"""gdlib.checks: passes what is right, and fails what is wrong with a message that helps."""

import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_mnist import build_wheel

from gdlib import checks

pytestmark = pytest.mark.unit


def failure(function, *args, **kwargs):
    with pytest.raises(checks.CheckFailed) as caught:
        function(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("got, expected", [
    (2.24, 2.24), (2.24 + 1e-9, 2.24), ([1, 2, 3], [1.0, 2.0, 3.0]),
    (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]), ((0.1 + 0.2), 0.3), (np.float32(0.5), 0.5),
])
def test_matching_answers_pass(got, expected):
    checks.expect_close(got, expected, name="x")


def test_check_failed_is_an_assertion_error_so_nbgrader_counts_it():
    assert issubclass(checks.CheckFailed, AssertionError)


def test_wrong_number_names_expected_and_got():
    message = failure(checks.expect_close, 2.5, 2.24, name="step(2, 3, 10, 0.01)")
    assert "step(2, 3, 10, 0.01) is wrong" in message
    assert "expected: 2.24" in message and "got:      2.5" in message


def test_known_mistake_is_named():
    message = failure(checks.expect_close, 1.76, 2.24, name="step", mistakes={"the sign is flipped": 1.76})
    assert "Likely mistake: the sign is flipped" in message


def test_unknown_wrong_value_names_no_mistake():
    assert "Likely mistake" not in failure(checks.expect_close, 7.0, 2.24, name="step", mistakes={"flipped": 1.76})


def test_negated_answer_is_recognised_without_a_hint():
    assert "opposite sign" in failure(checks.expect_close, [-1, 2], [1, -2], name="delta")


def test_first_bad_index_is_reported():
    message = failure(checks.expect_close, [[1, 2], [3, 9], [5, 7]], [[1, 2], [3, 4], [5, 6]], name="m")
    assert "index [1, 1]" in message and "2 of 6 entries wrong" in message


def test_non_square_transpose_is_recognised_from_the_shape():
    expected = np.arange(6).reshape(2, 3)
    message = failure(checks.expect_close, expected.T, expected, name="weight_deltas")
    assert "wrong shape" in message and "transposed" in message


def test_square_transpose_is_recognised_from_the_values():
    expected = [[1, 2], [3, 4]]
    assert "transposed" in failure(checks.expect_close, [[1, 3], [2, 4]], expected, name="weights")


def test_none_means_a_missing_return():
    assert "did you forget the `return` statement" in failure(checks.expect_close, None, 3, name="f(1)")


def test_text_and_ragged_lists_are_explained():
    assert "text '6'" in failure(checks.expect_close, "6", 6, name="f")
    assert "cannot be read as numbers" in failure(checks.expect_close, [[1], [2, 3]], [1, 2, 3], name="f")


def test_nan_never_matches_a_number():
    assert "is wrong" in failure(checks.expect_close, float("nan"), 1.0, name="f")


def test_expect_length_counts_items_and_adds_the_hint():
    checks.expect_length([1, 2, 3], 3, name="h")
    message = failure(checks.expect_length, [1, 2], 3, name="h", hint="include the start")
    assert "should have 3 items, but it has 2" in message and "include the start" in message
    assert "is a int" in failure(checks.expect_length, 5, 3, name="h")


def test_expect_unchanged_catches_in_place_updates():
    weights = [0.1, 0.2]
    before = checks.snapshot(weights)
    checks.expect_unchanged(before, weights, name="update(weights)")
    weights[0] = 9
    assert "changed the list it was given" in failure(checks.expect_unchanged, before, weights, name="update")


def test_expect_true_fails_with_the_given_message():
    checks.expect_true(True, "unused")
    assert failure(checks.expect_true, False, "alpha must be positive") == "alpha must be positive"


def test_passed_says_hidden_tests_remain(capsys):
    checks.passed("predict")
    out = capsys.readouterr().out
    assert "predict: all visible checks passed" in out and "Hidden tests" in out


def test_a_broken_earlier_exercise_is_named_before_any_guess():
    message = failure(checks.expect_close, 2.12, 2.24, name="step", mistakes={"no factor 2": 2.12},
                      uses={"slope": (lambda: -12, -24)})
    assert "builds on slope, which is not right yet (it gives -12 where -24 is expected)" in message
    assert "no factor 2" not in message


def test_a_correct_earlier_exercise_leaves_the_usual_hint():
    message = failure(checks.expect_close, 1.76, 2.24, name="step", mistakes={"sign flipped": 1.76},
                      uses={"slope": (lambda: -24, -24)})
    assert "Likely mistake: sign flipped" in message and "builds on" not in message


def test_an_unfinished_earlier_exercise_is_named():
    def unfinished():
        raise NotImplementedError()
    message = failure(checks.expect_close, 0, 6, name="train", uses={"step": (unfinished, 2.24)})
    assert "step, which is not right yet (it raises NotImplementedError)" in message


def test_a_failing_check_shows_as_its_message_alone_in_a_notebook():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from gdlib import checks\nchecks.expect_close(2.5, 2.24, name='step(2, 3, 10, 0.01)')")])
    NotebookClient(nb, kernel_name="python3", allow_errors=True).execute()
    error, = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    shown = "\n".join(error.traceback)
    assert error.ename == "CheckFailed" and "step(2, 3, 10, 0.01) is wrong" in error.evalue
    assert error.traceback[0].endswith("step(2, 3, 10, 0.01) is wrong.") and "Check failed:" in error.traceback[0]
    assert "Traceback" not in shown and "checks.py" not in shown and "expect_close(" not in shown


def test_an_answer_not_written_yet_shows_as_one_sentence_in_a_notebook():
    import nbformat
    from nbclient import NotebookClient

    cell = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        cell("from gdlib import checks\nchecks.chapter('ch01_one_weight')"),
        cell("def step(weight):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        cell("checks.exercise('Exercise 1.4 step')\nchecks.expect_close(step(2), 2.24, name='step(2)')"),
        cell("def train():\n    raise NotImplementedError()\ntrain()"),  # after 1.4's checks: no stale label
        cell("def other():\n    raise NotImplementedError('not this course')\nother()"),
    ])
    NotebookClient(nb, kernel_name="python3", allow_errors=True).execute()
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    (checked,), (tried,), (other,) = errors[2], errors[3], errors[4]
    assert checked.ename == "NotImplementedError"  # still an error: nbgrader fails the cell
    assert checked.traceback == ["\x1b[1;31mNot written yet:\x1b[0m Exercise 1.4 step",
                                 "step still raises NotImplementedError, as it was handed out.",
                                 "Write your code in its answer cell in place of `raise NotImplementedError()`,",
                                 "run that cell, then run this one again."]
    assert tried.traceback[:2] == ["\x1b[1;31mNot written yet:\x1b[0m train",
                                   "train still raises NotImplementedError, as it was handed out."]
    assert "not this course" in "\n".join(other.traceback) and len(other.traceback) > 1  # any other error: as usual


@pytest.mark.parametrize("got, expected", [(np.arange(9.0), np.arange(9.0).reshape(3, 3)),
                                           ([1, 2, 3], [[1, 2, 3], [1, 2, 3], [1, 2, 3]]),
                                           ([-1, -2, -3], [[1, 2, 3], [1, 2, 3], [1, 2, 3]])])
def test_a_wrong_shape_is_a_clear_failure_even_when_it_broadcasts(got, expected):
    message = failure(checks.expect_close, got, expected, name="weight_deltas")
    assert "weight_deltas has the wrong shape: expected shape (3, 3)" in message
    assert "sign is flipped" not in message


def test_right_numbers_in_the_wrong_shape_are_named():
    message = failure(checks.expect_close, np.arange(9.0), np.arange(9.0).reshape(3, 3), name="W")
    assert "Likely mistake: the numbers are right but arranged as a list of 9 numbers" in message


def test_a_single_number_is_described_in_words():
    message = failure(checks.expect_close, {"a": 1}, 0.86, name="neural_network(input, weights)")
    assert "should look like 0.86 (a single number)" in message and "shape ()" not in message


@pytest.fixture
def exercise_context():
    saved = dict(checks._current)
    yield
    checks._current.update(saved)


def test_a_failure_names_the_exercise_first(exercise_context):
    checks.chapter("ch01_one_weight")
    checks.exercise("Exercise 1.4 step", "moves the weight against the slope")
    message = failure(checks.expect_close, 2.5, 2.24, name="step(2, 3, 10, 0.01)")
    assert message.startswith("Exercise 1.4 step: step(2, 3, 10, 0.01) is wrong.")
    assert failure(checks.expect_true, False, "alpha must be positive").startswith("Exercise 1.4 step: alpha")


def test_the_exercise_table_is_found_by_the_checks_name(exercise_context, tmp_path, monkeypatch):
    table = {"Exercise 9.1 f": {"f(2)": {"you doubled it.": 4}}}
    (tmp_path / "mistakes").mkdir()
    (tmp_path / "mistakes" / "ch99_test.json").write_text(__import__("json").dumps(table))
    monkeypatch.setattr(checks.resources, "files", lambda package: tmp_path)
    checks.chapter("ch99_test")
    checks.exercise("Exercise 9.1 f")
    assert "Likely mistake: you doubled it." in failure(checks.expect_close, 4, 2, name="f(2)")
    assert "Likely mistake" not in failure(checks.expect_close, 4, 2, name="f(3)")
    checks.exercise("Exercise 9.2 g")
    assert "Likely mistake" not in failure(checks.expect_close, 4, 2, name="f(2)")


@pytest.mark.slow  # builds a wheel with pip: seconds
def test_a_wheel_ships_every_chapters_mistake_tables(tmp_path):
    """The hub's student environment installs gdlib from a wheel: the tables must be in it."""
    root = Path(__file__).resolve().parent.parent
    source = tmp_path / "src"
    shutil.copytree(root / "gdlib", source / "gdlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheel = build_wheel(pip, source, tmp_path / "dist")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for chapter in sorted(p.name for p in (root / "solutions").glob("ch*")):
        assert f"gdlib/mistakes/{chapter}.json" in shipped, chapter
