"""Time-to-event statistics: the Kaplan–Meier curve and the restricted mean survival time.

Time-to-event outcomes are right-censored at each branch's ``t_end``. They are estimated with
the Kaplan–Meier curve and its pointwise Greenwood band; the median's interval is the set of
times where the band contains 0.5 (Brookmeyer and Crowley). Time-to outcomes are compared by
the restricted mean survival time (RMST) up to the horizon: the area under the curve, which
always exists, unlike a median that may never be reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.stats.intervals import (
    BoolArray,
    FloatArray,
    IntArray,
    Interval,
    check_confidence,
    check_paired,
    symmetric,
    undefined,
    z_critical,
)

KM_METHOD = "kaplan_meier_greenwood"
# A product such as 3/4 * 2/3 can land a hair above 0.5; no real survival value is this close.
_SLACK = 1e-12


# --- Kaplan–Meier ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """A Kaplan–Meier estimate with its pointwise Greenwood band.

    A right-continuous step function: ``survival[i]`` holds on ``[time[i], time[i+1])`` and
    survival is 1 before ``time[0]``. ``time`` holds every distinct duration, censored ones
    included. ``at_risk[i]`` counts the branches still under observation at ``time[i]`` (those
    censored then count as at risk) and ``events[i]`` those whose event happened then.
    """

    time: FloatArray
    survival: FloatArray
    low: FloatArray
    high: FloatArray
    at_risk: IntArray
    events: IntArray

    @property
    def n(self) -> int:
        """The number of branches behind the curve."""
        return int(self.at_risk[0]) if self.at_risk.size else 0


def check_durations(
    durations: npt.ArrayLike, observed: npt.ArrayLike
) -> tuple[FloatArray, BoolArray]:
    """Check and return durations (finite, >= 0) and event flags of the same length."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if t.ndim != 1 or t.shape != e.shape:
        raise ValueError(f"durations {t.shape} and observed {e.shape} must be 1-d, same length")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations must be finite and >= 0")
    return t, e


def kaplan_meier(
    durations: npt.ArrayLike, observed: npt.ArrayLike, confidence: float = 0.95
) -> SurvivalCurve:
    """Return the Kaplan–Meier curve of right-censored durations with its Greenwood band.

    One sort and a few cumulative sums: S(t) is the product of (n_j - d_j) / n_j over the
    distinct times up to t, and the band is S ± z·S·sqrt(Σ d_j / (n_j (n_j - d_j))),
    clipped to [0, 1]: the plain Greenwood band of ``scipy.stats.ecdf``, computed the same
    way (and so to the same bits) in a fraction of its time.
    """
    check_confidence(confidence)
    t, e = check_durations(durations, observed)
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    # Where each distinct time starts in the sorted durations.
    starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))[: ts.size]
    time = ts[starts]
    at_risk = (t.size - starts).astype(np.int64)
    events = np.add.reduceat(es.astype(np.int64), starts) if ts.size else np.zeros(0, np.int64)
    # The same operations as scipy.stats.ecdf, so that the numbers agree to the last bit.
    survival = np.cumprod((at_risk - events) / at_risk, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(survival**2 * np.cumsum(events / (at_risk * (at_risk - events))))
    half = z_critical(confidence) * se
    # Where the last branch at risk has its event, S = 0 and Greenwood's variance is 0 * inf:
    # the band collapses onto the estimate there.
    low = np.where(np.isnan(half), survival, np.clip(survival - half, 0.0, 1.0))
    high = np.where(np.isnan(half), survival, np.clip(survival + half, 0.0, 1.0))
    return SurvivalCurve(time, survival, low, high, at_risk, events)


def _first_below(time: FloatArray, values: FloatArray, level: float) -> float | None:
    """Return the first time at which the step function ``values`` is <= ``level``."""
    hits = np.flatnonzero(values <= level + _SLACK)
    return float(time[hits[0]]) if hits.size else None


def km_quantile(curve: SurvivalCurve, q: float) -> float | None:
    """Return the time by which a fraction ``q`` has had the event, or ``None`` if never."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be between 0 and 1, got {q}")
    return _first_below(curve.time, curve.survival, 1.0 - q)


def km_median(curve: SurvivalCurve) -> Interval:
    """Return the median time to the event with its Brookmeyer–Crowley interval.

    The median is the first time with S(t) <= 0.5. Its interval, at the confidence of the
    curve's band, is the set of times whose pointwise band contains 0.5: it opens when the
    band's lower bound falls to 0.5 and closes when the upper bound does. Each end is
    ``None`` when it is not reached within the data.
    """
    return Interval(
        _first_below(curve.time, curve.survival, 0.5),
        _first_below(curve.time, curve.low, 0.5),
        _first_below(curve.time, curve.high, 0.5),
        KM_METHOD,
    )


def survival_at(curve: SurvivalCurve, t: float) -> Interval:
    """Return S(t) with its pointwise Greenwood interval; ``None`` for an empty curve.

    Beyond the last observed time the curve stays flat, as is conventional.
    """
    if curve.n == 0:
        return undefined(KM_METHOD)
    i = int(np.searchsorted(curve.time, t, side="right")) - 1
    if i < 0:
        return Interval(1.0, 1.0, 1.0, KM_METHOD)
    return Interval(float(curve.survival[i]), float(curve.low[i]), float(curve.high[i]), KM_METHOD)


# --- restricted mean survival time ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Rmst:
    """The RMST of a curve up to a horizon, with the pieces its variance needs.

    For each event time ``u_j`` before the horizon: ``area`` is the area under the curve
    from ``u_j`` to the horizon, ``events`` and ``at_risk`` the counts there.
    """

    value: float
    time: FloatArray
    area: FloatArray
    events: FloatArray
    at_risk: FloatArray

    def greenwood_variance(self) -> float:
        """Return the Greenwood-type variance: sum of A_j² d_j / (n_j (n_j - d_j))."""
        # Where n_j = d_j the curve drops to 0, so A_j = 0 and the term is 0, not 0/0.
        denom = self.at_risk * (self.at_risk - self.events)
        terms = np.divide(
            self.area**2 * self.events, denom, out=np.zeros_like(denom), where=denom > 0
        )
        return float(np.sum(terms))

    def influence(self, durations: FloatArray, observed: BoolArray) -> FloatArray:
        """Return each branch's contribution ψ_i, with RMST_hat - RMST ≈ -Σ ψ_i.

        ψ_i = Σ_{u_j <= T_i} A_j (dN_i(u_j) - d_j/n_j) / n_j: the branch's martingale
        residual weighted by the area it moves. The ψ_i sum to 0 and Σ ψ_i² estimates the
        variance; differences of ψ between two paired curves give the paired variance.
        """
        k = np.searchsorted(self.time, durations, side="right")  # event times <= T_i
        # Padded by one in front so that index k means "the k-th event time", k = 0 none.
        compensator = np.concatenate(([0.0], np.cumsum(self.area * self.events / self.at_risk**2)))
        jump = np.concatenate(([0.0], self.area / self.at_risk))
        own_time = np.concatenate(([np.nan], self.time))[k] == durations
        return np.where(observed & own_time, jump[k], 0.0) - compensator[k]


def _rmst_parts(curve: SurvivalCurve, horizon: float) -> _Rmst:
    """Return the RMST of ``curve`` up to ``horizon`` and the pieces of its variance."""
    if not horizon > 0:
        raise ValueError(f"the RMST horizon must be > 0, got {horizon}")
    inside = curve.time < horizon
    starts = np.concatenate(([0.0], curve.time[inside]))
    levels = np.concatenate(([1.0], curve.survival[inside]))
    pieces = levels * (np.append(starts[1:], horizon) - starts)
    tail = np.cumsum(pieces[::-1])[::-1]  # tail[i]: area from starts[i] to the horizon
    area = tail[1:]
    event = curve.events[inside] > 0
    return _Rmst(
        value=float(tail[0]),
        time=curve.time[inside][event],
        area=area[event],
        events=curve.events[inside][event].astype(float),
        at_risk=curve.at_risk[inside][event].astype(float),
    )


def rmst(curve: SurvivalCurve, horizon: float, confidence: float = 0.95) -> Interval:
    """Return the restricted mean survival time up to ``horizon`` with a Greenwood interval."""
    if curve.n == 0:
        return undefined("rmst_greenwood")
    parts = _rmst_parts(curve, horizon)
    return symmetric(
        parts.value, math.sqrt(parts.greenwood_variance()), z_critical(confidence), "rmst_greenwood"
    )


def diff_rmst_independent(
    base: SurvivalCurve, other: SurvivalCurve, horizon: float, confidence: float = 0.95
) -> Interval:
    """Return RMST(other) - RMST(base) for independent samples, Greenwood variances added."""
    if base.n == 0 or other.n == 0:
        return undefined("rmst_greenwood")
    a, b = _rmst_parts(base, horizon), _rmst_parts(other, horizon)
    se = math.sqrt(a.greenwood_variance() + b.greenwood_variance())
    return symmetric(b.value - a.value, se, z_critical(confidence), "rmst_greenwood")


def diff_rmst_paired(
    base_durations: npt.ArrayLike,
    base_observed: npt.ArrayLike,
    other_durations: npt.ArrayLike,
    other_observed: npt.ArrayLike,
    *,
    horizon: float,
    confidence: float = 0.95,
    base_members: npt.ArrayLike | None = None,
    other_members: npt.ArrayLike | None = None,
) -> Interval:
    """Return RMST(other) - RMST(base) for paired branches (common random numbers).

    Branch ``i`` of both samples is one pair. The variance of the difference is the sum of
    squared differences of the branches' influence values (the delta method for the
    Kaplan–Meier estimator), which credits the positive correlation that common random
    numbers create, deterministically and in O(n log n).

    ``base_members`` and ``other_members`` (bool) restrict each curve to some branches
    (those where a ``time_between`` clock started, or a ``given`` condition held). A
    branch outside a curve has no influence on it, since the curve's hazards are ratios
    of counts among its members; so the pairs still credit what the two curves share.
    """
    ta, ea = check_durations(base_durations, base_observed)
    tb, eb = check_durations(other_durations, other_observed)
    check_paired(ta, tb)
    ma = np.ones(ta.size, bool) if base_members is None else np.asarray(base_members, bool)
    mb = np.ones(tb.size, bool) if other_members is None else np.asarray(other_members, bool)
    if not ma.any() or not mb.any():
        return undefined("rmst_paired_influence")
    a = _rmst_parts(kaplan_meier(ta[ma], ea[ma]), horizon)
    b = _rmst_parts(kaplan_meier(tb[mb], eb[mb]), horizon)
    psi_a, psi_b = np.zeros(ta.size), np.zeros(tb.size)
    psi_a[ma] = a.influence(ta[ma], ea[ma])
    psi_b[mb] = b.influence(tb[mb], eb[mb])
    se = float(np.sqrt(np.sum((psi_b - psi_a) ** 2)))
    return symmetric(b.value - a.value, se, z_critical(confidence), "rmst_paired_influence")
