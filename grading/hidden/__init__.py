"""Hidden tests: one module per chapter (``grading/hidden/<chapter>.py``), one test per graded cell.

A test is a generator function named after the grade id of its test cell (see ``judge``).
In the solutions notebook, the hidden region of that cell is one uniform line::

    ### BEGIN HIDDEN TESTS
    from grading import hidden; hidden.check("ch01_one_weight", "predict_multiplies", globals())
    ### END HIDDEN TESTS

which runs the test in process when an instructor executes the solutions (nbval, Validate).
When a submission is autograded, that line never reaches the student's kernel: the grader
(``grading.preprocessors.JudgedExecute``) asks the kernel for evidence through the collector
and decides in its own process. Nothing here is shipped to learners.
"""

import importlib
import json
import secrets

import numpy as np

from grading.hidden import collector, judge

HIDDEN_LINE = 'from grading import hidden; hidden.check("{chapter}", "{test}", globals())'


def find(chapter, test):
    """The hidden test function of ``chapter``'s test cell ``test``; KeyError if there is none."""
    module = importlib.import_module(f"grading.hidden.{chapter}")
    function = getattr(module, test, None)
    if function is None or not callable(function):
        raise KeyError(f"grading/hidden/{chapter}.py has no hidden test {test!r}")
    return function


def tests_of(chapter):
    """Map each hidden test name of ``chapter`` to its function, in the module's order."""
    module = importlib.import_module(f"grading.hidden.{chapter}")
    return {name: function for name, function in vars(module).items()
            if callable(function) and getattr(function, "__module__", "") == module.__name__
            and not name.startswith("_")}


def run_in_process(chapter, test, namespace, seed=None):
    """Run a hidden test against ``namespace`` in this process; return None or the failure message.

    The evidence still goes through JSON, as it does from a kernel.
    """
    seed = secrets.randbits(64) if seed is None else seed

    def gather(requests):
        return json.loads(json.dumps(collector.collect(requests, namespace)))

    return judge.decide(find(chapter, test), np.random.default_rng(seed), gather)


def check(chapter, test, namespace):
    """Run a hidden test in process (the instructor's own solutions); AssertionError if it fails."""
    message = run_in_process(chapter, test, namespace)
    if message:
        raise judge.Failed(f"hidden test {test}: {message}")
