"""The batch engine in runs: reproducible rows, replays, the command line and the API."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from _models import model
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.engine.batch import UnsupportedError, check_supported, run_branch, run_branches
from sim.engine.common import TraceRecord
from sim.errors import UsageError
from sim.model.compile import build_model, load_model

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "engine_model.yaml"
ANNEXATION = ROOT / "scenarios" / "belarus_annexation.yaml"
runner = CliRunner()

RANDOM = """\
    parameters:
      r: {dist: {kind: uniform, low: 0.2, high: 1}, assumption: test}
      q: {dist: {kind: gamma, shape: 2, scale: 0.5}, assumption: test}
    state: {x: {init: 0, max: 5}, done: {init: 0}, fired: {init: false}}
    processes:
      - {kind: event, name: up, rate: r, set: {x: x + 1}}
      - {kind: trigger, name: tr, when: x >= 2, delay: {kind: exponential, mean: 1},
         chance: 0.7, cancel_if_false: true, set: {fired: true}}
      - kind: flow
        name: line
        arrivals: {rate: q}
        stages:
          - {name: s, capacity: 2, duration: {kind: exponential, mean: 0.5}, loss: 0.2}
          - {name: u, capacity: 1, duration: 0.3}
        on_complete: {done: done + 1}
    outcomes:
      - {kind: time_to, name: t_fired, when: fired}
      - {kind: value, name: done, expr: done}
      - {kind: flow, name: wait, flow: line, stat: mean_wait}
      - {kind: flow, name: queue, flow: line, stage: u, stat: max_queue}
    """


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def test_rows_do_not_depend_on_the_chunk_a_branch_runs_in() -> None:
    m = model(RANDOM, horizon=24)
    whole = run_branches(m, 7, 0, 300)
    pieces = [run_branches(m, 7, a, b) for a, b in ((0, 1), (1, 120), (120, 300))]
    for name, column in whole.items():
        assert _same(column, np.concatenate([p[name] for p in pieces])), name


def test_a_branch_replayed_alone_with_its_trace_equals_its_row() -> None:
    m = model(RANDOM, horizon=24)
    rows = run_branches(m, 7, 0, 40)
    for b in (0, 17, 39):
        records: list[TraceRecord] = []
        alone = run_branch(m, 7, b, records.append)
        assert alone.t_end == rows["t_end"][b]
        assert alone.parameters == (rows["r"][b], rows["q"][b])
        names = ("t_fired", "done", "wait", "queue")
        assert _same(np.array(alone.outcomes, dtype=float), np.array([rows[n][b] for n in names]))
        assert records[0].process == "parameters"
        assert any(r.process == "line" for r in records)


def test_other_seeds_give_other_rows() -> None:
    m = model(RANDOM, horizon=24)
    assert not np.array_equal(run_branches(m, 1, 0, 20)["r"], run_branches(m, 2, 0, 20)["r"])


def test_run_with_the_batch_engine_records_it_and_trace_replays_its_rows(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", str(BENCH), "-n", "120", "-s", "11", "-o", str(out), "-q", "--engine", "batch"]
    ran = runner.invoke(app, args)
    assert ran.exit_code == 0, ran.output
    assert json.loads((out / "manifest.json").read_text())["engine"] == "batch"
    rows = pq.read_table(out / "branches.parquet").to_pylist()
    traced = runner.invoke(
        app,
        ["trace", str(BENCH), "--branch", "101", "-s", "11", "-f", "json", "--engine", "batch"],
    )
    assert traced.exit_code == 0, traced.output
    payload = json.loads(traced.output)
    assert payload["t_end"] == rows[101]["t_end"]
    for name, value in payload["row"].items():
        expected = rows[101][name]
        if isinstance(expected, float) and math.isnan(expected):
            assert value is None
        else:
            assert value == expected, name


def test_the_python_api_takes_the_engine() -> None:
    result = sim.run(BENCH, branches=200, seed=3, engine="batch")
    assert result.manifest["engine"] == "batch"
    assert result.table is not None and result.table.num_rows == 200
    simpy = sim.run(BENCH, branches=50, seed=3)
    assert simpy.manifest["engine"] == "simpy"


def test_sweep_compare_and_sensitivity_run_on_the_batch_engine(tmp_path: Path) -> None:
    swept = sim.sweep(
        ANNEXATION, sim.Grid({"integration_step_rate": [0.0, 2.0]}), branches=300, engine="batch",
        out=tmp_path / "sweep",
    )  # fmt: skip
    assert swept.manifest["engine"] == "batch"
    compared = sim.compare_variants(ANNEXATION, "ukraine_attacks", branches=300, engine="batch")
    assert compared.to_pandas().shape[0] > 0
    indices = sim.sensitivity(
        ANNEXATION, method="morris", n=2, branches=20, engine="batch", out=tmp_path / "sens"
    )
    assert indices.manifest["engine"] == "batch"


def test_an_unknown_engine_is_one_line_and_exit_2() -> None:
    result = runner.invoke(app, ["run", str(BENCH), "-n", "10", "--engine", "fast"])
    assert result.exit_code == 2
    with pytest.raises(UsageError, match="unknown engine"):
        sim.run(BENCH, branches=10, engine="fast")


def test_a_feature_the_batch_engine_does_not_know_is_refused_by_name() -> None:
    m = load_model(BENCH)
    flow = m.processes[3]
    stage = flow.stages[1]  # type: ignore[union-attr]
    blind = dataclasses.replace(stage.duration, dist=None)
    changed = dataclasses.replace(
        flow,  # type: ignore[arg-type]
        stages=(flow.stages[0], dataclasses.replace(stage, duration=blind)),  # type: ignore[union-attr]
    )
    bad = dataclasses.replace(m, processes=(*m.processes[:3], changed))
    with pytest.raises(
        UnsupportedError,
        match=r"engine_model\.yaml:\d+:\d+: processes\[3\]\.stages\[1\]\.duration: the batch "
        r"engine cannot run a distribution it cannot draw from yet; use --engine simpy",
    ):
        check_supported(bad)


def test_a_draw_whose_fields_are_expressions_runs_on_the_batch_engine() -> None:
    head = "sim: 1.1\nname: test\ntitle: Test\ndescription: A test.\n"
    head += "time: {unit: month, horizon: 10}\n"
    m = build_model(
        head
        + """\
parameters:
  size: {value: 2.0, assumption: test}
state: {x: {init: 0}}
processes:
  - kind: event
    name: jump
    rate: 1
    draws: {step: {kind: exponential, mean: "size"}}
    set: {x: "x + step"}
outcomes:
  - {kind: value, name: x, expr: x}
""",
        "test.yaml",
    )
    check_supported(m)
    x = sim.run(m, branches=2000, seed=1, engine="batch").table.column("x").to_numpy()
    # a compound Poisson sum: 10 jumps expected, each Exp(mean 2): mean 20, variance 10 * 8
    assert abs(x.mean() - 20.0) <= 4 * np.sqrt(80 / x.size)


def test_distributions_whose_fields_are_expressions_run_on_the_batch_engine() -> None:
    # a parameter of another's value and a delay that reads the state, against closed forms
    m = model(
        """\
    parameters:
      rate: {dist: {kind: uniform, low: 1, high: 3}, assumption: test}
      wait: {dist: {kind: exponential, mean: "1 / rate"}, assumption: test}
    state: {level: {init: 2}, fired: {init: false}}
    processes:
      - {kind: trigger, name: tr, when: "true", delay: {kind: exponential, mean: "level"},
         set: {fired: true}}
    outcomes:
      - {kind: time_to, name: fired_at, when: fired}
    """,
        horizon=1000,
        version="1.1",
    )
    rows = run_branches(m, 3, 0, 4000)
    u = np.exp(-rows["wait"] * rows["rate"])  # uniform given the rate
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 4000)
    assert abs(np.nanmean(rows["fired_at"]) - 2.0) < 4 * 2.0 / math.sqrt(4000)


@pytest.mark.parametrize("window", [1, 7, 64])
def test_rows_do_not_depend_on_the_window_of_lanes(window: int) -> None:
    # a small window drops finished branches and starts waiting ones many times over
    m = model(RANDOM, horizon=24)
    whole = run_branches(m, 7, 0, 300)
    windowed = run_branches(m, 7, 0, 300, window=window)
    for name, column in whole.items():
        assert _same(column, windowed[name]), name


def test_one_constant_chooses_the_default_engine_everywhere() -> None:
    import inspect

    from sim.analysis import compare, points, sensitivity, sweep
    from sim.cli._options import engine_name
    from sim.engine import DEFAULT_ENGINE, ENGINES
    from sim.montecarlo import jobs, runner

    assert DEFAULT_ENGINE in ENGINES
    assert engine_name(None) == DEFAULT_ENGINE
    functions = [
        runner.run, sweep.sweep, sensitivity.sensitivity, compare.compare_variants,
        points.run_settings, points.stream_settings, jobs.chunk_batch, jobs.Job.for_model,
    ]  # fmt: skip
    for function in functions:
        default = inspect.signature(function).parameters["engine"].default
        assert default == DEFAULT_ENGINE, function
    assert jobs.Job.__dataclass_fields__["engine"].default == DEFAULT_ENGINE


def test_branches_that_stop_at_once_leave_their_lanes_to_the_waiting_ones() -> None:
    # every branch of the first window stops at t = 0; the chunk's other branches still run
    m = model(RANDOM + "stop_when: r < 2\n", horizon=24)
    rows = run_branches(m, 7, 0, 50, window=4)
    assert np.all(rows["t_end"] == 0.0)
    assert np.array_equal(rows["r"], run_branches(m, 7, 0, 50)["r"])
    assert np.all(rows["r"] > 0)


def test_keys_made_in_blocks_are_those_made_at_once() -> None:
    from sim.engine.batch import streams

    n = 3 * streams._KEY_BLOCK + 17  # whole blocks and a part of one
    branches = np.arange(n, dtype=np.int64) % 1000 + 2**40
    ids = np.arange(n, dtype=np.uint64) % 7
    blocked = streams.stream_keys(11, branches, ids)
    words = streams.philox4x32(
        np.zeros(n, dtype=np.uint64), ids, branches.astype(np.uint64) & streams._LOW,
        branches.astype(np.uint64) >> streams._SHIFT, streams.seed_key(11),
    )  # fmt: skip
    assert np.array_equal(blocked, (words[0] << streams._SHIFT) | words[1])


@pytest.mark.parametrize("engine", ["simpy", "batch"])
def test_rows_name_their_branch_and_seed(engine: str, tmp_path: Path) -> None:
    # a count outcome (an int64 column, like branch and seed) once reset them to zeros
    file = tmp_path / "counts.yaml"
    file.write_text(
        "sim: 1.1\nname: counts\ntitle: Counts\ndescription: A count.\n"
        "time: {unit: month, horizon: 12}\n"
        "parameters:\n  r: {dist: {kind: uniform, low: 0.1, high: 1}, assumption: a test}\n"
        "state:\n  n: {init: 0}\n"
        "processes:\n  - {kind: event, name: tick, rate: r, set: {n: n + 1}}\n"
        "outcomes:\n  - {kind: count, name: ticks, process: tick}\n",
        encoding="utf-8",
    )
    result = sim.run(file, branches=300, seed=9, chunk_size=128, engine=engine)
    assert result.table.column("branch").to_pylist() == list(range(300))
    assert set(result.table.column("seed").to_pylist()) == {9}
