"""Differences between two runs, outcome by outcome: proportions, means and RMSTs.

Paired differences (branch ``i`` of both runs shares its random numbers) give narrower
intervals than independent ones; every interval records its method.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from sim.stats.intervals import (
    BoolArray,
    FloatArray,
    Interval,
    check_confidence,
    check_paired,
    proportion,
    symmetric,
    t_interval,
    undefined,
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


# --- comparisons -------------------------------------------------------------------------------


def _mean_or_none(x: BoolArray | FloatArray) -> float | None:
    """Return the mean of ``x``, or ``None`` when it is empty."""
    return float(np.mean(x)) if x.size else None


def _compare_probability(
    base: npt.ArrayLike, other: npt.ArrayLike, paired: bool, confidence: float
) -> tuple[float | None, float | None, Interval]:
    """Compare two bool columns by the difference of their proportions."""
    a = np.asarray(base, dtype=bool)
    b = np.asarray(other, dtype=bool)
    if paired:
        diff = diff_proportions_paired(a, b, confidence)
    else:
        diff = diff_proportions_independent(int(a.sum()), a.size, int(b.sum()), b.size, confidence)
    return _mean_or_none(a), _mean_or_none(b), diff


def _compare_value(
    base: npt.ArrayLike, other: npt.ArrayLike, paired: bool, confidence: float
) -> tuple[float | None, float | None, Interval]:
    """Compare two number columns by the difference of their means, NaN left out."""
    a = np.asarray(base, dtype=float)
    b = np.asarray(other, dtype=float)
    if paired:
        check_paired(a, b)
        known = ~np.isnan(a) & ~np.isnan(b)
        a, b = a[known], b[known]
        return _mean_or_none(a), _mean_or_none(b), diff_means_paired(a, b, confidence)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    return _mean_or_none(a), _mean_or_none(b), diff_means_welch(a, b, confidence)


def _compare_time_to(
    base: tuple[npt.ArrayLike, npt.ArrayLike | None],
    other: tuple[npt.ArrayLike, npt.ArrayLike | None],
    paired: bool,
    horizon: float | None,
    confidence: float,
) -> tuple[float | None, float | None, Interval]:
    """Compare two censored time columns by their RMST up to the horizon."""
    if horizon is None:
        raise ValueError("comparing time_to outcomes needs the horizon")
    ta, ea = censored(base[0], base[1], horizon)
    tb, eb = censored(other[0], other[1], horizon)
    curve_a, curve_b = kaplan_meier(ta, ea), kaplan_meier(tb, eb)
    if paired:
        diff = diff_rmst_paired(ta, ea, tb, eb, horizon=horizon, confidence=confidence)
    else:
        diff = diff_rmst_independent(curve_a, curve_b, horizon, confidence)
    return rmst(curve_a, horizon).estimate, rmst(curve_b, horizon).estimate, diff


MEASURES = {"probability": "proportion", "time_to": "rmst", "value": "mean", "flow": "mean"}


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
) -> dict[str, object]:
    """Compare one outcome between a baseline and another run (JSON-ready, no NaN).

    ``difference`` is other minus baseline, in the outcome's ``measure``: the proportion
    for ``probability``, the mean for ``value``/``flow``, and for ``time_to`` the restricted
    mean time to the event up to ``horizon`` (a median may never be reached). ``paired``
    says that branch ``i`` of both runs shares its random numbers (same seed, same branch
    count), which makes the interval narrower; ``significant`` is whether it excludes 0.
    """
    if kind == "probability":
        base, other, diff = _compare_probability(base_values, other_values, paired, confidence)
    elif kind == "time_to":
        base, other, diff = _compare_time_to(
            (base_values, base_t_end), (other_values, other_t_end), paired, horizon, confidence
        )
    elif kind in ("value", "flow"):
        base, other, diff = _compare_value(base_values, other_values, paired, confidence)
    else:
        raise ValueError(f"unknown outcome kind {kind!r}, expected one of {', '.join(KINDS)}")
    low, high = json_number(diff.low), json_number(diff.high)
    return {
        "kind": kind,
        "measure": MEASURES[kind],
        "paired": paired,
        "baseline": json_number(base),
        "estimate": json_number(other),
        "difference": json_number(diff.estimate),
        "ci_low": low,
        "ci_high": high,
        "ci_method": diff.method,
        "significant": (low is not None and low > 0) or (high is not None and high < 0),
    }
