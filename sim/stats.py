"""Statistics of Monte Carlo results: intervals, survival curves, summaries and comparisons.

Every interval is a 95% interval unless ``confidence`` says otherwise, and records its method.
Where a quantity is undefined (no branches, a median that is never reached) it is ``None``,
never NaN, so that summaries serialise as strict JSON.

Time-to-event outcomes are right-censored at each branch's ``t_end``. They are estimated with
the Kaplan–Meier curve and its pointwise Greenwood band; the median's interval is the set of
times where the band contains 0.5 (Brookmeyer and Crowley). Time-to outcomes are compared by
the restricted mean survival time (RMST) up to the horizon: the area under the curve, which
always exists, unlike a median that may never be reached.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "Interval",
    "SurvivalCurve",
    "compare_outcome",
    "diff_means_paired",
    "diff_means_welch",
    "diff_proportions_independent",
    "diff_proportions_paired",
    "diff_rmst_independent",
    "diff_rmst_paired",
    "kaplan_meier",
    "km_median",
    "km_quantile",
    "mean_interval",
    "proportion",
    "quantiles",
    "rmst",
    "summarize",
    "summarize_outcome",
    "survival_at",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KINDS = ("probability", "time_to", "value", "flow")
KM_METHOD = "kaplan_meier_greenwood"
# A product such as 3/4 * 2/3 can land a hair above 0.5; no real survival value is this close.
_SLACK = 1e-12


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval; ``None`` where undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    method: str


def _none(method: str) -> Interval:
    """Return an interval that is undefined throughout."""
    return Interval(None, None, None, method)


def _check_confidence(confidence: float) -> None:
    """Refuse a confidence level outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _z(confidence: float) -> float:
    """Return the two-sided standard normal critical value."""
    _check_confidence(confidence)
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _check_paired(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> None:
    """Refuse paired samples of different lengths: branch i of one pairs with branch i."""
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.size} and {b.size}")


def _symmetric(estimate: float, se: float, critical: float, method: str) -> Interval:
    """Return ``estimate ± critical · se``."""
    half = critical * se
    return Interval(estimate, estimate - half, estimate + half, method)


# --- single samples ---------------------------------------------------------------------------


def proportion(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Return the proportion ``k / n`` with its Wilson score interval."""
    _check_confidence(confidence)
    if not 0 <= k <= n:
        raise ValueError(f"proportion needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return _none("wilson")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence, method="wilson")
    return Interval(k / n, float(ci.low), float(ci.high), "wilson")


def mean_interval(x: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return the mean of ``x`` with its Student t interval (``None`` bounds below 2 values)."""
    return _t_interval(np.asarray(x, dtype=float), confidence, "t")


def _t_interval(x: FloatArray, confidence: float, method: str) -> Interval:
    """Return the mean of ``x`` and its t interval, recording ``method``."""
    _check_confidence(confidence)
    if x.size == 0:
        return _none(method)
    mean = float(np.mean(x))
    if x.size == 1:
        return Interval(mean, None, None, method)
    se = float(np.std(x, ddof=1)) / math.sqrt(x.size)
    return _symmetric(mean, se, float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)), method)


def _quantile_key(level: float) -> str:
    """Name a quantile level the way summaries do: 0.05 -> ``p5``, 0.025 -> ``p2.5``."""
    return f"p{level * 100:g}"


def quantiles(
    x: npt.ArrayLike, levels: Sequence[float] = (0.05, 0.5, 0.95)
) -> dict[str, float | None]:
    """Return the sample quantiles of ``x`` keyed ``p5``, ``p50``, ...; ``None`` when empty."""
    values = np.asarray(x, dtype=float)
    keys = [_quantile_key(q) for q in levels]
    if values.size == 0:
        return dict.fromkeys(keys)
    found = np.quantile(values, np.asarray(levels, dtype=float))
    return {key: float(v) for key, v in zip(keys, found, strict=True)}


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


def _durations(durations: npt.ArrayLike, observed: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
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
    """Return the Kaplan–Meier curve of right-censored durations with its Greenwood band."""
    _check_confidence(confidence)
    t, e = _durations(durations, observed)
    sf = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e])).sf
    with warnings.catch_warnings():
        # scipy warns where the curve reaches 0; the band is mended below.
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = sf.confidence_interval(confidence)
    time = np.asarray(sf.quantiles, dtype=float)
    survival = np.asarray(sf.probabilities, dtype=float)
    # Where the last branch at risk has its event, S = 0 and Greenwood's variance is 0 * inf:
    # the band collapses onto the estimate there.
    low = np.where(np.isnan(band.low.probabilities), survival, band.low.probabilities)
    high = np.where(np.isnan(band.high.probabilities), survival, band.high.probabilities)
    return SurvivalCurve(time, survival, low, high, *_counts(t, e, time))


def _counts(t: FloatArray, e: BoolArray, time: FloatArray) -> tuple[IntArray, IntArray]:
    """Return how many branches are at risk at each of ``time``, and how many have events."""
    at_risk = t.size - np.searchsorted(np.sort(t), time, side="left")
    event_times = np.sort(t[e])
    events = np.searchsorted(event_times, time, side="right") - np.searchsorted(
        event_times, time, side="left"
    )
    return at_risk.astype(np.int64), events.astype(np.int64)


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
        return _none(KM_METHOD)
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
        return _none("rmst_greenwood")
    parts = _rmst_parts(curve, horizon)
    return _symmetric(
        parts.value, math.sqrt(parts.greenwood_variance()), _z(confidence), "rmst_greenwood"
    )


def diff_rmst_independent(
    base: SurvivalCurve, other: SurvivalCurve, horizon: float, confidence: float = 0.95
) -> Interval:
    """Return RMST(other) - RMST(base) for independent samples, Greenwood variances added."""
    if base.n == 0 or other.n == 0:
        return _none("rmst_greenwood")
    a, b = _rmst_parts(base, horizon), _rmst_parts(other, horizon)
    se = math.sqrt(a.greenwood_variance() + b.greenwood_variance())
    return _symmetric(b.value - a.value, se, _z(confidence), "rmst_greenwood")


def diff_rmst_paired(
    base_durations: npt.ArrayLike,
    base_observed: npt.ArrayLike,
    other_durations: npt.ArrayLike,
    other_observed: npt.ArrayLike,
    *,
    horizon: float,
    confidence: float = 0.95,
) -> Interval:
    """Return RMST(other) - RMST(base) for paired branches (common random numbers).

    Branch ``i`` of both samples is one pair. The variance of the difference is the sum of
    squared differences of the branches' influence values (the delta method for the
    Kaplan–Meier estimator), which credits the positive correlation that common random
    numbers create, deterministically and in O(n log n).
    """
    ta, ea = _durations(base_durations, base_observed)
    tb, eb = _durations(other_durations, other_observed)
    _check_paired(ta, tb)
    if ta.size == 0:
        return _none("rmst_paired_influence")
    a = _rmst_parts(kaplan_meier(ta, ea), horizon)
    b = _rmst_parts(kaplan_meier(tb, eb), horizon)
    se = float(np.sqrt(np.sum((b.influence(tb, eb) - a.influence(ta, ea)) ** 2)))
    return _symmetric(b.value - a.value, se, _z(confidence), "rmst_paired_influence")


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
        return _none("newcombe")
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
    _check_paired(x, y)
    if x.size == 0:
        return _none("newcombe_paired")
    base = _wilson_margins(int(x.sum()), x.size, confidence)
    other = _wilson_margins(int(y.sum()), y.size, confidence)
    return _square_and_add(base, other, _paired_phi(x, y), "newcombe_paired")


def diff_means_paired(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return ``mean(b - a)`` with the t interval of the paired differences."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    _check_paired(x, y)
    return _t_interval(y - x, confidence, "paired_t")


def diff_means_welch(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> Interval:
    """Return ``mean(b) - mean(a)`` with the Welch–Satterthwaite t interval."""
    _check_confidence(confidence)
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return _none("welch")
    d = float(np.mean(y) - np.mean(x))
    if x.size < 2 or y.size < 2:
        return Interval(d, None, None, "welch")
    va = float(np.var(x, ddof=1)) / x.size
    vb = float(np.var(y, ddof=1)) / y.size
    if va + vb == 0:
        return Interval(d, d, d, "welch")
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    return _symmetric(d, math.sqrt(va + vb), float(stats.t.ppf(0.5 + confidence / 2, df)), "welch")


# --- summaries ---------------------------------------------------------------------------------

LEVELS = (0.05, 0.5, 0.95)


def _num(x: float | None) -> float | None:
    """Return ``x`` as a Python float, or ``None`` for a missing or non-finite number."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def _interval_fields(interval: Interval) -> dict[str, object]:
    """Return an interval as the ``estimate``/``ci_low``/``ci_high``/``ci_method`` fields."""
    return {
        "estimate": _num(interval.estimate),
        "ci_low": _num(interval.low),
        "ci_high": _num(interval.high),
        "ci_method": interval.method,
    }


def _censored(
    values: npt.ArrayLike, t_end: npt.ArrayLike | None, horizon: float | None
) -> tuple[FloatArray, BoolArray]:
    """Turn a ``time_to`` column (NaN = not happened) into durations and event flags.

    A branch whose event did not happen is censored at its ``t_end``, or at ``horizon``
    when no ``t_end`` is given.
    """
    v = np.asarray(values, dtype=float)
    if t_end is not None:
        ends = np.asarray(t_end, dtype=float)
    elif horizon is not None:
        ends = np.full(v.shape, float(horizon))
    else:
        raise ValueError("a time_to outcome needs t_end or horizon to censor at")
    if ends.shape != v.shape:
        raise ValueError(f"t_end {ends.shape} must match the values {v.shape}")
    observed = ~np.isnan(v)
    return _durations(np.where(observed, v, ends), observed)


def _probability_summary(values: npt.ArrayLike, confidence: float) -> dict[str, object]:
    """Summarise a bool column: the share of branches where it holds, Wilson interval."""
    v = np.asarray(values, dtype=bool)
    k = int(v.sum())
    return {**_interval_fields(proportion(k, v.size, confidence)), "count": k}


def _time_to_summary(
    values: npt.ArrayLike,
    t_end: npt.ArrayLike | None,
    horizon: float | None,
    confidence: float,
) -> dict[str, object]:
    """Summarise a censored time column by its Kaplan–Meier curve."""
    durations, observed = _censored(values, t_end, horizon)
    curve = kaplan_meier(durations, observed, confidence)
    at_horizon = survival_at(curve, horizon) if horizon is not None else _none(KM_METHOD)
    times = durations[observed]
    return {
        **_interval_fields(km_median(curve)),
        "events": int(observed.sum()),
        "censored": int((~observed).sum()),
        "survival_at_horizon": {
            "estimate": _num(at_horizon.estimate),
            "ci_low": _num(at_horizon.low),
            "ci_high": _num(at_horizon.high),
        },
        **{_quantile_key(q): _num(km_quantile(curve, q)) for q in LEVELS},
        "mean_observed": float(np.mean(times)) if times.size else None,
    }


def _value_summary(values: npt.ArrayLike, confidence: float) -> dict[str, object]:
    """Summarise a number column: mean with t interval, spread and quantiles.

    NaN values (an expression undefined in that branch) are left out and counted as
    ``missing``.
    """
    v = np.asarray(values, dtype=float)
    known = v[~np.isnan(v)]
    return {
        **_interval_fields(mean_interval(known, confidence)),
        "sd": _num(float(np.std(known, ddof=1))) if known.size > 1 else None,
        "min": _num(float(np.min(known))) if known.size else None,
        "max": _num(float(np.max(known))) if known.size else None,
        **{key: _num(q) for key, q in quantiles(known, LEVELS).items()},
        "missing": int(v.size - known.size),
    }


def summarize_outcome(
    kind: str,
    values: npt.ArrayLike,
    *,
    t_end: npt.ArrayLike | None = None,
    horizon: float | None = None,
    confidence: float = 0.95,
) -> dict[str, object]:
    """Summarise one outcome column as its ``summary.json`` entry (JSON-ready, no NaN)."""
    head: dict[str, object] = {"kind": kind, "n": int(np.asarray(values).size)}
    if kind == "probability":
        return {**head, **_probability_summary(values, confidence)}
    if kind == "time_to":
        return {**head, **_time_to_summary(values, t_end, horizon, confidence)}
    if kind in ("value", "flow"):
        return {**head, **_value_summary(values, confidence)}
    raise ValueError(f"unknown outcome kind {kind!r}, expected one of {', '.join(KINDS)}")


def _column(columns: Mapping[str, npt.ArrayLike], name: str) -> npt.ArrayLike:
    """Return the column ``name``, refusing a table that lacks it."""
    if name not in columns:
        raise ValueError(f"no column {name!r} in the results, expected one per outcome")
    return columns[name]


def summarize(
    columns: Mapping[str, npt.ArrayLike],
    outcomes: Sequence[tuple[str, str]],
    *,
    horizon: float,
    confidence: float = 0.95,
) -> dict[str, object]:
    """Return the ``summary.json`` object of a run: every ``(name, kind)`` outcome summarised.

    ``time_to`` outcomes are censored at the ``t_end`` column.
    """
    summaries: dict[str, object] = {}
    for name, kind in outcomes:
        t_end = _column(columns, "t_end") if kind == "time_to" else None
        summaries[name] = summarize_outcome(
            kind, _column(columns, name), t_end=t_end, horizon=horizon, confidence=confidence
        )
    return {"outcomes": summaries}


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
        _check_paired(a, b)
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
    ta, ea = _censored(base[0], base[1], horizon)
    tb, eb = _censored(other[0], other[1], horizon)
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
    low, high = _num(diff.low), _num(diff.high)
    return {
        "kind": kind,
        "measure": MEASURES[kind],
        "paired": paired,
        "baseline": _num(base),
        "estimate": _num(other),
        "difference": _num(diff.estimate),
        "ci_low": low,
        "ci_high": high,
        "ci_method": diff.method,
        "significant": (low is not None and low > 0) or (high is not None and high < 0),
    }
