"""What a learner sees: `make lab` in a real, headless Chromium, every chapter run from the top.

The learner's workspace holds each chapter's release notebook with the reference answers typed
in, and one copy of chapter 1 with its classic mistake. JupyterLab is started by `make lab`
(the learner's settings, the kernels' own matplotlib backend); Playwright drives Debian's
Chromium (no browser download). For every chapter: Run All Cells, then no error is shown, and
every figure the kernel produced is drawn on the page; every explorer cell (gdlib.explorers) shows
its widget with a figure, and moving one of its controls redraws that figure. The mistaken copy must
show its check's message as a learner reads it. Screenshots go to $GD_SCREENSHOTS (default
reports/browser/), one pair per explorer: as run, and after the control moved.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from conftest import CHAPTERS, CHROMIUM, ROOT
from grading.samples import MISTAKES, answered, copy_course, make_command, reference_answers
from test_workspace import free_port, wait_for_contents

SHOTS = Path(os.environ.get("GD_SCREENSHOTS", ROOT / "reports" / "browser"))
TOKEN = "browser-test"
RUN_SECONDS = 240  # one chapter's Run All, on a slow machine

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                 reason="no chromium here (`apt-get install chromium`; .ci/run installs it)")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` serving a workspace of solved chapters; yields (base URL, workspace)."""
    root = tmp_path_factory.mktemp("browser")
    course = copy_course(root / "repo", CHAPTERS)
    workspace = root / "workspace"
    for chapter in CHAPTERS:
        (workspace / chapter).mkdir(parents=True)
        nbformat.write(answered(chapter, reference_answers(chapter)), workspace / chapter / f"{chapter}.ipynb")
    first = CHAPTERS[0]
    nbformat.write(answered(first, MISTAKES[first].apply(reference_answers(first))),
                   workspace / first / "mistake.ipynb")
    # a settings folder of its own (a learner's would be in ~/.jupyter): every cell rendered, not only
    # those scrolled into view, so that the page can be searched for every figure
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = free_port()
    lab_args = (f"--no-browser --ServerApp.token={TOKEN} --ServerApp.ip=127.0.0.1 --LabApp.news_url=None "
                f"--LabApp.user_settings_dir={root / 'settings'} --LabApp.workspaces_dir={root / 'lab-workspaces'}")
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(make_command("lab", f"PORT={port}", f"WORKSPACE={workspace}", f"LAB_ARGS={lab_args}"),
                              cwd=course, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_contents(port, first, TOKEN, server, root / "lab.log")
        yield f"http://127.0.0.1:{port}", workspace
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()



def run_all(browser, base, path, shots):
    """Open ``path`` in the lab, run every cell, save; return the page (its notebook panel is the visible one)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{base}/lab/tree/{path}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=90_000)
    page.wait_for_selector("text=| Idle", timeout=90_000)
    page.click(".lm-MenuBar-itemLabel:text('Run')")
    page.click(".lm-Menu-itemLabel:text('Run All Cells')")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:  # done when no cell waits ("[*]") and the kernel is idle
        time.sleep(1)
        if notebook.locator(".jp-InputPrompt:text('[*]:')").count() == 0 and page.locator("text=| Idle").count():
            break
    else:
        pytest.fail(f"{path}: Run All did not finish within {RUN_SECONDS} s")
    page.keyboard.press("Control+s")
    time.sleep(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    scroller = notebook.locator(".jp-WindowedPanel-outer")
    for k, fraction in enumerate(shots):
        scroller.evaluate(f"e => e.scrollTop = e.scrollHeight * {fraction}")
        time.sleep(0.5)
        page.screenshot(path=str(SHOTS / f"{Path(path).stem}-{k}.png"))
    return page, notebook


def saved_images(workspace, path):
    """How many images the kernel produced per code cell (the notebook as the lab saved it)."""
    nb = nbformat.read(workspace / path, as_version=4)
    return [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells if c.cell_type == "code"]


def explorer_cells(workspace, path):
    """The positions, among the code cells, of the cells that show an explorer."""
    nb = nbformat.read(workspace / path, as_version=4)
    return [k for k, c in enumerate(c for c in nb.cells if c.cell_type == "code") if "explorers." in c.source]


def figure_source(cell):
    """The data URL of the figure drawn inside a cell's widget, once it is there."""
    image = cell.locator(".jupyter-widgets .jp-RenderedImage img").first
    image.wait_for(state="visible", timeout=60_000)
    return image.get_attribute("src")


def move_one_control(page, cell):
    """Click a toggle button that is not selected, or else step the first slider one notch right."""
    buttons = cell.locator(".widget-toggle-buttons button:not(.mod-active)")
    if buttons.count():
        buttons.first.click()
        return
    cell.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")


def check_explorer(page, cell, name):
    """The explorer's widget is drawn with its figure, and moving a control redraws the figure."""
    cell.locator(".jp-OutputArea-output .jupyter-widgets").first.wait_for(state="visible", timeout=60_000)
    assert cell.locator(".widget-slider, .widget-toggle-buttons").count(), f"{name}: the explorer shows no control"
    before = figure_source(cell)
    cell.scroll_into_view_if_needed()
    cell.screenshot(path=str(SHOTS / f"{name}.png"))
    move_one_control(page, cell)
    deadline = time.monotonic() + 60
    while figure_source(cell) == before:
        assert time.monotonic() < deadline, f"{name}: moving a control did not redraw the figure"
        time.sleep(0.5)
    time.sleep(0.5)
    cell.screenshot(path=str(SHOTS / f"{name}-moved.png"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_runs_in_the_lab_without_errors_and_draws_every_figure(lab, browser, chapter):
    base, workspace = lab
    path = f"{chapter}/{chapter}.ipynb"
    page, notebook = run_all(browser, base, path, shots=(0, 0.25, 0.5, 0.75))
    try:
        errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        shown = [text for text in errors.all_inner_texts() if "Error" in text or "Traceback" in text]
        assert shown == [], f"{chapter}: errors on the page: {shown[:2]}"
        cells = notebook.locator(".jp-CodeCell")
        drawn = [cells.nth(k).locator(".jp-RenderedImage img").count() for k in range(cells.count())]
        expected = saved_images(workspace, path)
        explorers = explorer_cells(workspace, path)
        # an explorer's output holds the widget and a static figure: the lab draws the widget's figure instead
        for k in explorers:
            drawn[k], expected[k] = cells.nth(k).locator(".jupyter-widgets .jp-RenderedImage img").count(), 1
        assert sum(expected) > 0 and drawn == expected, f"{chapter}: images drawn {drawn}, produced {expected}"
        for n, k in enumerate(explorers):
            check_explorer(page, cells.nth(k), f"{chapter}-explorer{'-' + str(n) if n else ''}")
        with open(SHOTS / "figures.txt", "a") as summary:  # for the record: what a learner saw, per chapter
            summary.write(f"{chapter}: {sum(drawn)} figures drawn in {len(drawn)} code cells, "
                          f"{len(explorers)} explorer(s) redrawn by their controls\n")
    finally:
        page.close()


def test_a_failing_check_reads_as_its_message(lab, browser):
    base, _ = lab
    chapter = CHAPTERS[0]
    page, notebook = run_all(browser, base, f"{chapter}/mistake.ipynb", shots=(0.4,))
    try:
        texts = notebook.locator(".jp-OutputArea-output").all_inner_texts()
        failing = [text for text in texts if text.startswith("Check failed:")]
        assert failing and any(MISTAKES[chapter].message in text for text in failing), texts[-3:]
        assert not any("Traceback" in text or "checks.py" in text for text in failing)
        failing_output = notebook.locator(".jp-OutputArea-output", has_text="Check failed:").first
        failing_output.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "mistake-check-message.png"))
    finally:
        page.close()

