"""Tests of the hidden tests and of the mistake tables, in process, on every chapter.

Each hidden test must pass on the reference answers (for several fresh seeds) and on correct
answers written differently, and fail on every mutant of its exercise. Each visible check's
mistake table must name exactly the mutants it describes: typed in, a mutant makes the check
say its "Likely mistake".
"""

import ast
import functools
import re

import pytest

from conftest import CHAPTERS
from grading import hidden
from grading.mutants import alternatives_of, exercises, mutants_of, notebook, reference_answers, run_chapter
from grading.preprocessors import HIDDEN_REGION, is_graded_test

pytestmark = pytest.mark.notebooks

SEEDS = range(5)


@functools.cache
def reference_run(chapter):
    return run_chapter(chapter)


def cases(listing):
    """One parameter per mutant (or alternative); a chapter without a module fails its own tests below."""
    found = []
    for chapter in CHAPTERS:
        try:
            found += [pytest.param(chapter, m, id=f"{chapter}-{m.cell}-{m.name}") for m in listing(chapter)]
        except ImportError:
            pass
    return found


def owned_tests(chapter, cell):
    return [test for test, owner in exercises(chapter).items() if owner == cell]


def test_every_graded_cell_calls_its_own_hidden_test_in_one_uniform_line(chapter):
    cells = [c for c in notebook(chapter).cells if is_graded_test(c)]
    for cell in cells:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        region = HIDDEN_REGION.search(cell.source)
        assert region, f"{grade_id} has no hidden region"
        line = hidden.HIDDEN_LINE.format(chapter=chapter, test=grade_id)
        assert region.group(0).splitlines()[1:-1] == [line], f"{grade_id}: the hidden region must be just {line!r}"
    assert sorted(hidden.tests_of(chapter)) == sorted(c.metadata["nbgrader"]["grade_id"] for c in cells)


def test_reference_answers_pass_every_visible_and_hidden_test(chapter):
    run = reference_run(chapter)
    assert run.failures == {}
    for test in hidden.tests_of(chapter):
        for seed in SEEDS:
            assert hidden.run_in_process(chapter, test, run.namespace, seed) is None, (test, seed)


@pytest.mark.parametrize("chapter, mutant", cases(mutants_of))
def test_every_mutant_fails_the_hidden_tests_of_its_exercise(chapter, mutant):
    tests = owned_tests(chapter, mutant.cell)
    run = run_chapter(chapter, mutant.apply(reference_answers(chapter)), until=tests[-1])
    for test in tests:
        message = hidden.run_in_process(chapter, test, run.namespace, seed=0)
        assert message, f"hidden test {test} passes on the mutant {mutant.name}"
    if mutant.hint:
        visible = "".join(run.failures.get(test, "") for test in tests)
        assert f"Likely mistake: {mutant.hint}" in visible, f"the visible check does not recognise {mutant.name}"


@pytest.mark.parametrize("chapter, alternative", cases(alternatives_of))
def test_correct_answers_written_differently_pass(chapter, alternative):
    run = run_chapter(chapter, alternative.apply(reference_answers(chapter)))
    assert run.failures == {}
    for test in hidden.tests_of(chapter):
        assert hidden.run_in_process(chapter, test, run.namespace, seed=1) is None, test


def test_every_chapter_has_two_alternatives_and_a_mutant_per_exercise(chapter):
    assert len(alternatives_of(chapter)) >= 2
    mutated = {mutant.cell for mutant in mutants_of(chapter)}
    assert set(exercises(chapter).values()) <= mutated, "an exercise without a mutant"


def test_every_mistake_table_entry_is_a_mutant_of_its_exercise(chapter):
    hints = {}
    for mutant in mutants_of(chapter):
        hints.setdefault(mutant.cell, set()).add(mutant.hint)
    owners = exercises(chapter)
    for cell in notebook(chapter).cells:
        if is_graded_test(cell):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            for key in table_keys(cell.source):
                assert key in hints.get(owners[grade_id], set()), f"{grade_id}: no mutant for the mistake {key!r}"


def table_keys(source):
    """The descriptions in every ``mistakes={...}`` table of a test cell."""
    keys = []
    for node in ast.walk(ast.parse(re.sub(r"^%.*$", "pass", source, flags=re.M))):
        if isinstance(node, ast.keyword) and node.arg == "mistakes" and isinstance(node.value, ast.Dict):
            keys += [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
    return keys
