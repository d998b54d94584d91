"""The gradebook's database: can it be opened, and does it know every chapter?

    python -m grading.database [--course .] CHAPTER...

is what `make gradebook` (and `make gradebook.db`) runs: it opens the gradebook nbgrader_config.py
names (the database DB_URL names, else the course's SQLite gradebook.db), says in one paragraph
what is wrong when it cannot (the server is down, the driver is missing, the URL is malformed),
and registers every given chapter the gradebook does not know yet, or knows from another version
of its solution notebook, from solutions/ (as `nbgrader generate_assignment` does, into a scratch
folder: course/ is left alone). Which version each chapter was registered from is kept in the
gradebook's own table gd_registered (the solution notebook's sha256): autograding then never
restores the test cells of an older version.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy

from grading import settings

CONNECT_SECONDS = 10  # a PostgreSQL host that never answers gives up after this, rather than hang


class GradebookProblem(Exception):
    """The gradebook cannot be opened; the message says why and what to do."""


def shown_url(url):
    """The URL without its password, fit to print."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "<not a database URL>"


def source_of_url():
    return "DB_URL" if os.environ.get(settings.DB_URL_VARIABLE, "").strip() else "nbgrader_config.py"


def fix_hint():
    if source_of_url() == "DB_URL":
        return ("Correct DB_URL (postgresql://user:password@host:port/database), or leave it empty to use "
                f"the SQLite {settings.SQLITE_GRADEBOOK} in the course folder.")
    return "Correct CourseDirectory.db_url in nbgrader_config.py."


def check(url):
    """Connect once to the gradebook at ``url``; raise GradebookProblem saying why that failed."""
    where = f"the gradebook {shown_url(url)} (set by {source_of_url()})"
    try:
        engine = sqlalchemy.create_engine(url, connect_args=connect_arguments(url))
    except sqlalchemy.exc.NoSuchModuleError:
        kind = url.split(":", 1)[0]
        raise GradebookProblem(f"Cannot open {where}: SQLAlchemy knows no database kind {kind!r} "
                               f"(PostgreSQL is written postgresql://). {fix_hint()}") from None
    except sqlalchemy.exc.ArgumentError:
        raise GradebookProblem(f"Cannot open the gradebook: {url!r} (set by {source_of_url()}) is not a database URL. "
                               f"{fix_hint()}") from None
    except ImportError as error:
        raise GradebookProblem(f"Cannot open {where}: its database driver, the Python module {error.name!r}, is "
                               f"not installed in {sys.prefix}. {install_hint(error.name)}") from None
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as error:
        said = " ".join(str(error.orig).split())
        said += "" if said.endswith("?") else f"{'' if said.endswith('.') else '.'} {advice(url)}"
        raise GradebookProblem(f"Cannot open {where}: {said} {fix_hint()}") from None
    finally:
        engine.dispose()


def install_hint(module):
    if module == "psycopg":
        return (f"`make env` installs it (requirements.txt pins psycopg[binary]); by hand: "
                f"{sys.executable} -m pip install 'psycopg[binary]'.")
    return f"Install it ({sys.executable} -m pip install {module}), or write postgresql:// to use psycopg 3."


def advice(url):
    if sqlalchemy.engine.make_url(url).get_backend_name() == "sqlite":
        return "Does its folder exist, and may this user write there?"
    return "Is the database server running and reachable there, and do that database and user exist?"


def connect_arguments(url):
    if sqlalchemy.engine.make_url(url).get_backend_name() == "postgresql":
        return {"connect_timeout": CONNECT_SECONDS}
    return {}


REGISTERED = sqlalchemy.Table(
    "gd_registered", sqlalchemy.MetaData(),
    sqlalchemy.Column("assignment", sqlalchemy.String(128), primary_key=True),
    sqlalchemy.Column("solution_sha256", sqlalchemy.String(64), nullable=False),
)


def solution_sha256(course, chapter):
    return hashlib.sha256((Path(course) / "solutions" / chapter / f"{chapter}.ipynb").read_bytes()).hexdigest()


def registered_versions(url):
    """{chapter: sha256 of the solution it was registered from}; also makes sure gd_lost_points exists."""
    from nbgrader.api import Gradebook

    from grading.handgrades import CHECKSUMS
    from grading.report import REASONS

    with Gradebook(url, course_id=settings.COURSE_ID) as book:
        with book.engine.begin() as connection:  # once, here, before any grading worker needs it
            REASONS.create(connection, checkfirst=True)
            REGISTERED.create(connection, checkfirst=True)
            CHECKSUMS.create(connection, checkfirst=True)  # grading/handgrades.py
            stamps = {row.assignment: row.solution_sha256 for row in connection.execute(REGISTERED.select())}
        known = {assignment.name for assignment in book.assignments if assignment.notebooks}
    return {chapter: sha for chapter, sha in stamps.items() if chapter in known}


def stale_chapters(url, course, chapters):
    """The given chapters the gradebook lacks, or knows from another version of their solution."""
    versions = registered_versions(url)
    return sorted(c for c in set(chapters) if versions.get(c) != solution_sha256(course, c))


def remember_versions(url, course, chapters):
    engine = sqlalchemy.create_engine(url, connect_args=connect_arguments(url))
    try:
        with engine.begin() as connection:
            for chapter in chapters:
                connection.execute(REGISTERED.delete().where(REGISTERED.c.assignment == chapter))
                connection.execute(REGISTERED.insert(), {"assignment": chapter,
                                                         "solution_sha256": solution_sha256(course, chapter)})
    finally:
        engine.dispose()


def register(course, chapters):
    """Run nbgrader generate_assignment for each chapter, into a scratch release folder."""
    nbgrader = Path(sys.executable).parent / "nbgrader"
    with tempfile.TemporaryDirectory(prefix="gd-release-") as scratch:
        for chapter in chapters:
            done = subprocess.run([str(nbgrader), "generate_assignment", chapter, "--force", "--log-level=WARN",
                                   f"--CourseDirectory.release_directory={scratch}"], cwd=course)
            if done.returncode != 0:
                raise GradebookProblem(f"nbgrader generate_assignment {chapter} failed (exit status "
                                       f"{done.returncode}, its messages are above); {chapter} is not registered.")


def every_chapter(course):
    """The chapters of ``course``: its folders solutions/chNN_slug/."""
    return sorted(p.name for p in (Path(course) / "solutions").glob("ch*") if p.is_dir())


def ensure_registered(course, chapters=None, log=print):
    """Open the gradebook of ``course`` and register the ``chapters`` (default: every chapter) it lacks,
    or knows from another version of their solution; raise GradebookProblem when it cannot.

    Every command that grades, writes feedback or exports runs this first: what the gradebook knows
    never depends on a file's age (a SQLite gradebook that `make collect` made empty is filled here)."""
    course = Path(course).resolve()
    url = settings.db_url(str(course))
    check(url)
    wanted = every_chapter(course) if chapters is None else list(chapters)
    unknown = [c for c in wanted if not (course / "solutions" / c / f"{c}.ipynb").is_file()]
    if unknown:
        raise GradebookProblem(f"There is no solutions/{unknown[0]}/{unknown[0]}.ipynb: {unknown[0]} is not a "
                               f"chapter of this course (its chapters: {', '.join(every_chapter(course))}).")
    stale = stale_chapters(url, course, wanted)
    register(course, stale)
    remember_versions(url, course, stale)
    if stale:
        log(f"gradebook {shown_url(url)}: registered {', '.join(stale)} from solutions/")
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.database", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapters that must be registered (default: every chapter)")
    parser.add_argument("--course", default=".", help="the course root (default: the current folder)")
    args = parser.parse_args(argv)
    try:
        ensure_registered(args.course, args.chapters or None)
    except GradebookProblem as problem:
        sys.exit(str(problem))


if __name__ == "__main__":
    main()
