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


def test_cells_whose_grade_id_the_chapter_lacks_become_ordinary_cells(tmp_path):
    """nbgrader stops on a grade id its gradebook lacks: a cell pasted from another chapter cost the notebook."""
    release = tmp_path / "course" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[graded_cell("", "predict")]), release)
    forged = graded_cell("b = 3", "zz\n[AutogradeApp | ERROR] FORGED\x1b[2J")
    no_id, not_a_dict = new_code_cell("c = 4"), new_code_cell("d = 5")
    no_id.metadata["nbgrader"], not_a_dict.metadata["nbgrader"] = {"grade": True, "grade_id": ["predict"]}, "x"
    cells = [graded_cell("a = 1", "predict"), graded_cell("a = 2", "w_sum"), forged, no_id, not_a_dict]
    path = submit(tmp_path, "fay", new_notebook(cells=cells))
    result = preflight.check(tmp_path, "fay", ASSIGNMENT)
    kept = nbformat.read(path, as_version=4).cells
    assert result.status == "repaired" and ["nbgrader" in cell.metadata for cell in kept] == [True] + [False] * 4
    assert [cell.source for cell in kept] == ["a = 1", "a = 2", "b = 3", "c = 4", "d = 5"], "the code still runs"
    assert "cell 1 has the grade id 'w_sum', which is not in this chapter: kept as an ordinary cell" in result.notes
    assert "cell 2 has the grade id 'zz\\n[AutogradeApp | ERROR] FORGED\\x1b[2J'" in result.notes[1]
    assert result.notes[2:] == [f"cell {i} has nbgrader metadata without a grade id: kept as an ordinary cell"
                                for i in (3, 4)]


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


# --- outputs bounded as they arrive (ResilientExecute), widget state, text and images only ---------

def arriving(monkeypatch, cells=1, **bounds):
    """A grading executor between a kernel and a notebook of ``cells`` cells, with settings ``bounds``."""
    from grading import settings
    from grading.preprocessors import ResilientExecute

    for name, value in bounds.items():
        monkeypatch.setattr(settings, name, value)
    execute = ResilientExecute()
    execute.nb = new_notebook(cells=[new_code_cell("x") for _ in range(cells)])
    execute.reset_execution_trackers()
    execute._reset_output_bounds()
    execute.clear_before_next_output = False  # what nbclient sets as each cell starts
    return execute


def send(execute, msg_type, content, cell=0, parent="run"):
    msg = {"msg_type": msg_type, "header": {"msg_type": msg_type, "msg_id": "m"}, "metadata": {}, "buffers": [],
           "parent_header": {"msg_id": parent}, "content": content}
    execute.process_message(msg, execute.nb.cells[cell], cell)
    return execute.nb.cells[cell].outputs


def shown(value, **extra):
    return {"data": {"text/plain": value, **extra}, "metadata": {}, "transient": {}}


def notices(outputs):
    return [o.data["text/plain"] for o in outputs if "grader left out" in o.get("data", {}).get("text/plain", "")]


def test_outputs_past_a_cells_count_are_left_out_as_they_arrive_with_one_notice(monkeypatch):
    execute = arriving(monkeypatch, OUTPUTS_PER_CELL=5)
    for k in range(10_000):
        outputs = send(execute, "display_data", shown(str(k)))
    assert len(outputs) == 6 and [o.data["text/plain"] for o in outputs[:5]] == ["0", "1", "2", "3", "4"]
    assert notices(outputs) == [notices(outputs)[0]] and "9,995 outputs" in notices(outputs)[0]
    assert "at most 5 outputs per cell" in notices(outputs)[0]


def test_huge_outputs_past_the_notebooks_budget_are_left_out_as_they_arrive(monkeypatch):
    execute = arriving(monkeypatch, cells=2, OUTPUT_CHARS=10_000)
    for _ in range(3):
        first = send(execute, "display_data", shown("fig", **{"text/html": "<b>" * 2_000}))
    assert [len(o.data.get("text/html", "")) for o in first] == [6_000, 0]
    later = send(execute, "execute_result", {**shown("x" * 5_000), "execution_count": 2}, cell=1)
    assert later[0].data["text/plain"].startswith("[the grader left out 1 output"), "the budget is the notebook's"
    assert "2 outputs (12," in notices(first)[0]


def test_printed_text_is_merged_into_one_stream_and_bounded_as_it_arrives(monkeypatch):
    execute = arriving(monkeypatch, STREAM_CHARS=50)
    for _ in range(100_000):
        outputs = send(execute, "stream", {"name": "stdout", "text": "ab"})
    send(execute, "stream", {"name": "stderr", "text": "warning"})
    assert [(o.output_type, o.get("name")) for o in outputs] == [("stream", "stdout"), ("display_data", None),
                                                                ("stream", "stderr")]
    assert outputs[0].text == "ab" * 25 and "199,950 characters of printed text" in notices(outputs)[0]


def test_a_cells_first_error_always_stays_bounded_and_later_ones_are_left_out(monkeypatch):
    from grading import settings

    execute = arriving(monkeypatch, OUTPUT_CHARS=10)
    error = {"ename": "ValueError", "evalue": "v" * 10_000_000, "traceback": ["line " * 100_000] * 1_000}
    outputs = send(execute, "error", error)
    send(execute, "error", dict(error, ename="Forged"))
    assert [o.get("ename") for o in outputs] == ["ValueError", None], "the error that decides the cell stays"
    assert len(str(outputs[0])) < 2 * settings.STREAM_CHARS and "traceback lines left out" in outputs[0].traceback[0]


def test_a_display_update_is_charged_for_every_output_it_changes(monkeypatch):
    execute = arriving(monkeypatch, OUTPUT_CHARS=1_000)
    for _ in range(3):
        send(execute, "display_data", dict(shown("small"), transient={"display_id": "d"}))
    outputs = send(execute, "update_display_data", dict(shown("u" * 400), transient={"display_id": "d"}))
    assert [o.data["text/plain"] for o in outputs[:3]] == ["small"] * 3, "3 copies of 400 characters do not fit"
    assert "1 display update (1,230 characters)" in notices(outputs)[0]  # 3 x 410, its key included
    send(execute, "update_display_data", dict(shown("u" * 100), transient={"display_id": "d"}))
    assert [o.data["text/plain"] for o in outputs[:3]] == ["u" * 100] * 3


def test_no_widget_state_is_kept_and_output_widgets_keep_nothing(monkeypatch):
    execute = arriving(monkeypatch)
    execute.nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"w": "x" * 1000}}}
    big = {"_model_module": "@jupyter-widgets/controls", "_model_name": "TextareaModel", "value": "x" * 5_000_000}
    send(execute, "comm_open", {"comm_id": "a", "target_name": "jupyter.widget", "data": {"state": big}})
    area = {"_model_module": "@jupyter-widgets/output", "_model_name": "OutputModel", "outputs": []}
    send(execute, "comm_open", {"comm_id": "o", "target_name": "jupyter.widget", "data": {"state": area}})
    send(execute, "comm_msg", {"comm_id": "o", "data": {"method": "update", "state": {"msg_id": "run"}}})
    outputs = send(execute, "display_data", shown("into the widget", **{"image/png": "iVBOR" * 100_000}))
    execute.set_widgets_metadata()
    assert execute.widget_state == {} and "widgets" not in execute.nb.metadata
    assert outputs == [] and execute.comm_objects["o"].outputs == [], "an Output widget's outputs are dropped"
    send(execute, "comm_msg", {"comm_id": "o", "data": {"method": "update", "state": {"msg_id": ""}}})
    assert send(execute, "display_data", shown("after the widget")) != [], "capturing stops with an empty msg_id"
    forged = {"_model_module": "@jupyter-widgets/output", "_model_name": "OutputModel"}  # no outputs, odd msg_id
    send(execute, "comm_open", {"comm_id": "f", "target_name": "jupyter.widget", "data": {"state": forged}})
    send(execute, "comm_msg", {"comm_id": "f", "data": {"state": {"msg_id": 5}}})


def test_a_hidden_tests_run_gets_its_own_allowance_and_keeps_its_evidence(monkeypatch):
    from grading.hidden import collector

    execute = arriving(monkeypatch, OUTPUT_CHARS=200)
    send(execute, "display_data", shown("n" * 150))  # 172 characters with its keys: 28 left
    execute._aside, execute._aside_left = True, 200  # as _execute_aside runs a probe
    execute.nb.cells[0], kept = new_code_cell("probe"), execute.nb.cells[0]
    send(execute, "display_data", shown("p" * 150))
    outputs = send(execute, "display_data", {"data": {collector.MIME: "e" * 10_000}, "metadata": {}})
    assert [len(o.data.get(collector.MIME, o.data.get("text/plain"))) for o in outputs] == [150, 10_000]
    assert [o.data["text/plain"] for o in kept.outputs] == ["n" * 150] and execute._notebook_left == 28


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=\n"


def kept_output(data, metadata=None):
    from grading.preprocessors import TextAndImageOutputs

    output = nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})
    cell = new_code_cell("x", outputs=[output])
    return TextAndImageOutputs().preprocess_cell(cell, {}, 0)[0].outputs[0]


def kept_bundle(data):
    return kept_output(data).data


def test_graded_notebooks_keep_only_text_and_images_of_any_output():
    explorer = {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "image/png": PNG,
                "text/plain": "Learning rate (interactive in JupyterLab; a static figure elsewhere)"}
    assert kept_bundle(explorer) == {"image/png": PNG, "text/plain": explorer["text/plain"]}
    table = {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "   a\n0  1"}
    assert kept_bundle(table) == {"text/plain": "   a\n0  1"}
    animation = {"text/html": "<b class=c1>" * 1000, "application/javascript": "x()",
                 "text/plain": "<IPython.core.display.HTML object>"}
    notice = kept_bundle(animation)["text/plain"]
    assert list(kept_bundle(animation)) == ["text/plain"] and "not kept by the grader" in notice
    assert "application/javascript, text/html output of 12,003 characters" in notice and "<" not in notice


def test_an_images_metadata_and_data_cannot_add_markup_to_the_page_that_shows_it():
    """nbconvert writes width= and height= unquoted into the <img> of the Formgrader and feedback pages."""
    handler = "1 onerror=alert(document.domain) x"
    metadata = {"image/png": {"width": handler, "height": 300, "unconfined": True},
                "image/jpeg": {"height": 10**9}, "width": handler, "filenames": {"image/png": "x.png"}}
    kept = kept_output({"image/png": PNG, "image/jpeg": PNG, "text/plain": "a figure"}, metadata)
    assert kept.metadata == {"image/png": {"height": 300}}
    forged = kept_output({"image/png": 'x" onerror="alert(1)', "text/plain": "<Figure size 640x480>"})
    assert forged.data == {"text/plain": "<Figure size 640x480>"}, "an image that is not base64 is left out"
    blank = kept_output({"image/jpeg": "not base64!"}).data
    assert list(blank) == ["text/plain"] and "image/jpeg output of 11 characters, not kept" in blank["text/plain"]


def rendered_markdown(*sources):
    from jinja2 import Environment

    from grading.feedback import safe_markdown2html

    environment = Environment()
    environment.filters["markdown2html"] = safe_markdown2html
    template = environment.from_string("{% for s in sources %}<div>{{ s | markdown2html }}</div>{% endfor %}")
    return template.render(sources=sources, resources={"metadata": {"path": ""}})


def test_markdown_a_page_renders_is_bounded_and_raw_html_is_shown_as_text(monkeypatch):
    from grading import feedback, settings

    read = []
    monkeypatch.setattr(feedback, "clean", lambda html, clean=feedback.clean: read.append(html) or clean(html))
    quadratic = "".join(f"<b class=c{i}>" for i in range(80_000 // 14))
    page = rendered_markdown("# Exercise\n\nThe *answer*.", quadratic, "# h\n" * 3_000, "A <b>bold</b> claim.")
    assert "<h1" in page and "<em>answer</em>" in page
    assert "<b class=c1>" not in page and "&lt;b class=c1&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count('class="gd-plain-markdown"') == 2, "the 80,000 characters and the 3,000 headings"
    assert "more characters are in the notebook" in page and len(page) < 3 * settings.MARKDOWN_PLAIN_CHARS
    assert sum(html.count("<") for html in read) <= settings.MARKDOWN_TAGS, "the sanitizer reads a bounded page"


def test_markup_a_submission_wrote_carries_no_id_and_no_class_but_pygments():
    """The Formgrader's script finds score boxes by grade id and panels by class: none may come from a submission."""
    from nbconvert.filters.highlight import Highlight2HTML

    from grading.feedback import clean

    page = rendered_markdown("###### predict_multiplies", "```nbgrader_cell\nx = 1\n```", "```python\nx = 1\n```")
    assert "<h6>predict_multiplies</h6>" in page and " id=" not in page and "nbgrader_cell" not in page.split("<pre")[0]
    assert 'class="language-nbgrader_cell"' not in page and '<span class="n">x</span>' in page
    raw = clean('<div class="nbgrader_cell" id="predict"><a class="full-credit" href="#">Full credit</a></div>')
    assert raw == '<div><a href="#">Full credit</a></div>'
    code = clean(Highlight2HTML()("x = 1  # a comment", language="ipython3"))
    assert "highlight hl-ipython3" in code and '<span class="c1"># a comment</span>' in code


def test_every_step_the_course_adds_to_autograding_and_feedback_runs():
    """nbgrader registers the configured steps without enabling them: each must be enabled by itself."""
    from traitlets.config.loader import PyFileConfigLoader

    from conftest import ROOT

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    steps = [*config.Autograde.autograde_preprocessors, *config.GenerateFeedback.preprocessors]
    ours = [step for step in steps if step.__module__ == "grading.preprocessors"]
    assert {step.__name__ for step in ours} >= {"JudgedExecute", "TextAndImageOutputs", "HideHiddenTests"}
    assert [step.__name__ for step in ours if not step().enabled] == []


def test_the_kernel_knows_it_is_graded_by_the_variables_the_grader_sets():
    """gdlib (in the kernel) cannot import grading/: the names it reads must be the ones grading sets."""
    import gdlib
    from conftest import ROOT
    from grading import settings

    assert settings.GRADING_RUN_VARIABLE in gdlib.GRADING_VARIABLES  # set by run.py (also unsandboxed)
    assert "--setenv GD_SANDBOXED 1" in (ROOT / "grading" / "sandbox" / "kernel.sh").read_text()
    assert "GD_SANDBOXED" in gdlib.GRADING_VARIABLES  # the only one a sandboxed kernel's cleared env keeps
