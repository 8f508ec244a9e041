"""Run directories on disk: written atomically under ``<out>.partial/``, chunk by chunk.

The manifest says ``"incomplete"`` from the first moment, each chunk of branches lands in
``<out>.partial/chunks/`` as its own Parquet file as soon as it arrives, and only a complete
run is gathered into ``branches.parquet`` (in branch order, in row groups of
:data:`ROW_GROUP` rows whatever the chunk size), summarised, marked
``"complete"`` and renamed to ``<out>``. An interrupted run thus leaves only
``<out>.partial/``, which :func:`sim.montecarlo.runner.resume` can finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import SimError, UsageError
from sim.model.compiled import CompiledModel
from sim.montecarlo.lock import DirectoryLock
from sim.montecarlo.precision import Target, tally
from sim.montecarlo.results import (
    BRANCHES,
    MANIFEST,
    PARTIAL,
    SERIES,
    SUMMARY,
    RunResult,
    branch_schema,
    check_rows,
    complete_manifest,
    partial_path,
    read_json,
    summary_of,
)
from sim.montecarlo.series import ROW_GROUP as SERIES_ROW_GROUP
from sim.montecarlo.series import (
    ColumnStore,
    record_samples,
    series_batch,
    series_schema,
    values_of,
)

if TYPE_CHECKING:
    from sim.montecarlo.jobs import Chunk

__all__ = [
    "ROW_GROUP",
    "RunDirectory",
    "StorageError",
    "check_replaceable",
    "chunk_tables",
    "default_directory",
    "write_chunk",
    "write_gathered",
]

# --- run directories ---------------------------------------------------------------------------


# Rows per row group of branches.parquet: large enough that the file's metadata stays small
# at millions of branches, small enough that a reader can take the table a piece at a time.
ROW_GROUP = 65_536
_CHUNKS = "chunks"
_SOURCE = "scenario.txt"  # the scenario text, kept in <out>.partial/ so a resume needs nothing else
_INCLUDES = "includes.json"  # the texts of the files it includes, by key
_CHUNK_NAME = re.compile(r"(\d+)-(\d+)\.parquet")
_SERIES_CHUNK = ".series.parquet"  # a chunk's trajectories, flattened, beside its rows
_SCRATCH = "series.scratch"  # every branch's value per recorded name and time, for the summary


def default_directory(model: CompiledModel, kind: str | None = None) -> Path:
    """The default directory of a result: ``results/NAME[__VARIANT][__P=V...][__KIND]``.

    Every setting that changes the results (a variant, each ``--set``) names its own
    directory, so that a counterfactual never replaces the baseline's run.
    """
    parts = [model.name]
    if model.variant:
        parts.append(model.variant)
    parts += [f"{name}={_value_label(value)}" for name, value in model.overrides]
    if kind:
        parts.append(kind)
    return Path("results") / "__".join(parts)


_LABEL_LENGTH = 32


class StorageError(SimError):
    """A result directory that could not be written (a full disk, a lost permission).

    The work written so far stays in ``<out>.partial`` for a resume once that is fixed.
    """

    @classmethod
    def of(cls, error: OSError, partial: Path, resume: str) -> StorageError:
        """Return the error of ``error``, saying where the work is and how to finish it."""
        where = f"{error.filename}: " if error.filename is not None else ""
        return cls(
            f"{where}{error.strerror or error}; the incomplete result is in {partial}: fix "
            f"that (free some space), then finish it with '{resume}'"
        )


def _value_label(text: str) -> str:
    """Return a short, readable, file-name-safe form of a ``--set`` value.

    A number stays as written (``0.9``); a distribution ``{kind: beta, a: 2, b: 3}`` reads
    ``beta_a=2_b=3``; one too long for that (a ``choice`` of many values) is its kind and a
    hash of its text, ``choice-1a2b3c4d``, still one name per value.
    """
    text = text.strip()
    if not text.startswith("{"):
        return re.sub(r"[^A-Za-z0-9_.=+-]", "_", text)
    fields = [
        [part.strip().strip("'\"") for part in item.split(":", 1)]
        for item in re.split(r",(?![^\[]*\])", text.strip("{} "))
    ]
    found = {field[0]: field[1] if len(field) > 1 else "" for field in fields}
    kind = found.pop("kind", "dist")
    label = "_".join([kind, *(f"{key}={value}" for key, value in found.items())])
    label = re.sub(r"[^A-Za-z0-9_.=+-]", "_", label)
    if len(label) <= _LABEL_LENGTH:
        return label
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', kind)}-{digest}"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, as strict JSON (no NaN)."""
    _write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def make_partial(
    partial: Path,
    manifest: Mapping[str, Any],
    source: str,
    includes: Iterable[tuple[str, str]] = (),
) -> None:
    """Make ``partial`` whole at once: its chunk folder, scenario text, includes and manifest.

    They are written into a hidden sibling folder first, which is then renamed, so that a
    process killed at any moment leaves either no ``partial`` or one that can be resumed
    (a leftover hidden folder of a killed start is removed by the next start, which holds
    the directory's lock).
    """
    fresh = partial.with_name(f".{partial.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        (fresh / _CHUNKS).mkdir(parents=True)
        if source:
            _write_text(fresh / _SOURCE, source)
        kept = dict(includes)
        if kept:
            _write_json(fresh / _INCLUDES, kept)
        _write_json(fresh / MANIFEST, manifest)
        os.rename(fresh, partial)
    except BaseException:  # a full disk, Ctrl-C: nothing half made is left
        shutil.rmtree(fresh, ignore_errors=True)
        raise


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
    found = str(read_json(out / MANIFEST).get("kind", "run"))
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


def publish_partial(partial: Path, out: Path) -> None:
    """Drop the working files of a complete ``partial`` (chunks, kept scenario text and
    includes), then rename it to ``out``."""
    shutil.rmtree(partial / _CHUNKS, ignore_errors=True)
    (partial / _SOURCE).unlink(missing_ok=True)
    (partial / _INCLUDES).unlink(missing_ok=True)
    _publish(partial, out)


class RunDirectory:
    """Writes one run directory: chunks as they arrive, then the final files, then the rename.

    The parent process owns the only instance; it never holds the branch table whole.
    """

    def __init__(self, out: Path, manifest: dict[str, Any], lock: DirectoryLock) -> None:
        self.out = out
        self.partial = partial_path(out)
        self.manifest = manifest
        self.lock = lock

    @classmethod
    def create(
        cls,
        out: Path,
        manifest: dict[str, Any],
        source: str,
        includes: tuple[tuple[str, str], ...] = (),
    ) -> RunDirectory:
        """Start a run into ``out``: a fresh ``<out>.partial/`` with an incomplete manifest.

        An existing ``out`` must be a run directory (or empty), since it will be replaced.
        A leftover ``<out>.partial/`` of an interrupted run is never discarded silently: it
        holds work that ``sim run --resume`` can finish.
        """
        lock = DirectoryLock(out)
        lock.acquire(make_folders=True)  # before looking: another writer may be at work
        run = cls(out, manifest, lock)
        made = False
        try:
            check_replaceable(out, "run")
            if run.partial.exists():
                if not _is_run_like(run.partial):
                    raise UsageError(
                        f"{run.partial}: exists and is not an incomplete run directory"
                    )
                if (run.partial / _CHUNKS).is_dir() and any((run.partial / _CHUNKS).iterdir()):
                    raise UsageError(
                        f"{run.partial}: an interrupted run is there; finish it with "
                        f"'sim run --resume {out}', or delete that folder to start afresh"
                    )
                shutil.rmtree(run.partial)
            made = True
            make_partial(run.partial, manifest, source, includes)
        except OSError as error:
            if made:  # a fresh directory that could not be written (a full disk): no use
                shutil.rmtree(run.partial, ignore_errors=True)
            lock.release(tidy=True)
            raise StorageError(f"{out}: cannot write it: {error.strerror or error}") from None
        except BaseException:
            if made:  # a fresh directory that could not be written (a full disk): no use
                shutil.rmtree(run.partial, ignore_errors=True)
            lock.release(tidy=True)
            raise
        return run

    @classmethod
    def reopen(cls, directory: Path) -> RunDirectory:
        """Reopen the incomplete run written into ``directory`` (``<out>`` or ``<out>.partial``)."""
        if directory.name.endswith(PARTIAL):
            out = directory.with_name(directory.name.removesuffix(PARTIAL))
        else:
            out = directory
        partial = partial_path(out)
        lock = DirectoryLock(out)
        if partial.parent.is_dir():
            lock.acquire()  # before looking: the run may in fact still be running
        try:
            if not (partial / MANIFEST).is_file():
                if (out / MANIFEST).is_file():
                    raise UsageError(f"{out}: the run is already complete; nothing to resume")
                raise UsageError(f"{directory}: no incomplete run to resume (no {partial})")
            run = cls(out, read_json(partial / MANIFEST), lock)
            kind = str(run.manifest.get("kind", "run"))
            if kind != "run":
                finish = "sim compare --resume" if kind == "compare" else f"sim {kind} --resume"
                raise UsageError(
                    f"{partial}: holds an interrupted {kind}, not a run; finish it with "
                    f"'{finish} {out}'"
                )
            needs_chunks = run.manifest.get("status") != "complete"
            if needs_chunks and not (
                (partial / _SOURCE).is_file() and (partial / _CHUNKS).is_dir()
            ):
                raise UsageError(
                    f"{partial}: the incomplete run lacks its scenario text or chunks"
                )
        except BaseException:
            lock.release()
            raise
        return run

    @property
    def complete(self) -> bool:
        """Whether the run's final files are written and only the rename is left."""
        return bool(self.manifest.get("status") == "complete")

    def source(self) -> str:
        """Return the scenario text the run was started with."""
        return (self.partial / _SOURCE).read_text(encoding="utf-8")

    def includes(self) -> tuple[tuple[str, str], ...]:
        """Return the texts of the files the scenario included, by key."""
        path = self.partial / _INCLUDES
        if not path.is_file():
            return ()
        return tuple((str(k), str(v)) for k, v in read_json(path).items())

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

    def count(self, targets: Sequence[Target]) -> dict[str, tuple[int, int]]:
        """Return ``(successes, trials)`` of each target over the branches written so far."""
        files = self._chunk_files().values()
        columns = list(dict.fromkeys(c for t in targets for c in t.columns))
        return tally((pq.read_table(path, columns=columns) for path in files), targets)

    def save_manifest(self, changes: Mapping[str, Any]) -> None:
        """Update the incomplete run's manifest with ``changes``, on disk at once."""
        self.manifest = {**self.manifest, **changes}
        _write_json(self.partial / MANIFEST, self.manifest)

    def add(self, start: int, stop: int, chunk: Chunk) -> None:
        """Write the chunk of branches ``start..stop-1`` to its own files, atomically.

        The trajectories go first, so that a chunk whose rows are on disk is complete.
        """
        check_rows(start, stop, chunk.rows)
        name = f"{start:012d}-{stop:012d}"
        if chunk.series is not None:
            flat = pa.record_batch([pa.array(np.ascontiguousarray(chunk.series).reshape(-1))],
                                   names=["value"])  # fmt: skip
            write_chunk(self.partial / _CHUNKS / f"{name}{_SERIES_CHUNK}", flat)
        write_chunk(self.partial / _CHUNKS / f"{name}.parquet", chunk.rows)

    def _gather(self, schema: pa.Schema) -> None:
        """Write ``branches.parquet`` from the chunk files, in branch order, streaming."""
        expected = int(self.manifest["branches"])
        chunks = chunk_tables(self._chunk_files(), expected, schema, self.partial)
        write_gathered(self.partial / BRANCHES, schema, chunks)

    def _series_chunks(self, model: CompiledModel) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first branch, trajectories)`` of every chunk, in branch order, a few
        branches at a time: about one row group of tidy rows, so that memory does not grow
        with the chunk (the batch engine's are large)."""
        files = {
            key: path.with_name(path.name.replace(".parquet", _SERIES_CHUNK))
            for key, path in self._chunk_files().items()
        }
        expected = int(self.manifest["branches"])
        check_cover(files, expected, self.partial)
        per_branch = record_samples(model)
        step = max(1, SERIES_ROW_GROUP // per_branch) * per_branch
        for start, stop in sorted(files):
            first, pending = start, np.empty(0)
            with pq.ParquetFile(files[start, stop]) as chunk:
                for batch in chunk.iter_batches(batch_size=step, columns=["value"]):
                    flat = np.asarray(batch.column(0).to_numpy(), dtype=np.float64)
                    if pending.size:
                        flat = np.concatenate([pending, flat])
                    whole = flat.size // per_branch * per_branch
                    if whole:
                        values = values_of(model, pa.table({"value": flat[:whole]}))
                        yield first, values
                        first += len(values)
                    pending = flat[whole:]
            if pending.size or first != stop:
                raise RuntimeError(f"{files[start, stop]}: not the trajectories of {start}..{stop}")

    @contextmanager
    def _gathered_series(self, model: CompiledModel) -> Iterator[ColumnStore]:
        """Write ``series.parquet`` from the chunk files, streaming; yield the scratch store.

        The store holds every branch's value of each recorded name at each time, for the
        summary; it is deleted when the block ends.
        """
        branches = int(self.manifest["branches"])
        with ColumnStore.scratch(self.partial / _SCRATCH, model, branches) as store:

            def tidy() -> Iterator[pa.Table]:
                for start, values in self._series_chunks(model):
                    store.add(start, values)
                    yield pa.Table.from_batches([series_batch(model, start, values)])

            write_gathered(self.partial / SERIES, series_schema(model), tidy(), SERIES_ROW_GROUP)
            yield store

    def discard(self) -> None:
        """Delete the partial directory of a run that cannot be finished, leaving nothing.

        The folders made for it go too, when empty, and the lock is released.
        """
        shutil.rmtree(self.partial, ignore_errors=True)
        self.lock.release(tidy=True)

    def close(self) -> None:
        """Release the lock: the writer is done with the directory, whatever state it is in."""
        self.lock.release()

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
            column = _column_reader(branches_file)
            if model.record is None:
                summary = summary_of(model, column, seed, branches)
            else:
                with self._gathered_series(model) as store:
                    summary = summary_of(model, column, seed, branches, series=store.column)
        _write_json(self.partial / SUMMARY, summary)
        self.manifest = complete_manifest(
            self.manifest, wall_seconds, executor=executor, workers=workers, stop_reason=stop_reason
        )
        _write_json(self.partial / MANIFEST, self.manifest)
        return self.publish()

    def publish(self) -> RunResult:
        """Drop the working files of a complete run and rename it to ``out``."""
        publish_partial(self.partial, self.out)
        self.lock.release()
        return RunResult(read_json(self.out / SUMMARY), self.manifest, self.out)


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
    check_cover(files, branches, where)
    return (pq.read_table(files[key], schema=schema) for key in sorted(files))


def check_cover(files: Mapping[tuple[int, int], Path], branches: int, where: Path) -> None:
    """Check that the chunk files ``(start, stop) -> path`` cover ``0..branches-1`` exactly."""
    ordered = sorted(files)
    stops = [0] + [stop for _, stop in ordered]
    if [start for start, _ in ordered] != stops[:-1] or stops[-1] != branches:
        raise RuntimeError(f"{where}: chunks {ordered} do not cover {branches} branches")


def write_gathered(
    path: Path, schema: pa.Schema, tables: Iterable[pa.Table], rows: int | None = None
) -> None:
    """Write ``tables``, one after the other, to the Parquet file ``path``, streaming.

    Row groups hold ``rows`` rows (default :data:`ROW_GROUP`) whatever the sizes of the
    tables, so the file is the same however its rows arrived; only one group's rows are
    held at a time.
    """
    rows = ROW_GROUP if rows is None else rows
    with pq.ParquetWriter(path, schema) as writer:
        for group in _regroup(tables, rows):
            writer.write_table(group, row_group_size=rows)


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
