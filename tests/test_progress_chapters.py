"""The progress summary on released chapters, as a learner runs it: in the notebook and with `make progress`."""

import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from gdlib import progress
from grading.samples import MISTAKES, answered, make_command, reference_answers, release_notebook

# executes released chapters (seconds each): the notebooks tier
pytestmark = pytest.mark.notebooks

CH01 = "ch01_one_weight"


def learner_copy(workspace, chapter, answers=None):
    """Save the release of ``chapter`` with ``answers`` typed in where `make lab` would put it."""
    path = workspace / chapter / f"{chapter}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(answered(chapter, answers), path)
    return path


def summary_printed(path):
    """Run the learner's notebook top to bottom (Run All) and return what its summary cell printed."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    cell = nb.cells[-1]
    assert cell.metadata.nbgrader.grade_id == progress.SUMMARY_CELL, "the chapter does not end with its summary"
    assert not [output for output in cell.outputs if output.output_type == "error"], cell.outputs
    return "".join(output.get("text", "") for output in cell.outputs)


def listed(chapter):
    return progress.exercises(progress.read_cells(release_notebook(chapter)))


def rows(printed, chapter):
    """{exercise label: status text} from the printed table."""
    labels = [exercise.label for exercise in listed(chapter)]
    found = {}
    for line in printed.splitlines():
        for label in labels:
            if line.startswith(f"  {label} "):
                found[label] = line.split(None, len(label.split()) + 1)[-1]
    assert sorted(found) == sorted(labels), printed
    return found


def labels_of(chapter, grade_ids):
    return {exercise.label for exercise in listed(chapter) if exercise.grade_id in grade_ids}


def test_released_chapter_with_reference_answers_passes_every_exercise(tmp_path):
    printed = summary_printed(learner_copy(tmp_path, CH01, reference_answers(CH01)))
    found = rows(printed, CH01)
    written = {label for label in found if "(written)" in label}
    assert all(found[label] == "passed" for label in set(found) - written), printed
    assert all(found[label].startswith("answered") for label in written), printed
    assert f"{len(found) - len(written)} of {len(found) - len(written)} exercises pass" in printed
    assert printed.rstrip().endswith(progress.CLOSING) and "Traceback" not in printed


def test_released_chapter_with_a_classic_mistake_names_it(tmp_path):
    mistake = MISTAKES[CH01]
    printed = summary_printed(learner_copy(tmp_path, CH01, mistake.apply(reference_answers(CH01))))
    found = rows(printed, CH01)
    failing = labels_of(CH01, mistake.failing)
    assert failing and all(found[label].startswith("failed: ") for label in failing), printed
    assert any(mistake.message in found[label] for label in failing), printed
    assert all(found[label] in ("passed",) or "(written)" in label for label in set(found) - failing), printed
    assert f"Next: fix {min(failing)}" in printed and "Traceback" not in printed


def test_released_chapter_untouched_is_not_attempted(tmp_path):
    printed = summary_printed(learner_copy(tmp_path, CH01))
    found = rows(printed, CH01)
    assert all(status.startswith("not attempted: ") for label, status in found.items() if "(written)" not in label)
    assert "Next: write 1.1 predict, then run its check cell." in printed


def test_make_progress_reports_every_chapter_of_a_workspace(tmp_path):
    """One chapter solved, one with its classic mistake, one untouched, one whose answer has a syntax error."""
    solved, mistaken, untouched, broken = "ch01_one_weight", "ch02_multiple_inputs", "ch03_freezing_one_weight", \
        "ch04_multiple_outputs"
    learner_copy(tmp_path, solved, reference_answers(solved))
    learner_copy(tmp_path, mistaken, MISTAKES[mistaken].apply(reference_answers(mistaken)))
    learner_copy(tmp_path, untouched)
    typo = dict(reference_answers(broken))
    typo["deltas"] = typo["deltas"].replace("):", ")", 1)  # the def line loses its colon
    learner_copy(tmp_path, broken, typo)
    result = subprocess.run(make_command("--no-print-directory", "progress", f"WORKSPACE={tmp_path}"),
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout
    graded = {chapter: [e for e in listed(chapter) if not e.written] for chapter in (solved, mistaken)}

    def row(chapter):
        return next(line for line in table.splitlines() if line.startswith(f"  {chapter} "))

    count, points = len(graded[solved]), f"{sum(e.points for e in graded[solved]):g}"
    assert row(solved).split()[1:] == [str(count), "/", str(count), points, "/", points]
    wrong = MISTAKES[mistaken].failing
    assert row(mistaken).split()[1:4] == [str(len(graded[mistaken]) - len(wrong)), "/", str(len(graded[mistaken]))]
    assert row(untouched).endswith("not started")
    for label in labels_of(mistaken, wrong):
        assert any(line.split()[:1] == [mistaken] and f" {label} " in line and "failed: " in line
                   for line in table.splitlines()), table
    assert MISTAKES[mistaken].message in table
    assert any(line.startswith(f"  {broken} ") and "4.2 deltas" in line and
               "your answer cell stops with SyntaxError" in line for line in table.splitlines()), table
    assert "Traceback" not in table + result.stderr and table.rstrip().endswith(progress.CLOSING)
