"""The brief: plain sentences generated from the numbers, for the top of a report.

Each headline outcome gets its estimate and interval in words, the variants that move it
most, and the uncertain parameters that matter most for it. Sentences are lists of spans
(plain or strong) that the page's template escapes and renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.report.drivers import Driver
from sim.views.text import decimals_for, likelihood, number, percent, signed
from sim.views.timeaxis import TimeAxis

__all__ = [
    "Span",
    "difference_words",
    "driver_words",
    "estimate_words",
    "plain",
    "strong",
    "variant_words",
]


@dataclass(frozen=True)
class Span:
    """A piece of a sentence, shown in bold where ``strong``."""

    text: str
    strong: bool = False


def plain(text: str) -> Span:
    """Return a plain span."""
    return Span(text)


def strong(text: str) -> Span:
    """Return a bold span."""
    return Span(text, True)


def _pct(p: Any) -> str:
    return percent(None if p is None else float(p), 1)


def estimate_words(entry: Mapping[str, Any], axis: TimeAxis | None) -> list[Span]:
    """Return an outcome's estimate and its 95% interval in words."""
    kind = str(entry.get("kind"))
    if kind == "probability":
        return _probability_words(entry)
    if kind == "time_to":
        return _time_words(entry, axis)
    if entry.get("estimate") is None or isinstance(entry.get("estimate"), Mapping):
        return [plain("no single estimate; see the table below")]
    mean = " on average" if kind in ("value", "flow", "count") else ""
    words = [strong(number(float(entry["estimate"]))), plain(mean)]
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        words.append(
            plain(f" (95% interval {number(entry['ci_low'])} to {number(entry['ci_high'])})")
        )
    if entry.get("p5") is not None and entry.get("p95") is not None:
        words.append(
            plain(
                f"; 90% of the branches lie between {number(entry['p5'])} and "
                f"{number(entry['p95'])}, half below {number(entry.get('p50'))}"
            )
        )
    return words


def _probability_words(entry: Mapping[str, Any]) -> list[Span]:
    p = entry.get("estimate")
    if p is None:
        return [plain("no branches to estimate it from")]
    words = [strong(f"{likelihood(float(p))}, {_pct(p)}")]
    if entry.get("ci_low") is not None:
        words.append(plain(f" (95% interval {_pct(entry['ci_low'])} to {_pct(entry['ci_high'])})"))
    return words


def _time_words(entry: Mapping[str, Any], axis: TimeAxis | None) -> list[Span]:
    at_end = entry.get("survival_at_horizon") or {}
    by_end = None if at_end.get("estimate") is None else 1.0 - float(at_end["estimate"])
    end = "the horizon" if axis is None else f"the horizon ({axis.when(axis.horizon)})"
    median = entry.get("estimate")
    if median is None:
        words = [plain("fewer than half of the branches see it by "), plain(end)]
        if by_end is not None:
            words += [plain(": "), strong(_pct(by_end))]
            if at_end.get("ci_low") is not None:
                low, high = 1.0 - float(at_end["ci_high"]), 1.0 - float(at_end["ci_low"])
                words.append(plain(f" (95% interval {_pct(low)} to {_pct(high)})"))
        return words
    when = axis.when(float(median)) if axis is not None else number(float(median))
    words = [plain("half of the branches see it by "), strong(when)]
    if axis is not None:
        span = f"{axis.span(float(median))}"
        first, last = entry.get("ci_low"), entry.get("ci_high")
        if first is not None and last is not None:
            span += f"; 95% interval {number(float(first))} to {number(float(last))}"
        words.append(plain(f" ({span})"))
    if by_end is not None:
        words.append(plain(f"; {_pct(by_end)} by {end}"))
    return words


def difference_words(row: Mapping[str, Any], unit: str = "") -> str:
    """Return a comparison row's difference and interval: ``−4.8 points (−5.6 to −4.0)``.

    Percentage points have one decimal (two below one point); other differences as many
    decimals as the baseline's estimate shows to three significant digits.
    """
    measure = str(row.get("measure"))
    scale = 100.0 if measure == "proportion" else 1.0
    suffix = " points" if measure == "proportion" else (f" {unit}s" if measure == "rmst" else "")
    ends = [row.get(k) for k in ("difference", "difference_ci_low", "difference_ci_high")]
    if measure == "proportion":
        largest = max((abs(scale * float(x)) for x in ends if x is not None), default=0.0)
        decimals = 1 if largest >= 1 else 2
    else:
        base = row.get("baseline_estimate")
        decimals = decimals_for(
            None if base is None else float(base), *(None if x is None else float(x) for x in ends)
        )

    def show(x: Any) -> str:
        return signed(None if x is None else scale * float(x), decimals)

    text = f"{show(row.get('difference'))}{suffix}"
    if row.get("difference_ci_low") is not None and row.get("difference_ci_high") is not None:
        text += f" ({show(row['difference_ci_low'])} to {show(row['difference_ci_high'])})"
    return text


def variant_words(rows: Sequence[Mapping[str, Any]], unit: str = "", top: int = 2) -> list[Span]:
    """Return which variants move an outcome most, by their paired differences."""
    moving = [r for r in rows if r.get("significant") and r.get("difference") is not None]
    if not moving:
        return [plain("No variant moves it beyond the Monte Carlo noise.")]
    moving.sort(key=lambda r: -abs(float(r["difference"])))
    words = [plain("Variants that move it most: ")]
    for i, row in enumerate(moving[:top]):
        if i:
            words.append(plain("; "))
        label = f"{row['run']} ({row['category']})" if row.get("category") else str(row["run"])
        words += [strong(label), plain(" " + difference_words(row, unit))]
    rest = len(moving) - top
    if rest > 0:
        words.append(plain(f"; {rest} more {'moves' if rest == 1 else 'move'} it less"))
    if moving[0].get("measure") == "rmst":
        words.append(plain(" (in the mean time to it, counted up to the horizon)"))
    words.append(plain("."))
    return words


def driver_words(drivers: Sequence[Driver]) -> list[Span]:
    """Return the uncertain parameters that matter most for an outcome."""
    if not drivers:
        return [plain("No single uncertain parameter moves it much.")]
    measure = drivers[0].measure
    words = [plain("Uncertain parameters that matter most: ")]
    for i, driver in enumerate(drivers):
        if i:
            words.append(plain(", "))
        shown = signed(driver.value, 2) if measure == "rank correlation" else number(driver.value)
        label = f"{measure} {shown}" if i == 0 else shown
        words += [strong(driver.parameter), plain(f" ({label})")]
    words.append(plain("."))
    return words
