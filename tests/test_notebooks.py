"""Every chapter executes, passes its own tests, and ships a release that fails them unanswered."""

import ast
import importlib
import pkgutil
import re
import subprocess
import sys

import nbformat
import pytest
from nbgrader.validator import Validator
from traitlets.config import Config

from conftest import CHAPTERS, ROOT
from grading.samples import release_notebook, solution_notebook

# executing the chapters takes minutes; the tests marked release read files only (make test-fast)
pytestmark = pytest.mark.notebooks

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def validator(invert=False):
    config = Config()
    config.Validator.invert = invert
    config.Execute.timeout = 300  # a slow machine must not turn a pass into a failure
    return Validator(config=config)


def test_nbval_executes_solution_and_matches_pinned_outputs(chapter):
    """nbval runs the whole notebook; cells tagged nbval-check-output must print what they stored."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         str(solution_notebook(chapter))],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_solution_passes_its_own_tests(chapter):
    result = validator().validate(str(solution_notebook(chapter)))
    failures = "\n\n".join(f"{cell['source'][:200]}\n-> {cell['raw_error']}" for cell in result.get("failed", []))
    assert result == {}, failures or result


def test_unanswered_release_fails_every_test(chapter):
    result = validator(invert=True).validate(str(release_notebook(chapter)))
    passing = [cell["source"].splitlines()[0] for cell in result.get("passed", [])]
    assert result == {}, f"test cells that pass without an answer (they check nothing): {passing or result}"


@pytest.mark.release
def test_every_chapter_has_graded_exercises_and_a_written_answer(chapter):
    cells = nbformat.read(solution_notebook(chapter), as_version=4).cells
    graded = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    autograded = [c for c in graded if c.cell_type == "code"]
    written = [c for c in graded if c.cell_type == "markdown" and c.metadata["nbgrader"].get("solution")]
    assert len(autograded) >= 4, f"{chapter} has {len(autograded)} autograded exercises"
    assert len(written) >= 1, f"{chapter} has no manually graded written answer"
    for cell in autograded:
        assert HIDDEN_REGION.search(cell.source), f"{cell.metadata.nbgrader.grade_id} has no hidden tests"
        assert "checks.passed(" in cell.source, (
            f"{cell.metadata.nbgrader.grade_id} never says its visible checks passed")


# `nbgrader generate_assignment` for each chapter in turn, in one process (as nbgrader's own tests run
# its apps): starting nbgrader costs seconds of imports, once rather than once per chapter
GENERATE_ALL = """
import sys
from jupyter_core.application import NoStart
from nbgrader.apps import NbGraderApp
release, chapters = sys.argv[1], sys.argv[2:]
for chapter in chapters:
    app = NbGraderApp.instance()
    app.initialize(["generate_assignment", chapter, "--no-db", "--force", "--log-level=ERROR",
                    f"--CourseDirectory.release_directory={release}"])
    try:
        app.start()
    except NoStart:  # what a parent app raises once its subcommand has run
        pass
    app.reset()
"""


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """Generate every chapter into a temporary release folder, without touching the gradebook."""
    release = tmp_path_factory.mktemp("release")
    result = subprocess.run([sys.executable, "-c", GENERATE_ALL, str(release), *CHAPTERS],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in release.iterdir()) == sorted(CHAPTERS), "a chapter was not generated"
    return release


@pytest.mark.release
def test_course_is_generated_from_solutions(fresh_release):
    expected = {p.relative_to(fresh_release): p.read_bytes() for p in fresh_release.rglob("*") if p.is_file()}
    actual = {p.relative_to(ROOT / "course"): p.read_bytes() for p in (ROOT / "course").rglob("*")
              if p.is_file() and ".ipynb_checkpoints" not in p.parts}
    assert sorted(actual) == sorted(expected), "course/ has different files than solutions/ would release"
    stale = [str(path) for path in expected if actual[path] != expected[path]]
    assert not stale, f"course/ is out of date for {stale}: run `make release`"


def secret_lines(chapter):
    """Lines of solution code, hidden tests and model answers that a release must never contain."""
    secrets = []
    for cell in nbformat.read(solution_notebook(chapter), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        regions = SOLUTION_REGION.findall(cell.source) + HIDDEN_REGION.findall(cell.source)
        if cell.cell_type == "markdown" and meta.get("solution"):
            regions.append(cell.source)
        secrets += [line.strip() for region in regions for line in region.splitlines() if len(line.strip()) >= 12]
    return secrets


@pytest.mark.release
def test_no_solution_or_hidden_test_reaches_the_course(chapter):
    course_text = "\n".join(p.read_text(errors="replace") for p in (ROOT / "course" / chapter).rglob("*")
                            if p.is_file())
    course_text = course_text.replace("\\n", "\n").replace('\\"', '"')
    secrets = secret_lines(chapter)
    assert secrets, "found no solution text to look for: are the solution markers missing?"
    leaked = [line for line in secrets if line in course_text]
    assert not leaked, f"course/{chapter} contains solution or hidden-test text: {leaked[:5]}"


@pytest.mark.release
def test_release_carries_no_outputs_or_run_metadata(chapter):
    nb = nbformat.read(release_notebook(chapter), as_version=4)
    for cell in nb.cells:
        assert "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} has outputs"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, nb.metadata


def defined_functions(source):
    """Map each function defined at the top of ``source`` to its AST dump."""
    return {node.name: ast.dump(node) for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


def graded_functions(chapter):
    cells = nbformat.read(solution_notebook(chapter), as_version=4).cells
    return {name: dump for cell in cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            for name, dump in defined_functions(cell.source).items()}


@pytest.mark.release
def test_no_graded_answer_is_importable_from_what_learners_get(chapter):
    """Neither gdlib nor any file released with the chapter defines a function this chapter grades."""
    import gdlib

    shipped = set()
    for module in pkgutil.walk_packages(gdlib.__path__, "gdlib."):
        shipped |= set(dir(importlib.import_module(module.name)))
    for path in (ROOT / "course" / chapter).rglob("*.py"):
        shipped |= set(defined_functions(path.read_text()))
    assert not set(graded_functions(chapter)) & shipped


@pytest.mark.release
def test_given_code_is_the_earlier_chapters_reference_answer(chapter):
    """A locked given_chNN cell hands a later chapter chapter NN's reference answers, unchanged."""
    for cell in nbformat.read(solution_notebook(chapter), as_version=4).cells:
        given = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if not given.startswith("given_"):
            continue
        assert cell.metadata["nbgrader"]["locked"], f"{given} must be locked"
        earlier = next(c for c in CHAPTERS if c.startswith(given.removeprefix("given_")))
        reference = graded_functions(earlier)
        for name, dump in defined_functions(cell.source).items():
            assert reference.get(name) == dump, f"{chapter}: {name} differs from {earlier}'s reference answer"


@pytest.mark.release
def test_setup_cell_is_locked(chapter):
    cells = nbformat.read(solution_notebook(chapter), as_version=4).cells
    setup = next(c for c in cells if c.cell_type == "code")
    assert "from gdlib import" in setup.source and setup.metadata["nbgrader"]["locked"]
