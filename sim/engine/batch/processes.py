"""The processes of the batch engine, one component per process: each keeps its own
per-lane arrays and fires the lanes whose next event is its own (column ``col`` of
``Batch.T``). Flows are in :mod:`sim.batch.flows`."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from sim.engine.batch.core import Batch, Component, grid_times
from sim.engine.batch.lanes import LaneOp
from sim.model.compiled import CEvent, CFlow, CPeriodic, CSchedule, CTrigger

__all__ = ["Event", "Hazard", "Periodic", "Schedule", "Tick", "Trigger", "build_components"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_INF = math.inf


def build_components(batch: Batch) -> None:
    """Create one component per process (in column order) and the watchers (in reader order)."""
    from sim.engine.batch.flows import Flow

    model = batch.model
    batch.components.append(Tick(batch))
    events: list[Event] = []
    triggers: list[Trigger] = []
    for proc in model.processes:
        comp: Component
        if isinstance(proc, CPeriodic):
            comp = Periodic(batch, proc)
        elif isinstance(proc, CSchedule):
            comp = Schedule(batch, proc)
        elif isinstance(proc, CEvent):
            comp = Event(batch, proc)
            events.append(comp)
        elif isinstance(proc, CTrigger):
            comp = Trigger(batch, proc)
            triggers.append(comp)
        else:
            assert isinstance(proc, CFlow)
            comp = Flow(batch, proc)
            batch.flows.append(comp)
        batch.components.append(comp)
    for kind, i, _ in batch.plan.readers:
        if kind == "event":
            batch.watchers.append(events[i].hazard.on_change)
        elif kind == "trigger":
            batch.watchers.append(triggers[i].check)
        elif kind == "flow":
            batch.watchers.append(batch.flows[i].on_change)
        elif kind in ("first", "rise", "end"):
            batch.watchers.append(batch.tracker.watcher(kind, i))
        else:
            batch.watchers.append(batch.stop_watcher)


class Tick:
    """Resolution steps: re-evaluate what reads ``t`` at multiples of the resolution and
    at the horizon."""

    col = 0

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.k = np.zeros(batch.n, dtype=np.int64)
        self.active = bool(batch.plan.time_readers)

    def start(self, lanes: Ints) -> None:
        if self.active:
            self._next(lanes)

    def _next(self, lanes: Ints) -> None:
        batch = self.batch
        step = batch.model.resolution
        at = grid_times(step, step, self.k[lanes], batch.horizon)
        past = np.isinf(at)
        if past.any():
            at = np.where(past & (batch.clock[lanes] < batch.horizon), batch.horizon, at)
        self.k[lanes] += np.isfinite(at)
        batch.column_times[0][lanes] = at

    def fire(self, lanes: Ints) -> None:
        batch = self.batch
        batch.wake(batch.plan.time_readers, lanes)
        lanes = batch.live(lanes)
        self._next(lanes)

    def resize(self, op: LaneOp) -> None:
        self.k = op(self.k, 0)


class Periodic:
    """Applies its effect at ``first + k * every`` up to the horizon."""

    def __init__(self, batch: Batch, spec: CPeriodic) -> None:
        self.batch, self.spec = batch, spec
        self.col = 1 + spec.index
        self.effect = batch.plan.effect(spec.effect)
        self.k = np.zeros(batch.n, dtype=np.int64)

    def start(self, lanes: Ints) -> None:
        self._schedule(lanes)

    def _schedule(self, lanes: Ints) -> None:
        spec = self.spec
        self.batch.column_times[self.col][lanes] = grid_times(
            spec.first, spec.every, self.k[lanes], self.batch.horizon
        )

    def fire(self, lanes: Ints) -> None:
        self.k[lanes] += 1
        self._schedule(lanes)
        self.batch.apply(self.effect, lanes, self.spec.name, "periodic update")

    def resize(self, op: LaneOp) -> None:
        self.k = op(self.k, 0)


class Schedule:
    """Applies its effect at each listed time (those up to the horizon), in order."""

    def __init__(self, batch: Batch, spec: CSchedule) -> None:
        self.batch, self.spec = batch, spec
        self.col = 1 + spec.index
        self.effect = batch.plan.effect(spec.effect)
        times = [t for t in spec.times if t <= batch.horizon]
        self.times = np.array([*times, _INF])
        self.pos = np.zeros(batch.n, dtype=np.int64)

    def start(self, lanes: Ints) -> None:
        self.batch.column_times[self.col][lanes] = self.times[0]

    def fire(self, lanes: Ints) -> None:
        self.pos[lanes] += 1
        self.batch.column_times[self.col][lanes] = self.times[self.pos[lanes]]
        self.batch.apply(self.effect, lanes, self.spec.name, "scheduled")

    def resize(self, op: LaneOp) -> None:
        self.pos = op(self.pos, 0)


class Hazard:
    """A Poisson clock per lane whose intensity follows the state exactly.

    Like the SimPy engine's: it keeps the unit-exponential hazard still to be consumed and
    carries it over a change of rate. ``timer`` receives the time of the next firing (inf
    when the rate is 0; a time past the horizon never comes, since the end comes first).
    """

    def __init__(
        self,
        batch: Batch,
        stream: int,
        rate_of: Callable[[Ints], Floats],
        rate_path: str,
        timer: Callable[[Ints, Floats], None],
        stoppable: bool,
    ) -> None:
        n = batch.n
        self.batch = batch
        self.stream = stream
        self.rate_of = rate_of
        self.rate_path = rate_path
        self.timer = timer
        self.stoppable = stoppable
        self.rate = np.zeros(n)
        self.rest = np.zeros(n)
        self.fire_at = np.full(n, _INF)
        self.stopped = np.zeros(n, dtype=bool)

    def start(self, lanes: Ints) -> None:
        self.rest[lanes] = self.unit_exponential(lanes)
        rate = self._current(lanes)
        keep = ~self.batch.gone[lanes]
        lanes, rate = lanes[keep], rate[keep]
        self.rate[lanes] = rate
        self._schedule(lanes, rate, self.rest[lanes])

    def unit_exponential(self, lanes: Ints) -> Floats:
        return -np.log(self.batch.draw(self.stream, lanes))

    def _current(self, lanes: Ints) -> Floats:
        rate = self.rate_of(lanes)
        if rate.dtype != np.float64:
            rate = rate.astype(np.float64)
        if len(rate) and not (rate.min() >= 0.0 and rate.max() < _INF):  # NaN fails too
            bad = ~((rate >= 0.0) & (rate < _INF))
            self.batch.fail_message(
                lanes[bad],
                self.rate_path,
                rate[bad],
                lambda r: f"a rate must be finite and >= 0, got {r:g}",
            )
        return rate

    def _schedule(self, lanes: Ints, rate: Floats, rest: Floats) -> None:
        """The next firing at ``now + rest / rate`` (never when the rate is 0)."""
        now = self.batch.clock[lanes]
        fire_at = now + rest / rate  # inf where the rate is 0 (errors are ignored)
        if len(rate) and rate.min() <= 0.0:
            fire_at[rate <= 0.0] = _INF
        self.fire_at[lanes] = fire_at
        self.timer(lanes, fire_at)

    def on_change(self, lanes: Ints) -> None:
        """Recompute the rate after a change of what it reads; carry the hazard over."""
        if self.stoppable:
            lanes = lanes[~self.stopped[lanes]]
            if not len(lanes):
                return
        rate = self._current(lanes)
        old = self.rate[lanes]
        moved = rate != old
        if self.batch.step_gone:
            moved &= ~self.batch.gone[lanes]
        if not moved.all():
            if not moved.any():
                return
            lanes, rate, old = lanes[moved], rate[moved], old[moved]
        now = self.batch.clock[lanes]
        rest = self.rest[lanes]
        running = old > 0.0
        carried = (self.fire_at[lanes] - now) * old
        rest = np.where(running, carried, rest) if not running.all() else carried
        self.rest[lanes] = rest
        self.rate[lanes] = rate
        self._schedule(lanes, rate, rest)

    def due(self, lanes: Ints) -> None:
        """The clock rang: draw the next unit exponential and reschedule."""
        rest = self.unit_exponential(lanes)
        self.rest[lanes] = rest
        self._schedule(lanes, self.rate[lanes], rest)

    def stop(self, lanes: Ints) -> None:
        """Never fire again."""
        self.stopped[lanes] = True
        self.rate[lanes] = 0.0
        self.fire_at[lanes] = _INF
        self.timer(lanes, np.full(len(lanes), _INF))

    def resize(self, op: LaneOp) -> None:
        self.rate = op(self.rate, 0.0)
        self.rest = op(self.rest, 0.0)
        self.fire_at = op(self.fire_at, _INF)
        self.stopped = op(self.stopped, False)


class Event:
    """A Poisson process of state-dependent intensity applying its effect."""

    def __init__(self, batch: Batch, spec: CEvent) -> None:
        self.batch, self.spec = batch, spec
        self.col = 1 + spec.index
        plan = batch.plan
        self.effect = plan.effect(spec.effect)
        rate = plan.expr(spec.rate)
        self.count = np.zeros(batch.n, dtype=np.int64)
        self.hazard = Hazard(
            batch,
            plan.stream(spec.name),
            lambda lanes: batch.within(
                np.asarray(batch.value(rate, lanes), dtype=np.float64), rate, lanes, 0.0
            ),
            rate.path,
            self._timer,
            spec.max_count is not None,
        )

    def _timer(self, lanes: Ints, at: Floats) -> None:
        self.batch.column_times[self.col][lanes] = at

    def start(self, lanes: Ints) -> None:
        self.hazard.start(lanes)

    def fire(self, lanes: Ints) -> None:
        self.hazard.due(lanes)
        count = self.count[lanes] + 1
        self.count[lanes] = count
        if self.spec.max_count is not None:
            ended = count >= self.spec.max_count
            if ended.any():
                self.hazard.stop(lanes[ended])
        what = f"event #{count[0]}" if self.batch.trace is not None else ""
        self.batch.apply(self.effect, lanes, self.spec.name, what)

    def resize(self, op: LaneOp) -> None:
        self.count = op(self.count, 0)
        self.hazard.resize(op)


class Trigger:
    """Fires its effect ``delay`` after ``when`` becomes true (with probability ``chance``).

    Pending firings are columns of ``pending`` (inf when empty; more than one only with
    ``repeat``), fired in order of time, then of arming.
    """

    def __init__(self, batch: Batch, spec: CTrigger) -> None:
        self.batch, self.spec = batch, spec
        self.col = 1 + spec.index
        plan = batch.plan
        self.effect = plan.effect(spec.effect)
        self.when = plan.expr(spec.when)
        self.delay = plan.delay(spec.delay)
        self.chance = plan.expr(spec.chance) if spec.chance is not None else None
        self.stream = plan.stream(spec.name)
        n = batch.n
        self.held = np.zeros(n, dtype=bool)
        self.done = np.zeros(n, dtype=bool)
        self.pending = np.full((n, 1), _INF)
        self.order = np.zeros((n, 1), dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)  # pending firings
        self.armed = np.zeros(n, dtype=np.int64)  # firings armed so far (their order)
        self.next = np.zeros(n, dtype=np.int64)  # the column of the next firing

    def check(self, lanes: Ints) -> None:
        """Look for a rise (arm) or a fall (maybe cancel) of the condition."""
        batch = self.batch
        lanes = lanes[~self.done[lanes]]
        if not len(lanes):
            return
        held = self.value_of_when(lanes)
        changed = held != self.held[lanes]
        if batch.step_gone:
            changed &= ~batch.gone[lanes]
        if not changed.any():
            return
        lanes, held = lanes[changed], held[changed]
        self.held[lanes] = held
        rise, fall = lanes[held], lanes[~held]
        if len(rise):
            if not self.spec.repeat:
                rise = rise[self.count[rise] == 0]
            self._arm(rise)
        if len(fall) and self.spec.cancel_if_false:
            fall = fall[self.count[fall] > 0]
            if len(fall):
                self.pending[fall] = _INF
                self.count[fall] = 0
                self._refresh(fall)
                batch.note(self.spec.name, "cancelled: condition no longer holds")

    def value_of_when(self, lanes: Ints) -> Bools:
        return np.asarray(self.batch.value(self.when, lanes), dtype=bool)

    def _arm(self, lanes: Ints) -> None:
        batch = self.batch
        if not len(lanes):
            return
        wait = batch.delay(self.delay, lanes, self.stream)
        if batch.step_gone:
            keep = ~batch.gone[lanes]
            lanes, wait = lanes[keep], wait[keep]
        at = batch.clock[lanes] + wait
        free = self.pending[lanes] == _INF
        column = free.argmax(axis=1)
        full = ~free[np.arange(len(lanes)), column]
        if full.any():
            self._grow()
            column = np.where(full, self.pending.shape[1] - 1, column)
        self.pending[lanes, column] = at
        self.order[lanes, column] = self.armed[lanes]
        self.armed[lanes] += 1
        self.count[lanes] += 1
        self._refresh(lanes)
        if batch.trace is not None and len(lanes):
            batch.note(self.spec.name, f"armed: fires in {wait[0]:g}")

    def _grow(self) -> None:
        n, w = self.pending.shape
        self.pending = np.hstack([self.pending, np.full((n, w), _INF)])
        self.order = np.hstack([self.order, np.zeros((n, w), dtype=np.int64)])

    def _refresh(self, lanes: Ints) -> None:
        """Put the next pending firing of each lane into its column of ``T``."""
        pending = self.pending[lanes]
        if pending.shape[1] == 1:
            self.batch.column_times[self.col][lanes] = pending[:, 0]
            return
        column = pending.argmin(axis=1)
        at = pending[np.arange(len(lanes)), column]
        ties = ((pending == at[:, None]).sum(axis=1) > 1) & (at < _INF)
        if ties.any():
            order = np.where(pending == at[:, None], self.order[lanes], np.iinfo(np.int64).max)
            column = np.where(ties, order.argmin(axis=1), column)
        self.next[lanes] = column
        self.batch.column_times[self.col][lanes] = at

    def fire(self, lanes: Ints) -> None:
        batch = self.batch
        self.pending[lanes, self.next[lanes]] = _INF
        self.count[lanes] -= 1
        self._refresh(lanes)
        if self.chance is not None:
            ok = batch.chance(self.chance, lanes, self.stream)
            if batch.trace is not None and not ok.all():
                batch.note(self.spec.name, "fired without effect (chance)")
            lanes = batch.live(lanes[ok])
        if not self.spec.repeat:
            self.done[lanes] = True
        batch.apply(self.effect, lanes, self.spec.name, "fired")

    def resize(self, op: LaneOp) -> None:
        self.held = op(self.held, False)
        self.done = op(self.done, False)
        self.pending = op(self.pending, _INF)
        self.order = op(self.order, 0)
        self.count = op(self.count, 0)
        self.armed = op(self.armed, 0)
        self.next = op(self.next, 0)
