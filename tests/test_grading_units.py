"""grading.preflight and grading.tamper on small notebooks the tests build themselves."""

import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grading import preflight, tamper
from grading.run import gradebook
from grading.samples import copy_course, make_command

pytestmark = pytest.mark.unit

ASSIGNMENT = "ch01_one_weight"


def graded_cell(source, grade_id, locked=False):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": not locked, "grade": locked,
                                 "locked": locked, "schema_version": 3}
    return cell


def submit(course, student, nb=None, name=f"{ASSIGNMENT}.ipynb", text=None):
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    if text is not None:
        (folder / name).write_text(text)
    else:
        nb.metadata["kernelspec"] = nb.metadata.get("kernelspec", {"name": "python3"})
        nbformat.write(nb, folder / name)
    return folder / f"{ASSIGNMENT}.ipynb"


def test_clean_submission_is_ok(tmp_path):
    submit(tmp_path, "ann", new_notebook(cells=[graded_cell("x = 1", "predict")]))
    result = preflight.check(tmp_path, "ann", ASSIGNMENT)
    assert (result.status, result.notes, result.flags) == ("ok", [], [])


def test_duplicated_grade_id_keeps_the_first_and_the_original(tmp_path):
    path = submit(tmp_path, "bob",
                  new_notebook(cells=[graded_cell("a = 1", "predict"), graded_cell("a = 2", "predict")]))
    result = preflight.check(tmp_path, "bob", ASSIGNMENT)
    cells = nbformat.read(path, as_version=4).cells
    assert result.status == "repaired" and "nbgrader" in cells[0].metadata and "nbgrader" not in cells[1].metadata
    assert cells[1].source == "a = 2", "the pasted code still runs"
    assert (tmp_path / "reports/originals/bob" / ASSIGNMENT / path.name).exists()


def test_single_wrongly_named_notebook_is_renamed(tmp_path):
    submit(tmp_path, "cy", new_notebook(cells=[]), name="Untitled.ipynb")
    result = preflight.check(tmp_path, "cy", ASSIGNMENT)
    assert result.status == "repaired" and result.notes == [f"renamed Untitled.ipynb to {ASSIGNMENT}.ipynb"]


def test_unreadable_or_missing_notebooks_are_set_aside_and_kept(tmp_path):
    submit(tmp_path, "dee", text="not json at all")
    submit(tmp_path, "eve", new_notebook(cells=[]), name="one.ipynb")
    (tmp_path / "submitted/eve" / ASSIGNMENT / "two.ipynb").write_text("{}")
    results = preflight.check_all(tmp_path, ASSIGNMENT)
    assert [r.status for r in results] == ["set aside", "set aside"]
    assert "is not a readable notebook" in results[0].notes[-1]
    assert "found one.ipynb, two.ipynb" in results[1].notes[-1]
    assert (tmp_path / "reports/set_aside/dee" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == "not json at all"
    assert not (tmp_path / "submitted/dee").exists()


def test_tampering_in_editable_cells_is_flagged_and_locked_cells_are_not_scanned():
    nb = new_notebook(cells=[graded_cell("np.allclose = lambda *a, **k: True", "predict"),
                             graded_cell("import builtins", "predict_test", locked=True)])
    assert tamper.scan(nb) == ["predict: patches np.allclose"]


def test_honest_code_raises_no_flag():
    honest = ("def train(w, x, g, alpha, n):\n    history = [w]\n    for _ in range(n):\n        w -= alpha * 2\n"
              "    return history")
    assert tamper.scan_source(honest) == set()
    assert tamper.scan_source("%matplotlib inline\nweights[0] = 1\nsum = 0") == set()


def test_aliases_and_indirect_writes_are_flagged():
    cases = {
        "import numpy as N\nN.allclose = f": "patches N.allclose",
        "B = __builtins__\nB.abs = f": "patches B.abs",
        "from numpy._core import _methods\n_methods._all = lambda *a, **k: True": "patches _methods._all",
        "from gdlib import checks as C\nC.expect_true = print": "patches C.expect_true",
        'vars(np)["allclose"] = f': "writes through vars()",
        'globals()["_near"] = lambda *a: True': "writes through globals()",
        "sum = lambda *a: 0": "replaces the builtin sum with a function",
        "mnist.load = fake": "patches mnist.load",
    }
    for source, flag in cases.items():
        assert flag in tamper.scan_source(source), source


def test_arrays_built_with_numpy_are_not_mistaken_for_numpy():
    assert tamper.scan_source("x = np.zeros(3)\nx[0] = 1\nW = np.eye(2)\nW[1, 1] -= 0.5") == set()


def bounded(*outputs, max_chars=100, max_rich_chars=1000):
    from grading.preprocessors import TruncateLongOutputs

    cell = new_code_cell("x", outputs=[nbformat.from_dict(output) for output in outputs])
    truncate = TruncateLongOutputs(max_chars=max_chars, max_rich_chars=max_rich_chars)
    return truncate.preprocess_cell(cell, {}, 0)[0].outputs


def test_plain_text_is_cut_with_a_notice():
    stream, = bounded({"output_type": "stream", "name": "stdout", "text": "y" * 500})
    assert stream.text.startswith("y" * 100) and "400 more characters" in stream.text and len(stream.text) < 200


def test_rich_outputs_within_the_budget_are_kept_whole():
    markup = "<div>" + "z" * 900 + "</div>"
    html, = bounded({"output_type": "display_data", "metadata": {},
                     "data": {"text/html": markup, "text/plain": "p" * 300}})
    assert html.data["text/html"] == markup, "markup is never cut"
    assert len(html.data["text/plain"]) < 200, "its plain-text twin is cut like any text"


def test_rich_outputs_past_the_budget_are_replaced_whole_by_a_notice():
    big = {"output_type": "display_data", "metadata": {},
           "data": {"text/html": "<table>" + "<tr>" * 800, "image/png": "iVBOR" * 100, "text/plain": "fig"}}
    small = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR"}}
    replaced, kept = bounded(big, small)
    assert list(replaced.data) == ["text/plain"] and "left out by the grader" in replaced.data["text/plain"]
    assert "image/png, text/html" in replaced.data["text/plain"] and "<" not in replaced.data["text/plain"]
    assert kept.data == {"image/png": "iVBOR"}


def test_files_beyond_the_notebook_and_the_chapters_data_are_left_out_and_kept(tmp_path):
    path = submit(tmp_path, "eve", new_notebook(cells=[graded_cell("x = 1", "predict")]))
    release = tmp_path / "course" / ASSIGNMENT
    (release / "data").mkdir(parents=True)
    (release / "data" / "points.csv").write_text("1,2\n")
    (path.parent / "data").mkdir()
    (path.parent / "data" / "points.csv").write_text("1,2\n")
    for name in ["numpy.py", "notes.txt", ".ipynb_checkpoints/draft-checkpoint.ipynb"]:
        (path.parent / name).parent.mkdir(exist_ok=True)
        (path.parent / name).write_text(name)
    result = preflight.check(tmp_path, "eve", ASSIGNMENT)
    assert result.status == "repaired" and "left out of grading 3 files" in result.notes[0]
    assert sorted(str(p.relative_to(path.parent)) for p in path.parent.rglob("*")) == [
        "ch01_one_weight.ipynb", "data", "data/points.csv"]
    kept = tmp_path / "reports" / "left_out" / "eve" / ASSIGNMENT
    assert (kept / "numpy.py").read_text() == "numpy.py" and (kept / ".ipynb_checkpoints").is_dir()


def test_nbgraders_own_submission_files_stay_but_large_or_nested_copies_go(tmp_path):
    path = submit(tmp_path, "eve", new_notebook(cells=[graded_cell("x = 1", "predict")]))
    (path.parent / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 UTC")
    (path.parent / "submission_secret.txt").write_text("f" * 128)
    (path.parent / "drafts").mkdir()
    (path.parent / "drafts" / "timestamp.txt").write_text("nested")
    result = preflight.check(tmp_path, "eve", ASSIGNMENT)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "ch01_one_weight.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert "left out of grading 1 file " in result.notes[0]
    (path.parent / "timestamp.txt").write_text("2026-12-02 10:00:00 /etc/localtime")  # not what nbgrader writes
    (path.parent / "submission_secret.txt").write_text("\n")
    preflight.check(tmp_path, "eve", ASSIGNMENT)
    assert not (path.parent / "timestamp.txt").exists() and not (path.parent / "submission_secret.txt").exists()


def test_walking_frames_through_a_traceback_is_flagged():
    source = "try:\n    1 / 0\nexcept Exception as e:\n    space = e.__traceback__.tb_frame.f_back.f_globals"
    flags = tamper.scan_source(source)
    assert any("walks stack frames (.f_globals" in flag for flag in flags)
    assert not tamper.scan_source("frame = {'f': 1}\nvalue = frame['f']")


def max_points(course, cell):
    with gradebook(course) as book:
        return book.find_grade_cell(cell, ASSIGNMENT, ASSIGNMENT).max_score


@pytest.mark.slow
def test_the_gradebook_learns_a_chapter_again_when_its_solution_changes(tmp_path):
    course = copy_course(tmp_path / "course", [ASSIGNMENT])
    make = make_command("gradebook.db", f"CHAPTERS={ASSIGNMENT}")
    first = subprocess.run(make, cwd=course, capture_output=True, text=True)
    assert "registered ch01_one_weight" in first.stdout, first.stdout + first.stderr
    source = course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(source, as_version=4)
    graded = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))
    cell, points = graded.metadata.nbgrader.grade_id, graded.metadata.nbgrader.points
    assert max_points(course, cell) == points
    unchanged = subprocess.run(make + ["--always-make"], cwd=course, capture_output=True, text=True)
    assert "registered" not in unchanged.stdout, "an unchanged solution is not registered again"
    graded.metadata.nbgrader.points = points + 1
    nbformat.write(nb, source)
    again = subprocess.run(make, cwd=course, capture_output=True, text=True)
    assert "registered ch01_one_weight" in again.stdout, again.stdout + again.stderr
    assert max_points(course, cell) == points + 1


def test_the_instructors_locked_cells_get_a_longer_timeout_than_the_students():
    from grading import settings
    from grading.preprocessors import JudgedExecute

    execute = JudgedExecute(timeout=5)
    cell = nbformat.v4.new_code_cell

    def with_meta(**meta):
        made = cell("pass")
        made.metadata["nbgrader"] = {"grade_id": "x", **meta}
        return made

    assert execute.timeout_of(with_meta(locked=True)) == settings.INSTRUCTOR_CELL_TIMEOUT  # setup, given code
    assert execute.timeout_of(with_meta(locked=True, grade=True)) == 5  # a test cell runs student code
    assert execute.timeout_of(with_meta(solution=True)) == 5
    assert execute.timeout_of(cell("pass")) == 5  # a cell the student added
    assert JudgedExecute(timeout=300).timeout_of(with_meta(locked=True)) == 300  # never shorter


def test_a_reason_the_grader_did_not_note_is_the_students_own_error():
    import types

    from grading.report import reason

    grade = types.SimpleNamespace(cell=types.SimpleNamespace(cell_type="code", name="t"), score=0, max_score=1,
                                  needs_manual_grade=False)
    outcome = types.SimpleNamespace(problem="")
    forged = {"outputs": [{"output_type": "error", "ename": "KernelDied", "evalue": "the grader crashed"}]}
    assert reason(grade, forged, outcome) == ("error", "error: KernelDied: the grader crashed")
    interrupted = {"outputs": [{"output_type": "error", "ename": "KeyboardInterrupt", "evalue": ""}]}
    assert reason(grade, interrupted, outcome) == ("error", "error: KeyboardInterrupt")
    noted = ("killed", "killed: the kernel used more than 4 GB")
    assert reason(grade, forged, outcome, noted) == noted  # the grader's note, whatever the outputs say


def test_no_csv_cell_starts_a_spreadsheet_formula_and_numbers_stay_numbers():
    from grading.report import spreadsheet_safe

    row = {"reason": '=HYPERLINK("x")', "a": "+1+2", "b": "@SUM(A1)", "c": "-2+3", "points": "-0.5",
           "score": 2.0, "name": "Ann"}
    assert spreadsheet_safe(row) == {"reason": "'=HYPERLINK(\"x\")", "a": "'+1+2", "b": "'@SUM(A1)", "c": "'-2+3",
                                     "points": "-0.5", "score": 2.0, "name": "Ann"}


def test_what_the_kernel_writes_reaches_the_log_bounded_marked_and_without_control_characters():
    import re
    import subprocess

    from conftest import ROOT

    script = (ROOT / "grading" / "sandbox" / "kernel.sh").read_text()
    function = re.search(r"^bounded_output\(\) \{.*?; \}$", script, re.S | re.M).group(0)
    forged = b"\x1b]0;title\x07\x1b[31m[AutogradeApp | ERROR] forged\r\tend\n" + b"x" * 100_000
    shown = subprocess.run(["bash", "-c", f"{function}\nbounded_output"], input=forged, capture_output=True).stderr
    assert all(line.startswith(b"  [kernel] ") for line in shown.splitlines())
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", shown) and b"?]0;title??[31m" in shown
    assert len(shown) < 65536 + 100  # the pipe keeps 64 KB, plus the marks
