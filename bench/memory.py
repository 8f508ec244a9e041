"""Memory of the sim process as runs grow: 10,000, 100,000 and 1,000,000 branches.

Each run writes a run directory with the process or dask executor (two workers by default)
in a fresh Python process, so that every figure starts from the same state; that process
reports its peak resident memory while the branches run (chunks stream to disk) and while
the run is finished (the chunks gathered into branches.parquet, the summary computed), and
the largest peak of its workers. The model (memory_model.yaml) is small and queue-free.

    python bench/memory.py [--branches 10000 100000 1000000] [--executors process dask]
                           [--workers 2] [--scenario FILE] [--engine simpy|batch] [--series]

``--series`` runs bench/series_model.yaml instead, which records trajectories (three
variables at 121 times per branch) into series.parquet, and adds that file's size to the
table: ``python bench/memory.py --series --branches 100000 --executors process``.

Peaks are sampled every 10 ms with psutil (installed with dask[distributed]); without it
only the whole run's peak (``getrusage``) is shown.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MODEL = Path(__file__).with_name("memory_model.yaml")
SERIES_MODEL = Path(__file__).with_name("series_model.yaml")
MIB = 1024 * 1024


class Peaks:
    """Samples this process's resident memory in a thread, keeping the peak of each phase."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:
            self.process = None
        else:
            self.process = psutil.Process()
        self.phase = "start"
        self.peaks: dict[str, float] = {}

    def sample(self) -> None:
        """Record the current memory under the current phase, forever (a daemon thread)."""
        while self.process is not None:
            rss = self.process.memory_info().rss / MIB
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)
            time.sleep(0.01)

    @contextmanager
    def during(self, phase: str) -> Iterator[None]:
        """Count the memory of the block under ``phase``."""
        self.phase = phase
        yield
        self.phase = "after"


def child(
    scenario: Path, branches: int, executor: str, workers: int, out: Path, engine: str
) -> dict[str, Any]:
    """Run once in this process and return its figures (called in a fresh process)."""
    import sim.montecarlo.directory
    from sim.montecarlo.runner import run

    peaks = Peaks()
    threading.Thread(target=peaks.sample, daemon=True).start()
    finish = sim.montecarlo.directory.RunDirectory.finish

    def finishing(self: Any, *args: Any, **kwargs: Any) -> Any:
        with peaks.during("finishing"):
            return finish(self, *args, **kwargs)

    sim.montecarlo.directory.RunDirectory.finish = finishing  # type: ignore[method-assign]
    time.sleep(0.05)
    baseline = peaks.peaks.get("start", 0.0)
    clock = time.perf_counter()
    with peaks.during("running"):
        run(scenario, branches=branches, seed=1, out=out, executor=executor, workers=workers,
            engine=engine)  # fmt: skip
    wall = time.perf_counter() - clock
    series = out / "series.parquet"
    return {
        "engine": engine,
        "series_mib": series.stat().st_size / MIB if series.exists() else None,
        "series_rows": _rows(series) if series.exists() else None,
        "executor": executor,
        "workers": workers,
        "branches": branches,
        "wall_seconds": wall,
        "baseline_mib": baseline,
        "running_mib": peaks.peaks.get("running"),
        "finishing_mib": peaks.peaks.get("finishing"),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def measure(
    scenario: Path, branches: int, executor: str, workers: int, engine: str
) -> dict[str, Any]:
    """Run ``branches`` branches in a fresh Python process and return its figures."""
    with tempfile.TemporaryDirectory() as work:
        command = [
            sys.executable, __file__, "--child", "--scenario", str(scenario),
            "--branches", str(branches), "--executors", executor, "--workers", str(workers),
            "--out", str(Path(work) / "run"), "--engine", engine,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _mib(value: float | None) -> str:
    """Return MiB for a table cell; ``-`` when unknown (a pool's workers are not our children)."""
    return "-" if not value else f"{value:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    """Return the figures as a markdown table."""
    series = any(r.get("series_mib") for r in rows)
    lines = [
        "| executor | branches | wall s | branches/s | sim process peak MiB | at start "
        "| while running | while finishing | largest worker MiB |"
        + (" series.parquet rows | series.parquet MiB |" if series else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if series else ""),
    ]
    for r in rows:
        lines.append(
            f"| {r['executor']} ({r['workers']} workers, {r['engine']}) | {r['branches']:,} "
            f"| {r['wall_seconds']:.1f} | {r['branches'] / r['wall_seconds']:,.0f} "
            f"| {_mib(r['peak_mib'])} | {_mib(r['baseline_mib'])} | {_mib(r['running_mib'])} "
            f"| {_mib(r['finishing_mib'])} | {_mib(r['worker_peak_mib'])} |"
            + (f" {r['series_rows'] or 0:,} | {_mib(r['series_mib'])} |" if series else "")
        )
    return "\n".join(lines)


def main() -> None:
    """Measure every executor at every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--executors", nargs="+", default=["process", "dask"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", type=Path, default=None)
    parser.add_argument("--engine", default="simpy", choices=["simpy", "batch"])
    parser.add_argument("--series", action="store_true", help="run bench/series_model.yaml")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    scenario = args.scenario or (SERIES_MODEL if args.series else MODEL)
    if args.child:
        figures = child(
            scenario, args.branches[0], args.executors[0], args.workers, args.out, args.engine
        )
        print(json.dumps(figures))
        return
    rows = []
    for executor in args.executors:
        for branches in args.branches:
            rows.append(measure(scenario, branches, executor, args.workers, args.engine))
            print(
                f"{executor} {branches:,}: {rows[-1]['wall_seconds']:.1f} s, "
                f"peak {rows[-1]['peak_mib']:,.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
    print(table(rows))


if __name__ == "__main__":
    main()
