"""The engine: runs one branch of a compiled model on a SimPy environment.

This is the only module that imports simpy. Processes are driven by event callbacks
rather than generator processes, which keeps the per-event cost close to hand-written
SimPy code. Every change of state goes through :meth:`_Branch.apply`, which re-checks
exactly the rates and conditions that read the slots the change wrote (and those that
read ``t``), so event intensities follow the state exactly and outcome conditions record
the first time they hold. Processes due at the same time act in file order; regular times
(periodic, fixed-interval arrivals, resolution steps) are ``first + k * every``, never sums.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.core import StopSimulation

from sim.errors import RunError
from sim.model.compiled import (
    CDelay,
    CEvent,
    CExpr,
    CFlow,
    CompiledModel,
    CPeriodic,
    CSchedule,
    CTrigger,
    Effect,
)

__all__ = ["BranchResult", "TraceRecord", "branch_generator", "run_branch", "run_branches"]

_INF = math.inf
# At equal times SimPy runs events by priority, then in the order they were scheduled.
# Resolution steps come first; process ``i`` acts with priority ``_PROCESS_PRIORITY + i``,
# so processes due at the same time act in file order, however long ago each was
# scheduled (SimPy's own resource grants have priority 1); the end of the branch comes
# last, so events at exactly the horizon still happen.
_TICK_PRIORITY = 0
_PROCESS_PRIORITY = 2
_END_PRIORITY = sys.maxsize
# A grid time (first + k * every) this close past the horizon, as a fraction of `every`,
# is the horizon: 34 * 0.2 + 0.2 is 7.000000000000001 in floating point, not 7.
_GRID_SLACK = 1e-9
_PARAMETER_STREAM = 0
_PROCESS_STREAM = 1


def branch_generator(
    seed: int, branch: int, stream: int, name: str, *parts: str
) -> np.random.Generator:
    """The random generator of one named parameter or process (or part of one) of a branch.

    Children are keyed by name, not position, so that variants and sweep points share
    random numbers wherever their structure agrees (SPEC section 3). ``parts`` name a
    child of a process's stream, such as a stage of a flow, so that changing a flow's
    arrivals leaves its stages' service and loss draws alone.
    """
    key = (branch, stream, *(zlib.crc32(n.encode()) for n in (name, *parts)))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One line of a branch's timeline."""

    time: float
    process: str
    what: str
    changes: tuple[tuple[str, Any, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class BranchResult:
    """What one branch produced: its end time, parameter draws and outcome values."""

    branch: int
    t_end: float
    parameters: tuple[Any, ...]
    outcomes: tuple[Any, ...]


class _Timer(simpy.Event):
    """An event that calls ``callback`` after ``delay``, with a priority among equal times.

    Like ``simpy.Timeout`` (whose initialisation this inlines for speed) but with a
    priority, so that same-time events follow the file order of their processes.
    """

    def __init__(
        self,
        env: simpy.Environment,
        delay: float,
        priority: int,
        callback: Callable[[simpy.Event], None],
    ) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)  # type: ignore[arg-type]


def _grid_time(first: float, every: float, k: int, horizon: float) -> float | None:
    """The time ``first + k * every``, or None when it is past the horizon.

    Computed from ``k`` rather than by repeated addition, so times do not drift; a time
    only a rounding error past the horizon is the horizon.
    """
    at = first + k * every
    if at <= horizon:
        return at
    if at - horizon <= _GRID_SLACK * every:
        return horizon
    return None


class _Plan:
    """Per-model wiring, computed once: which watchers each effect must wake."""

    def __init__(self, model: CompiledModel) -> None:
        self.model = model
        events = [p for p in model.processes if isinstance(p, CEvent)]
        triggers = [p for p in model.processes if isinstance(p, CTrigger)]
        flows = [p for p in model.processes if isinstance(p, CFlow)]
        conditional = [o for o in model.outcomes if o.when is not None]
        # Watcher ids: ("event", i), ("trigger", i), ("flow", i), ("outcome", i), ("stop", 0)
        self.readers: list[tuple[str, int, frozenset[int]]] = []
        for i, ev in enumerate(events):
            self.readers.append(("event", i, ev.rate.reads))
        for i, tr in enumerate(triggers):
            self.readers.append(("trigger", i, tr.when.reads))
        for i, fl in enumerate(flows):
            reads: frozenset[int] = frozenset()
            if fl.rate is not None:
                reads |= fl.rate.reads
            if fl.gate is not None:
                reads |= fl.gate.reads
            if fl.rate is not None:
                self.readers.append(("flow", i, reads))
        for i, oc in enumerate(conditional):
            assert oc.when is not None
            self.readers.append(("outcome", i, oc.when.reads))
        if model.stop_when is not None:
            self.readers.append(("stop", 0, model.stop_when.reads))
        self.events, self.triggers, self.flows = events, triggers, flows
        self.conditional = conditional
        self.time_readers = [i for i, (_, _, r) in enumerate(self.readers) if 0 in r]
        self._by_effect: dict[int, tuple[int, ...]] = {}

    def watchers_of(self, effect: Effect) -> tuple[int, ...]:
        """Indices into ``readers`` that a change made by ``effect`` may affect."""
        key = id(effect)
        found = self._by_effect.get(key)
        if found is None:
            targets = set(effect.targets) | {0}
            found = tuple(i for i, (_, _, r) in enumerate(self.readers) if r & targets)
            self._by_effect[key] = found
        return found


def run_branches(model: CompiledModel, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Run branches ``start .. stop-1`` and return one array per column of ``model.columns``."""
    plan = _Plan(model)
    results = [_Branch(model, plan, seed, b, None).run() for b in range(start, stop)]
    return _columns(model, seed, results)


def run_branch(
    model: CompiledModel,
    seed: int,
    branch: int,
    trace: Callable[[TraceRecord], None] | None = None,
) -> BranchResult:
    """Run one branch alone; with ``trace``, report every event, firing and state change."""
    return _Branch(model, _Plan(model), seed, branch, trace).run()


def _columns(
    model: CompiledModel, seed: int, results: Sequence[BranchResult]
) -> dict[str, np.ndarray]:
    n = len(results)
    out: dict[str, np.ndarray] = {
        "branch": np.fromiter((r.branch for r in results), dtype=np.int64, count=n),
        "seed": np.full(n, seed, dtype=np.int64),
        "t_end": np.fromiter((r.t_end for r in results), dtype=np.float64, count=n),
    }
    n_params = len(model.parameters)
    data_columns = [c for c in model.columns if c.role != "id"]
    for j, column in enumerate(data_columns):
        if j < n_params:
            values = [r.parameters[j] for r in results]
        else:
            values = [r.outcomes[j - n_params] for r in results]
        out[column.name] = np.array(
            values, dtype=np.bool_ if column.dtype == "bool" else np.float64
        )
    return out


class _Branch:
    """The state and processes of one running branch."""

    def __init__(
        self,
        model: CompiledModel,
        plan: _Plan,
        seed: int,
        branch: int,
        trace: Callable[[TraceRecord], None] | None,
    ) -> None:
        self.model = model
        self.plan = plan
        self.seed = seed
        self.branch = branch
        self.trace = trace
        self.env = simpy.Environment()
        self.v: list[Any] = [0.0] * model.n_slots
        self.horizon = model.horizon
        self.ctx = "parameters"
        self.t_end = model.horizon
        self.first_time: list[float | None] = [None] * len(plan.conditional)
        self.watchers: list[Callable[[], None]] = []
        self.flows: list[_Flow] = []
        self.ticks = 0

    # -- set-up -------------------------------------------------------------------------

    def rng(self, name: str, *parts: str) -> np.random.Generator:
        """The generator of the named process (or of a named part of it) in this branch."""
        return branch_generator(self.seed, self.branch, _PROCESS_STREAM, name, *parts)

    def _draw_parameters(self) -> None:
        v = self.v
        for p in self.model.parameters:
            if p.sampler is None:
                v[p.slot] = p.value
            else:
                v[p.slot] = p.sampler(
                    branch_generator(self.seed, self.branch, _PARAMETER_STREAM, p.name)
                )

    def _init_state(self) -> None:
        v = self.v
        for s in self.model.state:
            self.ctx = s.init.path
            value = s.init.fn(v)
            if s.type == "number":
                value = float(value)
                if s.lo is not None and value < s.lo:
                    value = s.lo
                if s.hi is not None and value > s.hi:
                    value = s.hi
            v[s.slot] = value

    def _start_processes(self) -> None:
        env = self.env
        events: list[_Event] = []
        triggers: list[_Trigger] = []
        for proc in self.model.processes:
            if isinstance(proc, CPeriodic):
                _Periodic(self, proc)
            elif isinstance(proc, CSchedule):
                _Schedule(self, proc)
            elif isinstance(proc, CEvent):
                events.append(_Event(self, proc))
            elif isinstance(proc, CTrigger):
                triggers.append(_Trigger(self, proc))
            else:
                self.flows.append(_Flow(self, proc))
        watchers: list[Callable[[], None]] = []
        for kind, i, _ in self.plan.readers:
            if kind == "event":
                watchers.append(events[i].on_change)
            elif kind == "trigger":
                watchers.append(triggers[i].check)
            elif kind == "flow":
                watchers.append(self.flows[i].on_change)
            elif kind == "outcome":
                watchers.append(self._outcome_checker(i))
            else:
                watchers.append(self._check_stop)
        self.watchers = watchers
        if self.plan.time_readers:
            self._next_tick()
        _Timer(env, self.horizon, _END_PRIORITY, StopSimulation.callback)

    # -- running ------------------------------------------------------------------------

    def run(self) -> BranchResult:
        """Run the branch to the horizon or ``stop_when`` and collect its row."""
        try:
            self._simulate()
            return self._result()
        except (ArithmeticError, ValueError) as error:
            raise RunError(self._located(error)) from None

    def _located(self, error: Exception) -> str:
        """One line for a run error: ``FILE:LINE:COL: PATH: message (branch, seed, time)``."""
        where = self.model.locations.get(self.ctx)
        file = self.model.file or self.model.name
        head = f"{file}:{where[0]}:{where[1]}" if where is not None else file
        return (
            f"{head}: {self.ctx}: {error} "
            f"(branch {self.branch}, seed {self.seed}, t={self.env.now:g})"
        )

    def _simulate(self) -> None:
        """Draw the parameters, set the state up and run until the horizon or ``stop_when``."""
        self._draw_parameters()
        self._init_state()
        if self.trace is not None:
            self._trace_start()
        self._start_processes()
        self.ctx = "start"
        try:
            for watch in self.watchers:  # conditions that already hold at t = 0
                watch()
        except StopSimulation:  # stop_when holds at t = 0
            return
        self.env.run()  # returns when the end event or stop_when raises StopSimulation

    def _trace_start(self) -> None:
        assert self.trace is not None
        for p in self.model.parameters:
            self.trace(TraceRecord(0.0, "parameters", "drawn", ((p.name, None, self.v[p.slot]),)))
        for s in self.model.state:
            self.trace(
                TraceRecord(0.0, "state", "initial value", ((s.name, None, self.v[s.slot]),))
            )

    def at(self, time: float, priority: int, callback: Callable[[simpy.Event], None]) -> None:
        """Call ``callback`` at the absolute ``time`` (not before now)."""
        now = self.env.now
        delay = time - now
        while now + delay < time:  # SimPy adds the delay to now: land on ``time`` exactly
            delay = math.nextafter(delay, _INF)
        while now + delay > time:
            delay = math.nextafter(delay, 0.0)
        _Timer(self.env, delay, priority, callback)

    def _next_tick(self) -> None:
        """Schedule the next resolution step: a multiple of the resolution, the horizon last."""
        step = self.model.resolution
        at = _grid_time(step, step, self.ticks, self.horizon)
        if at is None:
            if self.env.now >= self.horizon:
                return
            at = self.horizon
        self.ticks += 1
        self.at(at, _TICK_PRIORITY, self._tick)

    def _tick(self, _event: simpy.Event) -> None:
        self.v[0] = self.env.now
        self.ctx = "time resolution"
        watchers = self.watchers
        for i in self.plan.time_readers:
            watchers[i]()
        self._next_tick()

    def apply(self, effect: Effect, process: str, what: str) -> None:
        """Apply a ``set`` block now and wake whatever reads what it changed."""
        v = self.v
        v[0] = self.env.now
        self.ctx = effect.path
        if self.trace is None:
            changed = effect.fn(v)
        else:
            before = list(v)
            changed = effect.fn(v)
            names = self.model.slot_names
            self.trace(
                TraceRecord(
                    self.env.now, process, what, tuple((names[s], before[s], v[s]) for s in changed)
                )
            )
        if changed:
            watchers = self.watchers
            for i in self.plan.watchers_of(effect):
                watchers[i]()

    def note(self, process: str, what: str) -> None:
        """Report a happening without state change (only when tracing)."""
        if self.trace is not None:
            self.trace(TraceRecord(self.env.now, process, what))

    def delay(self, spec: CDelay, rng: np.random.Generator) -> float:
        """Draw a delay or duration; negative values are errors."""
        if spec.constant is not None:
            return spec.constant
        self.ctx = spec.path
        if spec.expr is not None:
            self.v[0] = self.env.now
            value = float(spec.expr.fn(self.v))
        else:
            assert spec.sampler is not None
            value = float(spec.sampler(rng))
        if not value >= 0:
            raise ValueError(f"a delay must be >= 0, got {value:g}")
        return value

    def chance(self, expr: CExpr, rng: np.random.Generator) -> bool:
        """Draw whether something with probability ``expr`` happens."""
        self.v[0] = self.env.now
        self.ctx = expr.path
        p = expr.fn(self.v)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a probability must be in [0, 1], got {p:g}")
        return bool(rng.random() < p)

    def _outcome_checker(self, k: int) -> Callable[[], None]:
        outcome = self.plan.conditional[k]
        assert outcome.when is not None
        fn, path = outcome.when.fn, outcome.when.path
        first = self.first_time
        v = self.v
        env = self.env

        def check() -> None:
            if first[k] is None:
                v[0] = env.now
                self.ctx = path
                if fn(v):
                    first[k] = env.now
                    self.note(outcome.name, "outcome condition holds")

        return check

    def _check_stop(self) -> None:
        stop = self.model.stop_when
        assert stop is not None
        self.v[0] = self.env.now
        self.ctx = stop.path
        if stop.fn(self.v):
            self.t_end = self.env.now
            self.note("stop_when", "branch stops")
            raise StopSimulation(None)

    def _result(self) -> BranchResult:
        v = self.v
        v[0] = self.t_end
        outcomes: list[Any] = []
        k = 0
        for outcome in self.model.outcomes:
            if outcome.kind == "probability":
                first = self.first_time[k]
                k += 1
                assert outcome.by is not None
                outcomes.append(first is not None and first <= outcome.by)
            elif outcome.kind == "time_to":
                first = self.first_time[k]
                k += 1
                outcomes.append(math.nan if first is None else first)
            elif outcome.kind == "value":
                assert outcome.expr is not None
                self.ctx = outcome.expr.path
                outcomes.append(float(outcome.expr.fn(v)))
            else:
                outcomes.append(self._flow_stat(outcome.flow, outcome.stage, outcome.stat))
        parameters = tuple(v[p.slot] for p in self.model.parameters)
        return BranchResult(self.branch, self.t_end, parameters, tuple(outcomes))

    def _flow_stat(self, flow: int | None, stage: int | None, stat: str | None) -> float:
        proc = self.model.processes[flow or 0]
        found = next(f for f in self.flows if f.spec is proc)
        return found.stat(stage, stat or "completed", self.t_end)


class _Periodic:
    """Applies its effect at ``first``, ``first + every``, ..."""

    __slots__ = ("branch", "k", "spec")

    def __init__(self, branch: _Branch, spec: CPeriodic) -> None:
        self.branch, self.spec, self.k = branch, spec, 0
        self._schedule()

    def _schedule(self) -> None:
        spec = self.spec
        at = _grid_time(spec.first, spec.every, self.k, self.branch.horizon)
        if at is not None:
            self.branch.at(at, _PROCESS_PRIORITY + spec.index, self._fire)

    def _fire(self, _event: simpy.Event) -> None:
        self.k += 1
        self._schedule()
        self.branch.apply(self.spec.effect, self.spec.name, "periodic update")


class _Schedule:
    """Applies its effect at each listed time."""

    __slots__ = ("branch", "spec")

    def __init__(self, branch: _Branch, spec: CSchedule) -> None:
        self.branch, self.spec = branch, spec
        for at in spec.times:  # sorted, so equal times keep the order of the list
            if at <= branch.horizon:
                branch.at(at, _PROCESS_PRIORITY + spec.index, self._fire)

    def _fire(self, _event: simpy.Event) -> None:
        self.branch.apply(self.spec.effect, self.spec.name, "scheduled")


class _Hazard:
    """A Poisson clock whose intensity follows the state exactly (next-reaction method).

    It keeps the unit-exponential hazard still to be consumed; when the rate changes, the
    remaining hazard is carried over, which is exact by memorylessness and draws no new
    random numbers.
    """

    __slots__ = ("branch", "fire_at", "pending", "priority", "rate", "rate_of", "rest", "rng")

    def __init__(
        self,
        branch: _Branch,
        rng: np.random.Generator,
        rate_of: Callable[[], float],
        index: int,
    ) -> None:
        self.branch, self.rng, self.rate_of = branch, rng, rate_of
        self.priority = _PROCESS_PRIORITY + index
        self.rate = 0.0
        self.rest = rng.exponential()
        self.fire_at = _INF
        self.pending: simpy.Event | None = None

    def start(self) -> None:
        self.rate = self._current_rate()
        self._reschedule()

    def _current_rate(self) -> float:
        rate = float(self.rate_of())
        if not 0.0 <= rate < _INF:  # an infinite rate would fire forever at one instant
            raise ValueError(f"a rate must be finite and >= 0, got {rate:g}")
        return rate

    def _reschedule(self) -> None:
        self.pending = None
        if self.rate > 0.0:
            env = self.branch.env
            delay = self.rest / self.rate
            self.fire_at = env.now + delay  # the time SimPy computes for the event
            if self.fire_at <= self.branch.horizon:
                self.pending = _Timer(env, delay, self.priority, self._due)
        else:
            self.fire_at = _INF

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
        self.fire_at = _INF
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


class _Event(_Hazard):
    __slots__ = ("count", "spec")

    def __init__(self, branch: _Branch, spec: CEvent) -> None:
        v = branch.v
        rate = spec.rate.fn
        env = branch.env

        def rate_of() -> float:
            v[0] = env.now
            branch.ctx = spec.rate.path
            return float(rate(v))

        super().__init__(branch, branch.rng(spec.name), rate_of, spec.index)
        self.spec, self.count = spec, 0
        self.start()

    def fired(self) -> None:
        self.count += 1
        if self.spec.max_count is not None and self.count >= self.spec.max_count:
            self.stop()
        self.branch.apply(self.spec.effect, self.spec.name, f"event #{self.count}")


class _Trigger:
    """Fires its effect ``delay`` after ``when`` becomes true."""

    __slots__ = ("branch", "done", "held", "pending", "rng", "spec")

    def __init__(self, branch: _Branch, spec: CTrigger) -> None:
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
                _Timer(branch.env, wait, _PROCESS_PRIORITY + self.spec.index, self._fire)
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


class _Flow(_Hazard):
    """Entities arrive and pass through capacity-limited stages (one Resource each)."""

    __slots__ = (
        "arrived",
        "completed",
        "every_k",
        "lost",
        "resources",
        "spec",
        "stage_entered",
        "stage_lost",
        "stage_max_queue",
        "stage_rngs",
        "stage_served",
        "stage_time",
        "stage_wait",
        "system_time",
        "waits",
    )

    def __init__(self, branch: _Branch, spec: CFlow) -> None:
        v = branch.v
        env = branch.env
        rng = branch.rng(spec.name)
        rate, gate = spec.rate, spec.gate

        def rate_of() -> float:
            v[0] = env.now
            if gate is not None:
                branch.ctx = gate.path
                if not gate.fn(v):
                    return 0.0
            assert rate is not None
            branch.ctx = rate.path
            return float(rate.fn(v))

        super().__init__(branch, rng, rate_of, spec.index)
        self.spec = spec
        self.every_k = 0
        n = len(spec.stages)
        self.resources = [simpy.Resource(env, self._capacity(i)) for i in range(n)]
        self.stage_rngs = [branch.rng(spec.name, stage.name) for stage in spec.stages]
        self.arrived = self.completed = self.lost = 0
        self.waits = 0.0
        self.system_time = 0.0
        self.stage_wait = [0.0] * n
        self.stage_time = [0.0] * n
        self.stage_served = [0] * n
        self.stage_entered = [0] * n
        self.stage_lost = [0] * n
        self.stage_max_queue = [0] * n
        if spec.rate is not None:
            self.start()
        else:
            self._next_arrival()

    def _capacity(self, i: int) -> int:
        stage = self.spec.stages[i]
        self.branch.ctx = stage.capacity.path
        value = stage.capacity.fn(self.branch.v)
        capacity = round(float(value))
        if capacity < 1:
            raise ValueError(f"a capacity must be >= 1, got {value:g}")
        return capacity

    def _next_arrival(self) -> None:
        """Schedule the next fixed-interval arrival, at ``every * k``, unless ``max`` is reached."""
        spec = self.spec
        assert spec.every is not None
        if spec.max_arrivals is not None and self.arrived >= spec.max_arrivals:
            return
        at = _grid_time(spec.every, spec.every, self.every_k, self.branch.horizon)
        if at is not None:
            self.every_k += 1
            self.branch.at(at, self.priority, self._tick)

    def _tick(self, _event: simpy.Event) -> None:
        gate = self.spec.gate
        branch = self.branch
        if gate is None:
            self._arrive()
        else:
            branch.v[0] = branch.env.now
            branch.ctx = gate.path
            if gate.fn(branch.v):  # a closed gate skips this arrival: it uses up no `max`
                self._arrive()
        self._next_arrival()

    def fired(self) -> None:
        if self.spec.max_arrivals is not None and self.arrived + 1 >= self.spec.max_arrivals:
            self.stop()
        self._arrive()

    def _arrive(self) -> None:
        self.arrived += 1
        self.branch.note(self.spec.name, f"entity {self.arrived} arrives")
        _Entity(self, self.branch.env.now)

    def finish(self, entity: _Entity, lost: bool) -> None:
        branch = self.branch
        if lost:
            self.lost += 1
            if self.spec.on_loss is not None:
                branch.apply(self.spec.on_loss, self.spec.name, f"entity lost at {entity.where()}")
            else:
                branch.note(self.spec.name, f"entity lost at {entity.where()}")
        else:
            self.completed += 1
            self.waits += entity.waited
            self.system_time += branch.env.now - entity.arrival
            if self.spec.on_complete is not None:
                branch.apply(self.spec.on_complete, self.spec.name, "entity completes")
            else:
                branch.note(self.spec.name, "entity completes")

    def stat(self, stage: int | None, stat: str, t_end: float) -> float:
        """A statistic of the flow, or of one stage, at the end of the branch."""
        if stage is None:
            if stat == "arrived":
                return float(self.arrived)
            if stat == "completed":
                return float(self.completed)
            if stat == "lost":
                return float(self.lost)
            if stat == "mean_wait":
                return self.waits / self.completed if self.completed else math.nan
            if stat == "mean_time_in_system":
                return self.system_time / self.completed if self.completed else math.nan
            return float(max(self.stage_max_queue))
        served = self.stage_served[stage]
        if stat == "arrived":
            return float(self.stage_entered[stage])
        if stat == "completed":
            return float(served - self.stage_lost[stage])
        if stat == "lost":
            return float(self.stage_lost[stage])
        if stat == "mean_wait":
            return self.stage_wait[stage] / served if served else math.nan
        if stat == "mean_time_in_system":
            return self.stage_time[stage] / served if served else math.nan
        return float(self.stage_max_queue[stage])


class _Entity:
    """One entity moving through the stages of a flow, driven by callbacks."""

    __slots__ = ("arrival", "flow", "request", "requested", "stage", "wait_here", "waited")

    def __init__(self, flow: _Flow, now: float) -> None:
        self.flow, self.arrival, self.stage, self.waited = flow, now, 0, 0.0
        self.wait_here = 0.0
        self.request: Any = None
        self.requested = now
        self._enter()

    def where(self) -> str:
        return self.flow.spec.stages[self.stage].name

    def _enter(self) -> None:
        flow = self.flow
        resource = flow.resources[self.stage]
        self.requested = flow.branch.env.now
        flow.stage_entered[self.stage] += 1
        self.request = resource.request()
        queue = len(resource.queue)
        flow.stage_max_queue[self.stage] = max(flow.stage_max_queue[self.stage], queue)
        self.request.callbacks.append(self._serve)

    def _serve(self, _event: simpy.Event) -> None:
        flow = self.flow
        env = flow.branch.env
        wait = env.now - self.requested
        self.waited += wait
        self.wait_here = wait
        stage = flow.spec.stages[self.stage]
        duration = flow.branch.delay(stage.duration, flow.stage_rngs[self.stage])
        _Timer(env, duration, flow.priority, self._done)

    def _done(self, _event: simpy.Event) -> None:
        flow = self.flow
        branch = flow.branch
        flow.resources[self.stage].release(self.request)
        # waits and times count when an entity leaves the stage, like the count they divide by
        flow.stage_served[self.stage] += 1
        flow.stage_wait[self.stage] += self.wait_here
        flow.stage_time[self.stage] += branch.env.now - self.requested
        stage = flow.spec.stages[self.stage]
        if stage.loss is not None and branch.chance(stage.loss, flow.stage_rngs[self.stage]):
            flow.stage_lost[self.stage] += 1
            flow.finish(self, lost=True)
            return
        self.stage += 1
        if self.stage < len(flow.spec.stages):
            self._enter()
        else:
            self.stage -= 1
            flow.finish(self, lost=False)
