"""Competing risks: times to an event that stop_when can pre-empt, by the cumulative incidence."""

from __future__ import annotations

import math

import numpy as np
from _models import model, within

from sim.analysis.compare import compare_variants
from sim.montecarlo.runner import run
from sim.stats.competing import aalen_johansen
from sim.stats.survival import kaplan_meier, km_median, survival_at

SEED = 31
N = 4000
A, S, HORIZON = 0.3, 0.1, 10.0

# An event of rate A, and a stop of rate S that ends the branch first, as often as not.
RACE = f"""
state:
  hit: {{init: false}}
  gone: {{init: false}}
processes:
  - {{kind: event, name: event, rate: "0 if hit else {A}", set: {{hit: "true"}}}}
  - {{kind: event, name: leave, rate: {S}, set: {{gone: "true"}}}}
outcomes:
  - {{kind: time_to, name: time_to_hit, when: hit}}
  - {{kind: probability, name: hit_by_horizon, when: hit}}
  - {{kind: probability, name: hit_by_3, when: hit, by: 3}}
stop_when: gone
"""


def incidence(t: float) -> float:
    """P(the event comes by t, before the stop): A / (A + S) (1 - exp(-(A + S) t))."""
    return A / (A + S) * (1 - math.exp(-(A + S) * t))


def test_the_cumulative_incidence_under_a_competing_stop_has_its_closed_form() -> None:
    result = run(model(RACE, horizon=HORIZON), branches=N, seed=SEED)
    entry = result.summary["outcomes"]["time_to_hit"]
    assert entry["ci_method"] == "aalen_johansen"
    assert entry["events"] + entry["competing"] + entry["censored"] == N
    # P(T <= horizon) is the probability outcome's estimate, to rounding.
    probability = result.summary["outcomes"]["hit_by_horizon"]["estimate"]
    assert math.isclose(1 - entry["survival_at_horizon"]["estimate"], probability, rel_tol=1e-12)
    assert within(probability, incidence(HORIZON), math.sqrt(incidence(HORIZON) / N))
    # The median solves F(m) = 1/2: exp(-(A + S) m) = 1 - (A + S) / (2 A).
    median = -math.log(1 - (A + S) / (2 * A)) / (A + S)
    density = A * math.exp(-(A + S) * median)
    assert within(entry["estimate"], median, math.sqrt(0.25 / N) / density)
    assert entry["ci_low"] < median < entry["ci_high"]


def test_cumulative_incidence_agrees_with_probability_at_every_deadline() -> None:
    result = run(model(RACE, horizon=HORIZON), branches=N, seed=SEED)
    table = result.table
    times = np.asarray(table.column("time_to_hit").to_numpy())
    t_end = np.asarray(table.column("t_end").to_numpy())
    observed = ~np.isnan(times)
    durations = np.where(observed, times, t_end)
    curve = aalen_johansen(durations, observed, ~observed & (t_end < HORIZON))
    at_3 = survival_at(curve, 3.0).estimate
    assert at_3 is not None
    by_3 = result.summary["outcomes"]["hit_by_3"]["estimate"]
    assert math.isclose(1 - at_3, by_3, rel_tol=1e-12)
    # Kaplan-Meier, which takes the stopped branches for censored ones, overstates it: it
    # estimates 1 - exp(-A t), as if the stop could not pre-empt the event.
    km = kaplan_meier(durations, observed)
    km_median_time = km_median(km).estimate
    assert km_median_time is not None
    assert within(km_median_time, math.log(2) / A, 0.05)
    assert km_median_time < result.summary["outcomes"]["time_to_hit"]["ci_low"]


def test_time_between_under_a_competing_stop_has_its_closed_form() -> None:
    b = 0.2
    result = run(
        model(
            f"""
            state:
              a: {{init: false}}
              b: {{init: false}}
              gone: {{init: false}}
            processes:
              - {{kind: event, name: ea, rate: "0 if a else 0.3", set: {{a: "true"}}}}
              - {{kind: event, name: eb, rate: "{b} if a and not b else 0", set: {{b: "true"}}}}
              - {{kind: event, name: leave, rate: {S}, set: {{gone: "true"}}}}
            outcomes:
              - {{kind: time_between, name: a_to_b, from: a, to: b}}
            stop_when: gone
            """,
            horizon=HORIZON,
            version="1.1",
        ),
        branches=N,
        seed=SEED,
    )
    entry = result.summary["outcomes"]["a_to_b"]
    assert entry["ci_method"] == "aalen_johansen" and entry["competing"] > 0
    table = result.table
    start = np.asarray(table.column("a_to_b__from").to_numpy())
    between = np.asarray(table.column("a_to_b").to_numpy())
    t_end = np.asarray(table.column("t_end").to_numpy())
    started = ~np.isnan(start)
    observed = ~np.isnan(between[started])
    durations = np.where(observed, between[started], (t_end - start)[started])
    competing = ~observed & (t_end[started] < HORIZON)
    curve = aalen_johansen(durations, observed, competing)
    for d in (1.0, 3.0, 6.0):
        found = survival_at(curve, d)
        assert found.estimate is not None and found.low is not None and found.high is not None
        expected = b / (b + S) * (1 - math.exp(-(b + S) * d))  # after A, B races the stop
        se = (found.high - found.low) / (2 * 1.96)
        assert within(1 - found.estimate, expected, se), d


def test_without_competing_events_the_incidence_is_one_minus_kaplan_meier() -> None:
    rng = np.random.default_rng(SEED)
    times = rng.exponential(2.0, 500)
    observed = times < 3.0
    durations = np.minimum(times, 3.0)
    aj = aalen_johansen(durations, observed, np.zeros(500, dtype=bool))
    km = kaplan_meier(durations, observed)
    assert np.allclose(aj.survival, km.survival, rtol=0, atol=1e-12)


def test_a_scenario_without_stop_when_keeps_kaplan_meier() -> None:
    entry = run(model(RACE.replace("stop_when: gone", "")), branches=50, seed=SEED).summary[
        "outcomes"
    ]["time_to_hit"]
    assert entry["ci_method"] == "kaplan_meier_greenwood"
    assert "competing" not in entry


def test_comparisons_count_a_stopped_branch_as_never_seeing_the_event() -> None:
    scenario = model(RACE + "variants:\n  slow: {parameters: {}}\n", horizon=HORIZON)
    comparison = compare_variants(scenario, "slow", branches=300, seed=SEED)
    row = next(r for r in comparison.rows if r["outcome"] == "time_to_hit")
    table = run(scenario, branches=300, seed=SEED).table
    times = np.asarray(table.column("time_to_hit").to_numpy())
    restricted = np.where(np.isnan(times), HORIZON, np.minimum(times, HORIZON))
    assert math.isclose(row["baseline_estimate"], float(np.mean(restricted)), rel_tol=1e-9)
    assert row["difference"] == 0.0
