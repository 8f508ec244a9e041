"""Figures with sim's frame: a title band above the axes, a footer below, and their files.

A figure is a :class:`matplotlib.figure.Figure` made without pyplot (so no global state and
no window), on the Agg canvas. Its axes are laid out by matplotlib's constrained layout
inside the space that the title band and the footer leave free.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from sim.views.style import INK, MUTED, WIDTH, style

__all__ = ["FORMATS", "Titles", "axes_list", "data_uri", "new_figure", "save", "to_bytes"]

FORMATS = ("png", "svg", "pdf")
_TITLE_PT, _SUBTITLE_PT, _FOOTER_PT = 12.0, 9.5, 7.5
_LINE = 1.3 / 72  # inches per point of font size, for one line of text
_PAD = 0.1  # inches around the bands
# The average width of a character of the bold title, as a share of its size: wide enough
# that a title of capitals and wide letters is wrapped before the figure's edge cuts it.
_BOLD_EM = 0.66
# Without dates, the same figure gives the same bytes (for committed reports and tests).
_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
    "png": {},
}


@dataclass(frozen=True)
class Titles:
    """The text around a figure's axes: what it shows, how to read it, where it comes from."""

    title: str
    subtitle: str = ""
    footer: str = ""


def _wrap(text: str, points: float, em: float = 0.56) -> list[str]:
    """Break ``text`` into lines that fit the figure's width at a font size of ``points``,
    a character being ``em`` of that size wide on average (more for bold type)."""
    if not text:
        return []
    chars = int((WIDTH - 2 * _PAD) * 72 / (points * em))
    return textwrap.wrap(" ".join(text.split()), chars) or [""]


def new_figure(
    titles: Titles, *, height: float, nrows: int = 1, ncols: int = 1, **subplots: Any
) -> tuple[Figure, Any]:
    """Return a figure whose axes (``nrows`` x ``ncols``) are ``height`` inches tall in all.

    The title, subtitle and footer are drawn at once; the axes come back as
    :meth:`Figure.subplots` returns them (one ``Axes``, or an array of them).
    """
    title = _wrap(titles.title, _TITLE_PT, _BOLD_EM)
    subtitle = _wrap(titles.subtitle, _SUBTITLE_PT)
    top = _PAD + _LINE * (_TITLE_PT * len(title) + _SUBTITLE_PT * len(subtitle)) + _PAD
    bottom = (_LINE * _FOOTER_PT + 2 * _PAD) if titles.footer else _PAD
    total = height + top + bottom
    with style():
        figure = Figure(figsize=(WIDTH, total))
        FigureCanvasAgg(figure)
        engine = ConstrainedLayoutEngine()
        figure.set_layout_engine(engine)
        engine.set(rect=(0.0, bottom / total, 1.0, height / total), h_pad=0.04, w_pad=0.04)
        axes = figure.subplots(nrows, ncols, squeeze=True, **subplots)
        y = total - _PAD
        for line in title:
            figure.text(
                _PAD / WIDTH,
                y / total,
                line,
                fontsize=_TITLE_PT,
                weight="bold",
                color=INK,
                va="top",
                ha="left",
            )
            y -= _LINE * _TITLE_PT
        for line in subtitle:
            figure.text(
                _PAD / WIDTH,
                y / total,
                line,
                fontsize=_SUBTITLE_PT,
                color=MUTED,
                va="top",
                ha="left",
            )
            y -= _LINE * _SUBTITLE_PT
        if titles.footer:
            figure.text(
                _PAD / WIDTH,
                _PAD / total,
                titles.footer,
                fontsize=_FOOTER_PT,
                color=MUTED,
                va="bottom",
                ha="left",
            )
    return figure, axes


def to_bytes(figure: Figure, fmt: str = "svg") -> bytes:
    """Return the figure as a PNG, SVG or PDF file's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    with style():
        figure.savefig(buffer, format=fmt, metadata=_METADATA[fmt])
    return buffer.getvalue()


def data_uri(figure: Figure, fmt: str = "svg") -> str:
    """Return the figure as a ``data:`` URI, for an ``<img>`` that needs no other file."""
    mime = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}[fmt]
    return f"data:{mime};base64,{base64.b64encode(to_bytes(figure, fmt)).decode('ascii')}"


def save(figure: Figure, path: str | Path) -> Path:
    """Write the figure to ``path``, in the format its suffix names (.png, .svg or .pdf)."""
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"{target}: unknown figure format {target.suffix or '(none)'!r}; "
            "expected .png, .svg or .pdf"
        )
    target.write_bytes(to_bytes(figure, fmt))
    return target


def axes_list(axes: Any) -> list[Axes]:
    """Return the axes that :func:`new_figure` gave back as a flat list."""
    if isinstance(axes, Axes):
        return [axes]
    return list(axes.flat)
