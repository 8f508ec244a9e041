"""Tests of sim.model.compile: the compiled model of a valid file, variants and --set overrides."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError, UsageError
from sim.format.scenario import Scenario
from sim.model.compile import DAYS_PER_UNIT, build_model, load, load_model
from sim.model.compiled import CEvent, CFlow, CompiledModel, CPeriodic, CSchedule, CTrigger

DATA = Path(__file__).parent / "data"
EVERY_KIND = DATA / "every_kind.yaml"
MONTH = 365.25 / 12

SWAP = """\
sim: 1
name: swap
title: Swap
description: Two variables that trade places.
time: {unit: year, horizon: 10}
state:
  a: {init: 1}
  b: {init: 2}
  c: {init: 0.5, min: 0, max: 1}
processes:
  - {kind: periodic, name: swap, every: 1, set: {a: b, b: a, c: "c + a"}}
outcomes:
  - {kind: value, name: total, expr: "a + b"}
"""


@pytest.fixture(scope="module")
def model() -> CompiledModel:
    return load_model(EVERY_KIND)


def months(start: dt.date, end: dt.date) -> float:
    return (end - start).days / MONTH


def test_slots_are_t_then_parameters_then_state_in_file_order(model: CompiledModel) -> None:
    assert model.slot_names[0] == "t"
    assert model.slot_names[1:4] == ("p_fixed", "p_value", "p_flag")
    assert model.slot_names[-6:] == ("level", "count", "done", "armed", "delivered", "lost")
    assert [p.slot for p in model.parameters] == list(range(1, 15))
    assert [s.slot for s in model.state] == list(range(15, 21))


def test_columns_are_ids_then_parameters_then_outcomes(model: CompiledModel) -> None:
    columns = [(c.name, c.dtype, c.role) for c in model.columns]
    assert columns[:3] == [
        ("branch", "int64", "id"),
        ("seed", "int64", "id"),
        ("t_end", "float64", "id"),
    ]
    assert ("p_flag", "bool", "parameter") in columns
    assert ("p_bernoulli", "bool", "parameter") in columns
    assert ("p_uniform", "float64", "parameter") in columns
    assert columns[-6:] == [
        ("done_by_2025", "bool", "outcome"),
        ("done_ever", "bool", "outcome"),
        ("time_to_done", "float64", "outcome"),
        ("final_level", "float64", "outcome"),
        ("shipped", "float64", "outcome"),
        ("ship_wait", "float64", "outcome"),
    ]


def test_fixed_parameters_have_a_value_and_no_sampler(model: CompiledModel) -> None:
    by_name = {p.name: p for p in model.parameters}
    assert (by_name["p_fixed"].value, by_name["p_fixed"].sampler) == (2.0, None)
    assert (by_name["p_value"].value, by_name["p_value"].type) == (3.0, "number")
    assert (by_name["p_flag"].value, by_name["p_flag"].type) == (True, "bool")


def test_drawn_parameters_have_a_sampler(model: CompiledModel) -> None:
    uniform = next(p for p in model.parameters if p.name == "p_uniform")
    assert uniform.value is None and uniform.sampler is not None
    draw = uniform.sampler(np.random.default_rng(1))
    assert 0.0 <= float(draw) <= 1.0


def test_dates_become_times_in_the_unit(model: CompiledModel) -> None:
    start = dt.date(2020, 1, 1)
    assert model.horizon == pytest.approx(months(start, dt.date(2030, 1, 1)))
    assert model.start == start
    drift = model.processes[0]
    assert isinstance(drift, CPeriodic)
    assert drift.first == pytest.approx(months(start, dt.date(2020, 3, 1)))
    schedule = model.processes[4]
    assert isinstance(schedule, CSchedule)
    assert schedule.times == (12.0, pytest.approx(months(start, dt.date(2021, 1, 1))))


def test_probability_deadlines_default_to_the_horizon(model: CompiledModel) -> None:
    by_2025, ever = model.outcomes[:2]
    assert by_2025.by == pytest.approx(months(dt.date(2020, 1, 1), dt.date(2025, 1, 1)))
    assert ever.by == model.horizon


def test_a_month_is_a_twelfth_of_a_julian_year() -> None:
    assert DAYS_PER_UNIT["month"] * 12 == DAYS_PER_UNIT["year"] == 365.25
    assert DAYS_PER_UNIT["quarter"] * 4 == 365.25


def test_expressions_know_the_slots_they_read(model: CompiledModel) -> None:
    shock = model.processes[1]
    assert isinstance(shock, CEvent)
    level = model.slot_names.index("level")
    assert shock.rate.reads == frozenset({level})
    assert shock.rate.path == "processes[1].rate"
    assert not shock.rate.reads_t
    v = [0.0] * model.n_slots
    v[level] = 0.5
    assert shock.rate.fn(v) == pytest.approx(0.15)


def test_constant_expressions_are_folded(model: CompiledModel) -> None:
    finish = model.processes[2]
    assert isinstance(finish, CTrigger)
    assert finish.chance is not None and finish.chance.constant == 0.9
    assert finish.delay.sampler is not None
    rearm = model.processes[3]
    assert isinstance(rearm, CTrigger) and rearm.delay.expr is not None


def test_a_state_init_can_read_parameters(model: CompiledModel) -> None:
    level = model.state[0]
    v = [0.0] * model.n_slots
    v[model.slot_names.index("p_uniform")] = 0.25
    assert level.init.fn(v) == 0.5
    assert (level.lo, level.hi) == (0.0, 1.0)


def test_an_effect_clamps_and_returns_the_changed_slots(model: CompiledModel) -> None:
    shock = model.processes[1]
    assert isinstance(shock, CEvent)
    count, level = model.slot_names.index("count"), model.slot_names.index("level")
    v = [0.0] * model.n_slots
    v[level] = 0.2
    assert shock.effect.fn(v) == [count, level]  # in the order of the set block
    assert (v[count], v[level]) == (1.0, 0.0)  # 0.2 - 0.5 is clamped to min 0
    assert shock.effect.targets == (count, level)


def test_an_effect_that_changes_nothing_returns_no_slot(model: CompiledModel) -> None:
    schedule = model.processes[4]
    assert isinstance(schedule, CSchedule)
    v = [0.0] * model.n_slots
    assert schedule.effect.fn(v) == []


def test_an_effect_assigns_simultaneously() -> None:
    swap = build_model(SWAP, "swap.yaml")
    effect = swap.processes[0].effect  # type: ignore[union-attr]
    v = [0.0, 1.0, 2.0, 0.5]
    assert effect.fn(v) == [1, 2, 3]
    assert v == [0.0, 2.0, 1.0, 1.0]  # c = min(0.5 + old a, max 1)
    assert effect.reads == frozenset({1, 2, 3})


def test_flows_resolve_stages_and_effects(model: CompiledModel) -> None:
    flow = model.processes[5]
    assert isinstance(flow, CFlow)
    assert [s.name for s in flow.stages] == ["make", "ship"]
    assert flow.stages[1].capacity.constant == 2.0
    assert flow.stages[1].duration.constant == 0.25
    assert flow.max_arrivals == 100 and flow.gate is not None
    assert flow.on_complete is not None and flow.on_loss is not None
    shipped, ship_wait = model.outcomes[4:]
    assert (shipped.flow, shipped.stage, shipped.stat) == (5, None, "completed")
    assert (ship_wait.flow, ship_wait.stage, ship_wait.stat) == (5, 1, "mean_wait")


def test_the_model_keeps_its_source_and_scenario(model: CompiledModel) -> None:
    text = EVERY_KIND.read_text(encoding="utf-8")
    assert model.source == text
    assert model.source_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert model.file == str(EVERY_KIND)
    assert isinstance(model.scenario, Scenario)
    assert (model.variant, model.overrides) == (None, ())


def test_a_variant_replaces_parameters_and_initial_state() -> None:
    model = load(EVERY_KIND, variant="certain")
    uniform = next(p for p in model.parameters if p.name == "p_uniform")
    assert (uniform.value, uniform.sampler) == (0.75, None)
    count = next(s for s in model.state if s.name == "count")
    assert count.init.constant == 1.0
    assert model.variant == "certain"


def test_a_variant_can_replace_a_distribution() -> None:
    model = load(EVERY_KIND, variant="wide")
    beta = next(p for p in model.parameters if p.name == "p_beta")
    assert (beta.dist.a, beta.dist.b) == (1.0, 1.0)


def test_an_override_fixes_a_parameter() -> None:
    model = load(EVERY_KIND, overrides=[("p_uniform", "0.3")])
    uniform = next(p for p in model.parameters if p.name == "p_uniform")
    assert (uniform.value, uniform.sampler) == (0.3, None)
    assert model.overrides == (("p_uniform", "0.3"),)


def test_an_override_can_be_a_distribution() -> None:
    model = load(EVERY_KIND, overrides=[("p_uniform", "{kind: uniform, low: 0, high: 0.5}")])
    uniform = next(p for p in model.parameters if p.name == "p_uniform")
    assert uniform.sampler is not None and uniform.dist.high == 0.5


def test_an_override_wins_over_the_variant() -> None:
    model = load(EVERY_KIND, variant="certain", overrides=[("p_uniform", "0.1")])
    assert next(p.value for p in model.parameters if p.name == "p_uniform") == 0.1


def test_an_unknown_variant_lists_the_declared_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown variant 'wid' \(did you mean 'wide'\?\).*"):
        load(EVERY_KIND, variant="wid")
    with pytest.raises(UsageError, match="declares: certain, wide"):
        load(EVERY_KIND, variant="other")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "p_unifrm",
            "0.3",
            r"^--set p_unifrm=0\.3: unknown parameter 'p_unifrm' \(did you mean 'p_uniform'\?\)$",
        ),
        ("p_flag", "0.3", r"^--set p_flag=0\.3: parameter 'p_flag' is true/false, got a number$"),
        ("p_uniform", "true", r"^--set p_uniform=true: parameter 'p_uniform' is a number"),
        ("p_uniform", "abc", r"^--set p_uniform=abc: expected a number, true/false or a distrib"),
        ("p_uniform", "[1, 2]", r"^--set p_uniform=\[1, 2\]: expected a number"),
        ("p_uniform", ".nan", r"^--set p_uniform=\.nan: expected a finite number"),
        (
            "p_uniform",
            "{kind: uniform, low: 1, high: 0}",
            r"^--set p_uniform=\{.*\}: high: low must be",
        ),
        ("p_uniform", "{kind: unifrm}", r"unknown kind 'unifrm'; expected one of: fixed,"),
        ("p_uniform", "{kind: bernoulli, p: 0.5}", r"is a number, got true/false$"),
        ("p_uniform", "!!python/object/apply:os.system ['true']", r"expected a number"),
        ("p_uniform", "1\nx: 2", r"expected a number"),
    ],
)
def test_bad_overrides_name_the_option(name: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_model(EVERY_KIND.read_text(encoding="utf-8"), "e.yaml", overrides=[(name, value)])


def test_the_spec_example_compiles() -> None:
    model = load_model(DATA / "spec_example.yaml")
    assert model.name == "belarus-annexation"
    assert [o.name for o in model.outcomes] == [
        "annexed_by_2030",
        "time_to_annexation",
        "delivered",
    ]
    schedule = model.processes[3]
    assert isinstance(schedule, CSchedule)
    assert schedule.times == (pytest.approx(months(dt.date(2023, 3, 1), dt.date(2026, 1, 1))),)


def test_all_problems_of_a_file_come_in_one_error() -> None:
    text = SWAP.replace('c: "c + a"', 'c: "c + z"').replace('expr: "a + b"', "expr: a.b")
    with pytest.raises(ScenarioError) as caught:
        build_model(text, "swap.yaml")
    assert [p.path for p in caught.value.problems] == [
        "processes[0].set.c",
        "outcomes[0].expr",
    ]


def test_a_date_horizon_must_come_after_the_start() -> None:
    text = SWAP.replace("horizon: 10}", "horizon: 2019-01-01, start: 2020-01-01}")
    with pytest.raises(ScenarioError, match=r"horizon 2019-01-01 .* must be after time\.start"):
        build_model(text, "swap.yaml")


def test_a_negative_constant_rate_is_refused() -> None:
    text = SWAP.replace(
        "{kind: periodic, name: swap, every: 1,", "{kind: event, name: e, rate: -1,"
    )
    with pytest.raises(ScenarioError, match=r"processes\[0\]\.rate: a rate must be >= 0, got -1"):
        build_model(text, "swap.yaml")


def test_a_chance_must_be_a_probability() -> None:
    text = SWAP.replace(
        "{kind: periodic, name: swap, every: 1,",
        "{kind: trigger, name: g, when: 'a > 1', chance: 2,",
    )
    with pytest.raises(ScenarioError, match=r"a chance must be in \[0, 1\], got 2"):
        build_model(text, "swap.yaml")


def test_a_delay_distribution_must_not_draw_negative_values() -> None:
    text = SWAP.replace(
        "{kind: periodic, name: swap, every: 1,",
        "{kind: trigger, name: g, when: 'a > 1', delay: {kind: normal, mean: 1, sd: 1},",
    )
    with pytest.raises(ScenarioError, match="a delay must be >= 0, but this normal can draw"):
        build_model(text, "swap.yaml")


def test_state_init_may_not_read_state() -> None:
    text = SWAP.replace("b: {init: 2}", "b: {init: 'a + 1'}")
    with pytest.raises(ScenarioError, match="may read parameters only, not state 'a'"):
        build_model(text, "swap.yaml")


def test_assigning_the_wrong_type_names_the_state() -> None:
    text = SWAP.replace('c: "c + a"', 'c: "a > b"')
    with pytest.raises(ScenarioError, match="state 'c' is a number, got true/false"):
        build_model(text, "swap.yaml")


def test_a_set_value_may_lie_outside_the_prior_support_as_a_counterfactual() -> None:
    text = (DATA / "every_kind.yaml").read_text()
    name = next(
        n
        for n, p in build_model(text, "every_kind.yaml").scenario.parameters.items()
        if p.dist is not None and p.dist.kind == "beta"
    )
    model = build_model(text, "every_kind.yaml", overrides=((name, "1.5"),))
    assert next(p for p in model.parameters if p.name == name).value == 1.5
