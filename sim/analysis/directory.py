"""The directories of analyses (sweeps, comparisons, sensitivity): written as runs are, resumable.

An analysis runs many settings of one scenario (:mod:`sim.analysis.points`). Written to a
directory, it goes under ``<out>.partial`` first: the manifest says ``"incomplete"`` and
holds the *plan* (everything needed to run the analysis again: the seed, the branches, the
design or the variants), the scenario text and the texts it includes sit beside it, and
each batch of branches lands in ``chunks/`` as it arrives. Only a complete analysis is
gathered, marked ``"complete"`` and renamed to ``<out>``. An interrupted one leaves
``<out>.partial``, which ``sim sweep --resume``, ``sim compare --resume`` and ``sim
sensitivity --resume`` finish: they rebuild the settings from the plan and run only the
chunks that are missing, so the result is the one an uninterrupted analysis writes.

While it writes, the process holds the directory's lock (:mod:`sim.montecarlo.lock`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.directory import (
    _INCLUDES,
    _SOURCE,
    StorageError,
    _is_run_like,
    _write_json,
    check_replaceable,
    chunk_tables,
    make_partial,
    publish_partial,
    write_chunk,
)
from sim.montecarlo.lock import DirectoryLock
from sim.montecarlo.results import (
    MANIFEST,
    PARTIAL,
    include_digests,
    partial_path,
    read_json,
    sim_version,
)

__all__ = ["KINDS", "SettingsDirectory", "analysis_plan", "resume_command"]

KINDS = ("sweep", "compare", "sensitivity")
_CHUNKS = "chunks"
_CHUNK_NAME = re.compile(r"(\d+)-(\d+)-(\d+)\.parquet")
# A bundle: the branches start..stop of several settings that ran in one batch (the batch
# engine runs the sample rows of a sensitivity analysis or the points of a sweep together),
# in one file with a column that says which setting each row belongs to. One file per batch
# rather than one per setting: a Sobol analysis has tens of thousands of settings of a
# branch or two, and writing and reading back a file each cost more than running them.
_BUNDLE_NAME = re.compile(r"b(\d+)-(\d+)-(\d+)\.parquet")
_SETTING = "__setting__"
_NOUNS = {"sweep": "sweep", "compare": "comparison", "sensitivity": "sensitivity analysis"}


def resume_command(kind: str, out: Path) -> str:
    """Return the command that finishes the interrupted analysis of ``kind`` in ``out``."""
    if kind == "compare":
        return f"sim compare --resume {out}"
    return f"sim {kind} --resume {out}"


def analysis_plan(
    model: CompiledModel, *, seed: int, branches: int, **details: Any
) -> dict[str, Any]:
    """Return the plan of an analysis of ``model``: what a resume needs to run it again.

    ``details`` is what the kind adds (the design of a sweep, the variants of a comparison,
    the method of a sensitivity analysis); it must be plain JSON.
    """
    return {
        "file": model.file,
        "variant": model.variant,
        "overrides": [list(pair) for pair in model.overrides],
        "sha256": model.source_sha256,
        "includes": include_digests(model),
        "seed": seed,
        "branches": branches,
        **details,
    }


class SettingsDirectory:
    """Writes the directory of an analysis: chunks of every setting as they arrive, then files.

    Everything goes under ``<out>.partial``: chunk files in ``chunks/``, named
    ``<setting>-<start>-<stop>.parquet``, then the final files; :meth:`finish` drops the
    working files, marks the manifest complete and renames the directory to ``out``. The
    writer holds the directory's lock from :meth:`create` or :meth:`reopen` until
    :meth:`finish`, :meth:`discard` or :meth:`close`.
    """

    def __init__(self, out: Path, manifest: dict[str, Any], lock: DirectoryLock) -> None:
        self.out = out
        self.partial = partial_path(out)
        self.manifest = manifest
        self.lock = lock
        self._index: dict[int, dict[tuple[int, int], Path | tuple[Path, int]]] | None = None
        self._bundle: tuple[Path, pa.Table] | None = None  # the bundle read last

    @property
    def kind(self) -> str:
        """The kind of analysis: ``sweep``, ``compare`` or ``sensitivity``."""
        return str(self.manifest["kind"])

    @property
    def plan(self) -> dict[str, Any]:
        """The plan the analysis was started with (see :func:`analysis_plan`)."""
        plan = self.manifest.get("plan")
        if not isinstance(plan, dict):
            raise UsageError(f"{self.partial}: the incomplete {self.kind} has no plan to resume")
        return plan

    @classmethod
    def create(
        cls, out: Path, kind: str, model: CompiledModel, plan: Mapping[str, Any], started_at: str
    ) -> SettingsDirectory:
        """Start a fresh ``<out>.partial`` for an analysis of ``kind`` following ``plan``.

        ``out`` must be empty or an earlier result of the same kind, since it will be
        replaced. A leftover ``<out>.partial`` of an interrupted analysis is never discarded
        silently: it holds work that ``--resume`` can finish.
        """
        lock = DirectoryLock(out)
        lock.acquire(make_folders=True)  # before looking: another writer may be at work
        manifest = {
            "kind": kind, "status": "incomplete", "scenario": model.name,
            "sim_version": sim_version(), "started_at": started_at, "plan": dict(plan),
        }  # fmt: skip
        directory = cls(out, manifest, lock)
        made = False
        try:
            check_replaceable(out, kind)
            directory._clear_leftover()
            made = True
            make_partial(directory.partial, manifest, model.source, model.includes)
        except OSError as error:
            if made:  # a fresh directory that could not be written (a full disk): no use
                shutil.rmtree(directory.partial, ignore_errors=True)
            lock.release(tidy=True)
            raise StorageError(f"{out}: cannot write it: {error.strerror or error}") from None
        except BaseException:
            if made:  # a fresh directory that could not be written (a full disk): no use
                shutil.rmtree(directory.partial, ignore_errors=True)
            lock.release(tidy=True)
            raise
        return directory

    def _clear_leftover(self) -> None:
        """Remove a leftover ``<out>.partial`` that holds no work; refuse one that does."""
        if not self.partial.exists():
            return
        if not _is_run_like(self.partial):
            raise UsageError(f"{self.partial}: exists and is not an incomplete sim directory")
        chunks = self.partial / _CHUNKS
        if chunks.is_dir() and any(chunks.iterdir()):
            found = str(read_json(self.partial / MANIFEST).get("kind", "run"))
            finish = resume_command(found, self.out) if found in KINDS else "sim run --resume"
            raise UsageError(
                f"{self.partial}: an interrupted {_NOUNS.get(found, found)} is there; finish "
                f"it with '{finish}', or delete that folder to start afresh"
            )
        shutil.rmtree(self.partial)

    @classmethod
    def reopen(cls, directory: Path, kind: str | None = None) -> SettingsDirectory:
        """Reopen the interrupted analysis in ``directory`` (``<out>`` or ``<out>.partial``).

        With ``kind``, refuse an analysis of another kind.
        """
        name = directory.name
        out = (
            directory.with_name(name.removesuffix(PARTIAL)) if name.endswith(PARTIAL) else directory
        )
        partial = partial_path(out)
        lock = DirectoryLock(out)
        if partial.parent.is_dir():
            lock.acquire()  # before looking: the analysis may in fact still be running
        try:
            manifest = _incomplete_manifest(out, partial, kind)
            found = cls(out, manifest, lock)
            if manifest.get("sim_version") != sim_version():
                raise UsageError(
                    f"{out}: the {_NOUNS[found.kind]} was started with sim "
                    f"{manifest.get('sim_version')}, this is sim {sim_version()}; its rows "
                    "could differ, so run it again instead"
                )
        except BaseException:
            lock.release()
            raise
        return found

    def model(self) -> CompiledModel:
        """Return the scenario compiled as the analysis was started: its kept text, settings."""
        plan = self.plan
        source = (self.partial / _SOURCE).read_text(encoding="utf-8")
        includes_file = self.partial / _INCLUDES
        includes = read_json(includes_file) if includes_file.is_file() else {}
        model = build_model(
            source,
            str(plan["file"]),
            variant=plan["variant"],
            overrides=tuple((str(k), str(v)) for k, v in plan["overrides"]),
            includes=tuple((str(k), str(v)) for k, v in includes.items()),
        )
        if model.source_sha256 != plan["sha256"] or include_digests(model) != plan["includes"]:
            raise UsageError(f"{self.partial}: the kept scenario text does not match its sha256")
        return model

    def finished(self) -> dict[int, set[tuple[int, int]]]:
        """Return the branch ranges written so far, by setting."""
        return {
            setting: set(files) for setting, files in self._files().items()
        }

    def _files(self) -> dict[int, dict[tuple[int, int], Path | tuple[Path, int]]]:
        """Index the chunk files: by setting, each branch range's file, or bundle and place."""
        found: dict[int, dict[tuple[int, int], Path | tuple[Path, int]]] = {}
        for path in (self.partial / _CHUNKS).iterdir():
            match = _CHUNK_NAME.fullmatch(path.name)
            if match:
                found.setdefault(int(match[1]), {})[int(match[2]), int(match[3])] = path
                continue
            match = _BUNDLE_NAME.fullmatch(path.name)
            if match:
                key = (int(match[2]), int(match[3]))
                column = pq.read_table(path, columns=[_SETTING]).column(0).to_numpy()
                settings, first = np.unique(column, return_index=True)
                for setting, place in zip(settings.tolist(), first.tolist(), strict=True):
                    found.setdefault(int(setting), {})[key] = (path, int(place))
        return found

    def add(self, setting: int, start: int, stop: int, batch: pa.RecordBatch) -> None:
        """Write the batch of branches ``start..stop-1`` of ``setting`` to its own file."""
        if batch.num_rows != stop - start:
            raise RuntimeError(f"chunk {start}..{stop} came back with {batch.num_rows} rows")
        name = f"{setting:06d}-{start:012d}-{stop:012d}.parquet"
        write_chunk(self.partial / _CHUNKS / name, batch)
        self._index = None

    def add_bundle(
        self, settings: Sequence[int], start: int, stop: int, batch: pa.RecordBatch
    ) -> None:
        """Write the branches ``start..stop-1`` of each of ``settings`` (one after the other
        in ``batch``, as a batch of several points holds them) to one file."""
        n = stop - start
        if batch.num_rows != n * len(settings):
            raise RuntimeError(
                f"a batch of {len(settings)} settings x {start}..{stop} came back with "
                f"{batch.num_rows} rows"
            )
        column = pa.array(np.repeat(np.asarray(settings, dtype=np.int64), n))
        rows = pa.RecordBatch.from_arrays(
            [*batch.columns, column], names=[*batch.schema.names, _SETTING]
        )
        name = f"b{settings[0]:06d}-{start:012d}-{stop:012d}.parquet"
        write_chunk(self.partial / _CHUNKS / name, rows)
        self._index = None

    def chunks(self, setting: int, branches: int, schema: pa.Schema) -> Iterator[pa.Table]:
        """Return an iterator over the chunks of ``setting``, read in branch order."""
        if self._index is None:  # the folder is listed once: a sensitivity has many settings
            self._index = self._files()
        files = self._index.get(setting, {})
        plain = {key: f for key, f in files.items() if isinstance(f, Path)}
        if len(plain) == len(files):
            return chunk_tables(plain, branches, schema, self.partial / _CHUNKS)
        names = {key: Path(f"{key[0]}-{key[1]}") for key in files}  # checks the ranges only
        chunk_tables(names, branches, schema, self.partial / _CHUNKS)
        return (self._part(files[key], key, schema) for key in sorted(files))

    def _part(
        self, where: Path | tuple[Path, int], key: tuple[int, int], schema: pa.Schema
    ) -> pa.Table:
        """Read one chunk of a setting: a file of its own, or its rows of a bundle."""
        if isinstance(where, Path):
            return pq.read_table(where, schema=schema)
        path, place = where
        if self._bundle is None or self._bundle[0] != path:  # bundles are read in order
            self._bundle = (path, pq.read_table(path))
        table = self._bundle[1].slice(place, key[1] - key[0]).drop_columns([_SETTING])
        return table.cast(schema) if table.schema != schema else table

    def table(self, setting: int, branches: int, schema: pa.Schema) -> pa.Table:
        """Return the branch table of ``setting``, gathered from its chunks."""
        return pa.concat_tables(self.chunks(setting, branches, schema))

    def finish(self, manifest: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> Path:
        """Write ``tables`` and the complete ``manifest``, then rename the directory to ``out``."""
        for name, table in tables.items():
            pq.write_table(table, self.partial / name)
        # Complete before the working files go: a process killed from here on leaves a
        # partial directory that a resume only has to publish.
        _write_json(self.partial / MANIFEST, {**manifest, "status": "complete"})
        return self.publish()

    @property
    def complete(self) -> bool:
        """Whether the final files are written and only the rename is left."""
        return bool(self.manifest.get("status") == "complete")

    def publish(self) -> Path:
        """Drop the working files of a complete analysis and rename it to ``out``."""
        publish_partial(self.partial, self.out)
        self.lock.release()
        return self.out

    def discard(self) -> None:
        """Delete the partial directory of an analysis that cannot be finished, leaving nothing."""
        shutil.rmtree(self.partial, ignore_errors=True)
        self.lock.release(tidy=True)

    def close(self) -> None:
        """Release the lock: the writer is done with the directory, whatever state it is in."""
        self.lock.release()


def _incomplete_manifest(out: Path, partial: Path, kind: str | None) -> dict[str, Any]:
    """Return the manifest of the interrupted analysis in ``partial``, or refuse."""
    what = _NOUNS.get(kind or "", "analysis")
    if not (partial / MANIFEST).is_file():
        if (out / MANIFEST).is_file():
            raise UsageError(f"{out}: the {what} is already complete; nothing to resume")
        raise UsageError(f"{out}: no incomplete {what} to resume (no {partial})")
    manifest = read_json(partial / MANIFEST)
    found = manifest.get("kind")
    if found not in KINDS or (kind is not None and found != kind):
        hint = resume_command(str(found), out) if found in KINDS else "sim run --resume"
        raise UsageError(
            f"{partial}: holds an interrupted {_NOUNS.get(str(found), 'run')}; "
            f"finish it with '{hint}'"
        )
    if manifest.get("status") == "complete":
        return manifest  # killed between its final files and the rename: publish it
    if not (partial / _SOURCE).is_file() or not (partial / _CHUNKS).is_dir():
        raise UsageError(f"{partial}: the incomplete {what} lacks its scenario text or chunks")
    return manifest
