"""Chunks of work as plain data, what a worker does with one, and how a run is cut into them.

A run is cut into chunks of consecutive branch numbers. Each chunk is a :class:`Job` of plain
data (the scenario text, its file name, variant, overrides, seed and branch range), so that
any process, local or remote, can compile the scenario and run it; a worker compiles a
scenario once and keeps the model. Branch ``i`` draws only from
``SeedSequence(seed, spawn_key=(i,))``, so the rows are the same whatever the executor,
the number of workers and the chunk size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import signal
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sim.engine import DEFAULT_ENGINE, run_branches_for
from sim.engine.common import SERIES
from sim.engine.simpy import run_branches
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel, Value
from sim.montecarlo.results import branch_schema

__all__ = [
    "MAX_CHUNK",
    "MIN_CHUNK",
    "TARGET_CHUNKS",
    "Chunk",
    "Job",
    "Results",
    "batch_chunk_size",
    "branches_within",
    "chunk_batch",
    "chunk_ranges",
    "chunk_size_for",
    "default_chunk_size",
    "ignore_interrupts",
    "missing_ranges",
    "plain_value",
    "point_values",
    "run_job",
    "run_job_on",
    "split_points",
    "text_digest",
]

MAX_CHUNK = 1024
BATCH_MAX_CHUNK = 131072
BATCH_MIN_CHUNK = 256
# Trajectory samples (branches x recorded names x times) in one batch chunk at most: 64 MiB
# of floats, so that a run that records trajectories holds little of them at once.
BATCH_MAX_SAMPLES = 1 << 23
MIN_CHUNK = 32
TARGET_CHUNKS = 32
# Chunks in flight per worker: enough to keep every worker busy, few enough that an


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
    includes: tuple[tuple[str, str], ...] = ()  # the included files' keys and texts
    engine: str = DEFAULT_ENGINE  # the engine that runs it: simpy or batch
    # The batch engine runs settings that differ only in the values of fixed parameters in
    # one batch: each point's overrides (the first is ``overrides``), each running branches
    # ``start..stop-1``; the chunk's rows come point by point (see :func:`split_points`).
    points: tuple[tuple[tuple[str, str], ...], ...] = ()

    @classmethod
    def for_model(
        cls, model: CompiledModel, seed: int, start: int, stop: int, engine: str = DEFAULT_ENGINE
    ) -> Job:
        """Return the job that runs branches ``start..stop-1`` of ``model``."""
        return cls(
            model.source, model.file, model.variant, model.overrides, seed, start, stop,
            model.includes, engine,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Chunk:
    """What a chunk of branches gives: its branch rows, and its trajectories if recorded.

    ``series`` is an array (branches, recorded names, sample times), or ``None`` when the
    model records nothing; it travels as one array, and becomes tidy rows in the parent.
    """

    rows: pa.RecordBatch
    series: np.ndarray | None = None


Results = Generator[tuple[Job, Chunk], None, None]
"""What executors yield: each job with its :class:`Chunk`, in the order they finish."""

# --- the worker side ---------------------------------------------------------------------------

_CACHE_SIZE = 8
_models: OrderedDict[tuple[str, str | None, tuple[tuple[str, str], ...]], CompiledModel]
_models = OrderedDict()


def text_digest(source: str, includes: tuple[tuple[str, str], ...] = ()) -> str:
    """Return the sha256 of a scenario's text and of the files it includes."""
    digest = hashlib.sha256(source.encode())
    for key, text in includes:
        digest.update(b"\0" + key.encode() + b"\0" + text.encode())
    return digest.hexdigest()


def _model_for(job: Job) -> CompiledModel:
    """Return the compiled model of ``job``, compiling it once per process.

    The cache is small and least-recently-used, since a sweep sends a stream of different
    overrides to the same long-lived workers.
    """
    key = (text_digest(job.source, job.includes), job.variant, job.overrides)
    model = _models.get(key)
    if model is None:
        model = build_model(
            job.source, job.file, variant=job.variant, overrides=job.overrides,
            includes=job.includes,
        )  # fmt: skip
        _models[key] = model
        while len(_models) > _CACHE_SIZE:
            _models.popitem(last=False)
    _models.move_to_end(key)
    return model


def chunk_batch(
    model: CompiledModel,
    schema: pa.Schema,
    seed: int,
    start: int,
    stop: int,
    engine: str = DEFAULT_ENGINE,
    values: Mapping[str, Sequence[Value]] | None = None,
) -> Chunk:
    """Run branches ``start..stop-1`` of ``model`` on ``engine``; return their rows (and
    trajectories). With ``values`` (batch engine), run them once per point, point ``i``
    setting each named parameter to ``values[name][i]``; the rows come point by point."""
    if values:
        from sim.engine.batch import run_points

        columns = run_points(model, seed, start, stop, values)
    else:
        runner = run_branches if engine == "simpy" else run_branches_for(engine)
        columns = runner(model, seed, start, stop)
    arrays = [pa.array(np.asarray(columns[f.name]), type=f.type) for f in schema]
    rows = pa.RecordBatch.from_arrays(arrays, schema=schema)
    if model.record is None:
        return Chunk(rows)
    if SERIES not in columns:
        raise RuntimeError(f"the engine returned no trajectories for the record of {model.name!r}")
    return Chunk(rows, np.asarray(columns[SERIES], dtype=np.float64))


def run_job(job: Job) -> Chunk:
    """Run one job in this process and return its :class:`Chunk`.

    This is what every executor's workers call; it needs only :mod:`sim` to be importable.
    """
    return run_job_on(_model_for(job), job)


def run_job_on(model: CompiledModel, job: Job) -> Chunk:
    """Run ``job`` on ``model``, its compiled setting (that of its first point)."""
    values = point_values(job.points) if job.points else None
    return chunk_batch(
        model, branch_schema(model), job.seed, job.start, job.stop, job.engine, values
    )


_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def plain_value(text: str) -> Value | None:
    """The value of an override's text that is a plain number or true/false, else None.

    It is the value ``--set`` reads from such a text (a test holds the two together);
    settings whose overrides differ only in such values can share a batch.
    """
    if text in ("true", "false"):
        return text == "true"
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text)
    return None


def point_values(points: Sequence[Sequence[tuple[str, str]]]) -> dict[str, list[Value]]:
    """The values of the overrides that differ between ``points``, by parameter, per point.

    Every point overrides the same parameters in the same order; those whose text differs
    between points must be plain values (:func:`plain_value`).
    """
    first = points[0]
    values: dict[str, list[Value]] = {}
    for i, (name, text) in enumerate(first):
        texts = [point[i][1] for point in points]
        if any(t != text for t in texts):
            found = [plain_value(t) for t in texts]
            if any(v is None for v in found):
                raise ValueError(f"--set {name}: points of a batch must differ in plain values")
            values[name] = [v for v in found if v is not None]
    return values


def split_points(job: Job, chunk: Chunk) -> Iterator[tuple[Job, Chunk]]:
    """The job and chunk of each point of a job of several points (else ``job`` itself)."""
    if not job.points:
        yield job, chunk
        return
    n = job.stop - job.start
    for i, overrides in enumerate(job.points):
        series = None if chunk.series is None else chunk.series[i * n : (i + 1) * n]
        part = Chunk(chunk.rows.slice(i * n, n), series)
        yield dataclasses.replace(job, overrides=overrides, points=()), part


def ignore_interrupts() -> None:
    """Let the parent alone handle Ctrl-C; a worker that saw it would only print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --- chunks ------------------------------------------------------------------------------------


def batch_chunk_size(branches: int) -> int:
    """Return the batch engine's default chunk size: ``branches / 4`` rounded up, kept
    within 256..131072. The batch engine pays per numpy call, whatever the number of
    branches it advances together, so its chunks are much larger than the SimPy engine's;
    its memory is bounded by the window of branches it advances at once (32,768), not by
    the chunk, whose rows take some tens of megabytes at most."""
    return min(BATCH_MAX_CHUNK, max(BATCH_MIN_CHUNK, math.ceil(branches / 4)))


def chunk_size_for(engine: str, branches: int, samples: int = 0) -> int:
    """The default chunk size of ``engine`` for a run of ``branches`` branches.

    ``samples`` is the number of trajectory samples a branch records (names x times): a
    batch chunk then holds at most :data:`BATCH_MAX_SAMPLES` of them (and 256 branches at
    least), so that memory does not grow with the trajectories recorded.
    """
    if engine != "batch":
        return default_chunk_size(branches)
    size = batch_chunk_size(branches)
    if samples:
        size = min(size, max(BATCH_MIN_CHUNK, BATCH_MAX_SAMPLES // samples))
    return size


def default_chunk_size(branches: int) -> int:
    """Return the default chunk size: ``branches / 32`` rounded up, kept within 32..1024.

    It depends on the branch count alone. 32 chunks or more give the progress bar and the
    workers some granularity; up to 1024 branches per chunk keep the cost of each chunk
    (a task, a message, a file) small beside its work, and each batch still small.
    """
    return min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(branches / TARGET_CHUNKS)))


def chunk_ranges(branches: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Yield the ``(start, stop)`` ranges that cut ``range(branches)`` into chunks.

    The ranges are cut as they are taken, so that a run of any size costs no memory here.
    """
    return ((start, min(start + chunk_size, branches)) for start in range(0, branches, chunk_size))


def missing_ranges(
    finished: Iterable[tuple[int, int]], total: int, chunk_size: int | None
) -> Iterator[tuple[int, int]]:
    """Yield chunks that cover the branches ``0..total-1`` not in the ``finished`` ranges.

    Each gap is cut into chunks of ``chunk_size`` from its start, or of the default size
    for the gap's length; the chunks are cut as they are taken.
    """
    at = 0
    for start, stop in [*sorted(finished), (total, total)]:
        if start > at:
            size = chunk_size or default_chunk_size(start - at)
            yield from ((a, min(a + size, start)) for a in range(at, start, size))
        at = max(at, stop)


def branches_within(finished: Iterable[tuple[int, int]], total: int) -> int:
    """Return how many of the branches ``0..total-1`` the ``finished`` ranges hold."""
    return sum(max(0, min(stop, total) - start) for start, stop in finished)
