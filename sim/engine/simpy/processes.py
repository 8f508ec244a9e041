"""The processes of a SimPy branch: periodic updates, schedules, Poisson events, triggers.

Each is driven by timer callbacks on the branch's SimPy environment; an event's rate change
carries its remaining unit-exponential hazard over, so intensities follow the state exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.engine.common import grid_time
from sim.engine.simpy.timer import INF, PROCESS_PRIORITY, Timer
from sim.model.compiled import (
    CEvent,
    CPeriodic,
    CSchedule,
    CTrigger,
)

if TYPE_CHECKING:
    from sim.engine.simpy.branch import Branch


class Periodic:
    """Applies its effect at ``first``, ``first + every``, ..."""

    __slots__ = ("branch", "k", "spec")

    def __init__(self, branch: Branch, spec: CPeriodic) -> None:
        self.branch, self.spec, self.k = branch, spec, 0
        self._schedule()

    def _schedule(self) -> None:
        spec = self.spec
        at = grid_time(spec.first, spec.every, self.k, self.branch.horizon)
        if at is not None:
            self.branch.at(at, PROCESS_PRIORITY + spec.index, self._fire)

    def _fire(self, _event: simpy.Event) -> None:
        self.k += 1
        self._schedule()
        self.branch.apply(self.spec.effect, self.spec.name, "periodic update")


class Schedule:
    """Applies its effect at each listed time."""

    __slots__ = ("branch", "spec")

    def __init__(self, branch: Branch, spec: CSchedule) -> None:
        self.branch, self.spec = branch, spec
        for at in spec.times:  # sorted, so equal times keep the order of the list
            if at <= branch.horizon:
                branch.at(at, PROCESS_PRIORITY + spec.index, self._fire)

    def _fire(self, _event: simpy.Event) -> None:
        self.branch.apply(self.spec.effect, self.spec.name, "scheduled")


class Hazard:
    """A Poisson clock whose intensity follows the state exactly (next-reaction method).

    It keeps the unit-exponential hazard still to be consumed; when the rate changes, the
    remaining hazard is carried over, which is exact by memorylessness and draws no new
    random numbers.
    """

    __slots__ = ("branch", "fire_at", "pending", "priority", "rate", "rate_of", "rest", "rng")

    def __init__(
        self,
        branch: Branch,
        rng: np.random.Generator,
        rate_of: Callable[[], float],
        index: int,
    ) -> None:
        self.branch, self.rng, self.rate_of = branch, rng, rate_of
        self.priority = PROCESS_PRIORITY + index
        self.rate = 0.0
        self.rest = rng.exponential()
        self.fire_at = INF
        self.pending: simpy.Event | None = None

    def start(self) -> None:
        self.rate = self._current_rate()
        self._reschedule()

    def _current_rate(self) -> float:
        rate = float(self.rate_of())
        if not 0.0 <= rate < INF:  # an infinite rate would fire forever at one instant
            raise ValueError(f"a rate must be finite and >= 0, got {rate:g}")
        return rate

    def _reschedule(self) -> None:
        self.pending = None
        if self.rate > 0.0:
            env = self.branch.env
            delay = self.rest / self.rate
            self.fire_at = env.now + delay  # the time SimPy computes for the event
            if self.fire_at <= self.branch.horizon:
                self.pending = Timer(env, delay, self.priority, self._due)
        else:
            self.fire_at = INF

    def on_change(self) -> None:
        """Recompute the rate after a change of what it reads."""
        rate = self._current_rate()
        if rate == self.rate:
            return
        if self.rate > 0.0:
            self.rest = (self.fire_at - self.branch.env.now) * self.rate
        self.rate = rate
        self._reschedule()

    def stop(self) -> None:
        self.rate = 0.0
        self.fire_at = INF
        self.pending = None
        self.rate_of = _zero

    def _due(self, event: simpy.Event) -> None:
        if event is not self.pending:
            return  # superseded by a rate change
        self.rest = self.rng.exponential()
        self._reschedule()
        self.fired()

    def fired(self) -> None:  # overridden by users of the clock
        raise NotImplementedError


def _zero() -> float:
    return 0.0


class Event(Hazard):
    __slots__ = ("count", "spec")

    def __init__(self, branch: Branch, spec: CEvent) -> None:
        v = branch.v
        rate = spec.rate.fn
        env = branch.env

        def rate_of() -> float:
            v[0] = env.now
            branch.ctx = spec.rate.path
            value = float(rate(v))
            return branch.within(value, spec.rate, 0.0) if value < 0.0 else value

        super().__init__(branch, branch.rng(spec.name), rate_of, spec.index)
        self.spec, self.count = spec, 0
        self.start()

    def fired(self) -> None:
        self.count += 1
        if self.spec.max_count is not None and self.count >= self.spec.max_count:
            self.stop()
        self.branch.apply(self.spec.effect, self.spec.name, f"event #{self.count}")


class Trigger:
    """Fires its effect ``delay`` after ``when`` becomes true."""

    __slots__ = ("branch", "done", "held", "pending", "rng", "spec")

    def __init__(self, branch: Branch, spec: CTrigger) -> None:
        self.branch, self.spec = branch, spec
        self.rng = branch.rng(spec.name)
        self.held = False
        self.done = False
        self.pending: list[simpy.Event] = []

    def check(self) -> None:
        """Look for a rise (arm) or a fall (maybe cancel) of the condition."""
        if self.done:
            return
        branch = self.branch
        branch.v[0] = branch.env.now
        branch.ctx = self.spec.when.path
        held = bool(self.spec.when.fn(branch.v))
        if held == self.held:
            return
        self.held = held
        if held:
            if self.pending and not self.spec.repeat:
                return
            wait = branch.delay(self.spec.delay, self.rng)
            self.pending.append(
                Timer(branch.env, wait, PROCESS_PRIORITY + self.spec.index, self._fire)
            )
            branch.note(self.spec.name, f"armed: fires in {wait:g}")
        elif self.pending and self.spec.cancel_if_false:
            self.pending.clear()
            branch.note(self.spec.name, "cancelled: condition no longer holds")

    def _fire(self, event: simpy.Event) -> None:
        if event not in self.pending:
            return  # cancelled
        self.pending.remove(event)
        branch = self.branch
        if self.spec.chance is not None and not branch.chance(self.spec.chance, self.rng):
            branch.note(self.spec.name, "fired without effect (chance)")
        else:
            if not self.spec.repeat:
                self.done = True
            branch.apply(self.spec.effect, self.spec.name, "fired")
