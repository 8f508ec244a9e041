"""Many settings of one scenario, run together: sweep points, variants, sensitivity samples.

A *setting* is a variant and a set of ``--set`` overrides. Every setting runs the same branch
numbers with the same seed, so the settings share random numbers wherever their structure
agrees (common random numbers): differences between them are not drowned in noise. All the
settings' chunks go to one executor as plain :class:`~sim.montecarlo.runner.Job` values, so one
progress report covers them all and the tables are the same whatever the executor.

With :func:`stream_settings` each batch goes to a chunk file of an analysis directory
(:mod:`sim.analysis.directory`) as it arrives, so that memory does not grow with settings
times branches, and an interrupted analysis can be resumed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from sim.analysis.directory import SettingsDirectory, resume_command
from sim.engine import DEFAULT_ENGINE, check_engine
from sim.engine.common import check_branches, check_seed
from sim.errors import SimError, UsageError
from sim.format.document import Document
from sim.format.scenario import Scenario
from sim.model.compile import compile_scenario, parse_scenario
from sim.model.compiled import CompiledModel, Value
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.directory import StorageError, default_directory
from sim.montecarlo.executors import ExecutorError, make_executor
from sim.montecarlo.jobs import (
    Chunk,
    Job,
    batch_chunk_size,
    branches_within,
    chunk_ranges,
    chunk_size_for,
    missing_ranges,
    plain_value,
    run_job_on,
    split_points,
)
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import (
    MANIFEST,
    complete_manifest,
    make_manifest,
    make_summary,
    read_json,
)
from sim.montecarlo.runner import Progress, check_model_engine
from sim.stats.differences import Arm

_CHUNKS = "chunks"
_CHUNK_NAME = re.compile(r"(\d+)-(\d+)-(\d+)\.parquet")

__all__ = [
    "Execution",
    "Setting",
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
    "stream_to",
]

Overrides = tuple[tuple[str, str], ...]
T = TypeVar("T")


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
            yield job, run_job_on(self.model(Setting(job.variant, job.overrides)), job)


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
    Chunks already in ``directory`` (an interrupted analysis) are not run again.
    """
    first = dict(zip(settings, first_positions(settings), strict=True))
    written = directory.finished()
    # A resumed analysis runs only the chunks that are not written yet.
    finished = {setting: written.get(position, set()) for setting, position in first.items()}

    def write(job: Job, chunk: Chunk) -> None:
        directory.add(first[Setting(job.variant, job.overrides)], job.start, job.stop, chunk.rows)

    def write_bundle(job: Job, chunk: Chunk) -> None:
        positions = [first[Setting(job.variant, point)] for point in job.points]
        directory.add_bundle(positions, job.start, job.stop, chunk.rows)

    return _run(
        model, settings, branches=branches, seed=seed, executor=executor, workers=workers,
        scheduler=scheduler, progress=progress, take=write, engine=engine, written=finished,
        bundle=write_bundle,
    )  # fmt: skip


def stream_to(
    directory: SettingsDirectory,
    model: CompiledModel,
    settings: Sequence[Setting],
    finish: Callable[[Execution], T],
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
    engine: str = DEFAULT_ENGINE,
) -> T:
    """Run ``settings`` into the analysis ``directory``, then ``finish(execution)`` it.

    An interruption (Ctrl-C, SIGTERM) or workers that fail keep the incomplete directory
    for a resume; a model error, which a resume would meet again, leaves nothing.
    """
    try:
        ran = stream_settings(
            model, settings, directory, branches=branches, seed=seed, executor=executor,
            workers=workers, scheduler=scheduler, progress=progress, engine=engine,
        )  # fmt: skip
        return finish(ran)
    except ExecutorError as error:
        raise ExecutorError(
            f"{error}; the incomplete {directory.kind} is in {directory.partial}; finish it "
            f"with '{resume_command(directory.kind, directory.out)}'"
        ) from None
    except OSError as error:  # a full disk: the chunks written so far are kept
        resume = resume_command(directory.kind, directory.out)
        raise StorageError.of(error, directory.partial, resume) from None
    except SimError:
        directory.discard()
        raise
    finally:
        directory.close()


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
    written: Mapping[Setting, set[tuple[int, int]]] | None = None,
    bundle: Callable[[Job, Chunk], None] | None = None,
) -> Execution:
    """Run the chunks of every distinct setting, handing each batch to ``take`` as it arrives.

    ``written`` holds, by setting, the branch ranges already run: only the rest run. A
    batch of several settings (``Job.points``) goes whole to ``bundle`` where it is given,
    else to ``take`` one setting at a time.
    """
    check_seed(seed)
    check_branches(branches)
    check_engine(engine)
    compiler = _SerialSettings(model)
    _check_first_of_each_variant(compiler, settings, engine)
    size = chunk_size_for(engine, branches)
    unique = list(dict.fromkeys(settings))
    have = written or {}
    # Jobs are made as the executor takes them: memory does not grow with the branches.
    jobs = _jobs(model, unique, seed, branches, size, engine, have)
    total = len(unique) * branches
    done = sum(branches_within(have.get(s, set()), branches) for s in unique)
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    with pool:
        # Serially, settings compile from the file parsed once: parsing costs ten times
        # what compiling does, and a sensitivity analysis has thousands of settings.
        serial = pool.kind is ExecutorKind.SERIAL
        finished = compiler.results(jobs) if serial else pool.results(jobs)
        if progress is not None:
            progress(done, total)
        with closing(finished):
            for whole, chunk in finished:
                if bundle is not None and whole.points:
                    bundle(whole, chunk)
                    done += (whole.stop - whole.start) * len(whole.points)
                    if progress is not None:
                        progress(done, total)
                    continue
                for job, part in split_points(whole, chunk):
                    take(job, part)
                    done += job.stop - job.start
                if progress is not None:
                    progress(done, total)
    return Execution(pool.kind.value, pool.workers)


def _jobs(
    model: CompiledModel,
    settings: Sequence[Setting],
    seed: int,
    branches: int,
    size: int,
    engine: str,
    have: Mapping[Setting, set[tuple[int, int]]],
) -> Iterator[Job]:
    """The jobs that run the branches of ``0..branches-1`` of every setting not in ``have``.

    The batch engine runs settings that differ only in plain values of the parameters they
    fix (sample rows of a sensitivity analysis, points of a sweep) together: each job holds
    as many of them as a chunk holds branches (see ``Job.points``). Their rows are the
    same as when each runs alone. A setting that has run some of its branches already
    runs the rest alone.
    """

    def job(s: Setting, a: int, b: int, points: tuple[Overrides, ...] = ()) -> Job:
        return Job(
            model.source, model.file, s.variant, s.overrides, seed, a, b, model.includes,
            engine, points,
        )  # fmt: skip

    groups: dict[tuple[Any, ...], list[Setting]] = {}
    for s in settings:
        if engine != "batch" or have.get(s):
            missing = missing_ranges(have.get(s, set()), branches, size)
            yield from (job(s, a, b) for a, b in missing)
        else:
            groups.setdefault(_group_key(s), []).append(s)
    for key, members in groups.items():
        for a, b in chunk_ranges(branches, size):
            if key[0] == "alone":  # a setting that shares its batch with no other
                yield from (job(s, a, b) for s in members)
                continue
            per_job = max(1, batch_chunk_size(len(members) * (b - a)) // (b - a))
            for i in range(0, len(members), per_job):
                part = members[i : i + per_job]
                points = tuple(s.overrides for s in part) if len(part) > 1 else ()
                yield job(part[0], a, b, points)


def _group_key(setting: Setting) -> tuple[Any, ...]:
    """Settings with the same key differ only in plain values of the parameters they fix;
    a key starting with "alone" is a setting of its own."""
    names = tuple(name for name, _ in setting.overrides)
    fixed = tuple(text if plain_value(text) is None else None for _, text in setting.overrides)
    if len(set(names)) != len(names):
        return ("alone", setting)
    return ("shared", setting.variant, names, fixed)


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
