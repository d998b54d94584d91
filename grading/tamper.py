"""Flag student code that tampers with the checking machinery or probes the grading environment.

A flag does not change a score: it tells the instructor which submissions to read before
trusting their marks. Only cells the student can edit are scanned (locked cells are restored
from the gradebook before grading anyway).
"""

import ast
import builtins
import re

GUARDED_MODULES = {"np", "numpy", "math", "builtins", "__builtins__", "checks", "gdlib", "plots", "linalg", "mnist",
                   "nbgrader", "sys", "os", "random", "operator", "unittest", "pytest", "testing", "_methods"}
BUILTIN_NAMES = set(dir(builtins))
GUARDED_BUILTINS = {"abs", "all", "any", "len", "isinstance", "float", "int", "round", "zip", "range", "print",
                    "AssertionError", "Exception", "type", "bool", "min", "max"}
SUSPICIOUS_CALLS = {
    "setattr": "changes an attribute with setattr",
    "delattr": "deletes an attribute with delattr",
    "_getframe": "inspects the caller's frame (could read the hidden tests)",
    "stack": "inspects the call stack (could read the hidden tests)",
    "get_referrers": "walks the garbage collector (could reach the tests' objects)",
    "get_objects": "walks the garbage collector (could reach the tests' objects)",
    "system": "runs a shell command",
    "popen": "runs a shell command",
    "getenv": "reads environment variables (looking for the grading environment?)",
}
SUSPICIOUS_MODULES = {"builtins": "imports builtins", "ctypes": "imports ctypes", "subprocess": "imports subprocess",
                      "socket": "imports socket (network)", "urllib": "imports urllib (network)",
                      "requests": "imports requests (network)", "gc": "imports gc", "inspect": "imports inspect"}
PROBES = re.compile(r"NBGRADER|gradebook|GD_SANDBOX|autograded|solutions/|\.\./\.\./", re.I)


def scan(nb):
    """Return a sorted list of human-readable flags for the editable code cells of a notebook."""
    flags = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("locked"):
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        flags |= {f"{where}: {flag}" for flag in scan_source(cell.source)}
    return sorted(flags)


def scan_source(source):
    """Return the set of flags raised by one cell's source."""
    flags = {f"mentions {match.group(0)!r} (probing the grading environment?)" for match in PROBES.finditer(source)}
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return flags
    guarded = GUARDED_MODULES | _aliases(tree)
    for node in ast.walk(tree):
        flags |= _flags_for(node, guarded)
    return flags


def _aliases(tree):
    """Names this code binds to a guarded module or object (``import numpy as N``, ``B = __builtins__``)."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {alias.asname for alias in node.names
                        if alias.asname and alias.name.split(".")[0] in GUARDED_MODULES | {"numpy"}}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in GUARDED_MODULES:
            aliases |= {alias.asname or alias.name for alias in node.names}
        elif (isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute))
              and _root_name(node.value) in GUARDED_MODULES):
            aliases |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return aliases


def _flags_for(node, guarded):
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        value = getattr(node, "value", None)
        return {flag for target in targets for flag in _target_flags(target, guarded, value)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in BUILTIN_NAMES:
        return {f"redefines the builtin {node.name}()"}
    if isinstance(node, ast.Call):
        name = _call_name(node.func)
        if name in SUSPICIOUS_CALLS:
            return {SUSPICIOUS_CALLS[name]}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        return {SUSPICIOUS_MODULES[m.split(".")[0]] for m in modules if m.split(".")[0] in SUSPICIOUS_MODULES}
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return {"reads os.environ (looking for the grading environment?)"}
    if isinstance(node, ast.Attribute) and node.attr == "modules" and _root_name(node) == "sys":
        return {"touches sys.modules"}
    return set()


def _target_flags(target, guarded, value=None):
    if isinstance(target, ast.Name) and target.id in GUARDED_BUILTINS:
        return {f"replaces the builtin {target.id}"}
    if isinstance(target, ast.Name) and target.id in BUILTIN_NAMES and isinstance(value, ast.Lambda):
        return {f"replaces the builtin {target.id} with a function"}
    if isinstance(target, ast.Subscript) and _call_name(getattr(target.value, "func", None)) in {"vars", "globals"}:
        return {f"writes through {_call_name(target.value.func)}()"}
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) and target.value.attr == "__dict__":
        return {"writes through __dict__"}
    if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) in guarded:
        return {f"patches {ast.unparse(target)}"}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {flag for element in target.elts for flag in _target_flags(element, guarded)}
    return set()


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars" and node.args:
            node = node.args[0]
            continue
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _call_name(func):
    if func is None:
        return None
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _without_magics(source):
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
