"""CEL conditions: compile-time checks with positions, evaluation results, the cost bound."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sundial.domain.conditions import (
    COST_LIMIT,
    EVENT_VARIABLES,
    MAX_LENGTH,
    MAX_MACRO_DEPTH,
    MAX_NESTING,
    ConditionInput,
    ConditionResult,
    EventInput,
    compile_condition,
)
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.objectives import ObjectiveStatus

FIELD = "delivery[0].condition"


def activation(**overrides: object) -> ConditionInput:
    values: dict[str, object] = {
        "output": {
            "price_change_pct": 0.07,
            "count": 3,
            "title": "Daily report: EU prices",
            "items": [{"score": 0.5, "name": "a"}, {"score": 0.95, "name": "b"}],
        },
        "data": {"region": "eu"},
        "status": ObjectiveStatus.FAILED,
        "schedule": {"id": "sch_1", "name": "daily-prices", "labels": {"team": "pricing"}},
        "agent": {"id": "agt_1", "name": "pricer"},
    }
    values.update(overrides)
    return ConditionInput(**values)  # type: ignore[arg-type]


def evaluate(text: str, **overrides: object) -> ConditionResult:
    return compile_condition(text, FIELD).evaluate(activation(**overrides))


def violation(text: str) -> str:
    with pytest.raises(InvalidArgumentError) as raised:
        compile_condition(text, FIELD)
    (only,) = raised.value.violations
    assert only.field == FIELD
    return only.description


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("output.price_change_pct > 0.05", True),
        ("output.price_change_pct > 0.5", False),
        ('status == "FAILED" && data.region in ["eu", "us"]', True),
        ('status == "SUCCEEDED" || data.region in ["us"]', False),
        ('output.title.startsWith("Daily") && output.title.contains("EU")', True),
        ('output.title.endsWith("USD")', False),
        ('output.title.matches("^Daily .*prices$")', True),
        ("output.items.exists(i, i.score > 0.9)", True),
        ("output.items.all(i, i.score > 0.9)", False),
        ("output.items.filter(i, i.score > 0.9).map(i, i.name) == ['b']", True),
        ('schedule.labels.team == "pricing" && agent.name == "pricer"', True),
        ('has(output.title) && !has(output.missing) && "team" in schedule.labels', True),
        ("size(output.items) == 2", True),
        ("// a comment\noutput.count == 3", True),
    ],
)
def test_a_condition_is_true_or_false(text: str, matched: bool) -> None:
    assert evaluate(text) == ConditionResult(matched)


@pytest.mark.parametrize(
    ("text", "event_type", "matched"),
    [
        ('type == "objective.failed"', "objective.failed", True),
        ('type == "objective.failed"', "fire.missed", False),
        ('type.startsWith("fire.") && schedule.name == "daily-prices"', "fire.skipped", True),
        ('type == "objective.result" && status == "FAILED"', "objective.result", True),
        ('type == ""', "", True),
    ],
    ids=["same", "other", "prefix", "result", "unset"],
)
def test_the_event_type_is_a_variable(text: str, event_type: str, matched: bool) -> None:
    assert evaluate(text, type=event_type) == ConditionResult(matched)


def test_an_event_condition_sees_the_event_and_what_it_is_about() -> None:
    event = EventInput(
        type="fire.missed",
        schedule={"id": "sch_1", "labels": {"team": "pricing"}},
        agent={"id": "agt_1"},
        fire={"count": 3, "scheduledTimes": ["2026-06-01T08:00:00Z"]},
    )

    def matched(text: str) -> ConditionResult:
        return compile_condition(text, FIELD, EVENT_VARIABLES).evaluate(event)

    assert matched('type == "fire.missed" && fire.count >= 3') == ConditionResult(True)
    assert matched('schedule.labels.team == "ops"') == ConditionResult(False)
    assert matched("size(objective) == 0 && agent.id.startsWith('agt_')") == ConditionResult(True)
    assert not matched("objective.info.status == 'FAILED'").matched  # no objective: no such key
    assert matched("objective.info.status == 'FAILED'").error


def test_json_numbers_are_doubles_whatever_the_dict_held() -> None:
    # A Struct holds 3 as 3.0, json.loads as 3: both compare equal to the int literal 3.
    for output in ({"count": 3.0}, json.loads('{"count": 3}')):
        assert evaluate("output.count == 3", output=output).matched
        assert evaluate("output.count + 1.0 == 4.0", output=output).matched
    mixed = evaluate("output.count + 1 == 4", output={"count": 3})
    assert not mixed.matched
    assert mixed.error is not None
    assert "float + int" in mixed.error


@pytest.mark.parametrize(
    "text",
    [
        'status == "FAIL" + "ED"',
        '"x" + status == "xFAILED"',
        'status + "x" == "FAILEDx"',
        '"FAIL" + "ED" == status',
        'output.items.exists(status, status == "anything")',
        'output.status == "whatever"',
        'status in ["FAILED", "TIMED_OUT"] && (status != "CANCELLED")',
    ],
)
def test_only_a_status_compared_with_a_bare_literal_is_checked(text: str) -> None:
    compile_condition(text, FIELD)


def test_a_comprehension_variable_does_not_leak_out_of_its_macro() -> None:
    description = violation("output.items.exists(i, i.score > 0.9) && i.score > 0")
    assert description.startswith("line 1, column 42: undeclared variable 'i'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("output.price_change_pct > ", "line 1, column 27: Syntax error: mismatched input"),
        ("a +* b", "line 1, column 4: Syntax error: extraneous input '*'"),
        ('"ééé" == output.x +* 1', "line 1, column 20: Syntax error"),  # characters, not bytes
        ('"ééé" == nosuch', "line 1, column 10: undeclared variable"),
        ('status == "FAILED" &&\n  data.region in ["eu", "us"', "line 2, column 29: Syntax"),
        ('"unterminated', "line 1, column 1: Syntax error: token recognition error"),
        ("output.x > 1 && nosuch", "line 1, column 17: undeclared variable 'nosuch'"),
        ("\n\n  price > 0.05", "line 3, column 3: undeclared variable 'price'"),
        ('status == "FAILD"', "line 1, column 11: status is never 'FAILD'"),
        ("'DONE' != status", "line 1, column 1: status is never 'DONE'"),
        ('true && (status != "FAILD")', "line 1, column 20: status is never 'FAILD'"),
        ("(" * 40 + "true" + ")" * 40, f"line 1, column {MAX_NESTING + 1}: nested deeper than"),
        (
            "output.a.all(x, x.all(y, y.all(z, z.all(w, true))))",
            "line 1, column 40: more than 3 nested macros",
        ),
    ],
)
def test_every_compile_error_names_the_field_and_the_position(text: str, expected: str) -> None:
    assert violation(text).startswith(expected)


def test_the_error_message_reads_field_then_position() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        compile_condition("output.x >", FIELD)
    (only,) = raised.value.violations
    assert f"{only.field}: {only.description}".startswith(
        "delivery[0].condition: line 1, column 11: Syntax error"
    )


def test_length_and_emptiness_are_checked_before_parsing() -> None:
    assert violation("   ") == "a condition must not be empty"
    long = "output.x == '" + "é" * MAX_LENGTH + "'"
    assert violation(long).startswith(f"a condition is at most {MAX_LENGTH} bytes")
    at_limit = "output.x == '" + "a" * (MAX_LENGTH - len("output.x == ''")) + "'"
    compile_condition(at_limit, FIELD)


def test_macros_up_to_the_limit_compile() -> None:
    nested = "output.a.all(x, x.all(y, y.all(z, true)))"
    assert nested.count(".all(") == MAX_MACRO_DEPTH
    compile_condition(nested, FIELD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("output.missing > 1.0", "no such key: missing"),
        ("1 / 0 == 1", "division by zero"),
        ('output.title + 1 == ""', "Unsupported operation"),
        ("nope(1)", "Undefined variable or function: 'nope'"),
    ],
)
def test_a_runtime_error_is_a_result_that_says_why(text: str, expected: str) -> None:
    result = evaluate(text)
    assert not result.matched
    assert result.error is not None
    assert expected in result.error


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("output.count", "a double"),
        ("output.title", "a string"),
        ("output.items", "a list"),
        ("data", "a map"),
        ("output.nothing", "null"),
        ("1", "an int"),
    ],
)
def test_a_result_that_is_not_a_bool_is_an_error(text: str, kind: str) -> None:
    result = evaluate(text, output={**activation().output, "nothing": None})
    assert result == ConditionResult(
        False, f"the condition gave {kind}, not a bool (true or false)"
    )


def test_a_pathological_expression_is_refused_before_it_runs() -> None:
    text = "output.big.all(a, output.big.all(b, output.big.all(c, a + b + c >= 0.0)))"
    condition = compile_condition(text, FIELD)
    big = [float(i) for i in range(300)]  # 27 million inner steps if it ran
    assert condition.cost_bound(len(big)) > COST_LIMIT
    result = condition.evaluate(activation(output={"big": big}))
    assert not result.matched
    assert result.error is not None
    assert "more than the limit" in result.error
    # The same expression over a small list runs.
    assert condition.evaluate(activation(output={"big": [1.0, 2.0]})).matched


def test_the_cost_bound_covers_concatenated_ranges() -> None:
    condition = compile_condition("(output.l + output.l + output.l).exists(x, x < 0.0)", FIELD)
    # Each range is at most 3 x (elements + tokens) long.
    assert condition.cost_bound(10) >= 3 * 10


def test_a_value_that_is_not_json_is_an_error_result() -> None:
    result = evaluate("true", output={"when": object()})
    assert not result.matched
    assert result.error == "object is not a JSON value"
    result = evaluate("true", data={1: "x"})
    assert result.error is not None
    assert "key must be a string" in result.error


def test_no_function_can_reach_the_outside_world() -> None:
    for text in ('env("HOME") == ""', 'now() > timestamp("2020-01-01T00:00:00Z")'):
        result = evaluate(text)
        assert result.error is not None
        assert "Undefined variable or function" in result.error


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("outpdasc.()[]{}<>=!&|+-*/%?:,'\"\\ \n0123456789ixe_r")),
        max_size=80,
    )
    | st.text(max_size=60)
)
def test_compile_raises_nothing_but_the_validation_error(text: str) -> None:
    try:
        condition = compile_condition(text, FIELD)
    except InvalidArgumentError as error:
        violations = error.violations
    else:
        result = condition.evaluate(activation())
        assert isinstance(result.matched, bool)
        return
    assert [v.field for v in violations] == [FIELD]
    assert violations[0].description


def test_the_caller_declares_the_variables_a_condition_may_use() -> None:
    event_variables = ("type", "objective", "fire")
    compile_condition('type == "fire.missed" && fire.count > 2.0', FIELD, event_variables)
    with pytest.raises(InvalidArgumentError) as raised:
        compile_condition("type == 'x' && output.count > 1", FIELD, event_variables)
    (only,) = raised.value.violations
    assert only.description == (
        "line 1, column 16: undeclared variable 'output'; a condition can use type, objective, fire"
    )
