"""Trajectories (``record``): exact samples, closed-form quantiles, series.parquet on disk."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from _engines import ENGINES, use_engine
from _models import model as _model
from _models import within
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.engine.common import SERIES
from sim.engine.simpy import run_branches
from sim.errors import UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.runner import resume, run
from sim.montecarlo.runner import run as _run

SEED = 5


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs on both engines (``run`` takes the one given)."""
    use_engine(monkeypatch, globals(), request.param)
    monkeypatch.setitem(globals(), "run", functools.partial(_run, engine=request.param))
    return str(request.param)


def model(body: str, **options: Any) -> CompiledModel:
    """A scenario of format 1.1 from its body (see ``_models.model``)."""
    return _model(body, version="1.1", **options)

DRIFT = """
state:
  x: {init: 0}
  up: {init: false}
processes:
  - {kind: periodic, name: drift, every: 1, set: {x: "x + 0.5", up: "x >= 1"}}
outcomes:
  - {kind: value, name: end, expr: x}
record: {every: 1, variables: [x, up], expressions: {twice_t: "2 * t"}}
"""


def test_a_deterministic_drift_has_exact_quantiles() -> None:
    result = run(model(DRIFT, time=", start: 2024-01-01"), branches=50, seed=SEED)
    series = result.summary["series"]
    assert list(series) == ["x", "up", "twice_t"]
    x = series["x"]
    assert x["t"] == [float(k) for k in range(11)]
    expected = [0.5 * k for k in range(11)]  # the sample at t = k sees the update at k
    for key in ("mean", "p5", "p25", "p50", "p75", "p95"):
        assert x[key] == expected, key
    assert series["up"]["p50"] == [0.0, 0.0, 0.0, 1.0, *[1.0] * 7]  # true/false as 1/0
    assert series["twice_t"]["mean"] == [2.0 * k for k in range(11)]
    assert x["stopped"] == [0] * 11
    assert x["date"][:3] == ["2024-01-01", "2024-01-31", "2024-03-02"]


def test_a_gaussian_random_walk_has_the_normal_quantiles() -> None:
    steps = 12
    body = "parameters:\n" + "".join(
        f"  z{i}: {{dist: {{kind: normal, mean: 0, sd: 1}}, assumption: a test}}\n"
        for i in range(1, steps + 1)
    )
    body += "state:\n  x: {init: 0}\nprocesses:\n" + "".join(
        f'  - {{kind: schedule, name: step{i}, at: {i}, set: {{x: "x + z{i}"}}}}\n'
        for i in range(1, steps + 1)
    )
    body += "outcomes:\n  - {kind: value, name: end, expr: x}\nrecord: {every: 3, variables: [x]}\n"
    n = 4000
    x = run(model(body, horizon=steps), branches=n, seed=SEED).summary["series"]["x"]
    assert x["t"] == [0.0, 3.0, 6.0, 9.0, 12.0]
    for k, t in enumerate(x["t"][1:], start=1):
        sd = math.sqrt(t)  # x(t) ~ N(0, t)
        assert within(x["mean"][k], 0.0, sd / math.sqrt(n))
        for key, p in (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)):
            q = stats.norm.ppf(p, scale=sd)
            se = math.sqrt(p * (1 - p) / n) / stats.norm.pdf(q, scale=sd)
            assert within(x[key][k], q, se), (t, key)


def test_a_branch_that_stopped_carries_its_last_values() -> None:
    m = model(DRIFT + "stop_when: x >= 2\n")
    got = run_branches(m, SEED, 0, 3)
    assert got["t_end"].tolist() == [4.0] * 3
    x = got[SERIES][0, 0]
    assert x.tolist() == [0.0, 0.5, 1.0, 1.5, *[2.0] * 7]
    assert got[SERIES][0, 2].tolist() == [0.0, 2.0, 4.0, 6.0, *[8.0] * 7]  # 2 t, t stuck at 4
    summary = run(m, branches=3, seed=SEED).summary["series"]["x"]
    assert summary["stopped"] == [0] * 5 + [3] * 6


def test_samples_see_every_change_at_their_time_and_none_after() -> None:
    got = run_branches(
        model(
            """
            state: {k: {init: 0}}
            processes:
              - {kind: schedule, name: s, at: [2, 2, 2.5, 10], set: {k: "k + 1"}}
            outcomes: [{kind: value, name: v, expr: k}]
            record: {every: 2, variables: [k]}
            """
        ),
        SEED,
        0,
        1,
    )
    assert got[SERIES][0, 0].tolist() == [0.0, 2.0, 3.0, 3.0, 3.0, 4.0]


def test_record_every_that_does_not_divide_the_horizon_stops_before_it() -> None:
    m = model(DRIFT.replace("every: 1, variables", "every: 3, variables"))
    assert m.record is not None and m.record.times == (0.0, 3.0, 6.0, 9.0)
    tenths = model(DRIFT.replace("every: 1, variables", "every: 0.1, variables"), horizon=3)
    assert tenths.record is not None and len(tenths.record.times) == 31
    assert tenths.record.times[-1] == 3.0  # 30 * 0.1 is a hair above 3 in floating point


# --- series.parquet ------------------------------------------------------------------------------

TINY = """\
sim: 1.1
name: walk
title: Walk
description: Shocks push a level up; the branch stops at 3.
time: {unit: month, horizon: 24, start: 2024-01-01}
parameters:
  pressure: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
state:
  level: {init: 0}
processes:
  - {kind: event, name: shock, rate: "0.2 + pressure * 0.3", set: {level: "level + 0.5"}}
outcomes:
  - {kind: count, name: shocks, process: shock}
record: {every: 1, variables: [level], expressions: {pressure_now: "pressure * t"}}
stop_when: level >= 3
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "walk.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_series_parquet_is_tidy_with_dates(scenario: Path, tmp_path: Path) -> None:
    result = run(scenario, branches=40, seed=SEED, out=tmp_path / "run")
    table = pq.read_table(tmp_path / "run" / "series.parquet")
    assert table.column_names == ["branch", "t", "variable", "value", "date"]
    assert table.num_rows == 40 * 2 * 25
    head = table.slice(0, 26).to_pylist()
    assert [r["variable"] for r in head] == ["level"] * 25 + ["pressure_now"]
    assert [r["t"] for r in head[:25]] == [float(k) for k in range(25)]
    assert str(head[12]["date"]) == "2024-12-31"  # 12 months of 365.25 / 12 days
    assert table.column("branch").to_pylist() == [b for b in range(40) for _ in range(50)]
    assert result.series.equals(table)
    in_memory = run(scenario, branches=40, seed=SEED)
    assert in_memory.series.equals(table)
    assert in_memory.summary == result.summary


def test_series_are_the_same_whatever_the_executor_and_chunks(
    scenario: Path, tmp_path: Path
) -> None:
    runs = {
        "serial": {"chunk_size": 7},
        "serial_big": {"chunk_size": 33},
        "process": {"executor": "process", "workers": 2, "chunk_size": 11},
    }
    for name, options in runs.items():
        run(scenario, branches=60, seed=SEED, out=tmp_path / name, **options)  # type: ignore[arg-type]
    for file in ("series.parquet", "summary.json", "branches.parquet"):
        first = (tmp_path / "serial" / file).read_bytes()
        for name in runs:
            assert (tmp_path / name / file).read_bytes() == first, (name, file)


def test_a_resumed_run_has_the_series_of_an_uninterrupted_one(
    scenario: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    run(scenario, branches=60, seed=SEED, out=whole, chunk_size=10)
    out = tmp_path / "cut"

    def interrupt(done: int, total: int) -> None:
        if done >= 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(scenario, branches=60, seed=SEED, out=out, chunk_size=10, progress=interrupt)
    assert (tmp_path / "cut.partial" / "chunks").is_dir()
    resume(out, executor="process", workers=2)
    for file in ("series.parquet", "summary.json", "branches.parquet"):
        assert (out / file).read_bytes() == (whole / file).read_bytes(), file


@pytest.mark.dask
def test_a_dask_run_gives_the_serial_series(scenario: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    run(scenario, branches=40, seed=SEED, out=tmp_path / "serial", chunk_size=8)
    run(scenario, branches=40, seed=SEED, out=tmp_path / "dask", executor="dask", workers=1,
        chunk_size=16)  # fmt: skip
    for file in ("series.parquet", "summary.json"):
        assert (tmp_path / "dask" / file).read_bytes() == (tmp_path / "serial" / file).read_bytes()


def test_a_run_without_record_has_no_series(tmp_path: Path) -> None:
    m = build_model(TINY.replace("record:", "# record:"), "plain.yaml")
    result = run(m, branches=5, seed=SEED, out=tmp_path / "plain")
    assert "series" not in result.summary
    assert not (tmp_path / "plain" / "series.parquet").exists()
    with pytest.raises(UsageError, match="no trajectories"):
        _ = result.series


# --- sim summary --series ------------------------------------------------------------------------


def test_sim_summary_prints_a_trajectory(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(scenario, branches=30, seed=SEED, out=out)
    runner = CliRunner()
    table = runner.invoke(app, ["summary", str(out), "--series", "level"])
    assert table.exit_code == 0, table.output
    assert "level over time" in table.stdout and "2024-12-31" in table.stdout
    as_json = json.loads(
        runner.invoke(app, ["summary", str(out), "--series", "level", "-f", "json"]).stdout
    )
    assert as_json["variable"] == "level" and len(as_json["p95"]) == 25
    csv = runner.invoke(app, ["summary", str(out), "--series", "level", "-f", "csv"]).stdout
    assert csv.splitlines()[0] == "variable,t,date,mean,p5,p25,p50,p75,p95,stopped"
    assert len(csv.splitlines()) == 26


def test_sim_summary_refuses_a_name_that_was_not_recorded(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(scenario, branches=5, seed=SEED, out=out)
    result = CliRunner().invoke(app, ["summary", str(out), "--series", "levl"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "--series levl: not recorded (did you mean 'level'?); recorded: level, pressure_now"
    )


def test_a_large_chunk_is_made_tidy_a_row_group_at_a_time(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch engine's chunks hold up to 131,072 branches: their tidy rows are made a
    # few branches at a time, so that gathering needs about one row group of memory.
    import sim.montecarlo.directory as directory

    whole = run(scenario, branches=60, seed=SEED, out=tmp_path / "whole").series
    made: list[int] = []
    batch = directory.series_batch

    def counted(model: object, start: int, values: object) -> object:
        out = batch(model, start, values)  # type: ignore[arg-type]
        made.append(out.num_rows)
        return out

    monkeypatch.setattr(directory, "SERIES_ROW_GROUP", 500)  # 10 branches of 50 samples
    monkeypatch.setattr(directory, "series_batch", counted)
    pieces = run(scenario, branches=60, seed=SEED, out=tmp_path / "pieces", chunk_size=60)
    assert made == [500] * 6
    assert pieces.series.equals(whole)


def test_the_batch_engine_cuts_chunks_to_the_trajectories_they_hold() -> None:
    from sim.montecarlo.jobs import BATCH_MAX_SAMPLES, chunk_size_for

    assert chunk_size_for("batch", 1_000_000) == 131_072
    assert chunk_size_for("batch", 1_000_000, 3 * 121) == BATCH_MAX_SAMPLES // 363 == 23_109
    assert chunk_size_for("batch", 1_000_000, 10**7) == 256  # never below the minimum
    assert chunk_size_for("simpy", 1_000_000, 3 * 121) == 1024
