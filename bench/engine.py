"""Engine overhead: `sim` on a scenario file against the same model hand-written in SimPy.

Both run in this process on one core. The two are alternated in small chunks so that
the machine's noise falls on both alike; the script prints branches per second of each,
their ratio (sim time per branch / hand-written time per branch), and the estimates of
both as a check that they model the same thing.

    python bench/engine.py [--branches 4000] [--chunk 100]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import simpy

from sim.engine.simpy import run_branches
from sim.model.compile import load_model

MODEL = Path(__file__).with_name("engine_model.yaml")
HORIZON = 120.0


def hand_branch(seed: int, branch: int) -> tuple[bool, float]:
    """The benchmark model written directly in SimPy, as a SimPy user would."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(branch,)))
    env = simpy.Environment()
    pressure = rng.beta(2.0, 5.0)
    s = {"integration": 0.3, "armed": False, "annexed_at": math.nan, "delivered": 0}

    def crisis_rate() -> float:
        return 0.02 * (1.0 + s["integration"])

    def check_trigger() -> None:
        if not s["armed"] and s["integration"] > 0.8:
            s["armed"] = True
            env.process(annex(rng.uniform(1.0, 6.0)))

    def annex(delay: float):  # type: ignore[no-untyped-def]
        yield env.timeout(delay)
        s["annexed_at"] = env.now

    def crisis():  # type: ignore[no-untyped-def]
        while True:
            rest = rng.exponential()
            rate = crisis_rate()
            while True:
                started = env.now
                try:
                    yield env.timeout(rest / rate)
                    break
                except simpy.Interrupt:  # the rate changed: carry the remaining hazard over
                    rest -= (env.now - started) * rate
                    rate = crisis_rate()
            s["integration"] = min(1.0, s["integration"] + 0.05)
            check_trigger()

    crisis_process = env.process(crisis())

    def drift():  # type: ignore[no-untyped-def]
        k = 1
        while True:
            yield env.timeout(k - env.now)
            k += 1
            x = s["integration"]
            s["integration"] = min(1.0, max(0.0, x + pressure * 0.05 * (1.0 - x)))
            crisis_process.interrupt()
            check_trigger()

    production = simpy.Resource(env, 1)
    transit = simpy.Resource(env, 2)

    def entity():  # type: ignore[no-untyped-def]
        with production.request() as req:
            yield req
            yield env.timeout(rng.exponential(0.4))
        with transit.request() as req:
            yield req
            yield env.timeout(rng.exponential(0.8))
        if rng.random() >= 0.1:
            s["delivered"] += 1

    def arrivals():  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rng.exponential(1.0 / 2.0))
            env.process(entity())

    env.process(drift())
    env.process(arrivals())
    env.run(until=HORIZON)
    return s["annexed_at"] <= 84.0, float(s["delivered"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=4000)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args()
    model = load_model(MODEL)
    seed = 1
    sim_time = hand_time = 0.0
    sim_p: list[np.ndarray] = []
    hand_p: list[bool] = []
    sim_d: list[np.ndarray] = []
    hand_d: list[float] = []
    for start in range(0, args.branches, args.chunk):
        stop = min(start + args.chunk, args.branches)
        t0 = time.perf_counter()
        cols = run_branches(model, seed, start, stop)
        t1 = time.perf_counter()
        rows = [hand_branch(seed, b) for b in range(start, stop)]
        t2 = time.perf_counter()
        sim_time += t1 - t0
        hand_time += t2 - t1
        sim_p.append(cols["annexed_by_84"])
        sim_d.append(cols["delivered"])
        hand_p.extend(r[0] for r in rows)
        hand_d.extend(r[1] for r in rows)
    n = args.branches
    print(f"branches: {n} (alternating chunks of {args.chunk}), one core")
    print(f"sim (scenario file):  {n / sim_time:8.0f} branches/s")
    print(f"hand-written SimPy:   {n / hand_time:8.0f} branches/s")
    print(f"ratio sim/hand (time per branch): {sim_time / hand_time:.2f}")
    p_sim, p_hand = np.concatenate(sim_p).mean(), float(np.mean(hand_p))
    print(f"check P(annexed by 84): sim {p_sim:.3f}, hand {p_hand:.3f}")
    d_sim, d_hand = np.concatenate(sim_d).mean(), float(np.mean(hand_d))
    print(f"check mean delivered:   sim {d_sim:.1f}, hand {d_hand:.1f}")


if __name__ == "__main__":
    main()
