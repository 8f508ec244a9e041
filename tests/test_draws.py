"""Random draws in effects (format 1.1): ``draws`` on a process, fresh at each firing."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from _runs import same_rows
from scipy import stats

import sim
from sim.engine.simpy import run_branch
from sim.errors import RunError, ScenarioError
from sim.model.compile import build_model

HEAD = """\
sim: 1.1
name: draws
title: Draws
description: Jumps of uncertain size.
time: {unit: month, horizon: 10}
"""
JUMPS = """\
parameters:
  size: {value: 2, assumption: a test}
state:
  integration: {init: 0}
processes:
  - kind: periodic
    name: step
    every: 1
    draws: {jump: {kind: exponential, mean: "size"}}
    set: {integration: "integration + jump"}
outcomes:
  - {kind: value, name: total, expr: integration}
"""


def scenario(text: str, **options: object) -> sim.CompiledModel:
    return build_model(HEAD + textwrap.dedent(text), "draws.yaml", **options)  # type: ignore[arg-type]


ENGINES = ("simpy", "batch")
STATIC = JUMPS.replace('mean: "size"', "mean: 2")  # a draw whose fields are numbers


@pytest.mark.parametrize(
    ("engine", "text"), [("simpy", JUMPS), ("batch", JUMPS), ("simpy", STATIC), ("batch", STATIC)]
)
def test_ten_fresh_exponential_jumps_add_up_to_a_gamma(engine: str, text: str) -> None:
    table = sim.run(scenario(text), branches=3000, seed=4, engine=engine).table
    total = table.column("total").to_numpy()
    assert stats.kstest(total, stats.gamma(10, scale=2).cdf).pvalue > 0.01


@pytest.mark.parametrize("engine", ENGINES)
def test_a_draw_may_read_the_state_when_it_is_drawn(engine: str) -> None:
    text = JUMPS.replace('mean: "size"', 'mean: "1 + integration"').replace("every: 1", "every: 5")
    # Two jumps: J1 ~ Exp(mean 1), then J2 ~ Exp(mean 1 + J1) given J1.
    table = sim.run(scenario(text), branches=3000, seed=5, engine=engine).table
    total = table.column("total").to_numpy()
    # E[J1 + J2] = 1 + E[1 + J1] = 3; Var = Var(J1) + E[(1 + J1)^2] + Var(1 + J1) = 1 + 5 + 1
    se = math.sqrt(7 / total.size)
    assert abs(total.mean() - 3.0) <= 4 * se


@pytest.mark.parametrize("engine", ENGINES)
def test_a_draw_that_breaks_its_rules_when_drawn_is_a_located_run_error(engine: str) -> None:
    text = JUMPS.replace('mean: "size"', 'mean: "size - t"')  # mean 0 at t = 2
    where = r"draws.yaml:14:19: processes\[0\].draws.jump: mean must be > 0, got 0 \(branch 0"
    with pytest.raises(RunError, match=where):
        sim.run(scenario(text), branches=3, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_adding_draws_leaves_the_process_timing_alone(engine: str) -> None:
    events = """\
    state:
      hits: {init: 0}
      harm: {init: 0}
    processes:
      - kind: event
        name: raid
        rate: 0.5
        set: {hits: "hits + 1", harm: "harm + 1"}
    outcomes:
      - {kind: time_to, name: third, when: "hits >= 3"}
      - {kind: value, name: hits_at_end, expr: hits}
    """
    plain = sim.run(scenario(events), branches=200, seed=2, engine=engine).table
    drawn = scenario(events.replace('harm: "harm + 1"', 'harm: "harm + damage"').replace(
        "rate: 0.5", "rate: 0.5\n        draws: {damage: {kind: uniform, low: 0, high: 1}}"))
    with_draws = sim.run(drawn, branches=200, seed=2, engine=engine).table
    for name in ("third", "hits_at_end", "t_end"):
        a, b = plain.column(name).to_numpy(), with_draws.column(name).to_numpy()
        assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_flow_draws_at_each_completion(engine: str) -> None:
    text = """\
    state:
      tonnes: {init: 0}
    processes:
      - kind: flow
        name: convoy
        arrivals: {every: 1}
        stages: [{name: road, duration: 0.1}]
        draws: {load: {kind: uniform, low: 10, high: 20}, spilled: {kind: bernoulli, p: 0.5}}
        on_complete: {tonnes: "tonnes + (0 if spilled else load)"}
    outcomes:
      - {kind: value, name: total, expr: tonnes}
    """
    table = sim.run(scenario(text), branches=2000, seed=3, engine=engine).table
    total = table.column("total").to_numpy()
    # Convoys arrive at 1, 2, ..., 10 and take 0.1 on the road, so 9 complete by the
    # horizon, each adding U(10, 20) with probability 1/2: mean 9 * 7.5.
    se = np.std(total, ddof=1) / np.sqrt(total.size)
    assert abs(total.mean() - 67.5) <= 4 * se


def test_trace_shows_the_values_drawn() -> None:
    records: list[object] = []
    run_branch(scenario(JUMPS), 1, 0, records.append)
    steps = [r.what for r in records if getattr(r, "process", "") == "step"]  # type: ignore[attr-defined]
    assert len(steps) == 10 and all(s.startswith("periodic update (jump=") for s in steps)


@pytest.mark.parametrize(
    ("engine", "text"), [("simpy", JUMPS), ("batch", JUMPS), ("batch", STATIC)]
)
def test_rows_do_not_depend_on_the_executor(engine: str, text: str) -> None:
    model = scenario(text)
    serial = sim.run(model, branches=64, seed=1, chunk_size=64, engine=engine)
    spread = sim.run(model, branches=64, seed=1, executor="process", workers=2, chunk_size=16,
                     engine=engine)  # fmt: skip
    assert same_rows(serial.table, spread.table)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("draws: {jump:", "draws: {size:", r"draws.yaml:14:13: processes\[0\].draws.size: "
         r"draw 'size' has the name of a parameter"),
        ('set: {integration: "integration + jump"}', 'set: {jump: "1"}',
         r"processes\[0\].set.jump: cannot assign to draw 'jump'; draws are read only"),
        ("every: 1\n", 'every: 1\n    first: "jump"\n', r"processes\[0\].first: expected a number"),
        ('mean: "size"', 'mean: "size", p: 1', r"processes\[0\].draws.jump.p: unknown field 'p'"),
        ("{kind: exponential, mean: \"size\"}", "{kind: bernoulli, p: 0.5}",
         r"processes\[0\].set.integration: `\+` needs numbers, got bool \(jump\)"),
    ],
)
def test_problems_of_draws_are_located(old: str, new: str, message: str) -> None:
    assert old in JUMPS
    with pytest.raises(ScenarioError, match=message):
        scenario(JUMPS.replace(old, new))


def test_a_draw_is_not_readable_outside_its_set() -> None:
    text = JUMPS.replace("    draws:", "    draws:").replace(
        "outcomes:\n", "  - {kind: event, name: other, rate: \"jump\", set: {}}\noutcomes:\n"
    )
    with pytest.raises(ScenarioError, match=r"processes\[1\].rate: unknown name 'jump'"):
        scenario(text)


def test_draws_need_format_1_1() -> None:
    text = HEAD.replace("sim: 1.1", "sim: 1") + textwrap.dedent(JUMPS)
    with pytest.raises(ScenarioError, match=r"processes\[0\].draws.jump: `draws` is format 1.1"):
        build_model(text, "draws.yaml")
