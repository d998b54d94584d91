"""grading.tamper keys on qualified names, resolved through the notebook's imports and aliases."""

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grading import tamper

pytestmark = pytest.mark.unit

STACK = "inspects the call stack (could read the hidden tests)"
FRAME = "inspects the caller's frame (could read the hidden tests)"
SHELL = "runs a shell command"
GC = "walks the garbage collector (could reach the tests' objects)"
GETENV = "reads environment variables (looking for the grading environment?)"
ENVIRON = "reads os.environ (looking for the grading environment?)"
CTYPES = "calls into ctypes (raw memory access)"

FLAGGED = [
    # the call stack and frames, however the function is reached
    ("import inspect\ninspect.stack()", STACK),
    ("import inspect as I\nI.stack()", STACK),
    ("from inspect import stack as s\ns()", STACK),
    ("from inspect import stack\nstack()", STACK),
    ("import inspect\nf = inspect.currentframe()", FRAME),
    ("import sys\nsys._getframe(1)", FRAME),
    ("from sys import _getframe\n_getframe(1)", FRAME),
    ("S = sys\nS._getframe()", FRAME),
    ("g = sys._getframe\ng()", FRAME),
    ("S, O = sys, os\nS._getframe()", FRAME),
    ("def peek():\n    import sys as S\n    return S._getframe(2)", FRAME),
    ("__import__('inspect').stack()", STACK),
    ("import importlib\nimportlib.import_module('inspect').stack()", STACK),
    ("from importlib import import_module as load\nload('sys')._getframe()", FRAME),
    ("getattr(sys, '_getframe')()", FRAME),
    ("getattr(__import__('inspect'), 'stack')()", STACK),
    # shells, the garbage collector, the environment, raw memory
    ("import os\nos.system('ls')", SHELL),
    ("import os as O\nO.popen('ls')", SHELL),
    ("from os import *\nsystem('ls')", SHELL),
    ("import subprocess\nsubprocess.run(['ls'])", SHELL),
    ("from subprocess import check_output as co\nco('ls')", SHELL),
    ("import gc\ngc.get_referrers(checks)", GC),
    ("from gc import get_objects\nget_objects()", GC),
    ("os.getenv('HOME')", GETENV),
    ("from os import getenv as env\nenv('NBGRADER')", GETENV),
    ("os.environ['HOME']", ENVIRON),
    ("import os as O\nO.environ.get('HOME')", ENVIRON),
    ("from os import environ\nenviron.get('HOME')", ENVIRON),
    ("__import__('os').environ", ENVIRON),
    ("getattr(os, 'environ')", ENVIRON),
    ("import ctypes\nctypes.memmove(a, b, 8)", CTYPES),
    ("import ctypes", "imports ctypes"),
    # sys.modules, builtins and the course's modules
    ("sys.modules", "touches sys.modules"),
    ("sys.modules['numpy'] = fake", "patches sys.modules['numpy']"),
    ("from sys import modules\nmodules['numpy'] = fake", "touches sys.modules"),
    ("import builtins\nbuiltins.abs = f", "patches builtins.abs"),
    ("import builtins as B\nB.print = f", "patches B.print"),
    ("__builtins__.len = f", "patches __builtins__.len"),
    ("__import__('builtins').abs = f", "patches __import__('builtins').abs"),
    ("np = fake\nnp.allclose = f", "patches np.allclose"),
    ("import numpy as N\nN.testing.assert_allclose = f", "patches N.testing.assert_allclose"),
    # setattr and delattr on guarded modules
    ("setattr(np, 'allclose', f)", "patches np.allclose via setattr"),
    ("import numpy as N\nsetattr(N.testing, 'assert_allclose', f)", "patches N.testing.assert_allclose via setattr"),
    ("import builtins\nsetattr(builtins, 'abs', f)", "patches builtins.abs via setattr"),
    ("setattr(__builtins__, 'len', f)", "patches __builtins__.len via setattr"),
    ("setattr(checks, 'expect_close', f)", "patches checks.expect_close via setattr"),
    ("from gdlib import checks as C\nsetattr(C, 'expect_true', f)", "patches C.expect_true via setattr"),
    ("setattr(np, name, f)", "patches np via setattr"),
    ("s = setattr\ns(np, 'allclose', f)", "patches np.allclose via setattr"),
    ("delattr(checks, 'expect_close')", "patches checks.expect_close via delattr"),
    ("setattr(__import__('numpy'), 'allclose', f)", "patches __import__('numpy').allclose via setattr"),
    # imports, including by name
    ("import socket", "imports socket (network)"),
    ("__import__('socket').create_connection(('127.0.0.1', 80))", "imports socket (network)"),
    ("import importlib\nimportlib.import_module('builtins')", "imports builtins"),
    ("from inspect import stack", "imports inspect"),
    # probing the grading environment
    ("open('../../../solutions/ch01/ch01.ipynb').read()", "mentions 'solutions/' (probing the grading environment?)"),
    ("open('../../../gradebook.db', 'rb')", "mentions 'gradebook' (probing the grading environment?)"),
]

NOT_FLAGGED = [
    "np.stack([a, b])",
    "import numpy as np\nboth = np.stack([a, b], axis=1)",
    "import numpy\nnumpy.stack([a, b])",
    "from numpy import stack\nstack([a, b])",
    "stack = np.stack\nstack([a, b])",
    "x.stack()",
    "history.stack(axis=0)",
    "def stack(items):\n    return list(items)\n\nstack([1, 2])",
    "def system(x):\n    return x\n\nsystem(3)",
    "frames._getframe()",
    "result.environ",
    "class Point:\n    pass\n\np = Point()\nsetattr(p, 'x', 1)",
    "setattr(my_object, 'field', v)",
    "setattr(self, name, value)",
    "delattr(my_object, 'field')",
    "getattr(my_object, 'field')",
    "a = np.zeros(3).T\na[0] = 1",
    "def predict(input, weight):\n    x = input\n    x[0] = weight\n    return x",
    "x = np.zeros(3)\nx[0] = 1\nW = np.eye(2)\nW[1, 1] -= 0.5",
]


@pytest.mark.parametrize("source, flag", FLAGGED, ids=[source for source, _ in FLAGGED])
def test_tampering_is_flagged(source, flag):
    assert flag in tamper.scan_source(source)


@pytest.mark.parametrize("source", NOT_FLAGGED)
def test_honest_code_is_not_flagged(source):
    assert tamper.scan_source(source) == set()


def test_the_hostile_students_patches_raise_every_flag_the_report_expects():
    patches = ("np.allclose = lambda *a, **k: True\nchecks.expect_close = lambda *a, **k: None\n"
               "import builtins\nbuiltins.abs = lambda x: 0")
    assert tamper.scan_source(patches) == {"patches np.allclose", "patches checks.expect_close",
                                           "patches builtins.abs", "imports builtins"}


def cell(source, grade_id=None, locked=False):
    new = new_code_cell(source)
    if grade_id:
        new.metadata["nbgrader"] = {"grade_id": grade_id, "solution": not locked, "grade": locked,
                                    "locked": locked, "schema_version": 3}
    return new


def test_an_alias_made_in_one_cell_is_resolved_in_the_next():
    nb = new_notebook(cells=[cell("import sys as S\nimport numpy as N"),
                             cell("S._getframe()\nN.stack([a])", "predict")])
    assert tamper.scan(nb) == [f"predict: {FRAME}"]


def test_an_alias_made_in_a_locked_cell_is_resolved_but_the_locked_cell_is_not_scanned():
    nb = new_notebook(cells=[cell("import inspect as I\nI.stack()", "setup", locked=True),
                             cell("I.stack()", "predict")])
    assert tamper.scan(nb) == [f"predict: {STACK}"]


def test_a_students_own_function_defined_in_another_cell_is_not_flagged():
    nb = new_notebook(cells=[cell("def stack(items):\n    return list(items)", "helpers"),
                             cell("stack([1, 2])\nsetattr(history, 'best', 3)", "predict")])
    assert tamper.scan(nb) == []


def test_unparseable_cells_still_raise_their_probes():
    assert tamper.scan_source("open('solutions/x' ") == {"mentions 'solutions/' (probing the grading environment?)"}
