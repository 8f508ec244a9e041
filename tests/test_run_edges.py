"""Runs at the edges: numbers too large to add up, floating-point noise, failing branches.

A summary says when its numbers cannot be summarised rather than printing a warning or an
unexplained blank; a rate that is negative only by rounding counts as zero while a real
negative one stops the run; ``sim trace`` shows a failing branch up to its error; a run
stopped by a model error leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cli import invoke
from _runs import write_tiny

import sim
from sim.errors import RunError
from sim.stats.summary import summarize_outcome

HEAD = """\
sim: 1
name: edge
title: Edge
description: A scenario at the edge of what floats hold.
time: {unit: month, horizon: HORIZON}
"""


def scenario(tmp_path: Path, body: str, horizon: float = 12) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(HEAD.replace("HORIZON", f"{horizon:g}") + body, encoding="utf-8")
    return path


# --- numbers that a float cannot add up ----------------------------------------------------------

HUGE = """\
parameters:
  sign: {dist: {kind: choice, values: [-1, 1]}, assumption: a test}
state:
  big: {init: 1.0e308}
  wide: {init: "sign * 1.79e308"}
outcomes:
  - {kind: value, name: huge, expr: big}
  - {kind: value, name: spread, expr: wide}
"""


def test_a_mean_larger_than_a_float_can_sum_is_still_estimated(tmp_path: Path) -> None:
    # Ten values of 1e308 add up to infinity; their mean is 1e308, and says so without
    # numpy's RuntimeWarning (which the test configuration turns into an error).
    result = sim.run(scenario(tmp_path, HUGE), branches=10, seed=1)
    huge = result.summary["outcomes"]["huge"]
    assert (huge["estimate"], huge["ci_low"], huge["ci_high"], huge["sd"]) == (1e308,) * 3 + (0.0,)
    assert "note" not in huge


def test_numbers_that_cannot_be_summarised_say_so(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sim.run(scenario(tmp_path, HUGE), branches=20, seed=1, out=out)
    spread = json.loads((out / "summary.json").read_text())["outcomes"]["spread"]
    # The sd of values of +-1.79e308 is beyond the largest float; their mean and its
    # interval are not.
    assert spread["sd"] is None
    assert spread["ci_low"] < spread["estimate"] < spread["ci_high"]
    assert spread["note"].startswith("sd overflow: the values reach 1.79e+308")
    shown = invoke("summary", out)
    assert shown.exit_code == 0
    assert "spread: sd overflow: the values reach 1.79e+308" in shown.stdout


def test_infinite_values_are_counted_and_said() -> None:
    entry = summarize_outcome("value", np.array([1.0, math.inf, 2.0, -math.inf]))
    assert entry["estimate"] is None
    assert entry["note"] == "2 of 4 values are infinite; the mean, sd and interval are undefined"


def test_a_summary_of_ordinary_values_is_unchanged() -> None:
    values = np.random.default_rng(1).normal(size=1000)
    entry = summarize_outcome("value", values)
    assert entry["estimate"] == float(np.mean(values))
    assert entry["sd"] == float(np.std(values, ddof=1))
    assert "note" not in entry


# --- floating-point noise ------------------------------------------------------------------------

DRIFT = """\
state:
  tension: {init: 0}
  crises: {init: 0}
processes:
  - {kind: periodic, name: drift, every: 1, set: {tension: "tension + 0.02"}}
  - {kind: event, name: crisis, rate: "0.5 - tension", set: {crises: "crises + 1"}}
outcomes:
  - {kind: value, name: crises, expr: crises}
"""


ENGINES = pytest.mark.parametrize("engine", ["simpy", "batch"])


@ENGINES
def test_a_rate_negative_only_by_rounding_counts_as_zero(tmp_path: Path, engine: str) -> None:
    # 25 steps of 0.02 make 0.5000000000000001, so the rate is -1.1e-16 at t = 25.
    result = sim.run(scenario(tmp_path, DRIFT, horizon=25), branches=20, seed=1, engine=engine)
    assert result.summary["outcomes"]["crises"]["n"] == 20


@ENGINES
def test_a_really_negative_rate_still_stops_the_run(tmp_path: Path, engine: str) -> None:
    with pytest.raises(RunError, match=r"a rate must be finite and >= 0, got -0.02"):
        sim.run(scenario(tmp_path, DRIFT, horizon=26), branches=5, seed=1, engine=engine)


@ENGINES
def test_a_probability_above_one_only_by_rounding_counts_as_one(
    tmp_path: Path, engine: str
) -> None:
    body = DRIFT.replace(
        "outcomes:",
        '  - {kind: trigger, name: boost, when: "crises >= 0", delay: 24, chance: "0.52 + tension",'
        " set: {crises: 99}}\noutcomes:",
    )
    # At t = 24, 0.52 + tension is 1.0000000000000002.
    path = scenario(tmp_path, body.replace("0.5 - tension", "0"), horizon=25)
    result = sim.run(path, branches=5, engine=engine)
    assert result.summary["outcomes"]["crises"]["estimate"] == 99


# --- sim trace of a failing branch ---------------------------------------------------------------

FAILING = """\
state:
  x: {init: 2}
  y: {init: 0}
processes:
  - {kind: periodic, name: fall, every: 1, set: {x: "x - 1", y: "log(x)"}}
outcomes:
  - {kind: value, name: y, expr: y}
"""


def test_trace_prints_the_timeline_up_to_the_run_error_then_the_error(tmp_path: Path) -> None:
    result = invoke("trace", scenario(tmp_path, FAILING), "--branch", 0)
    assert result.exit_code == 2
    assert "fall" in result.stdout and "periodic update" in result.stdout
    # set evaluates on the values before: t = 1 and 2 go through, t = 3 takes log(0)
    assert "x: 2 -> 1" in result.stdout and "x: 1 -> 0" in result.stdout
    assert result.stderr.count("\n") == 1
    assert "processes[0].set: math domain error (branch 0, seed 0, t=3)" in result.stderr


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_trace_in_other_formats_also_shows_the_branch_up_to_the_error(
    tmp_path: Path, fmt: str
) -> None:
    result = invoke("trace", scenario(tmp_path, FAILING), "--branch", 0, "--format", fmt)
    assert result.exit_code == 2
    assert "math domain error" in result.stderr
    if fmt == "json":
        payload = json.loads(result.stdout)
        assert payload["error"].endswith("math domain error (branch 0, seed 0, t=3)")
        assert payload["row"] is None
        assert [e["time"] for e in payload["events"] if e["process"] == "fall"] == [1.0, 2.0]
    else:
        assert result.stdout.startswith("time,process,what,name,before,after")
        assert "fall" in result.stdout


# --- the process executor in a script without the __main__ guard ---------------------------------

UNGUARDED = """\
import sim

result = sim.run({scenario!r}, branches=40, executor="process", workers=1)
print(result.summary["branches"])
"""


def test_a_script_without_the_main_guard_is_told_at_once_what_to_do(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(scenario=str(write_tiny(tmp_path))), encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300,
        cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert 'if __name__ == "__main__":' in last, done.stderr
    assert "died" not in last
    assert time.monotonic() - started < 120  # no restarts: one failed start is enough


# --- an interrupt that lands in a finaliser ----------------------------------------------------


class _Finaliser:
    """An object whose finaliser is running when the signal comes, as dask's futures' may."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        os.kill(os.getpid(), self.signum)
        time.sleep(0.05)  # the handler runs here, and Python ignores what it raises


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("signum", "code", "word"), [(2, 130, "interrupted"), (15, 143, "terminated")]
)
def test_an_interrupt_swallowed_by_a_finaliser_still_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, word: str
) -> None:
    import sim.montecarlo.jobs
    from sim.engine.simpy import run_branches

    def kernel(model: Any, seed: int, start: int, stop: int) -> Any:
        if start == 16:
            _Finaliser(signum)  # dropped at once: its finaliser runs, the signal lands there
        return run_branches(model, seed, start, stop)

    monkeypatch.setattr(sim.montecarlo.jobs, "run_branches", kernel)
    out = tmp_path / "run"
    result = invoke("run", write_tiny(tmp_path), "-n", 64, "--chunk-size", 8, "-o", out)
    assert result.exit_code == code, result.output
    assert f"{word}: the incomplete run is in {out}.partial" in result.stderr
    assert not out.exists()
