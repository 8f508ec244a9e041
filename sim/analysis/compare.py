"""Comparisons of runs: each outcome's estimate in every run and its difference to a baseline.

The runs are either run directories (the first is the baseline) or a scenario's baseline and
variants, run here with the same seed and branch numbers. Each outcome is compared in its
measure: the proportion for ``probability``, the mean for ``value`` and ``flow``, the
restricted mean time to the event up to the horizon (RMST) for ``time_to``. The difference
(other minus baseline) has a 95% interval, *paired* where branch ``i`` of both runs shares its
random numbers (same scenario file, seed and branch count: common random numbers make the
interval much narrower), else for independent samples (Newcombe, Welch, Greenwood). A
comparison is *significant* where the interval excludes zero.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.directory import SettingsDirectory, analysis_plan
from sim.analysis.points import (
    Execution,
    Setting,
    analysis_manifest,
    first_positions,
    open_directory,
    run_settings,
    setting_notes,
    stream_to,
)
from sim.engine import DEFAULT_ENGINE
from sim.engine.common import check_branches, check_seed
from sim.errors import UsageError
from sim.format.validation import suggest
from sim.model.compiled import CompiledModel
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.directory import write_gathered
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import BRANCHES, branch_schema, now_iso, open_run
from sim.montecarlo.runner import Progress, _compiled
from sim.stats.differences import MEASURES, compare_outcome, estimate
from sim.stats.differences import Arm as StatsArm

__all__ = [
    "COLUMNS",
    "Arm",
    "Comparison",
    "arm_from_table",
    "compare_arms",
    "compare_runs",
    "compare_variants",
    "open_comparison",
    "resume_compare",
]

BASELINE = "baseline"
COMPARISON = "comparison.parquet"

COLUMNS = (
    "outcome",
    "category",
    "kind",
    "measure",
    "baseline",
    "run",
    "baseline_estimate",
    "baseline_ci_low",
    "baseline_ci_high",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_method",
    "difference",
    "difference_ci_low",
    "difference_ci_high",
    "difference_method",
    "paired",
    "significant",
)
"""The columns of a comparison table: one row per outcome and compared run."""

_TYPES = {
    "paired": pa.bool_(),
    "significant": pa.bool_(),
    **{
        c: pa.string()
        for c in ("outcome", "category", "kind", "measure", "baseline", "run", "ci_method")
    },
    "difference_method": pa.string(),
}


@dataclass(frozen=True, eq=False)
class Arm:
    """One run in a comparison: its outcome columns and what says how its branches were drawn.

    ``columns`` holds ``branch``, ``t_end`` and one array per outcome (and its detail
    columns ``NAME__from`` and ``NAME__given`` where it has them); ``outcomes`` lists
    ``(name, kind)`` in order; ``labels`` the categories of each ``first_of`` outcome.
    Two arms share random numbers when their ``sha256``, ``seed`` and branch numbers agree.
    """

    label: str
    columns: Mapping[str, np.ndarray]
    outcomes: tuple[tuple[str, str], ...]
    seed: int
    sha256: str
    horizon: float
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stops: bool = False

    def given(self, name: str) -> bool:
        """Whether the outcome ``name`` is conditioned on a ``given`` condition."""
        return name + GIVEN_SUFFIX in self.columns

    def arm(self, name: str, kind: str, category: str | None = None) -> StatsArm:
        """The columns of the outcome ``name`` as the statistics compare them."""
        columns = self.columns
        return StatsArm(
            columns[name],
            t_end=columns["t_end"],
            start=columns[name + FROM_SUFFIX] if kind == "time_between" else None,
            given=columns.get(name + GIVEN_SUFFIX),
            category=category,
            stops=self.stops,
        )

    @property
    def branches(self) -> int:
        """The number of branches."""
        return int(self.columns["branch"].size)

    def shares_random_numbers(self, other: Arm) -> bool:
        """Whether branch ``i`` of both arms drew from the same random streams."""
        return (
            self.sha256 == other.sha256
            and self.seed == other.seed
            and np.array_equal(self.columns["branch"], other.columns["branch"])
        )


@dataclass(frozen=True)
class Comparison:
    """The comparison of runs with a baseline: one row per outcome and compared run."""

    baseline: str
    runs: tuple[str, ...]
    paired: Mapping[str, bool]
    rows: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...] = ()  # what compiling the runs changed, such as a correlation dropped

    def table(self) -> pa.Table:
        """Return the rows as an Arrow table with the columns of :data:`COLUMNS`."""
        return pa.table(
            {c: pa.array([r[c] for r in self.rows], type=_TYPES.get(c, pa.float64()))
             for c in COLUMNS}
        )  # fmt: skip

    def to_pandas(self) -> Any:
        """Return the rows as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table().to_pandas()

    def figure(self, name: str | None = None) -> Any:
        """Return the forest plot of outcome ``name``'s differences (needs ``sim[report]``)."""
        from sim.analysis.views import comparison_figure

        return comparison_figure(self.rows, name)

    def _repr_html_(self) -> str | None:
        """Show the comparison in a notebook: its rows and a forest plot (with ``sim[report]``)."""
        try:
            from sim.analysis.views import comparison_html
        except ImportError:  # matplotlib or Jinja2 is not installed: the plain repr then
            return None
        return comparison_html(self)

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data (undefined numbers are ``None``)."""
        return {
            "baseline": self.baseline,
            "runs": list(self.runs),
            "paired": dict(self.paired),
            "comparisons": [dict(r) for r in self.rows],
        }


# --- arms --------------------------------------------------------------------------------------


def _details(table: pa.Table | pa.Schema, outcomes: Sequence[tuple[str, str]]) -> list[str]:
    """The columns a comparison reads: ids, outcomes and the detail columns present."""
    present = set(table.schema.names if isinstance(table, pa.Table) else table.names)
    names = ["branch", "t_end"]
    for name, _ in outcomes:
        names += [c for c in (name, name + FROM_SUFFIX, name + GIVEN_SUFFIX) if c in present]
    return names


def arm_from_table(
    label: str,
    table: pa.Table,
    outcomes: Sequence[tuple[str, str]],
    *,
    seed: int,
    sha256: str,
    horizon: float,
    labels: Mapping[str, tuple[str, ...]] | None = None,
    stops: bool = False,
) -> Arm:
    """Return the arm of a branch table (it needs ``branch``, ``t_end`` and the outcomes).

    ``labels`` gives the categories of each ``first_of`` outcome; ``stops`` says that the
    scenario's ``stop_when`` may end branches before the horizon.
    """
    columns = {name: table.column(name).to_numpy() for name in _details(table, outcomes)}
    return Arm(label, columns, tuple(outcomes), seed, sha256, horizon, dict(labels or {}), stops)


def _run_arm(directory: str | Path, label: str, only: Sequence[str] | None = None) -> Arm:
    """Read the arm of a run directory: only the columns a comparison needs.

    ``only`` limits it to some outcomes (each run's others are then not checked).
    """
    result = open_run(directory)
    entries = {n: e for n, e in result.summary["outcomes"].items() if only is None or n in only}
    outcomes = tuple((str(n), str(e["kind"])) for n, e in entries.items())
    labels = {
        str(n): tuple(str(c) for c in e["categories"])
        for n, e in entries.items()
        if e.get("categories")
    }
    assert result.directory is not None  # open_run reads a directory
    path = result.directory / BRANCHES
    # ParquetFile, not read_table: the latter's dataset layer imports pandas.
    parquet = pq.ParquetFile(path)
    table = parquet.read(columns=_details(parquet.schema_arrow, outcomes))
    # The horizon is not in the manifest of older runs; a branch that ran to the end has
    # t_end at the horizon, which is the best bound the table itself gives.
    horizon = result.manifest.get("horizon")
    if horizon is None:
        horizon = float(np.max(table.column("t_end").to_numpy())) if table.num_rows else 0.0
    return arm_from_table(
        label,
        table,
        outcomes,
        seed=int(result.manifest["seed"]),
        sha256=str(result.manifest["sha256"]),
        horizon=float(horizon),
        labels=labels,
        # a run whose branches may stop early summarised its times with competing events
        stops=any("competing" in e for e in result.summary["outcomes"].values()),
    )


# --- comparing ---------------------------------------------------------------------------------


def _check_outcomes(base: Arm, other: Arm) -> None:
    """Refuse runs whose outcomes differ from the baseline's (names, kinds, conditions)."""
    same_conditions = all(base.given(n) == other.given(n) for n, _ in base.outcomes)
    if base.outcomes == other.outcomes and same_conditions and base.labels == other.labels:
        return
    mine, theirs = dict(base.outcomes), dict(other.outcomes)
    problems = [f"lacks {n!r}" for n in mine if n not in theirs]
    problems += [f"has {n!r}, which the baseline lacks" for n in theirs if n not in mine]
    problems += [
        f"has {n!r} as {theirs[n]}, the baseline as {k}"
        for n, k in mine.items()
        if n in theirs and theirs[n] != k
    ]
    problems += [
        f"has {n!r} {'with' if other.given(n) else 'without'} a given condition, the baseline "
        f"{'with' if base.given(n) else 'without'}"
        for n, _ in base.outcomes
        if n in theirs and base.given(n) != other.given(n)
    ]
    problems += [
        f"has the categories {', '.join(other.labels.get(n, ()))} of {n!r}, the baseline "
        f"{', '.join(base.labels.get(n, ()))}"
        for n, k in base.outcomes
        if k == "first_of" and base.labels.get(n) != other.labels.get(n)
    ]
    if not problems:
        problems = ["lists them in another order"]
    raise UsageError(
        f"{other.label}: its outcomes do not match those of the baseline {base.label}: "
        + "; ".join(problems)
    )


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _row(
    base: Arm,
    other: Arm,
    name: str,
    kind: str,
    paired: bool,
    confidence: float,
    category: str | None = None,
) -> dict[str, Any]:
    """Return the comparison of one outcome (or category) between the baseline and a run."""
    horizon = min(base.horizon, other.horizon)
    arm_a, arm_b = base.arm(name, kind, category), other.arm(name, kind, category)
    a = estimate(kind, arm_a, horizon=horizon, confidence=confidence)
    b = estimate(kind, arm_b, horizon=horizon, confidence=confidence)
    diff = compare_outcome(
        kind, arm_a.values, arm_b.values, paired=paired, horizon=horizon,
        confidence=confidence, base=arm_a, other=arm_b,
    )  # fmt: skip
    return {
        "outcome": name,
        "category": category,
        "kind": kind,
        "measure": MEASURES[kind],
        "baseline": base.label,
        "run": other.label,
        "baseline_estimate": _number(a.estimate),
        "baseline_ci_low": _number(a.low),
        "baseline_ci_high": _number(a.high),
        "estimate": _number(b.estimate),
        "ci_low": _number(b.low),
        "ci_high": _number(b.high),
        "ci_method": b.method,
        "difference": diff["difference"],
        "difference_ci_low": diff["ci_low"],
        "difference_ci_high": diff["ci_high"],
        "difference_method": diff["ci_method"],
        "paired": paired,
        "significant": diff["significant"],
    }


def _rows(
    base: Arm, other: Arm, name: str, kind: str, paired: bool, confidence: float
) -> list[dict[str, Any]]:
    """The rows of one outcome: one, or one per category of a ``first_of``."""
    if kind == "first_of":
        return [
            _row(base, other, name, kind, paired, confidence, category)
            for category in base.labels.get(name, ())
        ]
    return [_row(base, other, name, kind, paired, confidence)]


def compare_arms(
    arms: Sequence[Arm], *, paired: bool | None = None, confidence: float = 0.95
) -> Comparison:
    """Compare every arm after the first with the first, outcome by outcome.

    ``paired=None`` pairs an arm with the baseline exactly when they share random numbers
    (:meth:`Arm.shares_random_numbers`); ``True`` or ``False`` forces one kind of interval
    (pairing needs equal branch numbers).
    """
    if len(arms) < 2:
        raise UsageError(f"a comparison needs a baseline and at least one run, got {len(arms)}")
    labels = [arm.label for arm in arms]
    repeated = [x for i, x in enumerate(labels) if x in labels[:i]]
    if repeated:
        raise UsageError(f"{repeated[0]}: given twice; each run is compared once")
    base, others = arms[0], arms[1:]
    pairing: dict[str, bool] = {}
    for other in others:
        _check_outcomes(base, other)
        shared = base.shares_random_numbers(other)
        if paired and not np.array_equal(base.columns["branch"], other.columns["branch"]):
            raise UsageError(
                f"{other.label}: cannot pair its branches with those of {base.label}: "
                f"the branch numbers differ ({other.branches} against {base.branches} branches)"
            )
        pairing[other.label] = shared if paired is None else paired
    rows = [
        row
        for name, kind in base.outcomes
        for other in others
        for row in _rows(base, other, name, kind, pairing[other.label], confidence)
    ]
    return Comparison(base.label, tuple(labels[1:]), pairing, tuple(rows))


def compare_runs(
    directories: Sequence[str | Path],
    *,
    paired: bool | None = None,
    confidence: float = 0.95,
    outcomes: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> Comparison:
    """Compare run directories; the first is the baseline.

    Runs are labelled by their directory's name (its path where two names clash), or by
    ``labels``. ``outcomes`` limits the comparison to some outcomes, and reads only their
    columns: comparing one outcome at a time keeps the memory of million-branch runs small.
    """
    if len(directories) < 2:
        raise UsageError(f"a comparison needs at least two run directories, got {len(directories)}")
    if labels is None:
        names = [Path(d).name or str(d) for d in directories]
        labels = names if len(set(names)) == len(names) else [str(d) for d in directories]
    arms = [_run_arm(d, label, outcomes) for d, label in zip(directories, labels, strict=True)]
    return compare_arms(arms, paired=paired, confidence=confidence)


def _variant_names(model: CompiledModel, variants: str | Sequence[str]) -> list[str]:
    """Return the variants to compare: ``"all"`` the declared ones, else the names given."""
    declared = list(model.scenario.variants) if model.scenario is not None else []
    where = model.file or model.name
    if variants == "all":
        if not declared:
            raise UsageError(f"{where} declares no variants; there is nothing to compare")
        return declared
    names = (
        [v.strip() for v in variants.split(",")] if isinstance(variants, str) else list(variants)
    )
    if not names or not all(names):
        raise UsageError(f"--variants {variants!r}: expected all, or V1,V2,...")
    for name in names:
        if name not in declared:
            raise UsageError(
                f"--variants {name}: unknown variant {name!r}{suggest(name, declared)}; "
                f"{where} declares: {', '.join(declared) or 'none'}"
            )
    return names


def compare_variants(
    scenario: str | Path | CompiledModel,
    variants: str | Sequence[str] = "all",
    *,
    branches: int = 1000,
    seed: int = 0,
    overrides: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    confidence: float = 0.95,
    engine: str = DEFAULT_ENGINE,
    out: str | Path | None = None,
) -> Comparison:
    """Run a scenario's baseline and ``variants`` with common random numbers and compare them.

    ``variants`` is ``"all"`` (every declared variant), ``"V1,V2"`` or a list of names.
    Every run has the same seed and branch numbers, so the differences are paired.
    ``overrides`` (``--set`` pairs) apply to every run. ``progress`` gets ``(done, total)``
    counted in branches over all runs. With ``out`` the runs go to a comparison directory
    (``comparison.parquet``, ``branches.parquet`` with a leading ``run`` column,
    ``manifest.json``), written atomically and resumable when interrupted
    (:func:`resume_compare`).
    """
    model = _compiled(scenario, None, overrides)
    check_seed(seed)
    check_branches(branches)
    names = _variant_names(model, variants)
    settings = _settings(model, names)
    if out is not None:
        plan = analysis_plan(
            model, seed=seed, branches=branches, engine=engine, variants=names,
            confidence=confidence,
        )  # fmt: skip
        directory = SettingsDirectory.create(Path(out), "compare", model, plan, now_iso())
        return _compare_to(
            directory, model, names, branches=branches, seed=seed, executor=executor,
            workers=workers, scheduler=scheduler, progress=progress, confidence=confidence,
            engine=engine,
        )  # fmt: skip
    ran = run_settings(
        model, settings, branches=branches, seed=seed, executor=executor, workers=workers,
        scheduler=scheduler, progress=progress, engine=engine,
    )  # fmt: skip
    return _compare_tables(model, names, ran.tables, seed, confidence)


def _settings(model: CompiledModel, names: Sequence[str]) -> list[Setting]:
    """Return the settings of a comparison: the baseline, then each variant."""
    return [Setting(model.variant, model.overrides)] + [
        Setting(name, model.overrides) for name in names
    ]


def _labels(model: CompiledModel, names: Sequence[str]) -> list[str]:
    return [model.variant or BASELINE, *names]


def _compare_tables(
    model: CompiledModel,
    names: Sequence[str],
    tables: Sequence[pa.Table],
    seed: int,
    confidence: float,
) -> Comparison:
    """Compare the branch tables of the baseline and the variants ``names``."""
    outcomes = tuple((o.name, o.kind) for o in model.outcomes)
    categories = {o.name: o.labels for o in model.outcomes if o.labels}
    arms = [
        arm_from_table(
            label,
            table,
            outcomes,
            seed=seed,
            sha256=model.source_sha256,
            horizon=model.horizon,
            labels=categories,
            stops=model.stop_when is not None,
        )
        for label, table in zip(_labels(model, names), tables, strict=True)
    ]
    comparison = compare_arms(arms, confidence=confidence)
    notes = dict.fromkeys(setting_notes(model, _settings(model, names)))
    return replace(comparison, notes=tuple(notes)) if notes else comparison


def _compare_to(
    directory: SettingsDirectory,
    model: CompiledModel,
    names: Sequence[str],
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
    confidence: float,
    engine: str = DEFAULT_ENGINE,
) -> Comparison:
    """Run the comparison's settings into ``directory``, then compare and write it."""
    settings = _settings(model, names)
    clock = time.perf_counter()

    def finish(ran: Execution) -> Comparison:
        schema = branch_schema(model)
        tables = [directory.table(i, branches, schema) for i in first_positions(settings)]
        comparison = _compare_tables(model, names, tables, seed, confidence)
        labelled = [
            table.add_column(0, "run", pa.array([label] * table.num_rows, type=pa.string()))
            for label, table in zip(_labels(model, names), tables, strict=True)
        ]
        write_gathered(
            directory.partial / BRANCHES, schema.insert(0, pa.field("run", pa.string())), labelled
        )
        manifest = analysis_manifest(
            model, ran, kind="compare", seed=seed, branches=branches,
            started_at=str(directory.manifest["started_at"]),
            wall_seconds=time.perf_counter() - clock, engine=engine,
        )  # fmt: skip
        manifest.update(variants=list(names), confidence=confidence)
        directory.finish(manifest, {COMPARISON: comparison.table()})
        return comparison

    return stream_to(
        directory, model, settings, finish, branches=branches, seed=seed, executor=executor,
        workers=workers, scheduler=scheduler, progress=progress, engine=engine,
    )  # fmt: skip


def resume_compare(
    directory: str | Path,
    *,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Finish an interrupted comparison: run only its missing chunks, then compare.

    The scenario, variants, seed and branches come from the incomplete comparison, so
    ``comparison.parquet`` and ``branches.parquet`` are those of an uninterrupted one.
    """
    found = SettingsDirectory.reopen(Path(directory), "compare")
    if found.complete:  # interrupted after its final files: only the rename was left
        return open_comparison(found.publish())
    try:
        model = found.model()
        plan = found.plan
    except BaseException:
        found.close()
        raise
    return _compare_to(
        found, model, [str(name) for name in plan["variants"]], branches=int(plan["branches"]),
        seed=int(plan["seed"]), executor=executor, workers=workers, scheduler=scheduler,
        progress=progress, confidence=float(plan["confidence"]),
        engine=str(plan.get("engine", "simpy")),
    )  # fmt: skip


def open_comparison(directory: str | Path) -> Comparison:
    """Return the comparison written in ``directory``; refuse anything but a complete one."""
    path = Path(directory)
    open_directory(path, "compare")
    rows = tuple(pq.read_table(path / COMPARISON).to_pylist())
    if not rows:
        raise UsageError(f"{path}: the comparison has no rows")
    runs = tuple(dict.fromkeys(str(r["run"]) for r in rows))
    paired = {run: bool(next(r["paired"] for r in rows if r["run"] == run)) for run in runs}
    return Comparison(str(rows[0]["baseline"]), runs, paired, rows)
