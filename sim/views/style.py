"""The one look of every figure: colours, fonts, sizes, and the matplotlib settings behind them.

Figures are meant to be pasted into a brief: a title that says what is shown, a subtitle with
the question or the units, labelled axes, light grid lines, no box, and a footer naming the
scenario, the branches and the seed. The palette is Okabe and Ito's, which readers with a
colour vision deficiency can tell apart; the baseline is always the first colour.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
from cycler import cycler

__all__ = [
    "ACCENT",
    "BAND_ALPHA",
    "FAINT",
    "INK",
    "MUTED",
    "PALETTE",
    "RC",
    "WIDTH",
    "colour",
    "style",
    "styled",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Okabe–Ito, reordered so that the first colours are the most distinct on white.
PALETTE = (
    "#0072B2",  # blue: the baseline
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#8C6D31",  # brown (not Okabe–Ito; an eighth colour for long variant lists)
)
INK = "#222222"  # text and axes
MUTED = "#666666"  # subtitles, footers, secondary labels
FAINT = "#DDDDDD"  # grid lines
ACCENT = "#B22222"  # reference marks: the horizon, zero lines, deadlines
BAND_ALPHA = 0.28  # confidence bands
WIDTH = 7.0  # inches: the width of every figure, a page column at a readable font size

RC: dict[Any, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Bitstream Vera Sans", "Verdana", "Arial", "Helvetica"],
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=PALETTE),
    "grid.color": FAINT,
    "grid.linewidth": 0.6,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": 100,
    "savefig.dpi": 200,
    # Scenario text is shown as written: "$5 billion" is not mathematics.
    "text.parse_math": False,
    "text.color": INK,
    # SVG: text as text (a fraction of the size of outlines, sharp in print), in DejaVu Sans
    # where the reader has it and a similar sans-serif font elsewhere; ids fixed so that the
    # same figure gives the same bytes.
    "svg.fonttype": "none",
    "svg.hashsalt": "sim",
    "pdf.fonttype": 42,
}


@contextmanager
def style() -> Iterator[None]:
    """Within the block, new figures and saved files take sim's look."""
    with mpl.rc_context(RC):
        yield


def colour(index: int) -> str:
    """Return the colour of the ``index``-th series (0: the baseline), cycling the palette."""
    return PALETTE[index % len(PALETTE)]


def styled(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``draw`` with sim's look: every artist it makes reads sim's settings."""

    @functools.wraps(draw)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with style():
            return draw(*args, **kwargs)

    return wrapper
