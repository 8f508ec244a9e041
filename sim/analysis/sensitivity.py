"""Global sensitivity analysis: which uncertain parameter matters most for each outcome.

The uncertain parameters (those drawn from a distribution) span a unit cube of
probabilities; SALib samples it (Saltelli's scheme of a Sobol sequence, or Morris
trajectories) and each sample row is mapped through every parameter's inverse CDF, so any
distribution works. Each row is then a point: its parameters are fixed (as ``--set`` would)
and it runs ``branches`` branches whose mean outcome is the model output (the share of
branches for a probability; for a ``time_to`` outcome the mean time with branches where the
event did not happen counted at their end). All rows run branches ``0..B-1`` with one seed,
so the randomness that remains is common to every row. SALib then gives, for each numeric
outcome and parameter, the first-order and total Sobol indices with their bootstrap
intervals, or Morris's mu* (with its interval), mu and sigma.

The index table follows the shape of SALib's ``to_df()`` with ``outcome`` and ``parameter``
columns in front: ``S1, S1_conf, ST, ST_conf`` for Sobol, ``mu, mu_star, sigma,
mu_star_conf`` for Morris.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.directory import SettingsDirectory, analysis_plan
from sim.analysis.points import (
    Execution,
    Setting,
    SettingsRun,
    analysis_manifest,
    first_positions,
    open_directory,
    outcome_means,
    override_text,
    power_of_two_exponent,
    run_settings,
    stream_to,
)
from sim.analysis.points import default_out as _default_out
from sim.engine import DEFAULT_ENGINE
from sim.engine.common import check_branches, check_seed
from sim.errors import UsageError, install_hint
from sim.format.validation import suggest
from sim.model.compiled import CompiledModel, CParameter
from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import branch_schema, now_iso
from sim.montecarlo.runner import Progress, _compiled

__all__ = [
    "INDICES",
    "METHODS",
    "SAMPLES",
    "SensitivityResult",
    "default_out",
    "open_sensitivity",
    "resume_sensitivity",
    "sensitivity",
    "uncertain_parameters",
]

INDICES = "indices.parquet"
SAMPLES = "samples.parquet"
METHODS = ("sobol", "morris")
COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "sigma", "mu_star_conf"),
}
DEFAULT_N = {"sobol": 256, "morris": 20}
MORRIS_LEVELS = 4
CONFIDENCE = 0.95
RESAMPLES = 100
# The seeds of SALib's sampler and bootstrap: spawn keys of length 2, which no branch stream
# uses, and distinct from the sweep's design key (1 << 32, 0).
_SAMPLE_KEY = (1 << 32, 1)
_ANALYSE_KEY = (1 << 32, 2)
# Probabilities kept off 0 and 1, where the inverse CDF of an unbounded distribution is
# infinite; a scrambled Sobol sequence almost never lands there, but it may.
_EPS = 1e-12


def uncertain_parameters(
    model: CompiledModel, names: Sequence[str] | None = None
) -> list[CParameter]:
    """Return the parameters drawn from a distribution, or those of ``names`` (checked).

    They come in the order they are drawn, so that a parameter whose distribution reads
    others (format 1.1) comes after them; it can be analysed only with them.
    """
    uncertain = [p for p in model.parameters_in_draw_order() if p.uncertain and p.dist]
    for p in uncertain:
        if p.experts and p.dist.expressions:
            raise UsageError(
                f"{p.name}: a pool whose experts' distributions read other parameters has no "
                "quantiles to sample at; analyse the parameters it reads, or fix it with --set"
            )
    if names is None:
        if not uncertain:
            raise UsageError(
                f"{model.file or model.name}: no uncertain parameters; nothing to analyse"
            )
        return uncertain
    by_name = {p.name: p for p in uncertain}
    chosen = []
    for name in names:
        if name not in by_name:
            known = [p.name for p in model.parameters]
            what = "a fixed parameter" if name in known else "no parameter"
            raise UsageError(
                f"--parameter {name}: {what}{suggest(name, list(by_name))}; "
                f"the uncertain parameters are: {', '.join(by_name) or 'none'}"
            )
        chosen.append(by_name[name])
    if len(set(names)) != len(names):
        raise UsageError(f"--parameter: a parameter is named twice in {', '.join(names)}")
    slots = {p.slot: p.name for p in uncertain}
    for p in chosen:
        left_out = sorted(slots[s] for s in p.reads if s in slots and slots[s] not in names)
        if left_out:
            raise UsageError(
                f"--parameter {p.name}: its distribution reads {', '.join(left_out)}, "
                "which must be analysed with it"
            )
    return [p for p in uncertain if p.name in names]


def _generator(seed: int, key: tuple[int, int]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _require_salib() -> None:
    """Refuse politely where the optional SALib is not installed."""
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise UsageError(f"sim sensitivity needs SALib: {install_hint('sensitivity')}") from None


def _problem(parameters: Sequence[CParameter]) -> dict[str, Any]:
    """Return SALib's problem: one input per parameter, its probability level in [0, 1]."""
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[0.0, 1.0]] * len(parameters),
    }


def _sample(method: str, problem: dict[str, Any], n: int, seed: int) -> np.ndarray:
    """Return SALib's sample of probability levels, one row per model evaluation."""
    rng = _generator(seed, _SAMPLE_KEY)
    _require_salib()
    if method == "sobol":
        from SALib.sample import sobol

        power_of_two_exponent(n, f"--n {n}: the Sobol base sample size")
        return np.asarray(sobol.sample(problem, n, calc_second_order=False, seed=rng))
    from SALib.sample import morris

    if n < 2:
        raise UsageError(f"--n {n}: Morris screening needs at least 2 trajectories")
    return np.asarray(morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=rng))


def _levels(method: str, unit: np.ndarray) -> np.ndarray:
    """Return the probability levels at which each parameter's inverse CDF is read.

    Morris's grid includes 0 and 1; its levels are moved to the centres of ``L`` equal
    bins of probability (1/8, 3/8, 5/8, 7/8 for four levels), so each stays finite.
    """
    if method == "morris":
        return (unit * (MORRIS_LEVELS - 1) + 0.5) / MORRIS_LEVELS
    return np.asarray(np.clip(unit, _EPS, 1.0 - _EPS), dtype=float)


def _values(
    model: CompiledModel, parameters: Sequence[CParameter], levels: np.ndarray
) -> list[list[float | bool]]:
    """Return each row's parameter values: the inverse CDF at its levels.

    A parameter whose distribution reads others takes the inverse CDF of its distribution
    given their values in the row (the Rosenblatt transform), so that the levels stay
    independent and uniform.
    """
    columns = []
    rows: list[list[Any]] = []
    if any(p.resolve is not None for p in parameters):
        base: list[Any] = [0.0] * model.n_slots
        for p in model.parameters:
            if p.value is not None:
                base[p.slot] = p.value
        rows = [list(base) for _ in range(levels.shape[0])]
    for k, p in enumerate(parameters):
        if p.resolve is None:
            x = np.asarray(p.dist.ppf(levels[:, k]), dtype=float)
        else:
            given = zip(rows, levels[:, k], strict=True)
            x = np.array([float(p.resolve(v).ppf(q)) for v, q in given])
        values = [bool(v > 0.5) for v in x] if p.type == "bool" else [float(v) for v in x]
        for v, value in zip(rows, values, strict=False):
            v[p.slot] = value
        columns.append(values)
    return [list(row) for row in zip(*columns, strict=True)]


def _analyse(
    method: str, problem: dict[str, Any], unit: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Return SALib's indices of one output, NaN where they are undefined.

    A constant output has no variance to apportion: its Sobol indices are undefined and its
    elementary effects are all 0.
    """
    d = problem["num_vars"]
    if not np.all(np.isfinite(y)):
        return {c: np.full(d, np.nan) for c in COLUMNS[method]}
    if np.ptp(y) == 0:
        fill = 0.0 if method == "morris" else np.nan
        return {c: np.full(d, fill) for c in COLUMNS[method]}
    rng = _generator(seed, _ANALYSE_KEY)
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(
            problem, y, calc_second_order=False, num_resamples=RESAMPLES,
            conf_level=CONFIDENCE, seed=rng,
        )  # fmt: skip
    else:
        from SALib.analyze import morris

        si = morris.analyze(
            problem, unit, y, num_resamples=RESAMPLES, conf_level=CONFIDENCE,
            num_levels=MORRIS_LEVELS, seed=rng,
        )  # fmt: skip
    return {c: np.asarray(si[c], dtype=float) for c in COLUMNS[method]}


class SensitivityResult:
    """The indices of a sensitivity analysis, its sample with the outputs, and its manifest."""

    __slots__ = ("directory", "indices", "manifest", "samples")

    def __init__(
        self,
        indices: pa.Table,
        samples: pa.Table,
        manifest: dict[str, Any],
        directory: Path | None,
    ) -> None:
        self.indices = indices
        self.samples = samples
        self.manifest = manifest
        self.directory = directory

    def to_pandas(self) -> Any:
        """Return the index table as a ``pandas.DataFrame`` (needs pandas)."""
        return self.indices.to_pandas()

    def figure(self, name: str | None = None) -> Any:
        """Return the tornado chart of outcome ``name`` (default: the first; ``sim[report]``)."""
        from sim.analysis.views import sensitivity_figure

        return sensitivity_figure(self, name)

    def _repr_html_(self) -> str | None:
        """Show the indices in a notebook: a table and a tornado chart (with ``sim[report]``)."""
        try:
            from sim.analysis.views import sensitivity_html
        except ImportError:  # matplotlib or Jinja2 is not installed: the plain repr then
            return None
        return sensitivity_html(self)

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}" if self.directory else "in memory"
        return (
            f"SensitivityResult(scenario={self.manifest.get('scenario')!r}, "
            f"method={self.manifest.get('method')!r}, samples={self.samples.num_rows}, {where})"
        )


def default_out(model: CompiledModel) -> Path:
    """Return the default directory: ``results/NAME__sensitivity`` (``NAME__VARIANT__...``)."""
    return _default_out(model, "sensitivity")


def sensitivity(
    scenario: str | Path | CompiledModel,
    *,
    method: str = "sobol",
    n: int | None = None,
    branches: int = 1,
    seed: int = 0,
    parameters: Sequence[str] | None = None,
    out: str | Path | None = None,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    variant: str | None = None,
    overrides: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    progress: Progress | None = None,
    engine: str = DEFAULT_ENGINE,
) -> SensitivityResult:
    """Return the Sobol or Morris indices of every outcome over the uncertain parameters.

    ``n`` is the number of base samples for Sobol (a power of two; ``n * (D + 2)`` rows for
    D parameters, default 256) or of trajectories for Morris (``n * (D + 1)`` rows, default
    20). Each row runs ``branches`` branches with ``seed``. ``parameters`` limits the
    analysis to some uncertain parameters; the others keep their distributions. With
    ``out`` the directory (``indices.parquet``, ``samples.parquet``, ``manifest.json``) is
    written there atomically.
    """
    if method not in METHODS:
        raise UsageError(f"--method {method}: unknown method, expected one of {', '.join(METHODS)}")
    model = _compiled(scenario, variant, overrides)
    check_seed(seed)
    check_branches(branches)
    chosen = uncertain_parameters(model, parameters)
    taken = [p.name for p in chosen if p.name in dict(model.overrides)]
    if taken:
        raise UsageError(f"--set {taken[0]}: a parameter given by --set is not uncertain")
    size = DEFAULT_N[method] if n is None else n
    design = _Design.make(model, chosen, method, size, seed)
    started, clock = now_iso(), time.perf_counter()
    if out is not None:
        plan = analysis_plan(
            model, seed=seed, branches=branches, engine=engine, method=method, n=size,
            parameters=design.names, sample_sha256=design.digest(),
        )  # fmt: skip
        directory = SettingsDirectory.create(Path(out), "sensitivity", model, plan, started)
        return _sensitivity_to(
            directory, model, design, branches=branches, seed=seed, executor=executor,
            workers=workers, scheduler=scheduler, progress=progress, clock=clock, engine=engine,
        )  # fmt: skip
    ran = run_settings(
        model, design.settings, branches=branches, seed=seed, executor=executor,
        workers=workers, scheduler=scheduler, progress=progress, engine=engine,
    )  # fmt: skip
    outputs = [outcome_means(model, table) for table in ran.tables]
    return design.result(model, outputs, ran, branches, seed, started, clock, None, engine)


@dataclass(frozen=True)
class _Design:
    """The sample of a sensitivity analysis: SALib's unit sample and the settings it makes."""

    method: str
    n: int
    chosen: tuple[CParameter, ...]
    problem: dict[str, Any]
    unit: np.ndarray
    rows: list[list[float | bool]]
    settings: list[Setting]

    @classmethod
    def make(
        cls, model: CompiledModel, chosen: Sequence[CParameter], method: str, n: int, seed: int
    ) -> _Design:
        """Draw the sample (the same for the same seed) and the setting of each row."""
        problem = _problem(chosen)
        unit = _sample(method, problem, n, seed)
        rows = _values(model, chosen, _levels(method, unit))
        names = [p.name for p in chosen]
        settings = [
            Setting(
                model.variant,
                (*model.overrides, *zip(names, map(override_text, row), strict=True)),
            )
            for row in rows
        ]
        return cls(method, n, tuple(chosen), problem, unit, rows, settings)

    @property
    def names(self) -> list[str]:
        """The analysed parameters."""
        return [p.name for p in self.chosen]

    def digest(self) -> str:
        """Return the sha256 of the unit sample: a resume checks that it draws the same one."""
        return hashlib.sha256(
            np.ascontiguousarray(self.unit, dtype=np.float64).tobytes()
        ).hexdigest()

    def result(
        self,
        model: CompiledModel,
        outputs: Sequence[Mapping[str, float]],
        ran: SettingsRun | Execution,
        branches: int,
        seed: int,
        started: str,
        clock: float,
        directory: SettingsDirectory | None,
        engine: str = DEFAULT_ENGINE,
    ) -> SensitivityResult:
        """Return the indices of the ``outputs`` (one per row), written to ``directory``."""
        indices = _index_table(model, self.method, self.problem, self.unit, outputs, seed)
        samples = _sample_table(self.chosen, self.rows, outputs)
        manifest = analysis_manifest(
            model, ran, kind="sensitivity", seed=seed, branches=branches, started_at=started,
            wall_seconds=time.perf_counter() - clock, engine=engine,
        )  # fmt: skip
        manifest.update(method=self.method, n=self.n, samples=len(self.rows), parameters=self.names)
        _note_decorrelated(manifest, model, self.names)
        if directory is None:
            return SensitivityResult(indices, samples, manifest, None)
        written = directory.finish(manifest, {INDICES: indices, SAMPLES: samples})
        return SensitivityResult(indices, samples, manifest, written)


def _sensitivity_to(
    directory: SettingsDirectory,
    model: CompiledModel,
    design: _Design,
    *,
    branches: int,
    seed: int,
    executor: ExecutorKind | str,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
    clock: float,
    engine: str = DEFAULT_ENGINE,
) -> SensitivityResult:
    """Run the sample's rows into ``directory``; then read each row's mean outputs back."""
    schema = branch_schema(model)

    def finish(ran: Execution) -> SensitivityResult:
        outputs = [
            outcome_means(model, directory.table(position, branches, schema))
            for position in first_positions(design.settings)
        ]
        started = str(directory.manifest["started_at"])
        return design.result(
            model, outputs, ran, branches, seed, started, clock, directory, engine
        )

    return stream_to(
        directory, model, design.settings, finish, branches=branches, seed=seed,
        executor=executor, workers=workers, scheduler=scheduler, progress=progress,
        engine=engine,
    )  # fmt: skip


def resume_sensitivity(
    directory: str | Path,
    *,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Finish an interrupted sensitivity analysis: run only the rows' missing chunks.

    The scenario, method, sample size, parameters, seed and branches come from the
    incomplete analysis; the sample is drawn again from the seed (and checked against the
    one first drawn), so the indices are those of an uninterrupted analysis.
    """
    found = SettingsDirectory.reopen(Path(directory), "sensitivity")
    if found.complete:  # interrupted after its final files: only the rename was left
        return open_sensitivity(found.publish())
    clock = time.perf_counter()
    try:
        model = found.model()
        plan = found.plan
        chosen = uncertain_parameters(model, [str(name) for name in plan["parameters"]])
        seed = int(plan["seed"])
        design = _Design.make(model, chosen, str(plan["method"]), int(plan["n"]), seed)
        if design.digest() != plan["sample_sha256"]:
            raise UsageError(
                f"{found.partial}: the sample drawn again differs from the first one (was "
                "SALib or numpy upgraded?); run the analysis again instead"
            )
    except BaseException:
        found.close()
        raise
    return _sensitivity_to(
        found, model, design, branches=int(plan["branches"]), seed=seed, executor=executor,
        workers=workers, scheduler=scheduler, progress=progress, clock=clock,
        engine=str(plan.get("engine", "simpy")),
    )  # fmt: skip


def _note_decorrelated(manifest: dict[str, Any], model: CompiledModel, names: list[str]) -> None:
    """Record the correlations the analysis leaves out: it samples its inputs independently.

    Sobol and Morris indices assume independent inputs, so each sample row sets every
    analysed parameter at a quantile of its own distribution; a correlation with one of
    them is dropped (``decorrelated`` in the manifest, and a note).
    """
    dropped = [
        [a, b, rho]
        for group in model.correlations
        for a, b, rho in group.pairs
        if a in names or b in names
    ]
    if not dropped:
        return
    notes = list(manifest.get("notes", []))
    notes += [
        f"the correlation between {a} and {b} ({rho:g}) is left out: Sobol and Morris indices "
        "assume independent inputs, so each parameter is sampled on its own"
        for a, b, rho in dropped
    ]
    manifest.update(notes=notes, decorrelated=dropped)


def _index_table(
    model: CompiledModel,
    method: str,
    problem: dict[str, Any],
    unit: np.ndarray,
    outputs: Sequence[Mapping[str, float]],
    seed: int,
) -> pa.Table:
    """Return one row per outcome and parameter with SALib's indices."""
    records: dict[str, list[Any]] = {"outcome": [], "parameter": []}
    records.update({c: [] for c in COLUMNS[method]})
    for output in outputs[0] if outputs else ():
        y = np.array([row[output] for row in outputs], dtype=float)
        found = _analyse(method, problem, unit, y, seed)
        for k, name in enumerate(problem["names"]):
            records["outcome"].append(output)
            records["parameter"].append(name)
            for c in COLUMNS[method]:
                records[c].append(float(found[c][k]))
    types = {"outcome": pa.string(), "parameter": pa.string()}
    return pa.table({c: pa.array(v, type=types.get(c, pa.float64())) for c, v in records.items()})


def _sample_table(
    parameters: Sequence[CParameter],
    rows: Sequence[Sequence[float | bool]],
    outputs: Sequence[Mapping[str, float]],
) -> pa.Table:
    """Return one row per sample: ``sample``, the parameter values, then each output."""
    columns: dict[str, Any] = {"sample": pa.array(range(len(rows)), type=pa.int64())}
    for k, p in enumerate(parameters):
        kind = pa.bool_() if p.type == "bool" else pa.float64()
        columns[p.name] = pa.array([row[k] for row in rows], type=kind)
    for name in outputs[0] if outputs else ():
        columns[name] = pa.array([o[name] for o in outputs], type=pa.float64())
    return pa.table(columns)


def open_sensitivity(directory: str | Path) -> SensitivityResult:
    """Return the sensitivity analysis written in ``directory``."""
    path = Path(directory)
    manifest = open_directory(path, "sensitivity")
    indices, samples = pq.read_table(path / INDICES), pq.read_table(path / SAMPLES)
    return SensitivityResult(indices, samples, manifest, path)
