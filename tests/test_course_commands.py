"""grading.course: the course commands behind `make release`, `publish`, `collect`, `feedback` and
`return-feedback`, each one nbgrader command per chapter (nbgrader itself replaced by a recorder)."""

import contextlib
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


def test_collect_takes_only_roots_checked_copy_of_the_inbound(tmp_path, monkeypatch):
    order = []

    @contextlib.contextmanager
    def staged(chapters, log):
        order.append(("staged", chapters))
        yield tmp_path / "staging"
        order.append("removed")

    monkeypatch.setattr(course.inbound, "staged", staged)
    course.collect(course_folder(tmp_path), [], lambda root, command: order.append(command[1:]))
    assert order == [("staged", ["ch01_one", "ch02_two"]),
                     *[["collect", chapter, "--update", f"--Exchange.root={tmp_path / 'staging'}",
                        "--ExchangeCollect.check_owner=False"] for chapter in ["ch01_one", "ch02_two"]],
                     "removed"]


@pytest.fixture
def written_to_grade(monkeypatch):
    """The gradebook's written answers still to grade by hand, per student (none unless a test adds some)."""
    waiting = {}
    monkeypatch.setattr(course, "written_answers_to_grade", lambda root, chapter: dict(waiting))
    return waiting


class PageWriter(Recorder):
    """Stands in for nbgrader: generate_feedback writes a page for each graded student it is not told to skip."""

    def __call__(self, course_root, command):
        super().__call__(course_root, command)
        if command[1] != "generate_feedback":
            return
        skip = next((c.split("=", 1)[1].split(",") for c in command if "student_id_exclude" in c), [])
        for graded in (course_root / "autograded").glob(f"*/{command[2]}"):
            if graded.parent.name not in skip:
                page = course_root / "feedback" / graded.parent.name / command[2] / f"{command[2]}.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text("<html><head><title>t</title></head><body>\n<p>score</p></body></html>")


def page_of(root, student, chapter="ch01_one"):
    return root / "feedback" / student / chapter / f"{chapter}.html"


def test_feedback_leaves_out_the_pages_whose_written_answers_are_not_graded(tmp_path, written_to_grade):
    root, nbgrader, said = course_folder(tmp_path), PageWriter(), []
    hand_in(root, "ann", "ch01_one")
    hand_in(root, "bob", "ch01_one")
    page_of(root, "bob").parent.mkdir(parents=True)
    page_of(root, "bob").write_text("<body>an earlier run's page, before a regrade</body>")
    written_to_grade["bob"] = ["explain_rate"]
    left_out = course.feedback(root, ["ch01_one"], nbgrader, said.append)
    assert left_out == {"ch01_one": ["bob"]}
    assert "--CourseDirectory.student_id_exclude=bob" in nbgrader.commands[0]
    assert page_of(root, "ann").exists() and not page_of(root, "bob").parent.exists()  # the stale page is gone
    assert said == ["feedback: bob's ch01_one has written answers not graded yet (explain_rate): its page is left "
                    "out until you grade them in the Formgrader (or send it marked provisional: --provisional, "
                    "make feedback PROVISIONAL=1)"]


def test_provisional_feedback_marks_only_the_pages_still_to_grade(tmp_path, written_to_grade):
    root, nbgrader, said = course_folder(tmp_path), PageWriter(), []
    hand_in(root, "ann", "ch01_one")
    hand_in(root, "bob", "ch01_one")
    written_to_grade["bob"] = ["explain_rate"]
    course.feedback(root, ["ch01_one"], nbgrader, said.append, provisional=True)
    course.feedback(root, ["ch01_one"], Recorder(), said.append, provisional=True)  # marked once, not twice
    assert not any("student_id_exclude" in part for part in nbgrader.commands[0])
    bob, ann = page_of(root, "bob").read_text(), page_of(root, "ann").read_text()
    assert bob.count("Provisional: written answers not graded yet") == 1 and "Provisional" not in ann
    assert bob.index("gd-provisional") < bob.index("<p>score</p>")  # at the top of the page
    assert said[0].endswith("(explain_rate): its page is marked provisional")


def test_no_feedback_is_generated_when_every_page_waits_for_grading(tmp_path, written_to_grade):
    root, nbgrader = course_folder(tmp_path), Recorder()
    hand_in(root, "ann", "ch01_one")
    written_to_grade["ann"] = ["explain_rate"]
    assert course.feedback(root, ["ch01_one"], nbgrader, lambda line: None) == {"ch01_one": ["ann"]}
    assert nbgrader.commands == []


def test_return_feedback_returns_no_page_that_waits_for_grading(tmp_path, written_to_grade):
    root, nbgrader = course_folder(tmp_path), PageWriter()
    hand_in(root, "ann", "ch01_one")
    hand_in(root, "bob", "ch01_one")
    written_to_grade["bob"] = ["explain_rate"]
    course.return_feedback(root, ["ch01_one"], nbgrader, lambda line: None)
    assert nbgrader.commands[1] == ["release_feedback", "ch01_one", course.QUIET,
                                    "--CourseDirectory.student_id_exclude=bob"]
    nbgrader = PageWriter()
    course.return_feedback(root, ["ch01_one"], nbgrader, lambda line: None, provisional=True)
    assert nbgrader.commands[1] == ["release_feedback", "ch01_one", course.QUIET]


def test_the_command_line_passes_provisional_on(tmp_path, monkeypatch):
    course_folder(tmp_path)
    called = []
    monkeypatch.setattr(command_line.database, "ensure_registered", lambda *args, **kwargs: None)
    monkeypatch.setitem(course.COMMANDS, "feedback", lambda root, chapters, **options: called.append(options))
    command_line.main(["feedback", "ch01_one", "--provisional", "--course", str(tmp_path)])
    command_line.main(["feedback", "--course", str(tmp_path)])
    assert called == [{"provisional": True}, {"provisional": False}]


def test_feedback_is_written_only_for_graded_chapters_and_keeps_only_the_page(tmp_path, written_to_grade):
    root, nbgrader = course_folder(tmp_path), Recorder()
    hand_in(root, "ann", "ch02_two")
    course.feedback(root, [], nbgrader)
    assert nbgrader.commands == [["generate_feedback", "ch02_two", "--force", '--CourseDirectory.ignore=["*"]',
                                  course.QUIET]]


def test_return_feedback_skips_only_the_student_without_nbgraders_files(tmp_path, written_to_grade):
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
