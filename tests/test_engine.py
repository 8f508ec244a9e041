"""The engine against closed forms: each statistical test has a fixed seed and a tolerance
of four Monte Carlo standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _engines import ENGINES, use_engine
from _models import model, within

from sim.engine.common import TraceRecord
from sim.engine.simpy import run_branch, run_branches
from sim.errors import RunError

SEED = 20230301


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both engines."""
    use_engine(monkeypatch, globals(), request.param)
    return str(request.param)


def test_constant_rate_event_matches_exponential_waiting_time() -> None:
    m = model("""\
        state: {hit: {init: false}}
        processes:
          - {kind: event, name: shock, rate: 0.1, set: {hit: true}}
        outcomes:
          - {kind: probability, name: hit, when: hit}
        """)
    n = 4000
    p = run_branches(m, SEED, 0, n)["hit"].mean()
    expected = 1 - math.exp(-0.1 * 10)
    assert within(p, expected, math.sqrt(expected * (1 - expected) / n))


def test_rate_that_changes_at_a_known_time_matches_the_piecewise_closed_form() -> None:
    m = model("""\
        state: {late: {init: false}, hit: {init: false}}
        processes:
          - {kind: schedule, name: switch, at: 5, set: {late: true}}
          - {kind: event, name: shock, rate: "0.2 if late else 0.05", set: {hit: true}}
        outcomes:
          - {kind: probability, name: early, when: hit, by: 3}
          - {kind: probability, name: by_end, when: hit}
        """)
    n = 6000
    cols = run_branches(m, SEED, 0, n)
    for name, hazard in (("early", 0.05 * 3), ("by_end", 0.05 * 5 + 0.2 * 5)):
        expected = 1 - math.exp(-hazard)
        se = math.sqrt(expected * (1 - expected) / n)
        assert within(cols[name].mean(), expected, se), name


def test_state_dependent_rate_is_recomputed_exactly_at_each_change() -> None:
    # A pure birth (Yule) process: rate 0.5 (n + 1); n(T) + 1 is geometric with p = e^(-0.5 T).
    m = model(
        """\
        state: {n: {init: 0}}
        processes:
          - {kind: event, name: birth, rate: "0.5 * (n + 1)", set: {n: n + 1}}
        outcomes:
          - {kind: value, name: n, expr: n}
        """,
        horizon=2,
    )
    count = 4000
    n = run_branches(m, SEED, 0, count)["n"]
    p = math.exp(-1.0)
    mean, var = 1 / p - 1, (1 - p) / p**2
    assert within(n.mean(), mean, math.sqrt(var / count))


def test_trigger_with_uniform_delay_fires_uniformly_after_the_rise() -> None:
    m = model("""\
        state: {armed: {init: false}, fired: {init: false}}
        processes:
          - {kind: schedule, name: arm, at: 2, set: {armed: true}}
          - kind: trigger
            name: fire
            when: armed
            delay: {kind: uniform, low: 1, high: 3}
            set: {fired: true}
        outcomes:
          - {kind: time_to, name: t_fire, when: fired}
          - {kind: probability, name: by_4, when: fired, by: 4}
        """)
    n = 4000
    cols = run_branches(m, SEED, 0, n)
    t = cols["t_fire"]
    assert np.all((t >= 3) & (t <= 5))
    assert within(t.mean(), 4.0, math.sqrt((4 / 12) / n))
    assert within(cols["by_4"].mean(), 0.5, math.sqrt(0.25 / n))


def test_cancel_if_false_cancels_a_pending_firing() -> None:
    # armed during [2, 3): a delay U(0, 2) fires only when it is below 1, half the time
    m = model("""\
        state: {armed: {init: false}, fired: {init: false}}
        processes:
          - {kind: schedule, name: arm, at: 2, set: {armed: true}}
          - {kind: schedule, name: disarm, at: 3, set: {armed: false}}
          - kind: trigger
            name: fire
            when: armed
            delay: {kind: uniform, low: 0, high: 2}
            cancel_if_false: true
            set: {fired: true}
        outcomes:
          - {kind: probability, name: fired, when: fired}
        """)
    n = 4000
    assert within(run_branches(m, SEED, 0, n)["fired"].mean(), 0.5, math.sqrt(0.25 / n))


def test_repeat_fires_on_every_rise_and_once_without_it() -> None:
    body = """\
        state: {up: {init: false}, count: {init: 0}}
        processes:
          - {kind: schedule, name: rise, at: [1, 3, 5], set: {up: true}}
          - {kind: schedule, name: fall, at: [2, 4, 6], set: {up: false}}
          - {kind: trigger, name: count_rises, when: up, delay: 0.5, repeat: REPEAT,
             set: {count: count + 1}}
        outcomes:
          - {kind: value, name: count, expr: count}
        """
    once = run_branches(model(body.replace("REPEAT", "false")), SEED, 0, 1)["count"][0]
    every = run_branches(model(body.replace("REPEAT", "true")), SEED, 0, 1)["count"][0]
    assert (once, every) == (1.0, 3.0)


def test_mm1_stage_has_mean_time_in_system_one_over_mu_minus_lambda() -> None:
    m = model(
        """\
        processes:
          - kind: flow
            name: queue
            arrivals: {rate: 0.5}
            stages:
              - {name: server, capacity: 1, duration: {kind: exponential, mean: 1}}
        outcomes:
          - {kind: flow, name: sojourn, flow: queue, stat: mean_time_in_system}
          - {kind: flow, name: served, flow: queue, stat: completed}
        """,
        horizon=2000,
    )
    cols = run_branches(m, SEED, 0, 40)
    sojourn = cols["sojourn"]
    se = sojourn.std(ddof=1) / math.sqrt(len(sojourn))
    assert within(sojourn.mean(), 1 / (1.0 - 0.5), se)
    assert within(cols["served"].mean(), 0.5 * 2000, math.sqrt(0.5 * 2000 * 3 / 40))


def test_saturated_stage_of_capacity_two_has_throughput_two_mu() -> None:
    horizon = 500.0
    m = model(
        """\
        processes:
          - kind: flow
            name: line
            arrivals: {every: 0.05}
            stages:
              - {name: servers, capacity: 2, duration: {kind: exponential, mean: 1}}
        outcomes:
          - {kind: flow, name: done, flow: line, stat: completed}
        """,
        horizon=horizon,
    )
    n = 20
    done = run_branches(m, SEED, 0, n)["done"]
    # both servers busy from t = 0.1 on: completions are a Poisson process of rate 2
    expected = 2 * (horizon - 0.1)
    assert within(done.mean(), expected, math.sqrt(expected / n))


def test_loss_is_binomial_per_entity() -> None:
    m = model(
        """\
        state: {ok: {init: 0}, gone: {init: 0}}
        processes:
          - kind: flow
            name: line
            arrivals: {every: 1, max: 50}
            stages:
              - {name: check, capacity: 5, duration: 0.1, loss: 0.3}
            on_complete: {ok: ok + 1}
            on_loss: {gone: gone + 1}
        outcomes:
          - {kind: value, name: ok, expr: ok}
          - {kind: value, name: gone, expr: gone}
          - {kind: flow, name: lost, flow: line, stat: lost}
        """,
        horizon=100,
    )
    n = 400
    cols = run_branches(m, SEED, 0, n)
    assert np.all(cols["ok"] + cols["gone"] == 50)
    assert np.array_equal(cols["gone"], cols["lost"])
    # Binomial(50, 0.3) per branch: mean 15, variance 10.5
    assert within(cols["gone"].mean(), 15.0, math.sqrt(10.5 / n))
    assert within(cols["gone"].var(ddof=1), 10.5, 10.5 * math.sqrt(2 / (n - 1)))


def test_assignments_are_clamped_to_min_and_max() -> None:
    m = model("""\
        state: {x: {init: 0.5, min: 0, max: 1}}
        processes:
          - {kind: periodic, name: grow, every: 1, set: {x: x + 0.3}}
        outcomes:
          - {kind: value, name: x, expr: x}
        """)
    assert run_branches(m, SEED, 0, 1)["x"][0] == 1.0


def test_periodic_applies_at_every_multiple_up_to_and_including_the_horizon() -> None:
    m = model("""\
        state: {k: {init: 0}}
        processes:
          - {kind: periodic, name: tick, every: 1, set: {k: k + 1}}
        outcomes:
          - {kind: value, name: k, expr: k}
        """)
    assert run_branches(m, SEED, 0, 1)["k"][0] == 10.0


def test_stop_when_ends_the_branch_at_the_first_time_it_holds() -> None:
    m = model("""\
        state: {hit: {init: false}}
        processes:
          - {kind: event, name: shock, rate: 0.5, set: {hit: true}}
        outcomes:
          - {kind: time_to, name: t_hit, when: hit}
        stop_when: hit
        """)
    cols = run_branches(m, SEED, 0, 200)
    hit = ~np.isnan(cols["t_hit"])
    assert np.array_equal(cols["t_end"][hit], cols["t_hit"][hit])
    assert np.all(cols["t_end"][~hit] == 10.0)


def test_outcome_condition_records_the_exact_first_time() -> None:
    m = model("""\
        state: {x: {init: 0}}
        processes:
          - {kind: schedule, name: steps, at: [1.25, 2.5, 7.75], set: {x: x + 1}}
        outcomes:
          - {kind: time_to, name: two, when: x >= 2}
          - {kind: probability, name: three_by_7, when: x >= 3, by: 7}
        """)
    cols = run_branches(m, SEED, 0, 1)
    assert cols["two"][0] == 2.5
    assert not cols["three_by_7"][0]


def test_a_branch_run_alone_equals_its_row_in_a_run() -> None:
    m = model(
        """\
        parameters:
          pressure: {dist: {kind: beta, a: 2, b: 5}, assumption: test}
        state: {x: {init: 0.3, min: 0, max: 1}, n: {init: 0}}
        processes:
          - {kind: periodic, name: drift, every: 1, set: {x: x + pressure * 0.05}}
          - {kind: event, name: shock, rate: 0.2 * (1 + x), set: {x: x + 0.05}}
          - kind: flow
            name: line
            arrivals: {rate: 1}
            stages: [{name: s, capacity: 1, duration: {kind: exponential, mean: 0.5}, loss: 0.2}]
            on_complete: {n: n + 1}
        outcomes:
          - {kind: value, name: x, expr: x}
          - {kind: value, name: n, expr: n}
        """,
        horizon=24,
    )
    cols = run_branches(m, SEED, 0, 8)
    for b in (0, 5, 7):
        records: list[TraceRecord] = []
        alone = run_branch(m, SEED, b, records.append)
        assert alone.parameters == (cols["pressure"][b],)
        assert alone.outcomes == (cols["x"][b], cols["n"][b])
        assert records and records[0].process == "parameters"


def test_same_seed_same_rows_and_other_seed_other_rows() -> None:
    m = model("""\
        parameters:
          r: {dist: {kind: uniform, low: 0.1, high: 1}, assumption: test}
        state: {n: {init: 0}}
        processes:
          - {kind: event, name: e, rate: r, set: {n: n + 1}}
        outcomes:
          - {kind: value, name: n, expr: n}
        """)
    a = run_branches(m, 1, 0, 50)
    b = run_branches(m, 1, 0, 50)
    c = run_branches(m, 2, 0, 50)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["r"], c["r"])


def test_variants_share_the_draws_of_unchanged_parameters() -> None:
    text = """\
        parameters:
          a: {dist: {kind: uniform, low: 0, high: 1}, assumption: test}
          b: {dist: {kind: normal, mean: 0, sd: 1}, assumption: test}
        outcomes:
          - {kind: value, name: s, expr: a + b}
        variants:
          fixed_a: {parameters: {a: 0.5}}
        """
    base = run_branches(model(text), SEED, 0, 20)
    other = run_branches(model(text, variant="fixed_a"), SEED, 0, 20)
    assert np.array_equal(base["b"], other["b"])
    assert np.all(other["a"] == 0.5)


def test_an_arithmetic_error_names_the_branch_and_the_expression() -> None:
    m = model("""\
        state: {x: {init: 1}}
        processes:
          - {kind: periodic, name: down, every: 1, set: {x: x - 1}}
          - {kind: periodic, name: logx, every: 1.5, set: {x: log(x)}}
        outcomes:
          - {kind: value, name: x, expr: x}
        """)
    with pytest.raises(
        RunError,
        match=(
            r"^test\.yaml:9:51: processes\[1\]\.set: math domain error "
            r"\(branch 0, seed \d+, t=1\.5\)$"
        ),
    ):
        run_branches(m, SEED, 0, 1)


def test_an_overflow_in_an_assignment_is_an_error_not_a_silent_infinity() -> None:
    m = model("""\
        state: {x: {init: 1}}
        processes:
          - {kind: periodic, name: grow, every: 1, set: {x: x * 1e200}}
        outcomes:
          - {kind: value, name: x, expr: x}
        """)
    with pytest.raises(
        RunError,
        match=r"^test\.yaml:8:49: processes\[0\]\.set: state 'x' would become inf, .*t=2\)$",
    ):
        run_branches(m, SEED, 0, 1)


def test_a_flow_stage_keeps_its_service_draws_when_arrivals_change() -> None:
    # Each stage draws from its own child of the flow's stream, so a variant that changes
    # only the arrivals (and so how entities queue) leaves every service time alone.
    text = """\
        parameters:
          rate: {value: 0.5, assumption: test}
        processes:
          - kind: flow
            name: line
            arrivals: {rate: rate, max: 5}
            stages: [{name: desk, capacity: 1, duration: {kind: exponential, mean: 1}}]
        outcomes:
          - {kind: flow, name: stay, flow: line, stage: desk, stat: mean_time_in_system}
          - {kind: flow, name: wait, flow: line, stage: desk, stat: mean_wait}
        variants:
          rush: {parameters: {rate: 20.0}}
        """
    calm = run_branches(model(text, horizon=1000), SEED, 0, 50)
    rush = run_branches(model(text, horizon=1000, variant="rush"), SEED, 0, 50)
    assert rush["wait"].mean() > calm["wait"].mean()  # the rush does queue
    np.testing.assert_allclose(calm["stay"] - calm["wait"], rush["stay"] - rush["wait"], rtol=1e-9)
