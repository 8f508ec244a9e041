"""The quantile form of distributions: reading ``p1`` ... ``p99`` keys and solving for parameters.

A scenario may give a two-parameter continuous distribution by two of its quantiles (and an
exponential by one), such as ``{kind: lognormal, p5: 1, p95: 10}``. :func:`quantile_points`
splits those keys off the raw mapping; the closed forms (:func:`line_through` on the values
against the levels, or against standard normal quantiles) solve the location-scale kinds, and
:func:`fit_beta` and :func:`fit_gamma_shape` solve the others numerically. Each distribution
model in :mod:`sim.format.distributions` picks what it needs and checks the answer round-trips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "QUANTILE_PATTERN",
    "Points",
    "fit_beta",
    "fit_gamma_shape",
    "line_through",
    "quantile_points",
    "standard_normal_points",
    "two_points",
]

Points = Sequence[tuple[int, float]]
"""Quantiles as ``(level in whole percent, value)`` pairs, by increasing level."""

FloatArray = npt.NDArray[np.float64]

QUANTILE_PATTERN = r"^p([1-9]|[1-9][0-9])$"
"""Keys of the quantile form: ``p1`` ... ``p99``, the level in whole percent."""

_QUANTILE_LIKE = re.compile(r"^p[0-9]")
_TINY_PROBABILITY = 1e-300
_BETA_LOG_BOUNDS = (-15.0, 25.0)  # a and b within [3e-7, 7e10]
_GAMMA_LOG_SHAPES = np.arange(-12.0, 31.0)  # bracket search grid for the gamma shape


def quantile_points(
    data: Mapping[str, Any],
) -> tuple[dict[str, Any], list[tuple[int, float | str]]]:
    """Split the quantile keys off a raw mapping; return the rest and the points by level.

    A point's value is a number, or the text of an expression (format 1.1).
    """
    rest: dict[str, Any] = {}
    points: list[tuple[int, float | str]] = []
    for key, value in data.items():
        if not (isinstance(key, str) and _QUANTILE_LIKE.match(key)):
            rest[key] = value
            continue
        if not re.match(QUANTILE_PATTERN, key):
            raise ValueError(f"quantile keys are p1 ... p99 (whole percent), got {key!r}")
        if isinstance(value, str) and value.strip():
            points.append((int(key[1:]), value))
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        points.append((int(key[1:]), float(value)))
    points.sort(key=lambda point: point[0])
    return rest, points


def two_points(points: Points) -> tuple[float, float, float, float]:
    """Unpack two quantile points as probabilities and values ``p1, x1, p2, x2``."""
    (l1, x1), (l2, x2) = points
    return l1 / 100, x1, l2 / 100, x2


def line_through(s1: float, x1: float, s2: float, x2: float) -> tuple[float, float]:
    """Return ``loc, scale`` of the line ``x = loc + scale * s`` through two points.

    Written so that points symmetric about zero give a location of exactly zero.
    """
    return (x1 * s2 - x2 * s1) / (s2 - s1), (x2 - x1) / (s2 - s1)


def standard_normal_points(points: Points) -> tuple[float, float, float, float]:
    """Unpack two quantile points as standard normal quantiles and values ``z1, x1, z2, x2``."""
    from scipy import special

    p1, x1, p2, x2 = two_points(points)
    return float(special.ndtri(p1)), x1, float(special.ndtri(p2)), x2


def _beta_probit_residuals(
    log_ab: FloatArray, p: FloatArray, u: FloatArray, z: FloatArray
) -> FloatArray:
    """Return probit(CDF(u)) - probit(p) for Beta(exp(log_ab)), precise in both tails."""
    from scipy import special

    a, b = np.exp(log_ab)
    # Clipping keeps the residuals finite where a CDF underflows, far from the solution.
    lower = special.ndtri(np.maximum(special.betainc(a, b, u), _TINY_PROBABILITY))
    upper = -special.ndtri(np.maximum(special.betaincc(a, b, u), _TINY_PROBABILITY))
    return np.asarray(np.where(p <= 0.5, lower, upper) - z, dtype=float)


def _beta_starts(z: FloatArray, u: FloatArray) -> Iterator[FloatArray]:
    """Yield starting points ``log(a), log(b)`` for the beta fit, the likeliest first.

    The first treats logit(X) as normal, whose mean is about log(a / b) and variance about
    1/a + 1/b (close for large a, b); the second matches that mean and variance exactly,
    as digamma(a) - digamma(b) and trigamma(a) + trigamma(b), which also serves small a or b;
    the last is the uniform, a = b = 1.
    """
    from scipy import optimize, special

    logits = special.logit(u)
    s = (logits[1] - logits[0]) / (z[1] - z[0])
    m = logits[0] - s * z[0]
    crude = np.clip(np.log([(1 + np.exp(m)) / s**2, (1 + np.exp(-m)) / s**2]), *_BETA_LOG_BOUNDS)
    yield crude

    def moment_gaps(log_ab: FloatArray) -> list[float]:
        a, b = np.exp(log_ab)
        trigammas = special.polygamma(1, a) + special.polygamma(1, b)
        return [special.digamma(a) - special.digamma(b) - m, np.log(trigammas) - 2 * np.log(s)]

    yield optimize.least_squares(moment_gaps, crude, bounds=_BETA_LOG_BOUNDS).x
    yield np.zeros(2)


def fit_beta(p: FloatArray, u: FloatArray) -> tuple[float, float]:
    """Return ``a, b`` of the beta whose quantiles at probabilities ``p`` are ``u`` in (0, 1).

    Least squares on ``log(a), log(b)`` from each start in turn until one fits; the caller
    checks the answer.
    """
    from scipy import optimize, special

    z = special.ndtri(p)
    best: Any = None
    with np.errstate(all="ignore"):
        for start in _beta_starts(z, u):
            fit = optimize.least_squares(
                _beta_probit_residuals,
                start,
                bounds=_BETA_LOG_BOUNDS,
                args=(p, u, z),
                xtol=1e-15,
                ftol=1e-15,
                gtol=1e-15,
            )
            if best is None or fit.cost < best.cost:
                best = fit
            if fit.cost < 1e-24:
                break
    a, b = np.exp(best.x)
    return float(a), float(b)


def _gamma_log_ratio(log_shape: float, p1: float, p2: float) -> float:
    """Return log(q(p2) / q(p1)) of a gamma with the shape; it falls as the shape grows."""
    from scipy import special

    shape = math.exp(log_shape)
    q1 = float(special.gammaincinv(shape, p1))
    q2 = float(special.gammaincinv(shape, p2))
    if not (0 < q1 < q2 < math.inf):
        return math.nan  # underflow at tiny shapes: outside the usable range
    return math.log(q2) - math.log(q1)


def fit_gamma_shape(p1: float, x1: float, p2: float, x2: float) -> float | None:
    """Return the gamma shape whose quantile ratio at ``p1, p2`` is ``x2 / x1``, or None.

    The ratio falls monotonically from infinity to 1 as the shape grows, so a bracket on a
    grid of log shapes and a 1-D root find settle it.
    """
    from scipy import optimize

    target = math.log(x2) - math.log(x1)
    gaps = [_gamma_log_ratio(s, p1, p2) - target for s in _GAMMA_LOG_SHAPES]
    for i in range(len(gaps) - 1):
        if gaps[i] >= 0 >= gaps[i + 1]:
            root = optimize.brentq(
                lambda s: _gamma_log_ratio(s, p1, p2) - target,
                _GAMMA_LOG_SHAPES[i],
                _GAMMA_LOG_SHAPES[i + 1],
                xtol=1e-14,
                rtol=1e-14,
            )
            return math.exp(root)
    return None
