"""Distribution fields that are expressions (format 1.1): parameters of parameters, delays."""

from __future__ import annotations

import functools
import textwrap

import numpy as np
import pytest
from _engines import ENGINES
from scipy import stats

import sim
from sim.errors import RunError, ScenarioError, UsageError
from sim.model.compile import build_model
from sim.montecarlo import runner

HEAD = """\
sim: 1.1
name: hier
title: Hierarchical
description: Distributions whose fields read other parameters.
time: {unit: month, horizon: 10}
"""
OUT = "outcomes:\n  - {kind: value, name: one, expr: \"1\"}\n"


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both engines (``sim.run`` takes the one given)."""
    monkeypatch.setattr(sim, "run", functools.partial(runner.run, engine=request.param))
    return str(request.param)


def scenario(body: str, *, out: bool = True, **options: object) -> sim.CompiledModel:
    """The model of HEAD, ``body`` (dedented) and, with ``out``, a constant outcome."""
    text = HEAD + textwrap.dedent(body) + (OUT if out else "")
    return build_model(text, "hier.yaml", **options)  # type: ignore[arg-type]


def draws(model: sim.CompiledModel, name: str, n: int = 4000, seed: int = 1) -> np.ndarray:
    return np.asarray(sim.run(model, branches=n, seed=seed).table.column(name).to_numpy())


def test_an_exponential_whose_rate_is_exponential_is_a_lomax() -> None:
    # X | L ~ Exp(rate L), L ~ Exp(mean theta): P(X > x) = 1 / (1 + theta x), a Lomax(1).
    # With L ~ Gamma(k, theta) the tail is (1 + theta x)^-k, a Lomax(k).
    model = scenario(
        """\
        parameters:
          wait: {dist: {kind: exponential, mean: "1 / rate"}, assumption: a test}
          rate: {dist: {kind: exponential, mean: 0.5}, assumption: a test}
          wait3: {dist: {kind: exponential, mean: "1 / rate3"}, assumption: a test}
          rate3: {dist: {kind: gamma, shape: 3, scale: 0.5}, assumption: a test}
        """
    )
    assert [model.parameters[i].name for i in model.draw_order] == [
        "rate", "wait", "rate3", "wait3"
    ]  # fmt: skip
    table = sim.run(model, branches=5000, seed=11).table
    one = stats.kstest(table.column("wait").to_numpy(), stats.lomax(c=1, scale=2).cdf)
    three = stats.kstest(table.column("wait3").to_numpy(), stats.lomax(c=3, scale=2).cdf)
    assert one.pvalue > 0.01 and three.pvalue > 0.01
    rates = table.column("rate").to_numpy()
    assert stats.kstest(rates, stats.expon(scale=0.5).cdf).pvalue > 0.01


def test_a_parent_keeps_its_rows_when_a_child_is_added() -> None:
    alone = scenario("parameters:\n  rate: {dist: {kind: exponential, mean: 0.5}, assumption: a}\n")
    with_child = scenario(
        """\
        parameters:
          wait: {dist: {kind: exponential, mean: "1 / rate"}, assumption: a test}
          rate: {dist: {kind: exponential, mean: 0.5}, assumption: a test}
        """
    )
    assert np.array_equal(draws(alone, "rate", 200), draws(with_child, "rate", 200))


def test_quantiles_that_are_expressions_are_solved_when_drawn() -> None:
    model = scenario(
        """\
        parameters:
          scale: {value: 2, assumption: a test}
          size: {dist: {kind: lognormal, p5: "scale", p95: "10 * scale"}, assumption: a test}
        """
    )
    x = draws(model, "size")
    z = stats.norm.ppf(0.95)
    sigma = np.log(10) / (2 * z)
    expected = stats.lognorm(s=sigma, scale=2 * np.sqrt(10))
    assert stats.kstest(x, expected.cdf).pvalue > 0.01


def test_a_trigger_delay_reads_the_state_when_it_is_drawn() -> None:
    model = scenario(
        """\
        parameters:
          m: {dist: {kind: uniform, low: 1, high: 2}, assumption: a test}
        state:
          level: {init: 0.5}
          done: {init: false}
        processes:
          - kind: trigger
            name: wait
            when: "not done"
            delay: {kind: exponential, mean: "m * level"}
            set: {done: "true"}
        outcomes:
          - {kind: time_to, name: waited, when: done}
        """,
        out=False,
    )
    table = sim.run(model, branches=4000, seed=3).table
    waited, m = table.column("waited").to_numpy(), table.column("m").to_numpy()
    waited = np.where(np.isnan(waited), 10.0, waited)
    # P(T > t | m) = exp(-t / (0.5 m)); standardised, exp(-T / (0.5 m)) is uniform (censored
    # at the horizon: only its values above exp(-10 / (0.5 m)) are seen).
    u = np.exp(-waited / (0.5 * m))
    assert stats.kstest(u[u > np.exp(-10.0)], "uniform").pvalue > 0.01


def test_a_flow_duration_reads_parameters() -> None:
    model = scenario(
        """\
        parameters:
          speed: {dist: {kind: uniform, low: 1, high: 3}, assumption: a test}
        state:
          n: {init: 0}
        processes:
          - kind: flow
            name: line
            arrivals: {every: 1, max: 1}
            stages: [{name: work, duration: {kind: exponential, mean: "1 / speed"}}]
            on_complete: {n: "n + 1"}
        outcomes:
          - {kind: flow, name: spent, flow: line, stat: mean_time_in_system}
        """,
        out=False,
    )
    table = sim.run(model, branches=3000, seed=4).table
    spent, speed = table.column("spent").to_numpy(), table.column("speed").to_numpy()
    assert stats.kstest(1 - np.exp(-spent * speed), "uniform").pvalue > 0.01


def test_a_value_outside_the_rules_when_drawn_is_a_located_run_error() -> None:
    model = scenario(
        """\
        parameters:
          shift: {value: -1, assumption: a test}
          wait: {dist: {kind: exponential, mean: "shift"}, assumption: a test}
        """
    )
    where = r"hier.yaml:8:16: parameters.wait.dist: mean must be > 0, got -1 \(branch 0"
    with pytest.raises(RunError, match=where):
        sim.run(model, branches=1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "a: {dist: {kind: exponential, mean: \"b\"}, assumption: x}\n"
            "  b: {dist: {kind: exponential, mean: \"a\"}, assumption: x}\n",
            r"hier.yaml:7:13: parameters.a.dist: parameters depend on each other in a "
            r"cycle: a -> b -> a",
        ),
        (
            "a: {dist: {kind: normal, mean: 0, sd: \"level\"}, assumption: x}\n",
            r"parameters.a.dist.sd: a distribution may read parameters only, not state 'level'",
        ),
        (
            "a: {dist: {kind: normal, mean: 0, sd: \"-1\"}, assumption: x}\n",
            r"hier.yaml:7:13: parameters.a.dist: sd must be > 0, got -1",
        ),
        (
            "a: {dist: {kind: beta, p5: \"0.1\", p95: 0.9}, assumption: x}\n",
            r"the quantiles of a beta cannot be expressions: solving them needs a numerical fit",
        ),
    ],
)
def test_problems_of_expression_fields_are_located(body: str, message: str) -> None:
    text = "parameters:\n  " + body + "state:\n  level: {init: 1}\n"
    with pytest.raises(ScenarioError, match=message):
        scenario(text)


def test_a_constant_expression_is_checked_when_the_file_is_loaded() -> None:
    with pytest.raises(ScenarioError, match=r"sd must be > 0, got -1"):
        scenario("parameters:\n  a: {dist: {kind: normal, mean: 0, sd: -1}, assumption: x}\n")


def test_expressions_need_format_1_1() -> None:
    text = (HEAD + "parameters:\n  a: {dist: {kind: exponential, mean: \"2\"}, assumption: x}\n"
            + OUT).replace("sim: 1.1", "sim: 1")  # fmt: skip
    with pytest.raises(ScenarioError, match=r"parameters.a.dist.mean: an expression in a "
                       r"distribution field is format 1.1: declare `sim: 1.1`"):  # fmt: skip
        build_model(text, "hier.yaml")


VARIANTS = """\
parameters:
  rate: {dist: {kind: exponential, mean: 0.5}, assumption: a test}
  wait: {dist: {kind: exponential, mean: 2}, assumption: a test}
variants:
  linked: {parameters: {wait: {dist: {kind: exponential, mean: "1 / rate"}}}}
  looped: {parameters: {rate: {dist: {kind: exponential, mean: "wait"}}}}
"""


def test_a_variant_may_make_a_parameter_depend_on_another() -> None:
    body = VARIANTS.replace("  looped: {parameters: {rate: {dist: {kind: exponential, "
                            "mean: \"wait\"}}}}\n", "")  # fmt: skip
    base = scenario(body)
    linked = scenario(body, variant="linked")
    assert [linked.parameters[i].name for i in linked.draw_order] == ["rate", "wait"]
    assert np.array_equal(draws(base, "rate", 100), draws(linked, "rate", 100))
    x = draws(linked, "wait", 4000)
    assert stats.kstest(x, stats.lomax(c=1, scale=2).cdf).pvalue > 0.01


def test_a_cycle_made_by_a_variant_is_located_in_the_variant() -> None:
    looped = VARIANTS.replace(
        'looped: {parameters: {rate: {dist: {kind: exponential, mean: "wait"}}}}',
        'looped: {parameters: {rate: {dist: {kind: exponential, mean: "wait"}},\n'
        '                      wait: {dist: {kind: exponential, mean: "rate"}}}}',
    )
    assert looped != VARIANTS
    with pytest.raises(ScenarioError) as caught:
        scenario(looped)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("variants.looped.parameters.rate.dist", "parameters depend on each other in a cycle: "
         "rate -> wait -> rate"),
    ]  # fmt: skip


def test_set_fixes_a_parent_and_its_children_follow() -> None:
    body = """\
    parameters:
      rate: {dist: {kind: exponential, mean: 0.5}, assumption: a test}
      wait: {dist: {kind: exponential, mean: "1 / rate"}, assumption: a test}
    """
    fixed = scenario(body, overrides=[("rate", "4")])
    x = draws(fixed, "wait")
    assert stats.kstest(x, stats.expon(scale=0.25).cdf).pvalue > 0.01
    with pytest.raises(UsageError, match=r"--set wait=.*a --set distribution takes numbers"):
        scenario(body, overrides=[("wait", '{kind: exponential, mean: "rate"}')])


def test_sensitivity_reads_a_child_given_its_parents() -> None:
    pytest.importorskip("SALib")
    body = """\
    parameters:
      rate: {dist: {kind: uniform, low: 1, high: 2}, assumption: a test}
      wait: {dist: {kind: uniform, low: 0, high: "rate"}, assumption: a test}
    outcomes:
      - {kind: value, name: total, expr: "wait"}
    """
    model = scenario(body, out=False)
    result = sim.sensitivity(model, method="sobol", n=64, branches=1, seed=2)
    samples = result.samples.to_pandas()
    assert (samples["wait"] <= samples["rate"]).all() and (samples["wait"] >= 0).all()
    with pytest.raises(UsageError, match=r"--parameter wait: its distribution reads rate"):
        sim.sensitivity(model, method="sobol", n=8, parameters=["wait"])
