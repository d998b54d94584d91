"""Command line: python -m grading <command> (what `make autograde`, `make release` and the rest run).

    autograde        grade every submission in submitted/, in the sandbox; report in reports/
    release, publish, collect, feedback, return-feedback
                     the course commands, one nbgrader command per chapter (grading/course.py)
    gradebook        check the gradebook and register the chapters it lacks (grading/database.py)
    grades           export the gradebook for an LMS (grading/export.py)
"""

import argparse
import sys
from pathlib import Path

from grading import course as course_commands, database, export, parallel, report, run, sandbox, settings

REFUSAL = """\
REFUSING TO GRADE: the sandbox cannot run on this machine.
  {reasons}
Student code would run with your permissions: it could read solutions/ and the gradebook,
change other students' files, open network connections and exhaust the machine.
Fix the problem above, or, only for submissions you trust, grade without the sandbox:
  make autograde UNSAFE_NO_SANDBOX=1"""

# course commands that read the gradebook: it first learns every chapter they name (database.ensure_registered)
NEED_THE_GRADEBOOK = {"feedback", "return-feedback"}
# commands with options of their own, handed on to their module
PASSED_ON = {"gradebook": database, "grades": export}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PASSED_ON:
        return PASSED_ON[argv[0]].main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_autograde(commands)
    for name, command in course_commands.COMMANDS.items():
        chosen = commands.add_parser(name, help=command.__doc__.splitlines()[0] if command.__doc__ else None)
        chosen.add_argument("chapters", nargs="*", help="chapters (default: every chapter in solutions/)")
        chosen.add_argument("--course", default=".", help="the course root (default: the current folder)")
        for flag, options in course_commands.OPTIONS.get(name, []):
            chosen.add_argument(flag, **options)
    for name, module in PASSED_ON.items():
        commands.add_parser(name, help=f"{module.__doc__.splitlines()[0]} (python -m grading {name} --help)")
    args = parser.parse_args(argv)
    if args.command == "autograde":
        return autograde(parser, args)
    course = Path(args.course).resolve()
    try:
        if args.command in NEED_THE_GRADEBOOK:
            database.ensure_registered(course, args.chapters or None)
        course_commands.COMMANDS[args.command](course, args.chapters, **course_commands.chosen_options(args))
    except course_commands.CourseError as problem:
        sys.exit(f"{args.command}: {problem}")
    except database.GradebookProblem as problem:  # one paragraph, as every command that opens the gradebook says it
        sys.exit(str(problem))


def add_autograde(commands):
    grade = commands.add_parser("autograde", help="grade every submission in submitted/")
    grade.add_argument("assignments", nargs="*", help="chapters to grade (default: every chapter in solutions/)")
    grade.add_argument("--course", default=".", help="the course root (default: the current folder)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true", help="run student code unconfined")
    grade.add_argument("--cell-timeout", type=int, default=settings.CELL_TIMEOUT,
                       help=f"seconds one cell may run (default {settings.CELL_TIMEOUT})")
    grade.add_argument("--submission-cap", type=int, default=settings.SUBMISSION_CAP,
                       help="seconds of wall-clock time one submission may use in all, across kernel restarts "
                            f"and regrades (default {settings.SUBMISSION_CAP})")
    grade.add_argument("--workers", type=int, default=parallel.default_workers(),
                       help="submissions graded at once, each in its own sandbox slot (default: one per core)")
    grade.add_argument("--shard", default="", metavar="I/K",
                       help="grade only shard I of K (0 <= I < K), so that K machines sharing the course folder "
                            "and the gradebook split the work; reports go to reports/shard-I-of-K/")


def autograde(parser, args):
    try:
        shard = parallel.Shard.parse(args.shard)
    except ValueError as error:
        parser.error(str(error))
    if args.workers < 1:
        parser.error(f"--workers={args.workers}: give at least 1 worker")

    course = Path(args.course).resolve()
    assignments = args.assignments or sorted(p.name for p in (course / "solutions").glob("ch*") if p.is_dir())
    chosen = run.Settings(cell_timeout=args.cell_timeout, use_sandbox=not args.unsafe_no_sandbox,
                          limits=sandbox.Limits(wall_seconds=args.submission_cap,
                                                cpu_seconds=max(args.submission_cap, 60)),
                          workers=args.workers, shard=shard)
    if chosen.use_sandbox and sandbox.problems():
        sys.exit(REFUSAL.format(reasons="\n  ".join(sandbox.problems())))
    try:  # one paragraph, not a traceback, when the gradebook cannot be opened
        database.ensure_registered(course, assignments)
    except database.GradebookProblem as problem:
        sys.exit(str(problem))
    if not chosen.use_sandbox:
        print("WARNING: grading WITHOUT the sandbox: student code runs with your permissions.", file=sys.stderr)
    outcomes = run.autograde(course, assignments, chosen)
    folder = Path("reports") / (f"shard-{shard.index}-of-{shard.count}" if shard.count > 1 else "")
    rows = report.write(course, outcomes, folder=course / folder, assignments=assignments)
    summarize(outcomes, rows, folder)
    return exit_status(outcomes)


def exit_status(outcomes):
    """0 unless there were submissions and not one of them could be graded: then say why, once."""
    if not outcomes or any(o.graded for o in outcomes):
        return 0
    reasons = sorted({o.problem for o in outcomes if o.problem})
    print(f"NOTHING GRADED: none of the {len(outcomes)} submissions could be graded. "
          f"{'The reason given: ' if len(reasons) == 1 else 'The reasons given: '}{' | '.join(reasons[:3])}"
          f"{' ...' if len(reasons) > 3 else ''}. Read reports/nbgrader.log, fix the cause (the gradebook, the "
          "sandbox, the machine) and run make autograde again.", file=sys.stderr)
    return 1


def summarize(outcomes, rows, folder):
    graded = sum(o.graded for o in outcomes)
    print(f"graded {graded} of {len(outcomes)} submissions; report in {folder}/ "
          "(submissions.csv, exercises.csv, pass_rates.csv, pass_rates.png)")
    for outcome in outcomes:
        if outcome.problem or outcome.preflight.flags:
            print(f"  {outcome.student}/{outcome.assignment}: "
                  + "; ".join(filter(None, [outcome.problem, *outcome.preflight.flags])))


if __name__ == "__main__":
    sys.exit(main())
