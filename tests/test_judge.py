"""The collector's codec and the judge, on values and evidence the tests build themselves."""

import json

import numpy as np
import pytest

from grading.hidden import collector, judge
from grading.hidden.judge import Failed, NoEvidence, Result, call
from grading.preprocessors import without_hidden_tests

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", [3, -2.5, True, None, "text", [1, 2.5, [3]], (1, 2), [(1.0,), []],
                                   np.float64(2.5), np.int32(7), np.bool_(True)])
def test_plain_values_survive_the_round_trip(value):
    back = collector.decode(json.loads(json.dumps(collector.encode(value))))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8", "bool"])
def test_numeric_arrays_come_back_as_fresh_equal_arrays(dtype):
    array = np.arange(12).reshape(3, 4).astype(dtype)
    back = collector.decode(json.loads(json.dumps(collector.encode(array))))
    assert back.dtype == array.dtype and back.shape == (3, 4) and np.array_equal(back, array)
    back[0, 0] = 1
    assert back.flags.writeable


class LyingFloat(float):
    def __eq__(self, other):
        return True


class LyingList(list):
    pass


class LyingArray(np.ndarray):
    pass


@pytest.mark.parametrize("value, type_name", [
    (LyingFloat(1.0), "LyingFloat"), (LyingList([1]), "LyingList"),
    (np.zeros(3).view(LyingArray), "LyingArray"), (np.array([object()]), "ndarray"),
    (object(), "object"), ({"a": 1}, "dict"),
])
def test_anything_but_exact_plain_types_is_recorded_by_its_type_name_only(value, type_name):
    encoded = collector.encode(value)
    assert set(encoded) == {"unsupported"} and encoded["unsupported"].endswith(type_name)
    assert isinstance(collector.decode(encoded), collector.Unsupported)


def test_structures_nested_too_deep_are_not_followed():
    nested = []
    for _ in range(100):
        nested = [nested]
    assert "nested too deep" in json.dumps(collector.encode(nested))


@pytest.mark.parametrize("data", [
    {"ndarray": "AAAA", "dtype": "object", "shape": [1]},
    {"ndarray": "not base64!", "dtype": "float64", "shape": [1]},
    {"ndarray": "AAAAAAAAAAA=", "dtype": "float64", "shape": [3]},
    {"something": "else"},
])
def test_malformed_evidence_is_refused(data):
    with pytest.raises((ValueError, TypeError)):
        collector.decode(data)


def test_a_seeded_rng_argument_arrives_as_a_fresh_generator_with_that_seed():
    requests = [judge.call("draw", judge.seeded_rng(7)).plain() for _ in range(2)]
    space = {"draw": lambda rng: rng.integers(0, 10**9, size=3)}
    records = json.loads(json.dumps(collector.collect(requests, space)))
    draws = [collector.decode(record["result"]) for record in records]
    assert np.array_equal(draws[0], draws[1])
    assert np.array_equal(draws[0], np.random.default_rng(7).integers(0, 10**9, size=3))


@pytest.mark.parametrize("forged", [{"scalar": "V300000000", "value": 1}, {"scalar": "void", "value": 300_000_000},
                                    {"scalar": "float64", "value": "1.0"}, {"scalar": "object", "value": 1},
                                    {"scalar": "int64", "value": [1]}])
def test_forged_scalars_that_are_not_plain_numbers_are_refused(forged):
    with pytest.raises(ValueError):
        collector.decode(forged)


def test_evidence_nested_too_deep_to_parse_is_no_evidence():
    output = {"output_type": "display_data", "data": {collector.MIME: "[" * 100_000 + "]" * 100_000}}
    with pytest.raises(NoEvidence):
        judge.read_evidence([output], "token")


def test_collect_records_missing_raising_and_uncallable_names():
    def boom(x):
        raise ValueError("no" * 1000)

    namespace = {"boom": boom, "number": 3, "double": lambda xs: [2 * x for x in xs]}
    requests = [call("missing", 1).plain(), call("boom", 1).plain(), call("number").plain(),
                call("double", [1, 2]).plain()]
    missing, raised, uncallable, doubled = collector.collect(requests, namespace)
    assert missing == {"missing": "missing"}
    assert raised["raised"].startswith("ValueError: nono") and len(raised["raised"]) <= collector.MAX_TEXT
    assert uncallable == {"not_callable": True}, "what the name holds never leaves the kernel"
    assert doubled["result"] == [2, 4] and doubled["args_after"] == [[1, 2]]


def result(record, *args):
    return Result(call("f", *args), record)


def test_results_fail_with_a_message_that_names_the_call():
    with pytest.raises(Failed, match=r"f\(2\) raised ValueError: bad"):
        result({"raised": "ValueError: bad"}, 2).value()
    with pytest.raises(Failed, match="f is not defined"):
        result({"missing": "f"}).value()
    with pytest.raises(Failed, match=r"returned <a __main__.Liar>"):
        result({"result": {"unsupported": "__main__.Liar"}}).value()
    with pytest.raises(Failed, match="should return one number"):
        result({"result": [1.0, 2.0]}).number()
    with pytest.raises(Failed, match=r"should have shape \(3,\)"):
        result({"result": [1.0, 2.0]}).array(shape=(3,))
    with pytest.raises(Failed, match=r"f\(1.5\) should be 3, got 3.1"):
        result({"result": 3.1}, 1.5).expect_near(3.0)


def test_near_arrays_name_the_first_wrong_entry():
    with pytest.raises(Failed, match=r"wrong at index \[1, 0\] \(1 of 4 entries\): expected 3, got 4"):
        judge.expect_near([[1, 2], [4, 4]], [[1, 2], [3, 4]], "W")
    judge.expect_near([[1, 2]], [[1, 2 + 1e-13]], "W")


def test_near_adds_the_rule_and_names_a_recognised_mistake():
    mistakes = [("you added instead of multiplying.", 5.0), ("never matched", None)]
    with pytest.raises(Failed, match=r"should be 6, got 5. multiply them. Likely mistake: you added instead"):
        judge.expect_near(5.0, 6.0, "f(2, 3)", hint="multiply them.", mistakes=mistakes)
    with pytest.raises(Failed) as failure:
        judge.expect_near(7.0, 6.0, "f(2, 3)", mistakes=mistakes)
    assert "Likely mistake" not in str(failure.value)


def test_changed_arguments_and_returned_arguments_are_seen():
    changed = result({"result": [1], "args_after": [[9.0]], "returned_argument": [0]}, [1.0])
    with pytest.raises(Failed, match="changed the list it was given"):
        changed.expect_unchanged(0)
    with pytest.raises(Failed, match="returned the list it was given"):
        changed.expect_new_object(0)


def outputs(*payloads):
    return [{"output_type": "display_data", "data": {collector.MIME: text}} for text in payloads]


def test_evidence_counts_only_once_and_only_with_this_runs_token():
    good = json.dumps({"token": "t1", "records": [{"result": 1}]})
    assert judge.read_evidence(outputs(good), "t1") == [{"result": 1}]
    for bad, why in [(outputs(), "no result"), (outputs(good, good), "more than once"),
                     (outputs(good), "this run"), (outputs("{not json"), "not readable"),
                     (outputs(json.dumps([1])), "this run")]:
        with pytest.raises(NoEvidence, match=why):
            judge.read_evidence(bad, "t1" if why != "this run" or bad != outputs(good) else "t2")


def passing_test(rng):
    results = yield [call("f", 2.0)]
    results[0].expect_near(4.0)


def test_decide_passes_fails_and_never_passes_on_unreadable_evidence():
    rng = np.random.default_rng(0)
    assert judge.decide(passing_test, rng, lambda requests: [{"result": 4.0}]) is None
    assert "should be 4, got 5" in judge.decide(passing_test, rng, lambda requests: [{"result": 5.0}])
    assert "does not match its questions" in judge.decide(passing_test, rng, lambda requests: [])
    assert "could not read" in judge.decide(passing_test, rng, lambda requests: [{"result": {"x": 1}}])


def test_a_test_that_rests_on_others_asks_again_in_rounds_and_a_bounded_number_of_them():
    def both(rng):
        yield from judge.again(rng, passing_test, passing_test)

    def endless(rng):
        while True:
            yield [call("f", 2.0)]

    rounds, rng = [], np.random.default_rng(0)
    assert judge.decide(both, rng, lambda requests: rounds.append(requests) or [{"result": 4.0}]) is None
    assert len(rounds) == 2
    answers = iter([4.0, 5.0])
    failure = judge.decide(both, rng, lambda requests: [{"result": next(answers)}])
    assert failure.startswith("this cell rests on the test passing_test, which fails again") and "got 5" in failure
    assert judge.decide(endless, rng, lambda requests: [{"result": 4.0}]) == "the hidden test did not finish"


def test_the_hidden_region_is_removed_whole():
    source = 'checks.passed("f")\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\n'
    assert without_hidden_tests(source) == 'checks.passed("f")'
    assert without_hidden_tests("a\n### BEGIN HIDDEN TESTS\nsecret()") == "a"


def test_messages_quote_the_arguments_as_they_were_before_the_call():
    def changes_then_checks(rng):
        weights = [1.0, 2.0]
        results = yield [call("grow", weights)]
        weights.append(3.0)  # the test's own list, changed after the request
        results[0].expect_unchanged(0)

    def grow(weights):
        weights.append(9.0)
        return weights

    message = judge.decide(changes_then_checks, np.random.default_rng(0),
                           lambda requests: collector.collect(requests, {"grow": grow}))
    assert message.startswith("grow([1, 2]) changed the list it was given")
