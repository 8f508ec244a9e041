"""Figures of analyses: sweeps (lines with bands, heat maps), comparisons (forest plots) and
sensitivity indices (tornado charts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

from sim.views.frame import Titles, axes_list, new_figure
from sim.views.style import ACCENT, BAND_ALPHA, INK, MUTED, colour, styled
from sim.views.text import number, percent, signed

__all__ = [
    "TORNADO_ROWS",
    "Difference",
    "Index",
    "Ratio",
    "SweepSeries",
    "draw_forest",
    "draw_sweep",
    "draw_tornado",
    "forest_figure",
    "heatmap_figure",
    "likelihood_ratio_figure",
    "log_ticks",
    "sweep_figure",
    "tornado_figure",
]

_ROW = 0.3  # inches per row of a forest or tornado chart
_LEGEND_INSIDE = 3  # lines of a sweep whose legend fits inside the axes
TORNADO_ROWS = 15  # parameters a tornado chart shows: those with the largest total effects


@dataclass(frozen=True)
class SweepSeries:
    """An outcome's estimates at each value of a swept parameter, with their intervals."""

    label: str
    x: np.ndarray
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class Difference:
    """A difference to the baseline with its 95% interval (``None`` where undefined)."""

    label: str
    difference: float | None
    low: float | None
    high: float | None
    significant: bool


@dataclass(frozen=True)
class Ratio:
    """A likelihood ratio with its 95% interval (``None`` where undefined)."""

    label: str
    ratio: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Index:
    """A parameter's sensitivity indices: a main and a total effect with their half-widths.

    For Sobol, ``main`` is S1 and ``total`` is ST; for Morris, ``main`` is mu* and ``total``
    is sigma (shown side by side rather than nested).
    """

    parameter: str
    main: float
    main_conf: float
    total: float
    total_conf: float


# --- sweeps -------------------------------------------------------------------------------------


def draw_sweep(ax: Axes, series: Sequence[SweepSeries], *, as_percent: bool) -> Axes:
    """Draw each series as a line through its points with its 95% band."""
    scale = 100.0 if as_percent else 1.0
    for i, s in enumerate(series):
        order = np.argsort(s.x, kind="stable")
        x = s.x[order]
        tint = colour(i)
        ax.fill_between(
            x,
            scale * s.low[order],
            scale * s.high[order],
            color=tint,
            alpha=BAND_ALPHA,
            linewidth=0,
        )
        ax.plot(x, scale * s.estimate[order], "-o", color=tint, markersize=4, label=s.label)
    if as_percent:
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    if len(series) > _LEGEND_INSIDE:  # beside the axes, where it hides no line
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    elif len(series) > 1:
        ax.legend(loc="best")
    return ax


@styled
def sweep_figure(
    series: Sequence[SweepSeries], titles: Titles, *, xlabel: str, ylabel: str, as_percent: bool
) -> Figure:
    """Return a figure of outcomes against one swept parameter."""
    figure, ax = new_figure(titles, height=3.0)
    draw_sweep(ax, series, as_percent=as_percent)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure


@styled
def heatmap_figure(
    x: Sequence[float],
    y: Sequence[float],
    values: np.ndarray,
    titles: Titles,
    *,
    xlabel: str,
    ylabel: str,
    what: str,
    as_percent: bool,
) -> Figure:
    """Return a heat map of an outcome over a grid of two swept parameters.

    ``values[j, i]`` is the estimate at ``y[j]`` and ``x[i]``; each cell shows its number.
    """
    figure, ax = new_figure(titles, height=max(2.4, 0.45 * len(y) + 0.9))
    scale = 100.0 if as_percent else 1.0
    data = scale * np.asarray(values, dtype=float)
    image = ax.imshow(
        data,
        origin="lower",
        aspect="auto",
        cmap="Blues",
        vmin=0.0 if as_percent else None,
        vmax=100.0 if as_percent else None,
    )
    ax.set_xticks(range(len(x)), [f"{v:g}" for v in x])
    ax.set_yticks(range(len(y)), [f"{v:g}" for v in y])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    finite = data[np.isfinite(data)]
    middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
    for j in range(data.shape[0]):
        for i in range(data.shape[1]):
            cell = data[j, i]
            text = (
                "-"
                if not np.isfinite(cell)
                else (percent(cell / 100) if as_percent else number(float(cell)))
            )
            dark = bool(np.isfinite(cell)) and cell > (55.0 if as_percent else middle)
            ax.text(
                i, j, text, ha="center", va="center", fontsize=8, color="white" if dark else INK
            )
    bar = figure.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label(what)
    if as_percent:
        bar.formatter = PercentFormatter(decimals=0)
        bar.update_ticks()
    bar.outline.set_visible(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure


@styled
def scatter_figure(
    columns: Sequence[tuple[str, np.ndarray]],
    estimate: np.ndarray,
    titles: Titles,
    *,
    ylabel: str,
    as_percent: bool,
) -> Figure:
    """Return one panel per swept parameter: the outcome at each sampled point against it."""
    count = len(columns)
    ncols = min(count, 3)
    nrows = -(-count // ncols)
    figure, axes = new_figure(titles, height=2.4 * nrows, nrows=nrows, ncols=ncols, sharey=True)
    scale = 100.0 if as_percent else 1.0
    panels = axes_list(axes)
    for ax, (name, x) in zip(panels, columns, strict=False):
        ax.plot(x, scale * estimate, "o", color=colour(0), markersize=3.5, alpha=0.7)
        ax.set_xlabel(name)
        if as_percent:
            ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    for ax in panels[count:]:
        ax.set_visible(False)
    panels[0].set_ylabel(ylabel)
    return figure


# --- comparisons --------------------------------------------------------------------------------


def draw_forest(
    ax: Axes, rows: Sequence[Difference], *, scale: float, unit: str, decimals: int | None = None
) -> Axes:
    """Draw each difference as a point with its interval; zero as a line.

    Differences whose interval excludes zero are drawn solid, the others faded. ``scale``
    multiplies every number (100 for proportions in percentage points).
    """
    ax.axvline(0.0, color=ACCENT, linewidth=1.0, zorder=1)
    for i, row in enumerate(rows):
        y = -i
        tint = colour(1) if row.significant else MUTED
        if row.low is not None and row.high is not None:
            ax.plot(
                [scale * row.low, scale * row.high],
                [y, y],
                color=tint,
                linewidth=2.2,
                alpha=0.9 if row.significant else 0.6,
                solid_capstyle="butt",
            )
        if row.difference is not None:
            ax.plot([scale * row.difference], [y], "o", color=tint, markersize=6, zorder=3)
    ax.set_yticks([-i for i in range(len(rows))], [r.label for r in rows])
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    _label_differences(ax, rows, scale=scale, unit=unit, decimals=decimals)
    return ax


def _label_differences(
    ax: Axes, rows: Sequence[Difference], *, scale: float, unit: str, decimals: int | None
) -> None:
    """Write each difference and its interval as a column of labels right of the plot.

    They are tick labels of a secondary axis, so that the layout makes room for them.
    """
    texts = []
    for row in rows:
        if row.difference is None:
            texts.append("-")
            continue
        text = f"{signed(scale * row.difference, decimals)}{unit}"
        if row.low is not None and row.high is not None:
            low, high = signed(scale * row.low, decimals), signed(scale * row.high, decimals)
            text += f"  ({low} to {high})"
        texts.append(text)
    right = ax.secondary_yaxis("right")
    right.set_yticks([-i for i in range(len(rows))], texts)
    right.tick_params(length=0, pad=6)
    right.spines["right"].set_visible(False)
    for label, row in zip(right.get_yticklabels(), rows, strict=True):
        label.set_color(INK if row.significant else MUTED)


@styled
def forest_figure(
    rows: Sequence[Difference],
    titles: Titles,
    *,
    xlabel: str,
    scale: float = 1.0,
    unit: str = "",
    decimals: int | None = None,
) -> Figure:
    """Return a forest plot of differences to the baseline with their 95% intervals.

    ``decimals`` fixes the digits of the numbers beside the plot (default: three
    significant digits each).
    """
    figure, ax = new_figure(titles, height=0.6 + _ROW * max(len(rows), 2))
    draw_forest(ax, rows, scale=scale, unit=unit, decimals=decimals)
    ax.set_xlabel(xlabel)
    return figure


# --- sensitivity --------------------------------------------------------------------------------


def draw_tornado(ax: Axes, rows: Sequence[Index], *, main: str, total: str) -> Axes:
    """Draw each parameter's main and total effects as bars, largest total effect at the top."""
    height = 0.38
    for i, row in enumerate(rows):
        y = -i
        ax.barh(
            y + height / 2,
            row.total,
            height=height,
            color=colour(0),
            alpha=0.35,
            xerr=row.total_conf,
            error_kw={"ecolor": MUTED, "elinewidth": 0.8},
            label=total if i == 0 else None,
        )
        ax.barh(
            y - height / 2,
            row.main,
            height=height,
            color=colour(0),
            xerr=row.main_conf,
            error_kw={"ecolor": MUTED, "elinewidth": 0.8},
            label=main if i == 0 else None,
        )
    ax.set_yticks([-i for i in range(len(rows))], [r.parameter for r in rows])
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    ax.axvline(0.0, color=INK, linewidth=0.8)
    ax.legend(loc="lower right")
    return ax


@styled
def tornado_figure(
    rows: Sequence[Index], titles: Titles, *, main: str, total: str, xlabel: str
) -> Figure:
    """Return a tornado chart of sensitivity indices, parameters sorted by total effect.

    Only the :data:`TORNADO_ROWS` parameters with the largest total effects are drawn; the
    x label says how many others there are (their indices are in the table).
    """
    ordered = sorted(rows, key=lambda r: -(r.total if np.isfinite(r.total) else -np.inf))
    shown, rest = ordered[:TORNADO_ROWS], len(ordered) - TORNADO_ROWS
    figure, ax = new_figure(titles, height=0.6 + 1.4 * _ROW * max(len(shown), 2))
    draw_tornado(ax, shown, main=main, total=total)
    if rest > 0:
        more = f"{rest} more parameter{'s' if rest > 1 else ''}"
        xlabel += f"\n({more} with smaller effects not shown)"
    ax.set_xlabel(xlabel)
    return figure


# --- evidence -----------------------------------------------------------------------------------


_LOG_STEPS = (  # from the finest to the coarsest
    (1.0, 1.1, 1.2, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
    (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    (1.0, 2.0, 5.0),
    (1.0,),
)


def log_ticks(low: float, high: float, most: int = 9) -> list[float]:
    """Ticks of a log axis from ``low`` to ``high``: round numbers, the finest steps that
    give at most ``most`` of them (1.1, 1.2... on a narrow range, 1, 2, 5 times powers of
    ten on a wide one, powers of ten alone on a very wide one)."""
    first, last = int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1
    found: list[float] = []
    for steps in _LOG_STEPS:
        found = [
            float(f"{step * 10.0**power:.6g}")
            for power in range(first, last + 1)
            for step in steps
            if low <= step * 10.0**power <= high
        ]
        if len(found) <= most:
            return found
    every = -(-len(found) // most)  # powers of ten, every few of them
    return found[::every]


@styled
def likelihood_ratio_figure(rows: Sequence[Ratio], titles: Titles, *, xlabel: str) -> Figure:
    """Return the likelihood ratios of indicators on a log axis, most diagnostic at the top.

    A ratio above 1 favours the hypothesis, below 1 the alternative; 1 tells nothing.
    """
    known = [r for r in rows if r.ratio is not None and r.ratio > 0]
    ordered = sorted(known, key=lambda r: -abs(np.log(r.ratio or 1.0)))
    figure, ax = new_figure(titles, height=0.6 + _ROW * max(len(ordered), 2))
    ax.set_xscale("log")
    values = [v for r in ordered for v in (r.ratio, r.low, r.high) if v is not None and v > 0]
    low, high = np.log(min([*values, 1.0])), np.log(max([*values, 1.0]))
    pad = 0.06 * (high - low) or 0.1
    limits = float(np.exp(low - pad)), float(np.exp(high + pad))
    ax.set_xlim(*limits)
    # Plain numbers on the log axis, enough of them to read a narrow range (matplotlib's
    # default ticks are mathematics, which sim turns off so that scenario text shows as
    # written, and label only powers of ten).
    ax.xaxis.set_major_locator(FixedLocator(log_ticks(*limits)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.axvline(1.0, color=ACCENT, linewidth=1.0, zorder=1)
    for i, row in enumerate(ordered):
        tint = colour(1) if (row.ratio or 1.0) > 1 else colour(0)
        if row.low is not None and row.high is not None and row.low > 0:
            ax.plot(
                [row.low, row.high],
                [-i, -i],
                color=tint,
                linewidth=2.2,
                alpha=0.6,
                solid_capstyle="butt",
            )
        ax.plot([row.ratio], [-i], "o", color=tint, markersize=6, zorder=3)
    ax.set_yticks([-i for i in range(len(ordered))], [r.label for r in ordered])
    ax.set_ylim(-len(ordered) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    right = ax.secondary_yaxis("right")
    right.set_yticks(
        [-i for i in range(len(ordered))],
        [
            f"×{number(r.ratio)}"
            + (
                f"  ({number(r.low)}–{number(r.high)})"
                if r.low is not None and r.high is not None
                else ""
            )
            for r in ordered
        ],
    )
    right.tick_params(length=0, pad=6)
    right.spines["right"].set_visible(False)
    ax.set_xlabel(xlabel)
    return figure
