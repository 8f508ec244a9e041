"""The batch engine against the SimPy engine, row for row, on deterministic scenarios.

Without random draws the two engines must agree exactly, whatever the order in which
things happen: these scenarios are made of periodic updates, schedules, triggers with
fixed delays (cancelled, repeated, turned down by a chance of 0 or 1), and flows with
fixed-interval arrivals, gates and fixed durations, all on grids that make many events
fall at the same instant, so that the order of same-time events (file order, then the
order SimPy scheduled them in, including its deferred resource grants) decides the rows.
Their outcomes include every kind that needs no random draws: first times, values, flow
statistics, counts of rises and of firings, times between conditions, which condition came
first, and outcomes given a condition.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from _models import model

from sim.engine import batch
from sim.engine import simpy as engine
from sim.model.compile import build_model

STEPS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
STATE = ("a", "b", "c")
FLAGS = ("f", "g")


def _number(rng: random.Random) -> str:
    return rng.choice(["a", "b", "c", "1", "2", "t"])


def _condition(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(FLAGS)
    if kind < 0.5:
        return f"not {rng.choice(FLAGS)}"
    op = rng.choice([">=", "<", "=="])
    return f"{_number(rng)} {op} {rng.choice(['1', '2', '3', '4'])}"


def _set(rng: random.Random) -> str:
    parts = []
    for name in rng.sample([*STATE, *FLAGS], rng.randint(1, 2)):
        if name in FLAGS:
            parts.append(f"{name}: {rng.choice(['true', 'false', f'not {name}'])}")
        else:
            parts.append(f"{name}: {name} + {rng.choice(['1', '-1', '0.5', name])}")
    return "{" + ", ".join(parts) + "}"


def _process(rng: random.Random, i: int) -> str:
    kind = rng.choice(["periodic", "schedule", "trigger", "flow", "flow"])
    name = f"p{i}"
    if kind == "periodic":
        return f"{{kind: periodic, name: {name}, every: {rng.choice(STEPS)}, set: {_set(rng)}}}"
    if kind == "schedule":
        times = sorted(rng.choice(STEPS) * rng.randint(0, 4) for _ in range(rng.randint(1, 4)))
        return f"{{kind: schedule, name: {name}, at: {times}, set: {_set(rng)}}}"
    if kind == "trigger":
        extra = ""
        if rng.random() < 0.3:
            extra += f", chance: '{rng.choice(['0', '1', '1 if a > 2 else 0'])}'"
        if rng.random() < 0.4:
            extra += ", cancel_if_false: true"
        if rng.random() < 0.4:
            extra += ", repeat: true"
        delay = rng.choice(["0", "0.5", "1", "1.5", "a if a > 0 else 0"])
        return (
            f"{{kind: trigger, name: {name}, when: '{_condition(rng)}', delay: '{delay}'"
            f"{extra}, set: {_set(rng)}}}"
        )
    stages = []
    for k in range(rng.randint(1, 3)):
        loss = ""
        if rng.random() < 0.4:
            loss = f", loss: '{rng.choice(['0', '1', '1 if a > 1 else 0', '1 if f else 0'])}'"
        duration = rng.choice(
            ["0", "0.25", "0.5", "1", "1.5", "2", "'1 if f else 0.5'", "'0.5 if a > 1 else 1.5'"]
        )
        capacity = rng.choice([1, 1, 2, 3])
        stages.append(f"{{name: s{k}, capacity: {capacity}, duration: {duration}{loss}}}")
    arrivals = f"every: {rng.choice(STEPS)}"
    if rng.random() < 0.4:
        arrivals += f", max: {rng.randint(1, 8)}"
    if rng.random() < 0.3:
        arrivals += f", while: '{_condition(rng)}'"
    effects = ""
    if rng.random() < 0.6:
        effects += f", on_complete: {_set(rng)}"
    if rng.random() < 0.4:
        effects += f", on_loss: {_set(rng)}"
    return (
        f"{{kind: flow, name: {name}, arrivals: {{{arrivals}}}, "
        f"stages: [{', '.join(stages)}]{effects}}}"
    )


def scenario(seed: int) -> str:
    """A random deterministic scenario."""
    rng = random.Random(seed)
    processes = [_process(rng, i) for i in range(rng.randint(2, 6))]
    flows = [p.split("name: ")[1].split(",")[0] for p in processes if "kind: flow" in p]
    outcomes = [f"  - {{kind: value, name: v_{n}, expr: {n}}}" for n in STATE]
    outcomes += [f"  - {{kind: value, name: v_{n}, expr: '{n}'}}" for n in FLAGS]
    outcomes += [
        f"  - {{kind: time_to, name: when_{k}, when: '{_condition(rng)}'}}" for k in range(3)
    ]
    outcomes.append(f"  - {{kind: probability, name: by_3, when: '{_condition(rng)}', by: 3}}")
    # format 1.1 outputs: rises and firings counted, clocks between conditions, which came
    # first, and outcomes given a condition
    counted = [p.split("name: ")[1].split(",")[0] for p in processes if "kind: flow" not in p]
    outcomes.append(f"  - {{kind: count, name: rises, when: '{_condition(rng)}'}}")
    outcomes.append(f"  - {{kind: count, name: rises_by_4, when: '{_condition(rng)}', by: 4}}")
    for name in counted[:2]:
        outcomes.append(f"  - {{kind: count, name: n_{name}, process: {name}, by: 5}}")
    for k in range(2):
        outcomes.append(
            f"  - {{kind: time_between, name: span_{k}, from: '{_condition(rng)}', "
            f"to: '{_condition(rng)}'}}"
        )
    conditions = ", ".join(f"c{k}: '{_condition(rng)}'" for k in range(3))
    outcomes.append(f"  - {{kind: first_of, name: first, conditions: {{{conditions}}}, by: 6}}")
    outcomes.append(
        f"  - {{kind: time_to, name: given_t, when: '{_condition(rng)}', "
        f"given: '{_condition(rng)}'}}"
    )
    stats = ("arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue")
    for f in flows:
        for stat in stats:
            outcomes.append(f"  - {{kind: flow, name: {f}_{stat}, flow: {f}, stat: {stat}}}")
            outcomes.append(
                f"  - {{kind: flow, name: {f}_s0_{stat}, flow: {f}, stage: s0, stat: {stat}}}"
            )
    text = "state: {a: {init: 0, min: -5, max: 5}, b: {init: 1}, c: {init: 0}, "
    text += "f: {init: false}, g: {init: true}}\n"
    text += "processes:\n" + "".join(f"  - {p}\n" for p in processes)
    text += "outcomes:\n" + "\n".join(outcomes) + "\n"
    if rng.random() < 0.2:
        text += f"stop_when: '{_condition(rng)}'\n"
    return text


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    x, y = float(a), float(b)  # type: ignore[arg-type]
    return (math.isnan(x) and math.isnan(y)) or x == y


@pytest.mark.parametrize("seed", range(150))
def test_deterministic_scenarios_give_the_same_row_on_both_engines(seed: int) -> None:
    text = scenario(seed)
    m = model(text, horizon=8.0, version="1.1")
    simpy = engine.run_branches(m, 0, 0, 1)
    rows = batch.run_branches(m, 0, 0, 1)
    for name, column in simpy.items():
        assert _same(column[0], rows[name][0]), (name, text)


@pytest.mark.parametrize("seed", range(0, 150, 10))
def test_lanes_with_other_parameter_values_each_give_the_simpy_row(seed: int) -> None:
    # lanes of one batch that differ in a parameter do not disturb each other: each
    # equals the SimPy engine's row for its value, found with that value fixed
    text = "parameters: {k: {value: 1, assumption: test}}\n" + scenario(seed).replace(
        "b: {init: 1}", "b: {init: k}"
    )
    m = model(text, horizon=8.0, version="1.1")
    values = [0.0, 1.0, 2.5, -1.0, 4.0]
    rows = batch.run_points(m, 0, 0, 1, {"k": values}, window=2)
    for i, k in enumerate(values):
        fixed = build_model(m.source, m.file, overrides=(("k", repr(k)),))
        simpy = engine.run_branches(fixed, 0, 0, 1)
        for name, column in simpy.items():
            assert _same(column[0], rows[name][i]), (k, name, text)


def test_the_deterministic_scenarios_do_produce_ties_and_queues() -> None:
    # a check of the test itself: the generated flows do queue and do lose entities
    queued = lost = 0
    for seed in range(150):
        rows = engine.run_branches(model(scenario(seed), horizon=8.0, version="1.1"), 0, 0, 1)
        queued += sum(float(v[0]) > 0 for k, v in rows.items() if k.endswith("_max_queue"))
        lost += sum(float(v[0]) > 0 for k, v in rows.items() if k.endswith("_lost"))
    assert queued > 20 and lost > 10
    assert np.isfinite(queued)
