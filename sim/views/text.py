"""Numbers in words and short forms: percentages, signed differences, verbal probabilities."""

from __future__ import annotations

import math

__all__ = ["decimals_for", "likelihood", "number", "percent", "signed"]

# The words of the US intelligence community's standard (ICD 203) for ranges of probability,
# which analysts read without a legend.
_WORDS = (
    (0.05, "almost no chance"),
    (0.20, "very unlikely"),
    (0.45, "unlikely"),
    (0.55, "roughly even odds"),
    (0.80, "likely"),
    (0.95, "very likely"),
    (1.00, "almost certain"),
)


def percent(p: float | None, digits: int = 0) -> str:
    """Return a probability as a percentage: ``61%``; ``<1%``/``>99%`` near the ends."""
    if p is None or not math.isfinite(p):
        return "-"
    if digits == 0 and 0 < p < 0.005:
        return "<1%"
    if digits == 0 and 0.995 < p < 1:
        return ">99%"
    return f"{100 * p:.{digits}f}%"


def number(x: float | None, decimals: int | None = None) -> str:
    """Return a number with three significant digits, thousands separated: ``0.31``, ``44,125``.

    With ``decimals``, that many digits after the point instead (never an exponent).
    """
    if x is None or not math.isfinite(x):
        return "-"
    if decimals is not None:
        return f"{x:,.{decimals}f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if 0 < abs(x) < 1e-3:
        return f"{x:.1g}" if abs(x) >= 1e-4 else "0"
    return f"{x:.3g}"


def decimals_for(*values: float | None) -> int:
    """Return the decimals that show the largest of ``values`` to three significant digits.

    Differences and their intervals share them, so that a negligible difference reads
    ``+0.000`` beside a baseline of ``0.31`` rather than ``+3.5e-05``.
    """
    sizes = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not sizes:
        return 0
    return max(0, 2 - math.floor(math.log10(max(sizes))))


def signed(x: float | None, decimals: int | None = None) -> str:
    """Return a difference with its sign: ``+26.6``, ``−22.7``, ``0``."""
    if x is None or not math.isfinite(x):
        return "-"
    text = number(abs(x), decimals)
    if float(text.replace(",", "")) == 0:
        return text
    return ("+" if x > 0 else "−") + text


def likelihood(p: float) -> str:
    """Return the ICD 203 words for a probability: ``likely`` for 0.61."""
    for upper, words in _WORDS:
        if p < upper:
            return words
    return _WORDS[-1][1]
