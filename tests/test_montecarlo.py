"""Monte Carlo runs: the same rows whatever the executor, workers and chunk size.

The dask executor's tests are in test_scale.py, with the other tests of clusters and faults.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from _runs import same_rows

import sim.montecarlo.jobs
from sim.errors import UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.executors import SerialExecutor
from sim.montecarlo.jobs import Job, chunk_ranges, default_chunk_size, run_job
from sim.montecarlo.runner import run

SEED = 20230301
N = 120


@pytest.fixture
def serial(model: CompiledModel) -> pa.Table:
    return run(model, branches=N, seed=SEED).table


def test_rows_come_in_branch_order_with_the_run_seed(serial: pa.Table) -> None:
    assert serial.column("branch").to_pylist() == list(range(N))
    assert set(serial.column("seed").to_pylist()) == {SEED}


def test_a_run_is_reproducible(model: CompiledModel, serial: pa.Table) -> None:
    assert same_rows(run(model, branches=N, seed=SEED).table, serial)


@pytest.mark.parametrize("chunk_size", [1, 7, 50, 1000])
def test_chunk_size_does_not_change_the_rows(
    model: CompiledModel, serial: pa.Table, chunk_size: int
) -> None:
    table = run(model, branches=N, seed=SEED, chunk_size=chunk_size).table
    assert same_rows(table, serial)


@pytest.mark.parametrize("workers", [1, 2])
def test_process_pool_gives_the_serial_rows(
    model: CompiledModel, serial: pa.Table, workers: int
) -> None:
    table = run(model, branches=N, seed=SEED, executor="process", workers=workers, chunk_size=9)
    assert same_rows(table.table, serial)
    assert table.manifest["executor"] == "process"
    assert table.manifest["workers"] == workers


def test_different_seeds_give_different_rows(model: CompiledModel, serial: pa.Table) -> None:
    other = run(model, branches=N, seed=SEED + 1).table
    assert not np.array_equal(other.column("pressure"), serial.column("pressure"))


def test_a_job_run_anywhere_gives_the_same_rows(model: CompiledModel, serial: pa.Table) -> None:
    chunk = run_job(Job.for_model(model, SEED, 30, 47))
    assert same_rows(pa.Table.from_batches([chunk.rows]), serial.slice(30, 17))


def test_a_worker_compiles_a_scenario_once(
    model: CompiledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def counting(*args: object, **kwargs: object) -> CompiledModel:
        calls.append(args)
        return build_model(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim.montecarlo.jobs, "build_model", counting)
    monkeypatch.setattr(sim.montecarlo.jobs, "_models", type(sim.montecarlo.jobs._models)())
    for start in (0, 10, 20):
        run_job(Job.for_model(model, SEED, start, start + 10))
    assert len(calls) == 1


def test_the_serial_executor_runs_jobs_of_other_settings(model: CompiledModel) -> None:
    other = Job(model.source, model.file, "calm", (("pressure", "0.5"),), SEED, 0, 4)
    with SerialExecutor(model) as executor:
        [(job, chunk)] = list(executor.results([other]))
    assert job is other
    assert chunk.rows.column("boost").to_pylist() == [0.1] * 4
    assert chunk.rows.column("pressure").to_pylist() == [0.5] * 4


def test_variant_and_overrides_reach_the_rows(scenario: Path) -> None:
    table = run(scenario, branches=5, variant="calm", overrides=[("pressure", "0.25")]).table
    assert table.column("boost").to_pylist() == [0.1] * 5
    assert table.column("pressure").to_pylist() == [0.25] * 5


def test_probability_matches_the_bernoulli_parameter(model: CompiledModel) -> None:
    n = 2000
    estimate = run(model, branches=n, seed=SEED).summary["outcomes"]["heads"]["estimate"]
    assert abs(estimate - 0.3) <= 4 * math.sqrt(0.3 * 0.7 / n)


def test_progress_is_reported_at_the_start_and_after_every_chunk(model: CompiledModel) -> None:
    reports: list[tuple[int, int]] = []
    run(model, branches=25, chunk_size=10, progress=lambda d, t: reports.append((d, t)))
    assert reports == [(0, 25), (10, 25), (20, 25), (25, 25)]


def test_default_chunk_size_stays_between_32_and_1024() -> None:
    assert [default_chunk_size(n) for n in (1, 1000, 5000, 10**6)] == [32, 32, 157, 1024]


def test_chunk_ranges_cover_every_branch_once() -> None:
    assert list(chunk_ranges(10, 4)) == [(0, 4), (4, 8), (8, 10)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"branches": 0}, "branches must be at least 1, got 0"),
        ({"seed": -1}, "seed must be an integer from 0 to 2\\*\\*63 - 1"),
        ({"chunk_size": 0}, "chunk size must be at least 1, got 0"),
        ({"executor": "process", "workers": 0}, "workers must be at least 1, got 0"),
        ({"workers": 2}, "workers=2 needs the process or dask executor, not serial"),
        ({"executor": "threads"}, "unknown executor 'threads', expected one of serial, process"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "a scheduler address needs the dask executor"),
        ({"variant": "calm"}, "variant and overrides apply when compiling a scenario file"),
    ],
)
def test_bad_run_options_are_usage_errors(
    model: CompiledModel, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        run(model, branches=options.pop("branches", 10), **options)  # type: ignore[arg-type]


def test_process_executor_needs_the_scenario_text(model: CompiledModel) -> None:
    bare = dataclasses.replace(model, source="")
    with pytest.raises(UsageError, match="process executor sends the scenario text"):
        run(bare, branches=10, executor="process")
