"""The engine against its contract (SPEC sections 2 and 3), scenario by scenario.

Most tests are exact: deterministic scenarios, or random ones checked branch by branch
against the unit exponentials that the process's own generator draws (the engine's
next-reaction clocks consume one per firing and carry the rest over rate changes). The
statistical ones have a fixed seed and a tolerance of four Monte Carlo standard errors.
"""

from __future__ import annotations

import math
import re
import textwrap

import numpy as np
import pytest
from _engines import ENGINES, use_engine
from _engines import unit_exponentials as engine_exponentials
from _models import model, within

from sim.engine.simpy import run_branch, run_branches
from sim.errors import RunError
from sim.model.compiled import CompiledModel

SEED = 20230301


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both engines."""
    use_engine(monkeypatch, globals(), request.param)
    return str(request.param)


def run(m: CompiledModel, n: int = 1) -> dict[str, np.ndarray]:
    return run_branches(m, SEED, 0, n)


def one(m: CompiledModel, column: str) -> float:
    """The value of ``column`` in branch 0."""
    return float(run(m)[column][0])


def unit_exponentials(process: str, branch: int, k: int) -> list[float]:
    """The first ``k`` unit exponentials of a clock process (event or Poisson flow)."""
    return engine_exponentials(SEED, process, branch, k)


# --- event intensities ------------------------------------------------------------------


def test_a_rate_that_drops_to_zero_and_comes_back_carries_the_remaining_hazard_over() -> None:
    # rate 1 on [0, 2), 0 on [2, 5), 4 from 5 on: the first unit exponential E is spent
    # on the cumulative hazard, so the event comes at E, or at 5 + (E - 2) / 4.
    m = model(
        """\
        state: {paused: {init: false}, fast: {init: false}, hit: {init: false}}
        processes:
          - {kind: schedule, name: pause, at: 2, set: {paused: true}}
          - {kind: schedule, name: resume, at: 5, set: {paused: false, fast: true}}
          - {kind: event, name: shock, rate: "0 if paused else (4 if fast else 1)",
             set: {hit: true}}
        outcomes:
          - {kind: time_to, name: t_hit, when: hit}
        """,
        horizon=50,
    )
    n = 60
    got = run(m, n)["t_hit"]
    for b in range(n):
        (e,) = unit_exponentials("shock", b, 1)
        assert got[b] == pytest.approx(e if e < 2 else 5 + (e - 2) / 4, rel=1e-12), b


def test_an_event_whose_effect_changes_its_own_rate_fires_next_at_the_new_rate() -> None:
    m = model(
        """\
        state: {n: {init: 0}}
        processes:
          - {kind: event, name: e, rate: "1 if n == 0 else 3", set: {n: n + 1}}
        outcomes:
          - {kind: time_to, name: first, when: n >= 1}
          - {kind: time_to, name: second, when: n >= 2}
        """,
        horizon=100,
    )
    n = 40
    cols = run(m, n)
    for b in range(n):
        e1, e2 = unit_exponentials("e", b, 2)
        assert cols["first"][b] == pytest.approx(e1, rel=1e-12)
        assert cols["second"][b] == pytest.approx(e1 + e2 / 3, rel=1e-12)


def test_max_count_stops_an_event_after_that_many_firings() -> None:
    m = model(
        """\
        state: {n: {init: 0}}
        processes:
          - {kind: event, name: e, rate: 2, max_count: 3, set: {n: n + 1}}
        outcomes:
          - {kind: value, name: n, expr: n}
          - {kind: time_to, name: third, when: n >= 3}
        """,
        horizon=100,
    )
    n = 30
    cols = run(m, n)
    assert np.all(cols["n"] == 3)
    for b in range(n):
        assert cols["third"][b] == pytest.approx(sum(unit_exponentials("e", b, 3)) / 2, rel=1e-12)


def test_a_rate_reading_t_is_held_between_resolution_steps_on_an_exact_grid() -> None:
    # rate t with resolution 0.5: the rate is 0.5 k on [0.5 k, 0.5 (k + 1)), so the
    # cumulative hazard at 0.5 m is 0.125 m (m - 1).
    m = model(
        """\
        state: {hit: {init: false}}
        processes:
          - {kind: event, name: e, rate: t, set: {hit: true}}
        outcomes:
          - {kind: time_to, name: t_hit, when: hit}
        """,
        horizon=4,
        time=", resolution: 0.5",
    )
    n = 40
    got = run(m, n)["t_hit"]
    for b in range(n):
        (e,) = unit_exponentials("e", b, 1)
        k = max(k for k in range(1, 100) if 0.125 * k * (k - 1) <= e)
        expected = 0.5 * k + (e - 0.125 * k * (k - 1)) / (0.5 * k)
        if expected <= 4:
            assert got[b] == pytest.approx(expected, rel=1e-12), b
        else:
            assert math.isnan(got[b]), b


def test_conditions_on_t_are_checked_at_the_horizon() -> None:
    m = model("""\
        outcomes:
          - {kind: probability, name: at_end, when: t >= 10}
          - {kind: time_to, name: late, when: t >= 9.5}
        """)
    cols = run(m)
    assert cols["at_end"][0]
    assert cols["late"][0] == 10.0


def test_a_resolution_longer_than_the_horizon_still_checks_t_at_the_horizon() -> None:
    m = model(
        """\
        outcomes:
          - {kind: time_to, name: after_one, when: t >= 1}
        """,
        time=", resolution: 20",
    )
    assert one(m, "after_one") == 10.0


def test_resolution_steps_are_multiples_of_the_resolution_without_drift() -> None:
    # 0.7 added ten times is 6.999999999999999; the tenth step must be t = 7 itself
    m = model(
        """\
        outcomes:
          - {kind: time_to, name: seven, when: t >= 7}
        """,
        horizon=7,
        time=", resolution: 0.7",
    )
    assert one(m, "seven") == 7.0


def test_an_infinite_rate_is_a_run_error_not_an_endless_loop() -> None:
    m = model("""\
        state: {x: {init: 1e300}, n: {init: 0}}
        processes:
          - {kind: event, name: e, rate: x * x, set: {n: n + 1}}
        outcomes:
          - {kind: value, name: n, expr: n}
        """)
    with pytest.raises(RunError, match=r"processes\[0\]\.rate: a rate must be finite"):
        run(m)


# --- triggers ---------------------------------------------------------------------------


def test_a_trigger_whose_condition_holds_at_t0_arms_at_t0() -> None:
    m = model("""\
        state: {x: {init: 1}, fired: {init: false}}
        processes:
          - {kind: trigger, name: tr, when: x > 0, delay: 1.5, set: {fired: true}}
        outcomes:
          - {kind: time_to, name: t_fired, when: fired}
        """)
    assert one(m, "t_fired") == 1.5


def test_a_delay_expression_is_evaluated_when_the_trigger_arms() -> None:
    m = model("""\
        state: {k: {init: 0}, fired: {init: false}}
        processes:
          - {kind: schedule, name: raise_k, at: 1, set: {k: 3}}
          - {kind: schedule, name: raise_k_again, at: 2, set: {k: 5}}
          - {kind: trigger, name: tr, when: k >= 1, delay: k, set: {fired: true}}
        outcomes:
          - {kind: time_to, name: t_fired, when: fired}
        """)
    assert one(m, "t_fired") == 4.0


def test_a_zero_delay_fires_in_the_same_instant() -> None:
    m = model("""\
        state: {up: {init: false}, fired: {init: false}}
        processes:
          - {kind: schedule, name: rise, at: 2.25, set: {up: true}}
          - {kind: trigger, name: tr, when: up, set: {fired: true}}
        outcomes:
          - {kind: time_to, name: t_fired, when: fired}
        """)
    assert one(m, "t_fired") == 2.25


def test_cancel_if_false_drops_the_firing_and_a_later_rise_arms_again() -> None:
    body = """\
        state: {up: {init: false}, fired: {init: false}}
        processes:
          - {kind: schedule, name: rise, at: [1, 4], set: {up: true}}
          - {kind: schedule, name: fall, at: 2, set: {up: false}}
          - {kind: trigger, name: tr, when: up, delay: 2, cancel_if_false: CANCEL,
             set: {fired: true}}
        outcomes:
          - {kind: time_to, name: t_fired, when: fired}
        """
    assert one(model(body.replace("CANCEL", "true")), "t_fired") == 6.0
    assert one(model(body.replace("CANCEL", "false")), "t_fired") == 3.0


BOUNCE = """\
    state: {up: {init: false}, count: {init: 0}}
    processes:
      - {kind: schedule, name: rise, at: 1, set: {up: true}}
      - {kind: schedule, name: fall, at: 2, set: {up: false}}
      - {kind: trigger, name: tr, when: up, delay: 2, repeat: REPEAT,
         set: {up: true, count: count + 1}}
    outcomes:
      - {kind: value, name: count, expr: count}
    """


def test_a_trigger_whose_effect_raises_its_own_condition_fires_once_without_repeat() -> None:
    assert one(model(BOUNCE.replace("REPEAT", "false")), "count") == 1.0


def test_a_repeating_trigger_whose_effect_raises_its_own_condition_arms_again() -> None:
    # fires at 3 (up rises again: armed), at 5 (up stays true: no rise, no more firings)
    assert one(model(BOUNCE.replace("REPEAT", "true")), "count") == 2.0


def test_a_repeating_trigger_whose_effect_clears_its_own_condition_counts_every_rise() -> None:
    m = model("""\
        state: {x: {init: 0}, resets: {init: 0}}
        processes:
          - {kind: periodic, name: grow, every: 1, set: {x: x + 1}}
          - {kind: trigger, name: reset, when: x >= 3, repeat: true,
             set: {x: 0, resets: resets + 1}}
        outcomes:
          - {kind: value, name: resets, expr: resets}
          - {kind: value, name: x, expr: x}
        """)
    cols = run(m)
    assert (cols["resets"][0], cols["x"][0]) == (3.0, 1.0)


def test_a_firing_turned_down_by_chance_does_not_count() -> None:
    # chance is 0 for the first two rises and 1 for the third: the trigger fires once, then.
    m = model("""\
        state: {up: {init: false}, rises: {init: 0}, count: {init: 0}}
        processes:
          - {kind: schedule, name: rise, at: [1, 3, 5, 7], set: {up: true, rises: rises + 1}}
          - {kind: schedule, name: fall, at: [2, 4, 6, 8], set: {up: false}}
          - {kind: trigger, name: tr, when: up, delay: 0.5, chance: "1 if rises >= 3 else 0",
             set: {count: count + 1}}
        outcomes:
          - {kind: time_to, name: t_fired, when: count >= 1}
          - {kind: value, name: count, expr: count}
        """)
    cols = run(m)
    assert (cols["t_fired"][0], cols["count"][0]) == (5.5, 1.0)


def test_chance_takes_effect_with_its_probability() -> None:
    m = model("""\
        state: {fired: {init: false}}
        processes:
          - {kind: trigger, name: tr, when: "true", delay: 1, chance: 0.3, set: {fired: true}}
        outcomes:
          - {kind: probability, name: fired, when: fired}
        """)
    n = 4000
    assert within(run(m, n)["fired"].mean(), 0.3, math.sqrt(0.3 * 0.7 / n))


# --- outcomes and stop_when -------------------------------------------------------------


def test_probability_by_counts_a_first_time_equal_to_by() -> None:
    body = """\
        state: {x: {init: 0}}
        processes:
          - {kind: schedule, name: s, at: 4, set: {x: 1}}
        outcomes:
          - {kind: probability, name: p, when: x >= 1, by: BY}
        """
    assert one(model(body.replace("BY", "4")), "p") == 1.0
    assert one(model(body.replace("BY", "3.999")), "p") == 0.0


def test_a_condition_true_at_t0_has_time_zero() -> None:
    m = model("""\
        state: {x: {init: 1}}
        processes:
          - {kind: schedule, name: s, at: 2, set: {x: 0}}
        outcomes:
          - {kind: time_to, name: first, when: x >= 1}
          - {kind: probability, name: p, when: x >= 1, by: 0}
        """)
    cols = run(m)
    assert (cols["first"][0], cols["p"][0]) == (0.0, True)


def test_a_condition_true_only_within_one_instant_is_recorded() -> None:
    m = model("""\
        state: {x: {init: 0}}
        processes:
          - {kind: schedule, name: up, at: 2, set: {x: 1}}
          - {kind: schedule, name: down, at: 2, set: {x: 0}}
        outcomes:
          - {kind: time_to, name: first, when: x >= 1}
          - {kind: value, name: x, expr: x}
        """)
    cols = run(m)
    assert (cols["first"][0], cols["x"][0]) == (2.0, 0.0)


def test_a_condition_never_true_is_censored() -> None:
    m = model("""\
        state: {x: {init: 0}}
        outcomes:
          - {kind: time_to, name: first, when: x >= 1}
          - {kind: probability, name: p, when: x >= 1}
        """)
    cols = run(m)
    assert math.isnan(cols["first"][0]) and not cols["p"][0]


def test_stop_when_ends_the_branch_and_nothing_after_it_is_recorded() -> None:
    m = model("""\
        state: {x: {init: 0}, y: {init: 0}}
        processes:
          - {kind: schedule, name: stop, at: 3.5, set: {x: 1}}
          - {kind: schedule, name: same_instant, at: 3.5, set: {y: 1}}
          - {kind: schedule, name: later, at: 5, set: {y: 2}}
        outcomes:
          - {kind: time_to, name: t_y, when: y >= 1}
          - {kind: value, name: y, expr: y}
          - {kind: value, name: t_at_end, expr: t}
        stop_when: x >= 1
        """)
    cols = run(m)
    assert cols["t_end"][0] == 3.5 and cols["t_at_end"][0] == 3.5
    assert math.isnan(cols["t_y"][0]) and cols["y"][0] == 0.0


def test_stop_when_true_at_t0_ends_the_branch_at_once() -> None:
    m = model("""\
        state: {x: {init: 1}}
        processes:
          - {kind: periodic, name: p, every: 1, set: {x: x + 1}}
        outcomes:
          - {kind: value, name: x, expr: x}
        stop_when: x >= 1
        """)
    cols = run(m)
    assert (cols["t_end"][0], cols["x"][0]) == (0.0, 1.0)


# --- flows ------------------------------------------------------------------------------

STATS = ("arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue")


def test_flow_statistics_of_a_deterministic_two_stage_line() -> None:
    # arrivals at 1, 2, 3; stage a (1 server, 1.5) serves 1-2.5, 2.5-4, 4-5.5; stage b
    # (1 server, 0.5) serves 2.5-3, 4-4.5, 5.5-6; the second entity is lost at b.
    outcomes = "\n".join(
        f"  - {{kind: flow, name: {where}_{stat}, flow: line{stage}, stat: {stat}}}"
        for where, stage in (("all", ""), ("a", ", stage: a"), ("b", ", stage: b"))
        for stat in STATS
    )
    body = """\
        state: {done: {init: 0}, gone: {init: 0}}
        processes:
          - kind: flow
            name: line
            arrivals: {every: 1, max: 3}
            stages:
              - {name: a, capacity: 1, duration: 1.5}
              - name: b
                capacity: 1
                duration: 0.5
                loss: "1 if done == 1 and gone == 0 else 0"
            on_complete: {done: done + 1}
            on_loss: {gone: gone + 1}
        outcomes:
        """
    m = model(textwrap.dedent(body) + outcomes)
    cols = run(m)
    expected = {
        "all": (3, 2, 1, 0.5, 2.5, 1),
        "a": (3, 3, 0, 0.5, 2.0, 1),
        "b": (3, 2, 1, 0.0, 0.5, 0),
    }
    for where, values in expected.items():
        got = tuple(float(cols[f"{where}_{stat}"][0]) for stat in STATS)
        assert got == pytest.approx(values, abs=1e-12), where


def test_a_stage_mean_wait_counts_only_entities_that_left_the_stage() -> None:
    # the second entity waits 2-6 and is still served at the end: like the stage's
    # mean_time_in_system, its mean_wait covers the first entity only.
    m = model(
        """\
        processes:
          - kind: flow
            name: line
            arrivals: {every: 1, max: 2}
            stages: [{name: s, capacity: 1, duration: 5}]
        outcomes:
          - {kind: flow, name: wait, flow: line, stage: s, stat: mean_wait}
          - {kind: flow, name: served, flow: line, stage: s, stat: completed}
          - {kind: flow, name: flow_wait, flow: line, stat: mean_wait}
        """,
        horizon=8,
    )
    cols = run(m)
    assert (cols["wait"][0], cols["served"][0], cols["flow_wait"][0]) == (0.0, 1.0, 0.0)


def test_a_capacity_from_a_parameter_expression_serves_that_many_at_once() -> None:
    body = """\
        parameters:
          servers: {value: SERVERS, assumption: test}
        processes:
          - kind: flow
            name: line
            arrivals: {every: 1, max: 3}
            stages: [{name: s, capacity: servers * 2 - 1, duration: 5}]
        outcomes:
          - {kind: flow, name: wait, flow: line, stat: mean_wait}
        """
    # capacity 3: all three served at once; capacity 1: served 1-6, 6-11, 11-16
    assert one(model(body.replace("SERVERS", "2"), horizon=20), "wait") == 0.0
    assert one(model(body.replace("SERVERS", "1"), horizon=20), "wait") == 4.0


def test_every_arrivals_fall_on_exact_multiples_up_to_the_horizon() -> None:
    # 0.7 added ten times is 6.999999999999999, and 10 * 0.7 is 7.000000000000001
    m = model(
        """\
        processes:
          - kind: flow
            name: f
            arrivals: {every: 0.7}
            stages: [{name: s, capacity: 1, duration: 0}]
        outcomes:
          - {kind: flow, name: n, flow: f, stat: arrived}
        """,
        horizon=7,
    )
    assert one(m, "n") == 10.0


def test_a_closed_while_gate_does_not_use_up_max_arrivals() -> None:
    m = model("""\
        state: {open: {init: false}}
        processes:
          - {kind: schedule, name: opening, at: 2.5, set: {open: true}}
          - kind: flow
            name: f
            arrivals: {every: 1, while: open, max: 1}
            stages: [{name: s, capacity: 1, duration: 0}]
        outcomes:
          - {kind: flow, name: n, flow: f, stat: arrived}
        """)
    assert one(m, "n") == 1.0  # at t = 3


def test_a_while_gate_on_poisson_arrivals_counts_only_the_open_time() -> None:
    # open during [2, 5): arrivals are Poisson with mean 2 * 3 = 6
    m = model("""\
        state: {open: {init: false}}
        processes:
          - {kind: schedule, name: opening, at: 2, set: {open: true}}
          - {kind: schedule, name: closing, at: 5, set: {open: false}}
          - kind: flow
            name: f
            arrivals: {rate: 2, while: open}
            stages: [{name: s, capacity: 1, duration: 0}]
        outcomes:
          - {kind: flow, name: n, flow: f, stat: arrived}
        """)
    n = 2000
    arrived = run(m, n)["n"]
    assert within(arrived.mean(), 6.0, math.sqrt(6.0 / n))
    assert within(arrived.var(ddof=1), 6.0, 6.0 * math.sqrt(2 / (n - 1) + 1 / (6 * n)))


def test_on_complete_effects_feed_back_into_the_arrival_rate() -> None:
    m = model(
        """\
        state: {done: {init: 0}}
        processes:
          - kind: flow
            name: f
            arrivals: {rate: "1 if done < 3 else 0"}
            stages: [{name: s, capacity: 1, duration: 0}]
            on_complete: {done: done + 1}
        outcomes:
          - {kind: flow, name: n, flow: f, stat: arrived}
        """,
        horizon=100,
    )
    assert np.all(run(m, 20)["n"] == 3)


def test_loss_at_each_stage_thins_the_flow_binomially() -> None:
    m = model(
        """\
        processes:
          - kind: flow
            name: f
            arrivals: {every: 1, max: 100}
            stages:
              - {name: a, capacity: 10, duration: 0.1, loss: 0.2}
              - {name: b, capacity: 10, duration: 0.1, loss: 0.5}
        outcomes:
          - {kind: flow, name: done, flow: f, stat: completed}
          - {kind: flow, name: lost, flow: f, stat: lost}
          - {kind: flow, name: lost_a, flow: f, stage: a, stat: lost}
          - {kind: flow, name: reached_b, flow: f, stage: b, stat: arrived}
        """,
        horizon=200,
    )
    n = 300
    cols = run(m, n)
    assert np.all(cols["done"] + cols["lost"] == 100)
    assert np.all(cols["reached_b"] == 100 - cols["lost_a"])
    assert within(cols["lost_a"].mean(), 20.0, math.sqrt(100 * 0.2 * 0.8 / n))
    assert within(cols["done"].mean(), 40.0, math.sqrt(100 * 0.4 * 0.6 / n))


# --- periodic, schedules, simultaneous events --------------------------------------------


def test_periodic_times_are_first_plus_k_every_inclusive_of_the_horizon() -> None:
    # 0.2 + 34 * 0.2 is 7.000000000000001 in floating point: it is still the horizon 7
    m = model(
        """\
        state: {k: {init: 0}}
        processes:
          - {kind: periodic, name: tick, every: 0.2, set: {k: k + 1}}
        outcomes:
          - {kind: value, name: k, expr: k}
          - {kind: time_to, name: fourth, when: k >= 4}
          - {kind: time_to, name: last, when: k >= 35}
        """,
        horizon=7,
    )
    cols = run(m)
    assert cols["k"][0] == 35.0
    assert cols["fourth"][0] == 0.2 + 3 * 0.2
    assert cols["last"][0] == 7.0


def test_a_schedule_applies_at_each_listed_time_in_order() -> None:
    m = model("""\
        state: {k: {init: 0}, x: {init: 0}}
        processes:
          - {kind: schedule, name: s, at: [3, 1, 1], set: {k: k + 1, x: x * 10 + k + 1}}
        outcomes:
          - {kind: value, name: x, expr: x}
          - {kind: time_to, name: third, when: k >= 3}
        """)
    cols = run(m)
    assert (cols["x"][0], cols["third"][0]) == (123.0, 3.0)


SIMULTANEOUS = """\
    state: {x: {init: 0}}
    processes:
      - FIRST
      - SECOND
    outcomes:
      - {kind: value, name: x, expr: x}
    """
DOUBLE = "{kind: periodic, name: double, every: 1, set: {x: x * 2}}"
ADD = "{kind: schedule, name: add, at: [1, 2], set: {x: x + 1}}"


def test_simultaneous_processes_act_in_file_order_at_every_occurrence() -> None:
    double_first = SIMULTANEOUS.replace("FIRST", DOUBLE).replace("SECOND", ADD)
    add_first = SIMULTANEOUS.replace("FIRST", ADD).replace("SECOND", DOUBLE)
    assert one(model(double_first, horizon=2), "x") == 3.0  # (0 * 2 + 1) * 2 + 1
    assert one(model(add_first, horizon=2), "x") == 6.0  # ((0 + 1) * 2 + 1) * 2


# --- state -------------------------------------------------------------------------------


def test_initial_values_and_assignments_are_clamped() -> None:
    m = model("""\
        parameters:
          p: {value: 0.9, assumption: test}
        state:
          low: {init: -3, min: 0}
          high: {init: p * 10, min: 0, max: 5}
          moved: {init: 0, min: -1, max: 1}
        processes:
          - {kind: schedule, name: s, at: 1, set: {moved: high - 10}}
        outcomes:
          - {kind: value, name: low, expr: low}
          - {kind: value, name: high, expr: high}
          - {kind: value, name: moved, expr: moved}
        """)
    cols = run(m)
    assert (cols["low"][0], cols["high"][0], cols["moved"][0]) == (0.0, 5.0, -1.0)


def test_bool_state_flips_and_reads_as_a_condition() -> None:
    m = model("""\
        state: {flag: {init: false}, flips: {init: 0}}
        processes:
          - {kind: periodic, name: flip, every: 1, set: {flag: not flag, flips: flips + 1}}
        outcomes:
          - {kind: value, name: flag, expr: flag}
          - {kind: time_to, name: first_true, when: flag}
          - {kind: time_to, name: first_false_again, when: flips >= 2 and not flag}
        """)
    cols = run(m)
    assert (cols["flag"][0], cols["first_true"][0], cols["first_false_again"][0]) == (
        0.0,
        1.0,
        2.0,
    )


# --- run errors --------------------------------------------------------------------------

# Each kind of expression site: its path -> (the time the error happens, the scenario text);
# x is -1, so log(x) and sqrt(x) raise ValueError.
ERROR_SITES = {
    "state.y.init": (0, "parameters: {p: {value: -1, assumption: t}}\nstate: {y: {init: log(p)}}"),
    "processes[0].rate": (0, "processes: [{kind: event, name: e, rate: sqrt(x), set: {n: 1}}]"),
    "processes[0].set": (1, "processes: [{kind: schedule, name: s, at: 1, set: {n: log(x)}}]"),
    "processes[0].when": (
        0,
        "processes: [{kind: trigger, name: tr, when: log(x) > 0, set: {n: 1}}]",
    ),
    "processes[0].delay": (
        0,
        "processes: [{kind: trigger, name: tr, when: 'true', delay: log(x), set: {n: 1}}]",
    ),
    "processes[0].chance": (
        0,
        "processes: [{kind: trigger, name: tr, when: 'true', chance: log(x), set: {n: 1}}]",
    ),
    "processes[0].arrivals.rate": (
        0,
        "processes: [{kind: flow, name: f, arrivals: {rate: sqrt(x)},"
        " stages: [{name: s, capacity: 1, duration: 1}]}]",
    ),
    "processes[0].arrivals.while": (
        1,
        "processes: [{kind: flow, name: f, arrivals: {every: 1, while: log(x) > 0},"
        " stages: [{name: s, capacity: 1, duration: 1}]}]",
    ),
    "processes[0].stages[0].capacity": (
        0,
        "parameters: {p: {value: -1, assumption: t}}\n"
        "processes: [{kind: flow, name: f, arrivals: {every: 1},"
        " stages: [{name: s, capacity: log(p), duration: 1}]}]",
    ),
    "processes[0].stages[0].duration": (
        1,
        "processes: [{kind: flow, name: f, arrivals: {every: 1},"
        " stages: [{name: s, capacity: 1, duration: log(x)}]}]",
    ),
    "processes[0].stages[0].loss": (
        2,
        "processes: [{kind: flow, name: f, arrivals: {every: 1},"
        " stages: [{name: s, capacity: 1, duration: 1, loss: log(x)}]}]",
    ),
    "outcomes[1].when": (
        0,
        "outcomes: [{kind: value, name: v, expr: x}, {kind: time_to, name: w, when: log(x) > 0}]",
    ),
    "outcomes[1].expr": (
        10,
        "outcomes: [{kind: value, name: v, expr: x}, {kind: value, name: w, expr: log(x)}]",
    ),
    "stop_when": (0, "stop_when: log(x) > 0"),
}


@pytest.mark.parametrize("where", list(ERROR_SITES))
def test_an_arithmetic_error_names_branch_seed_time_and_place(where: str) -> None:
    at, text = ERROR_SITES[where]
    body = "state: {x: {init: -1}, n: {init: 0}}\n" + text
    if "state:" in text:
        body = text
    if "outcomes:" not in body:
        body += "\noutcomes: [{kind: value, name: v, expr: '1'}]"
    m = model(body)
    pattern = rf"^\w+\.yaml:\d+:\d+: {re.escape(where)}: .* \(branch 3, seed {SEED}, t={at}\)$"
    with pytest.raises(RunError, match=pattern) as caught:
        run_branches(m, SEED, 3, 4)
    assert "\n" not in str(caught.value)


# --- reproducibility ---------------------------------------------------------------------

EVERYTHING = """\
    parameters:
      r: {dist: {kind: uniform, low: 0.2, high: 1}, assumption: test}
      q: {dist: {kind: uniform, low: 0.2, high: 1}, assumption: test}
    state: {x: {init: 0, max: 5}, o: {init: 0}, done: {init: 0}, fired: {init: false}}
    processes:
      - {kind: event, name: up, rate: r, set: {x: x + 1}}
      - {kind: event, name: other, rate: 0.5, set: {o: o + 1}}
      - {kind: trigger, name: tr, when: x >= 2, delay: {kind: exponential, mean: 1},
         chance: 0.7, cancel_if_false: true, set: {fired: true}}
      - kind: flow
        name: line
        arrivals: {rate: q}
        stages: [{name: s, capacity: 1, duration: {kind: exponential, mean: 0.5}, loss: 0.2}]
        on_complete: {done: done + 1}
    outcomes:
      - {kind: time_to, name: t_other, when: o >= 1}
      - {kind: time_to, name: t_fired, when: fired}
      - {kind: value, name: done, expr: done}
      - {kind: value, name: x, expr: x}
    variants:
      slow: {parameters: {r: 0.1}}
    """


def test_a_branch_run_alone_equals_its_row_and_chunks_do_not_matter() -> None:
    m = model(EVERYTHING, horizon=24)
    whole = run_branches(m, SEED, 0, 12)
    tail = run_branches(m, SEED, 7, 12)
    for name, column in tail.items():
        np.testing.assert_array_equal(column, whole[name][7:])
    for b in (0, 9):
        alone = run_branch(m, SEED, b, trace=lambda record: None)
        assert alone.t_end == whole["t_end"][b]
        assert alone.parameters == (whole["r"][b], whole["q"][b])
        row = [whole[c][b] for c in ("t_other", "t_fired", "done", "x")]
        np.testing.assert_array_equal(np.array(alone.outcomes, dtype=float), row)


def test_a_variant_keeps_the_draws_of_other_parameters_and_unchanged_processes() -> None:
    # `slow` changes r, which only the event `up` reads: the flow, reading q, is unchanged.
    base = run(model(EVERYTHING, horizon=24), 30)
    slow = run(model(EVERYTHING, horizon=24, variant="slow"), 30)
    np.testing.assert_array_equal(base["q"], slow["q"])
    np.testing.assert_array_equal(base["done"], slow["done"])
    np.testing.assert_array_equal(base["t_other"], slow["t_other"])
    assert np.all(slow["r"] == 0.1) and not np.array_equal(base["x"], slow["x"])
