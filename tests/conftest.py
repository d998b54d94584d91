"""Shared paths and helpers for the test suite."""

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# GD_CHAPTERS="ch01_one_weight ch06_mnist" runs the chapter tests on those chapters only
CHAPTERS = sorted(p.name for p in (ROOT / "solutions").glob("ch*") if p.is_dir()
                  if p.name in os.environ.get("GD_CHAPTERS", p.name).split())

sys.path.insert(0, str(ROOT))  # the instructor's grading package, run from the course root

# nbgrader runs `alembic` by name: the venv's bin must be on PATH, however pytest was started
os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("MPLBACKEND", "Agg")
# one BLAS thread per process: the kernels these tests start (and this process, when the Makefile set
# it before NumPy loaded) never fight over the two cores (ch08 in process: 77 s with every thread, 11 s with one)
for _blas in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_blas, "1")
# solution notebooks run their hidden tests from grading/ (kernels started by nbval and the Validator)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


@pytest.fixture(params=CHAPTERS)
def chapter(request):
    return request.param


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server on loopback for the session: ``postgres.new_database(name)`` returns
    the postgresql:// URL of a fresh, empty database (tests/postgres.py)."""
    import postgres as server

    try:
        with server.running() as running:
            yield running
    except server.PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)


# Debian's Chromium, driven by Playwright (no browser download): tests/test_browser.py and test_hub.py
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def no_chapter_named():
    """gdlib.checks remembers the chapter and exercise a notebook named last, in module state: each
    test starts with none, whatever the tests before it executed."""
    from gdlib import checks

    checks.chapter(None)


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory):
    """An empty nbgrader gradebook (SQLite), made once per test run: nbgrader takes seconds to make one
    (its migrations), a copy takes none. Copy it to a course's gradebook.db before opening that."""
    from nbgrader.api import Gradebook

    from grading import settings

    path = tmp_path_factory.mktemp("template") / settings.SQLITE_GRADEBOOK
    Gradebook(f"sqlite:///{path}", course_id=settings.COURSE_ID).close()
    return path
