"""Flag student code that tampers with the checking machinery or probes the grading environment.

A flag does not change a score: it tells the instructor which submissions to read before
trusting their marks. Only cells the student can edit are scanned (locked cells are restored
from the gradebook before grading anyway).

Calls and attributes are judged by their qualified name, resolved through the notebook's imports
and aliases: ``import inspect as I; I.stack()`` is ``inspect.stack``, but ``np.stack([a, b])`` is
``numpy.stack`` and a student's own ``stack()`` is just ``stack``.
"""

import ast
import builtins
import re

# names the course's own cells bind, so a cell that uses them without importing still resolves
KNOWN_NAMES = {"np": "numpy", "plt": "matplotlib.pyplot", "checks": "gdlib.checks", "plots": "gdlib.plots",
               "mnist": "gdlib.mnist", "linalg": "gdlib.linalg", "__builtins__": "builtins"}
# writing into anything whose qualified name starts with one of these is patching
GUARDED_MODULES = {"np", "numpy", "math", "builtins", "__builtins__", "checks", "gdlib", "plots", "linalg", "mnist",
                   "nbgrader", "sys", "os", "random", "operator", "unittest", "pytest", "testing", "_methods"}
BUILTIN_NAMES = set(dir(builtins))
GUARDED_BUILTINS = {"abs", "all", "any", "len", "isinstance", "float", "int", "round", "zip", "range", "print",
                    "AssertionError", "Exception", "type", "bool", "min", "max"}
SUSPICIOUS_CALLS = {  # "module.*" stands for every function of the module
    "inspect.stack": "inspects the call stack (could read the hidden tests)",
    "inspect.currentframe": "inspects the caller's frame (could read the hidden tests)",
    "sys._getframe": "inspects the caller's frame (could read the hidden tests)",
    "gc.get_referrers": "walks the garbage collector (could reach the tests' objects)",
    "gc.get_objects": "walks the garbage collector (could reach the tests' objects)",
    "os.system": "runs a shell command",
    "os.popen": "runs a shell command",
    "subprocess.*": "runs a shell command",
    "os.getenv": "reads environment variables (looking for the grading environment?)",
    "ctypes.*": "calls into ctypes (raw memory access)",
}
SUSPICIOUS_NAMES = {"os.environ": "reads os.environ (looking for the grading environment?)",
                    "sys.modules": "touches sys.modules"}
SUSPICIOUS_MODULES = {"builtins": "imports builtins", "ctypes": "imports ctypes", "subprocess": "imports subprocess",
                      "socket": "imports socket (network)", "urllib": "imports urllib (network)",
                      "requests": "imports requests (network)", "gc": "imports gc", "inspect": "imports inspect"}
FRAME_ATTRIBUTES = {"tb_frame", "tb_next", "f_back", "f_globals", "f_locals", "f_builtins", "gi_frame", "cr_frame",
                    "ag_frame"}
IMPORTERS = {"builtins.__import__", "importlib.import_module"}
ATTRIBUTE_WRITERS = {"builtins.setattr": "setattr", "builtins.delattr": "delattr"}
NAMESPACE_WRITERS = {"builtins.vars": "vars()", "builtins.globals": "globals()"}
PROBES = re.compile(r"NBGRADER|gradebook|GD_SANDBOX|autograded|solutions/|\.\./\.\./", re.I)


def scan(nb):
    """Return a sorted list of human-readable flags for the editable code cells of a notebook."""
    cells = [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    names = dict(KNOWN_NAMES)
    for _, cell in cells:  # the kernel shares one namespace: an alias made in one cell holds in the next
        _bind_names(_parse(cell.source), names)
    flags = set()
    for index, cell in cells:
        if cell.metadata.get("nbgrader", {}).get("locked"):
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        flags |= {f"{where}: {flag}" for flag in scan_source(cell.source, names)}
    return sorted(flags)


def scan_source(source, names=None):
    """Return the set of flags raised by one cell's source (``names``: aliases bound by other cells)."""
    flags = {f"mentions {match.group(0)!r} (probing the grading environment?)" for match in PROBES.finditer(source)}
    tree = _parse(source)
    if tree is None:
        return flags
    names = _bind_names(tree, dict(names or KNOWN_NAMES))
    for node in ast.walk(tree):
        flags |= _flags_for(node, names)
    return flags


def _parse(source):
    try:
        return ast.parse(_without_magics(source))
    except SyntaxError:
        return None


def _bind_names(tree, names):
    """Add to ``names`` (local name -> qualified name) what this code's imports and assignments bind."""
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                _bind(names, alias.asname or top, alias.name if alias.asname else top)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    for name in SUSPICIOUS_CALLS:
                        if name.rpartition(".")[0] == module and not name.endswith("*"):
                            _bind(names, name.rpartition(".")[2], name)
                else:
                    _bind(names, alias.asname or alias.name, f"{module}.{alias.name}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name, value in _pairs(target, node.value):
                    _bind(names, name, _qualname(value, names))
    return names


def _pairs(target, value):
    """(name, value) for each plain name an assignment binds: ``S = sys``, ``S, O = sys, os``."""
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        return [pair for t, v in zip(target.elts, value.elts) for pair in _pairs(t, v)]
    return []


def _bind(names, name, qualname):
    """Record an alias; a name once bound to a guarded module stays guarded (``np = fake`` hides nothing)."""
    if qualname and not _is_guarded(names.get(name)):
        names[name] = qualname


def _qualname(node, names):
    """The dotted name ``node`` refers to, through aliases, ``__import__("m")`` and ``getattr(x, "a")``; or None."""
    if isinstance(node, ast.Name):
        return names.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _qualname(node.value, names)
        return base and f"{base}.{node.attr}"
    if isinstance(node, ast.Call) and node.args:
        callee, text = _callee(node.func, names), _string_arg(node, 0)
        if callee in IMPORTERS and text:
            return text if callee == "importlib.import_module" else text.split(".")[0]
        if callee == "builtins.getattr" and _string_arg(node, 1):
            base = _qualname(node.args[0], names)
            return base and f"{base}.{_string_arg(node, 1)}"
    return None


def _callee(func, names):
    """The qualified name of a called function: a bare builtin such as ``setattr`` is ``builtins.setattr``."""
    name = _qualname(func, names)
    return f"builtins.{name}" if name in BUILTIN_NAMES else name


def _string_arg(call, position):
    arg = call.args[position] if len(call.args) > position else None
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _is_guarded(qualname):
    return bool(qualname) and qualname.split(".")[0] in GUARDED_MODULES


def _reached(node, names):
    """The qualified name of what writing into ``node`` changes: ``numpy`` for ``vars(np)["allclose"]``."""
    while not isinstance(node, ast.Name):
        qualname = _qualname(node, names)
        if qualname:
            return qualname
        if isinstance(node, ast.Call) and _callee(node.func, names) == "builtins.vars" and node.args:
            node = node.args[0]
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None
    return names.get(node.id, node.id)


def _flags_for(node, names):
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        value = getattr(node, "value", None)
        return {flag for target in targets for flag in _target_flags(target, names, value)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in BUILTIN_NAMES:
        return {f"redefines the builtin {node.name}()"}
    if isinstance(node, ast.Call):
        return _call_flags(node, names)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        return _import_flags(modules)
    if isinstance(node, (ast.Name, ast.Attribute)) and _qualname(node, names) in SUSPICIOUS_NAMES:
        return {SUSPICIOUS_NAMES[_qualname(node, names)]}
    if isinstance(node, ast.Attribute) and node.attr in FRAME_ATTRIBUTES:
        return {f"walks stack frames (.{node.attr}: could reach the grader's code in the kernel)"}
    return set()


def _call_flags(call, names):
    callee = _callee(call.func, names) or ""
    flags = _import_flags([_qualname(call, names)]) if callee in IMPORTERS and _string_arg(call, 0) else set()
    if _qualname(call, names) in SUSPICIOUS_NAMES:  # getattr(os, "environ")
        flags.add(SUSPICIOUS_NAMES[_qualname(call, names)])
    suspicious = SUSPICIOUS_CALLS.get(callee) or SUSPICIOUS_CALLS.get(callee.split(".")[0] + ".*")
    if suspicious:
        flags.add(suspicious)
    if callee in ATTRIBUTE_WRITERS and call.args and _is_guarded(_reached(call.args[0], names)):
        attribute = _string_arg(call, 1)
        patched = ast.unparse(call.args[0]) + (f".{attribute}" if attribute else "")
        flags.add(f"patches {patched} via {ATTRIBUTE_WRITERS[callee]}")
    return flags


def _import_flags(modules):
    return {SUSPICIOUS_MODULES[m.split(".")[0]] for m in modules if m and m.split(".")[0] in SUSPICIOUS_MODULES}


def _target_flags(target, names, value=None):
    if isinstance(target, ast.Name) and target.id in GUARDED_BUILTINS:
        return {f"replaces the builtin {target.id}"}
    if isinstance(target, ast.Name) and target.id in BUILTIN_NAMES and isinstance(value, ast.Lambda):
        return {f"replaces the builtin {target.id} with a function"}
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Call):
        writer = _callee(target.value.func, names)
        if writer in NAMESPACE_WRITERS:
            return {f"writes through {NAMESPACE_WRITERS[writer]}"}
    if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute)
            and target.value.attr == "__dict__"):
        return {"writes through __dict__"}
    if isinstance(target, (ast.Attribute, ast.Subscript)) and _is_guarded(_reached(target, names)):
        return {f"patches {ast.unparse(target)}"}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {flag for element in target.elts for flag in _target_flags(element, names)}
    return set()


def _without_magics(source):
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
