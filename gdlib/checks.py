"""Visible checks for exercises: compare an answer and say exactly what is wrong.

Every check raises ``CheckFailed`` (an ``AssertionError``, so nbgrader counts it
as a failed test) with a message that names the exercise, what was expected, what
came, where the first difference is, and the likely mistake when it recognises one.

A chapter's setup cell names the chapter (``checks.chapter("ch01_one_weight")``) and each
check cell opens by naming its exercise (``checks.exercise("Exercise 1.4 step", ...)``).
The classic mistakes ``expect_close`` recognises live in ``gdlib/mistakes/<chapter>.json``,
keyed by exercise and check name; ``make mistakes`` writes them from what each mistake,
typed into the reference answer, really returns (see grading/mutants/).
"""

import contextlib
import copy
import json
import traceback
from importlib import resources

import numpy as np

HIDDEN_TESTS_NOTE = "Hidden tests will also run on fresh inputs when your notebook is graded."


_current = {"chapter": None, "exercise": None}


def chapter(name):
    """Use chapter ``name``'s mistake tables for the checks that follow (the setup cell calls it).

    In a notebook it also makes an answer that is not written yet (it still raises the released
    ``raise NotImplementedError()``) show as a few short lines saying so, not as a traceback.
    """
    _current.update(chapter=name, exercise=None)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError,), _show_unwritten_answer)


RELEASED_STUB = "raise NotImplementedError()"


def _show_unwritten_answer(shell, etype, value, tb, tb_offset=None):
    """IPython's rendering of a NotImplementedError: a few short lines for a released stub, else as
    usual. It shows the error itself (an error output, so nbgrader still counts the cell as failed)."""
    lines = unwritten_answer_message(tb)
    red, plain = "\x1b[1;31m", "\x1b[0m"
    if lines is None:
        shown = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    else:
        shown = [f"{red}Not written yet:{plain} {lines[0]}", *lines[1:]]
    shell._showtraceback(etype, value, shown)
    return shown


def unwritten_answer_message(tb):
    """What to do, in short lines, when the innermost frame of ``tb`` is a released stub; else None."""
    frames = traceback.extract_tb(tb)
    if not frames or (frames[-1].line or "").strip() != RELEASED_STUB:
        return None
    function, label = frames[-1].name, _current["exercise"]
    return [label if label and label.split()[-1] == function else function,
            f"{function} still raises NotImplementedError, as it was handed out.",
            f"Write your code in its answer cell in place of `{RELEASED_STUB}`,",
            "run that cell, then run this one again."]


def exercise(label, what=""):
    """Start the checks of one exercise: failures name ``label`` first, and its mistake tables apply.

    ``what`` says in a few words what the checks check, for whoever reads the cell.
    """
    _current["exercise"] = label


@contextlib.contextmanager
def no_exercise_named():
    """Checks run inside start with no exercise named (a cell that names none inherits no label);
    afterwards the exercise named before is current again (gdlib.progress re-runs checks so)."""
    named = _current["exercise"]
    _current["exercise"] = None
    try:
        yield
    finally:
        _current["exercise"] = named


def mistakes_of(name, chapter_name=None, exercise_label=None):
    """The mistake table of the check ``name`` in the current exercise: {description: wrong value}."""
    chapter_name = chapter_name or _current["chapter"]
    exercise_label = exercise_label or _current["exercise"]
    if not chapter_name or not exercise_label:
        return {}
    return _tables(chapter_name).get(exercise_label, {}).get(name, {})


def _tables(chapter_name):
    path = resources.files("gdlib") / "mistakes" / f"{chapter_name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    if _cache.get(chapter_name, (None,))[0] != text:
        _cache[chapter_name] = (text, json.loads(text))
    return _cache[chapter_name][1]


_cache = {}


class CheckFailed(AssertionError):
    """A visible check failed; the message names the exercise first, then says why.

    In a notebook it shows as its message alone: IPython renders an exception with
    ``_render_traceback_`` by that method, so the learner sees no frames of this module.
    """

    def __init__(self, message="a check failed"):
        label = _current["exercise"]
        if label and not str(message).startswith(label):
            message = f"{label}: {message}"
        super().__init__(message)

    def _render_traceback_(self):
        red, plain = "\x1b[1;31m", "\x1b[0m"
        first, *rest = str(self).splitlines() or ["a check failed"]
        return [f"{red}Check failed:{plain} {first}", *rest]


def expect_close(got, expected, *, name, rtol=1e-6, atol=1e-9, mistakes=None, uses=None):
    """Fail unless ``got`` matches ``expected`` (a number, a list or an array) within tolerance.

    ``mistakes`` maps a description of a classic mistake to the value that mistake
    produces; when ``got`` equals one of them, the message names the mistake. It adds to
    the current exercise's table for ``name`` (``mistakes_of``), which a check cell need not list.
    ``uses`` maps the name of an earlier exercise this answer builds on to a pair
    (call giving its result, expected result); when the answer is wrong and an earlier
    one is too, the message says to fix the earlier one first.
    """
    mistakes = {**mistakes_of(name), **(mistakes or {})}
    got_array = _as_numbers(got, name, expected)
    expected_array = np.asarray(expected, dtype=float)
    if got_array.shape != expected_array.shape:
        _fail_shape(got, got_array, expected_array, name, mistakes)
    if _close(got_array, expected_array, rtol, atol):
        return
    lines = [f"{name} is wrong."]
    lines += _where(got_array, expected_array, rtol, atol)
    lines.append(f"  expected: {_show(expected)}")
    lines.append(f"  got:      {_show(got)}")
    broken = _broken_prerequisite(uses or {})
    hint = None if broken else _recognise(got_array, expected_array, mistakes, rtol, atol)
    lines += [broken] if broken else []
    if hint:
        lines.append(f"Likely mistake: {hint}")
    raise CheckFailed("\n".join(lines))


def _broken_prerequisite(uses):
    for earlier, (call, expected) in uses.items():
        try:
            result = call()
            if _close(np.asarray(result, dtype=float), np.asarray(expected, dtype=float), 1e-6, 1e-9):
                continue
            found = f"it gives {_show(result)} where {_show(expected)} is expected"
        except Exception as error:  # an unfinished or crashing earlier answer
            found = f"it raises {type(error).__name__}"
        return f"Likely cause: this builds on {earlier}, which is not right yet ({found}): fix {earlier} first."
    return None


def expect_true(condition, message):
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def expect_length(got, expected_length, *, name, hint=None):
    """Fail unless ``got`` is a sequence of ``expected_length`` items."""
    if got is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if not hasattr(got, "__len__"):
        raise CheckFailed(
            f"{name} should be a list of {expected_length} items, but it is a {type(got).__name__}: {_show(got)}."
        )
    if len(got) != expected_length:
        message = f"{name} should have {expected_length} items, but it has {len(got)}."
        raise CheckFailed(message + (f"\nLikely mistake: {hint}" if hint else ""))


def expect_unchanged(before, after, *, name, argument=None):
    """Fail if a function changed its argument ``argument`` (``before`` is a deep copy of it)."""
    if not _same(before, after):
        what = f"its argument `{argument}`" if argument else "the list it was given"
        copy_it = f"`{argument} = list({argument})`" if argument else "`weights = list(weights)`"
        raise CheckFailed(
            f"{name} changed {what}: before the call it was {_show(before)}, "
            f"after the call it is {_show(after)}.\n"
            f"Likely mistake: you updated the caller's list in place. Build a new list "
            f"(or copy it first, e.g. {copy_it}) and return that."
        )


def call(function, *args, name):
    """Return ``function(*args)``; if it raises an error the exercise's table knows, fail naming the mistake.

    Any other error is raised as it came, with its traceback into the learner's code.
    """
    try:
        return function(*args)
    except Exception as error:  # the learner's error: named when it is a known mistake
        raised = f"{type(error).__name__}: {error}"
        hint = next((text for text, value in mistakes_of(name).items() if value == {"raises": raised}), None)
        if hint is None:
            raise
        raise CheckFailed(f"{name} raised {raised}\nLikely mistake: {hint}") from None


def snapshot(value):
    """Return a deep copy of ``value`` to compare with ``expect_unchanged`` after a call."""
    return copy.deepcopy(value)


def passed(name):
    """Print that the visible checks of one exercise passed, and that hidden tests remain."""
    print(f"\u2714 {name}: all visible checks passed. {HIDDEN_TESTS_NOTE}")


def _as_numbers(got, name, expected):
    if got is None:
        raise CheckFailed(f"{name} returned None: did you forget the `return` statement?")
    if isinstance(got, (str, bytes)):
        raise CheckFailed(f"{name} should be a number or a list of numbers, but it is the text {got!r}.")
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"{name} should look like {_show(expected)} ({_describe_shape(np.shape(expected))}), "
            f"but it is a {type(got).__name__} that cannot be read as numbers: {_show(got)}."
        ) from None


def _fail_shape(got, got_array, expected_array, name, mistakes):
    lines = [
        f"{name} has the wrong shape: expected {_describe_shape(expected_array.shape)}, "
        f"got {_describe_shape(got_array.shape)}.",
        f"  expected: {_show(expected_array)}",
        f"  got:      {_show(got)}",
    ]
    if got_array.ndim == 2 and got_array.T.shape == expected_array.shape:
        lines.append(
            f"Likely mistake: {name} is transposed (rows and columns swapped)"
            + (": it matches the answer once transposed." if _close(got_array.T, expected_array, 1e-6, 1e-9) else ".")
        )
    else:
        hint = _recognise(got_array, expected_array, mistakes, 1e-6, 1e-9)
        if not hint and got_array.size == expected_array.size and got_array.size > 1 and _close(
                got_array.reshape(expected_array.shape), expected_array, 1e-6, 1e-9):
            hint = (f"the numbers are right but arranged as {_describe_shape(got_array.shape)}: "
                    f"return them as {_describe_shape(expected_array.shape)}.")
        if hint:
            lines.append(f"Likely mistake: {hint}")
    raise CheckFailed("\n".join(lines))


def _recognise(got_array, expected_array, mistakes, rtol, atol):
    for description, wrong_value in (mistakes or {}).items():
        if isinstance(wrong_value, dict):  # an error the answer raises, for `call`
            continue
        wrong_array = np.asarray(wrong_value, dtype=float)
        if wrong_array.shape == got_array.shape and _close(got_array, wrong_array, rtol, atol):
            return description
    if got_array.ndim == 2 and got_array.shape == got_array.T.shape and _close(got_array.T, expected_array, rtol, atol):
        return "the matrix is transposed (rows and columns swapped)."
    if np.any(expected_array != 0) and _close(got_array, -expected_array, rtol, atol):
        return "the sign is flipped: every number has the right size but the opposite sign."
    return None


def _where(got_array, expected_array, rtol, atol):
    if got_array.ndim == 0:
        return []
    bad = ~np.isclose(got_array, expected_array, rtol=rtol, atol=atol)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    index = ", ".join(str(i) for i in first)
    count = int(bad.sum())
    return [
        f"  first wrong entry at index [{index}] ({count} of {bad.size} entries wrong): "
        f"expected {_show(expected_array[first])}, got {_show(got_array[first])}"
    ]


def _close(a, b, rtol, atol):
    """Equal shapes and every entry within tolerance (never broadcast: (3,) is not (3, 3))."""
    if np.shape(a) != np.shape(b):
        return False
    return bool(np.all(np.isfinite(a) == np.isfinite(b))) and bool(
        np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    )


def _same(a, b):
    try:
        return _close(np.asarray(a, dtype=float), np.asarray(b, dtype=float), 0, 0)
    except (TypeError, ValueError):
        return a == b


def _describe_shape(shape):
    if shape == ():
        return "a single number"
    if len(shape) == 1:
        return f"a list of {shape[0]} number" + "s" * (shape[0] != 1)
    return f"shape {shape}"


def _show(value):
    array = np.asarray(value, dtype=object)
    if array.size > 12:
        return f"array of shape {array.shape}"
    if isinstance(value, np.ndarray) or array.ndim > 0:
        try:
            text = np.array2string(np.asarray(value, dtype=float), precision=8, separator=", ",
                                   max_line_width=200, suppress_small=True)
            return text.replace("\n", "\n" + " " * len("  expected: "))  # rows line up under the first
        except (TypeError, ValueError):
            return repr(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return repr(value)
