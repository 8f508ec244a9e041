"""The two engines side by side: branches per second per core on every shipped scenario.

Both engines run in this process on one core, alternating (a round of SimPy branches,
then a chunk of batch branches, and again), so that the machine's noise falls on both
alike. For each scenario the script prints the branches per second of each engine and
their ratio, and the peak memory of one batch chunk (numpy's allocations, as tracemalloc
sees them; it is bounded by the window of branches the engine advances at once, so it is
measured on a chunk of one and a half windows). CPU time of this process is counted, not
wall time. The batch chunk defaults to the largest the runner makes (131,072 branches).

    python bench/engines.py [--rounds 2] [--simpy 200] [--chunk 131072] [FILE ...]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from sim.engine import batch
from sim.engine import simpy as engine
from sim.engine.batch.core import WINDOW
from sim.model.compile import load_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.jobs import BATCH_MAX_CHUNK

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [*sorted((ROOT / "scenarios").glob("*.yaml")), ROOT / "bench" / "engine_model.yaml"]


def _timed(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def _peak_mb(model: CompiledModel, chunk: int) -> float:
    """Peak memory (MB) that numpy allocates while the batch engine runs one chunk."""
    tracemalloc.start()
    batch.run_branches(model, 1, 0, chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def measure(path: Path, rounds: int, simpy: int, chunk: int) -> tuple[float, float, float]:
    """Branches per second of each engine and the peak MB of a batch chunk."""
    model = load_model(path)
    batch.run_branches(model, 0, 0, 64)  # compile the vectorised functions once
    engine.run_branches(model, 0, 0, 4)
    simpy_time = batch_time = 0.0
    for r in range(rounds):
        start = r * max(simpy, chunk)
        simpy_time += _timed(lambda s=start: engine.run_branches(model, 1, s, s + simpy))
        batch_time += _timed(lambda s=start: batch.run_branches(model, 1, s, s + chunk))
    peak = _peak_mb(model, min(chunk, WINDOW + WINDOW // 2))
    return rounds * simpy / simpy_time, rounds * chunk / batch_time, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--simpy", type=int, default=200, help="SimPy branches per round")
    parser.add_argument(
        "--chunk", type=int, default=BATCH_MAX_CHUNK, help="batch branches per round"
    )
    args = parser.parse_args()
    rounds = f"{args.rounds} alternating rounds of {args.simpy} SimPy and {args.chunk} batch"
    print(f"one core, {rounds} branches")
    print("| scenario | SimPy branches/s | batch branches/s | ratio | batch peak MB |")
    print("|---|---:|---:|---:|---:|")
    for path in args.files:
        simpy_rate, batch_rate, peak = measure(path, args.rounds, args.simpy, args.chunk)
        print(
            f"| {path.stem} | {simpy_rate:,.0f} | {batch_rate:,.0f} | "
            f"{batch_rate / simpy_rate:.1f} | {peak:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
