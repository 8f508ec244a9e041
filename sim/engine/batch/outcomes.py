"""What the batch engine watches for its outcomes, and the outcome values lanes end with.

The same wiring as the SimPy engine's (:mod:`sim.engine.simpy.tracking`), over lanes:
conditions whose *first* time is kept (``probability``, ``time_to``, the start of a
``time_between``, each condition of a ``first_of``, every ``given``, then the
indicators), conditions whose *rises* are counted (``count`` with ``when``), the *ends* of
``time_between`` clocks (watched once their start has held), and firings of counted
processes. Their watchers come in the SimPy engine's order: every first, every rise,
every end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sim.engine.batch.lanes import LaneOp
from sim.model.compiled import CExpr, CompiledModel, COutcome
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX

if TYPE_CHECKING:
    from sim.engine.batch.core import Batch

__all__ = ["OutcomePlan", "Tracker"]

Ints = npt.NDArray[np.int64]
Reader = tuple[str, int, frozenset[int]]


class OutcomePlan:
    """Per-model wiring of the outcomes: the conditions to watch and the firings to count."""

    def __init__(self, model: CompiledModel) -> None:
        self.firsts: list[tuple[CExpr, str, str]] = []  # condition, owner, what a trace says
        self.rises: list[tuple[CExpr, float]] = []
        self.ends: list[tuple[int, CExpr]] = []  # (index of the clock's start in firsts, end)
        self.counters: dict[int, list[tuple[int, float]]] = {}  # process -> (counter, by)
        self.n_counters = 0
        self.steps = [(o, self._plan(o)) for o in model.outcomes]
        self.indicators = tuple(
            self._first(i.when, i.column, "indicator holds") for i in model.indicators
        )
        self.after_first: dict[int, list[int]] = {}
        for e, (start, _) in enumerate(self.ends):
            self.after_first.setdefault(start, []).append(e)
        self.readers: list[Reader] = [
            ("first", k, c.reads) for k, (c, _, _) in enumerate(self.firsts)
        ]
        self.readers += [("rise", r, c.reads) for r, (c, _) in enumerate(self.rises)]
        self.readers += [("end", e, c.reads) for e, (_, c) in enumerate(self.ends)]
        effects = [getattr(p, "effect", None) for p in model.processes]
        self.counted: dict[int, tuple[tuple[int, float], ...]] = {
            id(effects[p]): tuple(found)
            for p, found in self.counters.items()
            if effects[p] is not None
        }

    def _first(self, condition: CExpr, owner: str, what: str) -> int:
        self.firsts.append((condition, owner, what))
        return len(self.firsts) - 1

    def _plan(self, o: COutcome) -> tuple[int, ...]:
        """Register what ``o`` watches; return the indices its value is computed from (the
        last is its ``given`` condition's first time, when it has one)."""
        if o.kind in ("probability", "time_to"):
            assert o.when is not None
            found: tuple[int, ...] = (self._first(o.when, o.name, "outcome condition holds"),)
        elif o.kind == "count" and o.when is not None:
            self.rises.append((o.when, _deadline(o.by)))
            found = (len(self.rises) - 1,)
        elif o.kind == "count":
            self.counters.setdefault(o.process or 0, []).append((self.n_counters, _deadline(o.by)))
            self.n_counters += 1
            found = (self.n_counters - 1,)
        elif o.kind == "time_between":
            assert o.when is not None and o.to is not None
            start = self._first(o.when, o.name, "clock starts (`from` holds)")
            self.ends.append((start, o.to))
            found = (start, len(self.ends) - 1)
        elif o.kind == "first_of":
            found = tuple(
                self._first(condition, o.name, f"condition {label!r} holds")
                for label, condition in o.conditions
            )
        else:
            found = ()
        if o.given is not None:
            found = (*found, self._first(o.given, o.name, "`given` condition holds"))
        return found


def _deadline(by: float | None) -> float:
    return math.inf if by is None else by


class Tracker:
    """What each lane saw of its outcomes' conditions and processes."""

    def __init__(self, batch: Batch, plan: OutcomePlan) -> None:
        self.batch = batch
        self.plan = plan
        n = batch.n
        self.first = np.full((n, len(plan.firsts)), np.nan)
        self.held = np.zeros((n, len(plan.rises)), dtype=bool)
        self.rises = np.zeros((n, len(plan.rises)), dtype=np.int64)
        self.ends = np.full((n, len(plan.ends)), np.nan)
        self.counts = np.zeros((n, plan.n_counters), dtype=np.int64)
        self.counting = bool(plan.counted)

    def resize(self, op: LaneOp) -> None:
        self.first = op(self.first, np.nan)
        self.held = op(self.held, False)
        self.rises = op(self.rises, 0)
        self.ends = op(self.ends, np.nan)
        self.counts = op(self.counts, 0)

    # -- watchers -------------------------------------------------------------------------

    def watcher(self, kind: str, index: int) -> Callable[[Ints], None]:
        """The watcher of the reader ``(kind, index)`` of the plan."""
        if kind == "first":
            return self._first_watcher(index)
        if kind == "rise":
            return self._rise_watcher(index)
        return self._end_watcher(index)

    def _first_watcher(self, k: int) -> Callable[[Ints], None]:
        batch = self.batch
        condition, owner, what = self.plan.firsts[k]
        when = batch.plan.expr(condition)
        ends = [self._end_watcher(e) for e in self.plan.after_first.get(k, ())]

        def check(lanes: Ints) -> None:
            lanes = lanes[np.isnan(self.first[lanes, k])]
            if not len(lanes):
                return
            hit = lanes[batch.value(when, lanes)]
            if batch.step_gone:
                hit = batch.live(hit)
            if not len(hit):
                return
            self.first[hit, k] = batch.clock[hit]
            if batch.trace is not None:
                batch.note(owner, what)
            for end in ends:  # a clock started: its end may already hold
                end(hit)

        return check

    def _rise_watcher(self, r: int) -> Callable[[Ints], None]:
        batch = self.batch
        condition, by = self.plan.rises[r]
        when = batch.plan.expr(condition)

        def check(lanes: Ints) -> None:
            held = np.asarray(batch.value(when, lanes), dtype=bool)
            changed = held != self.held[lanes, r]
            if batch.step_gone:
                changed &= ~batch.gone[lanes]
            if not changed.any():
                return
            lanes, held = lanes[changed], held[changed]
            self.held[lanes, r] = held
            rose = lanes[held & (batch.clock[lanes] <= by)]
            self.rises[rose, r] += 1

        return check

    def _end_watcher(self, e: int) -> Callable[[Ints], None]:
        batch = self.batch
        start, condition = self.plan.ends[e]
        owner = self.plan.firsts[start][1]
        when = batch.plan.expr(condition)

        def check(lanes: Ints) -> None:
            lanes = lanes[np.isnan(self.ends[lanes, e]) & ~np.isnan(self.first[lanes, start])]
            if not len(lanes):
                return
            hit = lanes[batch.value(when, lanes)]
            if batch.step_gone:
                hit = batch.live(hit)
            if len(hit):
                self.ends[hit, e] = batch.clock[hit]
                if batch.trace is not None:
                    batch.note(owner, "clock stops (`to` holds)")

        return check

    def fired(self, effect: Any, lanes: Ints) -> None:
        """Count a firing of the process whose effect is ``effect`` in ``lanes``."""
        for counter, by in self.plan.counted.get(id(effect), ()):
            if by == math.inf:
                self.counts[lanes, counter] += 1
            else:
                self.counts[lanes, counter] += self.batch.clock[lanes] <= by

    # -- values ---------------------------------------------------------------------------

    def write(self, lanes: Ints, rows: Ints, out: dict[str, npt.NDArray[Any]]) -> None:
        """Write the outcome, detail and indicator values of ``lanes`` (ending now) into
        ``rows`` of ``out``; ``value`` and ``flow`` outcomes are the batch's to write."""
        first = self.first
        for o, found in self.plan.steps:
            at = found[:-1] if o.given is not None else found
            if o.kind == "probability":
                assert o.by is not None
                out[o.name][rows] = first[lanes, at[0]] <= o.by
            elif o.kind == "time_to":
                out[o.name][rows] = first[lanes, at[0]]
            elif o.kind == "count":
                counts = self.rises if o.when is not None else self.counts
                out[o.name][rows] = counts[lanes, at[0]]
            elif o.kind == "time_between":
                start = first[lanes, at[0]]
                out[o.name][rows] = self.ends[lanes, at[1]] - start
                out[o.name + FROM_SUFFIX][rows] = start
            elif o.kind == "first_of":
                out[o.name][rows] = _first_labels(o, first[:, list(at)][lanes])
            if o.given is not None:
                out[o.name + GIVEN_SUFFIX][rows] = ~np.isnan(first[lanes, found[-1]])
        for column, k in zip(
            (i.column for i in self.batch.model.indicators), self.plan.indicators, strict=True
        ):
            out[column][rows] = first[lanes, k]


def _first_labels(o: COutcome, times: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    """The label of the condition that held first by ``o.by`` (ties: file order), or none."""
    by = _deadline(o.by)
    times = np.where(times <= by, times, np.inf)  # NaN (never) is not <= by
    best = times.argmin(axis=1)
    labels = np.array(o.labels, dtype=object)
    chosen: npt.NDArray[Any] = np.where(np.isinf(times.min(axis=1)), labels[-1], labels[best])
    return chosen
