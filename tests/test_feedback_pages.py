"""Feedback that does not mislead: a reference ch01 submission graded in the sandbox, then its page.

No output of the graded notebook is sandbox noise; a page whose written answers are not graded yet is
left out, or marked provisional on request; and a page renders its maths as MathML, loading nothing
from the internet (nor does the Formgrader's page: its MathJax loader is replaced by one that loads nothing).
"""

import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from grading import feedback, sandbox
from grading.samples import answered, copy_course, make_command, reference_answers

CHAPTER = "ch01_one_weight"
NOISE = ("Fontconfig", "sys.excepthook", "lost sys.stderr")
# a URL a page would fetch: script, stylesheet, image, frame, CSS import
FETCHED = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
                     r"""|@import|url\(\s*["']?https?:""", re.I)


def run(course, command):
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course in which one student handed in ch01 with the reference answers, graded by `make autograde`."""
    course = copy_course(tmp_path_factory.mktemp("course"), [CHAPTER])
    folder = course / "submitted" / "reference" / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(answered(CHAPTER, reference_answers(CHAPTER)), folder / f"{CHAPTER}.ipynb")
    unsafe = ["UNSAFE_NO_SANDBOX=1"] if sandbox.problems() and not os.environ.get("CI") else []
    run(course, make_command("autograde", f"A={CHAPTER}", *unsafe))
    return course


def page(course):
    return course / "feedback" / "reference" / CHAPTER / f"{CHAPTER}.html"


@pytest.mark.grading
def test_a_graded_notebook_shows_no_sandbox_noise(graded):
    if sandbox.problems():
        pytest.skip(f"the sandbox cannot run here: {sandbox.problems()}")
    notebook = nbformat.read(graded / "autograded" / "reference" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    shown = [str(output) for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [text[:300] for text in shown if any(noise in text for noise in NOISE)]
    assert "Fontconfig" not in (graded / "reports" / "nbgrader.log").read_text()


@pytest.mark.grading
def test_a_page_waits_for_its_written_answers_then_is_sent_marked_provisional(graded):
    said = run(graded, [sys.executable, "-m", "grading", "feedback", CHAPTER])
    assert "reference's ch01_one_weight has written answers not graded yet (overshoot_explained)" in said
    assert not page(graded).exists()
    said = run(graded, [sys.executable, "-m", "grading", "feedback", CHAPTER, "--provisional"])
    assert "its page is marked provisional" in said
    text = page(graded).read_text()
    assert text.count("Provisional: written answers not graded yet") == 1
    assert re.search(r'<body[^>]*>\s*<div class="gd-provisional"', text)  # the first thing on the page


@pytest.mark.grading
def test_a_page_renders_its_maths_offline(graded):
    if not page(graded).exists():
        run(graded, [sys.executable, "-m", "grading", "feedback", CHAPTER, "--provisional"])
    text = page(graded).read_text()
    assert not FETCHED.findall(text), FETCHED.findall(text)[:5]
    assert "<script" not in text.lower()  # not even a local one: the page needs none
    assert text.count("<math ") >= 10 and "<mfrac>" in text  # the chapter's formulas, as MathML
    assert "\\frac" not in text and "\\partial" not in text  # no TeX left for a script to typeset


@pytest.mark.unit
def test_maths_a_submission_writes_is_markup_free_mathml():
    shown = feedback.mathml(r"\text{<img src=x onerror=alert(1)>} \frac{\partial E}{\partial w}", "inline")
    assert shown.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert "<img" not in shown and "&lt;img" in shown and "alert(1)&gt;</mtext>" in shown
    assert feedback.clean(shown) == shown  # the page's sanitizer keeps it whole
    assert feedback.mathml(r"\frac{", "inline") == ""  # unreadable TeX stays TeX


@pytest.mark.unit
def test_markdown_maths_is_rendered_and_the_rest_still_sanitized():
    source = "Step $w - \\alpha g$ and <script>x</script>\n\n$$E = e^2$$"
    rendered = feedback.safe_markdown2html({"resources": {}}, source)
    assert rendered.count("<math ") == 2 and 'display="block"' in rendered
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered


@pytest.mark.unit
def test_the_formgrader_and_feedback_templates_load_no_mathjax(monkeypatch):
    from nbconvert.exporters import HTMLExporter
    from nbgrader.apps import NbGrader
    from nbgrader.server_extensions.formgrader import handlers

    for name in ["JUPYTER_PATH", "PYTHONPATH"]:  # nbgrader_config.py sets them: restored after the test
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.chdir(ROOT)
    app = NbGrader()
    app.config_dir = str(ROOT)
    app.load_config_file()
    for template in ["formgrade", "feedback"]:  # as the Formgrader and GenerateFeedback configure it
        exporter = HTMLExporter(config=app.config, template_name=template,
                                extra_template_basedirs=[handlers.template_path])
        loader = exporter.environment.get_template("mathjax.html.j2")
        assert loader.filename.startswith(str(ROOT / "grading" / "templates")), loader.filename
        assert "<script" not in loader.module.mathjax()
