"""Monte Carlo runs: rounds of chunks sent to an executor, and the one writer in the parent.

Chunks come back as Arrow record batches in whatever order they finish, and one sink in the
parent (memory, or a run directory) puts them in branch order. A run is one round of chunks,
or, with a target precision (:mod:`sim.montecarlo.precision`), as many rounds as it takes; a
round is decided only once every branch before it is in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.engine import DEFAULT_ENGINE, check_engine
from sim.engine.common import check_branches, check_seed
from sim.errors import SimError, UsageError
from sim.model.compile import build_model, load_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.directory import RunDirectory, StorageError
from sim.montecarlo.executors import Executor, ExecutorError, make_executor
from sim.montecarlo.jobs import Job, branches_within, chunk_size_for, missing_ranges
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.observations import catalog_of_model, parse_observations
from sim.montecarlo.precision import Decision, TargetCI, target_ci_rule
from sim.montecarlo.results import (
    MemorySink,
    RunResult,
    Sink,
    branch_schema,
    complete_manifest,
    include_digests,
    make_manifest,
    make_summary,
    now_iso,
    sim_version,
)
from sim.montecarlo.series import record_samples, series_batch

__all__ = ["Progress", "resume", "run"]

Progress = Callable[[int, int], None]
"""A progress callback: ``progress(branches_done, branches_total)``."""


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


def check_model_engine(model: CompiledModel, engine: str) -> None:
    """Refuse an unknown engine, and a model the chosen engine cannot run (by name)."""
    if check_engine(engine) == "batch":
        from sim.engine.batch import check_supported

        check_supported(model)


def _check_plan(branches: int, seed: int, chunk_size: int | None) -> None:
    """Check the run's numbers."""
    check_seed(seed)
    check_branches(branches)
    if chunk_size is not None and chunk_size < 1:
        raise UsageError(f"chunk size must be at least 1, got {chunk_size}")


def _drive(
    executor: Executor,
    jobs: Iterable[Job],
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
        for job, chunk in results:
            sink.add(job.start, job.stop, chunk)
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
            finished = self.sink.finished_ranges()
            engine = str(self.manifest.get("engine", "simpy"))
            # Jobs are made as the executor takes them: memory does not grow with `total`.
            jobs = (
                Job.for_model(self.model, self.seed, a, b, engine)
                for a, b in missing_ranges(finished, total, chunk_size)
            )
            _drive(executor, jobs, self.sink, branches_within(finished, total), total, progress)
            if self.rule is None:
                return None
            counts: dict[str, int | tuple[int, int]] = dict(self.sink.count(self.rule.targets))
            decision = self.rule.decide(counts, total)
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
    engine: str = DEFAULT_ENGINE,
    given: Sequence[str] = (),
) -> RunResult:
    """Run ``branches`` branches of a scenario and return the results.

    ``scenario`` is a scenario file or a compiled model. With ``out`` the run directory is
    written there atomically (replacing an earlier run directory only once this run is
    complete); without it nothing is written and the table stays in memory. ``progress`` is
    called with ``(branches_done, branches_total)`` at the start and after every chunk.

    With ``target_ci`` the run goes on in rounds until the 95% interval of every probability
    outcome has a half-width of at most ``target_ci``, or it has ``max_branches`` branches
    (default 1,000,000); ``branches`` is the first round, and the manifest's
    ``stop_reason`` says why it stopped (see :mod:`sim.montecarlo.precision`). ``given``
    holds observations (``NAME[=true|false][@DATE|TIME]``, see
    :mod:`sim.montecarlo.observations`): the target then applies to the probabilities among
    the branches that match them, and the manifest records them.

    ``engine`` is ``simpy`` (the reference) or ``batch`` (numpy, many times faster; its
    rows differ, its distributions do not); the manifest records it and a resumed run uses
    it again.
    """
    model = _compiled(scenario, variant, overrides)
    _check_plan(branches, seed, chunk_size)
    check_model_engine(model, engine)
    observed = parse_observations(given, catalog_of_model(model), "--given") if given else ()
    rule = target_ci_rule(model, target_ci, max_branches, branches, observed)
    started, clock = now_iso(), time.perf_counter()
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    # A run with rounds cuts each round by its own default size, unless told a size.
    size = chunk_size or (
        chunk_size_for(engine, branches, record_samples(model))
        if rule is None or engine == "batch"
        else None
    )
    manifest = make_manifest(
        model, seed=seed, branches=branches, executor=pool.kind.value, workers=pool.workers,
        chunk_size=size, started_at=started, target_ci=target_ci,
        max_branches=None if rule is None else rule.max_branches,
    )  # fmt: skip
    manifest["engine"] = engine
    if given:
        manifest["given"] = list(given)
    if out is None:
        memory = MemorySink(branch_schema(model))
        rounds = _Rounds(model, seed, rule, memory, manifest, None)
        with pool:
            reason = rounds.go(pool, progress)
        table, series = memory.table(), memory.series()
        summary = make_summary(model, table, seed=seed, branches=table.num_rows, series=series)
        done = complete_manifest(
            rounds.manifest, time.perf_counter() - clock, executor=pool.kind.value,
            workers=pool.workers, stop_reason=reason,
        )  # fmt: skip
        tidy = None if series is None else pa.Table.from_batches([series_batch(model, 0, series)])
        return RunResult(summary, done, None, table, tidy)
    directory = RunDirectory.create(Path(out), manifest, model.source, model.includes)
    try:
        return _finish(
            _Rounds(model, seed, rule, directory, manifest, directory), pool, progress, clock
        )
    except ExecutorError as error:
        raise ExecutorError(
            f"{error}; the incomplete run is in {directory.partial}; "
            f"finish it with 'sim run --resume {out}'"
        ) from None
    except OSError as error:  # a full disk: the chunks written so far are kept
        raise StorageError.of(error, directory.partial, f"sim run --resume {out}") from None
    except SimError:
        # A model error (a branch that divides by zero) happens again on every resume: its
        # partial directory is of no use. Interruptions and failed workers keep theirs.
        directory.discard()
        raise
    finally:
        directory.close()


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
    try:
        return _resume(writer, executor, workers, scheduler, progress)
    except OSError as error:
        raise StorageError.of(error, writer.partial, f"sim run --resume {writer.out}") from None
    finally:
        writer.close()


def _resume(
    writer: RunDirectory,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
) -> RunResult:
    """Finish the incomplete run that ``writer`` reopened (and holds the lock of)."""
    if writer.complete:
        return writer.publish()
    directory = writer.out
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
        includes=writer.includes(),
    )
    if model.source_sha256 != plan["sha256"] or include_digests(model) != plan.get("includes", {}):
        raise UsageError(f"{writer.partial}: the kept scenario text does not match its sha256")
    check_model_engine(model, str(plan.get("engine", "simpy")))
    rounds = plan.get("rounds") or []
    first = int(rounds[0]["branches"] if rounds else plan["branches"])
    given = [str(text) for text in plan.get("given") or ()]
    observed = parse_observations(given, catalog_of_model(model), "--given") if given else ()
    rule = target_ci_rule(model, plan.get("target_ci"), plan.get("max_branches"), first, observed)
    clock = time.perf_counter()
    pool = make_executor(executor, model, workers=workers, scheduler=scheduler)
    state = _Rounds(model, int(plan["seed"]), rule, writer, plan, writer)
    return _finish(state, pool, progress, clock)
