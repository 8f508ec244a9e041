"""Figures and notebook tables of analyses: sweeps, comparisons and sensitivity indices.

A sweep over one parameter is each outcome against it with its band, over a full grid of
two a heat map, otherwise one panel per parameter; a comparison is a forest plot of the
differences to the baseline; sensitivity is a tornado chart of the indices. Needs
``sim[report]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from sim.analysis.compare import Comparison
from sim.analysis.sensitivity import SensitivityResult
from sim.analysis.sweep import SweepResult
from sim.errors import UsageError
from sim.format.validation import suggest
from sim.model.compiled import CompiledModel
from sim.montecarlo.views import describe_outcome, footer, humanise, model_of, outcome_titles
from sim.views.analyses import (
    Difference,
    Index,
    Ratio,
    SweepSeries,
    forest_figure,
    heatmap_figure,
    likelihood_ratio_figure,
    scatter_figure,
    sweep_figure,
    tornado_figure,
)
from sim.views.frame import Titles, data_uri
from sim.views.html import Table, result_html
from sim.views.text import decimals_for, number, signed

__all__ = [
    "comparison_figure",
    "comparison_html",
    "indicators_figure",
    "row_label",
    "sensitivity_figure",
    "sensitivity_html",
    "sensitivity_outcomes",
    "sweep_html",
    "sweep_outcome_figure",
    "sweep_outcomes",
]


def _choose(name: str | None, names: Sequence[str], where: str) -> str:
    """Return ``name`` if it is one of ``names`` (the first of them for None), else refuse it."""
    if not names:
        raise UsageError(f"{where}: it has no outcomes to draw")
    if name is None:
        return names[0]
    if name not in names:
        raise UsageError(
            f"{where}: no outcome {name!r}{suggest(name, list(names))}; it has: {', '.join(names)}"
        )
    return name


def _kinds(model: CompiledModel | None) -> dict[str, str]:
    return {} if model is None else {o.name: o.kind for o in model.outcomes}


# --- sweeps -------------------------------------------------------------------------------------


def sweep_outcomes(sweep: SweepResult) -> list[str]:
    """Return the outcomes of a sweep, in the order of its table of points."""
    columns = sweep.points.column_names
    return [c for c in columns if f"{c}_ci_low" in columns]


def _measure(kind: str | None, name: str, unit: str) -> tuple[str, bool]:
    """Return the label of a point estimate of ``kind`` and whether it is a probability."""
    if kind == "probability":
        return "probability", True
    if kind == "time_to":
        return f"median time to the event ({unit}s)", False
    return f"mean of {name}", False


def sweep_outcome_figure(
    sweep: SweepResult, name: str | None = None, *, model: CompiledModel | None = None
) -> Figure:
    """Return the figure of a sweep: the outcome ``name`` (default: the first) at each point.

    With one swept parameter and no name given, every probability outcome is drawn.
    """
    scenario = model if model is not None else model_of(sweep.manifest, sweep.directory)
    kinds = _kinds(scenario)
    outcomes = sweep_outcomes(sweep)
    chosen = _choose(name, outcomes, str(sweep.directory or "the sweep"))
    unit = scenario.unit if scenario is not None else "time unit"
    label, as_percent = _measure(kinds.get(chosen), chosen, unit)
    parameters = sweep.parameters
    points = sweep.points
    design = sweep.manifest.get("design", {})
    foot = footer(sweep.manifest, extra=f"{points.num_rows} points")
    how = f"estimate at each point with its 95% interval; {_design_words(design)}"
    titles = outcome_titles(scenario, chosen, how, foot)
    column = _floats(points, chosen)
    if len(parameters) == 1:
        names = [chosen]
        if name is None and as_percent:
            names = [n for n in outcomes if kinds.get(n) == "probability"]
            if len(names) > 1:
                titles = type(titles)(f"Probabilities against {parameters[0]}", how, titles.footer)
        x = _floats(points, parameters[0])
        series = [
            SweepSeries(
                n,
                x,
                _floats(points, n),
                _floats(points, f"{n}_ci_low"),
                _floats(points, f"{n}_ci_high"),
            )
            for n in names
        ]
        return sweep_figure(
            series, titles, xlabel=parameters[0], ylabel=label, as_percent=as_percent
        )
    grid = _grid(points, parameters, column) if len(parameters) == 2 else None
    if grid is not None:
        xs, ys, values = grid
        return heatmap_figure(
            xs,
            ys,
            values,
            titles,
            xlabel=parameters[0],
            ylabel=parameters[1],
            what=label,
            as_percent=as_percent,
        )
    columns = [(p, _floats(points, p)) for p in parameters]
    return scatter_figure(columns, column, titles, ylabel=label, as_percent=as_percent)


def _design_words(design: Mapping[str, Any]) -> str:
    method = design.get("method")
    if method == "grid":
        return "a grid of values"
    if method in ("lhs", "sobol"):
        return f"a {'Latin hypercube' if method == 'lhs' else 'Sobol'} sample of points"
    return "the points given"


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def _grid(
    points: pa.Table, parameters: Sequence[str], values: np.ndarray
) -> tuple[list[float], list[float], np.ndarray] | None:
    """Return the values of a full grid over two parameters as a matrix, or None if not one."""
    x, y = _floats(points, parameters[0]), _floats(points, parameters[1])
    xs, ys = sorted(set(x.tolist())), sorted(set(y.tolist()))
    if len(xs) * len(ys) != len(values) or len(set(zip(x, y, strict=True))) != len(values):
        return None
    matrix = np.full((len(ys), len(xs)), np.nan)
    for xi, yi, v in zip(x, y, values, strict=True):
        matrix[ys.index(yi), xs.index(xi)] = v
    return xs, ys, matrix


def sweep_html(sweep: SweepResult) -> str:
    """Return a sweep as a notebook shows it: its points with each outcome, and a figure."""
    points = sweep.points
    parameters = sweep.parameters
    outcomes = sweep_outcomes(sweep)
    header = ["point", *parameters, *outcomes]
    rows = []
    for row in points.to_pylist():
        cells = [str(row["point"]), *(_plain(row[p]) for p in parameters)]
        cells += [_with_interval(row[n], row[f"{n}_ci_low"], row[f"{n}_ci_high"]) for n in outcomes]
        rows.append(cells)
    table = Table(header, rows, frozenset(range(1, len(header))))
    figure = sweep_outcome_figure(sweep) if outcomes else None
    subtitle = footer(sweep.manifest, extra=f"{points.num_rows} points")
    return result_html(
        f"Sweep of {', '.join(parameters)}",
        subtitle,
        table,
        data_uri(figure) if figure else None,
        "the outcome against the sweep",
    )


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return number(float(value)) if value is not None else "-"


def _with_interval(estimate: Any, low: Any, high: Any) -> str:
    if estimate is None or not np.isfinite(estimate):
        return "-"
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return number(estimate)
    return f"{number(estimate)} [{number(low)}, {number(high)}]"


# --- comparisons --------------------------------------------------------------------------------

_MEASURES = {
    "proportion": ("difference in probability (percentage points)", 100.0, " pp"),
    "rmst": ("difference in the restricted mean time to the event, up to the horizon", 1.0, ""),
    "mean": ("difference in the mean", 1.0, ""),
}


def comparison_figure(
    rows: Sequence[Mapping[str, Any]],
    name: str | None = None,
    *,
    model: CompiledModel | None = None,
    foot: str = "",
) -> Figure:
    """Return a forest plot of one outcome's differences to the baseline (default: the first).

    ``rows`` are a comparison's rows (:data:`sim.analysis.compare.COLUMNS`), from a
    :class:`Comparison` or a table that ``sim compare --out`` wrote.
    """
    names = list(dict.fromkeys(str(r["outcome"]) for r in rows))
    chosen = _choose(name, names, "the comparison")
    mine = [r for r in rows if r["outcome"] == chosen]
    measure = str(mine[0]["measure"])
    xlabel, scale, unit = _MEASURES.get(measure, (f"difference ({measure})", 1.0, ""))
    if measure == "rmst" and model is not None:
        xlabel += f" ({model.unit}s)"
    differences = [
        Difference(
            row_label(r),
            _maybe(r["difference"]),
            _maybe(r["difference_ci_low"]),
            _maybe(r["difference_ci_high"]),
            bool(r["significant"]),
        )
        for r in mine
    ]
    values = [
        scale * v for d in differences for v in (d.difference, d.low, d.high) if v is not None
    ]
    if measure == "proportion":
        decimals = 1 if max(map(abs, values), default=0.0) >= 1 else 2
    else:
        decimals = decimals_for(*(_maybe(r["baseline_estimate"]) for r in mine), *values)
    paired = all(bool(r["paired"]) for r in mine)
    how = (
        f"difference to {mine[0]['baseline']} with its 95% interval "
        f"({'paired: common random numbers' if paired else 'independent runs'})"
    )
    titles = outcome_titles(model, chosen, how, foot)
    return forest_figure(
        differences, titles, xlabel=xlabel, scale=scale, unit=unit, decimals=decimals
    )


def row_label(row: Mapping[str, Any]) -> str:
    """Return how a comparison row is called: its run, and its category where it has one."""
    category = row.get("category")
    return f"{category} · {row['run']}" if category else str(row["run"])


def _maybe(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else float(x)


def comparison_html(comparison: Comparison) -> str:
    """Return a comparison as a notebook shows it: its rows and the first outcome's forest plot."""
    header = ["outcome", "measure", "run", "baseline", "estimate", "difference", ""]
    rows = [
        [
            str(r["outcome"]),
            str(r["measure"]),
            row_label(r),
            _with_interval(r["baseline_estimate"], r["baseline_ci_low"], r["baseline_ci_high"]),
            _with_interval(r["estimate"], r["ci_low"], r["ci_high"]),
            _difference(r),
            "*" if r["significant"] else "",
        ]
        for r in comparison.rows
    ]
    table = Table(header, rows, frozenset({3, 4, 5}))
    figure = comparison_figure(comparison.rows) if comparison.rows else None
    subtitle = f"baseline {comparison.baseline}; *: the 95% interval of the difference excludes 0"
    return result_html(
        "Comparison",
        subtitle,
        table,
        data_uri(figure) if figure else None,
        "differences to the baseline with their 95% intervals",
    )


def _difference(row: Mapping[str, Any]) -> str:
    d, low, high = row["difference"], row["difference_ci_low"], row["difference_ci_high"]
    if d is None:
        return "-"
    if low is None or high is None:
        return signed(d)
    return f"{signed(d)} [{signed(low)}, {signed(high)}]"


# --- sensitivity --------------------------------------------------------------------------------


def sensitivity_outcomes(result: SensitivityResult) -> list[str]:
    """Return the outcomes of a sensitivity analysis, in the order of its table."""
    return list(dict.fromkeys(result.indices.column("outcome").to_pylist()))


def sensitivity_figure(
    result: SensitivityResult, name: str | None = None, *, model: CompiledModel | None = None
) -> Figure:
    """Return the tornado chart of one outcome's indices (default: the first outcome)."""
    scenario = model if model is not None else model_of(result.manifest, result.directory)
    chosen = _choose(name, sensitivity_outcomes(result), str(result.directory or "the analysis"))
    records = [r for r in result.indices.to_pylist() if r["outcome"] == chosen]
    method = str(result.manifest.get("method", "sobol"))
    foot = footer(result.manifest, extra=f"{result.manifest.get('samples', '?')} sample rows")
    if method == "morris":
        rows = [
            Index(r["parameter"], r["mu_star"], r["mu_star_conf"], r["sigma"], 0.0) for r in records
        ]
        how = f"Morris elementary effects, n = {result.manifest.get('n')}"
        return tornado_figure(
            rows,
            outcome_titles(scenario, chosen, how, foot),
            main="mean absolute effect (mu*)",
            total="spread of effects (sigma)",
            xlabel="effect on the outcome",
        )
    rows = [Index(r["parameter"], r["S1"], r["S1_conf"], r["ST"], r["ST_conf"]) for r in records]
    how = f"Sobol indices, N = {result.manifest.get('n')}, with 95% intervals"
    return tornado_figure(
        rows,
        outcome_titles(scenario, chosen, how, foot),
        main="alone (first order, S1)",
        total="with interactions (total, ST)",
        xlabel="share of the outcome's variance",
    )


def sensitivity_html(result: SensitivityResult) -> str:
    """Return a sensitivity analysis as a notebook shows it: its indices and a tornado chart."""
    columns = [c for c in result.indices.column_names if c not in ("outcome", "parameter")]
    header = ["outcome", "parameter", *columns]
    rows = [
        [str(r["outcome"]), str(r["parameter"]), *(number(r[c]) for c in columns)]
        for r in result.indices.to_pylist()
    ]
    table = Table(header, rows, frozenset(range(2, len(header))))
    figure = sensitivity_figure(result) if rows else None
    method = str(result.manifest.get("method", ""))
    return result_html(
        f"Sensitivity ({method})",
        footer(result.manifest),
        table,
        data_uri(figure) if figure else None,
        "sensitivity indices",
    )


# --- evidence -----------------------------------------------------------------------------------


def indicators_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    model: CompiledModel | None = None,
    foot: str = "",
) -> Figure:
    """Return the likelihood ratios of indicators on a log axis, most diagnostic at the top.

    ``rows`` are those of :func:`sim.analysis.evidence.indicators` (a ``Diagnosticity``'s
    rows, or a table that ``sim indicators --format csv`` wrote); with several alternatives
    (the ACH matrix), each row is labelled with the alternative too.
    """
    if not rows:
        raise UsageError("the indicator table has no rows to draw")
    hypothesis = str(rows[0]["hypothesis"])
    alternatives = list(dict.fromkeys(str(r["against"]) for r in rows))
    ratios = [
        Ratio(
            str(r["indicator"]) + (f" · vs {r['against']}" if len(alternatives) > 1 else ""),
            _maybe(r["likelihood_ratio"]),
            _maybe(r["lr_ci_low"]),
            _maybe(r["lr_ci_high"]),
        )
        for r in rows
    ]
    outcome = hypothesis.split("@", maxsplit=1)[0].split("=", maxsplit=1)[0]
    question, _ = describe_outcome(model, outcome)
    against = alternatives[0] if len(alternatives) == 1 else "each alternative"
    titles = Titles(
        f"Indicators to watch: {question or humanise(hypothesis)}",
        f"H = {hypothesis}; likelihood ratio P(indicator | H) / P(indicator | {against}) with "
        "its 95% Katz interval: right of 1 an indicator favours H, left of 1 it tells "
        "against it",
        foot,
    )
    return likelihood_ratio_figure(ratios, titles, xlabel="likelihood ratio (log scale)")
