"""Time to draw and report a run of a million branches, against reading its rows.

Runs ``report_model.yaml`` (a dated model with a probability, a time to an event and a
value) and its variant ``calm`` with N branches each, unless DIR already holds them; then,
each in a fresh process, times ``sim report --html`` of the run, of the run with its variant
(a paired comparison of every outcome), ``sim plot`` of the Kaplan–Meier curve, and, as the
same-run baselines, reading every row of ``branches.parquet`` into pandas (what a report that
read whole tables would start with) and ``sim summary`` (starting sim and reading the
summary, the floor of any command). Wall and CPU seconds, and peak memory, best of R; on a
busy machine the CPU seconds are the better guide to the wall time on an idle one.

    python bench/report.py [--branches 1000000] [--dir DIR] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = Path(__file__).with_name("report_model.yaml")
SIM = [sys.executable, "-m", "sim"]


# Runs a command in a fresh process and prints its peak memory (KiB) and CPU seconds.
_MEASURE = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(u.ru_maxrss, u.ru_utime + u.ru_stime)"
)


def _timed(command: list[str], repeat: int) -> tuple[float, float, float]:
    """Return the best wall and CPU seconds of ``command`` and its peak memory in MiB."""
    best_wall, best_cpu, peak = float("inf"), float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _MEASURE, *command], check=True,
                              capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - start
        rss, cpu = done.stdout.split()
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, float(cpu))
        peak = max(peak, int(rss) / 1024)
    return best_wall, best_cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="sim-report-bench-"))
    runs = {"run": None, "calm": "calm"}
    for name, variant in runs.items():
        if not (root / name / "summary.json").is_file():
            command = [*SIM, "run", str(MODEL), "-n", str(args.branches), "-s", "1",
                       "-o", str(root / name), "--executor", "process",
                       "--workers", str(args.workers), "-q"]  # fmt: skip
            subprocess.run(command + (["--variant", variant] if variant else []), check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
    read_all = "import pyarrow.parquet as pq, sys; pq.read_table(sys.argv[1]).to_pandas()"
    cases = {
        "read every row (baseline)": [sys.executable, "-c", read_all,
                                      str(root / "run" / "branches.parquet")],
        "sim summary (start-up and summary only)": [*SIM, "summary", str(root / "run")],
        "sim report --html, the run": [*SIM, "report", str(root / "run"), "--html",
                                       str(root / "run.html")],
        "sim report --html, run and variant": [*SIM, "report", str(root / "run"),
                                               str(root / "calm"), "--html",
                                               str(root / "both.html")],
        "sim plot, Kaplan-Meier curve": [*SIM, "plot", str(root / "run"), "time_to_crisis",
                                         "-o", str(root / "km.png")],
    }  # fmt: skip
    branches = json.loads((root / "run" / "manifest.json").read_text())["branches"]
    print(f"{branches:,} branches per run, {MODEL.name}; best of {args.repeat}; in {root}")
    print(f"{'':40} {'wall s':>7} {'CPU s':>7} {'MiB':>6} {'x baseline':>11}")
    baseline = None
    for label, command in cases.items():
        wall, cpu, peak = _timed(command, args.repeat)
        baseline = baseline or wall
        print(f"{label:40} {wall:7.2f} {cpu:7.2f} {peak:6.0f} {wall / baseline:11.2f}")
    size = (root / "run.html").stat().st_size / 1024
    print(f"report of the run: {size:,.0f} KiB")


if __name__ == "__main__":
    main()
