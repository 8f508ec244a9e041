"""The dask executor: chunks as tasks on a ``dask.distributed`` cluster, local or remote.

dask is an optional extra, imported on first use.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError
from contextlib import ExitStack, contextmanager
from itertools import islice
from typing import Any, Self

import numpy as np

from sim.errors import UsageError, install_hint
from sim.montecarlo.executors import IN_FLIGHT_PER_WORKER, Executor, ExecutorError, check_workers
from sim.montecarlo.jobs import Job, Results, ignore_interrupts, run_job
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import sim_version

__all__ = [
    "FETCH_ATTEMPTS",
    "FETCH_TIMEOUT",
    "LOCAL_WORKER_CONFIG",
    "DaskExecutor",
    "dask_setup",
]


def dask_setup(worker: object) -> None:
    """Set up a worker of the local dask cluster (dask calls this, as a preload, on start).

    Ctrl-C in a terminal reaches every process of the group; the parent stops the run
    and closes the cluster, so its workers ignore it. The workers share the terminal's
    stderr, where their log lines would land after the run's own message: a heartbeat that
    fails because the cluster is closing (after Ctrl-C or SIGTERM) logs an error there. What
    a worker of this cluster has to say reaches the run as an exception, so its logging is
    turned off altogether (errors at startup, before this runs, still show), and so is its
    stderr: what a library prints there while the cluster closes (a warning, an exception
    ignored in a finaliser) would otherwise land after the run's last line.
    """
    ignore_interrupts()
    logging.disable(logging.CRITICAL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)


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
        self.workers = check_workers(workers)
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None
        self._quiet = ExitStack()

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
            # Started: from now on the cluster's scheduler and nannies, in this process,
            # log nothing either (a connection that breaks when Ctrl-C stops the run logs an
            # error); what goes wrong reaches the run as an exception.
            self._quiet.enter_context(_silenced("distributed", "tornado"))
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
        with self._quiet, _silenced("distributed", "tornado"):
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

    def results(self, jobs: Iterable[Job]) -> Results:
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
    """Silence the loggers ``names`` and every logger below them while the block runs.

    The loggers below count too, since dask's logging configuration gives some of them
    levels of their own (``distributed.client``), which a parent's level does not override.
    """
    known = list(logging.root.manager.loggerDict)
    below = [n for n in known if any(n.startswith(f"{name}.") for name in names)]
    loggers = [logging.getLogger(name) for name in (*names, *below)]
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
        hint = install_hint("dask")
        raise UsageError(f"the dask executor needs dask.distributed: {hint}") from error
