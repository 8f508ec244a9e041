"""Scaling: branches per second of each executor on a shipped scenario, and their efficiency.

Runs the same branches of scenarios/belarus_annexation.yaml into a run directory with
serial, process (1 and 2 workers) and a local dask cluster of 2 workers, and prints for each
the time until the first chunk arrived (starting the workers and one chunk), the branches
per second after that, and the parallel efficiency ``(rate / serial rate) / workers``.
Then one long run with the dask executor reports the peak memory of the sim process
(bench/memory.py has the figures by size).

    python bench/scale.py [--branches 12000] [--repeats 2] [--long 100000]

Each configuration runs ``--repeats`` times and keeps its fastest rate, since other work
on the machine can only slow a run down. The rate includes writing and gathering the chunks,
and each worker compiling the scenario once: short runs show less of the parallel speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from memory import measure

from sim.model.compile import load_model
from sim.montecarlo.executors import available_cpus
from sim.montecarlo.runner import run

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "belarus_annexation.yaml"
CONFIGURATIONS = [("serial", None), ("process", 1), ("process", 2), ("dask", 2)]


@dataclass(frozen=True)
class Timing:
    """One run's figures: seconds to the first chunk, and branches per second after it."""

    startup: float
    rate: float


def timed(scenario: Path, branches: int, executor: str, workers: int | None) -> Timing:
    """Run once into a temporary directory and time it.

    The rate counts the branches after the first chunk arrived, to the end of the run
    (written and gathered), so that starting the workers is left out of it.
    """
    model = load_model(scenario)
    first: list[tuple[float, int]] = []

    def progress(done: int, _total: int) -> None:
        if done and not first:
            first.append((time.perf_counter(), done))

    with tempfile.TemporaryDirectory() as work:
        clock = time.perf_counter()
        run(
            model, branches=branches, seed=1, out=Path(work) / "run", executor=executor,
            workers=workers, progress=progress,
        )  # fmt: skip
        end = time.perf_counter()
    at, done = first[0]
    return Timing(at - clock, (branches - done) / (end - at))


def main() -> None:
    """Time every configuration and print a markdown table, then the long run's memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=12_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--long", type=int, default=100_000, help="branches of the long run")
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    args = parser.parse_args()
    print(
        f"{args.scenario.name}, {args.branches:,} branches per run, best of {args.repeats}; "
        f"{available_cpus()} CPUs, load average {os.getloadavg()[0]:.2f} at the start\n"
    )
    print("| executor | workers | first chunk s | branches/s | speed-up | parallel efficiency |")
    print("|---|---:|---:|---:|---:|---:|")
    serial_rate = None
    for executor, workers in CONFIGURATIONS:
        timings = [
            timed(args.scenario, args.branches, executor, workers) for _ in range(args.repeats)
        ]
        best = max(timings, key=lambda t: t.rate)
        serial_rate = serial_rate or best.rate
        k = workers or 1
        print(
            f"| {executor} | {k} | {min(t.startup for t in timings):.2f} | {best.rate:,.0f} "
            f"| {best.rate / serial_rate:.2f} | {best.rate / serial_rate / k:.0%} |",
            flush=True,
        )
    figures = measure(args.scenario, args.long, "dask", 2)
    print(
        f"\nLong run: {args.long:,} branches with dask (2 workers) in "
        f"{figures['wall_seconds']:.1f} s; peak memory of the sim process "
        f"{figures['peak_mib']:,.0f} MiB ({figures['running_mib'] or 0:,.0f} MiB while the "
        f"branches ran, {figures['finishing_mib'] or 0:,.0f} MiB while finishing)"
    )


if __name__ == "__main__":
    sys.exit(main())
