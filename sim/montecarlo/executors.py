"""Executors: where the chunks of a run are computed (this process, or a local process pool).

Executors share one small interface (:class:`Executor`): a context manager whose
:meth:`~Executor.results` takes jobs and yields ``(job, batch)`` pairs as chunks finish.
``serial`` runs in this process, ``process`` in a pool of local processes, ``dask`` on a
``dask.distributed`` cluster (:mod:`sim.montecarlo.cluster`). Only a few chunks per worker
are in flight at a time, so the parent's memory does not grow with the number of branches.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, ClassVar, Self

from sim.errors import RunError, UsageError
from sim.model.compiled import CompiledModel
from sim.montecarlo.jobs import Job, Results, chunk_batch, ignore_interrupts, run_job
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import branch_schema

__all__ = [
    "IN_FLIGHT_PER_WORKER",
    "Executor",
    "ExecutorError",
    "ProcessExecutor",
    "SerialExecutor",
    "available_cpus",
    "check_workers",
    "executor_kind",
    "make_executor",
]

# interrupted run stops quickly and finished batches never pile up in the parent.
IN_FLIGHT_PER_WORKER = 2


class ExecutorError(RunError):
    """The workers failed a run (they died, or the cluster went away), not its model.

    The chunks already written are kept: the run can be resumed.
    """


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
    def results(self, jobs: Iterable[Job]) -> Results:
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

    def results(self, jobs: Iterable[Job]) -> Results:
        """Yield each job's chunk in turn."""
        for job in jobs:
            if self._is_own(job):
                yield job, chunk_batch(
                    self.model, self._schema, job.seed, job.start, job.stop, job.engine
                )
            else:
                yield job, run_job(job)

    def _is_own(self, job: Job) -> bool:
        """Whether ``job`` runs this executor's model (same text, variant and overrides)."""
        model = self.model
        return (job.source, job.includes, job.variant, job.overrides) == (
            model.source, model.includes, model.variant, model.overrides
        )  # fmt: skip


class ProcessExecutor(Executor):
    """Runs chunks in a pool of local worker processes, started fresh (forkserver or spawn).

    A worker that dies (killed, out of memory) breaks the pool; the pool is then started
    again and the chunks that were in flight run again, up to :attr:`MAX_RESTARTS` times.
    """

    kind = ExecutorKind.PROCESS
    MAX_RESTARTS: ClassVar[int] = 3

    def __init__(self, workers: int | None = None) -> None:
        self.workers = check_workers(workers)
        self._pool: ProcessPoolExecutor | None = None
        self._started: Any = None  # how many workers of the current pool got through start-up

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
            multiprocessing.set_forkserver_preload(["sim.montecarlo.jobs"])
        self._started = context.Value("i", 0)
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(self._started,)
        )

    def close(self) -> None:
        """Shut the pool down, cancelling chunks not yet started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def results(self, jobs: Iterable[Job]) -> Results:
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
        if self._started is not None and self._started.value == 0:
            raise UsageError(_NEVER_STARTED)
        lost = [future for future in pending if _unfinished(future)]
        if restarts >= self.MAX_RESTARTS:
            first = min([*(pending[f] for f in lost), *retry], key=lambda job: job.start)
            raise ExecutorError(
                f"worker processes died {restarts + 1} times in this run (killed, or out of "
                f"memory?); the last time, branches {first.start}..{first.stop - 1} were running"
            )
        retry.extendleft(reversed([pending.pop(future) for future in lost]))
        self._pool = self._new_pool()


_NEVER_STARTED = (
    "the process executor's workers exited as they started, before running a branch: a "
    "script that uses it must guard its entry point with `if __name__ == \"__main__\":` "
    "(each worker imports the script again, which must not start another run)"
)


def _start_worker(started: Any) -> None:
    """Set a new worker up: leave Ctrl-C to the parent, and count it as started.

    A worker that dies before this ran never started: most often it imported a script
    without the ``__main__`` guard, which tried to start a run of its own.
    """
    ignore_interrupts()
    with started.get_lock():
        started.value += 1


def _unfinished(future: Future[Any]) -> bool:
    """Whether ``future`` has no result: not done, cancelled, or failed."""
    return not future.done() or future.cancelled() or future.exception() is not None


def check_workers(workers: int | None) -> int:
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
    chosen = executor_kind(kind)
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
    from sim.montecarlo.cluster import DaskExecutor  # dask is an optional extra

    return DaskExecutor(workers, scheduler)


def executor_kind(kind: ExecutorKind | str) -> ExecutorKind:
    """Return ``kind`` as an :class:`ExecutorKind`, refusing unknown names."""
    try:
        return ExecutorKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in ExecutorKind)
        raise UsageError(f"unknown executor {kind!r}, expected one of {names}") from None
