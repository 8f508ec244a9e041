"""Compiling processes: periodic updates, events, triggers, schedules and flows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.format.expr import Type
from sim.format.scenario import (
    EventProcess,
    FlowProcess,
    PeriodicProcess,
    Process,
    ScheduleProcess,
    TriggerProcess,
)
from sim.model.compiled import (
    CDraw,
    CEvent,
    CFlow,
    CPeriodic,
    CProcess,
    CSchedule,
    CStage,
    CTrigger,
)
from sim.model.compiler import Core, NodePath, as_source
from sim.model.variants import inert

__all__ = [
    "ProcessSection",
]


class ProcessSection(Core):
    """Compiling processes: periodic updates, events, triggers, schedules and flows."""

    def processes(
        self, changes: Mapping[int, tuple[Process, bool]] | None = None
    ) -> tuple[CProcess, ...]:
        """Compile the processes; their names are unique.

        ``changes`` are a variant's: process ``i`` as the variant makes it, and whether it
        is on (one switched off compiles to an inert process).
        """
        seen: dict[str, int] = {}
        compiled: list[CProcess] = []
        for i, process in enumerate(self.s.processes):
            if process.name in seen:
                self.report(
                    ("processes", i, "name"),
                    f"duplicate process name {process.name!r} (processes[{seen[process.name]}])",
                )
            seen.setdefault(process.name, i)
            changed, enabled = (changes or {}).get(i, (process, True))
            c = self.process(changed, i)
            compiled.append(c if enabled else inert(c))
        return tuple(compiled)

    def process(self, p: Process, i: int) -> CProcess:
        """Compile one process."""
        base: NodePath = ("processes", i)
        draws = self.draws(p.name, p.draws, (*base, "draws"))
        if isinstance(p, PeriodicProcess):
            first = p.every if p.first is None else self.time(p.first, (*base, "first"), "first")
            effect = self.effect(p.set, (*base, "set"), draws)
            return CPeriodic(p.name, i, p.every, first or 0.0, effect)
        if isinstance(p, EventProcess):
            rate = self.bounded(p.rate, (*base, "rate"), "a rate", 0.0)
            return CEvent(p.name, i, rate, self.effect(p.set, (*base, "set"), draws), p.max_count)
        if isinstance(p, TriggerProcess):
            when = self.expr(p.when, (*base, "when"), Type.BOOL)
            delay = self.delay(p.delay, (*base, "delay"), "a delay")
            chance = None
            if p.chance is not None:
                chance = self.bounded(p.chance, (*base, "chance"), "a chance", 0.0, 1.0)
            effect = self.effect(p.set, (*base, "set"), draws)
            return CTrigger(p.name, i, when, delay, chance, effect, p.cancel_if_false, p.repeat)
        if isinstance(p, ScheduleProcess):
            times = self.schedule_times(p.at, (*base, "at"))
            return CSchedule(p.name, i, times, self.effect(p.set, (*base, "set"), draws))
        return self.flow(p, i, draws)

    def schedule_times(self, at: Any, path: NodePath) -> tuple[float, ...]:
        """The times of a schedule, in order."""
        if not isinstance(at, list):
            t = self.time(at, path, "at")
            return () if t is None else (t,)
        times = (self.time(a, (*path, k), "at") for k, a in enumerate(at))
        return tuple(sorted(t for t in times if t is not None))

    def flow(self, p: FlowProcess, i: int, draws: tuple[CDraw, ...] = ()) -> CFlow:
        """Compile a flow: arrivals, stages (names unique in the flow), effects."""
        base: NodePath = ("processes", i)
        arrivals = p.arrivals
        rate = gate = None
        if arrivals.rate is not None:
            rate = self.bounded(arrivals.rate, (*base, "arrivals", "rate"), "a rate", 0.0)
        if arrivals.while_ is not None:
            gate = self.expr(arrivals.while_, (*base, "arrivals", "while"), Type.BOOL)
        seen: set[str] = set()
        stages: list[CStage] = []
        parameters = {n: self.types[n] for n in self.s.parameters}
        for k, stage in enumerate(p.stages):
            path: NodePath = (*base, "stages", k)
            if stage.name in seen:
                self.report(
                    (*path, "name"), f"duplicate stage name {stage.name!r} in flow {p.name!r}"
                )
            seen.add(stage.name)
            capacity = self.expr(
                as_source(stage.capacity),
                (*path, "capacity"),
                Type.NUMBER,
                only=parameters,
                what="a capacity",
            )
            if isinstance(capacity.constant, float) and capacity.constant < 1:
                self.report(
                    (*path, "capacity"), f"capacity must be >= 1, got {capacity.constant:g}"
                )
            duration = self.delay(stage.duration, (*path, "duration"), "a duration")
            loss = None
            if stage.loss is not None:
                loss = self.bounded(stage.loss, (*path, "loss"), "a loss", 0.0, 1.0)
            stages.append(CStage(stage.name, capacity, duration, loss))
        on_complete = on_loss = None
        if p.on_complete is not None:
            on_complete = self.effect(p.on_complete, (*base, "on_complete"), draws)
        if p.on_loss is not None:
            on_loss = self.effect(p.on_loss, (*base, "on_loss"), draws)
        return CFlow(
            p.name, i, rate, arrivals.every, gate, arrivals.max, tuple(stages), on_complete, on_loss
        )
