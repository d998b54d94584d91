"""Parallel grading: several sandboxed workers, and shards that machines grade on their own.

The units check how students are dealt out; the round trip grades one class of chapter-1
submissions with one worker, with two, and as two shards graded at the same time by two
separate `make autograde` runs, and requires the same scores every time.
"""

import io
import os
import re
import subprocess

import nbformat
import pytest

from grading import parallel, preflight, sandbox, settings
from grading.run import Outcome, gradebook, only
from grading.samples import MISTAKES, answered, copy_course, liar_answers, make_command, reference_answers

pytestmark = pytest.mark.grading

CHAPTER = "ch01_one_weight"
UID_PROBE = "\nimport os as _os\nprint('sandbox uid', _os.getuid())\n"


# ---- units: shards, shares, the students one nbgrader process grades ----

@pytest.mark.parametrize("text, expected", [("", (0, 1)), ("0/1", (0, 1)), ("3/4", (3, 4))])
def test_a_shard_is_read_from_i_slash_k(text, expected):
    shard = parallel.Shard.parse(text)
    assert (shard.index, shard.count) == expected


@pytest.mark.parametrize("text", ["4/4", "-1/3", "1", "a/b", "1/0", "1/2/3"])
def test_a_malformed_shard_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"i/K .*SHARD=0/4"):
        parallel.Shard.parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_split_every_class_exactly_once(count):
    students = [f"student{n:03d}" for n in range(200)] + ["ada", "b.lovelace", "Zoë"]
    holders = {s: [i for i in range(count) if parallel.Shard(i, count).holds(s)] for s in students}
    assert all(len(found) == 1 for found in holders.values())
    sizes = [sum(found == [i] for found in holders.values()) for i in range(count)]
    assert min(sizes) > len(students) / count / 2, f"very uneven shards: {sizes}"


def test_a_students_shard_depends_on_the_id_alone():
    late = "student-who-submitted-late"
    assert [parallel.Shard(i, 4).holds(late) for i in range(4)] == \
           [parallel.Shard(i, 4).holds(late) for i in range(4)]
    assert sum(parallel.Shard(i, 4).holds(late) for i in range(4)) == 1


def test_shares_are_dealt_round_robin_and_never_empty():
    assert parallel.shares(list("abcde"), 2) == [list("ace"), list("bd")]
    assert parallel.shares(list("ab"), 4) == [["a"], ["b"]]
    assert parallel.shares([], 3) == []


def outcome(student):
    return Outcome(student, CHAPTER, preflight.Preflight(student, CHAPTER))


def test_one_nbgrader_process_grades_exactly_its_share():
    present = ["ada", "bob", "cy", "dee"]
    assert only([outcome("bob")], present) == ["--student=bob"]
    assert only([outcome("ada"), outcome("cy")], present) == ["--CourseDirectory.student_id_exclude=bob,dee"]
    assert only([outcome(s) for s in present], present) == []


@pytest.mark.parametrize("student", ["a,b", "all*", "who?", "x[1]", "\nada", "bob ", "a+b", "eve\udcff", "zoë", "-x"])
def test_an_id_nbgrader_cannot_name_alone_is_set_aside(tmp_path, student):
    folder = tmp_path / "submitted" / student / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(answered(CHAPTER), folder / f"{CHAPTER}.ipynb")
    (result,) = preflight.check_all(tmp_path, CHAPTER)
    assert result.status == "set aside" and "rename the folder" in result.notes[-1]
    assert not folder.exists()


def test_an_unnameable_id_never_reaches_the_others(tmp_path):
    for student in ["ada", "eve\udcff", "bob"]:
        folder = tmp_path / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        nbformat.write(answered(CHAPTER), folder / f"{CHAPTER}.ipynb")
    results = {r.student: r.status for r in preflight.check_all(tmp_path, CHAPTER, parallel.Shard(0, 1).holds)}
    assert results == {"ada": "ok", "bob": "ok", "eve\udcff": "set aside"}
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == ["ada", "bob"]


def test_only_the_shards_students_are_preflighted(tmp_path):
    for student in ["ada", "bob", "cy", "dee"]:
        (tmp_path / "submitted" / student / CHAPTER).mkdir(parents=True)
    shard = parallel.Shard(1, 2)
    checked = [r.student for r in preflight.check_all(tmp_path, CHAPTER, shard.holds)]
    assert checked == [s for s in ["ada", "bob", "cy", "dee"] if shard.holds(s)]


class Captured(io.StringIO):
    def isatty(self):
        return False


def test_progress_counts_graded_and_failed_and_ends_with_a_line(tmp_path):
    outcomes = [outcome(s) for s in ["ada", "bob", "cy"]]
    out = Captured()
    with parallel.Progress(tmp_path, CHAPTER, outcomes, out=out, every=0) as progress:
        graded = tmp_path / "autograded" / "ada" / CHAPTER
        graded.mkdir(parents=True)
        (graded / f"{CHAPTER}.ipynb").write_text("{}")
        outcomes[1].problem = "killed"
        progress.finish("bob")
        assert progress.counts() == (2, 1, 0)
        assert re.fullmatch(rf"{CHAPTER}: 2/3 graded, 1 failed, 0 in flight, \d+ s, about \d+ s left", progress.line())
    assert out.getvalue().splitlines()[-1].startswith(f"{CHAPTER}: 2/3 graded, 1 failed")


# ---- round trip: the same class graded by 1 worker, 2 workers, and 2 shards at once ----

needs_sandbox = pytest.mark.skipif(not os.environ.get("CI") and bool(sandbox.problems()),
                                   reason="grading in the sandbox needs root and bubblewrap")


def class_notebooks():
    reference = reference_answers(CHAPTER)
    first = next(iter(reference))
    crash = dict(reference, **{first: reference[first] + "\nimport os\nos._exit(3)\n"})
    return {
        "ada": answered(CHAPTER, dict(reference, **{first: reference[first] + UID_PROBE})),
        "bob": answered(CHAPTER, dict(reference, **{first: reference[first] + UID_PROBE})),
        "cy": answered(CHAPTER, MISTAKES[CHAPTER].apply(reference)),
        "dee": answered(CHAPTER),
        "eve": answered(CHAPTER, liar_answers(CHAPTER)),
        "fay": answered(CHAPTER, crash),
    }


def hand_in(course):
    for student, nb in class_notebooks().items():
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{CHAPTER}.ipynb")


def autograde(course, *variables):
    return subprocess.Popen(make_command("autograde", f"A={CHAPTER}", *variables), cwd=course,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process):
    out, err = process.communicate(timeout=1800)
    assert process.returncode == 0, out[-3000:] + err[-3000:]
    return out, err


def scores(course):
    with gradebook(course) as book:
        return {s.student.id: s.score for s in book.assignment_submissions(CHAPTER)}


def sandbox_uids(course):
    found = set()
    for student in ["ada", "bob"]:
        nb = nbformat.read(course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        found |= {int(uid) for uid in re.findall(r"sandbox uid (\d+)", text)}
    return found


@pytest.fixture(scope="module")
def graded_three_ways(tmp_path_factory):
    """Scores and outputs of one class graded with WORKERS=1, WORKERS=2, and as SHARD=0/2 + 1/2 at once."""
    runs = {}
    for name in ["one worker", "two workers", "two shards"]:
        course = copy_course(tmp_path_factory.mktemp(name.replace(" ", "-")), [CHAPTER])
        hand_in(course)
        subprocess.run(make_command("gradebook.db"), cwd=course, check=True, capture_output=True)
        if name == "two shards":
            outputs = [finished(p) for p in [autograde(course, "SHARD=0/2", "WORKERS=1"),
                                             autograde(course, "SHARD=1/2", "WORKERS=1")]]
        else:
            outputs = [finished(autograde(course, f"WORKERS={1 if name == 'one worker' else 2}"))]
        runs[name] = {"course": course, "scores": scores(course), "outputs": outputs}
    return runs


@needs_sandbox
def test_one_worker_grades_the_class_as_expected(graded_three_ways):
    run = graded_three_ways["one worker"]
    full = run["scores"]["ada"]
    assert full > 0 and run["scores"]["bob"] == full
    assert run["scores"]["dee"] == run["scores"]["eve"] == 0
    assert 0 < run["scores"]["cy"] < full and 0 <= run["scores"]["fay"] < full
    assert "graded 6 of 6 submissions" in run["outputs"][0][0]


@needs_sandbox
def test_two_workers_and_two_shards_give_the_same_scores_as_one_worker(graded_three_ways):
    expected = graded_three_ways["one worker"]["scores"]
    assert graded_three_ways["two workers"]["scores"] == expected
    assert graded_three_ways["two shards"]["scores"] == expected


@needs_sandbox
def test_each_worker_runs_student_code_as_its_own_uid(graded_three_ways):
    one, two = (sandbox_uids(graded_three_ways[name]["course"]) for name in ["one worker", "two workers"])
    assert len(one) == 1, "one worker grades every submission under one uid"
    assert len(two) == 2, "ada and bob were dealt to different workers, so their code ran as different uids"
    first, last = settings.FIRST_SANDBOX_UID, settings.FIRST_SANDBOX_UID + settings.WORKER_SLOTS
    assert all(first <= uid < last for uid in one | two)
    log = (graded_three_ways["two workers"]["course"] / "reports" / "nbgrader.log").read_text()
    assert "(worker 0)" in log and "(worker 1)" in log


@needs_sandbox
def test_progress_is_printed_while_grading(graded_three_ways):
    err = graded_three_ways["two workers"]["outputs"][0][1]
    assert re.search(rf"{CHAPTER}: 6/6 graded, \d+ failed", err), err[-2000:]


@needs_sandbox
def test_each_shard_grades_and_reports_only_its_own_students(graded_three_ways):
    course = graded_three_ways["two shards"]["course"]
    for index, (out, _) in enumerate(graded_three_ways["two shards"]["outputs"]):
        mine = sorted(s for s in class_notebooks() if parallel.Shard(index, 2).holds(s))
        assert f"graded {len(mine)} of {len(mine)} submissions; report in reports/shard-{index}-of-2/" in out
        rows = (course / "reports" / f"shard-{index}-of-2" / "submissions.csv").read_text().splitlines()[1:]
        assert sorted(row.split(",")[1] for row in rows) == mine
