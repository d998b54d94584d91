"""grading.inbound: only a student's own hand-ins reach `make collect` (real uids: needs root)."""

import os
import pwd

import pytest

from grading import inbound

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="chown needs root")]

NOW = "2026-12-02 02:00:00.000000 UTC"
STUDENT = "nobody"  # a Unix user every Debian machine has


def hand_in(inbound_folder, name, owner=STUDENT):
    uid = pwd.getpwnam(owner).pw_uid
    entry = inbound_folder / name
    entry.mkdir(parents=True)
    (entry / "ch01.ipynb").write_text("{}")
    for path in [entry, entry / "ch01.ipynb"]:
        os.chown(path, uid, uid)
    return entry


@pytest.fixture
def exchange(tmp_path):
    folder = tmp_path / "exchange" / "course" / "inbound"
    folder.mkdir(parents=True)
    return folder


def reasons(exchange):
    quarantine = exchange.parent / "quarantine"
    return {p.name.removesuffix(".REASON.txt"): p.read_text() for p in quarantine.glob("*.REASON.txt")}


def test_a_students_own_hand_in_gets_through(exchange):
    entry = hand_in(exchange, f"{STUDENT}+ch01+{NOW}+r4nd")
    assert inbound.check_inbound(exchange, log=lambda _: None) == 0
    assert entry.is_dir()


@pytest.mark.parametrize("name, owner, why", [
    (f"root+ch01+{NOW}+r4nd", STUDENT, "belongs to nobody, not to root: handed in as someone else"),
    (f"ghost-student+ch01+{NOW}+r4nd", STUDENT, "is not a user of this machine"),
    ("just-a-folder", STUDENT, "is not <student>+<chapter>+<time>+<random>"),
    (f"{STUDENT}+ch01+not-a-time+r4nd", STUDENT, "is not in the form nbgrader writes"),
    (f"{STUDENT}+ch01+2099-01-01 00:00:00.000000 UTC+r4nd", STUDENT, "is in the future"),
    (f"ev\udcffe+ch01+{NOW}+r4nd", STUDENT, "is not one grading accepts"),
])
def test_anything_else_waits_in_quarantine_with_its_reason(exchange, name, owner, why):
    hand_in(exchange, name, owner)
    honest = hand_in(exchange, f"{STUDENT}+ch01+{NOW}+k33p")
    assert inbound.check_inbound(exchange, log=lambda _: None) == 1
    assert why in reasons(exchange)[name]
    assert not (exchange / name).exists() and (exchange.parent / "quarantine" / name / "ch01.ipynb").is_file()
    assert honest.is_dir(), "the other hand-ins are collected as usual"


def test_links_are_moved_as_links_and_never_followed(exchange, tmp_path):
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "keep.txt").write_text("untouched")
    (exchange / f"{STUDENT}+ch01+{NOW}+l1nk").symlink_to(secret)
    inside = hand_in(exchange, f"{STUDENT}+ch01+{NOW}+1n51de")
    (inside / "data").symlink_to(secret)
    assert inbound.check_inbound(exchange, log=lambda _: None) == 2
    assert sorted(secret.iterdir()) == [secret / "keep.txt"] and (secret / "keep.txt").read_text() == "untouched"
    assert "is a link or a special file" in reasons(exchange)[f"{STUDENT}+ch01+{NOW}+1n51de"]
    assert (exchange.parent / "quarantine" / f"{STUDENT}+ch01+{NOW}+l1nk").is_symlink()
