"""Tests of sim.format.scenario: the models of the format, located and readable errors."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.errors import Problem, ScenarioError
from sim.format.loader import parse_document
from sim.format.scenario import (
    EventProcess,
    ScheduleProcess,
    TriggerProcess,
    VariantParameter,
    json_schema,
)
from sim.format.validation import scenario_from_document, suggest

HEAD = """\
sim: 1
name: demo
title: Demo
description: A scenario for tests.
time: {unit: month, horizon: 120}
"""
OUTCOMES = """\
outcomes:
  - {kind: value, name: v, expr: "1"}
"""


def problems(body: str, file: str = "s.yaml") -> tuple[Problem, ...]:
    """The problems of HEAD + body, which must be invalid."""
    with pytest.raises(ScenarioError) as caught:
        scenario_from_document(parse_document(HEAD + body, file))
    return caught.value.problems


def only(body: str) -> Problem:
    """The single problem of HEAD + body."""
    found = problems(body)
    assert len(found) == 1, found
    return found[0]


def test_a_minimal_scenario_validates() -> None:
    scenario = scenario_from_document(parse_document(HEAD + OUTCOMES, "s.yaml"))
    assert scenario.name == "demo"
    assert scenario.time.horizon == 120.0
    assert scenario.processes == []


def test_unknown_field_is_located_at_its_key_with_a_suggestion() -> None:
    line = "  - {kind: event, name: e, rate: 1, rat: 2, set: {}}"
    problem = only(OUTCOMES + "processes:\n" + line + "\n")
    assert (problem.line, problem.col, problem.path) == (
        9,
        line.index("rat:") + 1,
        "processes[0].rat",
    )
    assert problem.message == "unknown field 'rat' (did you mean 'rate'?)"


def test_missing_field_is_reported_on_the_mapping_that_lacks_it() -> None:
    problem = only(OUTCOMES + "processes:\n  - {kind: event, name: e, set: {}}\n")
    assert (problem.line, problem.col, problem.path) == (9, 5, "processes[0]")
    assert problem.message == "missing field 'rate'"


def test_unknown_kind_is_located_at_the_kind_and_lists_the_kinds() -> None:
    problem = only(OUTCOMES + "processes:\n  - {kind: evnt, name: e}\n")
    assert (problem.line, problem.col, problem.path) == (9, 12, "processes[0].kind")
    assert problem.message == (
        "unknown kind 'evnt'; expected one of: periodic, event, trigger, schedule, flow"
    )


def test_missing_kind_lists_the_kinds() -> None:
    problem = only(OUTCOMES + "processes:\n  - {name: e}\n")
    assert problem.path == "processes[0]"
    assert problem.message.startswith("missing field 'kind'; expected one of: periodic,")


def test_bool_where_a_number_is_needed_names_the_type() -> None:
    problem = only(OUTCOMES + "processes:\n  - {kind: periodic, name: p, every: true, set: {}}\n")
    assert problem.path == "processes[0].every"
    assert problem.message == "expected a number, got bool"


def test_value_errors_lose_pydantic_prefix() -> None:
    problem = only(OUTCOMES + "parameters:\n  p: {dist: {kind: uniform, low: 2, high: 1}}\n")
    assert "Value error" not in problem.message
    assert problem.path.startswith("parameters.p")


def test_error_inside_a_distribution_field_points_at_the_field() -> None:
    problem = only(
        OUTCOMES + "parameters:\n  p: {dist: {kind: normal, mean: 1, sd: true}, assumption: a}\n"
    )
    assert problem.path == "parameters.p.dist.sd"


def test_a_bad_name_is_located_at_the_key() -> None:
    problem = only(OUTCOMES + "state:\n  Level: {init: 0}\n")
    assert (problem.line, problem.col, problem.path) == (9, 3, "state.Level")
    assert "snake_case" in problem.message


def test_a_reserved_name_is_refused() -> None:
    assert "reserved" in only(OUTCOMES + "state:\n  t_end: {init: 0}\n").message


def test_every_error_is_reported_in_file_order() -> None:
    found = problems(
        "outcomes:\n  - {kind: value, name: v, expr: 1, extra: 1}\nstate:\n  x: {init: 0, mni: 1}\n"
    )
    assert [(p.line, p.path) for p in found] == [(7, "outcomes[0].extra"), (9, "state.x.mni")]


def test_a_bad_delay_is_reported_once_not_per_union_member() -> None:
    problem = only(
        OUTCOMES + "processes:\n  - {kind: trigger, name: g, when: 'true', delay: [1], set: {}}\n"
    )
    assert problem.path == "processes[0].delay"


def test_a_bad_variant_value_is_reported_once() -> None:
    problem = only(OUTCOMES + "variants:\n  v: {parameters: {p: abc}}\n")
    assert problem.path == "variants.v.parameters.p"
    assert problem.message == "expected a number or true/false, got a string ('abc')"


def test_an_unknown_field_of_a_variant_distribution_is_located() -> None:
    problem = only(OUTCOMES + "variants:\n  v: {parameters: {p: {dist: {kind: beta, a: 1}}}}\n")
    assert problem.path == "variants.v.parameters.p.dist"
    assert problem.message == "missing field 'b'"


def test_a_variant_distribution_is_a_variant_parameter() -> None:
    doc = parse_document(
        HEAD + OUTCOMES + "variants:\n  v: {parameters: {p: {dist: {kind: beta, a: 1, b: 2}}}}\n",
        "s.yaml",
    )
    change = scenario_from_document(doc).variants["v"].parameters["p"]
    assert isinstance(change, VariantParameter)


def test_strings_are_not_coerced_to_booleans() -> None:
    problem = only(
        OUTCOMES + "processes:\n  - {kind: trigger, name: g, when: 'true', repeat: 'no', set: {}}\n"
    )
    assert problem.message == "expected true or false, got a string ('no')"


def test_a_parameter_needs_a_source_or_an_assumption() -> None:
    problem = only(OUTCOMES + "parameters:\n  p: {value: 1}\n")
    assert problem.path == "parameters.p"
    assert problem.message == "needs a `source` (a citation) or an `assumption` (a rationale)"


def test_a_parameter_takes_either_source_or_assumption() -> None:
    problem = only(
        OUTCOMES + "parameters:\n  p: {value: 1, assumption: a, source: {ref: s, quote: q}}\n"
    )
    assert problem.message == "give either `source` or `assumption`, not both"


def test_numbers_and_booleans_are_constant_expressions() -> None:
    doc = parse_document(
        HEAD
        + OUTCOMES
        + "processes:\n  - {kind: event, name: e, rate: 2, set: {}}\n"
        + "  - {kind: trigger, name: g, when: true, delay: 'x', set: {}}\n",
        "s.yaml",
    )
    event, trigger = scenario_from_document(doc).processes
    assert isinstance(event, EventProcess) and event.rate == "2.0"
    assert isinstance(trigger, TriggerProcess)
    assert (trigger.when, trigger.delay) == ("true", "x")


def test_json_dates_are_iso_strings() -> None:
    text = (
        '{"sim": 1, "name": "j", "title": "J", "description": "D",'
        ' "time": {"unit": "year", "horizon": 5, "start": "2024-01-01"},'
        ' "processes": [{"kind": "schedule", "name": "s", "at": ["2025-06-01", 2], "set": {}}],'
        ' "outcomes": [{"kind": "value", "name": "v", "expr": "1"}]}'
    )
    scenario = scenario_from_document(parse_document(text, "s.json"))
    assert scenario.time.start == dt.date(2024, 1, 1)
    schedule = scenario.processes[0]
    assert isinstance(schedule, ScheduleProcess)
    assert schedule.at == [dt.date(2025, 6, 1), 2.0]


def test_a_huge_integer_is_not_a_finite_number() -> None:
    big = "1" + "0" * 400
    problem = only(
        OUTCOMES + f"processes:\n  - {{kind: periodic, name: p, every: {big}, set: {{}}}}\n"
    )
    assert problem.message == "expected a finite number, got a number"


def test_suggest_finds_a_close_name_or_nothing() -> None:
    assert suggest("presure", ["pressure", "rate"]) == " (did you mean 'pressure'?)"
    assert suggest("zzz", ["pressure"]) == ""


def test_the_json_schema_is_self_describing() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in schema
    assert schema["title"] == "sim scenario file"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["time"]["description"]


def test_a_field_named_like_its_kind_is_located() -> None:
    # The tag 'flow' of a flow outcome and its field 'flow' appear both in pydantic's loc.
    body = "outcomes:\n  - {kind: flow, name: o, flow: 3, stat: bad}\n"
    assert [(p.path, p.message) for p in problems(body)] == [
        ("outcomes[0].flow", "expected text, got a number (3)"),
        (
            "outcomes[0].stat",
            "expected 'arrived', 'completed', 'lost', 'mean_wait', "
            "'mean_time_in_system' or 'max_queue', got 'bad'",
        ),
    ]


def test_every_property_of_the_schema_is_described() -> None:
    schema = json_schema()
    models = [schema, *schema["$defs"].values()]
    undescribed = [
        (model.get("title"), name)
        for model in models
        for name, prop in model.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []
