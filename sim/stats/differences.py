"""Differences between two runs, outcome by outcome: proportions, means and RMSTs.

Paired differences (branch ``i`` of both runs shares its random numbers) give narrower
intervals than independent ones; every interval records its method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from sim.stats.intervals import (
    BoolArray,
    FloatArray,
    Interval,
    check_confidence,
    check_paired,
    mean_interval,
    proportion,
    symmetric,
    t_interval,
    undefined,
    z_critical,
)
from sim.stats.summary import KINDS, censored, json_number
from sim.stats.survival import diff_rmst_independent, diff_rmst_paired, kaplan_meier, rmst

# --- differences of proportions and means -----------------------------------------------------


def _wilson_margins(k: int, n: int, confidence: float) -> tuple[float, float, float]:
    """Return ``p`` and its distances down and up to the Wilson bounds."""
    w = proportion(k, n, confidence)
    assert w.estimate is not None and w.low is not None and w.high is not None
    return w.estimate, w.estimate - w.low, w.high - w.estimate


def _square_and_add(
    base: tuple[float, float, float], other: tuple[float, float, float], phi: float, method: str
) -> Interval:
    """Combine two Wilson intervals into one for ``p_other - p_base`` (Newcombe's method 10)."""
    pa, down_a, up_a = base
    pb, down_b, up_b = other
    d = pb - pa
    below = down_b**2 - 2 * phi * down_b * up_a + up_a**2
    above = up_b**2 - 2 * phi * up_b * down_a + down_a**2
    return Interval(d, max(-1.0, d - math.sqrt(below)), min(1.0, d + math.sqrt(above)), method)


def diff_proportions_independent(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> Interval:
    """Return ``k2/n2 - k1/n1`` with Newcombe's hybrid score interval (method 10, 1998)."""
    if n1 == 0 or n2 == 0:
        return undefined("newcombe")
    base = _wilson_margins(k1, n1, confidence)
    other = _wilson_margins(k2, n2, confidence)
    return _square_and_add(base, other, 0.0, "newcombe")


def _paired_phi(a: BoolArray, b: BoolArray) -> float:
    """Return Newcombe's corrected correlation of two paired binary samples.

    phi = (n11 n00 - n10 n01) / sqrt(product of margins), with the positive part reduced
    by n/2 (and 0 if that turns it negative), as in Newcombe (1998b), method 10.
    """
    n11 = int(np.sum(a & b))
    n10 = int(np.sum(a & ~b))
    n01 = int(np.sum(~a & b))
    n00 = int(np.sum(~a & ~b))
    margins = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    if margins == 0:
        return 0.0
    cross = float(n11 * n00 - n10 * n01)
    if cross >= 0:
        cross = max(cross - a.size / 2, 0.0)
    return cross / math.sqrt(margins)


def diff_proportions_paired(
    a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95
) -> Interval:
    """Return ``mean(b) - mean(a)`` for paired binary samples, Newcombe's paired method 10.

    The square-and-add interval of two Wilson intervals, corrected for the correlation of
    the pairs; the same branch numbers under common random numbers make it positive, so the
    interval is narrower than the independent one.
    """
    x = np.asarray(a, dtype=bool)
    y = np.asarray(b, dtype=bool)
    check_paired(x, y)
    if x.size == 0:
        return undefined("newcombe_paired")
    base = _wilson_margins(int(x.sum()), x.size, confidence)
    other = _wilson_margins(int(y.sum()), y.size, confidence)
    return _square_and_add(base, other, _paired_phi(x, y), "newcombe_paired")


def diff_means_paired(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return ``mean(b - a)`` with the t interval of the paired differences."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    check_paired(x, y)
    return t_interval(y - x, confidence, "paired_t")


def diff_conditional_means_paired(
    a: npt.ArrayLike,
    a_held: npt.ArrayLike,
    b: npt.ArrayLike,
    b_held: npt.ArrayLike,
    confidence: float = 0.95,
) -> Interval:
    """Return mean(b | b_held) - mean(a | a_held) for paired branches, by the delta method.

    A conditional mean over the branches where a condition held moves with branch ``i``
    by ``held_i (y_i - mean) / n_held`` (its influence, zero where the condition did not
    hold); the variance of the difference is the sum of the squared differences of the
    pairs' influences, which credits what common random numbers share. Proportions are the
    means of bool values.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    gx, gy = np.asarray(a_held, dtype=bool), np.asarray(b_held, dtype=bool)
    check_paired(x, y)
    nx, ny = int(gx.sum()), int(gy.sum())
    if nx == 0 or ny == 0:
        return undefined("paired_delta")
    mx, my = float(np.mean(x[gx])), float(np.mean(y[gy]))
    psi_x = np.where(gx, x - mx, 0.0) / nx
    psi_y = np.where(gy, y - my, 0.0) / ny
    se = float(np.sqrt(np.sum((psi_y - psi_x) ** 2)))
    return symmetric(my - mx, se, z_critical(confidence), "paired_delta")


def diff_means_welch(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return ``mean(b) - mean(a)`` with the Welch–Satterthwaite t interval."""
    check_confidence(confidence)
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return undefined("welch")
    d = float(np.mean(y) - np.mean(x))
    if x.size < 2 or y.size < 2:
        return Interval(d, None, None, "welch")
    va = float(np.var(x, ddof=1)) / x.size
    vb = float(np.var(y, ddof=1)) / y.size
    if va + vb == 0:
        return Interval(d, d, d, "welch")
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    return symmetric(d, math.sqrt(va + vb), float(stats.t.ppf(0.5 + confidence / 2, df)), "welch")


# --- comparisons ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One run's columns of one outcome: its values and what they need to be compared.

    ``t_end`` (and the ``horizon``) censor times to an event; ``start`` is when a
    ``time_between`` clock started (NaN where it never did); ``given`` says where the
    outcome's condition held; ``category`` turns a ``first_of`` column into the indicator
    of one of its labels. ``stops`` says that ``stop_when`` may end branches early: a
    branch that stopped before its event can no longer see it, so its time is censored at
    the horizon rather than at its end (a competing event, not a loss to follow-up).
    """

    values: npt.ArrayLike
    t_end: npt.ArrayLike | None = None
    start: npt.ArrayLike | None = None
    given: npt.ArrayLike | None = None
    category: str | None = None
    stops: bool = False

    def members(self) -> BoolArray:
        """The branches the outcome's estimate is over."""
        n = np.asarray(self.values).shape[0]
        held = np.ones(n, bool) if self.given is None else np.asarray(self.given, bool)
        if self.start is not None:
            held = held & ~np.isnan(np.asarray(self.start, dtype=float))
        return held

    def numbers(self) -> FloatArray:
        """The values as numbers: a first_of category as 0/1, a probability as 0/1."""
        if self.category is not None:
            hits: BoolArray = np.asarray(self.values, dtype=object) == self.category
            return hits.astype(np.float64)
        return np.asarray(self.values, dtype=np.float64)

    def timeline(self, horizon: float | None) -> tuple[FloatArray, BoolArray]:
        """Durations and event flags of a time outcome, censored at the branch's end.

        The values of a ``time_between`` are durations from its clock's start, and a
        branch whose clock never stopped is censored at its end less that start; where the
        clock never started, the duration is 0 and the branch is no member (:meth:`members`).
        """
        values = np.asarray(self.values, dtype=float)
        if self.t_end is not None:
            ends = np.asarray(self.t_end, dtype=float)
        elif horizon is not None:
            ends = np.full(values.shape, float(horizon))
        else:
            raise ValueError("a time outcome needs t_end or horizon to censor at")
        if self.stops and horizon is not None:  # stopped without the event: never will see it
            ends = np.where(np.isnan(values) & (ends < horizon), float(horizon), ends)
        if self.start is not None:
            origin = np.nan_to_num(np.asarray(self.start, dtype=float))
            ends = np.maximum(ends - origin, 0.0)
        return censored(values, ends, None)


MEASURES = {
    "probability": "proportion",
    "first_of": "proportion",
    "time_to": "rmst",
    "time_between": "rmst",
    "value": "mean",
    "flow": "mean",
    "count": "mean",
}
_TIMES = ("time_to", "time_between")


def estimate(
    kind: str, arm: Arm, *, horizon: float | None = None, confidence: float = 0.95
) -> Interval:
    """Return one run's estimate of an outcome in the measure comparisons use.

    The share of branches for a probability (or a first_of category), with its Wilson
    interval; the mean with its t interval for values, flows and counts; the restricted mean
    time to the event up to the horizon for times, with its Greenwood interval. A ``given``
    condition restricts each to the branches where it held.
    """
    members = arm.members()
    if kind in _TIMES:
        if horizon is None:
            raise ValueError("a time outcome is compared up to the horizon, which is needed")
        durations, observed = arm.timeline(horizon)
        curve = kaplan_meier(durations[members], observed[members], confidence)
        return rmst(curve, horizon, confidence)
    values = arm.numbers()[members]
    if MEASURES.get(kind) == "proportion":
        return proportion(int(values.sum()), values.size, confidence)
    return mean_interval(values[~np.isnan(values)], confidence)


def _difference(
    kind: str, base: Arm, other: Arm, paired: bool, horizon: float | None, confidence: float
) -> Interval:
    """The interval of other minus base in the outcome's measure."""
    ma, mb = base.members(), other.members()
    conditional = base.given is not None or other.given is not None
    if kind in _TIMES:
        assert horizon is not None
        ta, ea = base.timeline(horizon)
        tb, eb = other.timeline(horizon)
        if paired:
            return diff_rmst_paired(
                ta, ea, tb, eb, horizon=horizon, confidence=confidence,
                base_members=ma, other_members=mb,
            )  # fmt: skip
        curve_a = kaplan_meier(ta[ma], ea[ma])
        curve_b = kaplan_meier(tb[mb], eb[mb])
        return diff_rmst_independent(curve_a, curve_b, horizon, confidence)
    a, b = base.numbers(), other.numbers()
    if paired and conditional:
        known = ~np.isnan(a) & ~np.isnan(b)
        return diff_conditional_means_paired(a, ma & known, b, mb & known, confidence)
    a, b = a[ma], b[mb]
    if MEASURES.get(kind) == "proportion":
        if paired:
            return diff_proportions_paired(a.astype(bool), b.astype(bool), confidence)
        return diff_proportions_independent(int(a.sum()), a.size, int(b.sum()), b.size, confidence)
    if paired:
        known = ~np.isnan(a) & ~np.isnan(b)
        return diff_means_paired(a[known], b[known], confidence)
    return diff_means_welch(a[~np.isnan(a)], b[~np.isnan(b)], confidence)


def compare_outcome(
    kind: str,
    base_values: npt.ArrayLike,
    other_values: npt.ArrayLike,
    *,
    paired: bool,
    base_t_end: npt.ArrayLike | None = None,
    other_t_end: npt.ArrayLike | None = None,
    horizon: float | None = None,
    confidence: float = 0.95,
    base: Arm | None = None,
    other: Arm | None = None,
) -> dict[str, object]:
    """Compare one outcome between a baseline and another run (JSON-ready, no NaN).

    ``difference`` is other minus baseline, in the outcome's ``measure``: the proportion
    for ``probability`` (and each category of a ``first_of``), the mean for ``value``,
    ``flow`` and ``count``, and for ``time_to`` and ``time_between`` the restricted mean time
    up to ``horizon`` (a median may never be reached). ``paired`` says that branch ``i`` of
    both runs shares its random numbers (same seed, same branch count), which makes the
    interval narrower; ``significant`` is whether it excludes 0. ``base`` and ``other``,
    where given, carry what the plain columns do not (the start of a ``time_between``
    clock, a ``given`` condition, a ``first_of`` category) and replace the columns.
    """
    if kind not in MEASURES:
        raise ValueError(f"unknown outcome kind {kind!r}, expected one of {', '.join(KINDS)}")
    if kind in _TIMES and horizon is None:
        raise ValueError("comparing time_to outcomes needs the horizon")
    a = base or Arm(base_values, base_t_end)
    b = other or Arm(other_values, other_t_end)
    if paired:
        check_paired(np.asarray(a.values), np.asarray(b.values))
    diff = _difference(kind, a, b, paired, horizon, confidence)
    low, high = json_number(diff.low), json_number(diff.high)
    return {
        "kind": kind,
        "measure": MEASURES[kind],
        "paired": paired,
        "baseline": json_number(estimate(kind, a, horizon=horizon).estimate),
        "estimate": json_number(estimate(kind, b, horizon=horizon).estimate),
        "difference": json_number(diff.estimate),
        "ci_low": low,
        "ci_high": high,
        "ci_method": diff.method,
        "significant": (low is not None and low > 0) or (high is not None and high < 0),
    }
