"""A real, private PostgreSQL server for the tests, on loopback, thrown away at the end.

Use it through the session-scoped fixture ``postgres`` (tests/conftest.py)::

    def test_something(postgres):
        url = postgres.new_database("hub")
        # url == "postgresql://postgres:<password>@127.0.0.1:<port>/hub": a fresh, empty database

``new_database(name)`` creates one database per call (``name``: letters, digits and underscores;
each name once per session) and returns its URL, which SQLAlchemy, nbgrader and psycopg 3 take
as it is (``DB_URL=<url> make autograde``). The server is one per test session, started on first
use: ``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` package (or whatever ``initdb`` is on
PATH), run as the ``postgres`` Unix user when the tests run as root, with its data in a temporary
folder, listening on 127.0.0.1 only (a free port), its Unix sockets in a private folder, and a
password made for this session (no other local account can use it). At the end of the session
the server is stopped and the folder removed.
"""

import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = "install PostgreSQL's server programs: apt-get install postgresql (Debian, Ubuntu)"
START_SECONDS = 60


class PostgresMissing(RuntimeError):
    pass


def server_programs():
    """The folder holding initdb and pg_ctl: PATH's, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    candidates = [os.path.dirname(on_path)] if on_path else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(re.sub(r"\D", "", p) or 0),
                         reverse=True)
    for folder in candidates:
        if all(os.access(os.path.join(folder, name), os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    raise PostgresMissing(f"No PostgreSQL server programs (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
                          f"{INSTALL_HINT}.")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One running server; ``new_database(name)`` gives the URL of a fresh, empty database."""

    def __init__(self, folder, programs):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.log = self.folder / "server.log"
        self.programs = programs
        self.password = secrets.token_hex(16)
        self.host, self.port = "127.0.0.1", free_port()
        self.databases = set()

    def url(self, database):
        return f"postgresql://postgres:{self.password}@{self.host}:{self.port}/{database}"

    def new_database(self, name):
        """Create the database ``name`` and return its postgresql:// URL."""
        import psycopg

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits and underscores")
        if name in self.databases:
            raise ValueError(f"database {name!r} was already made in this session: pick another name")
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.databases.add(name)
        return self.url(name)

    def start(self):
        self.sockets.mkdir(mode=0o700)
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        owner_only(self.folder)
        self.as_owner("initdb", "-D", self.data, "--username=postgres", f"--pwfile={password_file}",
                      "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C")
        password_file.unlink()
        options = (f"-c listen_addresses={self.host} -p {self.port} -k {self.sockets} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.as_owner("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", str(START_SECONDS), "start")

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            try:
                self.as_owner("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop")
            except RuntimeError:
                self.as_owner("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def as_owner(self, program, *arguments):
        """Run one server program as the data folder's owner (the postgres user, when we are root)."""
        command = [str(self.programs / program), *map(str, arguments)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=START_SECONDS + 30)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed (exit status {done.returncode}):\n{done.stdout}{done.stderr}{log}")


def owner_only(folder):
    """The folder and what it holds belong to the server's user (postgres when we are root), mode 0700."""
    os.chmod(folder, 0o700)
    if os.geteuid() != 0:
        return
    try:
        shutil.chown(folder, "postgres", "postgres")
    except LookupError:
        raise PostgresMissing(f"There is no 'postgres' Unix user to run the server as: {INSTALL_HINT}.") from None
    for path in Path(folder).rglob("*"):
        shutil.chown(path, "postgres", "postgres")


@contextmanager
def running():
    """A started PostgresServer in a fresh temporary folder; stopped, and the folder removed, on exit."""
    programs = server_programs()  # before making anything to clean up
    server = PostgresServer(tempfile.mkdtemp(prefix="gd-postgres-"), programs)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.folder, ignore_errors=True)
