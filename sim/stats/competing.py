"""Competing risks: the cumulative incidence of an event that another event can pre-empt.

When ``stop_when`` ends a branch before the horizon, the event an outcome waits for can no
longer happen in it: the branch is not censored (it could not have seen the event later),
it met a *competing* event. Kaplan–Meier, which treats such branches as censored, then
overstates P(T <= t). The Aalen–Johansen estimator gives the cumulative incidence

    F(t) = sum over event times t_j <= t of S(t_j-) d1_j / n_j,

where S is the Kaplan–Meier curve of "any event" (the event of interest or a competing one),
d1_j the events of interest at t_j and n_j the branches at risk. Censoring (reaching the
horizon, or a ``time_between`` clock running out at the branch end) stays censoring. Where
nothing is censored before the horizon, F(t) is exactly the share of branches whose event
came by t, which a ``probability`` outcome with ``by: t`` counts.

The variance is the delta-method (Greenwood-type) estimator of Collett (2015, section 12.3,
as SAS's LIFETEST computes it); the pointwise interval is taken on the scale
log(-log F), which keeps it inside (0, 1). The result is a :class:`SurvivalCurve` of 1 - F
with its band, so the median, quantiles and values at a time come from the same functions
as for Kaplan–Meier.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.stats.intervals import FloatArray, check_confidence, z_critical
from sim.stats.survival import SurvivalCurve, check_durations

__all__ = ["AJ_METHOD", "aalen_johansen"]

AJ_METHOD = "aalen_johansen"


def aalen_johansen(
    durations: npt.ArrayLike,
    observed: npt.ArrayLike,
    competing: npt.ArrayLike,
    confidence: float = 0.95,
) -> SurvivalCurve:
    """Return 1 - F, F the Aalen–Johansen cumulative incidence, with its pointwise band.

    ``observed`` flags the branches whose event happened at their duration, ``competing``
    those that met a competing event then (never both); the others are censored there.
    Like :func:`~sim.stats.survival.kaplan_meier`, the curve has a step at every distinct
    duration.
    """
    check_confidence(confidence)
    t, e = check_durations(durations, observed)
    c = np.asarray(competing, dtype=bool)
    if c.shape != e.shape:
        raise ValueError(f"competing {c.shape} must match the durations {t.shape}")
    if np.any(e & c):
        raise ValueError("a branch cannot both see the event and meet a competing event")
    time, inverse = np.unique(t, return_inverse=True)
    d1: FloatArray = np.bincount(inverse, weights=e, minlength=time.size).astype(np.float64)
    d_any: FloatArray = np.bincount(inverse, weights=e | c, minlength=time.size).astype(np.float64)
    leaving = np.bincount(inverse, minlength=time.size)
    at_risk = t.size - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    survival = np.cumprod(1.0 - d_any / at_risk)  # all causes, right after each time
    before = np.concatenate(([1.0], survival[:-1]))  # S(t_j-)
    incidence = np.cumsum(before * d1 / at_risk)
    variance = _variance(incidence, before, d1, d_any, at_risk.astype(float))
    low, high = _band(incidence, variance, z_critical(confidence))
    return SurvivalCurve(
        time=time.astype(float),
        survival=1.0 - incidence,
        low=1.0 - high,
        high=1.0 - low,
        at_risk=at_risk.astype(np.int64),
        events=d1.astype(np.int64),
    )


def _variance(
    f: FloatArray, before: FloatArray, d1: FloatArray, d_any: FloatArray, n: FloatArray
) -> FloatArray:
    """The delta-method variance of F at each time (Collett; SAS LIFETEST).

    Var F(t) = sum_{t_j <= t} [ (F(t) - F(t_j))^2 d_j / (n_j (n_j - d_j))
                                + S(t_j-)^2 d1_j (n_j - d1_j) / n_j^3
                                - 2 (F(t) - F(t_j)) S(t_j-) d1_j / n_j^2 ].
    Written out with the powers of F(t) taken out of the sums, it is a handful of
    cumulative sums: O(n), not O(n^2).
    """
    greenwood = np.divide(d_any, n * (n - d_any), out=np.zeros_like(n), where=n > d_any)
    own = before**2 * d1 * (n - d1) / n**3
    cross = before * d1 / n**2
    g0, g1, g2 = np.cumsum(greenwood), np.cumsum(greenwood * f), np.cumsum(greenwood * f**2)
    c0, c1 = np.cumsum(cross), np.cumsum(cross * f)
    first = f**2 * g0 - 2 * f * g1 + g2
    third = f * c0 - c1
    total: FloatArray = np.maximum(first + np.cumsum(own) - 2 * third, 0.0)
    return total


def _band(f: FloatArray, variance: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """The pointwise interval of F on the log(-log F) scale; collapsed where F is 0 or 1."""
    inside = (f > 0.0) & (f < 1.0)
    safe = np.where(inside, f, 0.5)
    log_f = np.log(safe)
    se = np.sqrt(variance) / (safe * np.abs(log_f))
    centre = np.log(-log_f)
    low = np.exp(-np.exp(centre + z * se))
    high = np.exp(-np.exp(centre - z * se))
    return np.where(inside, low, f), np.where(inside, high, f)
