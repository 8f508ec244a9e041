"""The SimPy engine: runs one branch of a compiled model on a SimPy environment.

This subpackage is the only code that imports simpy. Processes are driven by event callbacks
rather than generator processes, which keeps the per-event cost close to hand-written
SimPy code. Every change of state goes through :meth:`Branch.apply`, which re-checks
exactly the rates and conditions that read the slots the change wrote (and those that
read ``t``), so event intensities follow the state exactly and outcome conditions record
the first time they hold. Processes due at the same time act in file order; regular times
(periodic, fixed-interval arrivals, resolution steps) are ``first + k * every``, never sums.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy
from simpy.core import StopSimulation

from sim.engine.common import (
    PROCESS_STREAM,
    SERIES,
    BranchResult,
    TraceRecord,
    branch_generator,
    columns_of,
    draw_parameters,
    grid_time,
    located,
    snap,
)
from sim.engine.simpy.flow import Flow
from sim.engine.simpy.processes import Event, Periodic, Schedule, Trigger
from sim.engine.simpy.record import Recorder
from sim.engine.simpy.timer import END_PRIORITY, INF, TICK_PRIORITY, Timer
from sim.engine.simpy.tracking import OutcomePlan, Tracker
from sim.errors import RunError
from sim.model.compiled import (
    CDelay,
    CDraw,
    CEvent,
    CExpr,
    CFlow,
    CompiledModel,
    COutcome,
    CPeriodic,
    CSchedule,
    CTrigger,
    Effect,
)

__all__ = ["Branch", "run_branch", "run_branches"]


def _shown(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f"{value:.6g}"


class Plan:
    """Per-model wiring, computed once: which watchers each effect must wake."""

    def __init__(self, model: CompiledModel) -> None:
        self.model = model
        events = [p for p in model.processes if isinstance(p, CEvent)]
        triggers = [p for p in model.processes if isinstance(p, CTrigger)]
        flows = [p for p in model.processes if isinstance(p, CFlow)]
        self.outcomes = OutcomePlan(model)
        # Watcher ids: ("event", i), ("trigger", i), ("flow", i), the outcomes' ("first", i),
        # ("rise", i) and ("end", i), and ("stop", 0) last, so that every outcome sees the
        # change that stops a branch.
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
        self.readers += self.outcomes.readers
        if model.stop_when is not None:
            self.readers.append(("stop", 0, model.stop_when.reads))
        self.events, self.triggers, self.flows = events, triggers, flows
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
    plan = Plan(model)
    results = [Branch(model, plan, seed, b, None).run() for b in range(start, stop)]
    columns = columns_of(model, seed, results)
    if model.record is not None:
        shape = (len(model.record.exprs), len(model.record.times))
        series = [r.series for r in results if r.series is not None]
        columns[SERIES] = np.stack(series) if series else np.empty((0, *shape))
    return columns


def run_branch(
    model: CompiledModel,
    seed: int,
    branch: int,
    trace: Callable[[TraceRecord], None] | None = None,
) -> BranchResult:
    """Run one branch alone; with ``trace``, report every event, firing and state change."""
    return Branch(model, Plan(model), seed, branch, trace).run()


class Branch:
    """The state and processes of one running branch."""

    def __init__(
        self,
        model: CompiledModel,
        plan: Plan,
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
        self.tracker = Tracker(self, plan.outcomes)
        self.counting = bool(plan.outcomes.counted)
        self.recorder = None if model.record is None else Recorder(self, model.record)
        self.next_sample = INF if self.recorder is None else self.recorder.next_at
        self.watchers: list[Callable[[], None]] = []
        self.flows: list[Flow] = []
        self.ticks = 0
        self.experts: tuple[str | None, ...] = ()
        self.draw_rngs: dict[int, np.random.Generator] = {}

    # -- set-up -------------------------------------------------------------------------

    def rng(self, name: str, *parts: str) -> np.random.Generator:
        """The generator of the named process (or of a named part of it) in this branch."""
        return branch_generator(self.seed, self.branch, PROCESS_STREAM, name, *parts)

    def _draw_parameters(self) -> None:
        self.experts = draw_parameters(self.model, self.seed, self.branch, self.v, self._at)

    def _at(self, ctx: str) -> None:
        self.ctx = ctx

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
        events: list[Event] = []
        triggers: list[Trigger] = []
        for proc in self.model.processes:
            if isinstance(proc, CPeriodic):
                Periodic(self, proc)
            elif isinstance(proc, CSchedule):
                Schedule(self, proc)
            elif isinstance(proc, CEvent):
                events.append(Event(self, proc))
            elif isinstance(proc, CTrigger):
                triggers.append(Trigger(self, proc))
            else:
                self.flows.append(Flow(self, proc))
        watchers: list[Callable[[], None]] = []
        for kind, i, _ in self.plan.readers:
            if kind == "event":
                watchers.append(events[i].on_change)
            elif kind == "trigger":
                watchers.append(triggers[i].check)
            elif kind == "flow":
                watchers.append(self.flows[i].on_change)
            elif kind == "stop":
                watchers.append(self._check_stop)
            else:
                watchers.append(self.tracker.watcher(kind, i))
        self.watchers = watchers
        if self.plan.time_readers:
            self._next_tick()
        Timer(env, self.horizon, END_PRIORITY, StopSimulation.callback)

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
        return f"{located(self.model, self.ctx, error)} " + (
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
        origins = self.model.origins
        for i, p in enumerate(self.model.parameters):
            change = ((p.name, None, self.v[p.slot]),)
            where = origins.get(f"parameters.{p.name}", "")
            expert = self.experts[i] if self.experts else None
            what = "drawn" if expert is None else f"drawn (expert {expert})"
            self.trace(TraceRecord(0.0, "parameters", what, change, where))
        for s in self.model.state:
            self.trace(
                TraceRecord(0.0, "state", "initial value", ((s.name, None, self.v[s.slot]),))
            )

    def at(self, time: float, priority: int, callback: Callable[[simpy.Event], None]) -> None:
        """Call ``callback`` at the absolute ``time`` (not before now)."""
        now = self.env.now
        delay = time - now
        while now + delay < time:  # SimPy adds the delay to now: land on ``time`` exactly
            delay = math.nextafter(delay, INF)
        while now + delay > time:
            delay = math.nextafter(delay, 0.0)
        Timer(self.env, delay, priority, callback)

    def _next_tick(self) -> None:
        """Schedule the next resolution step: a multiple of the resolution, the horizon last."""
        step = self.model.resolution
        at = grid_time(step, step, self.ticks, self.horizon)
        if at is None:
            if self.env.now >= self.horizon:
                return
            at = self.horizon
        self.ticks += 1
        self.at(at, TICK_PRIORITY, self._tick)

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
        now = self.env.now
        if now > self.next_sample:  # sample times passed since the last change
            assert self.recorder is not None
            self.recorder.until(now)
            self.next_sample = self.recorder.next_at
        if self.counting:
            self.tracker.fired(effect, now)
        v[0] = now
        if effect.draws:
            self._draw(effect.draws)
            if self.trace is not None:
                drawn = ", ".join(f"{d.name}={_shown(v[d.slot])}" for d in effect.draws)
                what = f"{what} ({drawn})"
        self.ctx = effect.path
        if self.trace is None:
            changed = effect.fn(v)
        else:
            before = list(v)
            changed = effect.fn(v)
            names = self.model.slot_names
            changes = tuple((names[s], before[s], v[s]) for s in changed)
            where = self.model.origins.get(f"processes.{process}", "")
            self.trace(TraceRecord(self.env.now, process, what, changes, where))
        if changed:
            watchers = self.watchers
            for i in self.plan.watchers_of(effect):
                watchers[i]()

    def _draw(self, draws: tuple[CDraw, ...]) -> None:
        """Draw a process's ``draws`` into their slots, each from its own stream."""
        v = self.v
        for d in draws:
            rng = self.draw_rngs.get(d.slot)
            if rng is None:
                rng = self.draw_rngs[d.slot] = self.rng(d.process, "draws", d.name)
            self.ctx = d.path
            if d.sampler is not None:
                v[d.slot] = d.sampler(rng)
            else:
                assert d.draw is not None  # the compiler sets one of the two
                v[d.slot] = d.draw(rng, v)

    def note(self, process: str, what: str) -> None:
        """Report a happening without state change (only when tracing)."""
        if self.trace is not None:
            where = self.model.origins.get(f"processes.{process}", "")
            self.trace(TraceRecord(self.env.now, process, what, (), where))

    def delay(self, spec: CDelay, rng: np.random.Generator) -> float:
        """Draw a delay or duration; negative values are errors."""
        if spec.constant is not None:
            return spec.constant
        self.ctx = spec.path
        if spec.expr is not None:
            self.v[0] = self.env.now
            value = self.within(float(spec.expr.fn(self.v)), spec.expr, 0.0)
        elif spec.draw is not None:
            self.v[0] = self.env.now
            value = float(spec.draw(rng, self.v))
        else:
            assert spec.sampler is not None
            value = float(spec.sampler(rng))
        if not value >= 0:
            raise ValueError(f"a delay must be >= 0, got {value:g}")
        return value

    def within(self, value: float, expr: CExpr, low: float, high: float | None = None) -> float:
        """Return ``value`` of ``expr``, or the bound it passes only by floating-point rounding.

        Out of range by no more than :data:`~sim.engine.common.ROUNDING` times the size of
        the expression's terms, a value is the bound it meant; further out, it stays, and
        the caller refuses it. Only values out of range are looked at twice.
        """
        if (value < low or (high is not None and value > high)) and expr.size is not None:
            return snap(value, expr.size(self.v), low, high)
        return value

    def chance(self, expr: CExpr, rng: np.random.Generator) -> bool:
        """Draw whether something with probability ``expr`` happens."""
        self.v[0] = self.env.now
        self.ctx = expr.path
        p = self.within(float(expr.fn(self.v)), expr, 0.0, 1.0)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a probability must be in [0, 1], got {p:g}")
        return bool(rng.random() < p)

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
        series = None if self.recorder is None else self.recorder.finish(self.t_end)
        self.v[0] = self.t_end
        outcomes = self.tracker.values()
        parameters = tuple(self.v[p.slot] for p in self.model.parameters)
        return BranchResult(
            self.branch, self.t_end, parameters, outcomes, series, self.experts
        )

    def end_value(self, outcome: COutcome) -> float:
        """The value of a ``value`` or ``flow`` outcome at the end of the branch."""
        if outcome.kind == "flow":
            return self._flow_stat(outcome.flow, outcome.stage, outcome.stat)
        assert outcome.expr is not None
        self.v[0] = self.t_end
        self.ctx = outcome.expr.path
        return float(outcome.expr.fn(self.v))

    def _flow_stat(self, flow: int | None, stage: int | None, stat: str | None) -> float:
        proc = self.model.processes[flow or 0]
        found = next(f for f in self.flows if f.spec is proc)
        return found.stat(stage, stat or "completed", self.t_end)
