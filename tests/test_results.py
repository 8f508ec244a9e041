"""Run directories: their layout, atomic writing, reading back, and resuming."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _runs import same_rows

import sim.montecarlo.directory
import sim.montecarlo.jobs
import sim.montecarlo.results
from sim.engine.simpy import run_branches
from sim.errors import RunError, UsageError
from sim.model.compiled import CompiledModel
from sim.montecarlo.directory import RunDirectory
from sim.montecarlo.jobs import Chunk
from sim.montecarlo.results import (
    MemorySink,
    branch_schema,
    open_run,
    partial_path,
    summary_records,
)
from sim.montecarlo.runner import resume, run

SEED = 7
N = 100
CHUNK = 16
FILES = {"branches.parquet", "summary.json", "manifest.json"}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "results" / "tiny"


def partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def stop_after(chunks: int) -> Callable[[int, int], None]:
    """A progress callback that interrupts the run once ``chunks`` chunks are written."""

    def progress(done: int, _total: int) -> None:
        if done >= chunks * CHUNK:
            raise KeyboardInterrupt

    return progress


def test_a_run_directory_holds_exactly_the_three_files(model: CompiledModel, out: Path) -> None:
    run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK)
    assert {p.name for p in out.iterdir()} == FILES
    assert [p.name for p in out.parent.iterdir()] == ["tiny"]


def test_branch_columns_follow_the_model_with_their_types(model: CompiledModel, out: Path) -> None:
    run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK)
    schema = pq.read_schema(out / "branches.parquet")
    assert schema.names == [c.name for c in model.columns]
    assert schema.names[:3] == ["branch", "seed", "t_end"]
    assert [str(schema.field(n).type) for n in schema.names] == [
        "int64", "int64", "double",  # branch, seed, t_end
        "double", "double", "bool",  # pressure, boost, coin
        "bool", "bool", "double", "double",  # finished, heads, time_to_finish, final_level
    ]  # fmt: skip


def test_branches_parquet_has_row_groups_of_a_fixed_size(
    model: CompiledModel, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim.montecarlo.directory, "ROW_GROUP", 30)
    run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK)
    metadata = pq.ParquetFile(out / "branches.parquet").metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [30, 30, 30, 10]


@pytest.mark.parametrize("chunk_size", [1, 7, 33])
def test_branches_parquet_is_the_same_file_whatever_the_chunk_size(
    model: CompiledModel, tmp_path: Path, out: Path, chunk_size: int
) -> None:
    run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK)
    other = tmp_path / "other"
    run(model, branches=N, seed=SEED, out=other, chunk_size=chunk_size)
    for name in ("branches.parquet", "summary.json"):
        assert (other / name).read_bytes() == (out / name).read_bytes()


def test_the_directory_holds_the_in_memory_rows_and_summary(
    model: CompiledModel, out: Path
) -> None:
    written = run(model, branches=N, seed=SEED, out=out, executor="process", workers=2)
    memory = run(model, branches=N, seed=SEED)
    assert memory.directory is None
    assert same_rows(pq.read_table(out / "branches.parquet"), memory.table)
    assert read_json(out / "summary.json") == memory.summary == written.summary


def test_the_manifest_records_the_run(scenario: Path, out: Path) -> None:
    run(scenario, branches=N, seed=SEED, out=out, variant="calm", overrides={"pressure": "0.5"})
    manifest = read_json(out / "manifest.json")
    assert manifest["status"] == "complete"
    assert manifest["scenario"] == "tiny"
    assert manifest["file"] == str(scenario)
    assert manifest["sha256"] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert (manifest["seed"], manifest["branches"]) == (SEED, N)
    assert (manifest["variant"], manifest["overrides"]) == ("calm", {"pressure": "0.5"})
    assert (manifest["executor"], manifest["workers"], manifest["chunk_size"]) == ("serial", 1, 32)
    assert manifest["started_at"] <= manifest["finished_at"]  # type: ignore[operator]
    assert isinstance(manifest["wall_seconds"], float)
    for key in ("sim_version", "python", "numpy", "simpy", "pyarrow"):
        assert isinstance(manifest[key], str)


def test_the_summary_names_the_run_and_every_outcome(model: CompiledModel, out: Path) -> None:
    run(model, branches=N, seed=SEED, out=out)
    summary = read_json(out / "summary.json")
    assert list(summary) == ["scenario", "variant", "seed", "branches", "time_unit", "outcomes"]
    assert (summary["scenario"], summary["variant"], summary["seed"]) == ("tiny", None, SEED)
    outcomes = summary["outcomes"]
    assert isinstance(outcomes, dict)
    assert list(outcomes) == ["finished", "heads", "time_to_finish", "final_level"]
    for entry in outcomes.values():
        assert {"kind", "n", "estimate", "ci_low", "ci_high"} <= set(entry)


def test_open_run_reads_a_run_back(model: CompiledModel, out: Path) -> None:
    written = run(model, branches=N, seed=SEED, out=out)
    opened = open_run(out)
    assert opened.directory == out
    assert opened.manifest == written.manifest
    assert opened.summary == written.summary
    assert same_rows(opened.table, run(model, branches=N, seed=SEED).table)


def test_to_pandas_gives_one_row_per_branch(model: CompiledModel) -> None:
    frame = run(model, branches=10, seed=SEED).to_pandas()
    assert list(frame.columns) == [c.name for c in model.columns]
    assert len(frame) == 10


def test_a_run_without_out_writes_nothing(
    model: CompiledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run(model, branches=10)
    assert list(work.iterdir()) == []


def test_an_interrupted_run_leaves_only_an_incomplete_partial(
    model: CompiledModel, out: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, out=out, chunk_size=CHUNK, progress=stop_after(2))
    assert not out.exists()
    assert read_json(partial(out) / "manifest.json")["status"] == "incomplete"
    assert not (partial(out) / "summary.json").exists()


def test_an_interrupted_process_run_leaves_an_incomplete_partial(
    model: CompiledModel, out: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(
            model, branches=N, out=out, chunk_size=CHUNK, executor="process", workers=2,
            progress=stop_after(1),
        )  # fmt: skip
    assert not out.exists()
    assert read_json(partial(out) / "manifest.json")["status"] == "incomplete"


def test_a_failing_branch_leaves_neither_a_run_nor_a_partial(
    model: CompiledModel, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def failing(m: CompiledModel, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
        if start >= 3 * CHUNK:
            raise RunError(f"branch {start}: log of a negative number")
        return run_branches(m, seed, start, stop)

    monkeypatch.setattr(sim.montecarlo.jobs, "run_branches", failing)
    with pytest.raises(RunError, match="log of a negative number"):
        run(model, branches=N, out=out, chunk_size=CHUNK)
    # a model error would fail again on --resume: its partial directory is of no use
    assert not out.exists()
    assert not partial(out).exists()


def test_an_earlier_run_is_replaced_only_on_success(model: CompiledModel, out: Path) -> None:
    run(model, branches=N, seed=1, out=out)
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, seed=2, out=out, chunk_size=CHUNK, progress=stop_after(1))
    assert read_json(out / "manifest.json")["seed"] == 1
    # the interrupted run's work is kept for --resume, never silently discarded
    with pytest.raises(UsageError, match=r"an interrupted run is there; finish it with 'sim run"):
        run(model, branches=N, seed=3, out=out)
    shutil.rmtree(partial_path(out))
    run(model, branches=N, seed=3, out=out)
    assert read_json(out / "manifest.json")["seed"] == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny"]


def test_a_result_of_another_kind_is_never_replaced(model: CompiledModel, out: Path) -> None:
    out.mkdir(parents=True)
    (out / "manifest.json").write_text('{"kind": "sweep", "status": "complete"}')
    with pytest.raises(UsageError, match="holds a sweep, which a run does not replace"):
        run(model, branches=10, out=out)
    assert (out / "manifest.json").is_file()


def test_a_directory_that_is_not_a_run_is_never_replaced(model: CompiledModel, out: Path) -> None:
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not a run directory"):
        run(model, branches=10, out=out)
    assert (out / "notes.txt").read_text() == "mine"


def test_resume_runs_the_missing_chunks_into_identical_files(
    model: CompiledModel, tmp_path: Path, out: Path
) -> None:
    whole = tmp_path / "whole"
    run(model, branches=N, seed=SEED, out=whole, chunk_size=CHUNK)
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK, progress=stop_after(3))
    reports: list[int] = []
    resume(out, executor="process", workers=2, progress=lambda done, _: reports.append(done))
    assert reports[0] == 3 * CHUNK
    for name in ("branches.parquet", "summary.json"):
        assert (out / name).read_bytes() == (whole / name).read_bytes()
    assert not partial(out).exists()


def test_resume_accepts_the_partial_directory(model: CompiledModel, out: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, out=out, chunk_size=CHUNK, progress=stop_after(1))
    assert resume(partial(out)).directory == out


def test_resume_refuses_a_complete_run(model: CompiledModel, out: Path) -> None:
    run(model, branches=10, out=out)
    with pytest.raises(UsageError, match="already complete; nothing to resume"):
        resume(out)


def test_resume_refuses_a_run_started_by_another_sim_version(
    model: CompiledModel, out: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, out=out, chunk_size=CHUNK, progress=stop_after(1))
    path = partial(out) / "manifest.json"
    path.write_text(json.dumps(read_json(path) | {"sim_version": "0.0.1"}))
    with pytest.raises(UsageError, match=r"started with sim 0\.0\.1"):
        resume(out)


def test_open_run_refuses_an_incomplete_run(model: CompiledModel, out: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(model, branches=N, out=out, chunk_size=CHUNK, progress=stop_after(1))
    with pytest.raises(UsageError, match=r"an incomplete run is in .*tiny\.partial"):
        open_run(out)
    with pytest.raises(UsageError, match=r"the run is incomplete \(manifest status 'incomplete'\)"):
        open_run(partial(out))


def test_open_run_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a run directory"):
        open_run(tmp_path)


def test_open_run_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such run directory"):
        open_run(tmp_path / "nothing")


def test_chunks_arriving_out_of_order_are_written_in_branch_order(
    model: CompiledModel, out: Path
) -> None:
    whole = run(model, branches=N, seed=SEED)
    table = whole.table.combine_chunks()
    directory = RunDirectory.create(out, whole.manifest | {"status": "incomplete"}, model.source)
    memory = MemorySink(branch_schema(model))
    for a, b in [(80, 100), (0, 40), (40, 80)]:
        chunk = Chunk(table.slice(a, b - a).to_batches()[0])
        directory.add(a, b, chunk)
        memory.add(a, b, chunk)
    directory.finish(model, 0.0, executor="serial", workers=1)
    assert pq.read_table(out / "branches.parquet").column("branch").to_pylist() == list(range(N))
    assert memory.table().column("branch").to_pylist() == list(range(N))


def test_summary_records_flatten_nested_fields() -> None:
    summary = {"outcomes": {"x": {"kind": "time_to", "estimate": 2.0, "at": {"low": 1.0}}}}
    assert summary_records(summary) == [
        {"outcome": "x", "kind": "time_to", "estimate": 2.0, "at_low": 1.0}
    ]


def test_an_in_memory_result_needs_no_directory(model: CompiledModel) -> None:
    result = run(model, branches=3)
    assert isinstance(result.table, pa.Table)
    assert result.manifest["status"] == "complete"
