"""Parameter sweeps: a grid or a sampled design of parameter values, every point run alike.

A sweep point fixes the swept parameters (as ``--set NAME=VALUE`` would) while the other
parameters keep their distributions. Every point runs branches ``0..B-1`` with the same
seed, so points share their random numbers (common random numbers) and the curve across
points is smooth rather than noisy. A plan says which points: a :class:`Grid` (the
cartesian product of listed values), a :class:`Sample` (a Latin hypercube or Sobol design
from :mod:`scipy.stats.qmc` within given ranges) or explicit :class:`Points`. Values are
checked against each parameter's type and the support of its distribution.

A sweep directory holds ``points.parquet`` (one row per point: ``point``, the swept values,
then for each outcome ``NAME``, ``NAME_ci_low``, ``NAME_ci_high``), ``branches.parquet`` (the
branch table of every point with a leading ``point`` column) and ``manifest.json``. A sweep
written to a directory streams: batches go to chunk files as they arrive, and the branch
table is gathered and summarised one point at a time.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Strict, ValidationError, model_validator
from scipy.stats import qmc

from sim.analysis.directory import SettingsDirectory, analysis_plan
from sim.analysis.points import (
    Execution,
    Setting,
    analysis_manifest,
    first_positions,
    open_directory,
    override_text,
    point_summary,
    power_of_two_exponent,
    run_settings,
    stream_to,
)
from sim.analysis.points import default_out as _default_out
from sim.engine import DEFAULT_ENGINE
from sim.engine.common import check_branches, check_seed
from sim.errors import ScenarioError, UsageError
from sim.format.distributions.kinds import outside_support
from sim.format.loader import load_document
from sim.format.validation import explain_errors, suggest
from sim.model.compiled import CompiledModel, CParameter, Value
from sim.montecarlo.directory import write_gathered
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import BRANCHES, branch_schema, now_iso
from sim.montecarlo.runner import Progress, _compiled

__all__ = [
    "DEFAULT_BRANCHES",
    "POINTS",
    "Design",
    "Grid",
    "Plan",
    "Points",
    "Sample",
    "SweepResult",
    "default_out",
    "expand",
    "open_sweep",
    "read_plan",
    "resume_sweep",
    "sweep",
]

POINTS = "points.parquet"
DEFAULT_BRANCHES = 1000
SAMPLE_METHODS = ("lhs", "sobol")
# The seed of a sampled design: a spawn key of length 2, which no branch stream uses
# (branches use (i,) and (i, stream, crc32(name))), so the design is independent of them.
_DESIGN_KEY = (1 << 32, 0)

Raw = Value | str


# --- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """The cartesian product of each parameter's listed values (first parameter slowest)."""

    values: Mapping[str, Sequence[Raw]]
    label: str = "--grid"


@dataclass(frozen=True)
class Sample:
    """``n`` points of a Latin hypercube (``lhs``) or scrambled Sobol design within ``ranges``.

    ``ranges`` maps each sampled parameter to ``(low, high)``; a Sobol design needs ``n`` a
    power of two.
    """

    method: str
    n: int
    ranges: Mapping[str, tuple[float, float]]
    label: str = "--range"


@dataclass(frozen=True)
class Points:
    """Explicit points: each a mapping of every swept parameter to its value."""

    rows: Sequence[Mapping[str, Raw]]
    label: str = "points"


Plan = Grid | Sample | Points


@dataclass(frozen=True)
class Design:
    """The expanded points of a sweep: the swept parameters and each point's values."""

    method: str
    names: tuple[str, ...]
    points: tuple[tuple[Value, ...], ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    def overrides(self, index: int) -> tuple[tuple[str, str], ...]:
        """Return the ``--set`` pairs that fix point ``index``."""
        values = self.points[index]
        return tuple((n, override_text(v)) for n, v in zip(self.names, values, strict=True))

    def describe(self) -> dict[str, Any]:
        """Return the design as the manifest records it."""
        return {"method": self.method, "parameters": list(self.names), **self.details}

    def to_json(self) -> dict[str, Any]:
        """Return the whole design, points included, as plain JSON (for a resume)."""
        points = [[_plain(v) for v in point] for point in self.points]
        return {"method": self.method, "names": list(self.names), "points": points,
                "details": dict(self.details)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Design:
        """Return the design that :meth:`to_json` gave."""
        points = tuple(
            tuple(v if isinstance(v, bool) else float(v) for v in point) for point in data["points"]
        )
        return cls(str(data["method"]), tuple(data["names"]), points, dict(data["details"]))


# --- checking values ---------------------------------------------------------------------------


def _parameter(model: CompiledModel, name: str, label: str) -> CParameter:
    """Return the parameter ``name``, refusing unknown ones and ones fixed by ``--set``."""
    for parameter in model.parameters:
        if parameter.name == name:
            if name in dict(model.overrides):
                raise UsageError(f"{label} {name}: the parameter is also given by --set")
            return parameter
    names = [p.name for p in model.parameters]
    declared = ", ".join(names) or "none"
    raise UsageError(
        f"{label} {name}: unknown parameter {name!r}{suggest(name, names)}; "
        f"{model.file or model.name} declares: {declared}"
    )


def _fmt(x: float) -> str:
    return f"{x:g}"


def _check_in_support(parameter: CParameter, x: float, where: str) -> None:
    """Refuse a number outside the support of the parameter's distribution.

    A parameter with a fixed value has no distribution, so any number may replace it.
    """
    why = None if parameter.dist is None else outside_support(parameter.dist, x)
    if why is not None:
        raise UsageError(f"{where}: {why}")


def _parse(raw: Raw, where: str) -> Value:
    """Read a value given as text (``true``, ``false`` or a number) or as a Python value."""
    if isinstance(raw, bool | np.bool_):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if text in ("true", "false"):
            return text == "true"
        try:
            raw = float(text)
        except ValueError:
            raise UsageError(f"{where}: expected a number or true/false") from None
    x = float(raw)
    if not math.isfinite(x):
        raise UsageError(f"{where}: expected a finite number")
    return x


def _value(parameter: CParameter, raw: Raw, label: str) -> Value:
    """Return ``raw`` as a value of ``parameter``, checked against its type and support."""
    where = f"{label} {parameter.name}={raw if isinstance(raw, str) else _show(raw)}"
    value = _parse(raw, where)
    if parameter.type == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{where}: parameter {parameter.name!r} is true/false, got a number")
        return value
    if isinstance(value, bool):
        raise UsageError(f"{where}: parameter {parameter.name!r} is a number, got true/false")
    _check_in_support(parameter, value, where)
    return value


def _show(value: Value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else _fmt(value)


# --- expanding plans into designs --------------------------------------------------------------


def expand(plan: Plan, model: CompiledModel, *, seed: int = 0) -> Design:
    """Check ``plan`` against ``model`` and return its points.

    A sampled design draws from a generator derived from ``seed``, so the same seed gives
    the same points.
    """
    if isinstance(plan, Grid):
        return _expand_grid(plan, model)
    if isinstance(plan, Sample):
        return _expand_sample(plan, model, seed)
    return _expand_points(plan, model)


def _expand_grid(plan: Grid, model: CompiledModel) -> Design:
    """Return the cartesian product of the grid's values."""
    if not plan.values:
        raise UsageError(f"{plan.label}: a grid needs at least one parameter, NAME=V1,V2,...")
    axes: list[list[Value]] = []
    for name, raws in plan.values.items():
        parameter = _parameter(model, name, plan.label)
        if len(raws) == 0:
            raise UsageError(f"{plan.label} {name}=: no values; expected {name}=V1,V2,...")
        values = [_value(parameter, raw, plan.label) for raw in raws]
        repeated = [v for i, v in enumerate(values) if v in values[:i]]
        if repeated:
            raise UsageError(f"{plan.label} {name}: the value {_show(repeated[0])} is listed twice")
        axes.append(values)
    points = tuple(itertools.product(*axes))
    values_seen = {n: [_plain(v) for v in axis] for n, axis in zip(plan.values, axes, strict=True)}
    return Design("grid", tuple(plan.values), points, {"values": values_seen})


def _check_range(parameter: CParameter, low: float, high: float, label: str) -> None:
    """Refuse a range that is empty, reversed, not finite or outside the support."""
    where = f"{label} {parameter.name}={_fmt(low)}:{_fmt(high)}"
    if parameter.type == "bool":
        raise UsageError(
            f"{where}: parameter {parameter.name!r} is true/false and cannot be sampled; "
            f"sweep it with --grid {parameter.name}=true,false"
        )
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UsageError(f"{where}: LO and HI must be finite numbers")
    if low >= high:
        raise UsageError(f"{where}: LO must be below HI, got {_fmt(low)} >= {_fmt(high)}")
    _check_in_support(parameter, low, where)
    _check_in_support(parameter, high, where)


def _unit_design(method: str, n: int, d: int, seed: int, label: str) -> np.ndarray:
    """Return ``n`` points of the design in the unit cube ``[0, 1)^d``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_DESIGN_KEY))
    if method == "lhs":
        return np.asarray(qmc.LatinHypercube(d, rng=rng).random(n))
    m = power_of_two_exponent(n, f"{label}: a Sobol design")
    return np.asarray(qmc.Sobol(d, scramble=True, rng=rng).random_base2(m))


def _expand_sample(plan: Sample, model: CompiledModel, seed: int) -> Design:
    """Return the sampled design, scaled to the ranges."""
    if plan.method not in SAMPLE_METHODS:
        raise UsageError(
            f"--sample {plan.method}: unknown method, expected one of {', '.join(SAMPLE_METHODS)}"
        )
    if plan.n < 1:
        raise UsageError(f"--n {plan.n}: a sample needs at least 1 point")
    if not plan.ranges:
        raise UsageError(f"--sample {plan.method}: give at least one {plan.label} NAME=LO:HI")
    for name, (low, high) in plan.ranges.items():
        _check_range(_parameter(model, name, plan.label), float(low), float(high), plan.label)
    unit = _unit_design(plan.method, plan.n, len(plan.ranges), seed, f"--n {plan.n}")
    lows = np.array([float(r[0]) for r in plan.ranges.values()])
    highs = np.array([float(r[1]) for r in plan.ranges.values()])
    scaled = lows + unit * (highs - lows)
    points = tuple(tuple(float(x) for x in row) for row in scaled)
    ranges = {n: [float(r[0]), float(r[1])] for n, r in plan.ranges.items()}
    return Design(plan.method, tuple(plan.ranges), points, {"n": plan.n, "ranges": ranges})


def _expand_points(plan: Points, model: CompiledModel) -> Design:
    """Return the explicit points, each naming the same parameters."""
    if not plan.rows:
        raise UsageError(f"{plan.label}: no points; give at least one")
    names = tuple(plan.rows[0])
    if not names:
        raise UsageError(f"{plan.label}[0]: a point needs at least one parameter")
    parameters = [_parameter(model, name, plan.label) for name in names]
    points = []
    for i, row in enumerate(plan.rows):
        if set(row) != set(names):
            raise UsageError(
                f"{plan.label}[{i}]: every point must set the same parameters "
                f"({', '.join(names)}), got {', '.join(row) or 'none'}"
            )
        label = f"{plan.label}[{i}]"
        points.append(tuple(_value(p, row[p.name], label) for p in parameters))
    return Design("points", names, tuple(points))


def _plain(value: Value) -> Value:
    return bool(value) if isinstance(value, bool) else float(value)


# --- sweep files -------------------------------------------------------------------------------

_Number = Annotated[bool, Strict()] | float


class _SampleSpec(BaseModel):
    """The ``sample:`` block of a sweep file."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lhs", "sobol"]
    n: int
    ranges: dict[str, tuple[float, float]]


class _SweepFile(BaseModel):
    """A sweep file: exactly one of ``grid``, ``sample`` or ``points``."""

    model_config = ConfigDict(extra="forbid")

    grid: dict[str, list[_Number]] | None = None
    sample: _SampleSpec | None = None
    points: list[dict[str, _Number]] | None = None

    @model_validator(mode="after")
    def _one_plan(self) -> _SweepFile:
        given = [k for k in ("grid", "sample", "points") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a sweep file needs exactly one of grid, sample or points, "
                f"got {', '.join(given) or 'none'}"
            )
        return self


def read_plan(path: str | Path) -> Plan:
    """Read a sweep file (YAML or JSON) holding one of ``grid``, ``sample`` or ``points``.

    ``grid: {NAME: [V1, V2, ...]}``; ``sample: {method: lhs, n: 16, ranges: {NAME: [LO,
    HI]}}``; ``points: [{NAME: V, ...}, ...]``. Problems are reported with their place in
    the file.
    """
    doc = load_document(path)
    try:
        spec = _SweepFile.model_validate(doc.data)
    except ValidationError as error:
        problems = [doc.problem(p, m) for p, m in explain_errors(error, doc.data, _SweepFile)]
        raise ScenarioError(dict.fromkeys(problems)) from None
    if spec.grid is not None:
        return Grid(dict(spec.grid), label=f"{doc.file}: grid")
    if spec.sample is not None:
        s = spec.sample
        return Sample(s.method, s.n, dict(s.ranges), label=f"{doc.file}: sample.ranges")
    return Points(list(spec.points or []), label=f"{doc.file}: points")


# --- running -----------------------------------------------------------------------------------


class SweepResult:
    """The results of a sweep: the table of points, the branch table, the manifest.

    ``directory`` is where the sweep was written, or ``None`` for one kept in memory; a
    result read from disk loads its branch table on first use.
    """

    __slots__ = ("_branches", "directory", "manifest", "points")

    def __init__(
        self,
        points: pa.Table,
        manifest: dict[str, Any],
        directory: Path | None,
        branches: pa.Table | None = None,
    ) -> None:
        if branches is None and directory is None:
            raise ValueError("a sweep result needs its branch table or its directory")
        self.points = points
        self.manifest = manifest
        self.directory = directory
        self._branches = branches

    @property
    def branches(self) -> pa.Table:
        """The branch table of every point: ``point``, then the columns of a run."""
        if self._branches is None:
            assert self.directory is not None  # __init__ requires one of the two
            self._branches = pq.read_table(self.directory / BRANCHES)
        return self._branches

    @property
    def parameters(self) -> list[str]:
        """The swept parameters, in the order of the columns."""
        return list(self.manifest["design"]["parameters"])

    def to_pandas(self) -> Any:
        """Return the table of points as a ``pandas.DataFrame`` (needs pandas)."""
        return self.points.to_pandas()

    def figure(self, name: str | None = None) -> Any:
        """Return the matplotlib figure of outcome ``name`` over the sweep (needs ``sim[report]``).

        One swept parameter: the outcome against it with its band (every probability outcome
        when ``name`` is None); a full grid of two: a heat map; otherwise one panel each.
        """
        from sim.analysis.views import sweep_outcome_figure

        return sweep_outcome_figure(self, name)

    def _repr_html_(self) -> str | None:
        """Show the sweep in a notebook: its points and a figure (with ``sim[report]``)."""
        try:
            from sim.analysis.views import sweep_html
        except ImportError:  # matplotlib or Jinja2 is not installed: the plain repr then
            return None
        return sweep_html(self)

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}" if self.directory else "in memory"
        return (
            f"SweepResult(scenario={self.manifest.get('scenario')!r}, "
            f"points={self.points.num_rows}, branches={self.manifest.get('branches')}, {where})"
        )


def default_out(model: CompiledModel) -> Path:
    """Return the default sweep directory: ``results/NAME__sweep`` (``NAME__VARIANT__sweep``)."""
    return _default_out(model, "sweep")


def sweep(
    scenario: str | Path | CompiledModel,
    plan: Plan,
    *,
    branches: int = DEFAULT_BRANCHES,
    seed: int = 0,
    out: str | Path | None = None,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    variant: str | None = None,
    overrides: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    progress: Progress | None = None,
    engine: str = DEFAULT_ENGINE,
) -> SweepResult:
    """Run every point of ``plan`` with ``branches`` branches each and return the results.

    ``scenario`` is a scenario file or a compiled model; ``variant`` and ``overrides`` (the
    ``--set`` pairs, which must not name a swept parameter) apply to every point. Every
    point runs branches ``0..branches-1`` with ``seed``. With ``out`` the sweep directory is
    written there atomically; ``progress`` gets ``(done, total)`` in branches over all points.
    """
    model = _compiled(scenario, variant, overrides)
    check_seed(seed)
    check_branches(branches)
    design = expand(plan, model, seed=seed)
    settings = _settings(model, design)
    started, clock = now_iso(), time.perf_counter()
    if out is not None:
        plan_json = analysis_plan(
            model, seed=seed, branches=branches, engine=engine, design=design.to_json()
        )
        directory = SettingsDirectory.create(Path(out), "sweep", model, plan_json, started)
        return _sweep_to(
            directory, model, design, branches=branches, seed=seed, executor=executor,
            workers=workers, scheduler=scheduler, progress=progress, clock=clock,
            engine=engine,
        )  # fmt: skip
    ran = run_settings(
        model, settings, branches=branches, seed=seed, executor=executor, workers=workers,
        scheduler=scheduler, progress=progress, engine=engine,
    )  # fmt: skip
    table = _points_table(model, design, [point_summary(model, t) for t in ran.tables])
    manifest = analysis_manifest(
        model, ran, kind="sweep", seed=seed, branches=branches, started_at=started,
        wall_seconds=time.perf_counter() - clock, engine=engine,
    )  # fmt: skip
    manifest.update(points=len(design.points), design=design.describe())
    _note_dropped(manifest, model, design)
    return SweepResult(table, manifest, None, _branch_table(ran.tables))


def _note_dropped(manifest: dict[str, Any], model: CompiledModel, design: Design) -> None:
    """Note in ``manifest`` each correlation the sweep drops by fixing a swept parameter."""
    notes = list(manifest.get("notes", []))
    for group in model.correlations:
        notes += group.dropped_by_fixing(design.names, "each point of the sweep")
    if notes:
        manifest["notes"] = notes


def _settings(model: CompiledModel, design: Design) -> list[Setting]:
    """Return the setting of every point: the model's own overrides, then the point's."""
    return [
        Setting(model.variant, (*model.overrides, *design.overrides(i)))
        for i in range(len(design.points))
    ]


def _sweep_to(
    directory: SettingsDirectory,
    model: CompiledModel,
    design: Design,
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
    clock: float,
    engine: str = DEFAULT_ENGINE,
) -> SweepResult:
    """Run the sweep into ``directory``, never holding more than one point's rows.

    Batches go to chunk files as they arrive; then each point's chunks are read in branch
    order, summarised and appended to ``branches.parquet``, one point at a time.
    """
    settings = _settings(model, design)

    def finish(ran: Execution) -> SweepResult:
        rows = _gather_points(model, directory, settings, branches)
        table = _points_table(model, design, rows)
        manifest = analysis_manifest(
            model, ran, kind="sweep", seed=seed, branches=branches,
            started_at=str(directory.manifest["started_at"]),
            wall_seconds=time.perf_counter() - clock, engine=engine,
        )  # fmt: skip
        manifest.update(points=len(design.points), design=design.describe())
        _note_dropped(manifest, model, design)
        return SweepResult(table, manifest, directory.finish(manifest, {POINTS: table}))

    return stream_to(
        directory, model, settings, finish, branches=branches, seed=seed, executor=executor,
        workers=workers, scheduler=scheduler, progress=progress, engine=engine,
    )  # fmt: skip


def resume_sweep(
    directory: str | Path,
    *,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Finish an interrupted sweep: run only its missing chunks, then write it as ``sweep`` does.

    ``directory`` is the sweep's directory or its ``.partial`` sibling; the scenario, design,
    seed and branches come from the incomplete sweep, so ``points.parquet`` and
    ``branches.parquet`` are the same as those of an uninterrupted sweep.
    """
    found = SettingsDirectory.reopen(Path(directory), "sweep")
    if found.complete:  # interrupted after its final files: only the rename was left
        return open_sweep(found.publish())
    clock = time.perf_counter()
    try:
        model = found.model()
        plan = found.plan
        design = Design.from_json(plan["design"])
    except BaseException:
        found.close()
        raise
    return _sweep_to(
        found, model, design, branches=int(plan["branches"]), seed=int(plan["seed"]),
        executor=executor, workers=workers, scheduler=scheduler, progress=progress, clock=clock,
        engine=str(plan.get("engine", "simpy")),
    )  # fmt: skip


def _gather_points(
    model: CompiledModel, directory: SettingsDirectory, settings: Sequence[Setting], branches: int
) -> list[dict[str, float]]:
    """Write ``branches.parquet`` from the chunks, point by point; return each point's summary.

    The rows are those :func:`_branch_table` gives, in the same row groups as a run's.
    """
    schema = branch_schema(model)
    rows: list[dict[str, float]] = []

    def tables() -> Iterator[pa.Table]:
        for point, first in enumerate(first_positions(settings)):
            table = pa.concat_tables(directory.chunks(first, branches, schema))
            rows.append(point_summary(model, table))
            yield _with_point(table, point)

    write_gathered(directory.partial / BRANCHES, _point_schema(schema), tables())
    return rows


def _points_table(
    model: CompiledModel, design: Design, rows: Sequence[Mapping[str, float]]
) -> pa.Table:
    """Return one row per point: ``point``, the swept values, each outcome's interval.

    ``rows`` holds each point's :func:`~sim.analysis.points.point_summary`.
    """
    columns: dict[str, Any] = {"point": pa.array(range(len(design.points)), type=pa.int64())}
    types = {p.name: p.type for p in model.parameters}
    for k, name in enumerate(design.names):
        kind = pa.bool_() if types[name] == "bool" else pa.float64()
        columns[name] = pa.array([point[k] for point in design.points], type=kind)
    for key in rows[0] if rows else ():
        columns[key] = pa.array([row[key] for row in rows], type=pa.float64())
    return pa.table(columns)


def _branch_table(tables: Sequence[pa.Table]) -> pa.Table:
    """Return the branch tables of all points, one after the other, with a ``point`` column."""
    return pa.concat_tables([_with_point(table, i) for i, table in enumerate(tables)])


def _with_point(table: pa.Table, point: int) -> pa.Table:
    """Return the branch table of one point with a leading ``point`` column."""
    column = pa.array(np.full(table.num_rows, point, dtype=np.int64), type=pa.int64())
    return table.add_column(0, "point", column)


def _point_schema(schema: pa.Schema) -> pa.Schema:
    """Return a run's branch schema with the leading ``point`` column of a sweep's."""
    return schema.insert(0, pa.field("point", pa.int64()))


def open_sweep(directory: str | Path) -> SweepResult:
    """Return the sweep written in ``directory``; refuse anything but a complete sweep."""
    path = Path(directory)
    manifest = open_directory(path, "sweep")
    return SweepResult(pq.read_table(path / POINTS), manifest, path)
