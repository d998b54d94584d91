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

import shutil
import subprocess
import sys
from pathlib import Path

from grading import feedback as grading_feedback, inbound

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
    """Collect hand-ins from the exchange into submitted/, from root's own copy of them.

    grading/inbound.py checks each hand-in through descriptors and copies the bytes it checked into a
    private exchange (the rest wait in quarantine/); nbgrader collects from there alone, never from
    the students' inbound, and need not check owners again."""
    chapters = chapters or every_chapter(course)
    try:
        with inbound.staged(chapters, log) as staging:
            for chapter in chapters:
                run(course, nbgrader("collect", chapter, "--update", f"--Exchange.root={staging}",
                                     "--ExchangeCollect.check_owner=False"))
    except inbound.Refused as refused:
        raise CourseError(str(refused)) from None


def graded(course, folder, chapter):
    """The students who have ``chapter`` in ``folder`` (autograded/ or feedback/), sorted."""
    return sorted(p.parent.name for p in (course / folder).glob(f"*/{chapter}") if p.is_dir())


def feedback(course, chapters, run=run_nbgrader, log=print, provisional=False):
    """Write (again) the HTML feedback of graded submissions into feedback/.

    A submission whose written answers are not graded yet gets no page (an earlier one is removed),
    unless ``provisional``: then its page is marked so at the top. --force rewrites a regraded
    submission's page; ignoring every other file keeps only the page, never a file the submission
    wrote. Returns, per chapter, the students whose page was left out."""
    left_out = {}
    for chapter in chapters or every_chapter(course):
        students = graded(course, "autograded", chapter)
        if not students:
            continue
        waiting = written_answers_to_grade(course, chapter)
        say_waiting(chapter, waiting, provisional, log)
        left_out[chapter] = [] if provisional else [s for s in students if s in waiting]
        for student in left_out[chapter]:
            remove_page(course, student, chapter)
        if len(left_out[chapter]) < len(students):
            run(course, nbgrader("generate_feedback", chapter, "--force", '--CourseDirectory.ignore=["*"]', QUIET,
                                 *excluding(left_out[chapter])))
        for student in waiting if provisional else ():
            for page in (course / "feedback" / student / chapter).glob("*.html"):
                grading_feedback.mark_provisional(page)
    return left_out


def written_answers_to_grade(course, chapter):
    """Map each student whose ``chapter`` has written answers still to grade by hand to their grade ids."""
    from nbgrader.api import MissingEntry

    from grading.export import written_answers_waiting
    from grading.run import gradebook

    waiting = {}
    with gradebook(course) as book:
        try:
            submissions = book.assignment_submissions(chapter)
        except MissingEntry:
            return waiting
        for submission in submissions:
            names = written_answers_waiting(submission)  # what the LMS export calls "needs manual grading"
            if names:
                waiting[submission.student_id] = names
    return waiting


def say_waiting(chapter, waiting, provisional, log):
    fate = ("its page is marked provisional" if provisional else
            "its page is left out until you grade them in the Formgrader (or send it marked provisional: "
            "--provisional, make feedback PROVISIONAL=1)")
    for student, names in sorted(waiting.items()):
        log(f"feedback: {student}'s {chapter} has written answers not graded yet ({', '.join(names)}): {fate}")


def remove_page(course, student, chapter):
    """Remove the feedback of an earlier run, which must not reach the student as if it were final."""
    folder = course / "feedback" / student / chapter
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.is_dir():
        shutil.rmtree(folder)


def excluding(students):
    return [f"--CourseDirectory.student_id_exclude={','.join(students)}"] if students else []


def return_feedback(course, chapters, run=run_nbgrader, log=print, provisional=False):
    """Write the feedback, then return each page to its student through the exchange."""
    left_out = feedback(course, chapters, run, log, provisional)
    for chapter in chapters or every_chapter(course):
        if not graded(course, "feedback", chapter):
            continue
        skipped = attach_submission_files(course, chapter, log)
        run(course, nbgrader("release_feedback", chapter, QUIET,
                             *excluding(sorted({*skipped, *left_out.get(chapter, [])}))))
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
# the course commands' own options, added to their command line by grading/__main__.py
PROVISIONAL = ("--provisional", {"action": "store_true",
                                 "help": "also write (and return) the pages of submissions whose written answers are "
                                         "not graded yet, each marked provisional at the top"})
OPTIONS = {"feedback": [PROVISIONAL], "return-feedback": [PROVISIONAL]}


def chosen_options(args):
    """The keyword arguments of ``args.command`` that its own options (OPTIONS) set on the command line."""
    names = [flag.lstrip("-").replace("-", "_") for flag, _ in OPTIONS.get(args.command, [])]
    return {name: getattr(args, name) for name in names}
