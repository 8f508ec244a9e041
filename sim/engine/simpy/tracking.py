"""What a SimPy branch watches for its outcomes, and the outcome values it ends with.

An :class:`OutcomePlan` (once per model) lists the conditions a branch watches: conditions
whose *first* time is kept (``probability``, ``time_to``, the start of a ``time_between``,
each condition of a ``first_of``, every ``given``), conditions whose *rises* are counted
(``count`` with ``when``), and the *ends* of ``time_between`` clocks, watched once their start
has held. A :class:`Tracker` (once per branch) holds what was seen, gives the branch a
watcher for each of them, counts process firings, and turns all of it into the branch's
outcome values, in the order of the model's outcome and detail columns.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.model.compiled import CExpr, CompiledModel, COutcome, Effect

if TYPE_CHECKING:
    from sim.engine.simpy.branch import Branch

__all__ = ["OutcomePlan", "Tracker"]

Reader = tuple[str, int, frozenset[int]]


class OutcomePlan:
    """Per-model wiring of the outcomes: the conditions to watch and the firings to count."""

    def __init__(self, model: CompiledModel) -> None:
        self.firsts: list[CExpr] = []
        self.notes: list[tuple[str, str]] = []  # (outcome, what) said when a first time is seen
        self.rises: list[tuple[CExpr, float]] = []
        self.ends: list[tuple[int, CExpr]] = []  # (index of the clock's start in firsts, end)
        self.counters: dict[int, list[tuple[int, float]]] = {}  # process -> (counter, by)
        self.n_counters = 0
        self.steps: list[tuple[COutcome, tuple[int, ...]]] = []
        for outcome in model.outcomes:
            self.steps.append((outcome, self._plan(outcome)))
        # indicators: a first time each, recorded after the outcomes (their columns come last)
        self.indicators = tuple(
            self._first(i.when, i.column, "indicator holds") for i in model.indicators
        )
        self.after_first: dict[int, list[int]] = {}
        for e, (start, _) in enumerate(self.ends):
            self.after_first.setdefault(start, []).append(e)
        self.readers: list[Reader] = [("first", k, c.reads) for k, c in enumerate(self.firsts)]
        self.readers += [("rise", r, c.reads) for r, (c, _) in enumerate(self.rises)]
        self.readers += [("end", e, c.reads) for e, (_, c) in enumerate(self.ends)]
        effects = [getattr(p, "effect", None) for p in model.processes]
        self.counted: dict[int, tuple[tuple[int, float], ...]] = {
            id(effects[p]): tuple(found)
            for p, found in self.counters.items()
            if effects[p] is not None
        }

    def _first(self, condition: CExpr, outcome: str, what: str) -> int:
        self.firsts.append(condition)
        self.notes.append((outcome, what))
        return len(self.firsts) - 1

    def _plan(self, o: COutcome) -> tuple[int, ...]:
        """Register what ``o`` watches; return the indices its value is computed from.

        The last index is that of the ``given`` condition's first time, when there is one.
        """
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
    """What one branch saw of its outcomes' conditions and processes."""

    __slots__ = ("branch", "counts", "ends", "first", "plan", "rise_counts", "rise_held")

    def __init__(self, branch: Branch, plan: OutcomePlan) -> None:
        self.branch = branch
        self.plan = plan
        self.first: list[float | None] = [None] * len(plan.firsts)
        self.rise_held = [False] * len(plan.rises)
        self.rise_counts = [0] * len(plan.rises)
        self.ends: list[float | None] = [None] * len(plan.ends)
        self.counts = [0] * plan.n_counters

    # -- watchers -------------------------------------------------------------------------

    def watcher(self, kind: str, index: int) -> Callable[[], None]:
        """The watcher of the reader ``(kind, index)`` of the plan."""
        if kind == "first":
            return self._first_watcher(index)
        if kind == "rise":
            return self._rise_watcher(index)
        return self._end_watcher(index)

    def _first_watcher(self, k: int) -> Callable[[], None]:
        condition = self.plan.firsts[k]
        fn, path = condition.fn, condition.path
        first, branch = self.first, self.branch
        v, env = branch.v, branch.env
        ends = [self._end_watcher(e) for e in self.plan.after_first.get(k, ())]
        owner, what = self.plan.notes[k]

        def check() -> None:
            if first[k] is None:
                v[0] = env.now
                branch.ctx = path
                if fn(v):
                    first[k] = env.now
                    branch.note(owner, what)
                    for end in ends:  # a clock started: its end may already hold
                        end()

        return check

    def _rise_watcher(self, r: int) -> Callable[[], None]:
        condition, by = self.plan.rises[r]
        fn, path = condition.fn, condition.path
        held, counts, branch = self.rise_held, self.rise_counts, self.branch
        v, env = branch.v, branch.env

        def check() -> None:
            v[0] = env.now
            branch.ctx = path
            now_held = bool(fn(v))
            if now_held != held[r]:
                held[r] = now_held
                if now_held and env.now <= by:
                    counts[r] += 1

        return check

    def _end_watcher(self, e: int) -> Callable[[], None]:
        start, condition = self.plan.ends[e]
        owner = self.plan.notes[start][0]
        fn, path = condition.fn, condition.path
        first, ends, branch = self.first, self.ends, self.branch
        v, env = branch.v, branch.env

        def check() -> None:
            if ends[e] is None and first[start] is not None:
                v[0] = env.now
                branch.ctx = path
                if fn(v):
                    ends[e] = env.now
                    branch.note(owner, "clock stops (`to` holds)")

        return check

    def fired(self, effect: Effect, now: float) -> None:
        """Count a firing of the process whose effect is ``effect``."""
        for counter, by in self.plan.counted.get(id(effect), ()):
            if now <= by:
                self.counts[counter] += 1

    # -- values ---------------------------------------------------------------------------

    def values(self) -> tuple[Any, ...]:
        """The branch's outcome and detail values, in the order of the model's columns."""
        out: list[Any] = []
        for outcome, found in self.plan.steps:
            indices = found[:-1] if outcome.given is not None else found
            out.extend(self._value(outcome, indices))
            if outcome.given is not None:
                out.append(self.first[found[-1]] is not None)
        for k in self.plan.indicators:
            first = self.first[k]
            out.append(math.nan if first is None else first)
        return tuple(out)

    def _value(self, o: COutcome, found: tuple[int, ...]) -> tuple[Any, ...]:
        kind = o.kind
        if kind == "probability":
            first = self.first[found[0]]
            assert o.by is not None
            return (first is not None and first <= o.by,)
        if kind == "time_to":
            first = self.first[found[0]]
            return (math.nan if first is None else first,)
        if kind == "count":
            return (self.rise_counts[found[0]] if o.when is not None else self.counts[found[0]],)
        if kind == "time_between":
            start, end = self.first[found[0]], self.ends[found[1]]
            duration = math.nan if start is None or end is None else end - start
            return duration, (math.nan if start is None else start)
        if kind == "first_of":
            return (self._first_label(o, found),)
        return (self.branch.end_value(o),)

    def _first_label(self, o: COutcome, found: tuple[int, ...]) -> str:
        """The label of the condition that held first by ``o.by`` (ties: file order), or none."""
        by = _deadline(o.by)
        best: tuple[float, int] | None = None
        for position, k in enumerate(found):
            first = self.first[k]
            if first is not None and first <= by and (best is None or first < best[0]):
                best = (first, position)
        return o.labels[-1] if best is None else o.conditions[best[1]][0]
