"""Runs to a target precision: add rounds of branches until every probability is known well.

A run with a target runs in rounds. The first round is the ``branches`` asked for; after
each round the 95% Wilson interval of every ``probability`` outcome is computed over all the
branches so far (exactly as ``summary.json`` will give it), and the run stops when the
widest half-width, ``(ci_high - ci_low) / 2``, is at most the target, or when the maximum
number of branches is reached. Otherwise the next round ends where the widest interval
should reach the target, since a half-width shrinks as one over the square root of the
branch count; rounds end at multiples of the first round, grow at most tenfold, and never
pass the maximum.

Conditional probabilities (a ``given`` condition) count among the branches where the
condition held, and each category of a ``first_of`` outcome is a probability of its own.
With observations (``sim run --given``, :mod:`sim.montecarlo.observations`) every count is
taken among the branches that match them, so the rule aims at the posterior's precision.
A decision is taken only once a round is complete, from the counts of its contiguous
branches ``0..n-1``, and those rows are the same whatever the executor: the number of
branches a run ends with depends only on the scenario, the seed, the first round, the
target and the maximum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.engine.common import check_branches
from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.model.outcomes import GIVEN_SUFFIX
from sim.montecarlo.observations import Observation, match
from sim.stats.intervals import proportion

__all__ = [
    "DEFAULT_MAX_BRANCHES",
    "Decision",
    "Target",
    "TargetCI",
    "half_width",
    "tally",
    "target_ci_rule",
    "targets_of",
]

DEFAULT_MAX_BRANCHES = 1_000_000
# A round may multiply the branches by this much at most: early estimates of a proportion
# are rough, and a few rounds cost little.
MAX_GROWTH = 10
# Aim a little past the estimate, so that a run seldom needs a round for the last few percent.
MARGIN = 1.1


def half_width(k: int, n: int) -> float:
    """Return the half-width of the 95% Wilson interval of ``k`` successes in ``n`` branches.

    With no branches at all (a condition that never held) the width is the widest, 0.5.
    """
    interval = proportion(k, n)
    if interval.low is None or interval.high is None:
        return 0.5
    return (interval.high - interval.low) / 2


@dataclass(frozen=True)
class Target:
    """A proportion the rule watches: a probability outcome, or a category of a first_of.

    ``label`` names it (``NAME``, or ``NAME__LABEL`` for a category); it counts the
    branches where the bool ``column`` holds (or where it equals ``category``), among those
    where the bool column ``given`` holds (all branches without one).
    """

    label: str
    column: str
    category: str | None = None
    given: str | None = None
    observed: tuple[Observation, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns it reads."""
        found = (self.column,) if self.given is None else (self.column, self.given)
        return tuple(dict.fromkeys([*found, *(c for o in self.observed for c in o.columns)]))

    def count(self, table: pa.Table | pa.RecordBatch) -> tuple[int, int]:
        """Return ``(successes, trials)`` in ``table``."""
        values = table.column(self.column)
        hits = values if self.category is None else pc.equal(values, self.category)
        if self.given is None and not self.observed:
            return int(pc.sum(hits).as_py() or 0), table.num_rows
        held = pa.array(np.ones(table.num_rows, dtype=bool))
        if self.given is not None:
            held = table.column(self.given)
        if self.observed:
            seen = match(self.observed, lambda c: table.column(c).to_numpy(), table.num_rows)
            held = pc.and_(held, pa.array(seen))
        return int(pc.sum(pc.and_(hits, held)).as_py() or 0), int(pc.sum(held).as_py() or 0)


def targets_of(
    model: CompiledModel, observed: Sequence[Observation] = ()
) -> tuple[Target, ...]:
    """The proportions of ``model`` a target precision applies to, in file order.

    With ``observed``, each counts only the branches that match the observations: the
    posterior of ``sim run --given``.
    """
    found = []
    seen = tuple(observed)
    for o in model.outcomes:
        given = None if o.given is None else o.name + GIVEN_SUFFIX
        if o.kind == "probability":
            found.append(Target(o.name, o.name, given=given, observed=seen))
        elif o.kind == "first_of":
            found += [Target(f"{o.name}__{c}", o.name, c, given, seen) for c in o.labels]
    return tuple(found)


def tally(
    tables: Iterable[pa.Table | pa.RecordBatch], targets: Sequence[Target]
) -> dict[str, tuple[int, int]]:
    """Return ``(successes, trials)`` of every target over ``tables``."""
    counts = {t.label: (0, 0) for t in targets}
    for table in tables:
        for target in targets:
            k, n = target.count(table)
            old = counts[target.label]
            counts[target.label] = (old[0] + k, old[1] + n)
    return counts


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
    targets: tuple[Target, ...] = ()

    def widest(self, counts: Mapping[str, int | tuple[int, int]], n: int) -> tuple[str, float]:
        """Return the outcome with the widest interval over ``n`` branches, and its half-width.

        ``counts`` holds, for every target, the branches where it holds, or ``(successes,
        trials)`` where the trials are not all ``n`` branches (a ``given`` condition). Ties
        go to the first outcome in file order.
        """

        def width(found: int | tuple[int, int]) -> float:
            return half_width(*found) if isinstance(found, tuple) else half_width(found, n)

        widths = {name: width(counts[name]) for name in self.outcomes}
        worst = max(self.outcomes, key=lambda name: widths[name])
        return worst, widths[worst]

    def decide(self, counts: Mapping[str, int | tuple[int, int]], n: int) -> Decision:
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
    model: CompiledModel,
    width: float | None,
    max_branches: int | None,
    branches: int,
    observed: Sequence[Observation] = (),
) -> TargetCI | None:
    """Return the stopping rule of a run with first round ``branches``, or ``None`` for none.

    ``max_branches`` defaults to :data:`DEFAULT_MAX_BRANCHES` and needs ``width``. With
    ``observed``, the intervals are those of the posterior: over the branches that match.
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
    targets = targets_of(model, observed)
    if not targets:
        raise UsageError(
            f"scenario {model.name!r}: target_ci needs a probability or first_of outcome, "
            "and it has none"
        )
    limit = DEFAULT_MAX_BRANCHES
    if max_branches is not None:
        limit = check_branches(max_branches, "max_branches")
    if limit < branches:
        raise UsageError(
            f"max_branches must be at least the first round's {branches} branches, got {limit}"
        )
    return TargetCI(width, limit, branches, tuple(t.label for t in targets), targets)
