"""Hostile submissions through the real `make autograde`: none of them can break the batch.

One temporary course (chapter 1, 8 autograded points) receives a class in which most students
attack the grader. One `make autograde` grades them all, sandboxed. Each case asserts its
exact score or flag, and the class as a whole asserts that every honest student was still
graded correctly and that the gradebook, solutions/ and course/ are intact.
"""

import copy
import csv
import fcntl
import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from grading import sandbox, settings
from grading.report import stored_reasons
from grading.run import gradebook
from grading.samples import (
    LIAR,
    answered,
    copy_course,
    liar_answers,
    make_command,
    points_of,
    reference_answers,
    with_mistake,
)

CHAPTER = "ch01_one_weight"
CELL_TIMEOUT = 5
ROOT_ONLY = Path("/tmp/gd-hostile-root-only.txt")
OTHER_COPY = Path("/var/tmp/gd-hostile-other-course/solutions/ch01_one_weight.ipynb")  # world-readable
CANARY = "GD_HOSTILE_CANARY"  # in the grader's environment, never in the kernel's

# the sandbox needs root and bubblewrap: CI always has them (.ci/run installs bubblewrap)
pytestmark = [pytest.mark.hostile,
              pytest.mark.skipif(not os.environ.get("CI") and bool(sandbox.problems()),
                                 reason="the grading sandbox cannot run here: " + "; ".join(sandbox.problems()))]


def evidence_code(attempts):
    """Source that tries each (label, python expression) and prints what happened, as one JSON line."""
    lines = ["import json as _json", "_evidence = {}"]
    for label, expression in attempts:
        lines += ["try:", f"    _evidence[{label!r}] = 'succeeded: ' + repr({expression})[:80]",
                  "except Exception as _error:", f"    _evidence[{label!r}] = type(_error).__name__"]
    lines.append("print('EVIDENCE', _json.dumps(_evidence))")
    return "\n".join(lines)


def after(answers, cell, code):
    return dict(answers, **{cell: answers[cell] + "\n\n" + code})


# three processes spin for two seconds; the cores they got together, per second of wall time
CPU_SHARE = """
def _cpu_share():
    import time
    start, children = time.time(), []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            end = time.time() + 2
            while time.time() < end:
                pass
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    used = os.times()
    return round((used.children_user + used.children_system) / (time.time() - start), 2)
"""


def build_class(course, listener_port):
    """Write every student's submission; return {student: expected autograded score}."""
    R = reference_answers(CHAPTER)
    wrong_error = with_mistake(R, "error", "(pred - goal) ** 2", "abs(pred - goal)")
    root = str(course)
    students = {}

    def submit(student, nb, expected, name=f"{CHAPTER}.ipynb"):
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        if isinstance(nb, str):
            (folder / name).write_text(nb)
        else:
            nbformat.write(nb, folder / name)
        students[student] = expected

    nb = answered(CHAPTER, R)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "predict")
    nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    nb.cells[index + 1].id = "pasted-copy"
    submit("a_duplicate_cell", nb, 8)
    # a graded cell pasted from another chapter, and a made-up grade id that writes a log line of its own
    nb = answered(CHAPTER, R)
    pasted, forged = copy.deepcopy(nb.cells[index]), nbformat.v4.new_markdown_cell("a note")
    pasted.metadata["nbgrader"]["grade_id"], pasted.id = "w_sum", "from-chapter-2"
    forged.metadata["nbgrader"] = {"grade_id": FORGED_LOG_LINE, "solution": True, "grade": False, "locked": False}
    nb.cells[index + 1:index + 1] = [pasted, forged]
    submit("a_foreign_cells", nb, 8)
    submit("b_reference", answered(CHAPTER, R), 8)
    submit("c_untouched", answered(CHAPTER), 0)
    submit("d_partial", answered(CHAPTER, with_mistake(R, "step", "weight - alpha", "weight + alpha")), 4)

    nb = answered(CHAPTER, wrong_error)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "error_squares_delta":
            cell.source = 'checks.passed("error")'
    submit("e_edited_test", nb, 7)
    nb = answered(CHAPTER, wrong_error)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "error_squares_delta"]
    submit("f_deleted_test", nb, 7)
    nb = answered(CHAPTER, R)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "predict_multiplies":
            cell.metadata["nbgrader"]["points"] = 100
    submit("g_inflated_points", nb, 8)

    loop = "    while True:\n        pass\n    return weight"
    submit("h_infinite_loop", answered(CHAPTER, with_mistake(R, "step", "    return weight", loop)), 4)
    stubborn = "    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n" + loop
    submit("h_ignores_the_interrupt", answered(CHAPTER, with_mistake(R, "step", "    return weight", stubborn)), 4)
    # untouched pages: the address-space limit stops it at once (touching 4 GB takes this VM 17 s)
    blowup = '    hog = []\n    while True:\n        hog.append(np.empty(12_500_000))\n    return (pred - goal) ** 2'
    submit("i_memory_blowup", answered(CHAPTER, with_mistake(R, "error", "    return (pred - goal) ** 2", blowup)), 7)
    submit("j_kernel_death",
           answered(CHAPTER, with_mistake(R, "train", "    history = [weight]", "    import os\n    os._exit(3)")), 6)
    submit("j_kernel_death_everywhere", answered(
        CHAPTER, with_mistake(R, "predict", "    return input * weight", "    import os\n    os._exit(4)")), 0)
    submit("k_flood_lines", answered(CHAPTER, after(R, "predict", 'print("\\n".join(["spam"] * 1_000_000))')), 8)
    submit("l_flood_giant_line", answered(CHAPTER, after(R, "predict", 'print("x" * 50_000_000)')), 8)

    secrets = [("solutions", "open('../../../solutions/ch01_one_weight/ch01_one_weight.ipynb').read()"),
               ("gradebook", "open('../../../gradebook.db', 'rb').read()"),
               ("classmate", "open('../../../submitted/b_reference/ch01_one_weight/ch01_one_weight.ipynb').read()"),
               ("absolute", f"open({root + '/solutions/ch01_one_weight/ch01_one_weight.ipynb'!r}).read()")]
    submit("m_reads_secrets", answered(CHAPTER, after(R, "predict", evidence_code(secrets))), 8)
    writes = [("gradebook", "open('../../../gradebook.db', 'ab').write(b'garbage')"),
              ("solutions", "open('../../../solutions/ch01_one_weight/extra.py', 'w').write('x')"),
              ("classmate",
               "open('../../../submitted/b_reference/ch01_one_weight/ch01_one_weight.ipynb', 'w').write('{}')"),
              ("course", f"open({root + '/course/ch01_one_weight/ch01_one_weight.ipynb'!r}, 'w').write('{{}}')"),
              ("tmp", "open('/tmp/gd-escape.txt', 'w').write('x')")]
    submit("n_writes_outside", answered(CHAPTER, after(R, "predict", evidence_code(writes))), 8)
    network = [("loopback", f"__import__('socket').create_connection(('127.0.0.1', {listener_port}), timeout=2)")]
    submit("o_network", answered(CHAPTER, after(R, "predict", "import socket\n" + evidence_code(network))), 8)

    patched = with_mistake(R, "predict", "return input * weight", "return input + weight")
    patches = ("np.allclose = lambda *a, **k: True\nchecks.expect_close = lambda *a, **k: None\n"
               "import builtins\nbuiltins.abs = lambda x: 0")
    submit("p_patched_comparisons", answered(CHAPTER, after(patched, "predict", patches)), 1)
    submit("q_corrupted_json", '{"cells": [{"cell_type": "code", "source": ', None)
    submit("r_wrong_name", answered(CHAPTER, R), 8, name="my_homework.ipynb")
    nb = answered(CHAPTER, R)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    submit("s_foreign_kernel", nb, 8)

    submit("t_lying_numbers", answered(CHAPTER, liar_answers(CHAPTER)), 0)
    lying_list = "\n\n" + LIAR + "\n\ndef train(*args):\n    return _LyingList([2.0])"
    submit("u_list_subclass", answered(CHAPTER, dict(R, train=R["train"] + lying_list)), 6)
    rebinds = ("class _Pass:\n    def __getattr__(self, name):\n        return lambda *a, **k: None\n"
               "checks = _Pass()\nnp = _Pass()\nfloat = lambda x: 0.0\nabs = lambda x: 0.0")
    submit("v_rebinds_names", answered(CHAPTER, after(wrong_error, "error", rebinds)), 7)
    shadow = ("open('numpy.py', 'w').write('open(\"shadow_imported\", \"w\").close()\\nraise SystemExit')\n"
              "import importlib\nimportlib.invalidate_caches()")
    died = with_mistake(after(R, "predict", shadow), "train", "    history = [weight]",
                        "    import os\n    os._exit(3)")
    submit("w_shadow_module_then_death", answered(CHAPTER, died), 6)
    submit("x_ships_extra_files", answered(CHAPTER, R), 8)
    extra = course / "submitted" / "x_ships_extra_files" / CHAPTER
    shadow_source = 'open("shadow_imported", "w").close()\nexpect_close = lambda *a, **k: None\n'
    for name in ["numpy.py", "gdlib/__init__.py", "gdlib/checks.py", "matplotlib.py"]:
        (extra / name).parent.mkdir(exist_ok=True)
        (extra / name).write_text(shadow_source)
    (extra / "numpy.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF not really a library")
    nb = answered(CHAPTER, wrong_error)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "error_squares_delta":
            cell.metadata["tags"] = ["skip-execution"]
    submit("y_skips_a_test_cell", nb, 7)
    blank_tests = ("get_ipython().input_transformers_cleanup.append(\n"
                   "    lambda lines: [] if any('checks.' in line for line in lines) else lines)")
    submit("y_blanks_test_cells", answered(CHAPTER, after(wrong_error, "predict", blank_tests)), 7)
    # right on the visible checks' inputs, fatal only on the fresh inputs of the hidden tests
    only_visible = "    if input not in (3, 20, 0.5):  # the inputs of the visible checks and demos\n"
    hangs = with_mistake(R, "predict", "    return input * weight",
                         only_visible + "        while True:\n            pass\n    return input * weight")
    submit("z_hangs_on_fresh_inputs", answered(CHAPTER, hangs), 1)
    dies = with_mistake(R, "predict", "    return input * weight",
                        only_visible + "        import os\n        os._exit(5)\n    return input * weight")
    submit("z_dies_on_fresh_inputs", answered(CHAPTER, dies), 1)
    script = ("from IPython.display import HTML, display\n"
              "display(HTML('<script>document.title = \"INJECTED\"</script><img src=x onerror=\"alert(1)\">'))\n"
              # nbconvert writes an image's width and height unquoted; its data goes into a data URL
              "display({'image/png': 'notbase64', 'text/plain': 'a figure'}, raw=True,\n"
              "        metadata={'image/png': {'width': '1 onerror=alert(document.domain) x'}})\n"
              "display({'image/jpeg': 'x\" onerror=\"alert(2)', 'text/plain': 'a photo'}, raw=True,\n"
              "        metadata={'height': '1 onerror=alert(3)',\n"
              "                  'filenames': {'image/jpeg': 'x\" onload=\"alert(4)'}})")
    submit("za_html_script", answered(CHAPTER, after(R, "predict", script)), 8)
    markup = ('<script>document.title = "MARKDOWN"</script> <img src=x onerror="alert(2)"> <svg onload="alert(3)">'
              '</svg> <style>h4 {display: none}</style> <a href="javascript:alert(4)">link</a>')
    submit("za_markdown_script", answered(CHAPTER, after(R, "overshoot_explained", markup)), 8)
    # markup that names elements as the Formgrader's own score boxes and panels, above the test
    # cells: its script binds each grade to the first element with its id
    nb = answered(CHAPTER, after(R, "overshoot_explained", "\n\n".join(
        f"###### {grade_id}\n\n```nbgrader_cell\n{grade_id}\n```" for grade_id in points_of(CHAPTER))))
    written = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "overshoot_explained")
    nb.cells.remove(written)
    nb.cells[2:2] = [written, nbformat.v4.new_raw_cell(
        '<div class="nbgrader_cell" id="predict_multiplies"><a class="full-credit" href="#">Full credit</a></div>')]
    submit("zb_names_the_score_boxes", nb, 8)

    solution = f"../../../solutions/{CHAPTER}/{CHAPTER}.ipynb"
    linked = course / "submitted" / "zb_submits_a_link" / CHAPTER
    linked.mkdir(parents=True)
    (linked / f"{CHAPTER}.ipynb").symlink_to(solution)
    students["zb_submits_a_link"] = None
    submit("zc_ships_a_link", answered(CHAPTER, R), None)
    (course / "submitted" / "zc_ships_a_link" / CHAPTER / "reference.txt").symlink_to(solution)
    targets = {"leak_solutions": solution, "leak_hidden": f"../../../grading/hidden/{CHAPTER}.py",
               "leak_gradebook": "../../../gradebook.db", "leak_root_only": str(ROOT_ONLY)}
    plant = "import os\n" + "".join(f"os.symlink({target!r}, {name!r})\n" for name, target in targets.items())
    plant += (f"os.remove({CHAPTER + '.ipynb'!r})\n"
              f"os.symlink('../../b_reference/{CHAPTER}/{CHAPTER}.ipynb', {CHAPTER + '.ipynb'!r})")
    submit("zd_plants_links", answered(CHAPTER, after(wrong_error, "predict", plant)), 7)
    nb = answered(CHAPTER, R)
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source = "import sys\nsys.path.insert(0, '.')\nchecks = None"
    submit("ze_edits_the_setup_cell", nb, 8)
    machine = [("other_copy", f"open({str(OTHER_COPY)!r}).read()"), ("passwd", "open('/etc/passwd').read()"),
               ("home", "os.listdir('/home')"), ("canary", f"os.environ[{CANARY!r}]"),
               ("user_namespace", "__import__('ctypes').CDLL(None).unshare(0x10000000)"),
               ("control_group", "[g for g in open('/proc/self/cgroup').read().split() if 'generalizing-gd' in g][:1]"),
               ("socket_folder_write", "open(os.path.dirname(_ip) + '/note', 'w')"),
               ("socket_folder_neighbours", "os.listdir(os.path.dirname(os.path.dirname(_ip)))"),
               ("environment", "sorted(os.environ)"), ("cpu_share", "_cpu_share()"),
               ("grader_files", "_graders()")]
    find_ip = ("import json, os\n_ip = json.load(open('.kernel-connection.json'))['ip']\n"
               "def _graders():\n    found = 0\n    for f in os.listdir('/proc/self/fd'):\n"
               "        try:\n            target = os.readlink(f'/proc/self/fd/{f}')\n"
               "        except OSError:\n            continue\n"
               "        found += 'nbgrader' in target or '/reports/' in target\n    return found\n" + CPU_SHARE)
    submit("zf_reads_the_machine", answered(CHAPTER, after(R, "predict", find_ip + evidence_code(machine))), 8)
    fill = ("def _fill(folder):\n    written = 0\n    try:\n        for k in range(100):\n"
            "            with open(f'{folder}/fill{k}', 'wb') as out:\n                for _ in range(4):\n"
            "                    out.write(bytes(10_000_000))\n                    written += 10_000_000\n"
            "    except OSError as error:\n        return written, error.errno\n    return written, None\n")
    submit("zg_fills_the_disk", answered(CHAPTER, after(R, "predict", fill + evidence_code(
        [("folder", "_fill('.')"), ("tmp", "_fill('/tmp')")]))), 8)

    # a loaded machine, played by a cell before the setup cell: its imports take longer than a cell
    # may run. The instructor's locked cells get INSTRUCTOR_CELL_TIMEOUT, so the setup completes and
    # the honest answers after it keep their points
    nb = answered(CHAPTER, R)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SLOW_IMPORTS.format(seconds=CELL_TIMEOUT + 3)))
    submit("zh_slow_setup", nb, 8)

    # HTML that is quadratic to sanitize, as an output and as the written answer: no graded notebook
    # keeps HTML, and a page renders a bounded amount of markdown
    quadratic = "".join(f"<b class=c{i}>" for i in range(80_000 // 14))
    nb = answered(CHAPTER, after(R, "overshoot_explained", quadratic))
    shows = f"from IPython.display import HTML, display\ndisplay(HTML({quadratic!r}))"
    nb.cells.append(nbformat.v4.new_code_cell(shows))
    submit("zi_quadratic_html", nb, 8)
    # outputs past every bound, in one added cell: kept only up to the budgets, as they arrive
    nb = answered(CHAPTER, R)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "predict")
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(OUTPUT_FLOOD))
    submit("zj_output_flood", nb, 8)

    # an error named like the grader's own, its message a spreadsheet formula: the report must call
    # it the student's error, never "killed", and no CSV cell may start a formula
    forged = ("class KernelDied(Exception):\n    pass\n\n\ndef predict(input, weight):\n"
              f"    raise KernelDied({FORMULA!r})")
    submit("zi_forged_reason", answered(CHAPTER, dict(R, predict=forged)), 1)
    return students


FORMULA = '=HYPERLINK("http://example.invalid/appeal","the grader crashed: click to appeal")'


OUTPUT_FLOOD = """from IPython.display import HTML, display
import ipywidgets
for k in range(3):
    display(HTML("<b>" * 500_000))
for k in range(1_000):
    display(k)
display(ipywidgets.VBox([ipywidgets.Textarea(value="x" * 1_000_000) for _ in range(2)]))
for k in range(1_000):
    print(k, flush=True)"""

SLOW_IMPORTS = '''import builtins, time
_import = builtins.__import__
def _slow_import(name, *args, **kwargs):
    if name == "matplotlib.pyplot" and not getattr(builtins, "_slowed", False):
        builtins._slowed = True
        time.sleep({seconds})
    return _import(name, *args, **kwargs)
builtins.__import__ = _slow_import'''


def fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Listener:
    """A loopback TCP server that records whether anybody connected."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections, self.running = 0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("hostile"), [CHAPTER])
    ROOT_ONLY.write_text("root's secret")
    ROOT_ONLY.chmod(0o600)
    OTHER_COPY.parent.mkdir(parents=True, exist_ok=True)
    OTHER_COPY.write_text("last term's solutions")
    OTHER_COPY.chmod(0o644)
    listener = Listener()
    try:
        expected = build_class(course, listener.port)
        before = {name: fingerprint(course / name) for name in ["solutions", "course"]}
        before["classmate"] = fingerprint(course / "submitted" / "b_reference")
        run = subprocess.run(make_command("autograde", "feedback", "PROVISIONAL=1", f"CELL_TIMEOUT={CELL_TIMEOUT}",
                                          "SUBMISSION_CAP=120"),
                             cwd=course, capture_output=True, text=True, timeout=1800,
                             env=dict(os.environ, **{CANARY: "the grader's token"}))
    finally:
        listener.close()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return {"course": course, "expected": expected, "before": before, "listener": listener, "output": run.stdout}


def score(course, student):
    with gradebook(course) as book:
        submission = book.find_submission(CHAPTER, student)
        return submission.code_score, submission.max_code_score


def codes(course, student):
    """{exercise: reason code} of one student, as stored in the gradebook."""
    with gradebook(course) as book:
        return {exercise: code for exercise, (code, _) in stored_reasons(book, CHAPTER, student).items()}


def report_rows(course, name):
    with open(course / "reports" / name, newline="") as handle:
        return list(csv.DictReader(handle))


def submission_report(course, student):
    return next(row for row in report_rows(course, "submissions.csv") if row["student"] == student)


def evidence(course, student):
    """What the student's evidence_code printed, read from the graded notebook's outputs."""
    nb = nbformat.read(course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    line = next(line for text in texts for line in text.splitlines() if line.startswith("EVIDENCE "))
    return json.loads(line.removeprefix("EVIDENCE "))


def test_an_error_named_like_the_graders_is_the_students_own_and_no_csv_cell_is_a_formula(graded):
    lost = codes(graded["course"], "zi_forged_reason")
    assert lost and "killed" not in lost.values() and lost["predict_multiplies"] == "error"
    for name in ["exercises.csv", "submissions.csv", "pass_rates.csv"]:
        for row in report_rows(graded["course"], name):
            assert not any(value.startswith(("=", "+", "@")) for value in row.values()), (name, row)
    assert any(row["reason"].startswith("'=HYPERLINK") or FORMULA in row["reason"]
               for row in report_rows(graded["course"], "exercises.csv") if row["student"] == "zi_forged_reason")


def test_every_graded_student_gets_exactly_the_expected_score(graded):
    course, expected = graded["course"], graded["expected"]
    scores = {student: score(course, student)[0] for student, points in expected.items() if points is not None}
    assert scores == {student: points for student, points in expected.items() if points is not None}


def test_inflated_points_are_restored(graded):
    assert score(graded["course"], "g_inflated_points") == (8, 8)


def test_cells_from_another_chapter_are_kept_as_ordinary_cells_and_write_nothing_to_the_log(graded):
    row = submission_report(graded["course"], "a_foreign_cells")
    assert row["preflight"] == "repaired" and row["score"] == "8.0" and row["attempts"] == "1"
    assert "the grade id 'w_sum', which is not in this chapter" in row["repairs"]
    log = (graded["course"] / "reports" / "nbgrader.log").read_text()
    assert "FORGED LOG LINE" not in log and "\x1b" not in log


def test_duplicated_cell_in_the_first_student_is_repaired_and_the_batch_goes_on(graded):
    row = submission_report(graded["course"], "a_duplicate_cell")
    assert row["preflight"] == "repaired" and "repeated grade id 'predict'" in row["repairs"]
    assert row["attempts"] == "1", "the batch must not have failed over the duplicate"


def test_a_cell_that_ignores_the_interrupt_is_stopped_at_its_timeout(graded):
    row = submission_report(graded["course"], "h_ignores_the_interrupt")
    assert row["attempts"] == "1" and row["problem"] == ""
    lost = codes(graded["course"], "h_ignores_the_interrupt")
    assert lost["step_goes_downhill"] == "timeout"


def test_infinite_loop_times_out_once_and_later_cells_say_so(graded):
    """Its try-it cell runs to the timeout; the grader then makes `step` fail at once in every later cell."""
    rows = [r for r in report_rows(graded["course"], "exercises.csv") if r["student"] == "h_infinite_loop"]
    reasons = {r["exercise"]: (r["reason"], r["rests_on"]) for r in rows}
    assert reasons["step_goes_downhill"] == ("timeout: step ran past the cell timeout earlier", "step")
    assert reasons["train_history"] == ("timeout: step ran past the cell timeout earlier", "step")
    assert codes(graded["course"], "h_infinite_loop") == {"step_goes_downhill": "timeout", "train_history": "timeout",
                                                          "overshoot_explained": "needs_manual_grading"}


def test_memory_blowup_is_stopped_by_the_memory_limit(graded):
    rows = [r for r in report_rows(graded["course"], "exercises.csv") if r["student"] == "i_memory_blowup"]
    assert {r["exercise"]: r["reason"] for r in rows}["error_squares_delta"] == "error: out of memory (MemoryError)"
    assert codes(graded["course"], "i_memory_blowup")["error_squares_delta"] == "out_of_memory"


def test_kernel_death_costs_only_the_cells_that_need_the_fatal_code(graded):
    row = submission_report(graded["course"], "j_kernel_death")
    assert row["status"] == "graded, written answers pending" and row["attempts"] == "1"
    assert "fresh kernel" in row["earlier_attempts"]
    rows = [r for r in report_rows(graded["course"], "exercises.csv") if r["student"] == "j_kernel_death"]
    reasons = {r["exercise"]: r["reason"] for r in rows if r["kind"] == "auto"}
    assert reasons == {"predict_multiplies": "", "error_squares_delta": "", "slope_is_derivative": "",
                       "step_goes_downhill": "",
                       "train_history": "kernel died: the kernel exited with status 3 (os._exit or a crash)"}
    assert codes(graded["course"], "j_kernel_death")["train_history"] == "killed"


def test_a_kernel_that_keeps_dying_is_retried_once_then_recorded(graded):
    row = submission_report(graded["course"], "j_kernel_death_everywhere")
    assert row["status"] == "not graded" and row["attempts"] == "2"
    assert row["problem"] == "kernel died: the kernel exited with status 4 (os._exit or a crash)"
    with gradebook(graded['course']) as book:
        notebook = book.find_submission_notebook(CHAPTER, CHAPTER, "j_kernel_death_everywhere")
        code = [g for g in notebook.grades if g.cell.cell_type == "code"]
        assert all(g.auto_score == 0 and not g.needs_manual_grade for g in code)
    assert set(codes(graded["course"], "j_kernel_death_everywhere").values()) == {"not_graded", "needs_manual_grading"}


@pytest.mark.parametrize("student", ["k_flood_lines", "l_flood_giant_line"])
def test_output_floods_are_cut(graded, student):
    notebook = graded["course"] / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb"
    feedback = graded["course"] / "feedback" / student / CHAPTER / f"{CHAPTER}.html"
    assert notebook.stat().st_size < 2_000_000 and feedback.stat().st_size < 3_000_000


def test_secrets_are_invisible_to_student_code(graded):
    assert evidence(graded["course"], "m_reads_secrets") == {
        "solutions": "FileNotFoundError", "gradebook": "FileNotFoundError",
        "classmate": "FileNotFoundError", "absolute": "FileNotFoundError"}
    flags = submission_report(graded["course"], "m_reads_secrets")["flags"]
    assert "solutions/" in flags and "gradebook" in flags


def test_writes_outside_its_folder_fail_and_change_nothing(graded):
    course = graded["course"]
    seen = evidence(course, "n_writes_outside")
    assert seen["tmp"].startswith("succeeded"), "a private /tmp is writable"
    blocked = {"FileNotFoundError", "PermissionError"}  # the course folder is an empty, read-only stand-in
    assert {k: v in blocked for k, v in seen.items() if k != "tmp"} == {
        "gradebook": True, "solutions": True, "classmate": True, "course": True}, seen
    assert not Path("/tmp/gd-escape.txt").exists(), "the sandbox's /tmp must not be the machine's"
    assert fingerprint(course / "solutions") == graded["before"]["solutions"]
    assert fingerprint(course / "course") == graded["before"]["course"]
    assert fingerprint(course / "submitted" / "b_reference") == graded["before"]["classmate"]


def test_network_is_unreachable(graded):
    assert evidence(graded["course"], "o_network")["loopback"] in {"OSError", "ConnectionRefusedError", "TimeoutError"}
    assert graded["listener"].connections == 0
    assert "imports socket" in submission_report(graded["course"], "o_network")["flags"]


def test_patched_comparisons_earn_nothing_and_are_flagged(graded):
    flags = submission_report(graded["course"], "p_patched_comparisons")["flags"]
    for flag in ["patches np.allclose", "patches checks.expect_close", "patches builtins.abs", "imports builtins"]:
        assert flag in flags


def test_corrupted_notebook_is_set_aside_with_a_reason(graded):
    course = graded["course"]
    row = submission_report(course, "q_corrupted_json")
    assert row["status"] == "set aside" and "is not a readable notebook" in row["set_aside_reason"]
    kept = course / "reports" / "set_aside" / "q_corrupted_json" / CHAPTER
    assert (kept / f"{CHAPTER}.ipynb").read_text().startswith('{"cells"'), "the student's file must be kept"
    assert "not a readable notebook" in (kept / "REASON.txt").read_text()


def test_wrongly_named_notebook_and_foreign_kernel_are_repaired(graded):
    assert "renamed my_homework.ipynb" in submission_report(graded["course"], "r_wrong_name")["repairs"]
    assert "kernel 'ir' replaced by python3" in submission_report(graded["course"], "s_foreign_kernel")["repairs"]


def test_honest_students_are_not_flagged(graded):
    for student in ["b_reference", "c_untouched", "d_partial"]:
        assert submission_report(graded["course"], student)["flags"] == ""


def test_gradebook_is_intact(graded):
    with sqlite3.connect(graded["course"] / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_pass_rates_are_reported_as_csv_and_chart(graded):
    rates = {row["exercise"]: row for row in report_rows(graded["course"], "pass_rates.csv")}
    assert set(rates) == {"predict_multiplies", "error_squares_delta", "slope_is_derivative",
                          "step_goes_downhill", "train_history"}
    graded_students = [student for student, points in graded["expected"].items() if points is not None]
    assert all(int(row["students"]) == len(graded_students) for row in rates.values())
    assert (graded["course"] / "reports" / "pass_rates.png").stat().st_size > 1000


@pytest.mark.parametrize("student", ["w_shadow_module_then_death", "x_ships_extra_files"])
def test_modules_in_the_submission_folder_are_never_imported(graded, student):
    folder = graded["course"] / "autograded" / student / CHAPTER
    assert not (folder / "shadow_imported").exists(), "the kernel imported a module from the submission's folder"


@pytest.mark.parametrize("student", ["y_skips_a_test_cell", "y_blanks_test_cells"])
def test_a_test_cell_skipped_or_blanked_is_still_judged(graded, student):
    rows = [r for r in report_rows(graded["course"], "exercises.csv") if r["student"] == student]
    reason = {r["exercise"]: r["reason"] for r in rows}["error_squares_delta"]
    assert reason.startswith("wrong answer: hidden test error_squares_delta: error(")


def test_hidden_tests_that_hang_or_kill_the_kernel_cost_only_their_own_points(graded):
    rows = [r for r in report_rows(graded["course"], "exercises.csv") if r["student"].startswith("z_")]
    reasons = {(r["student"], r["exercise"]): r["reason"] for r in rows}
    assert reasons[("z_hangs_on_fresh_inputs", "predict_multiplies")] == (
        f"timeout: the hidden test ran past the {CELL_TIMEOUT} s cell timeout")
    assert "while the hidden test ran" in reasons[("z_dies_on_fresh_inputs", "predict_multiplies")]
    assert reasons[("z_dies_on_fresh_inputs", "error_squares_delta")] == ""


@pytest.mark.parametrize("student", ["zb_submits_a_link", "zc_ships_a_link"])
def test_submissions_holding_links_are_set_aside(graded, student):
    row = submission_report(graded["course"], student)
    assert row["status"] == "set aside" and "symbolic link" in row["set_aside_reason"]


def test_links_planted_at_run_time_are_never_followed(graded):
    course = graded["course"]
    assert score(course, "zd_plants_links") == (7, 8)
    assert sorted(p.name for p in (course / "feedback" / "zd_plants_links" / CHAPTER).iterdir()) == [f"{CHAPTER}.html"]
    graded_folder = course / "autograded" / "zd_plants_links" / CHAPTER
    assert not any(p.is_symlink() for p in graded_folder.iterdir())
    assert ROOT_ONLY.stat().st_mode & 0o777 == 0o600 and ROOT_ONLY.read_text() == "root's secret"


def test_the_sandbox_shows_nothing_of_the_machine_but_what_a_kernel_needs(graded):
    seen = evidence(graded["course"], "zf_reads_the_machine")
    assert {k: seen[k] for k in ["other_copy", "passwd", "home", "canary"]} == {
        "other_copy": "FileNotFoundError", "passwd": "FileNotFoundError", "home": "FileNotFoundError",
        "canary": "KeyError"}
    assert CANARY not in seen["environment"] and "PYTHONPATH" not in seen["environment"]
    assert seen["user_namespace"] == "succeeded: -1", "student code cannot make a user namespace"
    if sandbox.cgroup_kind() != "none":  # the submission's memory and processes are bounded as a whole
        assert "generalizing-gd/kernel-" in seen["control_group"], seen["control_group"]
        cores = float(seen["cpu_share"].split(": ")[1])
        assert cores <= settings.CPUS * 1.25, f"a submission's processes together got {cores} cores"
    assert seen["grader_files"] == "succeeded: 0", "the kernel holds no file of the grader's (its log)"
    assert seen["socket_folder_write"] == "PermissionError", "a kernel's socket folder is closed once it is set up"
    assert seen["socket_folder_neighbours"].count("kernel-") == 1, "no other kernel's socket folder is visible"


def test_writable_space_is_bounded_and_nothing_written_reaches_the_grader(graded):
    course = graded["course"]
    seen = evidence(course, "zg_fills_the_disk")
    no_space = 28  # ENOSPC
    for where in ["folder", "tmp"]:
        written, errno = map(int, re.findall(r"\d+", seen[where]))  # it printed (bytes written, errno)
        assert errno == no_space and written <= sandbox.Limits().scratch_bytes, (where, seen[where])
    for student in ["zg_fills_the_disk", "zd_plants_links"]:
        assert sorted(p.name for p in (course / "autograded" / student / CHAPTER).iterdir()) == [f"{CHAPTER}.ipynb"]
        assert sorted(p.name for p in (course / "feedback" / student / CHAPTER).iterdir()) == [f"{CHAPTER}.html"]


def test_files_shipped_beside_the_notebook_are_left_out_and_kept(graded):
    course = graded["course"]
    assert "left out of grading 5 files" in submission_report(course, "x_ships_extra_files")["repairs"]
    assert (course / "reports" / "left_out" / "x_ships_extra_files" / CHAPTER / "numpy.py").is_file()
    assert sorted(p.name for p in (course / "autograded" / "x_ships_extra_files" / CHAPTER).iterdir()) == [
        f"{CHAPTER}.ipynb"]


FORGED_LOG_LINE = "zz\n[AutogradeApp | ERROR] FORGED LOG LINE: student bob cheated\x1b[2J"


class LiveMarkup(HTMLParser):
    """The elements a browser would make of a page: (tag, attributes), and the text of its scripts and styles."""

    def __init__(self, page):
        super().__init__()
        self.tags, self.code = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.lasttag in ("script", "style"):
            self.code.append(data)

    def attributes(self, prefix):
        return [(tag, name, value) for tag, attrs in self.tags for name, value in attrs.items()
                if name.startswith(prefix)]


def test_feedback_runs_no_script_a_submission_wrote(graded):
    page = (graded["course"] / "feedback" / "za_html_script" / CHAPTER / f"{CHAPTER}.html").read_text()
    live = LiveMarkup(page)
    assert not any("INJECTED" in code for code in live.code) and not live.attributes("on")
    assert "text/html output of" in page and "not kept by the grader" in page, "a notice stands for the markup"


def formgrader_page(course, student):
    """The graded notebook as the Formgrader's submission view renders it (its template, the course's config)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": CHAPTER, "notebook_id": CHAPTER, "submission_id": "s", "index": 0, "total": 1,
                 "base_url": "", "student": student, "last_name": "", "first_name": "", "notebook_path": "/n"}
    notebook = course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb"
    return HTMLExporter(config=config).from_filename(str(notebook), resources=resources)[0]


def test_the_formgrader_runs_no_script_a_submission_wrote(graded):
    page = formgrader_page(graded["course"], "za_html_script")
    live, own = LiveMarkup(page), LiveMarkup(formgrader_page(graded["course"], "b_reference"))
    assert not any("INJECTED" in code for code in live.code)
    assert live.attributes("on") == own.attributes("on"), "only the Formgrader's own handlers (toggle_name)"
    assert "a figure" in page and "a photo" in page, "what the images claimed to be is shown as text"


def test_no_element_of_the_formgrader_page_takes_its_id_or_class_from_a_submission(graded):
    """Else the page's script binds a test's score box to markup the student wrote (one click, full marks)."""
    def names(student):
        tags = LiveMarkup(formgrader_page(graded["course"], student)).tags
        return (sorted(attrs["id"] for _, attrs in tags if "id" in attrs),
                sorted(attrs["class"] for _, attrs in tags if "nbgrader" in attrs.get("class", "")
                       or "credit" in attrs.get("class", "")))

    assert names("zb_names_the_score_boxes") == names("b_reference")


def test_feedback_shows_markup_a_written_answer_holds_as_text(graded):
    page = (graded["course"] / "feedback" / "za_markdown_script" / CHAPTER / f"{CHAPTER}.html").read_text()
    live = LiveMarkup(page)
    assert not any("MARKDOWN" in code or "display: none" in code for code in live.code)
    assert not live.attributes("on") and "svg" not in {tag for tag, _ in live.tags}
    assert not [href for _, name, href in live.attributes("href") if href.strip().lower().startswith("javascript")]
    assert '&lt;script&gt;document.title = "MARKDOWN"&lt;/script&gt;' in page


def graded_outputs(course, student):
    nb = nbformat.read(course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    return nb, [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


def test_no_graded_notebook_keeps_html_scripts_widgets_or_widget_state(graded):
    course = graded["course"]
    for folder in sorted((course / "autograded").glob(f"*/{CHAPTER}")):
        nb, outputs = graded_outputs(course, folder.parent.name)
        kinds = {kind for output in outputs for kind in output.get("data", {})}
        assert kinds <= {"text/plain", "image/png", "image/jpeg", "image/svg+xml"}, (folder.parent.name, kinds)
        assert "widgets" not in nb.metadata, folder.parent.name


def test_quadratic_html_reaches_no_sanitizer_unbounded(graded):
    course = graded["course"]
    _, outputs = graded_outputs(course, "zi_quadratic_html")
    assert any("text/html output of 84,600 characters" in o.get("data", {}).get("text/plain", "") for o in outputs)
    page = (course / "feedback" / "zi_quadratic_html" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert 'class="gd-plain-markdown"' in page and "&lt;b class=c1&gt;" in page, "the answer is shown, as text"
    assert "more characters are in the notebook" in page and len(page) < 2_000_000
    assert not [attrs for tag, attrs in LiveMarkup(page).tags if tag == "b" and attrs.get("class", "").startswith("c")]


def test_an_output_flood_is_bounded_as_it_arrives(graded):
    course = graded["course"]
    nb, _ = graded_outputs(course, "zj_output_flood")
    flood = next(cell for cell in nb.cells if cell.cell_type == "code" and "ipywidgets.VBox" in cell.source)
    assert len(flood.outputs) <= settings.OUTPUTS_PER_CELL + 2
    assert any("the grader left out" in o.get("data", {}).get("text/plain", "") for o in flood.outputs)
    notebook = course / "autograded" / "zj_output_flood" / CHAPTER / f"{CHAPTER}.ipynb"
    page = course / "feedback" / "zj_output_flood" / CHAPTER / f"{CHAPTER}.html"
    assert notebook.stat().st_size < settings.OUTPUT_CHARS and page.stat().st_size < settings.OUTPUT_CHARS


def test_every_feedback_page_is_bounded_and_the_reference_still_shows_its_figures(graded):
    course = graded["course"]
    for page in sorted((course / "feedback").glob(f"*/{CHAPTER}/{CHAPTER}.html")):
        assert page.stat().st_size < settings.OUTPUT_CHARS, page.parent.parent.name
    page = (course / "feedback" / "b_reference" / CHAPTER / f"{CHAPTER}.html").read_text()
    nb, _ = graded_outputs(course, "b_reference")
    images = sum("image/png" in o.get("data", {}) for cell in nb.cells for o in cell.get("outputs", []))
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == images, "every kept image is drawn"
    assert "text/html output of" in page, "the animation is named by a notice"
    assert "left out while grading" in page, "the explorer says it is left out"


def test_grading_refuses_without_a_sandbox(tmp_path):
    course = copy_course(tmp_path / "course", [CHAPTER])
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))  # no bwrap on this PATH
    result = subprocess.run([sys.executable, "-m", "grading", "autograde", "--course", str(course)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "REFUSING TO GRADE" in result.stderr and "bwrap" in result.stderr
    assert not (course / "autograded").exists()


BUDGET = 40  # seconds: SUBMISSION_CAP of the budget course


@pytest.fixture(scope="module")
def budget_course(tmp_path_factory):
    """A course whose one hostile submission sleeps through its whole budget, beside an honest one."""
    course = copy_course(tmp_path_factory.mktemp("budget"), [CHAPTER])
    R = reference_answers(CHAPTER)
    slow = {cell: "import time\ntime.sleep(9)\n" + source for cell, source in R.items()}
    for student, answers in [("a_sleeps_through_its_budget", slow), ("b_reference", R)]:
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(answered(CHAPTER, answers), folder / f"{CHAPTER}.ipynb")
    run = subprocess.run(make_command("autograde", "CELL_TIMEOUT=12", f"SUBMISSION_CAP={BUDGET}"),
                         cwd=course, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return course


def test_one_budget_per_submission_across_restarts_and_no_regrade_once_spent(budget_course):
    row = submission_report(budget_course, "a_sleeps_through_its_budget")
    assert row["attempts"] == "1", "a submission that used up its budget is not graded again from scratch"
    assert f"used up its wall-clock budget of {BUDGET} s" in row["problem"] + row["earlier_attempts"]
    assert score(budget_course, "b_reference") == (8, 8)
    lost = codes(budget_course, "a_sleeps_through_its_budget")
    assert set(lost.values()) <= {"killed", "not_graded", "needs_manual_grading"} and len(lost) > 1


def test_concurrent_grading_runs_get_their_own_sandbox_uid(tmp_path):
    """Each run holds a worker slot (its own uid) until it ends; a second run takes the next one."""
    code = ("import sys, time\nfrom grading import sandbox\nprint(sandbox.take_worker_slot(64900), flush=True)\n"
            "time.sleep(float(sys.argv[1]))")
    first = subprocess.Popen([sys.executable, "-c", code, "5"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    held = int(first.stdout.readline())
    second = subprocess.run([sys.executable, "-c", code, "0"], cwd=ROOT, capture_output=True, text=True)
    assert int(second.stdout) != held, "two concurrent runs must not share a sandbox uid"
    first.wait()
    with open(sandbox.slot_file(held - 64900), "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once its run has ended


def test_two_grading_runs_at_once_one_with_a_fork_bomb_grade_their_honest_students_fully(tmp_path):
    """The bomb's processes fill its own run's process limit only: the other run's kernels never notice."""
    R = reference_answers(CHAPTER)
    bomb = ("import os, time\nforked = 0\nfor _ in range(500):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(3600)\n            os._exit(0)\n        forked += 1\n    except OSError:\n"
            "        break\nprint('FORKED', forked)")
    classes = {"bombed": {"a_fork_bomb": after(R, "predict", bomb), "b_reference": R},
               "quiet": {"b_reference": R, "c_reference": R}}
    runs = {}
    for name, students in classes.items():
        course = copy_course(tmp_path / name, [CHAPTER])
        for student, answers in students.items():
            folder = course / "submitted" / student / CHAPTER
            folder.mkdir(parents=True)
            nbformat.write(answered(CHAPTER, answers), folder / f"{CHAPTER}.ipynb")
        assert subprocess.run(make_command("gradebook.db"), cwd=course, capture_output=True).returncode == 0
        runs[name] = (course, subprocess.Popen(make_command("autograde", "CELL_TIMEOUT=20", "SUBMISSION_CAP=120"),
                                               cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for _course, process in runs.values():
        output = process.communicate(timeout=1200)[0]
        assert process.returncode == 0, output[-3000:]
    for name, students in classes.items():
        for student in students:
            if student != "a_fork_bomb":
                assert score(runs[name][0], student) == (8, 8), (name, student)
    # the bomb filled its own run's process limit: its own kernel could no longer start threads
    assert "can't start new thread" in (runs["bombed"][0] / "reports" / "nbgrader.log").read_text()
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "no process of either run outlives it"
