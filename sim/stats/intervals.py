"""Intervals of single samples: proportions (Wilson), means (Student t), quantiles.

Every interval is a 95% interval unless ``confidence`` says otherwise, and records its method.
Where a quantity is undefined (no branches) it is ``None``, never NaN, so that summaries
serialise as strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval; ``None`` where undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    method: str


def undefined(method: str) -> Interval:
    """Return an interval that is undefined throughout."""
    return Interval(None, None, None, method)


def check_confidence(confidence: float) -> None:
    """Refuse a confidence level outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def z_critical(confidence: float) -> float:
    """Return the two-sided standard normal critical value."""
    check_confidence(confidence)
    return float(stats.norm.ppf(0.5 + confidence / 2))


def check_paired(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> None:
    """Refuse paired samples of different lengths: branch i of one pairs with branch i."""
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.size} and {b.size}")


def symmetric(estimate: float, se: float, critical: float, method: str) -> Interval:
    """Return ``estimate ± critical · se``."""
    half = critical * se
    return Interval(estimate, estimate - half, estimate + half, method)


# --- single samples ---------------------------------------------------------------------------


def proportion(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Return the proportion ``k / n`` with its Wilson score interval."""
    check_confidence(confidence)
    if not 0 <= k <= n:
        raise ValueError(f"proportion needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return undefined("wilson")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence, method="wilson")
    return Interval(k / n, float(ci.low), float(ci.high), "wilson")


def mean_interval(x: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return the mean of ``x`` with its Student t interval (``None`` bounds below 2 values)."""
    return t_interval(np.asarray(x, dtype=float), confidence, "t")


def t_interval(x: FloatArray, confidence: float, method: str) -> Interval:
    """Return the mean of ``x`` and its t interval, recording ``method``."""
    check_confidence(confidence)
    if x.size == 0:
        return undefined(method)
    mean = float(np.mean(x))
    if x.size == 1:
        return Interval(mean, None, None, method)
    se = float(np.std(x, ddof=1)) / math.sqrt(x.size)
    return symmetric(mean, se, float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)), method)


def quantile_key(level: float) -> str:
    """Name a quantile level the way summaries do: 0.05 -> ``p5``, 0.025 -> ``p2.5``."""
    return f"p{level * 100:g}"


def quantiles(
    x: npt.ArrayLike, levels: Sequence[float] = (0.05, 0.5, 0.95)
) -> dict[str, float | None]:
    """Return the sample quantiles of ``x`` keyed ``p5``, ``p50``, ...; ``None`` when empty."""
    values = np.asarray(x, dtype=float)
    keys = [quantile_key(q) for q in levels]
    if values.size == 0:
        return dict.fromkeys(keys)
    found = np.quantile(values, np.asarray(levels, dtype=float))
    return {key: float(v) for key, v in zip(keys, found, strict=True)}
