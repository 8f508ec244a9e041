"""Runs to a target precision: add rounds of branches until every probability is known well.

A run with a target runs in rounds. The first round is the ``branches`` asked for; after
each round the 95% Wilson interval of every ``probability`` outcome is computed over all the
branches so far (exactly as ``summary.json`` will give it), and the run stops when the
widest half-width, ``(ci_high - ci_low) / 2``, is at most the target, or when the maximum
number of branches is reached. Otherwise the next round ends where the widest interval
should reach the target, since a half-width shrinks as one over the square root of the
branch count; rounds end at multiples of the first round, grow at most tenfold, and never
pass the maximum.

A decision is taken only once a round is complete, from the counts of its contiguous
branches ``0..n-1``, and those rows are the same whatever the executor: the number of
branches a run ends with depends only on the scenario, the seed, the first round, the
target and the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.stats.intervals import proportion

__all__ = ["DEFAULT_MAX_BRANCHES", "Decision", "TargetCI", "half_width", "target_ci_rule"]

DEFAULT_MAX_BRANCHES = 1_000_000
# A round may multiply the branches by this much at most: early estimates of a proportion
# are rough, and a few rounds cost little.
MAX_GROWTH = 10
# Aim a little past the estimate, so that a run seldom needs a round for the last few percent.
MARGIN = 1.1


def half_width(k: int, n: int) -> float:
    """Return the half-width of the 95% Wilson interval of ``k`` successes in ``n`` branches."""
    interval = proportion(k, n)
    assert interval.low is not None and interval.high is not None  # n >= 1
    return (interval.high - interval.low) / 2


@dataclass(frozen=True)
class Decision:
    """What to do after a round: stop (``reason`` says why) or run to ``total`` branches."""

    total: int
    outcome: str
    half_width: float
    reason: str | None

    @property
    def stop(self) -> bool:
        """Whether the run stops here."""
        return self.reason is not None


@dataclass(frozen=True)
class TargetCI:
    """The stopping rule of a run with a target half-width ``width`` for its probabilities."""

    width: float
    max_branches: int
    step: int
    outcomes: tuple[str, ...]

    def widest(self, counts: Mapping[str, int], n: int) -> tuple[str, float]:
        """Return the outcome with the widest interval over ``n`` branches, and its half-width.

        ``counts`` holds, for every probability outcome, the branches where it holds. Ties
        go to the first outcome in file order.
        """
        widths = {name: half_width(counts[name], n) for name in self.outcomes}
        worst = max(self.outcomes, key=lambda name: widths[name])
        return worst, widths[worst]

    def decide(self, counts: Mapping[str, int], n: int) -> Decision:
        """Return the decision after a round that brought the run to ``n`` branches."""
        outcome, width = self.widest(counts, n)
        if width <= self.width:
            reason = (
                f"target_ci reached after {n} branches: "
                f"max half-width {width:.4g} <= {self.width:g} ({outcome})"
            )
            return Decision(n, outcome, width, reason)
        if n >= self.max_branches:
            reason = (
                f"max_branches reached after {n} branches: "
                f"max half-width {width:.4g} > {self.width:g} ({outcome})"
            )
            return Decision(n, outcome, width, reason)
        return Decision(self.next_total(n, width), outcome, width, None)

    def next_total(self, n: int, width: float) -> int:
        """Return where the next round ends, from the widest half-width after ``n`` branches."""
        needed = n * (width / self.width) ** 2 * MARGIN
        total = self.step * math.ceil(needed / self.step)
        return min(self.max_branches, max(n + self.step, min(total, MAX_GROWTH * n)))


def target_ci_rule(
    model: CompiledModel, width: float | None, max_branches: int | None, branches: int
) -> TargetCI | None:
    """Return the stopping rule of a run with first round ``branches``, or ``None`` for none.

    ``max_branches`` defaults to :data:`DEFAULT_MAX_BRANCHES` and needs ``width``.
    """
    if width is None:
        if max_branches is not None:
            raise UsageError(
                f"max_branches={max_branches} needs target_ci, the half-width to reach"
            )
        return None
    if not 0 < width < 0.5:
        raise UsageError(
            f"target_ci must be a half-width between 0 and 0.5 (exclusive), got {width:g}"
        )
    outcomes = tuple(o.name for o in model.outcomes if o.kind == "probability")
    if not outcomes:
        raise UsageError(
            f"scenario {model.name!r}: target_ci needs a probability outcome, and it has none"
        )
    limit = DEFAULT_MAX_BRANCHES if max_branches is None else max_branches
    if limit < branches:
        raise UsageError(
            f"max_branches must be at least the first round's {branches} branches, got {limit}"
        )
    return TargetCI(width, limit, branches, outcomes)
