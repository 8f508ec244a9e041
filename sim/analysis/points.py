"""Many settings of one scenario, run together: sweep points, variants, sensitivity samples.

A *setting* is a variant and a set of ``--set`` overrides. Every setting runs the same branch
numbers with the same seed, so the settings share random numbers wherever their structure
agrees (common random numbers): differences between them are not drowned in noise. All the
settings' chunks go to one executor as plain :class:`~sim.montecarlo.runner.Job` values, so one
progress report covers them all and the tables are the same whatever the executor.

This module also writes the directories of sweeps and sensitivity analyses, atomically as a
run directory is written: under ``<out>.partial`` first, renamed when complete. With
:func:`stream_settings` each batch goes to a chunk file there as it arrives, so that memory
does not grow with settings times branches.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine import DEFAULT_ENGINE, check_engine
from sim.engine.common import check_branches, check_seed
from sim.errors import UsageError
from sim.format.document import Document
from sim.format.scenario import Scenario
from sim.model.compile import compile_scenario, parse_scenario
from sim.model.compiled import CompiledModel, Value
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.directory import (
    _is_run_like,
    _publish,
    _write_json,
    check_replaceable,
    chunk_tables,
    default_directory,
    write_chunk,
)
from sim.montecarlo.executors import make_executor
from sim.montecarlo.jobs import Chunk, Job, chunk_batch, chunk_ranges, chunk_size_for
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import (
    MANIFEST,
    branch_schema,
    complete_manifest,
    make_manifest,
    make_summary,
    partial_path,
    read_json,
)
from sim.montecarlo.runner import Progress, check_model_engine
from sim.stats.differences import Arm

_CHUNKS = "chunks"
_CHUNK_NAME = re.compile(r"(\d+)-(\d+)-(\d+)\.parquet")

__all__ = [
    "Execution",
    "Setting",
    "SettingsDirectory",
    "SettingsRun",
    "analysis_manifest",
    "default_out",
    "first_positions",
    "open_directory",
    "outcome_means",
    "override_text",
    "point_summary",
    "power_of_two_exponent",
    "run_settings",
    "setting_notes",
    "stream_settings",
    "write_directory",
]

Overrides = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of a scenario: a variant (or the baseline) and ``--set`` overrides."""

    variant: str | None = None
    overrides: Overrides = ()


@dataclass(frozen=True, slots=True)
class SettingsRun:
    """The branch tables of every setting, in the order given, and where they ran."""

    tables: tuple[pa.Table, ...]
    executor: str
    workers: int


@dataclass(frozen=True, slots=True)
class Execution:
    """Where settings ran: the executor and its number of workers."""

    executor: str
    workers: int


def power_of_two_exponent(n: int, what: str) -> int:
    """Return ``m`` with ``n == 2**m`` (``n >= 2``), or refuse ``n`` naming the two nearest."""
    if n >= 2 and n & (n - 1) == 0:
        return n.bit_length() - 1
    low = 1 << max(1, n.bit_length() - 1)
    raise UsageError(f"{what} needs a power of two (at least 2), got {n}; use {low} or {2 * low}")


def override_text(value: Value) -> str:
    """Return a parameter value as ``--set`` reads it: ``true``/``false`` or a number."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return repr(float(value))


# --- the serial executor of many settings ------------------------------------------------------


class _SerialSettings:
    """Runs jobs of any setting in this process, compiling each setting once.

    The file is parsed and validated once; only the cheap compilation is repeated per
    setting. Jobs arrive grouped by setting, so only the latest model is kept.
    """

    def __init__(self, model: CompiledModel) -> None:
        self._base = model
        self._parsed: tuple[Document, Scenario] | None = None
        self._last: tuple[Setting, CompiledModel] | None = None

    def model(self, setting: Setting) -> CompiledModel:
        """Return the compiled model of ``setting``."""
        if setting == Setting(self._base.variant, self._base.overrides):
            return self._base
        if self._last is not None and self._last[0] == setting:
            return self._last[1]
        if self._parsed is None:
            if not self._base.source:
                raise UsageError(
                    "running settings of a scenario needs its text; "
                    "build the model with sim.model.compile.build_model or load_model"
                )
            self._parsed = parse_scenario(self._base.source, self._base.file, self._base.includes)
        doc, scenario = self._parsed
        model = compile_scenario(
            scenario, doc, variant=setting.variant, overrides=setting.overrides
        )
        self._last = setting, model
        return model

    def results(self, jobs: Iterable[Job]) -> Generator[tuple[Job, Chunk], None, None]:
        """Yield each job's chunk in turn."""
        for job in jobs:
            model = self.model(Setting(job.variant, job.overrides))
            yield job, chunk_batch(
                model, branch_schema(model), job.seed, job.start, job.stop, job.engine
            )


def setting_notes(model: CompiledModel, settings: Sequence[Setting]) -> list[str]:
    """The notes of compiling each setting (a correlation a variant drops, ...), in order."""
    if not model.correlations:  # only correlations make notes today; compiling costs time
        return list(model.notes)
    compiler = _SerialSettings(model)
    return [note for s in dict.fromkeys(settings) for note in compiler.model(s).notes]


def run_settings(
    model: CompiledModel,
    settings: Sequence[Setting],
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    engine: str = DEFAULT_ENGINE,
) -> SettingsRun:
    """Run branches ``0..branches-1`` of every setting with ``seed``; one table per setting.

    ``model`` is the scenario compiled as it is (its variant and overrides do not carry
    over: each setting states its own). ``progress`` gets ``(done, total)`` counted in
    branches over all settings. Identical settings run once.
    """
    batches: dict[Job, pa.RecordBatch] = {}

    def keep(job: Job, chunk: Chunk) -> None:
        batches[job] = chunk.rows

    ran = _run(
        model, settings, branches=branches, seed=seed, executor=executor, workers=workers,
        scheduler=scheduler, progress=progress, take=keep, engine=engine,
    )  # fmt: skip
    ranges = list(chunk_ranges(branches, chunk_size_for(engine, branches)))
    tables = {
        s: pa.Table.from_batches(
            [batches[Job(model.source, model.file, s.variant, s.overrides, seed, a, b,
                         model.includes, engine)]
             for a, b in ranges]
        )
        for s in dict.fromkeys(settings)
    }  # fmt: skip
    return SettingsRun(tuple(tables[s] for s in settings), ran.executor, ran.workers)


def stream_settings(
    model: CompiledModel,
    settings: Sequence[Setting],
    directory: SettingsDirectory,
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Execution:
    """Run every setting as :func:`run_settings` does, writing each batch to ``directory``.

    Each batch goes to its own chunk file the moment it arrives and is not kept, so memory
    does not grow with settings times branches; ``progress`` is called after the write. A
    setting's chunks are filed under the position of its first occurrence in ``settings``
    (see :func:`first_positions`); read them back with :meth:`SettingsDirectory.chunks`.
    """
    first = dict(zip(settings, first_positions(settings), strict=True))

    def write(job: Job, chunk: Chunk) -> None:
        directory.add(first[Setting(job.variant, job.overrides)], job.start, job.stop, chunk.rows)

    return _run(
        model, settings, branches=branches, seed=seed, executor=executor, workers=workers,
        scheduler=scheduler, progress=progress, take=write, engine=engine,
    )  # fmt: skip


def first_positions(settings: Sequence[Setting]) -> list[int]:
    """Return, for each setting, the position of its first occurrence in ``settings``."""
    first: dict[Setting, int] = {}
    return [first.setdefault(s, i) for i, s in enumerate(settings)]


def _run(
    model: CompiledModel,
    settings: Sequence[Setting],
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
    take: Callable[[Job, Chunk], None],
    engine: str = DEFAULT_ENGINE,
) -> Execution:
    """Run the chunks of every distinct setting, handing each batch to ``take`` as it arrives."""
    check_seed(seed)
    check_branches(branches)
    check_engine(engine)
    compiler = _SerialSettings(model)
    _check_first_of_each_variant(compiler, settings, engine)
    size = chunk_size_for(engine, branches)
    unique = list(dict.fromkeys(settings))
    # Jobs are made as the executor takes them: memory does not grow with the branches.
    jobs = (
        Job(model.source, model.file, s.variant, s.overrides, seed, a, b, model.includes, engine)
        for s in unique
        for a, b in chunk_ranges(branches, size)
    )
    total, done = len(unique) * branches, 0
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    with pool:
        # Serially, settings compile from the file parsed once: parsing costs ten times
        # what compiling does, and a sensitivity analysis has thousands of settings.
        serial = pool.kind is ExecutorKind.SERIAL
        finished = compiler.results(jobs) if serial else pool.results(jobs)
        if progress is not None:
            progress(done, total)
        with closing(finished):
            for job, chunk in finished:
                take(job, chunk)
                done += job.stop - job.start
                if progress is not None:
                    progress(done, total)
    return Execution(pool.kind.value, pool.workers)


def _check_first_of_each_variant(
    compiler: _SerialSettings, settings: Sequence[Setting], engine: str = DEFAULT_ENGINE
) -> None:
    """Compile the first setting of each variant here, so that a bad one fails cleanly
    (and one the engine cannot run is refused by name).

    Settings of one variant differ only in the values of overrides, which the callers check
    against each parameter's type and support; one compilation finds any other problem
    before workers see it.
    """
    seen: set[str | None] = set()
    for setting in settings:
        if setting.variant not in seen:
            seen.add(setting.variant)
            check_model_engine(compiler.model(setting), engine)


# --- summaries of a setting --------------------------------------------------------------------


def point_summary(model: CompiledModel, table: pa.Table) -> dict[str, float]:
    """Return each outcome's estimate and 95% interval: ``NAME``, ``NAME_ci_low``, ``..._high``.

    The estimates are those of ``summary.json``; an undefined one (a median never reached)
    is NaN. Each category of a ``first_of`` outcome is a proportion of its own, named
    ``NAME__LABEL``.
    """
    summary = make_summary(model, table, seed=0, branches=table.num_rows)["outcomes"]
    row: dict[str, float] = {}
    for outcome in model.outcomes:
        entry = summary[outcome.name]
        parts = [(outcome.name, entry)]
        if outcome.kind == "first_of":
            parts = [(f"{outcome.name}__{c}", e) for c, e in entry["categories"].items()]
        for name, found in parts:
            row[name] = _float(found["estimate"])
            row[f"{name}_ci_low"] = _float(found["ci_low"])
            row[f"{name}_ci_high"] = _float(found["ci_high"])
    return row


def outcome_means(model: CompiledModel, table: pa.Table) -> dict[str, float]:
    """Return the mean of each numeric outcome over a setting's branches.

    A probability outcome gives the share of branches where it holds, and each category of
    a ``first_of`` outcome (named ``NAME__LABEL``) the share where it came first; a time
    outcome the mean time with branches where nothing happened counted at their end
    (``t_end``), the restricted mean of a single branch; a ``given`` condition restricts
    the mean to the branches where it held; NaN values are left out.
    """
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    means: dict[str, float] = {}
    for outcome in model.outcomes:
        names: list[tuple[str, str | None]] = [(outcome.name, None)]
        if outcome.kind == "first_of":
            names = [(f"{outcome.name}__{c}", c) for c in outcome.labels]
        for name, category in names:
            arm = Arm(
                columns[outcome.name],
                t_end=columns["t_end"],
                start=columns.get(outcome.name + FROM_SUFFIX),
                given=columns.get(outcome.name + GIVEN_SUFFIX),
                category=category,
                stops=model.stop_when is not None,
            )
            if outcome.kind in ("time_to", "time_between"):
                values = arm.timeline(model.horizon)[0]
            else:
                values = arm.numbers()
            values = values[arm.members()]
            known = values[~np.isnan(values)]
            means[name] = float(np.mean(known)) if known.size else float("nan")
    return means


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


# --- directories -------------------------------------------------------------------------------


def default_out(model: CompiledModel, kind: str) -> Path:
    """Return the default directory of an analysis: ``results/NAME[__VARIANT][__P=V...]__KIND``."""
    return default_directory(model, kind)


def analysis_manifest(
    model: CompiledModel,
    ran: SettingsRun | Execution,
    *,
    kind: str,
    seed: int,
    branches: int,
    started_at: str,
    wall_seconds: float,
    engine: str = DEFAULT_ENGINE,
) -> dict[str, Any]:
    """Return the manifest of a finished analysis: a run's manifest, with its ``kind``.

    ``branches`` is the branch count of each setting.
    """
    manifest = make_manifest(
        model, seed=seed, branches=branches, executor=ran.executor, workers=ran.workers,
        chunk_size=chunk_size_for(engine, branches), started_at=started_at,
    )  # fmt: skip
    done = complete_manifest(manifest, wall_seconds, executor=ran.executor, workers=ran.workers)
    return {"kind": kind, **done, "engine": engine}


def open_directory(directory: str | Path, kind: str) -> dict[str, Any]:
    """Return the manifest of the complete ``kind`` directory in ``directory``, or refuse it."""
    path = Path(directory)
    if not (path / MANIFEST).is_file():
        raise UsageError(f"{path}: not a {kind} directory (it has no {MANIFEST})")
    manifest = read_json(path / MANIFEST)
    if manifest.get("kind") != kind or manifest.get("status") != "complete":
        raise UsageError(f"{path}: not a complete {kind} directory")
    return manifest


def write_directory(out: Path, manifest: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> Path:
    """Write ``tables`` (file name -> table) and ``manifest.json`` into ``out``, atomically.

    Everything is written under ``<out>.partial`` with the manifest saying ``"incomplete"``
    first and ``"complete"`` last, then renamed to ``out``, replacing an earlier directory
    that sim wrote there.
    """
    return SettingsDirectory.create(out, manifest).finish(manifest, tables)


class SettingsDirectory:
    """Writes the directory of an analysis: chunks of every setting as they arrive, then files.

    Everything goes under ``<out>.partial``: chunk files in ``chunks/``, named
    ``<setting>-<start>-<stop>.parquet``, then the final files; :meth:`finish` drops the
    chunks, marks the manifest complete and renames the directory to ``out``.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.partial = partial_path(out)

    @classmethod
    def create(cls, out: Path, manifest: Mapping[str, Any]) -> SettingsDirectory:
        """Start a fresh ``<out>.partial`` whose manifest (``manifest``) says ``"incomplete"``.

        ``out`` must be empty or an earlier result of the manifest's ``kind``, since it will
        be replaced; a leftover ``<out>.partial`` that sim wrote is cleared.
        """
        directory = cls(out)
        check_replaceable(out, str(manifest["kind"]))
        if directory.partial.exists():
            if not _is_run_like(directory.partial):
                raise UsageError(
                    f"{directory.partial}: exists and is not an incomplete sim directory"
                )
            shutil.rmtree(directory.partial)
        (directory.partial / _CHUNKS).mkdir(parents=True)
        _write_json(directory.partial / MANIFEST, {**manifest, "status": "incomplete"})
        return directory

    def add(self, setting: int, start: int, stop: int, batch: pa.RecordBatch) -> None:
        """Write the batch of branches ``start..stop-1`` of ``setting`` to its own file."""
        if batch.num_rows != stop - start:
            raise RuntimeError(f"chunk {start}..{stop} came back with {batch.num_rows} rows")
        name = f"{setting:06d}-{start:012d}-{stop:012d}.parquet"
        write_chunk(self.partial / _CHUNKS / name, batch)

    def chunks(self, setting: int, branches: int, schema: pa.Schema) -> Iterator[pa.Table]:
        """Return an iterator over the chunks of ``setting``, read in branch order."""
        files = {}
        for path in (self.partial / _CHUNKS).glob(f"{setting:06d}-*.parquet"):
            match = _CHUNK_NAME.fullmatch(path.name)
            if match and int(match[1]) == setting:
                files[int(match[2]), int(match[3])] = path
        return chunk_tables(files, branches, schema, self.partial / _CHUNKS)

    def finish(self, manifest: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> Path:
        """Write ``tables`` and the complete ``manifest``, then rename the directory to ``out``."""
        for name, table in tables.items():
            pq.write_table(table, self.partial / name)
        shutil.rmtree(self.partial / _CHUNKS, ignore_errors=True)
        _write_json(self.partial / MANIFEST, {**manifest, "status": "complete"})
        _publish(self.partial, self.out)
        return self.out

    def discard(self) -> None:
        """Delete the partial directory of an analysis that cannot be finished."""
        shutil.rmtree(self.partial, ignore_errors=True)
