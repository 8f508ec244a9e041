"""The outcome kinds of format 1.1 (count, time_between, first_of, given) against closed forms.

Statistical checks use fixed seeds and tolerances of four Monte Carlo standard errors;
the rest are exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from _engines import ENGINES, use_engine
from _models import model as _model
from _models import within

from sim.engine.simpy import run_branch, run_branches
from sim.model.compiled import CompiledModel
from sim.montecarlo.runner import run
from sim.stats.survival import kaplan_meier, survival_at

SEED = 12


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both engines."""
    use_engine(monkeypatch, globals(), request.param)
    return str(request.param)


def model(body: str, **options: Any) -> CompiledModel:
    """A scenario of format 1.1 from its body (see ``_models.model``)."""
    return _model(body, version="1.1", **options)
N = 4000


def columns(body: str, n: int = N, horizon: float = 10.0) -> dict[str, np.ndarray]:
    return run_branches(model(body, horizon=horizon), SEED, 0, n)


# --- count ---------------------------------------------------------------------------------------

POISSON = """
parameters:
  rate: {value: 0.5, assumption: a test}
state:
  n: {init: 0}
processes:
  - {kind: event, name: shock, rate: rate, set: {n: "n + 1"}}
outcomes:
  - {kind: count, name: shocks, process: shock}
  - {kind: count, name: early_shocks, process: shock, by: 4}
"""


def test_a_count_of_poisson_firings_has_the_poisson_mean_and_variance() -> None:
    got = columns(POISSON)
    for name, mean in (("shocks", 5.0), ("early_shocks", 2.0)):
        x = got[name]
        assert x.dtype == np.int64
        assert within(float(np.mean(x)), mean, math.sqrt(mean / N))
        # The sample variance of a Poisson count: Var(s^2) ~ (mu4 - sigma^4) / n.
        assert within(float(np.var(x, ddof=1)), mean, math.sqrt((mean + 2 * mean**2) / N))


TOGGLE = """
state:
  on: {init: INIT}
processes:
  - {kind: periodic, name: toggle, every: 1, set: {on: "not on"}}
outcomes:
  - {kind: count, name: rises, when: "on"}
  - {kind: count, name: rises_by_4, when: "on", by: 4}
  - {kind: count, name: toggles, process: toggle}
"""


@pytest.mark.parametrize(("init", "rises", "by_4"), [("false", 5, 2), ("true", 6, 3)])
def test_a_count_of_rises_counts_each_rise_and_holding_at_the_start(
    init: str, rises: int, by_4: int
) -> None:
    got = columns(TOGGLE.replace("INIT", init), n=3)
    assert got["rises"].tolist() == [rises] * 3
    assert got["rises_by_4"].tolist() == [by_4] * 3
    assert got["toggles"].tolist() == [10] * 3


def test_a_count_of_a_trigger_counts_only_firings_that_took_effect() -> None:
    got = columns(
        """
        state:
          tick: {init: 0}
          n: {init: 0}
        processes:
          - {kind: periodic, name: clock, every: 1, set: {tick: "tick + 1"}}
          - {kind: trigger, name: maybe, when: "tick % 2 == 1", chance: 0.5, repeat: true,
             set: {n: "n + 1"}}
        outcomes:
          - {kind: count, name: fired, process: maybe}
          - {kind: value, name: applied, expr: n}
        """,
        n=200,
    )
    assert np.array_equal(got["fired"], got["applied"].astype(np.int64))
    assert 0 < float(np.mean(got["fired"])) < 5


# --- time_between --------------------------------------------------------------------------------

TWO_EVENTS = """
parameters:
  a: {value: 0.1, assumption: a test}
  b: {value: 0.15, assumption: a test}
state:
  hit_a: {init: false}
  hit_b: {init: false}
processes:
  - {kind: event, name: event_a, rate: "0 if hit_a else a", set: {hit_a: "true"}}
  - {kind: event, name: event_b, rate: "0 if hit_b else b", set: {hit_b: "true"}}
outcomes:
  - {kind: time_between, name: a_to_b, from: hit_a, to: hit_b}
"""


def test_time_between_two_independent_exponential_events_under_censoring() -> None:
    a, b, horizon = 0.1, 0.15, 12.0
    got = columns(TWO_EVENTS, horizon=horizon)
    start, between, t_end = got["a_to_b__from"], got["a_to_b"], got["t_end"]
    started = ~np.isnan(start)
    # A never held: the branch is missing from the estimate, with probability exp(-a T).
    p_missing = math.exp(-a * horizon)
    assert within(float(np.mean(~started)), p_missing, math.sqrt(p_missing * (1 - p_missing) / N))
    # Where A held, the clock stops at once if B already held; after that B's hazard is b
    # whatever A's time, so Kaplan-Meier with censoring at T - T_A estimates
    # S(d) = P(T_B > T_A | T_A <= T) exp(-b d).
    s0 = a / (a + b) * (1 - math.exp(-(a + b) * horizon)) / (1 - p_missing)
    observed = ~np.isnan(between[started])
    durations = np.where(observed, between[started], (t_end - start)[started])
    curve = kaplan_meier(durations, observed)
    for d in (0.0, 1.0, 3.0, 6.0):
        found = survival_at(curve, d)
        assert found.estimate is not None and found.low is not None and found.high is not None
        se = (found.high - found.low) / (2 * 1.96)
        assert within(found.estimate, s0 * math.exp(-b * d), se), d


def test_time_between_starts_at_the_first_time_from_holds_and_waits_for_to() -> None:
    m = model(
        """
        state:
          step: {init: 0}
        processes:
          - {kind: schedule, name: steps, at: [1, 2, 4, 7], set: {step: "step + 1"}}
        outcomes:
          - {kind: time_between, name: two_to_four, from: "step >= 2", to: "step >= 4"}
          - {kind: time_between, name: back, from: "step >= 3", to: "step == 1"}
          - {kind: time_between, name: never, from: "step >= 9", to: "step >= 1"}
        """
    )
    result = run_branch(m, SEED, 0)
    values = dict(zip([c.name for c in m.columns if c.role in ("outcome", "detail")],
                      result.outcomes, strict=True))  # fmt: skip
    assert values["two_to_four"] == 5.0 and values["two_to_four__from"] == 2.0
    assert math.isnan(values["back"]) and values["back__from"] == 4.0  # censored
    assert math.isnan(values["never"]) and math.isnan(values["never__from"])  # missing


# --- given ---------------------------------------------------------------------------------------

BAYES = """
parameters:
  hot: {dist: {kind: bernoulli, p: 0.3}, assumption: a test}
state:
  a: {init: false}
  b: {init: false}
processes:
  - {kind: event, name: event_a, rate: "0 if a else (0.3 if hot else 0.05)", set: {a: "true"}}
  - {kind: event, name: event_b, rate: "0 if b else (0.2 if hot else 0.02)", set: {b: "true"}}
outcomes:
  - {kind: probability, name: hot_if_a, when: hot, given: a}
  - {kind: probability, name: b_if_a, when: b, given: a}
  - {kind: count, name: a_count_if_b, when: a, given: b}
"""


def test_a_conditional_probability_follows_bayes_rule() -> None:
    p, horizon = 0.3, 10.0
    got = columns(BAYES, horizon=horizon)

    def happens(rate: float) -> float:
        return 1 - math.exp(-rate * horizon)

    joint_hot, joint_cold = p * happens(0.3), (1 - p) * happens(0.05)
    p_hot = joint_hot / (joint_hot + joint_cold)
    p_b = p_hot * happens(0.2) + (1 - p_hot) * happens(0.02)
    held = got["hot_if_a__given"]
    n = int(held.sum())
    assert np.array_equal(held, got["b_if_a__given"])
    for name, expected in (("hot_if_a", p_hot), ("b_if_a", p_b)):
        estimate = float(np.mean(got[name][held]))
        assert within(estimate, expected, math.sqrt(expected * (1 - expected) / n)), name


def test_the_summary_of_a_conditional_outcome_reports_its_branches() -> None:
    result = run(model(BAYES), branches=400, seed=SEED)
    entry = result.summary["outcomes"]["hot_if_a"]
    held = result.table.column("hot_if_a__given").to_numpy()
    assert entry["given"] == "a"
    assert entry["n"] == int(held.sum()) and entry["given_of"] == 400
    assert entry["count"] == int(result.table.column("hot_if_a").to_numpy()[held].sum())


# --- first_of ------------------------------------------------------------------------------------


def test_first_of_two_exponentials_follows_their_rates() -> None:
    l1, l2, horizon = 0.2, 0.1, 10.0
    got = columns(
        """
        state:
          x: {init: false}
          y: {init: false}
        processes:
          - {kind: event, name: ex, rate: 0.2, set: {x: "true"}}
          - {kind: event, name: ey, rate: 0.1, set: {y: "true"}}
        outcomes:
          - {kind: first_of, name: first, conditions: {x: x, y: y}}
        """,
        horizon=horizon,
    )
    anything = 1 - math.exp(-(l1 + l2) * horizon)
    expected = {"x": l1 / (l1 + l2) * anything, "y": l2 / (l1 + l2) * anything}
    expected["none"] = 1 - anything
    assert set(got["first"].tolist()) <= set(expected)
    for label, share in expected.items():
        found = float(np.mean(got["first"] == label))
        assert within(found, share, math.sqrt(share * (1 - share) / N)), label


def test_first_of_ties_go_to_the_condition_listed_first_and_by_cuts_off() -> None:
    got = columns(
        """
        state:
          k: {init: 0}
        processes:
          - {kind: schedule, name: s, at: [3, 6], set: {k: "k + 1"}}
        outcomes:
          - {kind: first_of, name: tie, conditions: {one: "k >= 1", also_one: "k > 0"}}
          - {kind: first_of, name: late, conditions: {two: "k >= 2", three: "k >= 3"}, by: 5}
          - {kind: first_of, name: order, conditions: {two: "k >= 2", one: "k >= 1"}}
        """,
        n=2,
    )
    assert got["tie"].tolist() == ["one", "one"]
    assert got["late"].tolist() == ["none", "none"]
    assert got["order"].tolist() == ["one", "one"]


def test_first_of_summary_gives_each_category_with_a_wilson_interval() -> None:
    result = run(
        model(
            """
            state: {x: {init: false}}
            processes: [{kind: event, name: e, rate: 0.1, set: {x: "true"}}]
            outcomes:
              - {kind: first_of, name: f, conditions: {x: x, never: "false"}}
            """
        ),
        branches=300,
        seed=SEED,
    )
    entry = result.summary["outcomes"]["f"]
    assert list(entry["categories"]) == ["x", "never", "none"]
    shares = [c["estimate"] for c in entry["categories"].values()]
    assert math.isclose(sum(shares), 1.0) and entry["categories"]["never"]["count"] == 0
    assert all(c["ci_method"] == "wilson" for c in entry["categories"].values())
