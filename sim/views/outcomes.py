"""Figures of outcomes: probabilities as points with intervals, times to an event as curves,
values as histograms or distribution functions.

Each ``draw_*`` function draws on an ``Axes`` it is given and returns it; each ``*_figure``
function makes a whole figure in sim's frame (:func:`sim.views.frame.new_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.views.frame import Titles, new_figure
from sim.views.style import BAND_ALPHA, INK, MUTED, colour, styled
from sim.views.text import number, percent
from sim.views.timeaxis import TimeAxis

__all__ = [
    "Curve",
    "Estimate",
    "Fan",
    "Values",
    "draw_ecdfs",
    "draw_estimates",
    "draw_event_curves",
    "draw_fan",
    "draw_histogram",
    "event_time_figure",
    "fan_figure",
    "probability_figure",
    "value_figure",
]

_MAX_STEPS = 1000  # a curve with more steps than this is drawn on a grid
_GRID = 600  # times of that grid
_ROW = 0.32  # inches per row of a dot plot
_FEW = 40  # values with at most this many distinct numbers get one bar per number


@dataclass(frozen=True)
class Estimate:
    """A labelled estimate with its interval (``None`` where undefined)."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Curve:
    """A Kaplan–Meier curve: survival on ``[time[i], time[i+1])`` with its pointwise band."""

    label: str
    time: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class Fan:
    """A quantity's quantiles over the branches at each recorded time (a trajectory)."""

    label: str
    time: np.ndarray
    p5: np.ndarray
    p25: np.ndarray
    p50: np.ndarray
    p75: np.ndarray
    p95: np.ndarray


@dataclass(frozen=True)
class Values:
    """The values of one run's outcome, with its 5th, 50th and 95th percentiles."""

    label: str
    values: np.ndarray
    p5: float | None = None
    p50: float | None = None
    p95: float | None = None


# --- probabilities ------------------------------------------------------------------------------


def draw_estimates(
    ax: Axes, rows: Sequence[Estimate], *, as_percent: bool = True, highlight_first: bool = True
) -> Axes:
    """Draw each estimate as a point with its interval, one row each, the first at the top.

    The value is written beside each point; undefined estimates leave their row empty.
    """
    digits = 1 if as_percent and _narrow(rows) else 0
    show = (lambda p: percent(p, digits)) if as_percent else number
    scale = 100.0 if as_percent else 1.0
    for i, row in enumerate(rows):
        y = -i
        tint = colour(0) if (i == 0 or not highlight_first) else colour(1)
        if row.low is not None and row.high is not None:
            ax.plot(
                [scale * row.low, scale * row.high],
                [y, y],
                color=tint,
                linewidth=2.4,
                alpha=0.45,
                solid_capstyle="butt",
            )
        if row.estimate is None:
            continue
        ax.plot([scale * row.estimate], [y], "o", color=tint, markersize=6.5, zorder=3)
        text = show(row.estimate)
        if row.low is not None and row.high is not None:
            text += f"  ({show(row.low)}–{show(row.high)})"
        ax.annotate(
            text,
            (scale * (row.high if row.high is not None else row.estimate), y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8.5,
            color=INK,
        )
    ax.set_yticks([-i for i in range(len(rows))], [r.label for r in rows])
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    if as_percent:
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        _percent_limits(ax, rows)
    return ax


def _narrow(rows: Sequence[Estimate]) -> bool:
    """Whether some interval is so narrow that whole percentages would hide it."""
    return any(r.low is not None and r.high is not None and r.high - r.low < 0.02 for r in rows)


def _percent_limits(ax: Axes, rows: Sequence[Estimate]) -> None:
    """Show 0–100% when the estimates spread widely, else the range around them.

    Either way there is room on the right for the labels.
    """
    values = [100 * v for r in rows for v in (r.low, r.estimate, r.high) if v is not None]
    if not values:
        ax.set_xlim(0, 100)
        return
    lo, hi = min(values), max(values)
    if hi - lo > 40:
        ax.set_xlim(0, 100 + 35)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.spines["bottom"].set_bounds(0, 100)
        return
    pad = max(2.0, 0.15 * (hi - lo))
    left = max(0.0, lo - pad)
    ax.set_xlim(left, hi + pad + 0.55 * (hi + pad - left))
    ax.xaxis.set_major_locator(MaxNLocator(6))


@styled
def probability_figure(
    rows: Sequence[Estimate], titles: Titles, *, xlabel: str, highlight_first: bool = True
) -> Figure:
    """Return a dot plot of probabilities with their 95% intervals, one row per estimate.

    With ``highlight_first`` the first row (the baseline) has a colour of its own.
    """
    figure, ax = new_figure(titles, height=0.55 + _ROW * max(len(rows), 2))
    draw_estimates(ax, rows, highlight_first=highlight_first)
    ax.set_xlabel(xlabel)
    return figure


# --- times to an event --------------------------------------------------------------------------


def _steps(curve: Curve, horizon: float) -> tuple[np.ndarray, ...]:
    """Return the curve's steps up to the horizon, from t = 0, on a grid if there are many.

    A curve of many steps is evaluated exactly at a grid of times (about a hundred to the
    inch), to be joined by straight lines: drawing a million steps adds nothing the eye can
    see, but megabytes to an SVG file. The first array says which of the two it is.
    """
    inside = curve.time <= horizon
    time = curve.time[inside]
    if time.size > _MAX_STEPS:
        grid = np.linspace(0.0, horizon, _GRID)
        index = np.searchsorted(curve.time, grid, side="right") - 1
        pick = np.maximum(index, 0)
        before = index < 0
        values = [np.where(before, 1.0, a[pick]) for a in (curve.survival, curve.low, curve.high)]
        return np.array(False), grid, *values
    t = np.concatenate(([0.0], time, [horizon]))
    values = []
    for a in (curve.survival, curve.low, curve.high):
        kept = a[inside]
        last = kept[-1] if kept.size else 1.0
        values.append(np.concatenate(([1.0], kept, [last])))
    return np.array(True), t, *values


def draw_event_curves(
    ax: Axes,
    curves: Sequence[Curve],
    axis: TimeAxis,
    *,
    survival: bool = False,
    band: str = "first",
    horizon: bool = True,
) -> Axes:
    """Draw Kaplan–Meier curves as cumulative incidence (1 - S) or survival, with bands.

    ``band`` is ``"first"`` (only the first curve, the baseline, gets its band) or ``"all"``.
    The median is marked where a curve reaches it, and the horizon as a dashed line.
    """
    top = 0.0
    for i, curve in enumerate(curves):
        stepped, t, s, low, high = _steps(curve, axis.horizon)
        where: Literal["post"] | None = "post" if bool(stepped) else None
        y, lo, hi = (s, low, high) if survival else (1 - s, 1 - high, 1 - low)
        x = axis.x(t)
        tint = colour(i)
        if band == "all" or i == 0:
            ax.fill_between(
                x, 100 * lo, 100 * hi, step=where, color=tint, alpha=BAND_ALPHA, linewidth=0
            )
        ax.plot(
            x,
            100 * y,
            drawstyle="steps-post" if where else "default",
            color=tint,
            label=curve.label,
            linewidth=1.5 if i == 0 else 1.3,
            zorder=3 if i == 0 else 2,  # the baseline on top, where a variant's curve is the same
        )
        top = max(top, float(np.max(100 * hi)) if hi.size else 0.0)
        _mark_median(ax, t, s, axis, tint, first=i == 0, survival=survival)
    axis.setup(ax)
    if horizon:
        axis.mark_horizon(ax)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylim(0, 100 if survival or top > 60 else min(100.0, _nice_ceiling(top * 1.15)))
    if len(curves) > 1:
        ax.legend(loc="upper left" if not survival else "lower left")
    return ax


def _mark_median(
    ax: Axes,
    t: np.ndarray,
    s: np.ndarray,
    axis: TimeAxis,
    tint: str,
    *,
    first: bool,
    survival: bool,
) -> None:
    """Mark where half of the branches have had the event, if they do by the horizon.

    The baseline's mark is labelled on the side of the point that its curve leaves empty.
    """
    below = np.flatnonzero(s <= 0.5)
    if not below.size:
        return
    when = float(t[below[0]])
    ax.plot([float(axis.x(when))], [50.0], "o", color=tint, markersize=5, zorder=4)
    if first:
        ax.annotate(
            f"half by {axis.when(when)}",
            (float(axis.x(when)), 50.0),
            xytext=(-7, -9 if survival else 7),
            textcoords="offset points",
            ha="right",
            va="top" if survival else "bottom",
            fontsize=8.5,
            color=tint,
            weight="bold",
        )


def _nice_ceiling(x: float) -> float:
    """Return a round number just above ``x`` (for axis limits in percent)."""
    if x <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(x))
    for k in (1, 2, 2.5, 5, 10):
        if k * step >= x:
            return float(k * step)
    return float(10 * step)


@styled
def event_time_figure(
    curves: Sequence[Curve],
    axis: TimeAxis,
    titles: Titles,
    *,
    what: str,
    survival: bool = False,
    horizon: bool = True,
) -> Figure:
    """Return the figure of a time to an event (``what`` names the event).

    ``horizon`` marks the horizon (not for times between two events, which start later).
    """
    figure, ax = new_figure(titles, height=3.3)
    draw_event_curves(ax, curves, axis, survival=survival, horizon=horizon)
    ax.set_ylabel(
        f"branches where {what}\nhas not happened yet"
        if survival
        else f"branches where {what}\nhas happened by then"
    )
    return figure


# --- values -------------------------------------------------------------------------------------


def _bins(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return histogram bin edges, and whether the tails beyond them were left out.

    Whole numbers get bins of a whole width; otherwise 50 bins cover the middle 99.8% of
    the values when the tails are long, else the whole range.
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    if np.all(values == np.round(values)):
        # Whole numbers: bins of a whole width, centred on the numbers, so none is favoured.
        width = max(1, math.ceil((hi - lo + 1) / 60))
        return np.arange(lo - 0.5, hi + width + 0.5, width), False
    q_lo, q_hi = (float(q) for q in np.quantile(values, [0.001, 0.999]))
    clipped = (hi - lo) > 3 * (q_hi - q_lo) > 0
    if clipped:
        lo, hi = q_lo, q_hi
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, 51), clipped


def draw_histogram(ax: Axes, series: Values, *, tint: str | None = None) -> Axes:
    """Draw the distribution of one run's values with its 5–95% range and median marked."""
    values = np.asarray(series.values, dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color=MUTED)
        return ax
    distinct, counts = np.unique(values, return_counts=True)
    clipped = False
    if distinct.size <= _FEW:
        # A few distinct values (counts, sums of fixed packets): one bar each, exactly.
        gap = float(np.min(np.diff(distinct))) if distinct.size > 1 else 1.0
        ax.bar(
            distinct,
            100.0 * counts / values.size,
            width=0.8 * gap,
            color=tint or colour(0),
            alpha=0.85,
        )
        _, clipped = _bins(values)
        if clipped:
            ax.set_xlim(float(distinct[0]) - gap, float(np.quantile(values, 0.999)) + gap)
    else:
        edges, clipped = _bins(values)
        inside = values[(values >= edges[0]) & (values <= edges[-1])]
        weights = np.full(inside.size, 100.0 / values.size)
        ax.hist(
            inside,
            bins=edges.tolist(),
            weights=weights,
            color=tint or colour(0),
            alpha=0.85,
            edgecolor="white",
            linewidth=0.4,
        )
    if series.p5 is not None and series.p95 is not None:
        ax.axvspan(
            series.p5,
            series.p95,
            color=MUTED,
            alpha=0.10,
            zorder=0,
            label=f"5th–95th percentile: {number(series.p5)} – {number(series.p95)}",
        )
    if series.p50 is not None:
        ax.axvline(
            series.p50,
            color=INK,
            linewidth=1.2,
            linestyle=(0, (3, 2)),
            label=f"median: {number(series.p50)}",
        )
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0 if _max_share(ax) >= 5 else 1))
    ax.set_ylabel("share of branches")
    if clipped:
        ax.annotate(
            "axis shows the middle 99.8% of branches",
            (1.0, 1.0),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=MUTED,
        )
    ax.legend(loc="best")
    return ax


def _max_share(ax: Axes) -> float:
    heights = [p.get_height() for p in ax.patches if hasattr(p, "get_height")]
    return max(heights, default=0.0)


def draw_ecdfs(ax: Axes, series: Sequence[Values]) -> Axes:
    """Draw the distribution function of several runs' values, the first as the baseline."""
    for i, s in enumerate(series):
        values = np.sort(np.asarray(s.values, dtype=float))
        values = values[~np.isnan(values)]
        if not values.size:
            continue
        # At most ~2000 points per line: the quantiles at evenly spaced levels.
        levels = np.linspace(0, 1, min(values.size, 2000))
        x = np.quantile(values, levels, method="inverted_cdf")
        ax.step(
            x,
            100 * levels,
            where="post",
            color=colour(i),
            label=s.label,
            linewidth=2.0 if i == 0 else 1.5,
        )
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylim(0, 100)
    ax.set_ylabel("branches at or below the value")
    ax.legend(loc="lower right")
    return ax


@styled
def value_figure(series: Sequence[Values], titles: Titles, *, xlabel: str) -> Figure:
    """Return a histogram of one run's values, or the distribution functions of several."""
    figure, ax = new_figure(titles, height=3.1)
    if len(series) == 1:
        draw_histogram(ax, series[0])
    else:
        draw_ecdfs(ax, series)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _tick(x)))
    return figure


def _tick(x: float) -> str:
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    return f"{x:g}"


# --- trajectories -------------------------------------------------------------------------------


def draw_fan(ax: Axes, fan: Fan, axis: TimeAxis, *, tint: str | None = None) -> Axes:
    """Draw a fan chart: the 5–95% and 25–75% bands of the branches and their median."""
    x = axis.x(fan.time)
    shade = tint or colour(0)
    ax.fill_between(
        x, fan.p5, fan.p95, color=shade, alpha=0.16, linewidth=0, label="5th–95th percentile"
    )
    ax.fill_between(
        x, fan.p25, fan.p75, color=shade, alpha=0.34, linewidth=0, label="25th–75th percentile"
    )
    ax.plot(x, fan.p50, color=shade, linewidth=1.8, label="median")
    axis.setup(ax)
    axis.mark_horizon(ax)
    ax.legend(loc="upper left")
    return ax


@styled
def fan_figure(fan: Fan, axis: TimeAxis, titles: Titles, *, ylabel: str) -> Figure:
    """Return the fan chart of a recorded quantity over time."""
    figure, ax = new_figure(titles, height=3.1)
    draw_fan(ax, fan, axis)
    ax.set_ylabel(ylabel)
    return figure
