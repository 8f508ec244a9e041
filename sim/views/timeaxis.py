"""Time on an axis: in the scenario's unit, or as calendar dates where it has a start date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from sim.views.style import ACCENT

__all__ = ["TimeAxis"]


@dataclass(frozen=True)
class TimeAxis:
    """How a scenario measures time: its unit, its horizon and, if set, the date of t = 0.

    ``days_per_unit`` converts the unit to days (a month is 1/12 of a 365.25-day year).
    """

    unit: str
    horizon: float
    start: dt.date | None = None
    days_per_unit: float = 1.0
    origin: str = "the start"  # what t = 0 is, where times are not dates

    @property
    def dated(self) -> bool:
        """Whether times are shown as calendar dates."""
        return self.start is not None

    def x(self, t: npt.ArrayLike) -> np.ndarray:
        """Return times as axis coordinates: matplotlib date numbers, or the times themselves."""
        times = np.asarray(t, dtype=float)
        if self.start is None:
            return times
        return float(mdates.date2num(self.start)) + times * self.days_per_unit  # type: ignore[no-untyped-call]

    def date(self, t: float) -> dt.date | None:
        """Return the calendar date of time ``t``, or None without a start date."""
        if self.start is None:
            return None
        return self.start + dt.timedelta(days=float(t) * self.days_per_unit)

    def when(self, t: float) -> str:
        """Return time ``t`` in words: ``Apr 2031`` where dated, else ``97.3 months``."""
        day = self.date(t)
        if day is not None:
            return f"{day:%b %Y}"
        return f"{t:.3g} {self.unit}s"

    def label(self) -> str:
        """Return the label of a time axis."""
        if self.start is not None:
            return f"date (t = 0 is {self.start:%d %b %Y})"
        return f"{self.unit}s from {self.origin}"

    def span(self, t: float) -> str:
        """Return a duration ``t`` in the unit: ``97.3 months``."""
        return f"{t:.3g} {self.unit}{'' if t == 1 else 's'}"

    def setup(self, ax: Axes) -> None:
        """Label the x axis of ``ax`` as time, with dates where the scenario has a start."""
        ax.set_xlabel(self.label())
        if self.start is not None:
            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_locator(locator)
            formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_formatter(formatter)
        ax.set_xlim(float(self.x(0.0)), float(self.x(self.horizon)) + self._margin())

    def _margin(self) -> float:
        return 0.01 * float(self.x(self.horizon) - self.x(0.0))

    def mark_horizon(self, ax: Axes) -> None:
        """Draw the horizon as a dashed line, labelled with its time or date."""
        x = float(self.x(self.horizon))
        ax.axvline(x, color=ACCENT, linestyle=(0, (4, 3)), linewidth=1.0, zorder=1)
        ax.annotate(
            f"horizon\n{self.when(self.horizon)}",
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -2),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color=ACCENT,
        )
