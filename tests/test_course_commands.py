"""grading.course: the course commands behind `make release`, `publish`, `collect`, `feedback` and
`return-feedback`, each one nbgrader command per chapter (nbgrader itself replaced by a recorder)."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT
from grading import __main__ as command_line, course

pytestmark = pytest.mark.unit

ALIASES = ["release", "publish", "collect", "feedback", "return-feedback", "gradebook", "grades"]


class Recorder:
    """Stands in for nbgrader: records each command (without the binary's path), fails on request."""

    def __init__(self, fail_on=None):
        self.commands, self.fail_on = [], fail_on

    def __call__(self, course_root, command):
        self.commands.append(command[1:])
        if self.fail_on and self.fail_on in command:
            raise SystemExit(3)


def course_folder(tmp_path, chapters=("ch01_one", "ch02_two"), released=()):
    for chapter in chapters:
        (tmp_path / "solutions" / chapter).mkdir(parents=True)
    for chapter in released:
        (tmp_path / "course" / chapter).mkdir(parents=True)
    return tmp_path


def hand_in(root, student, chapter, *, graded=True, secret="a" * 128):
    submitted = root / "submitted" / student / chapter
    submitted.mkdir(parents=True)
    (submitted / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 UTC")
    if secret is not None:
        (submitted / "submission_secret.txt").write_text(secret)
    if graded:
        (root / "autograded" / student / chapter).mkdir(parents=True)


def test_release_generates_every_chapter_of_solutions_by_default(tmp_path):
    nbgrader, said = Recorder(), []
    course.release(course_folder(tmp_path), [], nbgrader, said.append)
    assert [c[:2] for c in nbgrader.commands] == [["generate_assignment", "ch01_one"],
                                                  ["generate_assignment", "ch02_two"]]
    assert all("--force" in c for c in nbgrader.commands)
    assert said == ["released course/ch01_one", "released course/ch02_two"]


def test_a_failing_chapter_stops_the_command_with_nbgraders_status(tmp_path):
    nbgrader = Recorder(fail_on="ch01_one")
    with pytest.raises(SystemExit) as stopped:
        course.release(course_folder(tmp_path), [], nbgrader, print)
    assert stopped.value.code == 3 and len(nbgrader.commands) == 1


def test_run_nbgrader_passes_the_exit_status_on(tmp_path):
    with pytest.raises(SystemExit) as stopped:
        course.run_nbgrader(tmp_path, [sys.executable, "-c", "raise SystemExit(4)"])
    assert stopped.value.code == 4


def test_publish_needs_named_chapters_that_are_released(tmp_path):
    root, nbgrader = course_folder(tmp_path, released=["ch01_one"]), Recorder()
    with pytest.raises(course.CourseError, match="make publish A=ch01_one_weight"):
        course.publish(root, [], nbgrader)
    with pytest.raises(course.CourseError, match="no course/ch02_two: run make release A=ch02_two first"):
        course.publish(root, ["ch01_one", "ch02_two"], nbgrader)
    assert nbgrader.commands == []  # nothing is published when one chapter is missing
    course.publish(root, ["ch01_one"], nbgrader, lambda line: None)
    assert nbgrader.commands == [["release_assignment", "ch01_one", "--force", course.QUIET]]


def test_collect_checks_the_inbound_before_collecting(tmp_path, monkeypatch):
    order = []
    monkeypatch.setattr(course.inbound, "main", lambda: order.append("inbound"))
    course.collect(course_folder(tmp_path), ["ch02_two"], lambda root, command: order.append(command[1:3]))
    assert order == ["inbound", ["collect", "ch02_two"]]


def test_feedback_is_written_only_for_graded_chapters_and_keeps_only_the_page(tmp_path):
    root, nbgrader = course_folder(tmp_path), Recorder()
    hand_in(root, "ann", "ch02_two")
    course.feedback(root, [], nbgrader)
    assert nbgrader.commands == [["generate_feedback", "ch02_two", "--force", '--CourseDirectory.ignore=["*"]',
                                  course.QUIET]]


def test_return_feedback_skips_only_the_student_without_nbgraders_files(tmp_path):
    root, nbgrader, said = course_folder(tmp_path), Recorder(), []
    hand_in(root, "ann", "ch01_one")
    hand_in(root, "bob", "ch01_one", secret=None)
    for student in ["ann", "bob"]:  # the pages generate_feedback would write
        (root / "feedback" / student / "ch01_one").mkdir(parents=True)
    course.return_feedback(root, ["ch01_one"], nbgrader, said.append)
    assert nbgrader.commands[0][0] == "generate_feedback"
    assert nbgrader.commands[1] == ["release_feedback", "ch01_one", course.QUIET,
                                    "--CourseDirectory.student_id_exclude=bob"]
    assert (root / "feedback" / "ann" / "ch01_one" / "submission_secret.txt").read_text() == "a" * 128
    assert not (root / "feedback" / "bob" / "ch01_one" / "timestamp.txt").exists()
    assert any("bob's ch01_one has no valid submission_secret.txt" in line for line in said)
    assert said[-1] == "returned the feedback on ch01_one through the exchange"


def test_an_oversized_or_linked_submission_file_is_not_trusted(tmp_path):
    root = course_folder(tmp_path)
    hand_in(root, "ann", "ch01_one", secret="a" * 2000)
    (root / "submitted" / "ann" / "ch01_one" / "timestamp.txt").unlink()
    (root / "submitted" / "ann" / "ch01_one" / "timestamp.txt").symlink_to("/etc/hostname")
    assert course.submission_file(root, "ann", "ch01_one", "submission_secret.txt") is None
    assert course.submission_file(root, "ann", "ch01_one", "timestamp.txt") is None


def test_the_command_line_names_the_problem_and_its_fix(tmp_path):
    course_folder(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        command_line.main(["publish", "ch01_one", "--course", str(tmp_path)])
    assert stopped.value.code == "publish: there is no course/ch01_one: run make release A=ch01_one first"


def test_gradebook_and_grades_hand_their_options_on(capsys):
    with pytest.raises(SystemExit):
        command_line.main(["grades", "--help"])
    assert "--wide" in capsys.readouterr().out  # grading.export's own option


def recipe_of(target):
    """The recipe lines of ``target`` in the Makefile (comments left out)."""
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)*)", makefile, re.M)
    assert found, f"the Makefile has no target {target}"
    return [line.strip() for line in found.group(1).splitlines() if not line.strip().startswith("@#")]


@pytest.mark.parametrize("target", ALIASES)
def test_each_course_target_of_the_makefile_is_a_one_line_alias(target):
    recipe = recipe_of(target)
    assert len(recipe) == 1 and re.search(rf"-m grading {target}\b", recipe[0]), recipe


def test_make_help_lists_every_course_command():
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert all(f"make {target} " in listed for target in ALIASES)
