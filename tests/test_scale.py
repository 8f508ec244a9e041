"""Scaling out: dask clusters, bounded memory, faults (killed workers, signals) and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from _runs import same_rows, write_tiny

import sim.montecarlo.cluster
from sim.errors import UsageError
from sim.model.compile import load_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.cluster import DaskExecutor
from sim.montecarlo.executors import IN_FLIGHT_PER_WORKER, ExecutorError, ProcessExecutor
from sim.montecarlo.jobs import Job, chunk_ranges
from sim.montecarlo.runner import resume, run

SEED = 20230301
N = 600
CHUNK = 20
NO_DASK = "dask[distributed] is not installed (pip install 'sim[dask]'); CI installs it"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    return load_model(write_tiny(tmp_path_factory.mktemp("scale")))


@pytest.fixture(scope="module")
def serial(model: CompiledModel) -> pa.Table:
    return run(model, branches=N, seed=SEED).table


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A dask cluster of two worker processes on 127.0.0.1, as on a real machine."""
    distributed = pytest.importorskip("distributed", reason=NO_DASK)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as local:  # fmt: skip
        yield local


def spawned_children() -> set[int]:
    """The process ids of this process's descendants started by multiprocessing's spawn."""
    psutil = pytest.importorskip("psutil", reason=NO_DASK)
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


# --- the same rows everywhere --------------------------------------------------------------------


@pytest.mark.dask
def test_a_local_dask_cluster_of_one_worker_gives_the_serial_rows_and_closes(
    model: CompiledModel, serial: pa.Table
) -> None:
    pytest.importorskip("distributed", reason=NO_DASK)
    before = spawned_children()
    result = run(model, branches=N, seed=SEED, executor="dask", workers=1, chunk_size=CHUNK)
    assert same_rows(result.table, serial)
    assert (result.manifest["executor"], result.manifest["workers"]) == ("dask", 1)
    assert spawned_children() <= before


@pytest.mark.dask
def test_a_dask_cluster_of_two_workers_gives_the_serial_and_process_rows(
    model: CompiledModel, serial: pa.Table, cluster: Any
) -> None:
    on_dask = run(
        model, branches=N, seed=SEED, executor="dask", scheduler=cluster.scheduler_address,
        chunk_size=CHUNK,
    )  # fmt: skip
    on_processes = run(model, branches=N, seed=SEED, executor="process", workers=2, chunk_size=7)
    assert on_dask.manifest["workers"] == 2
    assert same_rows(on_dask.table, serial)
    assert same_rows(on_processes.table, serial)


@pytest.mark.dask
def test_a_run_to_a_target_ends_at_the_same_count_on_dask(
    model: CompiledModel, cluster: Any
) -> None:
    target = {"branches": 200, "seed": SEED, "target_ci": 0.03}
    serial = run(model, **target)  # type: ignore[arg-type]
    on_dask = run(model, executor="dask", scheduler=cluster.scheduler_address, **target)  # type: ignore[arg-type]
    assert on_dask.manifest["rounds"] == serial.manifest["rounds"]
    assert same_rows(on_dask.table, serial.table)


# --- bounded memory ------------------------------------------------------------------------------


def counting(jobs: list[Job]) -> tuple[Iterator[Job], Callable[[], int]]:
    """The jobs as a lazy stream, and a function telling how many have been taken from it."""
    taken = 0

    def stream() -> Iterator[Job]:
        nonlocal taken
        for job in jobs:
            taken += 1
            yield job

    return stream(), lambda: taken


def assert_few_in_flight(executor: ProcessExecutor | DaskExecutor, model: CompiledModel) -> None:
    """Run 30 chunks on ``executor``; it never takes more than its window ahead of results."""
    jobs = [Job.for_model(model, SEED, a, b) for a, b in chunk_ranges(30 * CHUNK, CHUNK)]
    stream, taken = counting(jobs)
    window = IN_FLIGHT_PER_WORKER * executor.workers
    most, received = 0, 0
    with executor:
        for _job, _batch in executor.results(stream):
            received += 1
            most = max(most, taken() - received)
    assert received == len(jobs)
    assert most <= window


def test_the_process_executor_keeps_only_a_few_chunks_in_flight(model: CompiledModel) -> None:
    assert_few_in_flight(ProcessExecutor(2), model)


@pytest.mark.dask
def test_the_dask_executor_keeps_only_a_few_chunks_in_flight(
    model: CompiledModel, cluster: Any
) -> None:
    assert_few_in_flight(DaskExecutor(scheduler=cluster.scheduler_address), model)


def test_chunks_go_to_disk_as_they_arrive(model: CompiledModel, tmp_path: Path) -> None:
    out = tmp_path / "run"
    chunks = tmp_path / "run.partial" / "chunks"
    seen: list[tuple[int, int]] = []

    def progress(done: int, _total: int) -> None:
        written = sum(int(p.stem.split("-")[1]) - int(p.stem.split("-")[0]) for p in
                      chunks.glob("*.parquet"))  # fmt: skip
        seen.append((done, written))

    run(model, branches=N, seed=SEED, out=out, chunk_size=CHUNK, progress=progress)
    assert seen == [(done, done) for done in range(0, N + 1, CHUNK)]


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.dask
def test_a_killed_dask_worker_costs_only_its_chunks(model: CompiledModel, cluster: Any) -> None:
    distributed = pytest.importorskip("distributed", reason=NO_DASK)
    branches, chunk = 3000, 100  # chunks of some milliseconds, so that a worker is caught busy
    killed: list[tuple[str, int]] = []
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)

        def kill_a_busy_worker(done: int, _total: int) -> None:
            busy = [(a, len(keys)) for a, keys in client.processing().items() if keys]
            if done > 0 and busy and not killed:
                os.kill(pids[busy[0][0]], signal.SIGKILL)
                killed.append(busy[0])

        result = run(
            model, branches=branches, seed=SEED, executor="dask",
            scheduler=cluster.scheduler_address, chunk_size=chunk, progress=kill_a_busy_worker,
        )  # fmt: skip
        client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the next tests
    assert killed  # it died with chunks on it
    assert same_rows(result.table, run(model, branches=branches, seed=SEED).table)


def pool_recorder(monkeypatch: pytest.MonkeyPatch) -> list[ProcessPoolExecutor]:
    """Record every pool the process executor starts."""
    pools: list[ProcessPoolExecutor] = []
    start = ProcessExecutor._new_pool

    def recording(self: ProcessExecutor) -> ProcessPoolExecutor:
        pools.append(start(self))
        return pools[-1]

    monkeypatch.setattr(ProcessExecutor, "_new_pool", recording)
    return pools


def kill_a_pool_worker(pools: list[ProcessPoolExecutor], times: int) -> Callable[[int, int], None]:
    """A progress callback that kills a worker of the current pool, ``times`` times in all."""
    kills = 0

    def progress(done: int, _total: int) -> None:
        nonlocal kills
        if done > 0 and kills < times and len(pools) > kills:  # once per pool
            processes = pools[-1]._processes  # the pool has no public list of its processes
            os.kill(next(iter(processes)), signal.SIGKILL)
            kills += 1

    return progress


def test_a_killed_process_worker_costs_only_the_chunks_in_flight(
    model: CompiledModel, serial: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = pool_recorder(monkeypatch)
    result = run(
        model, branches=N, seed=SEED, executor="process", workers=2, chunk_size=CHUNK,
        progress=kill_a_pool_worker(pools, 1),
    )  # fmt: skip
    assert len(pools) == 2
    assert same_rows(result.table, serial)


def test_a_process_pool_that_keeps_dying_stops_the_run_and_keeps_its_chunks(
    model: CompiledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = pool_recorder(monkeypatch)
    monkeypatch.setattr(ProcessExecutor, "MAX_RESTARTS", 1)
    out = tmp_path / "run"
    with pytest.raises(
        ExecutorError,
        match=r"worker processes died 2 times in this run .* finish it with 'sim run --resume ",
    ):
        run(
            model, branches=N, seed=SEED, executor="process", workers=2, chunk_size=CHUNK,
            out=out, progress=kill_a_pool_worker(pools, 2),
        )  # fmt: skip
    assert json.loads((tmp_path / "run.partial" / "manifest.json").read_text())["status"] == (
        "incomplete"
    )
    assert same_rows(resume(out).table, run(model, branches=N, seed=SEED).table)


# --- signals and resuming ----------------------------------------------------------------------

BIG = 8_000  # 80 chunks: the run is far from done when the signal comes after two


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of BIG branches, which every resumed run must equal byte for byte."""
    root = tmp_path_factory.mktemp("whole")
    run(load_model(write_tiny(root)), branches=BIG, seed=SEED, out=root / "whole")
    return root / "whole"


def start_run(scenario: Path, out: Path, executor: str) -> subprocess.Popen[str]:
    """Start ``sim run`` in its own process group, as a shell would."""
    command = [
        sys.executable, "-m", "sim", "run", str(scenario), "-n", str(BIG), "-s", str(SEED),
        "-o", str(out), "--chunk-size", "100", "--executor", executor, "-q",
        *([] if executor == "serial" else ["--workers", "2"]),
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_chunks(chunks: Path, count: int, process: subprocess.Popen[str]) -> None:
    """Wait until ``count`` chunk files are written (the run is well under way)."""
    deadline = time.monotonic() + 120
    while not (chunks.is_dir() and len(list(chunks.glob("*.parquet"))) >= count):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run wrote no chunks in two minutes"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("executor", "how", "code", "word"),
    [
        ("process", "ctrl-c", 130, "interrupted"),
        ("dask", "ctrl-c", 130, "interrupted"),
        ("dask", "sigterm", 143, "terminated"),
        ("serial", "sigterm", 143, "terminated"),
    ],
)
def test_a_signal_stops_a_run_cleanly_and_resume_finishes_it(
    whole: Path, tmp_path: Path, executor: str, how: str, code: int, word: str
) -> None:
    if executor == "dask":
        pytest.importorskip("distributed", reason=NO_DASK)
    scenario = write_tiny(tmp_path)
    out, partial = tmp_path / "run", tmp_path / "run.partial"
    process = start_run(scenario, out, executor)
    wait_for_chunks(partial / "chunks", 2, process)
    if how == "ctrl-c":  # a terminal sends it to the whole process group
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert stdout == ""
    assert stderr == (
        f"{word}: the incomplete run is in {partial}; finish it with 'sim run --resume {out}'\n"
    )
    assert not out.exists()
    assert json.loads((partial / "manifest.json").read_text())["status"] == "incomplete"
    assert not (partial / "branches.parquet").exists()
    assert not (partial / "summary.json").exists()
    resumed = resume(out, executor="process", workers=2)
    for name in ("branches.parquet", "summary.json"):
        assert (out / name).read_bytes() == (whole / name).read_bytes()
    assert resumed.manifest["branches"] == BIG


QUIET_WORKERS = """
import logging
import os
import sys
from sim.montecarlo.cluster import DaskExecutor

def shout():
    logging.getLogger("distributed.worker").error("a worker's error")
    logging.getLogger("distributed.nanny").critical("a nanny's critical error")
    logging.getLogger("asyncio").error("an asyncio error")
    print("a library's own line", file=sys.stderr, flush=True)
    os.write(2, b"a line written to the file descriptor\\n")
    return 1

if __name__ == "__main__":
    with DaskExecutor(workers=1) as executor:
        executor._client.run(shout)
        # the scheduler and nannies run in this process: a connection that breaks while
        # Ctrl-C stops the run logs an error there
        logging.getLogger("distributed.core").error("a broken connection")
        logging.getLogger("distributed.client").error("a client's error")
"""


@pytest.mark.dask
@pytest.mark.slow
def test_the_workers_of_a_local_cluster_write_nothing_to_the_terminal(tmp_path: Path) -> None:
    # A worker's log line (a heartbeat that fails while the cluster closes after SIGTERM)
    # once reached the user's stderr after the one line that says where the run was left.
    pytest.importorskip("distributed", reason=NO_DASK)
    script = tmp_path / "quiet.py"
    script.write_text(QUIET_WORKERS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.dask
def test_closing_a_cluster_silences_every_dask_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    top, client = logging.getLogger("distributed"), logging.getLogger("distributed.client")
    monkeypatch.setattr(client, "level", logging.WARNING)  # as dask's logging config sets it
    top.addHandler(handler)
    try:
        with sim.montecarlo.cluster._silenced("distributed", "tornado"):
            client.error("a client's error while the cluster closes")
            logging.getLogger("distributed.worker").error("a worker's error")
        client.error("after")
    finally:
        top.removeHandler(handler)
    assert seen == ["after"]


def test_the_core_does_not_import_dask() -> None:
    code = (
        "import sys, sim, sim.cli, sim.montecarlo.runner, sim.montecarlo.executors; "
        "import sim.montecarlo.results; "
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


@pytest.mark.dask
def test_a_cluster_with_another_sim_version_is_refused(
    model: CompiledModel, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim.montecarlo.cluster, "sim_version", lambda: "0.0.1")
    with pytest.raises(
        UsageError, match=r"dask worker tcp://127\.0\.0\.1:\d+ has sim .* this is sim 0\.0\.1"
    ):
        run(model, branches=10, executor="dask", scheduler=cluster.scheduler_address)
