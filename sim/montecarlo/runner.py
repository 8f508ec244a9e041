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
``dask.distributed`` cluster. Only a few chunks per worker are in flight at a time, so the
parent's memory does not grow with the number of branches.

A run is one round of chunks, or, with a target precision (:mod:`sim.montecarlo.precision`), as many
rounds as it takes; a round is decided only once every branch before it is in.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import math
import multiprocessing
import os
import signal
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from sim.engine.simpy import run_branches
from sim.errors import RunError, SimError, UsageError
from sim.model.compile import build_model, load_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.precision import Decision, TargetCI, target_ci_rule
from sim.montecarlo.results import (
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
    "ExecutorError",
    "ExecutorKind",
    "Job",
    "ProcessExecutor",
    "Progress",
    "SerialExecutor",
    "available_cpus",
    "chunk_ranges",
    "default_chunk_size",
    "make_executor",
    "missing_ranges",
    "resume",
    "run",
    "run_job",
]

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(branches_done, branches_total)``."""

MAX_CHUNK = 1024
MIN_CHUNK = 32
TARGET_CHUNKS = 32
# Chunks in flight per worker: enough to keep every worker busy, few enough that an
# interrupted run stops quickly and finished batches never pile up in the parent.
IN_FLIGHT_PER_WORKER = 2


class ExecutorError(RunError):
    """The workers failed a run (they died, or the cluster went away), not its model.

    The chunks already written are kept: the run can be resumed.
    """


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


def dask_setup(worker: object) -> None:
    """Set up a worker of the local dask cluster (dask calls this, as a preload, on start).

    Ctrl-C in a terminal reaches every process of the group; the parent stops the run
    and closes the cluster, so its workers ignore it.
    """
    _ignore_interrupts()


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


class ProcessExecutor(Executor):
    """Runs chunks in a pool of local worker processes, started fresh (forkserver or spawn).

    A worker that dies (killed, out of memory) breaks the pool; the pool is then started
    again and the chunks that were in flight run again, up to :attr:`MAX_RESTARTS` times.
    """

    kind = ExecutorKind.PROCESS
    MAX_RESTARTS: ClassVar[int] = 3

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _check_workers(workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Self:
        """Start the pool."""
        self._pool = self._new_pool()
        return self

    def _new_pool(self) -> ProcessPoolExecutor:
        """Return a new pool of ``workers`` processes that leave Ctrl-C to the parent."""
        # Forking a parent with threads (rich's progress bar, dask) is unsafe; a forkserver
        # preloaded with sim starts workers quickly and cleanly.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            multiprocessing.set_forkserver_preload(["sim.montecarlo.runner"])
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_ignore_interrupts)

    def close(self) -> None:
        """Shut the pool down, cancelling chunks not yet started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield batches as the workers finish them, keeping a few chunks per worker in flight."""
        if self._pool is None:
            raise RuntimeError("start the process executor with 'with' before using it")
        todo = iter(jobs)
        window = IN_FLIGHT_PER_WORKER * self.workers
        pending: dict[Future[Any], Job] = {}
        retry: deque[Job] = deque()  # chunks lost with a dead worker, to run first
        restarts = 0
        try:
            while True:
                broken = not self._fill(pending, retry, todo, window)
                if not pending and not broken:
                    return
                if not broken:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        error = future.exception()
                        if isinstance(error, BrokenProcessPool):
                            broken = True
                            continue
                        job = pending.pop(future)
                        if error is not None:
                            raise error
                        yield job, future.result()
                if broken:
                    self._restart(pending, retry, restarts)
                    restarts += 1
        finally:
            for future in pending:
                future.cancel()

    def _fill(
        self, pending: dict[Future[Any], Job], retry: deque[Job], todo: Iterator[Job], window: int
    ) -> bool:
        """Submit jobs, lost ones first, until ``window`` are pending; false if the pool broke."""
        assert self._pool is not None
        while len(pending) < window:
            job = retry.popleft() if retry else next(todo, None)
            if job is None:
                return True
            try:
                pending[self._pool.submit(run_job, job)] = job
            except BrokenProcessPool:
                retry.appendleft(job)
                return False
        return True

    def _restart(self, pending: dict[Future[Any], Job], retry: deque[Job], restarts: int) -> None:
        """Replace a pool broken by a dead worker; its unfinished jobs go to ``retry``.

        Jobs that finished before the pool broke keep their results and stay pending.
        """
        assert self._pool is not None
        self._pool.shutdown(wait=True, cancel_futures=True)
        lost = [future for future in pending if _unfinished(future)]
        if restarts >= self.MAX_RESTARTS:
            first = min([*(pending[f] for f in lost), *retry], key=lambda job: job.start)
            raise ExecutorError(
                f"worker processes died {restarts + 1} times in this run (killed, or out of "
                f"memory?); the last time, branches {first.start}..{first.stop - 1} were running"
            )
        retry.extendleft(reversed([pending.pop(future) for future in lost]))
        self._pool = self._new_pool()


def _unfinished(future: Future[Any]) -> bool:
    """Whether ``future`` has no result: not done, cancelled, or failed."""
    return not future.done() or future.cancelled() or future.exception() is not None


LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
"""Dask settings of the workers of a local cluster."""


class DaskExecutor(Executor):
    """Runs chunks on a ``dask.distributed`` cluster: one task per chunk, streamed back.

    With a ``scheduler`` address it connects to that cluster (whose workers need ``sim``
    installed); otherwise it starts a local cluster of ``workers`` processes on 127.0.0.1
    and closes it afterwards.
    """

    kind = ExecutorKind.DASK

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        _distributed()  # refuse at once, before any run directory exists, where dask is missing
        self.workers = _check_workers(workers)
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> Self:
        """Connect to the scheduler, or start a local cluster."""
        distributed = _distributed()
        if self.scheduler is None:
            # The workers' statistical profiler feeds only the dashboard, which this cluster
            # does not run; it costs some 5% of the branches' time.
            with importlib.import_module("dask").config.set(LOCAL_WORKER_CONFIG):
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard, and its web routes on any free port: not on 8787, which
                    # another cluster may hold.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    processes=True,
                    # This cluster is an implementation detail of the run: its workers' and
                    # scheduler's warnings (a worker restarted, a task recomputed) are not the
                    # user's business, and errors reach the run as exceptions anyway.
                    silence_logs=logging.ERROR,
                    preload=[__name__],
                )
            self._client = distributed.Client(self._cluster)
        else:
            self._client = distributed.Client(self.scheduler)
            self.workers = max(1, len(self._client.scheduler_info()["workers"]))
            try:
                _check_worker_versions(self._client)
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it.

        A run that stops early (Ctrl-C, SIGTERM, an error) closes while results are still
        on their way; the failed transfers are expected then, and not logged.
        """
        with _silenced("distributed", "tornado"):
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

    def results(self, jobs: Iterable[Job]) -> _Results:
        """Yield batches as the cluster finishes them, a few chunks per worker in flight.

        A worker that dies loses only the chunks it held, running or finished but not yet
        fetched: the scheduler runs them again elsewhere, and a result that cannot be
        fetched is asked for again as a new task.
        """
        client = self._client
        if client is None:
            raise RuntimeError("start the dask executor with 'with' before using it")
        todo = iter(jobs)
        pending: dict[Any, Job] = {}
        # Only the futures' states are tracked in the background: dask's own background
        # fetching (with_results) drops a result for good when its worker dies meanwhile.
        # The loop is this client's: by default it would be that of the first client made
        # in this process, perhaps the user's own.
        finished = _distributed().as_completed(loop=client.loop)
        attempts: dict[Job, int] = {}

        def submit(job: Job) -> None:
            future = client.submit(run_job, job, pure=False)
            pending[future] = job
            finished.add(future)

        for job in islice(todo, IN_FLIGHT_PER_WORKER * self.workers):
            submit(job)
        try:
            while pending:
                future = next(finished)
                if future not in pending:  # given up on and asked for again, finished after all
                    continue
                job = pending.pop(future)
                batch = _fetch(future, job)
                if batch is None:
                    attempts[job] = attempts.get(job, 0) + 1
                    _check_attempts(job, attempts[job])
                    future.release()
                    submit(job)
                    continue
                for following in islice(todo, 1):  # keep the workers busy
                    submit(following)
                yield job, batch
        finally:
            if pending:
                client.cancel(list(pending))


FETCH_ATTEMPTS = 5
# Seconds to wait for the result of a finished chunk: moving it takes well under a second,
# and a worker that died with it makes dask compute it again, which this bounds.
FETCH_TIMEOUT = 60.0


def _fetch(future: Any, job: Job) -> Any | None:
    """Return the batch of a finished dask future, or ``None`` if it could not be fetched.

    A finished result lives on the worker that computed it; if that worker dies before the
    result arrives, the fetch fails (or, in some of dask's recovery paths, never returns).
    Errors of the chunk itself are raised; a chunk whose workers kept dying is a
    :class:`ExecutorError`.
    """
    distributed = _distributed()
    try:
        return future.result(timeout=FETCH_TIMEOUT)
    except OSError:  # a broken connection (CommClosedError) or a timeout
        return None
    except CancelledError as error:
        raise ExecutorError(
            f"the dask cluster dropped branches {job.start}..{job.stop - 1}: {error}"
        ) from None
    except distributed.KilledWorker as error:
        raise ExecutorError(
            f"dask workers died again and again running branches {job.start}..{job.stop - 1} "
            f"(out of memory?): {error}"
        ) from None


def _check_attempts(job: Job, attempts: int) -> None:
    """Refuse to ask for a chunk again once it has failed to arrive too often."""
    if attempts >= FETCH_ATTEMPTS:
        raise ExecutorError(
            f"could not fetch branches {job.start}..{job.stop - 1} from the dask cluster "
            f"in {attempts} attempts: its workers keep dying"
        )


def _versions() -> tuple[str, str]:
    """Return the versions of sim and numpy here: the rows of a branch depend on both."""
    return sim_version(), np.__version__


def _check_worker_versions(client: Any) -> None:
    """Refuse a cluster whose workers lack sim, or run other versions of sim or numpy."""
    try:
        found: dict[str, tuple[str, str]] = client.run(_versions)
    except Exception as error:  # a worker without sim cannot even unpickle the function
        raise UsageError(
            f"the dask workers cannot run sim ({type(error).__name__}: {error}); install "
            f"sim {sim_version()} where they run"
        ) from None
    here = _versions()
    for worker, versions in sorted(found.items()):
        if tuple(versions) != here:
            raise UsageError(
                f"dask worker {worker} has sim {versions[0]} with numpy {versions[1]}, this is "
                f"sim {here[0]} with numpy {here[1]}; rows depend on both, so install the same "
                "versions on every worker"
            )


@contextmanager
def _silenced(*names: str) -> Iterator[None]:
    """Silence the loggers ``names`` while the block runs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


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
            "compiled model has none; build it with sim.model.compile.build_model or load_model"
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
    """Return the default chunk size: ``branches / 32`` rounded up, kept within 32..1024.

    It depends on the branch count alone. 32 chunks or more give the progress bar and the
    workers some granularity; up to 1024 branches per chunk keep the cost of each chunk
    (a task, a message, a file) small beside its work, and each batch still small.
    """
    return min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(branches / TARGET_CHUNKS)))


def chunk_ranges(branches: int, chunk_size: int) -> list[tuple[int, int]]:
    """Return the ``(start, stop)`` ranges that cut ``range(branches)`` into chunks."""
    return [(start, min(start + chunk_size, branches)) for start in range(0, branches, chunk_size)]


def missing_ranges(
    finished: Iterable[tuple[int, int]], total: int, chunk_size: int | None
) -> list[tuple[int, int]]:
    """Return chunks that cover the branches ``0..total-1`` not in the ``finished`` ranges.

    Each gap is cut into chunks of ``chunk_size`` from its start, or of the default size
    for the gap's length.
    """
    chunks: list[tuple[int, int]] = []
    at = 0
    for start, stop in [*sorted(finished), (total, total)]:
        if start > at:
            size = chunk_size or default_chunk_size(start - at)
            chunks.extend((a, min(a + size, start)) for a in range(at, start, size))
        at = max(at, stop)
    return chunks


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


def _check_plan(branches: int, seed: int, chunk_size: int | None) -> None:
    """Check the run's numbers."""
    if branches < 1:
        raise UsageError(f"branches must be at least 1, got {branches}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    if chunk_size is not None and chunk_size < 1:
        raise UsageError(f"chunk size must be at least 1, got {chunk_size}")


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


@dataclass
class _Rounds:
    """A run in progress: its model, stopping rule, sink, and manifest (saved as it changes).

    ``manifest["branches"]`` is the end of the current round; a run without a rule has one.
    """

    model: CompiledModel
    seed: int
    rule: TargetCI | None
    sink: Sink
    manifest: dict[str, Any]
    directory: RunDirectory | None

    def save(self, changes: Mapping[str, Any]) -> None:
        """Record ``changes`` in the manifest, on disk too when the run is written."""
        self.manifest = {**self.manifest, **changes}
        if self.directory is not None:
            self.directory.save_manifest(changes)

    def go(self, executor: Executor, progress: Progress | None) -> str | None:
        """Run rounds until the rule says stop; return why it stopped (``None``: no rule).

        Each round runs the branches missing before its end, so a resumed run picks up
        where it left off. The rule decides only on a complete round: branches ``0..n-1``.
        """
        chunk_size = self.manifest["chunk_size"]
        while True:
            total = int(self.manifest["branches"])
            ranges = missing_ranges(self.sink.finished_ranges(), total, chunk_size)
            jobs = [Job.for_model(self.model, self.seed, a, b) for a, b in ranges]
            _drive(
                executor, jobs, self.sink, total - sum(b - a for a, b in ranges), total, progress
            )
            if self.rule is None:
                return None
            decision = self.rule.decide(self.sink.count(self.rule.outcomes), total)
            self._record(decision, total)
            if decision.stop:
                return decision.reason

    def _record(self, decision: Decision, total: int) -> None:
        """Add the round that ended at ``total`` to the manifest, and plan the next one.

        A resumed run may decide again on a round already recorded; it is listed once.
        """
        rounds = list(self.manifest["rounds"])
        if not rounds or rounds[-1]["branches"] != total:
            rounds.append(
                {"branches": total, "outcome": decision.outcome,
                 "max_half_width": decision.half_width}
            )  # fmt: skip
        self.save({"branches": decision.total, "rounds": rounds})


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
    target_ci: float | None = None,
    max_branches: int | None = None,
) -> RunResult:
    """Run ``branches`` branches of a scenario and return the results.

    ``scenario`` is a scenario file or a compiled model. With ``out`` the run directory is
    written there atomically (replacing an earlier run directory only once this run is
    complete); without it nothing is written and the table stays in memory. ``progress`` is
    called with ``(branches_done, branches_total)`` at the start and after every chunk.

    With ``target_ci`` the run goes on in rounds until the 95% interval of every probability
    outcome has a half-width of at most ``target_ci``, or it has ``max_branches`` branches
    (default 1,000,000); ``branches`` is the first round, and the manifest's
    ``stop_reason`` says why it stopped (see :mod:`sim.montecarlo.precision`).
    """
    model = _compiled(scenario, variant, overrides)
    _check_plan(branches, seed, chunk_size)
    rule = target_ci_rule(model, target_ci, max_branches, branches)
    started, clock = now_iso(), time.perf_counter()
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    # A run with rounds cuts each round by its own default size, unless told a size.
    size = chunk_size if rule is not None or chunk_size else default_chunk_size(branches)
    manifest = make_manifest(
        model, seed=seed, branches=branches, executor=pool.kind.value, workers=pool.workers,
        chunk_size=size, started_at=started, target_ci=target_ci,
        max_branches=None if rule is None else rule.max_branches,
    )  # fmt: skip
    if out is None:
        memory = MemorySink(branch_schema(model))
        rounds = _Rounds(model, seed, rule, memory, manifest, None)
        with pool:
            reason = rounds.go(pool, progress)
        table = memory.table()
        summary = make_summary(model, table, seed=seed, branches=table.num_rows)
        done = complete_manifest(
            rounds.manifest, time.perf_counter() - clock, executor=pool.kind.value,
            workers=pool.workers, stop_reason=reason,
        )  # fmt: skip
        return RunResult(summary, done, None, table)
    directory = RunDirectory.create(Path(out), manifest, model.source)
    try:
        return _finish(
            _Rounds(model, seed, rule, directory, manifest, directory), pool, progress, clock
        )
    except ExecutorError as error:
        raise ExecutorError(
            f"{error}; the incomplete run is in {directory.partial}; "
            f"finish it with 'sim run --resume {out}'"
        ) from None
    except SimError:
        # A model error (a branch that divides by zero) happens again on every resume: its
        # partial directory is of no use. Interruptions and failed workers keep theirs.
        directory.discard()
        raise


def _finish(rounds: _Rounds, pool: Executor, progress: Progress | None, clock: float) -> RunResult:
    """Run the rounds of a run written to disk, then gather, summarise and publish it."""
    assert rounds.directory is not None
    with pool:
        reason = rounds.go(pool, progress)
    return rounds.directory.finish(
        rounds.model, time.perf_counter() - clock, executor=pool.kind.value,
        workers=pool.workers, stop_reason=reason,
    )  # fmt: skip


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
    seed, branch count, chunk size, variant, overrides and target come from the incomplete
    run, so the finished ``branches.parquet`` and ``summary.json`` are the same as those of
    an uninterrupted run.
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
    rounds = plan.get("rounds") or []
    first = int(rounds[0]["branches"] if rounds else plan["branches"])
    rule = target_ci_rule(model, plan.get("target_ci"), plan.get("max_branches"), first)
    clock = time.perf_counter()
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    state = _Rounds(model, int(plan["seed"]), rule, writer, plan, writer)
    return _finish(state, pool, progress, clock)
