"""Run results: run directories on disk, reading them back, and :class:`RunResult`.

A run directory holds ``branches.parquet`` (one row per branch, columns in the order of
``CompiledModel.columns``), ``summary.json`` and ``manifest.json``. It is written under the
sibling name ``<out>.partial/``: the manifest says ``"incomplete"`` from the first moment,
each chunk of branches lands there as its own Parquet file as soon as it arrives, and only a
complete run is gathered into ``branches.parquet`` (in branch order, in row groups of
:data:`ROW_GROUP` rows whatever the chunk size), summarised, marked ``"complete"`` and
renamed to ``<out>``. An interrupted run thus leaves only ``<out>.partial/``, which
:func:`sim.montecarlo.runner.resume` can finish.

The parent process never holds the branch table whole: chunks go to disk as they arrive,
the gathering streams them, and the summary reads one outcome column at a time.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.stats.summary import summarize_outcome

__all__ = [
    "BRANCHES",
    "MANIFEST",
    "ROW_GROUP",
    "SUMMARY",
    "MemorySink",
    "RunDirectory",
    "RunResult",
    "Sink",
    "branch_schema",
    "chunk_tables",
    "complete_manifest",
    "make_manifest",
    "make_summary",
    "now_iso",
    "open_run",
    "partial_path",
    "sim_version",
    "summary_records",
    "write_chunk",
    "write_gathered",
]

BRANCHES = "branches.parquet"
SUMMARY = "summary.json"
MANIFEST = "manifest.json"
PARTIAL = ".partial"
_CHUNKS = "chunks"
_SOURCE = "scenario.txt"  # the scenario text, kept in <out>.partial/ so a resume needs nothing else
# Rows per row group of branches.parquet: large enough that the file's metadata stays small
# at millions of branches, small enough that a reader can take the table a piece at a time.
ROW_GROUP = 65_536
_CHUNK_NAME = re.compile(r"(\d+)-(\d+)\.parquet")
_ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}


class RunResult:
    """The results of a run: the branch table, its summary and its manifest.

    ``directory`` is where the run was written, or ``None`` for a run kept in memory. A
    result read from disk loads its table on first use.
    """

    __slots__ = ("_table", "directory", "manifest", "summary")

    def __init__(
        self,
        summary: dict[str, Any],
        manifest: dict[str, Any],
        directory: Path | None,
        table: pa.Table | None = None,
    ) -> None:
        if table is None and directory is None:
            raise ValueError("a run result needs its table or its directory")
        self.summary = summary
        self.manifest = manifest
        self.directory = directory
        self._table = table

    @property
    def table(self) -> pa.Table:
        """The branch table: one row per branch, in branch order."""
        if self._table is None:
            assert self.directory is not None  # __init__ requires one of the two
            self._table = pq.read_table(self.directory / BRANCHES)
        return self._table

    def to_pandas(self) -> Any:
        """Return the branch table as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table.to_pandas()

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}" if self.directory else "in memory"
        return (
            f"RunResult(scenario={self.manifest.get('scenario')!r}, "
            f"branches={self.manifest.get('branches')}, seed={self.manifest.get('seed')}, {where})"
        )


# --- tables, summaries, manifests --------------------------------------------------------------


def branch_schema(model: CompiledModel) -> pa.Schema:
    """Return the Arrow schema of ``model``'s branch table, one field per column."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype]) for c in model.columns])


def make_summary(
    model: CompiledModel, table: pa.Table, *, seed: int, branches: int
) -> dict[str, Any]:
    """Return the ``summary.json`` object of a run from its branch table.

    Only ``t_end`` and the outcome columns are read.
    """
    return _summary(model, lambda name: table.column(name).to_numpy(), seed, branches)


def _summary(
    model: CompiledModel, column: Callable[[str], np.ndarray], seed: int, branches: int
) -> dict[str, Any]:
    """Return the ``summary.json`` object, reading each column when it is needed.

    ``column(name)`` returns a whole column as a numpy array. Outcomes are summarised one
    at a time, so that at most ``t_end`` and one outcome column are in memory at once.
    """
    t_end = column("t_end") if any(o.kind == "time_to" for o in model.outcomes) else None
    outcomes = {
        o.name: summarize_outcome(
            o.kind,
            column(o.name),
            t_end=t_end if o.kind == "time_to" else None,
            horizon=model.horizon,
        )
        for o in model.outcomes
    }
    head = {"scenario": model.name, "variant": model.variant, "seed": seed, "branches": branches}
    return {**head, "outcomes": outcomes}


def now_iso() -> str:
    """Return the current time as an ISO 8601 string in UTC."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def sim_version() -> str:
    """Return the version of sim (read late: sim/__init__ may import this module)."""
    import sim

    return str(sim.__version__)


def make_manifest(
    model: CompiledModel,
    *,
    seed: int,
    branches: int,
    executor: str,
    workers: int,
    chunk_size: int | None,
    started_at: str,
    target_ci: float | None = None,
    max_branches: int | None = None,
) -> dict[str, Any]:
    """Return the manifest of a run that is starting (status ``"incomplete"``).

    ``branches`` is the number planned so far. A run with a ``target_ci`` adds rounds,
    listed in ``rounds`` as each ends, and ``chunk_size`` is then ``None`` when each round
    takes its own default.
    """
    rounds: dict[str, Any] = {} if target_ci is None else {"rounds": []}
    return {
        "status": "incomplete",
        "scenario": model.name,
        "file": model.file,
        "sha256": model.source_sha256,
        "sim_version": sim_version(),
        "seed": seed,
        "branches": branches,
        "variant": model.variant,
        "overrides": dict(model.overrides),
        "executor": executor,
        "workers": workers,
        "chunk_size": chunk_size,
        "target_ci": target_ci,
        "max_branches": max_branches,
        "stop_reason": None,
        **rounds,
        "started_at": started_at,
        "finished_at": None,
        "wall_seconds": None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": metadata.version("simpy"),
        "pyarrow": pa.__version__,
    }


def complete_manifest(
    manifest: Mapping[str, Any],
    wall_seconds: float,
    *,
    executor: str,
    workers: int,
    stop_reason: str | None = None,
) -> dict[str, Any]:
    """Return ``manifest`` marked complete, with its end time and wall-clock seconds.

    ``stop_reason`` says why the run stopped; by default, that it ran the branches asked for.
    """
    reason = stop_reason or f"branches: ran the {manifest['branches']} branches asked for"
    return {
        **manifest,
        "status": "complete",
        "executor": executor,
        "workers": workers,
        "stop_reason": reason,
        "finished_at": now_iso(),
        "wall_seconds": round(wall_seconds, 3),
    }


def summary_records(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one flat record per outcome: ``outcome`` first, nested fields joined by ``_``.

    ``{"survival_at_horizon": {"estimate": 0.4}}`` becomes ``survival_at_horizon_estimate``;
    lists are left out, since a tidy row holds scalars only.
    """
    records = []
    for name, entry in summary["outcomes"].items():
        record: dict[str, Any] = {"outcome": name}
        record.update(_flatten(entry))
        records.append(record)
    return records


def _flatten(entry: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings of scalars into one level."""
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}_"))
        elif not isinstance(value, list | tuple):
            flat[f"{prefix}{key}"] = value
    return flat


# --- sinks: where chunks go as they arrive -----------------------------------------------------


class Sink(Protocol):
    """Receives the chunks of a run in whatever order they finish."""

    def add(self, start: int, stop: int, batch: pa.RecordBatch) -> None:
        """Take the batch of branches ``start..stop-1``."""

    def finished_ranges(self) -> set[tuple[int, int]]:
        """Return the ``(start, stop)`` ranges of the chunks received so far."""

    def count(self, names: Sequence[str]) -> dict[str, int]:
        """Return, for each bool column in ``names``, the received branches where it holds."""


def _count_true(
    tables: Iterable[pa.Table | pa.RecordBatch], names: Sequence[str]
) -> dict[str, int]:
    """Return how many values of each bool column ``names`` are true over ``tables``."""
    counts = dict.fromkeys(names, 0)
    for table in tables:
        for name in names:
            counts[name] += int(pc.sum(table.column(name)).as_py() or 0)
    return counts


class MemorySink:
    """Keeps the chunks of a run in memory, for runs that write nothing."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._batches: dict[int, pa.RecordBatch] = {}

    def add(self, start: int, stop: int, batch: pa.RecordBatch) -> None:
        """Keep the batch of branches ``start..stop-1``."""
        _check_rows(start, stop, batch)
        self._batches[start] = batch

    def finished_ranges(self) -> set[tuple[int, int]]:
        """Return the ``(start, stop)`` ranges of the batches received so far."""
        return {(start, start + batch.num_rows) for start, batch in self._batches.items()}

    def count(self, names: Sequence[str]) -> dict[str, int]:
        """Return, for each bool column in ``names``, the received branches where it holds."""
        return _count_true(self._batches.values(), names)

    def table(self) -> pa.Table:
        """Return the table of every batch received, in branch order."""
        ordered = [self._batches[start] for start in sorted(self._batches)]
        return pa.Table.from_batches(ordered, schema=self.schema)


def _check_rows(start: int, stop: int, batch: pa.RecordBatch) -> None:
    """Refuse a batch whose row count does not match its branch range."""
    if batch.num_rows != stop - start:
        raise RuntimeError(f"chunk {start}..{stop} came back with {batch.num_rows} rows")


# --- run directories ---------------------------------------------------------------------------


def default_directory(model: CompiledModel, kind: str | None = None) -> Path:
    """The default directory of a result: ``results/NAME[__VARIANT][__P=V...][__KIND]``.

    Every setting that changes the results (a variant, each ``--set``) names its own
    directory, so that a counterfactual never replaces the baseline's run.
    """
    parts = [model.name]
    if model.variant:
        parts.append(model.variant)
    parts += [
        re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{name}={value}") for name, value in model.overrides
    ]
    if kind:
        parts.append(kind)
    return Path("results") / "__".join(parts)


def partial_path(out: Path) -> Path:
    """Return ``<out>.partial``, the sibling where a run into ``out`` is written."""
    absolute = Path(os.path.abspath(out))
    return absolute.with_name(absolute.name + PARTIAL)


def _read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object from ``path``, as a usage error if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read it as JSON: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, as strict JSON (no NaN)."""
    _write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _is_run_like(path: Path) -> bool:
    """Whether ``path`` is a directory that sim may replace: empty, or holding a manifest."""
    return path.is_dir() and ((path / MANIFEST).is_file() or not any(path.iterdir()))


def check_replaceable(out: Path, kind: str) -> None:
    """Refuse an ``out`` that a new result of ``kind`` must not replace.

    Only an empty directory or an earlier result of the same kind ("run", "sweep",
    "sensitivity") is replaced: a sweep never silently deletes a run, nor a run a folder of
    the user's.
    """
    if not out.exists():
        return
    if not _is_run_like(out):
        raise UsageError(f"{out}: exists and is not a {kind} directory; choose another --out")
    if not (out / MANIFEST).is_file():
        return
    found = str(_read_json(out / MANIFEST).get("kind", "run"))
    if found != kind:
        raise UsageError(
            f"{out}: holds a {found}, which a {kind} does not replace; choose another --out"
        )


def _publish(partial: Path, out: Path) -> None:
    """Rename ``partial`` to ``out``; an existing ``out`` is moved aside first, then deleted."""
    if not out.exists():
        os.rename(partial, out)
        return
    target = Path(os.path.abspath(out))
    aside = target.with_name(f"{target.name}.old-{os.getpid()}")
    os.rename(target, aside)
    try:
        os.rename(partial, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside)


class RunDirectory:
    """Writes one run directory: chunks as they arrive, then the final files, then the rename.

    The parent process owns the only instance; it never holds the branch table whole.
    """

    def __init__(self, out: Path, manifest: dict[str, Any]) -> None:
        self.out = out
        self.partial = partial_path(out)
        self.manifest = manifest

    @classmethod
    def create(cls, out: Path, manifest: dict[str, Any], source: str) -> RunDirectory:
        """Start a run into ``out``: a fresh ``<out>.partial/`` with an incomplete manifest.

        An existing ``out`` must be a run directory (or empty), since it will be replaced.
        A leftover ``<out>.partial/`` of an interrupted run is never discarded silently: it
        holds work that ``sim run --resume`` can finish.
        """
        check_replaceable(out, "run")
        run = cls(out, manifest)
        if run.partial.exists():
            if not _is_run_like(run.partial):
                raise UsageError(f"{run.partial}: exists and is not an incomplete run directory")
            if (run.partial / _CHUNKS).is_dir() and any((run.partial / _CHUNKS).iterdir()):
                raise UsageError(
                    f"{run.partial}: an interrupted run is there; finish it with "
                    f"'sim run --resume {out}', or delete that folder to start afresh"
                )
            shutil.rmtree(run.partial)
        (run.partial / _CHUNKS).mkdir(parents=True)
        _write_json(run.partial / MANIFEST, manifest)
        if source:
            _write_text(run.partial / _SOURCE, source)
        return run

    @classmethod
    def reopen(cls, directory: Path) -> RunDirectory:
        """Reopen the incomplete run written into ``directory`` (``<out>`` or ``<out>.partial``)."""
        if directory.name.endswith(PARTIAL):
            out = directory.with_name(directory.name.removesuffix(PARTIAL))
        else:
            out = directory
        partial = partial_path(out)
        if not (partial / MANIFEST).is_file():
            if (out / MANIFEST).is_file():
                raise UsageError(f"{out}: the run is already complete; nothing to resume")
            raise UsageError(f"{directory}: no incomplete run to resume (no {partial})")
        run = cls(out, _read_json(partial / MANIFEST))
        needs_chunks = run.manifest.get("status") != "complete"
        if needs_chunks and not ((partial / _SOURCE).is_file() and (partial / _CHUNKS).is_dir()):
            raise UsageError(f"{partial}: the incomplete run lacks its scenario text or chunks")
        return run

    @property
    def complete(self) -> bool:
        """Whether the run's final files are written and only the rename is left."""
        return bool(self.manifest.get("status") == "complete")

    def source(self) -> str:
        """Return the scenario text the run was started with."""
        return (self.partial / _SOURCE).read_text(encoding="utf-8")

    def _chunk_files(self) -> dict[tuple[int, int], Path]:
        """Return the chunk files written so far, by branch range."""
        found = {}
        for path in (self.partial / _CHUNKS).iterdir():
            match = _CHUNK_NAME.fullmatch(path.name)
            if match:
                found[int(match[1]), int(match[2])] = path
        return found

    def finished_ranges(self) -> set[tuple[int, int]]:
        """Return the ``(start, stop)`` ranges of the chunks already written."""
        return set(self._chunk_files())

    def count(self, names: Sequence[str]) -> dict[str, int]:
        """Return, for each bool column in ``names``, the written branches where it holds."""
        files = self._chunk_files().values()
        return _count_true((pq.read_table(path, columns=list(names)) for path in files), names)

    def save_manifest(self, changes: Mapping[str, Any]) -> None:
        """Update the incomplete run's manifest with ``changes``, on disk at once."""
        self.manifest = {**self.manifest, **changes}
        _write_json(self.partial / MANIFEST, self.manifest)

    def add(self, start: int, stop: int, batch: pa.RecordBatch) -> None:
        """Write the batch of branches ``start..stop-1`` to its own file, atomically."""
        _check_rows(start, stop, batch)
        write_chunk(self.partial / _CHUNKS / f"{start:012d}-{stop:012d}.parquet", batch)

    def _gather(self, schema: pa.Schema) -> None:
        """Write ``branches.parquet`` from the chunk files, in branch order, streaming."""
        expected = int(self.manifest["branches"])
        chunks = chunk_tables(self._chunk_files(), expected, schema, self.partial)
        write_gathered(self.partial / BRANCHES, schema, chunks)

    def discard(self) -> None:
        """Delete the partial directory of a run that cannot be finished."""
        shutil.rmtree(self.partial, ignore_errors=True)

    def finish(
        self,
        model: CompiledModel,
        wall_seconds: float,
        *,
        executor: str,
        workers: int,
        stop_reason: str | None = None,
    ) -> RunResult:
        """Gather, summarise and mark the run complete, then rename it to ``out``."""
        self._gather(branch_schema(model))
        pa.default_memory_pool().release_unused()
        seed, branches = int(self.manifest["seed"]), int(self.manifest["branches"])
        with pq.ParquetFile(self.partial / BRANCHES) as branches_file:
            summary = _summary(model, _column_reader(branches_file), seed, branches)
        _write_json(self.partial / SUMMARY, summary)
        self.manifest = complete_manifest(
            self.manifest, wall_seconds, executor=executor, workers=workers, stop_reason=stop_reason
        )
        _write_json(self.partial / MANIFEST, self.manifest)
        return self.publish()

    def publish(self) -> RunResult:
        """Drop the working files of a complete run and rename it to ``out``."""
        shutil.rmtree(self.partial / _CHUNKS, ignore_errors=True)
        (self.partial / _SOURCE).unlink(missing_ok=True)
        _publish(self.partial, self.out)
        return RunResult(_read_json(self.out / SUMMARY), self.manifest, self.out)


def write_chunk(path: Path, batch: pa.RecordBatch) -> None:
    """Write ``batch`` to the Parquet file ``path`` through a temporary file, atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_batches([batch]), temporary)
    os.replace(temporary, path)


def chunk_tables(
    files: Mapping[tuple[int, int], Path], branches: int, schema: pa.Schema, where: Path
) -> Iterator[pa.Table]:
    """Return an iterator over the chunk files ``(start, stop) -> path``, read in branch order.

    The chunks must cover branches ``0..branches-1`` exactly, which is checked at once;
    each file is read only when the iterator reaches it.
    """
    ordered = sorted(files)
    stops = [0] + [stop for _, stop in ordered]
    if [start for start, _ in ordered] != stops[:-1] or stops[-1] != branches:
        raise RuntimeError(f"{where}: chunks {ordered} do not cover {branches} branches")
    return (pq.read_table(files[key], schema=schema) for key in ordered)


def write_gathered(path: Path, schema: pa.Schema, tables: Iterable[pa.Table]) -> None:
    """Write ``tables``, one after the other, to the Parquet file ``path``, streaming.

    Row groups hold :data:`ROW_GROUP` rows whatever the sizes of the tables, so the file
    is the same however its rows arrived; only one group's rows are held at a time.
    """
    with pq.ParquetWriter(path, schema) as writer:
        for group in _regroup(tables, ROW_GROUP):
            writer.write_table(group, row_group_size=ROW_GROUP)


def _column_reader(parquet: pq.ParquetFile) -> Callable[[str], np.ndarray]:
    """Return a function that reads one whole column of ``parquet`` as a numpy array."""

    def column(name: str) -> np.ndarray:
        values = np.asarray(parquet.read(columns=[name]).column(0).to_numpy())
        pa.default_memory_pool().release_unused()
        return values

    return column


def _regroup(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Yield the rows of ``tables``, in order, as tables of exactly ``rows`` rows (the last fewer).

    Only one group's worth of rows is held at a time.
    """
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        while count >= rows:
            joined = pa.concat_tables(held)
            yield joined.slice(0, rows)
            rest = joined.slice(rows)
            held, count = [rest], rest.num_rows
    if count:
        yield pa.concat_tables(held)


def open_run(directory: str | Path) -> RunResult:
    """Return the run written in ``directory``; refuse anything but a complete run."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: not a run directory (it is a file)")
    if not path.is_dir():
        partial = partial_path(path)
        if partial.is_dir():
            raise UsageError(
                f"{path}: no run directory, but an incomplete run is in {partial}; "
                f"finish it with 'sim run --resume {path}'"
            )
        raise UsageError(f"{path}: no such run directory")
    if not (path / MANIFEST).is_file():
        raise UsageError(f"{path}: not a run directory (it has no {MANIFEST})")
    manifest = _read_json(path / MANIFEST)
    status = manifest.get("status")
    if status != "complete":
        raise UsageError(
            f"{path}: the run is incomplete (manifest status {status!r}); "
            f"finish it with 'sim run --resume {path}' or run it again"
        )
    for name in (SUMMARY, BRANCHES):
        if not (path / name).is_file():
            raise UsageError(f"{path}: not a run directory (it has no {name})")
    return RunResult(_read_json(path / SUMMARY), manifest, path)
