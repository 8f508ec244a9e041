"""Summaries of outcome columns: the ``summary.json`` entry of each outcome kind."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from sim.stats.competing import AJ_METHOD, aalen_johansen
from sim.stats.intervals import (
    BoolArray,
    FloatArray,
    Interval,
    mean_interval,
    proportion,
    quantile_key,
    quantiles,
    undefined,
)
from sim.stats.survival import (
    KM_METHOD,
    SurvivalCurve,
    check_durations,
    kaplan_meier,
    km_median,
    km_quantile,
    survival_at,
)

KINDS = ("probability", "time_to", "value", "flow", "count", "time_between", "first_of")

# --- summaries ---------------------------------------------------------------------------------

LEVELS = (0.05, 0.5, 0.95)


def json_number(x: float | None) -> float | None:
    """Return ``x`` as a Python float, or ``None`` for a missing or non-finite number."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def _interval_fields(interval: Interval) -> dict[str, object]:
    """Return an interval as the ``estimate``/``ci_low``/``ci_high``/``ci_method`` fields."""
    return {
        "estimate": json_number(interval.estimate),
        "ci_low": json_number(interval.low),
        "ci_high": json_number(interval.high),
        "ci_method": interval.method,
    }


def censored(
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
    return check_durations(np.where(observed, v, ends), observed)


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
    stopped: npt.ArrayLike | None = None,
) -> dict[str, object]:
    """Summarise a censored time column by its Kaplan–Meier curve.

    With ``stopped`` (the branches that ``stop_when`` ended before the horizon), a branch
    that stopped before its event met a competing event rather than censoring, and the
    curve is the Aalen–Johansen cumulative incidence (:mod:`sim.stats.competing`).
    """
    durations, observed = censored(values, t_end, horizon)
    curve, competing = _event_curve(durations, observed, stopped, confidence)
    median = km_median(curve)
    if stopped is not None:
        median = replace(median, method=AJ_METHOD)
    at_horizon = survival_at(curve, horizon) if horizon is not None else undefined(KM_METHOD)
    times = durations[observed]
    return {
        **_interval_fields(median),
        "events": int(observed.sum()),
        "censored": int((~observed & ~competing).sum()),
        **({} if stopped is None else {"competing": int(competing.sum())}),
        "survival_at_horizon": {
            "estimate": json_number(at_horizon.estimate),
            "ci_low": json_number(at_horizon.low),
            "ci_high": json_number(at_horizon.high),
        },
        **{quantile_key(q): json_number(km_quantile(curve, q)) for q in LEVELS},
        "mean_observed": float(np.mean(times)) if times.size else None,
    }


def _event_curve(
    durations: FloatArray, observed: BoolArray, stopped: npt.ArrayLike | None, confidence: float
) -> tuple[SurvivalCurve, BoolArray]:
    """Return the curve of censored durations and which branches met a competing event.

    Kaplan–Meier, or with ``stopped`` (branches ended early by ``stop_when``) the
    Aalen–Johansen cumulative incidence, a stopped branch without its event competing.
    """
    if stopped is None:
        return kaplan_meier(durations, observed, confidence), np.zeros(observed.shape, bool)
    competing = np.asarray(stopped, dtype=bool) & ~observed
    return aalen_johansen(durations, observed, competing, confidence), competing


def time_curve(
    kind: str,
    values: npt.ArrayLike,
    *,
    t_end: npt.ArrayLike,
    horizon: float,
    start: npt.ArrayLike | None = None,
    given: npt.ArrayLike | None = None,
    stops: bool = False,
    confidence: float = 0.95,
) -> SurvivalCurve:
    """Return the curve behind a ``time_to`` or ``time_between`` summary, for figures.

    The same branches, censoring and competing events as :func:`summarize_outcome`: a
    ``time_between`` counts from ``start`` over the branches where it started, ``given``
    keeps the branches where its condition held, ``stops`` makes it Aalen–Johansen.
    """
    v, ends = np.asarray(values, dtype=float), np.asarray(t_end, dtype=float)
    keep = np.ones(v.shape, bool) if given is None else np.asarray(given, dtype=bool)
    offset = np.zeros(v.shape)
    if kind == "time_between":
        if start is None:
            raise ValueError("a time_between outcome needs its start column")
        offset = np.asarray(start, dtype=float)
        keep = keep & ~np.isnan(offset)
    elif kind != "time_to":
        raise ValueError(f"outcomes of kind {kind!r} have no curve")
    stopped = (ends < horizon)[keep] if stops else None
    durations, observed = censored(v[keep], ends[keep] - offset[keep], None)
    return _event_curve(durations, observed, stopped, confidence)[0]


def _value_summary(values: npt.ArrayLike, confidence: float) -> dict[str, object]:
    """Summarise a number column: mean with t interval, spread and quantiles.

    NaN values (an expression undefined in that branch) are left out and counted as
    ``missing``. Numbers that cannot be summarised (infinite values, a spread beyond what
    a float holds) are ``None``, and a ``note`` says why.
    """
    v = np.asarray(values, dtype=float)
    known = v[~np.isnan(v)]
    infinite = int(np.isinf(known).sum())
    with np.errstate(over="ignore", invalid="ignore"):
        fields = _value_fields(known, confidence)
        if not infinite and any(x is not None and not math.isfinite(x) for x in fields.values()):
            # A sum overflowed, though the values are finite: values near the largest float
            # add up to infinity while their mean lies between them. Where that happened,
            # the numbers of the values scaled down, scaled back up, stand in.
            scale = float(np.max(np.abs(known)))
            scaled = _value_fields(known / scale, confidence)
            fields = {
                key: x if x is None or math.isfinite(x) else _times(scaled[key], scale)
                for key, x in fields.items()
            }
    summary: dict[str, object] = {key: json_number(x) for key, x in fields.items()}
    summary = {**summary, "ci_method": "t"}
    order = ["estimate", "ci_low", "ci_high", "ci_method", "sd", "min", "max", *_QUANTILE_KEYS]
    entry: dict[str, object] = {key: summary[key] for key in order}
    entry["missing"] = int(v.size - known.size)
    note = _value_note(entry, known, infinite)
    return {**entry, "note": note} if note else entry


_QUANTILE_KEYS = tuple(quantile_key(q) for q in LEVELS)


def _value_fields(known: FloatArray, confidence: float) -> dict[str, float | None]:
    """Return the mean, its interval, sd, min, max and quantiles of ``known``."""
    interval = mean_interval(known, confidence)
    return {
        "estimate": interval.estimate,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "sd": float(np.std(known, ddof=1)) if known.size > 1 else None,
        "min": float(np.min(known)) if known.size else None,
        "max": float(np.max(known)) if known.size else None,
        **quantiles(known, LEVELS),
    }


def _times(x: float | None, scale: float) -> float | None:
    return None if x is None else x * scale


def _value_note(entry: Mapping[str, object], known: FloatArray, infinite: int) -> str | None:
    """Say why numbers that a summary of ``known`` should have are missing, if any are."""
    if infinite:
        return (
            f"{infinite} of {known.size} values are infinite; "
            "the mean, sd and interval are undefined"
        )
    expected = ["estimate", *_QUANTILE_KEYS] if known.size >= 1 else []
    expected += ["sd", "ci_low", "ci_high"] if known.size >= 2 else []
    lost = [key for key in expected if entry[key] is None]
    if not lost:
        return None
    words = {
        "estimate": "the mean",
        "sd": "sd",
        "ci_low": "the interval",
        "ci_high": "the interval",
    }
    named = list(dict.fromkeys(words.get(key, "the quantiles") for key in lost))
    largest = float(np.max(np.abs(known)))
    return (
        f"{', '.join(named[:-1]) + ' and ' if len(named) > 1 else ''}{named[-1]} overflow: "
        f"the values reach {largest:.3g}, near the largest 64-bit float "
        f"({float(np.finfo(np.float64).max):.3g})"
    )


def _time_between_summary(
    values: npt.ArrayLike,
    start: npt.ArrayLike,
    t_end: npt.ArrayLike,
    confidence: float,
    stopped: npt.ArrayLike | None = None,
) -> dict[str, object]:
    """Summarise the times between two events by Kaplan–Meier over the branches that started.

    ``start`` is when the clock started (NaN where its condition never held: those branches
    are left out and counted as ``missing``); a branch whose clock never stopped is censored
    at its end, ``t_end - start``, unless it was ``stopped`` early: then it met a competing
    event (see :func:`_time_to_summary`).
    """
    v = np.asarray(values, dtype=float)
    s = np.asarray(start, dtype=float)
    ends = np.asarray(t_end, dtype=float)
    started = ~np.isnan(s)
    held = None if stopped is None else np.asarray(stopped, dtype=bool)[started]
    summary = _time_to_summary(v[started], ends[started] - s[started], None, confidence, held)
    summary.pop("survival_at_horizon")
    return {"n": int(started.sum()), **summary, "missing": int((~started).sum())}


def _first_of_summary(
    values: npt.ArrayLike, labels: Sequence[str], confidence: float
) -> dict[str, object]:
    """Summarise which condition held first: each label's share with its Wilson interval."""
    v = np.asarray(values, dtype=object)
    categories: dict[str, object] = {}
    for label in labels:
        k = int(np.sum(v == label))
        categories[label] = {**_interval_fields(proportion(k, v.size, confidence)), "count": k}
    return {"estimate": None, "ci_low": None, "ci_high": None, "ci_method": "wilson",
            "categories": categories}  # fmt: skip


def summarize_outcome(
    kind: str,
    values: npt.ArrayLike,
    *,
    t_end: npt.ArrayLike | None = None,
    horizon: float | None = None,
    confidence: float = 0.95,
    start: npt.ArrayLike | None = None,
    labels: Sequence[str] = (),
    given: npt.ArrayLike | None = None,
    stops: bool = False,
) -> dict[str, object]:
    """Summarise one outcome column as its ``summary.json`` entry (JSON-ready, no NaN).

    ``start`` is the ``NAME__from`` column of a ``time_between`` outcome, ``labels`` the
    categories of a ``first_of`` outcome (``none`` last). With ``given`` (a bool column),
    only the branches where it holds are summarised: ``n`` counts them and ``given_of``
    counts all branches. ``stops`` says that branches may end before the horizon
    (``stop_when``): times to an event are then cumulative incidences (Aalen–Johansen),
    a branch that stopped before its event having met a competing event.
    """
    if given is not None:
        held = np.asarray(given, dtype=bool)
        chosen = {
            name: None if column is None else np.asarray(column)[held]
            for name, column in (("values", values), ("t_end", t_end), ("start", start))
        }
        entry = summarize_outcome(
            kind, chosen["values"], t_end=chosen["t_end"], horizon=horizon,  # type: ignore[arg-type]
            confidence=confidence, start=chosen["start"], labels=labels, stops=stops,
        )  # fmt: skip
        return {**entry, "given_of": int(held.size)}
    head: dict[str, object] = {"kind": kind, "n": int(np.asarray(values).size)}
    if kind == "probability":
        return {**head, **_probability_summary(values, confidence)}
    stopped = None
    if stops and kind in ("time_to", "time_between"):
        if t_end is None or horizon is None:
            raise ValueError("competing stops need t_end and the horizon")
        stopped = np.asarray(t_end, dtype=float) < horizon
    if kind == "time_to":
        return {**head, **_time_to_summary(values, t_end, horizon, confidence, stopped)}
    if kind in ("value", "flow", "count"):
        return {**head, **_value_summary(values, confidence)}
    if kind == "time_between":
        if start is None or t_end is None:
            raise ValueError("a time_between outcome needs its start and t_end columns")
        return {**head, **_time_between_summary(values, start, t_end, confidence, stopped)}
    if kind == "first_of":
        return {**head, **_first_of_summary(values, labels, confidence)}
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
