"""Monte Carlo runs: chunks of branches, executors, and the one writer in the parent.

A run is cut into chunks of consecutive branch numbers. Each chunk is a :class:`Job` of plain
data (the scenario text, its file name, variant, overrides, seed and branch range), so that
any process, local or remote, can compile the scenario and run it; a worker compiles a
scenario once and keeps the model. Chunks come back as Arrow record batches in whatever order
they finish, and one sink in the parent (memory, or a run directory) puts them in branch
order. Branch ``i`` draws only from ``SeedSequence(seed, spawn_key=(i,))``, so the rows are
the same whatever the executor, the number of workers and the chunk size.

Executors share one small interface (:class:`Executor`): a context manager whose
:meth:`~Executor.results` takes jobs and yields ``(job, batch)`` pairs as chunks finish.
``serial`` runs in this process, ``process`` in a pool of local processes, ``dask`` on a
``dask.distributed`` cluster.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import multiprocessing
import os
import signal
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from sim.compile import build_model, load_model
from sim.engine import run_branches
from sim.errors import UsageError
from sim.model import CompiledModel
from sim.results import (
    MemorySink,
    RunDirectory,
    RunResult,
    Sink,
    branch_schema,
    complete_manifest,
    make_manifest,
    make_summary,
    now_iso,
    sim_version,
)

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "Job",
    "ProcessExecutor",
    "Progress",
    "SerialExecutor",
    "available_cpus",
    "chunk_ranges",
    "default_chunk_size",
    "make_executor",
    "resume",
    "run",
    "run_job",
]

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(branches_done, branches_total)``."""

MAX_CHUNK = 256
MIN_CHUNK = 32
TARGET_CHUNKS = 32
# Chunks in flight per worker: enough to keep every worker busy, few enough that an
# interrupted run stops quickly and finished batches never pile up in the parent.
IN_FLIGHT_PER_WORKER = 2


class ExecutorKind(StrEnum):
    """Where the chunks of a run are computed."""

    SERIAL = "serial"
    PROCESS = "process"
    DASK = "dask"


@dataclass(frozen=True, slots=True)
class Job:
    """A chunk of work as plain data: compile ``source`` and run branches ``start..stop-1``."""

    source: str
    file: str
    variant: str | None
    overrides: tuple[tuple[str, str], ...]
    seed: int
    start: int
    stop: int

    @classmethod
    def for_model(cls, model: CompiledModel, seed: int, start: int, stop: int) -> Job:
        """Return the job that runs branches ``start..stop-1`` of ``model``."""
        return cls(model.source, model.file, model.variant, model.overrides, seed, start, stop)


_Results = Generator[tuple[Job, Any], None, None]
"""What executors yield: each job with its ``pyarrow.RecordBatch``, in the order they finish."""

# --- the worker side ---------------------------------------------------------------------------

_CACHE_SIZE = 8
_models: OrderedDict[tuple[str, str | None, tuple[tuple[str, str], ...]], CompiledModel]
_models = OrderedDict()


def _model_for(job: Job) -> CompiledModel:
    """Return the compiled model of ``job``, compiling it once per process.

    The cache is small and least-recently-used, since a sweep sends a stream of different
    overrides to the same long-lived workers.
    """
    key = (hashlib.sha256(job.source.encode()).hexdigest(), job.variant, job.overrides)
    model = _models.get(key)
    if model is None:
        model = build_model(job.source, job.file, variant=job.variant, overrides=job.overrides)
        _models[key] = model
        while len(_models) > _CACHE_SIZE:
            _models.popitem(last=False)
    _models.move_to_end(key)
    return model


def _chunk(model: CompiledModel, schema: pa.Schema, seed: int, start: int, stop: int) -> Any:
    """Run branches ``start..stop-1`` of ``model`` and return them as a record batch."""
    columns = run_branches(model, seed, start, stop)
    arrays = [pa.array(np.asarray(columns[f.name]), type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def run_job(job: Job) -> Any:
    """Run one job in this process and return its ``pyarrow.RecordBatch``.

    This is what every executor's workers call; it needs only :mod:`sim` to be importable.
    """
    model = _model_for(job)
    return _chunk(model, branch_schema(model), job.seed, job.start, job.stop)


def _ignore_interrupts() -> None:
    """Let the parent alone handle Ctrl-C; a worker that saw it would only print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --- executors ---------------------------------------------------------------------------------


def available_cpus() -> int:
    """Return the number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity
        return os.cpu_count() or 1


class Executor(ABC):
    """Runs jobs and yields their batches as they finish; use it as a context manager."""

    kind: ClassVar[ExecutorKind]
    workers: int

    def __enter__(self) -> Self:
        """Start the workers."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the workers, dropping any chunk not yet started."""
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release the workers; the executor cannot be used afterwards."""

    @abstractmethod
    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield ``(job, record_batch)`` for every job, in the order they finish."""


class SerialExecutor(Executor):
    """Runs every chunk in this process, one after the other.

    Jobs of ``model`` run on it as it is (it may lack its source text); jobs of other
    settings (variants, overrides) are compiled once each, as a worker would.
    """

    kind = ExecutorKind.SERIAL

    def __init__(self, model: CompiledModel) -> None:
        self.model = model
        self.workers = 1
        self._schema = branch_schema(model)

    def close(self) -> None:
        """Nothing to release: the chunks ran in this process."""

    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield each job's batch in turn."""
        for job in jobs:
            if self._is_own(job):
                yield job, _chunk(self.model, self._schema, job.seed, job.start, job.stop)
            else:
                yield job, run_job(job)

    def _is_own(self, job: Job) -> bool:
        """Whether ``job`` runs this executor's model (same text, variant and overrides)."""
        model = self.model
        return (job.source, job.variant, job.overrides) == (
            model.source, model.variant, model.overrides
        )  # fmt: skip


def _windowed(submit: Callable[[Job], Future[Any]], jobs: Iterable[Job], window: int) -> _Results:
    """Keep at most ``window`` jobs submitted; yield results as futures complete."""
    todo = iter(jobs)
    pending = {submit(job): job for job in islice(todo, window)}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                batch = future.result()
                pending.update((submit(following), following) for following in islice(todo, 1))
                yield job, batch
    finally:
        for future in pending:
            future.cancel()


class ProcessExecutor(Executor):
    """Runs chunks in a pool of local worker processes, started fresh (forkserver or spawn)."""

    kind = ExecutorKind.PROCESS

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _check_workers(workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Self:
        """Start the pool."""
        # Forking a parent with threads (rich's progress bar, dask) is unsafe; a forkserver
        # preloaded with sim starts workers quickly and cleanly.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            multiprocessing.set_forkserver_preload(["sim.montecarlo"])
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_ignore_interrupts
        )
        return self

    def close(self) -> None:
        """Shut the pool down, cancelling chunks not yet started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield batches as the workers finish them."""
        if self._pool is None:
            raise RuntimeError("start the process executor with 'with' before using it")
        pool = self._pool
        return _windowed(
            lambda job: pool.submit(run_job, job), jobs, IN_FLIGHT_PER_WORKER * self.workers
        )


class DaskExecutor(Executor):
    """Runs chunks on a ``dask.distributed`` cluster: one task per chunk, streamed back.

    With a ``scheduler`` address it connects to that cluster (whose workers need ``sim``
    installed); otherwise it starts a local cluster of ``workers`` processes on 127.0.0.1
    and closes it afterwards.
    """

    kind = ExecutorKind.DASK

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        self.workers = _check_workers(workers)
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> Self:
        """Connect to the scheduler, or start a local cluster."""
        distributed = _distributed()
        if self.scheduler is None:
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                processes=True,
            )
            self._client = distributed.Client(self._cluster)
        else:
            self._client = distributed.Client(self.scheduler)
            self.workers = max(1, len(self._client.scheduler_info()["workers"]))
        return self

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield batches as the cluster finishes them."""
        client = self._client
        if client is None:
            raise RuntimeError("start the dask executor with 'with' before using it")
        todo = iter(jobs)
        pending = {
            client.submit(run_job, job, pure=False): job
            for job in islice(todo, IN_FLIGHT_PER_WORKER * self.workers)
        }
        finished = _distributed().as_completed(list(pending))
        try:
            for future in finished:
                job = pending.pop(future)
                batch = future.result()
                for following in islice(todo, 1):
                    submitted = client.submit(run_job, following, pure=False)
                    pending[submitted] = following
                    finished.add(submitted)
                yield job, batch
        finally:
            if pending:
                client.cancel(list(pending))


def _distributed() -> Any:
    """Return ``dask.distributed``, imported on first use: dask is an optional extra."""
    try:
        return importlib.import_module("dask.distributed")
    except ImportError as error:
        raise UsageError("the dask executor needs dask.distributed; install sim[dask]") from error


def _check_workers(workers: int | None) -> int:
    """Return ``workers``, or every available CPU when it is ``None``."""
    if workers is None:
        return available_cpus()
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    return workers


def make_executor(
    kind: ExecutorKind | str,
    model: CompiledModel,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
) -> Executor:
    """Return an executor of ``kind`` for runs of ``model`` (not started yet)."""
    chosen = _executor_kind(kind)
    if scheduler is not None and chosen is not ExecutorKind.DASK:
        raise UsageError(f"a scheduler address needs the dask executor, got {chosen.value!r}")
    if chosen is ExecutorKind.SERIAL:
        if workers is not None:
            raise UsageError(f"workers={workers} needs the process or dask executor, not serial")
        return SerialExecutor(model)
    if not model.source:
        raise UsageError(
            f"the {chosen.value} executor sends the scenario text to its workers, and this "
            "compiled model has none; build it with sim.compile.build_model or load_model"
        )
    if chosen is ExecutorKind.PROCESS:
        return ProcessExecutor(workers)
    return DaskExecutor(workers, scheduler)


def _executor_kind(kind: ExecutorKind | str) -> ExecutorKind:
    """Return ``kind`` as an :class:`ExecutorKind`, refusing unknown names."""
    try:
        return ExecutorKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in ExecutorKind)
        raise UsageError(f"unknown executor {kind!r}, expected one of {names}") from None


# --- chunks ------------------------------------------------------------------------------------


def default_chunk_size(branches: int) -> int:
    """Return the default chunk size: ``branches / 32`` rounded up, kept within 32..256.

    It depends on the branch count alone, so that a run's files are the same whatever the
    executor; 32 chunks or more give the progress bar and the pool some granularity, and at
    most 256 branches per chunk keep each batch small.
    """
    return min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(branches / TARGET_CHUNKS)))


def chunk_ranges(branches: int, chunk_size: int) -> list[tuple[int, int]]:
    """Return the ``(start, stop)`` ranges that cut ``range(branches)`` into chunks."""
    return [(start, min(start + chunk_size, branches)) for start in range(0, branches, chunk_size)]


# --- runs --------------------------------------------------------------------------------------


def _compiled(
    scenario: str | Path | CompiledModel,
    variant: str | None,
    overrides: Sequence[tuple[str, str]] | Mapping[str, str],
) -> CompiledModel:
    """Return the compiled model of ``scenario`` (a file path, or a model as it is)."""
    pairs = tuple(overrides.items() if isinstance(overrides, Mapping) else overrides)
    if isinstance(scenario, CompiledModel):
        if variant is not None or pairs:
            raise UsageError(
                "variant and overrides apply when compiling a scenario file; "
                "this scenario is already compiled"
            )
        return scenario
    return load_model(scenario, variant=variant, overrides=pairs)


def _check_plan(branches: int, seed: int, chunk_size: int | None) -> int:
    """Check the run's numbers and return the chunk size to use."""
    if branches < 1:
        raise UsageError(f"branches must be at least 1, got {branches}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    if chunk_size is None:
        return default_chunk_size(branches)
    if chunk_size < 1:
        raise UsageError(f"chunk size must be at least 1, got {chunk_size}")
    return chunk_size


def _drive(
    executor: Executor,
    jobs: Sequence[Job],
    sink: Sink,
    done: int,
    total: int,
    progress: Progress | None,
) -> None:
    """Send ``jobs`` to ``executor`` and hand each batch to ``sink`` as it arrives."""
    if progress is not None:
        progress(done, total)
    # Closing the results at once on an error cancels the chunks not yet started.
    with closing(executor.results(jobs)) as results:
        for job, batch in results:
            sink.add(job.start, job.stop, batch)
            done += job.stop - job.start
            if progress is not None:
                progress(done, total)


def run(
    scenario: str | Path | CompiledModel,
    *,
    branches: int = 1000,
    seed: int = 0,
    out: str | Path | None = None,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    chunk_size: int | None = None,
    variant: str | None = None,
    overrides: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run ``branches`` branches of a scenario and return the results.

    ``scenario`` is a scenario file or a compiled model. With ``out`` the run directory is
    written there atomically (replacing an earlier run directory only once this run is
    complete); without it nothing is written and the table stays in memory. ``progress`` is
    called with ``(branches_done, branches_total)`` at the start and after every chunk.
    """
    model = _compiled(scenario, variant, overrides)
    size = _check_plan(branches, seed, chunk_size)
    started, clock = now_iso(), time.perf_counter()
    jobs = [Job.for_model(model, seed, a, b) for a, b in chunk_ranges(branches, size)]
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    manifest = make_manifest(
        model, seed=seed, branches=branches, executor=pool.kind.value,
        workers=pool.workers, chunk_size=size, started_at=started,
    )  # fmt: skip
    if out is None:
        memory = MemorySink(branch_schema(model))
        with pool:
            _drive(pool, jobs, memory, 0, branches, progress)
        table = memory.table()
        summary = make_summary(model, table, seed=seed, branches=branches)
        wall = time.perf_counter() - clock
        done = complete_manifest(manifest, wall, executor=pool.kind.value, workers=pool.workers)
        return RunResult(summary, done, None, table)
    directory = RunDirectory.create(Path(out), manifest, model.source)
    with pool:
        _drive(pool, jobs, directory, 0, branches, progress)
    return directory.finish(
        model, time.perf_counter() - clock, executor=pool.kind.value, workers=pool.workers
    )


def resume(
    directory: str | Path,
    *,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Finish an interrupted run: run only its missing chunks, then write it as ``run`` would.

    ``directory`` is the run's output directory or its ``.partial`` sibling. The scenario,
    seed, branch count, chunk size, variant and overrides come from the incomplete run, so
    the finished ``branches.parquet`` and ``summary.json`` are the same as those of an
    uninterrupted run.
    """
    writer = RunDirectory.reopen(Path(directory))
    if writer.complete:
        return writer.publish()
    plan = writer.manifest
    if plan["sim_version"] != sim_version():
        raise UsageError(
            f"{directory}: the run was started with sim {plan['sim_version']}, this is sim "
            f"{sim_version()}; its rows could differ, so run it again instead"
        )
    model = build_model(
        writer.source(),
        str(plan["file"]),
        variant=plan["variant"],
        overrides=tuple((str(k), str(v)) for k, v in plan["overrides"].items()),
    )
    if model.source_sha256 != plan["sha256"]:
        raise UsageError(f"{writer.partial}: the kept scenario text does not match its sha256")
    seed, branches, size = int(plan["seed"]), int(plan["branches"]), int(plan["chunk_size"])
    finished = writer.finished_ranges()
    missing = [r for r in chunk_ranges(branches, size) if r not in finished]
    jobs = [Job.for_model(model, seed, a, b) for a, b in missing]
    clock = time.perf_counter()
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    with pool:
        _drive(pool, jobs, writer, sum(b - a for a, b in finished), branches, progress)
    return writer.finish(
        model, time.perf_counter() - clock, executor=pool.kind.value, workers=pool.workers
    )
