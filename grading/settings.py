"""Every grading setting in one place: nbgrader_config.py, `python -m grading` and the sandbox read it.

Change a default here; override it for one run with `make autograde CELL_TIMEOUT=... SUBMISSION_CAP=... WORKERS=...`
(the options of `python -m grading autograde`).
"""

import functools
import os
import sys
from pathlib import Path

COURSE_ID = "generalizing-gd"

# seconds one cell may run; the slowest reference cell (chapter 6's training) takes a few seconds
CELL_TIMEOUT = 60
# seconds of wall-clock time one submission may use in all, across kernel restarts and regrades
SUBMISSION_CAP = 600
# seconds the instructor's own locked cells (the setup cell's imports, given code) may run, if more
# than CELL_TIMEOUT: on a loaded machine the imports can outlast a short cell timeout, and a setup
# cell cut short would cost every test after it. The submission's budget still bounds them.
INSTRUCTOR_CELL_TIMEOUT = 120

# what grading keeps of a submission's outputs, bounded as they arrive from its kernel (ResilientExecute),
# so that no output can make the grader's memory, the graded notebook or its feedback page large:
# characters of output per notebook (each run of a hidden test gets as many again, never stored), outputs
# per cell, and characters one printed stream grows to (TruncateLongOutputs then keeps 20,000 of them).
# Past a bound, outputs are left out and the cell says so in one notice. The reference notebooks, run
# whole, produce at most 429,000 characters (ch01, its animation 254,000 of them), 10 outputs in a cell
# (ch06's explorers) and 990 characters of printed text in one output (ch08)
OUTPUT_CHARS = 4_000_000
OUTPUTS_PER_CELL = 200
STREAM_CHARS = 100_000
# markdown one feedback or Formgrader page renders (grading/feedback.py): characters of markdown source,
# and tags of the HTML it makes, which the sanitizer must read; cells past either budget are shown as
# plain text, at most MARKDOWN_PLAIN_CHARS of each. A reference notebook's page renders at most 20,300
# characters (ch07) and 790 tags (ch08)
MARKDOWN_CHARS = 50_000
MARKDOWN_TAGS = 5_000
MARKDOWN_PLAIN_CHARS = 20_000

# what one submission's kernel may use inside the sandbox
MEMORY_BYTES = 4 * 1024**3
PROCESSES = 64
# the cores one submission's processes may use together (where control groups allow): submissions
# graded side by side by parallel workers then cannot slow each other down past their timeouts
CPUS = 1
FILE_BYTES = 100 * 1024**2  # the largest file it may write
SCRATCH_BYTES = 256 * 1024**2  # each of its two writable spaces, in memory: its folder and its /tmp
# submissions graded at once on this machine (`make autograde WORKERS=N`), each by its own nbgrader
# process in its own sandbox slot; 0 means one per core
WORKERS = 0
# one sandbox uid per concurrent grading worker (worker slot), from this one up
FIRST_SANDBOX_UID = 64900
WORKER_SLOTS = 64

# nbgrader runs the kernel's Execute step only when `python -m grading` asked for it (it sets this
# variable): the Formgrader's Autograde button would otherwise grade outside the sandbox
GRADING_RUN_VARIABLE = "GD_GRADING_RUN"

# nbgrader's exchange (release, fetch, submit, collect, feedback), outside the course root so that
# students never need to reach into it; NBGRADER_EXCHANGE (`make ... EXCHANGE=<folder>`) overrides it
EXCHANGE = "/srv/generalizing-gd/exchange"
EXCHANGE_VARIABLE = "NBGRADER_EXCHANGE"


def exchange_root():
    return os.environ.get(EXCHANGE_VARIABLE, "").strip() or EXCHANGE


# the gradebook: the database this variable names (postgresql://user:password@host:port/database),
# when it is set and not empty; else the SQLite file below, in the course root
DB_URL_VARIABLE = "DB_URL"
SQLITE_GRADEBOOK = "gradebook.db"


def configured_db_url(course_root):
    """What nbgrader_config.py sets as CourseDirectory.db_url: DB_URL, or the course's SQLite gradebook."""
    return os.environ.get(DB_URL_VARIABLE, "").strip() or "sqlite:///" + os.path.join(course_root, SQLITE_GRADEBOOK)


@functools.lru_cache(maxsize=None)
def db_url(course):
    """The gradebook URL nbgrader itself uses for ``course`` (CourseDirectory.db_url in nbgrader_config.py)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    saved_path, saved_env = list(sys.path), os.environ.get("PYTHONPATH")
    try:  # loading the file puts that course on the import path: keep this process's own
        config = PyFileConfigLoader("nbgrader_config.py", path=str(Path(course).resolve())).load_config()
    finally:
        sys.path[:] = saved_path
        if saved_env is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved_env
    return CourseDirectory(config=config).db_url


def in_grading_run():
    return os.environ.get(GRADING_RUN_VARIABLE) == "1"
