"""Regenerate the committed reference runs and the README and docs sections built from them.

Every shipped scenario and each of its variants is run with 20,000 branches (``--branches``)
and seed 20230301 on the SimPy engine (``--engine``) into ``results/<name>/`` and
``results/<name>__<variant>/``; then ``sim report --readme README.md --headline`` rewrites the
README's headline table, ``sim report --readme docs/reference/shipped-results.md`` the tables
of every outcome and variant, and the README's figure and example report (``docs/figures/``,
``docs/examples/``) are drawn again from the combined scenario's runs.
tests/test_reference_runs.py checks the first rows of each run against the SimPy engine and
tests/test_batch_equivalence.py compares the batch engine's distributions with them, so the
reference runs stay SimPy runs; ``--engine batch`` is for other uses.

    python results/regenerate.py [--branches 20000] [--engine simpy] [--executor process]
        [--workers 2]
    python results/regenerate.py --examples-only    # only the figure and the example report
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SEED = 20230301
# The pages whose generated sections come from the reference runs (tests/test_report.py checks
# them): the README's one row per scenario, and every outcome and variant in the docs.
PAGES = [("README.md", "--headline"), ("docs/reference/shipped-results.md",)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=20_000)
    parser.add_argument("--engine", choices=("simpy", "batch"), default="simpy")
    parser.add_argument("--executor", default="process")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--examples-only", action="store_true")
    args = parser.parse_args()
    sim = [sys.executable, "-m", "sim"]
    if args.examples_only:
        examples(sim)
        return
    for file in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = yaml.safe_load(file.read_text(encoding="utf-8"))
        for variant in [None, *scenario.get("variants", {})]:
            out = f"results/{scenario['name']}" + (f"__{variant}" if variant else "")
            command = [
                *sim, "run", str(file.relative_to(ROOT)), "-n", str(args.branches),
                "-s", str(SEED), "-o", out, "--executor", args.executor,
                "--workers", str(args.workers), "--engine", args.engine, "--quiet",
            ]  # fmt: skip
            if variant:
                command += ["--variant", variant]
            print(" ".join(command[2:]), flush=True)
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    for page, *how in PAGES:
        subprocess.run([*sim, "report", "results", "--readme", page, *how], cwd=ROOT, check=True)
    examples(sim)


COMBINED = "results/belarus_between_moscow_and_beijing"


def examples(sim: list[str]) -> None:
    """Draw the README's figure and write its example report from the committed runs."""
    (ROOT / "docs" / "figures").mkdir(exist_ok=True)
    (ROOT / "docs" / "examples").mkdir(exist_ok=True)
    figure = ["plot", COMBINED, "time_to_annexation", "-o", "docs/figures/time_to_annexation.png"]
    subprocess.run([*sim, *figure], cwd=ROOT, check=True)
    variants = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob(f"{COMBINED}__*"))
    page = "docs/examples/belarus_between_moscow_and_beijing.html"
    subprocess.run([*sim, "report", COMBINED, *variants, "--html", page], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
