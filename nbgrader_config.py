"""nbgrader configuration for the course. Paths are relative to this file's folder."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821 (provided by nbgrader)

# the course's own grading pieces (grading/) must import however nbgrader was started, also in
# the kernels it starts for the instructor (Validate runs the solutions' hidden tests in process);
# graded kernels never see it (the sandbox clears PYTHONPATH)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
if HERE not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")]))
from grading import settings  # noqa: E402 (every grading setting lives there)

c.CourseDirectory.course_id = settings.COURSE_ID
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# the gradebook: the database DB_URL names (Postgres), else gradebook.db here (grading/settings.py)
c.CourseDirectory.db_url = settings.configured_db_url(HERE)
# never copy editor or notebook checkpoints into a release
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py"]

# nbgrader's exchange, for release/fetch/submit/collect on one shared machine or JupyterHub
c.Exchange.root = settings.exchange_root()

# every notebook a student submits must be graded even if they deleted a graded cell
c.OverwriteCells.add_missing_cells = True
# a cell that runs longer than this is stopped (the same value `make autograde` uses)
c.Execute.timeout = settings.CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True

from nbgrader.converters.autograde import Autograde  # noqa: E402
from nbgrader.converters.generate_feedback import GenerateFeedback  # noqa: E402

from grading.preprocessors import (  # noqa: E402
    GradingRunExporter,
    HideHiddenTests,
    JudgedExecute,
    JudgedSaveAutoGrades,
    ReleasedFormOverwriteCells,
    TextAndImageOutputs,
    TruncateLongOutputs,
)

# the kernel only runs the visible checks and answers the hidden tests' requests; JudgedExecute
# decides every test cell in this process and JudgedSaveAutoGrades scores by its verdicts alone.
# A kernel that dies costs only the cells that need what killed it. Outputs are bounded as they
# arrive (JudgedExecute: characters per notebook, outputs per cell, printed text per stream, no
# widget state; grading/settings.py), then: at most 1,000 lines per cell (LimitOutput), only text
# and images (TextAndImageOutputs: no HTML, JavaScript, markdown or widget view, which feedback
# would have to sanitize), 20,000 characters of plain text per output, and images kept whole up
# to 2,000,000 characters or replaced whole by a notice (TruncateLongOutputs)
_steps = Autograde.class_traits()["autograde_preprocessors"].default()
assert [s.__name__ for s in _steps] == ["Execute", "IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput",
                                        "SaveAutoGrades", "AssignLatePenalties", "CheckCellMetadata"], _steps
c.Autograde.autograde_preprocessors = [JudgedExecute, *_steps[1:4], TextAndImageOutputs, TruncateLongOutputs,
                                       JudgedSaveAutoGrades, *_steps[5:]]
# locked cells are restored from the gradebook, and a test cell handed in as it was released (without its
# hidden region) is no change worth a warning
_sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
assert [s.__name__ for s in _sanitize] == ["ClearOutput", "DeduplicateIds", "OverwriteKernelspec", "OverwriteCells",
                                           "CheckCellMetadata"], _sanitize
c.Autograde.sanitize_preprocessors = [*_sanitize[:3], ReleasedFormOverwriteCells, *_sanitize[4:]]
# only `python -m grading autograde` grades (the sandbox): anything else, such as the Formgrader's Autograde
# button or a plain `nbgrader autograde`, is refused before a file is touched (GradingRunExporter)
c.Autograde.exporter_class = GradingRunExporter
# feedback shows each failed hidden test's message, never its code, no script a submission wrote,
# and only text and images of its outputs (also for a notebook graded before that rule)
c.GenerateFeedback.preprocessors = [HideHiddenTests, TextAndImageOutputs,
                                    *GenerateFeedback.class_traits()["preprocessors"].default()]
c.HTMLExporter.sanitize_html = True
# maths is rendered as MathML when a page is made (grading/feedback.py), and no page loads MathJax from the
# internet: grading/templates/ is searched for nbconvert's templates before the environment's (JUPYTER_PATH,
# which the Formgrader, inside the Jupyter server, reads too), and its mathjax macro loads nothing
TEMPLATES = os.path.join(HERE, "grading", "templates")
if TEMPLATES not in os.environ.get("JUPYTER_PATH", "").split(os.pathsep):
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [TEMPLATES, os.environ.get("JUPYTER_PATH")]))
# ... and markdown a submission wrote is shown with its raw HTML as text, a bounded amount per page
# (grading/feedback.py; feedback and the Formgrader's grading page both use HTMLExporter and its
# markdown2html filter); what nbconvert cleans (code, raw cells) keeps no id and no class but
# Pygments' (the Formgrader's script finds score boxes by id and panels by class)
c.HTMLExporter.filters = {"markdown2html": "grading.feedback.safe_markdown2html",
                          "clean_html": "grading.feedback.clean"}

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
