"""The instructor's course commands: one nbgrader command per chapter, run from the course root.

    python -m grading release [chapter ...]          course/<chapter>/ from solutions/
    python -m grading publish chapter [chapter ...]  a released chapter to the students (the exchange)
    python -m grading collect [chapter ...]          the students' hand-ins into submitted/
    python -m grading feedback [chapter ...]         HTML feedback for graded submissions, into feedback/
    python -m grading return-feedback [chapter ...]  feedback, then each page back through the exchange

Without chapters, a command takes every chapter in solutions/ (publish needs them named). The
commands stop at the first chapter nbgrader fails on, with its exit status. `make release`,
`make publish A=...` and the others are one-line aliases of these.
"""

import subprocess
import sys
from pathlib import Path

from grading import inbound

# nbgrader's text files of a submission, which release_feedback needs beside each returned page
SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")
QUIET = "--log-level=WARN"


class CourseError(Exception):
    """A command cannot start: the message names the problem and the fix."""


def nbgrader(*arguments):
    return [str(Path(sys.executable).parent / "nbgrader"), *arguments]


def run_nbgrader(course, command):
    """Run one nbgrader command in ``course``; stop the whole command when it fails."""
    done = subprocess.run(command, cwd=course)
    if done.returncode:
        raise SystemExit(done.returncode)


def every_chapter(course):
    return sorted(p.name for p in (course / "solutions").glob("ch*") if p.is_dir())


def release(course, chapters, run=run_nbgrader, log=print):
    """Generate course/<chapter>/ from solutions/ (answers, hidden tests and model answers removed)."""
    for chapter in chapters or every_chapter(course):
        run(course, nbgrader("generate_assignment", chapter, "--force", QUIET))
        log(f"released course/{chapter}")


def publish(course, chapters, run=run_nbgrader, log=print):
    """Release chapters from course/ to the students through nbgrader's exchange."""
    if not chapters:
        raise CourseError("name the chapters to publish, for example: make publish A=ch01_one_weight")
    missing = [c for c in chapters if not (course / "course" / c).is_dir()]
    if missing:
        raise CourseError(f"there is no course/{missing[0]}: run make release A={missing[0]} first")
    for chapter in chapters:
        run(course, nbgrader("release_assignment", chapter, "--force", QUIET))
        log(f"published {chapter} to the exchange")


def collect(course, chapters, run=run_nbgrader, log=print):
    """Collect hand-ins from the exchange into submitted/.

    Only a student's own hand-ins get through (grading/inbound.py); the rest wait in quarantine/."""
    inbound.main()
    for chapter in chapters or every_chapter(course):
        run(course, nbgrader("collect", chapter, "--update"))


def graded(course, folder, chapter):
    """Whether any student has ``chapter`` in ``folder`` (autograded/ or feedback/)."""
    return any((course / folder).glob(f"*/{chapter}"))


def feedback(course, chapters, run=run_nbgrader, log=print):
    """Write (again) the HTML feedback of graded submissions into feedback/.

    --force rewrites a regraded submission's page; ignoring every other file keeps only the page,
    never a file the submission wrote."""
    for chapter in chapters or every_chapter(course):
        if graded(course, "autograded", chapter):
            run(course, nbgrader("generate_feedback", chapter, "--force", '--CourseDirectory.ignore=["*"]', QUIET))


def return_feedback(course, chapters, run=run_nbgrader, log=print):
    """Write the feedback, then return each page to its student through the exchange."""
    feedback(course, chapters, run, log)
    for chapter in chapters or every_chapter(course):
        if not graded(course, "feedback", chapter):
            continue
        skipped = attach_submission_files(course, chapter, log)
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(skipped)}"] if skipped else []
        run(course, nbgrader("release_feedback", chapter, QUIET, *exclude))
        log(f"returned the feedback on {chapter} through the exchange")


def submission_file(course, student, chapter, name):
    """nbgrader's text file ``name`` of a submission, from submitted/ (where grading's preflight keeps
    it when it holds what nbgrader writes); None when there is none."""
    path = course / "submitted" / student / chapter / name
    if path.is_file() and not path.is_symlink() and path.stat().st_size <= 1024:
        return path.read_text(errors="replace").strip() or None
    return None


def attach_submission_files(course, chapter, log=print):
    """Put nbgrader's submission files beside each feedback page of ``chapter``: release_feedback
    names a returned page by its submission's secret and logs its time.

    Returns the students whose page cannot be returned (no valid files: the preflight left them
    out), so that release_feedback skips them and returns everyone else's."""
    skipped = []
    for page_folder in sorted((course / "feedback").glob(f"*/{chapter}")):
        student = page_folder.parent.name
        found = {name: submission_file(course, student, chapter, name) for name in SUBMISSION_FILES}
        if None in found.values():
            skipped.append(student)
            absent = " or ".join(name for name, text in found.items() if text is None)
            log(f"return-feedback: {student}'s {chapter} has no valid {absent} in submitted/ (was it collected "
                "with `make collect`?): its page stays in feedback/ and is not returned")
            continue
        for name, text in found.items():
            (page_folder / name).write_text(text)
    return skipped


COMMANDS = {"release": release, "publish": publish, "collect": collect, "feedback": feedback,
            "return-feedback": return_feedback}
