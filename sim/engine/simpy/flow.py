"""Flows on a SimPy branch: entities arriving and passing capacity-limited FIFO stages.

Each stage is a ``simpy.Resource``; arrivals are Poisson (sharing the hazard machinery of
events, so a state-dependent rate is exact) or at a fixed interval; each entity may be lost
at a stage with the stage's ``loss`` probability.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import simpy

from sim.engine.common import grid_time
from sim.engine.simpy.processes import Hazard
from sim.engine.simpy.timer import Timer
from sim.model.compiled import (
    CFlow,
)

if TYPE_CHECKING:
    from sim.engine.simpy.branch import Branch


class Flow(Hazard):
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

    def __init__(self, branch: Branch, spec: CFlow) -> None:
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
            value = float(rate.fn(v))
            return branch.within(value, rate, 0.0) if value < 0.0 else value

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
        at = grid_time(spec.every, spec.every, self.every_k, self.branch.horizon)
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
        Entity(self, self.branch.env.now)

    def finish(self, entity: Entity, lost: bool) -> None:
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


class Entity:
    """One entity moving through the stages of a flow, driven by callbacks."""

    __slots__ = ("arrival", "flow", "request", "requested", "stage", "wait_here", "waited")

    def __init__(self, flow: Flow, now: float) -> None:
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
        Timer(env, duration, flow.priority, self._done)

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
