"""Re-execute solution notebooks and keep only the outputs that nbval pins.

Usage: python tools/tidy_solutions.py [solutions/chNN_slug/chNN_slug.ipynb ...]
(no arguments: every solution notebook).

Cells tagged ``nbval-check-output`` keep their text output: nbval compares it on every
test run. Every other cell is stored without output or execution count, and cell and
notebook metadata that changes from run to run (timings, Python version) are dropped,
so solution notebooks stay small, diff cleanly and release byte-identically.
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
PIN_TAG = "nbval-check-output"
KEPT_NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def tidy(path):
    """Execute one notebook in its own folder, then store it with only its pinned outputs."""
    # the hidden regions of the solutions run their tests from grading/ at the course root
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if PIN_TAG in cell.metadata.get("tags", []):
            cell.outputs = [_without_images(output) for output in cell.outputs]
        else:
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = dict(KEPT_NOTEBOOK_METADATA, **{k: v for k, v in nb.metadata.items() if k == "nbgrader"})
    nbformat.write(nb, path)


def _without_images(output):
    data = output.get("data")
    if data:
        output["data"] = {mime: value for mime, value in data.items() if mime.startswith("text/")}
    return output


def main(paths):
    paths = paths or sorted(str(p) for p in (ROOT / "solutions").glob("ch*/ch*.ipynb"))
    for path in paths:
        tidy(path)
        print(f"tidied {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
