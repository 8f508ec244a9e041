"""What the format 1.1 features cost per branch, against the same scenario without them.

One small scenario (six parameters, a state-dependent event, a trigger, a periodic update)
is run plain and with each feature added on top: a parameter whose distribution reads
another, a trigger delay that reads the state, three correlated parameters, a pool of
three experts, and draws at every periodic update. The variants are alternated in small
chunks on one core, so the machine's noise falls on all alike; the script prints branches
per second of each and its time per branch relative to the plain scenario.

    python bench/composition.py [--branches 3000] [--chunk 100]
"""

from __future__ import annotations

import argparse
import time

from sim.engine.simpy import run_branches
from sim.model.compile import build_model

HEAD = """\
sim: 1.1
name: bench
title: Composition benchmark
description: A small scenario, plain and with each feature of format 1.1.
time: {unit: month, horizon: 60}
"""
PARAMETERS = """\
parameters:
  pressure: {dist: {kind: beta, a: 2, b: 5}, assumption: a bench}
  resolve: {dist: {kind: uniform, low: 0, high: 1}, assumption: a bench}
  base_delay: {dist: {kind: lognormal, p5: 2, p95: 12}, assumption: a bench}
  rate: {dist: {kind: gamma, shape: 3, scale: 0.02}, assumption: a bench}
  shock: {dist: {kind: triangular, low: 0, mode: 0.05, high: 0.2}, assumption: a bench}
  %(delay)s
"""
BODY = """\
state:
  integration: {init: 0.2, min: 0, max: 1}
  annexed: {init: false}
processes:
  - kind: event
    name: crisis
    rate: "rate * (1 + integration)"
    set: {integration: "integration + shock"}
  - kind: periodic
    name: drift
    every: 1
    %(draws)s
    set: {integration: "integration + %(step)s"}
  - kind: trigger
    name: annexation
    when: "integration > 0.8"
    delay: %(trigger)s
    set: {annexed: "true"}
outcomes:
  - {kind: time_to, name: time_to_annexation, when: annexed}
stop_when: annexed
"""
PLAIN = {
    "delay": "delay: {dist: {kind: exponential, mean: 6}, assumption: a bench}",
    "draws": "",
    "step": "0.01 * pressure",
    "trigger": "{kind: uniform, low: 1, high: 6}",
}
VARIANTS = {
    "plain": ({}, ""),
    "expression field": (
        {"delay": 'delay: {dist: {kind: exponential, mean: "base_delay * (1 - resolve)"}, '
                  "assumption: a bench}"},
        "",
    ),
    "delay reads state": ({"trigger": '{kind: uniform, low: 1, high: "1 + 10 * integration"}'}, ""),
    "3 correlated": (
        {},
        "correlations:\n  - {between: [pressure, resolve], spearman: -0.6}\n"
        "  - {between: [pressure, shock], spearman: 0.5}\n",
    ),
    "pool of 3": (
        {"delay": "delay: {dist: {kind: pool, experts: ["
         "{name: a, weight: 1, dist: {kind: exponential, mean: 3}, assumption: x}, "
         "{name: b, weight: 1, dist: {kind: exponential, mean: 6}, assumption: x}, "
         "{name: c, weight: 1, dist: {kind: gamma, shape: 2, scale: 4}, assumption: x}]}}"},
        "",
    ),
    "draws each step": (
        {"draws": "draws: {jump: {kind: normal, mean: 0.01, sd: 0.005}}",
         "step": "jump * pressure * 2"},
        "",
    ),
}  # fmt: skip


def scenario(changes: dict[str, str], extra: str) -> str:
    """The benchmark scenario's text with ``changes`` to its parts and ``extra`` sections."""
    parts = {**PLAIN, **changes}
    return HEAD + PARAMETERS % parts + extra + BODY % parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args()
    models = {
        name: build_model(scenario(*change), f"{name}.yaml") for name, change in VARIANTS.items()
    }
    spent = dict.fromkeys(models, 0.0)
    for start in range(0, args.branches, args.chunk):
        stop = min(start + args.chunk, args.branches)
        for name, model in models.items():
            clock = time.perf_counter()
            run_branches(model, 1, start, stop)
            spent[name] += time.perf_counter() - clock
    base = spent["plain"]
    print(f"{args.branches} branches each, alternated in chunks of {args.chunk}, one core")
    print(f"{'scenario':<20} {'branches/s':>11} {'time per branch vs plain':>25}")
    for name, seconds in spent.items():
        print(f"{name:<20} {args.branches / seconds:>11,.0f} {seconds / base:>25.2f}")


if __name__ == "__main__":
    main()
