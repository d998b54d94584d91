"""The one piece of hidden-test code that runs in the student's kernel: it only collects evidence.

The judge sends requests ("call predict with these inputs", "read W_trained"); this module
calls the student's functions on them and turns every result into plain data: exact
built-in numbers, strings, lists, tuples, or a copy of a numeric NumPy array. Anything else
is recorded by its type name only. No expected value ever exists in the kernel, so nothing
the student's code returns or patches can learn what would pass.

Self-contained (standard library and NumPy only): the grader sends this file's source into
the sandboxed kernel, which cannot import the grading package. The judge decodes the
evidence with the same ``encode``/``decode`` pair, so both sides share one codec.
"""

import base64
import json

import numpy

MIME = "application/x-gd-evidence"
MAX_DEPTH = 16
MAX_TEXT = 300
NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
SCALARS = (bool, int, float, str)


class SeededRng:
    """An argument that arrives as ``numpy.random.default_rng(seed)``, made fresh in the kernel."""

    def __init__(self, seed):
        self.seed = int(seed)

    def __repr__(self):
        return f"np.random.default_rng({self.seed})"


def encode(value, depth=0):
    """Return ``value`` as JSON-ready plain data (exact types only; subclasses are not trusted)."""
    kind = type(value)
    if kind is SeededRng:
        return {"rng": value.seed}
    if value is None or kind in SCALARS:
        return value[:MAX_TEXT] if kind is str else value
    if depth >= MAX_DEPTH:
        return {"unsupported": "a structure nested too deep"}
    if kind is list:
        return [encode(item, depth + 1) for item in value]
    if kind is tuple:
        return {"tuple": [encode(item, depth + 1) for item in value]}
    if kind is numpy.ndarray and value.dtype.kind in NUMERIC_KINDS:
        data = numpy.array(value, copy=True, order="C")
        return {"ndarray": base64.b64encode(data.tobytes()).decode("ascii"),
                "dtype": data.dtype.name, "shape": list(data.shape)}
    if isinstance(value, numpy.generic) and kind.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        return {"scalar": value.dtype.name, "value": value.item()}
    return {"unsupported": f"{kind.__module__}.{kind.__qualname__}"[:MAX_TEXT]}


def decode(data):
    """Return the value ``encode`` made plain data of; arrays come back as fresh NumPy arrays."""
    if data is None or type(data) in SCALARS:
        return data
    if type(data) is list:
        return [decode(item) for item in data]
    if type(data) is dict and "tuple" in data:
        return tuple(decode(item) for item in data["tuple"])
    if type(data) is dict and "ndarray" in data:
        dtype = numpy.dtype(data["dtype"])
        if dtype.kind not in NUMERIC_KINDS:
            raise ValueError(f"an array of {data['dtype']} is not plain numbers")
        raw = base64.b64decode(data["ndarray"], validate=True)
        return numpy.frombuffer(raw, dtype=dtype).reshape([int(n) for n in data["shape"]]).copy()
    if type(data) is dict and "rng" in data:
        return numpy.random.default_rng(int(data["rng"]))
    if type(data) is dict and "scalar" in data:
        dtype = numpy.dtype(data["scalar"])
        if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 16 or type(data["value"]) not in (bool, int, float):
            raise ValueError(f"a {data['scalar']} scalar is not a plain number")
        return dtype.type(data["value"])
    if type(data) is dict and "unsupported" in data:
        return Unsupported(str(data["unsupported"]))
    raise ValueError(f"not plain data: {str(data)[:80]}")


class Unsupported:
    """A value the collector would not read, known only by its type name."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def collect(requests, namespace):
    """Run each request against the student's ``namespace``; return one plain record per request.

    Interrupted (the grader's timeout), it stops there and says which call it was running."""
    records = []
    for request in requests:
        try:
            records.append(_run(request, namespace))
        except KeyboardInterrupt:
            records.append({"interrupted": True})
            break
    return records


def _run(request, namespace):
    name = request["name"]
    if name not in namespace:
        return {"missing": name}
    function = namespace[name]
    if not callable(function):
        return {"not_callable": True}  # what the name holds never leaves the kernel
    args = [decode(arg) for arg in request["args"]]
    try:
        result = function(*args)
    except Exception as error:  # the student's exception, recorded as text
        return {"raised": _describe(error), "args_after": [encode(arg) for arg in args]}
    return {"result": encode(result), "args_after": [encode(arg) for arg in args],
            "returned_argument": [index for index, arg in enumerate(args) if result is arg]}


def _describe(error):
    try:
        text = str(error)
    except Exception:  # a student's exception whose __str__ fails
        text = ""
    return f"{type(error).__name__}: {text}"[:MAX_TEXT]


def publish(token, records):
    """Show the evidence as one output of the kernel, for the judge to read."""
    from IPython.display import publish_display_data

    publish_display_data({MIME: json.dumps({"token": token, "records": records})})


class TimedOutEarlier(Exception):
    """Raised in place of a call to a function that ran past the cell timeout earlier in the notebook.

    In a notebook it shows as its message alone (IPython renders an exception with
    ``_render_traceback_`` by that method), as gdlib's ``CheckFailed`` does."""

    def _render_traceback_(self):
        return [f"\x1b[1;31mTimed out earlier:\x1b[0m {self}"]


def stopped_message(name, timeout):
    """What a call to ``name`` raises once ``name`` ran past the cell timeout (the grader reads it back)."""
    return f"{name} ran past the {timeout} s cell timeout earlier in this notebook, so it is not called again"


def stop_calling(namespace, timeout, name=None):
    """Make the function that ran past the cell timeout fail at once from now on; return [its name], or [].

    ``name`` given (a hidden test's call, or a replay after a restart), the function it holds; else the
    outermost function of the notebook's own in the traceback of the interrupt that just stopped a cell,
    if that name still holds that very function (``__code__`` identity). A later cell that defines it
    again simply binds the name anew: the new definition gets its own chance."""
    name = name or _interrupted_function(namespace)
    function = namespace.get(name) if name else None
    if not callable(function) or getattr(function, "_gd_timed_out", False):
        return []
    message = stopped_message(name, timeout)

    def stopped(*args, **kwargs):
        raise TimedOutEarlier(message)

    stopped.__name__ = stopped.__qualname__ = name
    stopped.__doc__ = message
    stopped._gd_timed_out = True
    namespace[name] = stopped
    return [name]


def _interrupted_function(namespace):
    """The name of the outermost named function defined in ``namespace`` (the notebook's cells) that the
    last interrupt stopped, if that name still holds that very function; else None. Never a function it
    called: a loop calling a correct function over and over is stopped in that function as often as not."""
    import sys

    if not isinstance(getattr(sys, "last_value", None), KeyboardInterrupt):
        return None
    frames = getattr(sys, "last_traceback", None)
    while frames is not None:
        frame, code = frames.tb_frame, frames.tb_frame.f_code
        if frame.f_globals is namespace and not code.co_name.startswith("<"):  # not a cell, lambda, comprehension
            return code.co_name if getattr(namespace.get(code.co_name), "__code__", None) is code else None
        frames = frames.tb_next
    return None


def _module_source():
    with open(__file__) as handle:
        return handle.read()


def stop_source(token, timeout, name=None):
    """The code the grader runs in the kernel right after a call ran past the cell timeout: this module,
    then ``stop_calling``; it publishes, with ``token``, the name of the function it stopped (if any)."""
    return "\n".join([
        "def _gd_stop():",
        "    space = {'__name__': 'gd_collector'}",
        f"    exec({_module_source()!r}, space)",
        f"    space['publish']({token!r}, space['stop_calling'](globals(), {timeout!r}, {name!r}))",
        "_gd_stop()",
        "del _gd_stop",
    ])


def probe_source(requests, token):
    """The code the judge runs in the kernel: this module, then one collection for ``requests``."""
    module = _module_source()
    return "\n".join([
        "def _gd_probe():",
        "    space = {'__name__': 'gd_collector'}",
        f"    exec({module!r}, space)",
        f"    space['publish']({token!r}, space['collect'](space['json'].loads({json.dumps(requests)!r}), globals()))",
        "_gd_probe()",
        "del _gd_probe",
    ])
