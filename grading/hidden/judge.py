"""The judge: what hidden tests use to ask for evidence and to decide on it, outside the kernel.

A hidden test is a generator function named after its test cell, taking a NumPy ``rng`` the
grader seeds fresh for every run. It yields the requests it wants answered (``call``: the
student's function on inputs the test chose; a grade never reads a variable, which a submission
can set to anything), receives one ``Result`` per request, and raises ``Failed`` with a message the
learner can act on, or returns to pass::

    def predict_multiplies(rng):
        cases = rng.normal(0, 5, size=(25, 2)).tolist()
        results = yield [call("predict", x, w) for x, w in cases]
        for (x, w), result in zip(cases, results):
            result.expect_near(x * w)

A test that rests on others asks again what they ask, on fresh inputs: ``yield from
again(rng, batch_update_is_mean_of_sample_updates)``; each round is one execution in the kernel.

Everything here runs in the grading process (or, for an instructor's own solutions, in
process): the evidence is hostile plain data, read only through ``Result``.
"""

import copy
import json
from dataclasses import dataclass, field

import numpy as np

from grading.hidden import collector

MAX_EVIDENCE_CHARS = 50_000_000
MAX_ROUNDS = 16  # of requests one hidden test may send the kernel


class Failed(AssertionError):
    """A hidden test failed; the message says what was asked, what was expected and what came."""


class NoEvidence(Failed):
    """The kernel produced no usable evidence for a test cell."""


@dataclass
class Request:
    kind: str  # "call": the only question a test can ask (never "what does this name hold")
    name: str
    args: tuple = ()
    label: str = ""

    def plain(self):
        return {"kind": self.kind, "name": self.name, "args": [collector.encode(arg) for arg in self.args]}


def call(function, *args, label=None):
    """Ask the kernel to call the student's ``function`` with fresh copies of ``args``.

    The request keeps its own copy, made before any call: its label and ``expect_unchanged``
    quote the arguments as they were, whatever the student's code or the test does to them later.
    """
    args = copy.deepcopy(args)
    shown = ", ".join(show(arg) for arg in args)
    return Request("call", function, args, label or f"{function}({shown})")


def seeded_rng(seed):
    """An argument the kernel receives as a fresh ``np.random.default_rng(seed)``."""
    return collector.SeededRng(seed)


@dataclass
class Result:
    """What the kernel reported for one request, read defensively."""
    request: Request
    record: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.request.label

    def value(self):
        """The decoded result; ``Failed`` if the call raised or the name is missing."""
        record = self.record
        if "missing" in record:
            raise Failed(f"{self.request.name} is not defined: run its cell (and the cells above it) first.")
        if "not_callable" in record:
            raise Failed(f"{self.request.name} is not a function.")
        if "raised" in record:
            raise Failed(f"{self.name} raised {record['raised']}")
        got = collector.decode(record.get("result"))
        if isinstance(got, collector.Unsupported):
            raise Failed(f"{self.name} returned {got}: return plain numbers, lists or NumPy arrays.")
        return got

    def number(self):
        """The result as a float; ``Failed`` unless it is one number."""
        got = self.value()
        if isinstance(got, np.ndarray) and got.shape == ():
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise Failed(f"{self.name} should return one number, got {show(got)}.")
        return float(got)

    def array(self, shape=None):
        """The result as a float64 array (of ``shape`` if given); ``Failed`` if it is not numbers."""
        got = self.value()
        try:
            array = np.array(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Failed(f"{self.name} should return numbers, got {show(got)}.") from None
        if shape is not None and array.shape != tuple(shape):
            raise Failed(f"{self.name} should have shape {tuple(shape)}, got shape {array.shape}.")
        return array

    def argument_after(self, index):
        """Argument ``index`` as the student's function left it."""
        return collector.decode(self.record.get("args_after", [None] * (index + 1))[index])

    def returned_argument(self, index):
        return index in self.record.get("returned_argument", [])

    def expect_near(self, want, rtol=1e-9, atol=1e-12, hint="", mistakes=()):
        got = self.array() if np.ndim(want) else self.number()
        expect_near(got, want, self.name, rtol, atol, hint, mistakes)

    def expect_unchanged(self, index, what="the list it was given", advice="build a new one and return it instead."):
        if not same(self.argument_after(index), self.request.args[index]):
            raise Failed(f"{self.name} changed {what}: {advice}")

    def expect_new_object(self, index, what="list"):
        if self.returned_argument(index):
            raise Failed(f"{self.name} returned the {what} it was given: return a new {what}.")


def expect_near(got, want, name, rtol=1e-9, atol=1e-12, hint="", mistakes=()):
    """Fail unless ``got`` is within tolerance of ``want`` (numbers or arrays of the same shape).

    A failure message ends with ``hint`` (the rule the answer breaks) and, when ``got`` matches
    the value of one of ``mistakes`` (pairs of description and wrong value), that mistake.
    """
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise Failed(f"{name} should have shape {want.shape}, got shape {got.shape}.")
    bad = ~(np.abs(got - want) <= atol + rtol * np.abs(want))
    if not bad.any():
        return
    if got.ndim == 0:
        message = f"{name} should be {show(want)}, got {show(got)}."
    else:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        message = (f"{name} is wrong at index {list(first)} ({int(bad.sum())} of {bad.size} entries): "
                   f"expected {show(want[first])}, got {show(got[first])}.")
    likely = next((text for text, wrong in mistakes if wrong is not None and np.shape(wrong) == got.shape
                   and np.allclose(got, wrong, rtol=1e-7, atol=1e-10)), "")
    raise Failed(" ".join(filter(None, [message, hint, likely and f"Likely mistake: {likely}"])))


def expect(condition, message):
    if not condition:
        raise Failed(message)


def plural(count, word):
    """'1 entry', '3 entries', '2 numbers'."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def same(a, b):
    """Exact equality of two plain values (numbers, nested lists or arrays)."""
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def show(value):
    """A short text for a number, a list or an array, for messages."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"an array of shape {value.shape}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, separator=", ")
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(item) for item in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)[:80]


def read_evidence(outputs, token):
    """The records of the one evidence output carrying ``token``; ``NoEvidence`` otherwise."""
    found = [o for o in outputs if o.get("output_type") == "display_data" and collector.MIME in o.get("data", {})]
    texts = [o["data"][collector.MIME] for o in found]
    if not texts:
        raise NoEvidence("the hidden test produced no result (did the kernel stop or the cell time out?)")
    if len(texts) > 1:
        raise NoEvidence("the hidden test's result was reported more than once: the code under test must not "
                         "publish grader output")
    text = texts[0]
    if not isinstance(text, str) or len(text) > MAX_EVIDENCE_CHARS:
        raise NoEvidence("the hidden test's result was too large to read")
    try:
        evidence = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python parses
        raise NoEvidence("the hidden test's result was not readable") from None
    if (not isinstance(evidence, dict) or evidence.get("token") != token
            or not isinstance(evidence.get("records"), list)):
        raise NoEvidence("the hidden test's result did not come from this run of this cell")
    return evidence["records"]


def again(rng, *tests):
    """Ask what each of ``tests`` asks, on fresh inputs: a test cell whose points rest on theirs.

    A failure names the test it came from, so the learner knows which function to fix.
    """
    for test in tests:
        try:
            yield from test(rng)
        except NoEvidence:
            raise
        except Failed as failure:
            raise Failed(f"this cell rests on the test {test.__name__}, which fails again on fresh inputs: "
                         f"{failure}") from None


def decide(test, rng, gather):
    """Run one hidden test: ``gather(plain requests)`` returns the records; return None or the failure message.

    A test may ask in several rounds (``yield from`` the tests it builds on): at most MAX_ROUNDS.
    """
    steps = test(rng)
    try:
        requests = next(steps)
        for _ in range(MAX_ROUNDS):
            records = gather([request.plain() for request in requests])
            if not isinstance(records, list) or len(records) != len(requests):
                raise NoEvidence("the hidden test's result does not match its questions")
            results = [Result(request, record if isinstance(record, dict) else {})
                       for request, record in zip(requests, records)]
            requests = steps.send(results)
    except StopIteration:
        return None
    except Failed as failure:
        return str(failure)
    except Exception as error:  # evidence of a shape the test did not expect: a wrong answer, never a pass
        return f"the hidden test could not read the answer ({type(error).__name__}: {str(error)[:200]})"
    return "the hidden test did not finish"
