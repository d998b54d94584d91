"""The exchange `make hub-setup` makes: students hand in, but never list, rename or remove a classmate's hand-in."""

import importlib.util
import os
import pwd

import pytest

from accounts import folder_everyone_may_enter
from conftest import ROOT
from grading import settings

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(os.geteuid() != 0, reason="the exchange is root's: run it as root")]

STUDENT, CLASSMATE = pwd.getpwnam("nobody"), pwd.getpwnam("daemon")


def hub_setup():
    spec = importlib.util.spec_from_file_location("hub_prepare", ROOT / "deploy" / "hub" / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_user(user, action):
    """The errno ``action`` raised as ``user`` (0 when it worked), in a child process."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        code = 0
        try:
            os.setgid(user.pw_gid)
            os.setgroups([])
            os.setuid(user.pw_uid)
            action()
        except OSError as error:
            code = error.errno or 255
        os.write(writer, bytes([code]))
        os._exit(0)
    os.close(writer)
    code = os.read(reader, 1)
    os.waitpid(pid, 0)
    return code[0]


@pytest.fixture
def inbound():
    with folder_everyone_may_enter("gd-exchange-") as place:
        hub_setup().prepare_exchange(place / "exchange", settings.COURSE_ID)
        yield place / "exchange" / settings.COURSE_ID / "inbound"


def test_a_student_hands_in_but_cannot_list_rename_or_remove_a_classmates_hand_in(inbound):
    theirs = inbound / f"{CLASSMATE.pw_name}+ch01_one_weight+2026-12-07 10:00:00.000000 UTC+a1b2c3"
    theirs.mkdir()
    os.chown(theirs, CLASSMATE.pw_uid, CLASSMATE.pw_gid)
    assert as_user(STUDENT, lambda: (inbound / f"{STUDENT.pw_name}+ch01_one_weight+x").mkdir()) == 0
    assert as_user(STUDENT, lambda: os.listdir(inbound)) != 0, "listed the inbound"
    assert as_user(STUDENT, lambda: os.rename(theirs, inbound / "mine")) != 0, "renamed a classmate's hand-in"
    assert as_user(STUDENT, lambda: os.rmdir(theirs)) != 0, "removed a classmate's hand-in"
    assert theirs.is_dir()
