"""gdlib.progress on a small made-up chapter: every exercise gets its status, whatever the others do."""

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest

import gdlib
from gdlib import progress

# the summary runs in this process; the two tests that start a kernel are marked slow as well
pytestmark = pytest.mark.unit

HIDDEN = "### BEGIN HIDDEN TESTS\nraise AssertionError('the summary ran a hidden test')\n### END HIDDEN TESTS\n"


def markdown(text, grade_id=None, points=0):
    cell = nbformat.v4.new_markdown_cell(text)
    if grade_id:
        cell.metadata.nbgrader = {"grade": True, "solution": True, "locked": False, "grade_id": grade_id,
                                  "points": points, "schema_version": 3, "task": False}
    return cell


def code(source, grade_id=None, points=None, solution=False):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata.nbgrader = {"grade": points is not None, "solution": solution, "locked": not solution,
                                  "grade_id": grade_id, "schema_version": 3, "task": False}
        if points is not None:
            cell.metadata.nbgrader["points"] = points
    return cell


def answer(grade_id, source):
    return code(source, grade_id, solution=True)


def check(grade_id, points, source):
    return code(source + "\n" + HIDDEN, grade_id, points)


SETUP = "import matplotlib.pyplot as plt\nimport numpy as np\nfrom gdlib import checks\nrng = np.random.default_rng(0)"
UNFINISHED = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def tiny_chapter(square_answer=f"def square(x):\n{UNFINISHED}"):
    """Chapter 90: one exercise of each fate, a check that needs a demo cell, and a written answer."""
    return nbformat.v4.new_notebook(cells=[
        markdown("# Chapter 90 — A tiny chapter\n\nFor the tests."),
        code(SETUP, "setup"),
        markdown("## 1. Doubling\n\n### Exercise 90.1: `double`"),
        answer("double", "def double(x):\n    return 2 * x"),
        check("double_doubles", 1, "checks.expect_close(double(3), 6, name='double(3)')\n"
              "_temporary = rng.random()\nprint('this line must not reach the summary')\n"
              "plt.figure()\nplt.rcParams['lines.linewidth'] = 9\nchecks.passed('double')"),
        markdown("### Exercise 90.2: `halve`"),
        answer("halve", "def halve(x):\n    return x * 2"),
        check("halve_halves", 2, "checks.expect_close(halve(4), 2, name='halve(4)', "
              "mistakes={'you doubled instead of halving.': 8})"),
        markdown("### Exercise 90.3: `square`"),
        answer("square", square_answer),
        check("square_squares", 2, "checks.expect_close(square(3), 9, name='square(3)')"),
        markdown("### Exercise 90.4: `sum_of_squares`"),
        answer("sum_of_squares", "def sum_of_squares(xs):\n    return sum(square(x) for x in xs)"),
        check("sum_of_squares_adds", 1, "checks.expect_close(sum_of_squares([1, 2]), 5, name='sum_of_squares')"),
        markdown("### Exercise 90.5: `inverse`"),
        answer("inverse", "def inverse(x):\n    return 1 / x"),
        check("inverse_of_zero", 1, "checks.expect_close(inverse(0), float('inf'), name='inverse(0)')"),
        markdown("### Checking the scaled data"),
        code("scaled = [double(x) for x in [1, 2, 3]]"),
        check("scaled_has_three_entries", 1, "assert len(scaled) == 3"),
        markdown("### Exercise 90.6 (written, graded by your instructor)"),
        markdown("YOUR ANSWER HERE", "doubling_explained", points=2),
        markdown("## Your progress"),
        code('from gdlib import progress\n\nprogress.summary("ch90_tiny", globals())', progress.SUMMARY_CELL),
    ])


def saved(folder, nb, chapter="ch90_tiny"):
    path = folder / chapter / f"{chapter}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def kernel_namespace(nb, skip=("scaled =",)):
    """What a kernel holds after the setup and answer cells ran (the demo cell ``skip`` did not)."""
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade") \
                and not cell.source.startswith(skip) and "progress" not in cell.source:
            exec(cell.source, namespace)
    return namespace


@pytest.fixture
def chapter(tmp_path):
    nb = tiny_chapter()
    return saved(tmp_path, nb), kernel_namespace(nb)


def statuses(rows):
    return {row.label: (row.status, row.reason) for row in rows}


def test_exercises_are_named_by_their_headings(chapter):
    path, _ = chapter
    listed = progress.exercises(progress.read_cells(path))
    assert [e.label for e in listed] == ["90.1 double", "90.2 halve", "90.3 square", "90.4 sum_of_squares",
                                        "90.5 inverse", "Checking the scaled data", "90.6 (written)"]
    assert [e.points for e in listed] == [1, 2, 2, 1, 1, 1, 2]
    assert listed[3].functions == ("sum_of_squares",) and listed[-1].written
    assert "BEGIN HIDDEN" not in listed[0].source and "checks.passed" in listed[0].source


def test_each_exercise_gets_its_own_status(chapter):
    path, namespace = chapter
    found = statuses(progress.results("ch90_tiny", namespace, path))
    assert found["90.1 double"] == ("passed", "")
    assert found["90.2 halve"] == ("failed", "halve(4) is wrong. Likely mistake: you doubled instead of halving.")
    assert found["90.3 square"] == ("not attempted", "square still raises NotImplementedError")
    assert found["90.4 sum_of_squares"] == (
        "failed", "needs 90.3 square, which is not written yet: do 90.3 square first")
    assert found["90.5 inverse"] == ("failed", "inverse raised ZeroDivisionError: division by zero")
    assert found["Checking the scaled data"] == ("not run", "`scaled` is not defined: run the cells above first")
    assert found["90.6 (written)"] == (
        "not answered yet", "write it where it says YOUR ANSWER HERE, then save the notebook")


def test_an_answer_whose_cell_did_not_run_is_named(chapter):
    path, namespace = chapter
    del namespace["square"]  # its cell was never run
    found = statuses(progress.results("ch90_tiny", namespace, path))
    assert found["90.3 square"] == ("not attempted", "square is not defined yet: write it and run its cell")
    assert found["90.4 sum_of_squares"] == (
        "failed", "needs 90.3 square, which is not defined yet: finish 90.3 square and run its cell first")


def test_checks_leave_the_kernel_as_they_found_it(chapter):
    """No temporaries, printed lines, figures, rcParams or random draws escape a check."""
    path, namespace = chapter
    names, figures, width = set(namespace), plt.get_fignums(), plt.rcParams["lines.linewidth"]
    progress.results("ch90_tiny", namespace, path)
    assert set(namespace) == names and "_temporary" not in namespace
    assert plt.get_fignums() == figures and plt.rcParams["lines.linewidth"] == width
    assert namespace["rng"].random() == np.random.default_rng(0).random()  # the check drew from a copy


def test_summary_prints_a_table_without_tracebacks(chapter, capsys, monkeypatch):
    path, namespace = chapter
    monkeypatch.chdir(path.parent)
    for variable in gdlib.GRADING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    progress.summary("ch90_tiny", namespace)
    printed = capsys.readouterr().out
    assert printed.startswith("Chapter 90 — A tiny chapter\n"
                              "1 of 6 exercises pass their visible checks (1 of 8 points).")
    assert "\n  90.3 square                    2  not attempted: square still raises NotImplementedError\n" in printed
    assert "Next: fix 90.2 halve; its check cell above shows the whole message." in printed
    assert printed.rstrip().endswith(progress.CLOSING)
    assert "Traceback" not in printed and "must not reach" not in printed and "File " not in printed


def test_a_fresh_kernel_is_told_to_run_the_notebook_first(chapter, capsys, monkeypatch):
    path, _ = chapter
    monkeypatch.chdir(path.parent)
    progress.summary("ch90_tiny", {})
    printed = capsys.readouterr().out
    assert "not run: `checks` is not defined: run the cells above first" in printed
    assert "Next: run the notebook from the top (Run > Run All Cells)" in printed


def test_finished_chapter_passes_everything(tmp_path):
    nb = tiny_chapter(square_answer="def square(x):\n    return x * x")
    answers = {cell.metadata.nbgrader["grade_id"]: cell for cell in nb.cells if "nbgrader" in cell.metadata}
    answers["halve"].source = "def halve(x):\n    return x / 2"
    answers["inverse"].source = "def inverse(x):\n    return 1 / x if x else float('inf')"
    path = saved(tmp_path, nb)
    rows = progress.results("ch90_tiny", kernel_namespace(nb, skip=()), path)
    assert [row.status for row in rows] == ["passed"] * 6 + ["not answered yet"]


def test_summary_without_its_notebook_says_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress.summary("ch90_tiny", {})
    assert "cannot find ch90_tiny.ipynb" in capsys.readouterr().out


def test_summary_stays_quiet_while_grading(chapter, capsys, monkeypatch):
    path, namespace = chapter
    monkeypatch.setenv("GD_SANDBOXED", "1")
    progress.summary("ch90_tiny", namespace, path)
    assert capsys.readouterr().out.startswith("Progress summary: left out while grading")


@pytest.mark.slow
def test_run_notebook_blames_an_answer_cell_with_a_syntax_error(tmp_path):
    nb = tiny_chapter()
    nb.cells[3].source = "def double(x)\n    return 2 * x"  # the colon is missing
    run = progress.run_notebook(saved(tmp_path, nb))
    found = statuses(run.rows)
    assert not run.fatal and run.problems == []  # the answer cell's error is in its row
    assert found["90.1 double"] == ("failed", "your answer cell stops with SyntaxError: expected ':' (line 1)")
    assert found["90.2 halve"][0] == "failed"
    assert found["Checking the scaled data"] == (
        "not run", "`scaled` is not defined: run the cells above first (a cell above it stopped with an error)")


@pytest.mark.slow
def test_a_kernel_crash_is_reported_and_the_other_chapters_still_run(tmp_path, capsys):
    crashing = tiny_chapter()
    crashing.cells.insert(4, code("import os\nos._exit(1)"))
    saved(tmp_path, crashing, "ch91_crash")
    saved(tmp_path, tiny_chapter())
    assert progress.main([str(tmp_path), "--timeout", "60"]) == 0
    printed = capsys.readouterr().out
    assert "ch91_crash  could not run: the kernel died while running the cell under “Exercise 90.1: `double`” " \
        "that starts `import os`" in printed
    assert "ch90_tiny   2 / 6             2 / 8\n" in printed  # the demo cell ran: its check passes
    assert "ch90_tiny   90.2 halve           failed: halve(4) is wrong." in printed
    assert progress.CLOSING in printed


@pytest.mark.slow
def test_a_check_that_never_ends_is_failed_and_not_run_again(tmp_path):
    nb = tiny_chapter()
    nb.cells[6].source = "def halve(x):\n    while True:\n        pass"
    run = progress.run_notebook(saved(tmp_path, nb), timeout=15)  # the setup cell must not run out of time
    found = statuses(run.rows)
    assert not run.fatal and found["90.2 halve"] == ("failed", progress.TIMED_OUT)
    assert found["90.1 double"] == ("passed", "") and found["90.5 inverse"][0] == "failed"


def test_workspace_table_sums_up_each_chapter():
    def row(label, status, reason="", points=1, written=False):
        return progress.Result(label, label, points, status, reason, written)

    runs = [progress.ChapterRun("ch01_one", [row("1.1 a", "passed"), row("1.2 b", "failed", "b(1) is wrong.", 2),
                                             row("1.3 (written)", "answered", written=True)]),
            progress.ChapterRun("ch02_two", [row("2.1 c", "not attempted", "c still raises NotImplementedError")]),
            progress.ChapterRun("ch03_three", fatal="the kernel died while running a cell"),
            progress.ChapterRun("ch04_four", [row("4.1 d", "passed")], problems=["SyntaxError in a cell: oops"])]
    assert progress.workspace_table(runs).splitlines() == [
        "  chapter     exercises passed  visible points",
        "  ch01_one    1 / 2             1 / 3",
        "  ch02_two    0 / 1             0 / 1  not started",
        "  ch03_three  could not run: the kernel died while running a cell",
        "  ch04_four   1 / 1             1 / 1",
        "",
        "Exercises to finish (each check cell in the notebook shows the whole message):",
        "  ch01_one    1.2 b  failed: b(1) is wrong.",
        "",
        "Cells that could not run:",
        "  ch04_four: SyntaxError in a cell: oops",
        "",
        "Written answers: 1 of 1 answered; your instructor grades them.",
        "",
        progress.CLOSING,
    ]


def test_make_progress_without_a_workspace_says_what_to_run(tmp_path, capsys):
    assert progress.main([str(tmp_path / "workspace")]) == 2
    assert "`make lab` copies the course there" in capsys.readouterr().err
