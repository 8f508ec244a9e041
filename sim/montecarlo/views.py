"""Figures and notebook tables of runs: each outcome's natural figure, drawn from a run.

A probability is a point with its interval, a time to an event a Kaplan–Meier curve with its
band (dates on the axis where the scenario has a start date), a value a histogram with its
5–95% range and median; several runs of one scenario (variants, counterfactuals) are drawn
side by side. Figures read the summary, and from ``branches.parquet`` only the columns they
draw, so that a run of a million branches is drawn in seconds. Needs ``sim[report]``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sim.errors import SimError, UsageError
from sim.format.validation import suggest
from sim.model.compile import DAYS_PER_UNIT, load_model
from sim.model.compiled import CompiledModel
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.results import RunResult
from sim.stats.summary import time_curve
from sim.views.frame import Titles, data_uri
from sim.views.html import Table, result_html
from sim.views.outcomes import (
    Curve,
    Estimate,
    Fan,
    Values,
    event_time_figure,
    fan_figure,
    probability_figure,
    value_figure,
)
from sim.views.text import number, percent
from sim.views.timeaxis import TimeAxis

__all__ = [
    "FIGURES",
    "describe_outcome",
    "estimate_text",
    "footer",
    "humanise",
    "interval_text",
    "model_of",
    "outcome_figure",
    "outcome_titles",
    "overview_figure",
    "run_html",
    "run_label",
    "spread_text",
    "time_axis",
    "trajectories",
    "trajectory_figure",
]


# --- what a run is about ------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _load(
    path: str, mtime: float, variant: str | None, overrides: tuple[tuple[str, str], ...]
) -> CompiledModel:
    return load_model(path, variant=variant, overrides=overrides)


def model_of(manifest: Mapping[str, Any], directory: Path | None = None) -> CompiledModel | None:
    """Return the compiled scenario a run was made from, or None if its file cannot be read.

    The file named in the manifest is looked for as given (relative to the working
    directory) and then relative to the folders above the run directory; its variant and
    ``--set`` overrides are applied. A file that no longer compiles gives None: figures then
    do without dates and questions.
    """
    name = str(manifest.get("file") or "")
    if not name:
        return None
    candidates = [Path(name)]
    if directory is not None and not Path(name).is_absolute():
        candidates += [parent / name for parent in Path(directory).resolve().parents]
    for path in candidates:
        if path.is_file():
            overrides = tuple(
                (str(k), str(v)) for k, v in (manifest.get("overrides") or {}).items()
            )
            try:
                return _load(str(path), path.stat().st_mtime, manifest.get("variant"), overrides)
            except SimError:
                return None
    return None


def time_axis(model: CompiledModel | None, result: RunResult | None = None) -> TimeAxis:
    """Return the time axis of a run: the scenario's unit, horizon and start date."""
    if model is not None:
        return TimeAxis(model.unit, model.horizon, model.start, DAYS_PER_UNIT[model.unit])
    horizon = 1.0
    if result is not None:
        ends = result.column("t_end")
        horizon = float(np.max(ends)) if ends.size else 1.0
    return TimeAxis("time unit", horizon)


def run_label(manifest: Mapping[str, Any]) -> str:
    """Return how a run is called beside others: its variant and ``--set`` values, or baseline."""
    parts = [str(manifest["variant"])] if manifest.get("variant") else []
    parts += [f"{k}={v}" for k, v in (manifest.get("overrides") or {}).items()]
    return ", ".join(parts) or "baseline"


def footer(manifest: Mapping[str, Any], *, extra: str = "") -> str:
    """Return a figure's footer: sim's version, the scenario, branches and seed."""
    parts = [f"sim {manifest.get('sim_version', '')}".strip(), str(manifest.get("scenario", ""))]
    if manifest.get("branches") is not None:
        parts.append(f"{int(manifest['branches']):,} branches")
    if manifest.get("seed") is not None:
        parts.append(f"seed {manifest['seed']}")
    if extra:
        parts.append(extra)
    return " · ".join(p for p in parts if p)


def _declared(model: CompiledModel | None, name: str) -> Any:
    if model is None or model.scenario is None:
        return None
    return next((o for o in model.scenario.outcomes if o.name == name), None)


def describe_outcome(model: CompiledModel | None, name: str) -> tuple[str, str]:
    """Return an outcome's question (its ``question`` or ``doc``) and what it measures.

    The question is empty where the scenario states none.
    """
    declared = _declared(model, name)
    if declared is None:
        return "", name
    question = getattr(declared, "question", None) or declared.doc or ""
    unit = model.unit if model is not None else ""
    return " ".join(str(question).split()), _measures(declared, unit)


def _measures(outcome: Any, unit: str) -> str:
    text = _measured(outcome, unit)
    given = getattr(outcome, "given", None)
    return f"{text}, given {given}" if given else text


def _deadline(by: Any, unit: str) -> str:
    if by is None:
        return "the horizon"
    if isinstance(by, int | float):
        return f"{by:g} {unit}s" if unit else f"t = {by:g}"
    return str(by)


def _measured(outcome: Any, unit: str) -> str:
    kind = outcome.kind
    if kind == "probability":
        return f"P({outcome.when} holds by {_deadline(outcome.by, unit)})"
    if kind == "time_to":
        return f"time until {outcome.when} first holds"
    if kind == "value":
        return f"{outcome.expr} at the end of a branch"
    if kind == "flow":
        where = f" at stage {outcome.stage}" if outcome.stage else ""
        return f"{outcome.stat} of flow {outcome.flow}{where}"
    if kind == "count":
        what = f"firings of {outcome.process}" if outcome.process else f"rises of {outcome.when}"
        return f"number of {what} by {_deadline(outcome.by, unit)}"
    if kind == "time_between":
        return f"time from when {outcome.from_} first holds until {outcome.to} holds"
    if kind == "first_of":
        return f"which of {', '.join(outcome.conditions)} holds first"
    return str(kind)


# --- figures ------------------------------------------------------------------------------------


def _entry(run: RunResult, name: str) -> Mapping[str, Any]:
    outcomes: Mapping[str, Any] = run.summary["outcomes"]
    if name not in outcomes:
        names = list(outcomes)
        recorded = trajectories(run)
        where = run.directory or run.manifest.get("scenario", "the run")
        also = f"; trajectories: {', '.join(recorded)}" if recorded else ""
        raise UsageError(
            f"{where}: no outcome {name!r}{suggest(name, names + recorded)}; it has: "
            f"{', '.join(names)}{also}"
        )
    entry: Mapping[str, Any] = outcomes[name]
    return entry


def outcome_titles(model: CompiledModel | None, name: str, how: str, foot: str) -> Titles:
    """Return the titles of an outcome's figure: its question (or its name in words), what it
    measures and how the figure shows it."""
    question, measures = describe_outcome(model, name)
    if len(measures) > _LONG:
        measures = measures[: _LONG - 1].rstrip() + "…"
    said = f"{name}: {measures}" if measures != name else name  # no scenario: only the name
    return Titles(question or humanise(name), f"{said}; {how}", foot)


def humanise(name: str) -> str:
    """Return a snake_case name as words: ``time_to_annexation`` -> ``Time to annexation``."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _titles(model: CompiledModel | None, runs: Sequence[RunResult], name: str, how: str) -> Titles:
    return outcome_titles(model, name, how, footer(runs[0].manifest))


def _probability(
    runs: Sequence[RunResult],
    name: str,
    labels: Sequence[str],
    model: CompiledModel | None,
    **_: Any,
) -> Figure:
    rows = []
    for run, label in zip(runs, labels, strict=True):
        e = _entry(run, name)
        rows.append(Estimate(label, e.get("estimate"), e.get("ci_low"), e.get("ci_high")))
    how = "estimate and 95% Wilson interval"
    return probability_figure(rows, _titles(model, runs, name, how), xlabel="probability")


def _given(run: RunResult, name: str, entry: Mapping[str, Any]) -> np.ndarray | None:
    """Return the branches where a ``given`` outcome's condition held, or None."""
    return run.column(name + GIVEN_SUFFIX).astype(bool) if "given_of" in entry else None


def _horizon(run: RunResult, model: CompiledModel | None) -> float:
    if model is not None:
        return float(model.horizon)
    if run.manifest.get("horizon") is not None:
        return float(run.manifest["horizon"])
    ends = run.column("t_end")
    return float(np.max(ends)) if ends.size else 1.0


def _event_time(
    runs: Sequence[RunResult],
    name: str,
    labels: Sequence[str],
    model: CompiledModel | None,
    *,
    survival: bool = False,
) -> Figure:
    """The curve behind the summary: Kaplan–Meier, or Aalen–Johansen where branches stop."""
    axis = time_axis(model, runs[0])
    kind = str(_entry(runs[0], name)["kind"])
    competing = False
    curves = []
    for run, label in zip(runs, labels, strict=True):
        entry = _entry(run, name)
        stops = "competing" in entry
        competing = competing or stops
        start = run.column(name + FROM_SUFFIX) if kind == "time_between" else None
        curve = time_curve(
            kind,
            run.column(name),
            t_end=run.column("t_end"),
            horizon=_horizon(run, model),
            start=start,
            given=_given(run, name, entry),
            stops=stops,
        )
        curves.append(Curve(label, curve.time, curve.survival, curve.low, curve.high))
    of = " of the baseline" if len(runs) > 1 else ""
    how = (
        f"Aalen–Johansen cumulative incidence (a branch that stop_when ends first meets a "
        f"competing event), 95% band{of}"
        if competing
        else f"Kaplan–Meier estimate, 95% Greenwood band{of}"
    )
    if kind == "time_between":
        declared = _declared(model, name)
        origin = f"when {declared.from_} first holds" if declared is not None else "its start"
        axis = TimeAxis(axis.unit, axis.horizon, None, axis.days_per_unit, origin=origin)
    return event_time_figure(
        curves,
        axis,
        _titles(model, runs, name, how),
        what="it",
        survival=survival,
        horizon=kind == "time_to",
    )


def _value(
    runs: Sequence[RunResult],
    name: str,
    labels: Sequence[str],
    model: CompiledModel | None,
    **_: Any,
) -> Figure:
    series = []
    for run, label in zip(runs, labels, strict=True):
        e = _entry(run, name)
        values = run.column(name)
        held = _given(run, name, e)
        if held is not None:
            values = values[held]
        series.append(Values(label, values, e.get("p5"), e.get("p50"), e.get("p95")))
    how = "distribution over the branches" if len(runs) == 1 else "distribution by run"
    return value_figure(series, _titles(model, runs, name, how), xlabel=name)


def _first_of(
    runs: Sequence[RunResult],
    name: str,
    labels: Sequence[str],
    model: CompiledModel | None,
    **_: Any,
) -> Figure:
    """Which condition held first: each category's probability, runs side by side."""
    rows = []
    for run, label in zip(runs, labels, strict=True):
        categories: Mapping[str, Any] = _entry(run, name).get("categories") or {}
        for category, e in categories.items():
            shown = category if len(runs) == 1 else f"{category} · {label}"
            rows.append(Estimate(shown, e.get("estimate"), e.get("ci_low"), e.get("ci_high")))
    how = "which condition held first: each one's probability and 95% Wilson interval"
    return probability_figure(
        rows, _titles(model, runs, name, how), xlabel="probability", highlight_first=False
    )


_LONG = 110  # characters of a measured expression shown in a subtitle
_Builder = Callable[..., Figure]
FIGURES: dict[str, _Builder] = {
    "probability": _probability,
    "time_to": _event_time,
    "value": _value,
    "flow": _value,
    "count": _value,
    "time_between": _event_time,
    "first_of": _first_of,
}
"""The figure of each outcome kind; a new kind adds its builder here."""


def outcome_figure(
    runs: Sequence[RunResult],
    name: str,
    *,
    labels: Sequence[str] | None = None,
    survival: bool = False,
    model: CompiledModel | None = None,
) -> Figure:
    """Return the figure of outcome ``name`` of one run, or of several runs side by side.

    The first run is the baseline. ``labels`` name the runs (default: their variants and
    ``--set`` values); ``survival`` draws a time to an event as survival rather than as the
    share of branches where it has happened. ``model`` is the scenario, if already loaded.
    """
    if not runs:
        raise UsageError("a figure needs at least one run")
    if name not in runs[0].summary["outcomes"] and name in trajectories(runs[0]):
        return trajectory_figure(runs[0], name, model=model)
    kind = str(_entry(runs[0], name)["kind"])
    builder = FIGURES.get(kind)
    if builder is None:
        raise UsageError(f"outcome {name!r}: no figure for outcomes of kind {kind!r} yet")
    names = list(labels) if labels is not None else [run_label(r.manifest) for r in runs]
    scenario = model if model is not None else model_of(runs[0].manifest, runs[0].directory)
    return builder(runs, name, names, scenario, survival=survival)


def trajectories(run: RunResult) -> list[str]:
    """Return the names a run recorded over time (``record:``), in the summary's order."""
    return list(run.summary.get("series") or {})


def trajectory_figure(run: RunResult, name: str, *, model: CompiledModel | None = None) -> Figure:
    """Return the fan chart of a recorded quantity: median, 25–75% and 5–95% of the branches.

    Drawn from the summary's percentiles at each sample time, so no row is read.
    """
    series: Mapping[str, Any] = run.summary.get("series") or {}
    if name not in series:
        names = trajectories(run)
        where = run.directory or run.manifest.get("scenario", "the run")
        raise UsageError(
            f"{where}: no outcome or recorded trajectory {name!r}{suggest(name, names)}"
        )
    entry = series[name]
    scenario = model if model is not None else model_of(run.manifest, run.directory)
    axis = time_axis(scenario, run)

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in entry[key]], dtype=float)

    fan = Fan(name, column("t"), *(column(k) for k in ("p5", "p25", "p50", "p75", "p95")))
    stopped = max(entry.get("stopped") or [0])
    how = "median, 25–75% and 5–95% of the branches at each recorded time"
    if stopped:
        how += "; a branch that ended early keeps its last value"
    titles = Titles(f"{humanise(name)} over time", f"{name}: {how}", footer(run.manifest))
    return fan_figure(fan, axis, titles, ylabel=name)


def overview_figure(run: RunResult, model: CompiledModel | None = None) -> Figure | None:
    """Return a dot plot of every probability outcome of a run, or None if it has none."""
    rows = [
        Estimate(name, e.get("estimate"), e.get("ci_low"), e.get("ci_high"))
        for name, e in run.summary["outcomes"].items()
        if e.get("kind") == "probability"
    ]
    if not rows:
        return None
    scenario = model if model is not None else model_of(run.manifest, run.directory)
    title = scenario.title if scenario is not None else str(run.manifest.get("scenario", ""))
    titles = Titles(
        title, "probability outcomes: estimate and 95% Wilson interval", footer(run.manifest)
    )
    return probability_figure(rows, titles, xlabel="probability", highlight_first=False)


# --- numbers as text ----------------------------------------------------------------------------


def estimate_text(entry: Mapping[str, Any], axis: TimeAxis | None = None) -> str:
    """Return an outcome's estimate as a reader wants it: ``60.9%``, ``97.3 months (Apr 2031)``.

    Which condition held first: each category's share, ``a 45.0% · none 55.0%``.
    """
    categories = entry.get("categories")
    if categories:
        return " · ".join(f"{k} {percent(v.get('estimate'), 1)}" for k, v in categories.items())
    kind = str(entry.get("kind"))
    if kind == "time_between":
        return _shown(entry.get("estimate"), "time_to", axis, dated=False)
    return _shown(entry.get("estimate"), kind, axis, dated=True)


def interval_text(entry: Mapping[str, Any], axis: TimeAxis | None = None) -> str:
    """Return an outcome's 95% interval: ``59.9% – 61.8%``, or ``-`` where undefined."""
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if low is None and high is None:
        return "-"
    kind = str(entry.get("kind"))
    if kind in ("time_to", "time_between"):  # the unit once, after both ends
        ends = f"{_shown(low, 'value', None)} – {_shown(high, 'value', None)}"
        return f"{ends} {axis.unit}s" if axis is not None else ends
    return f"{_shown(low, kind, axis)} – {_shown(high, kind, axis)}"


def spread_text(entry: Mapping[str, Any], axis: TimeAxis | None = None) -> str:
    """Return an outcome's 5th, 50th and 95th percentiles, or an empty text if it has none."""
    if "p50" not in entry:
        return ""
    kind = str(entry.get("kind"))
    return " · ".join(_shown(entry.get(k), kind, axis) for k in ("p5", "p50", "p95"))


def _shown(value: Any, kind: str, axis: TimeAxis | None, *, dated: bool = False) -> str:
    if value is None:
        return "-"
    x = float(value)
    if kind == "probability":
        return percent(x, 1)
    if kind == "time_to" and axis is not None:
        text = axis.span(x)
        return f"{text} ({axis.when(x)})" if dated and axis.dated else text
    return number(x)


def run_html(run: RunResult) -> str:
    """Return a run as a notebook shows it: its outcomes' table and its probabilities' figure."""
    model = model_of(run.manifest, run.directory)
    axis = time_axis(model) if model is not None else None
    rows = [
        [
            name,
            str(e.get("kind")),
            estimate_text(e, axis),
            interval_text(e, axis),
            spread_text(e, axis),
        ]
        for name, e in run.summary["outcomes"].items()
    ]
    table = Table(
        ["outcome", "kind", "estimate", "95% interval", "p5 · p50 · p95"],
        rows,
        frozenset({2, 3, 4}),
    )
    figure = overview_figure(run, model)
    title = model.title if model is not None else str(run.manifest.get("scenario", ""))
    where = f" · {run.directory}" if run.directory else " · in memory"
    subtitle = footer(run.manifest).split(" · ", 2)[-1] + where
    return result_html(
        title,
        subtitle,
        table,
        data_uri(figure) if figure else None,
        "probability outcomes with their 95% intervals",
    )
