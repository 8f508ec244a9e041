"""Flows in the batch engine: arrivals, capacity-limited FIFO stages, loss, effects.

Per lane, a flow keeps the time of its next arrival and, per stage, one column per
server in service (their completion times, inf when free, widened when needed) and a
FIFO queue as a ring buffer (widened when full). The flow's column of ``T`` holds the
earliest of these times; entities of one flow due at the same time go in the order they
were scheduled, as in SimPy.

SimPy grants a free server through events processed right after the callback that
asked (a release is processed, then the grant): so the service of the entity that just
moved on to the next stage is scheduled before that of the entity taken from the queue
of the stage it left, and both after everything the callback itself scheduled. The
:meth:`Flow._complete` below follows the same order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.engine.batch.core import Batch, grid_times
from sim.engine.batch.lanes import LaneOp
from sim.engine.batch.processes import Hazard
from sim.engine.batch.servers import FifoServers, Record, Ring, Slots
from sim.model.compiled import CFlow, CompiledModel

__all__ = ["Flow"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_INF = math.inf
_LAST = np.iinfo(np.int64).max


class _Needs:
    """What a flow keeps because an outcome reads it: statistics, and the entity fields
    they are computed from (arrival time, wait so far, request time at the stage, wait
    at the stage)."""

    def __init__(self, model: CompiledModel, spec: CFlow) -> None:
        wanted = {
            (o.stage, o.stat or "completed")
            for o in model.outcomes
            if o.kind == "flow" and model.processes[o.flow or 0] is spec
        }
        stages = range(len(spec.stages))
        self.entered = [(s, "arrived") in wanted for s in stages]
        self.served = [
            any((s, x) in wanted for x in ("completed", "mean_wait", "mean_time_in_system"))
            for s in stages
        ]
        self.stage_lost = [any((s, x) in wanted for x in ("completed", "lost")) for s in stages]
        self.wait_sum = [(s, "mean_wait") in wanted for s in stages]
        self.time_sum = [(s, "mean_time_in_system") in wanted for s in stages]
        every = (None, "max_queue") in wanted
        self.max_queue = [every or (s, "max_queue") in wanted for s in stages]
        self.completed = any(
            (None, x) in wanted for x in ("completed", "mean_wait", "mean_time_in_system")
        )
        self.lost = (None, "lost") in wanted
        self.waits = (None, "mean_wait") in wanted
        self.system_time = (None, "mean_time_in_system") in wanted
        self.arrival = self.system_time
        self.waited = self.waits
        self.here = any(self.wait_sum)
        self.req = self.here or self.waited or any(self.time_sum)
        # what an entity carries from stage to stage, and what a server or queue keeps
        self.carried = tuple(f for f in ("arrival", "waited") if getattr(self, f))
        self.queued = (*self.carried, *(("req",) if self.req else ()))
        self.service = (
            "t", "seq", *self.queued, *(("here",) if self.here else ())
        )  # fmt: skip


class _Stage:
    """Capacity, servers, queue and statistics of one stage, per lane."""

    def __init__(self, n: int, fifo: bool, needs: _Needs) -> None:
        self.cap = np.ones(n, dtype=np.int64)
        self.busy = np.zeros(n, dtype=np.int64)  # servers granted (in service or about to be)
        self.servers: FifoServers | Slots = (
            FifoServers(n, needs.service) if fifo else Slots(n, needs.service)
        )
        self.queue = Ring(n, needs.queued)
        self.entered = np.zeros(n, dtype=np.int64)
        self.served = np.zeros(n, dtype=np.int64)
        self.lost = np.zeros(n, dtype=np.int64)
        self.wait_sum = np.zeros(n)
        self.time_sum = np.zeros(n)
        self.max_queue = np.zeros(n, dtype=np.int64)

    def resize(self, op: LaneOp) -> None:
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(self, name, op(value, 1 if name == "cap" else 0))
        self.servers.resize(op)
        self.queue.resize(op)


class Flow:
    """Entities arriving (Poisson ``rate`` or fixed ``every``) and passing the stages."""

    def __init__(self, batch: Batch, spec: CFlow) -> None:
        self.batch, self.spec = batch, spec
        self.col = 1 + spec.index
        plan = batch.plan
        n = batch.n
        self.stream = plan.stream(spec.name)
        self.stage_streams = [plan.stream(spec.name, stage.name) for stage in spec.stages]
        self.capacities = [plan.expr(stage.capacity) for stage in spec.stages]
        self.durations = [plan.delay(stage.duration) for stage in spec.stages]
        self.losses = [plan.expr(s.loss) if s.loss is not None else None for s in spec.stages]
        self.on_complete = plan.effect(spec.on_complete) if spec.on_complete else None
        self.on_loss = plan.effect(spec.on_loss) if spec.on_loss else None
        self.rate = plan.expr(spec.rate) if spec.rate is not None else None
        self.gate = plan.expr(spec.gate) if spec.gate is not None else None
        parameters = frozenset(p.slot for p in batch.model.parameters)
        self.needs = needs = _Needs(batch.model, spec)
        self.stages = [
            _Stage(n, _fifo(stage.duration, parameters), needs) for stage in spec.stages
        ]
        self.firing = False
        self.arr_t = np.full(n, _INF)
        self.arr_seq = np.zeros(n, dtype=np.int64)
        self.seq = np.zeros(n, dtype=np.int64)
        self.every_k = np.zeros(n, dtype=np.int64)
        self.which = np.zeros(n, dtype=np.int64)  # -1: an arrival, else the stage
        self.arrived = np.zeros(n, dtype=np.int64)
        self.completed = np.zeros(n, dtype=np.int64)
        self.lost = np.zeros(n, dtype=np.int64)
        self.waits = np.zeros(n)
        self.system_time = np.zeros(n)
        self.hazard: Hazard | None = None
        if spec.rate is not None:
            assert self.rate is not None
            self.hazard = Hazard(
                batch,
                self.stream,
                self._rate_of,
                self.rate.path,
                self._timer,
                spec.max_arrivals is not None,
            )

    # -- arrivals ---------------------------------------------------------------------------

    def _rate_of(self, lanes: Ints) -> Floats:
        batch = self.batch
        assert self.rate is not None
        if self.gate is None:
            rate = np.asarray(batch.value(self.rate, lanes), dtype=np.float64)
            return batch.within(rate, self.rate, lanes, 0.0)
        rate = np.zeros(len(lanes))
        open_ = np.asarray(batch.value(self.gate, lanes), dtype=bool)
        if open_.any():
            some = lanes[open_]
            found = np.asarray(batch.value(self.rate, some), dtype=np.float64)
            rate[open_] = batch.within(found, self.rate, some, 0.0)
        return rate

    def _timer(self, lanes: Ints, at: Floats) -> None:
        self.arr_t[lanes] = at
        self.arr_seq[lanes] = self.seq[lanes]
        self.seq[lanes] += 1
        if not self.firing:
            self._refresh(lanes)

    def on_change(self, lanes: Ints) -> None:
        """A watcher: what the arrival rate (or its gate) reads has changed."""
        assert self.hazard is not None
        self.hazard.on_change(lanes)

    def start(self, lanes: Ints) -> None:
        batch = self.batch
        for stage, capacity in zip(self.stages, self.capacities, strict=True):
            value = np.asarray(batch.value(capacity, lanes), dtype=np.float64)
            rounded = np.round(value)
            bad = ~(rounded >= 1)
            if bad.any():
                batch.fail_message(lanes[bad], capacity.path, value[bad], _capacity_message)
            stage.cap[lanes] = np.where(bad, 1, rounded).astype(np.int64)
            lanes = batch.live(lanes)
        if self.hazard is not None:
            self.hazard.start(lanes)
        else:
            self._next_arrival(lanes)

    def _next_arrival(self, lanes: Ints) -> None:
        """Schedule the next fixed-interval arrival, at ``every * k``, unless ``max`` is reached."""
        spec = self.spec
        assert spec.every is not None
        at = grid_times(spec.every, spec.every, self.every_k[lanes], self.batch.horizon)
        if spec.max_arrivals is not None:
            at = np.where(self.arrived[lanes] >= spec.max_arrivals, _INF, at)
        self.every_k[lanes] += np.isfinite(at)
        self._timer(lanes, at)

    def _arrivals(self, lanes: Ints) -> None:
        batch = self.batch
        spec = self.spec
        if self.hazard is not None:
            self.hazard.due(lanes)
            if spec.max_arrivals is not None:
                ended = self.arrived[lanes] + 1 >= spec.max_arrivals
                if ended.any():
                    self.hazard.stop(lanes[ended])
            granted = self._arrive(lanes)
        else:
            arriving = lanes
            if self.gate is not None:
                open_ = np.asarray(batch.value(self.gate, lanes), dtype=bool)
                arriving = lanes[open_]
                if batch.step_gone:
                    lanes, arriving = batch.live(lanes), batch.live(arriving)
            granted = self._arrive(arriving)
            self._next_arrival(lanes)
        self._serve(0, *granted)

    def _arrive(self, lanes: Ints) -> tuple[Ints, Record]:
        self.arrived[lanes] += 1
        if self.batch.trace is not None and len(lanes):
            self.batch.note(self.spec.name, f"entity {self.arrived[0]} arrives")
        carry: Record = {}
        if self.needs.arrival:
            carry["arrival"] = self.batch.clock[lanes]
        if self.needs.waited:
            carry["waited"] = np.zeros(len(lanes))
        return self._enter(0, lanes, carry)

    # -- stages -----------------------------------------------------------------------------

    def _enter(self, s: int, lanes: Ints, carry: Record) -> tuple[Ints, Record]:
        """Entities (with what they carry) request a server of stage ``s``: return those
        granted one at once, with what they carry and their request time when kept."""
        stage = self.stages[s]
        needs = self.needs
        if needs.entered[s]:
            stage.entered[lanes] += 1
        if needs.req:
            carry = {**carry, "req": self.batch.clock[lanes]}
        busy = stage.busy[lanes]
        free = busy < stage.cap[lanes]
        if free.all():
            stage.busy[lanes] = busy + 1
            return lanes, carry
        granted = lanes[free]
        stage.busy[granted] = busy[free] + 1
        wait = ~free
        queued = lanes[wait]
        length = stage.queue.push(queued, {f: v[wait] for f, v in carry.items()})
        if needs.max_queue[s]:
            stage.max_queue[queued] = np.maximum(stage.max_queue[queued], length)
        return granted, {f: v[free] for f, v in carry.items()}

    def _serve(self, s: int, lanes: Ints, carry: Record) -> None:
        """Granted entities start their service at stage ``s`` now."""
        batch = self.batch
        if not len(lanes):
            return
        if batch.step_gone:
            keep = ~batch.gone[lanes]
            lanes, carry = lanes[keep], {f: v[keep] for f, v in carry.items()}
            if not len(lanes):
                return
        now = batch.clock[lanes]
        duration = batch.delay(self.durations[s], lanes, self.stage_streams[s])
        if batch.step_gone:
            keep = ~batch.gone[lanes]
            lanes, carry = lanes[keep], {f: v[keep] for f, v in carry.items()}
            now, duration = now[keep], duration[keep]
        seq = self.seq[lanes]
        self.seq[lanes] = seq + 1
        record: Record = {"t": now + duration, "seq": seq}
        needs = self.needs
        if needs.req:
            wait = now - carry["req"]
            record["req"] = carry["req"]
            if needs.here:
                record["here"] = wait
            if needs.waited:
                record["waited"] = carry["waited"] + wait
        if needs.arrival:
            record["arrival"] = carry["arrival"]
        self.stages[s].servers.start(lanes, record)

    def _complete(self, s: int, lanes: Ints) -> None:
        """Entities finish their service at stage ``s``: loss, next stage, or completion."""
        batch = self.batch
        spec = self.spec
        needs = self.needs
        stage = self.stages[s]
        done = stage.servers.finish(lanes)
        stage.busy[lanes] -= 1
        if needs.served[s]:
            stage.served[lanes] += 1
        if needs.wait_sum[s]:
            stage.wait_sum[lanes] += done["here"]
        if needs.time_sum[s]:
            stage.time_sum[lanes] += batch.clock[lanes] - done["req"]
        carry = {f: done[f] for f in needs.carried}
        on = lanes
        if self.losses[s] is not None:
            lanes, on, carry = self._losses(s, lanes, carry)
        if s + 1 < len(self.stages):
            self._serve(s + 1, *self._enter(s + 1, on, carry))
        elif len(on):
            if needs.completed:
                self.completed[on] += 1
            if needs.waits:
                self.waits[on] += carry["waited"]
            if needs.system_time:
                self.system_time[on] += batch.clock[on] - carry["arrival"]
            if self.on_complete is not None:
                batch.apply(self.on_complete, on, spec.name, "entity completes")
            else:
                batch.note(spec.name, "entity completes")
        lanes = batch.live(lanes)
        waiting = lanes[stage.queue.len[lanes] > 0]
        if len(waiting):
            stage.busy[waiting] += 1
            self._serve(s, waiting, stage.queue.pop(waiting))

    def _losses(self, s: int, lanes: Ints, carry: Record) -> tuple[Ints, Ints, Record]:
        """Entities leaving stage ``s`` are lost with its ``loss`` probability: return the
        lanes still running, those whose entity goes on, and what those carry."""
        batch = self.batch
        spec = self.spec
        needs = self.needs
        loss = self.losses[s]
        assert loss is not None
        lost = batch.chance(loss, lanes, self.stage_streams[s])
        if batch.step_gone:
            keep = ~batch.gone[lanes]
            lanes, lost = lanes[keep], lost[keep]
            carry = {f: v[keep] for f, v in carry.items()}
        if not lost.any():
            return lanes, lanes, carry
        gone = lanes[lost]
        if needs.stage_lost[s]:
            self.stages[s].lost[gone] += 1
        if needs.lost:
            self.lost[gone] += 1
        what = f"entity lost at {spec.stages[s].name}"
        if self.on_loss is not None:
            batch.apply(self.on_loss, gone, spec.name, what)
        elif len(gone):
            batch.note(spec.name, what)
        kept = ~lost
        return lanes, lanes[kept], {f: v[kept] for f, v in carry.items()}

    def fire(self, lanes: Ints) -> None:
        self.firing = True
        code = self.which[lanes]
        arriving = code < 0
        if arriving.any():
            self._arrivals(lanes[arriving])
        if not arriving.all():
            for s in range(len(self.stages)):
                here = code == s
                if here.any():
                    self._complete(s, lanes[here])
        self.firing = False
        self._refresh(self.batch.live(lanes))

    def _refresh(self, lanes: Ints) -> None:
        """Put the earliest event of each lane's flow into its column of ``T``: the
        earliest time, and among equal times the event scheduled first."""
        if not len(lanes):
            return
        at = self.arr_t[lanes]
        seq = self.arr_seq[lanes]
        code = np.full(len(lanes), -1, dtype=np.int64)
        for s, stage in enumerate(self.stages):
            t = stage.servers.next_t[lanes]
            q = stage.servers.next_seq[lanes]
            better = (t < at) | ((t == at) & (q < seq) & (t < _INF))
            if better.any():
                at = np.where(better, t, at)
                seq = np.where(better, q, seq)
                code[better] = s
        self.which[lanes] = code
        self.batch.column_times[self.col][lanes] = at

    # -- statistics ---------------------------------------------------------------------------

    def stat(self, lanes: Ints, stage: int | None, stat: str) -> Floats:
        """A statistic of the flow, or of one stage, at the end of each lane's branch."""
        if stage is None:
            if stat == "arrived":
                return self.arrived[lanes].astype(np.float64)
            if stat == "completed":
                return self.completed[lanes].astype(np.float64)
            if stat == "lost":
                return self.lost[lanes].astype(np.float64)
            if stat == "mean_wait":
                return _mean(self.waits[lanes], self.completed[lanes])
            if stat == "mean_time_in_system":
                return _mean(self.system_time[lanes], self.completed[lanes])
            queues = np.max([st.max_queue[lanes] for st in self.stages], axis=0)
            return np.asarray(queues, dtype=np.float64)
        st = self.stages[stage]
        served = st.served[lanes]
        if stat == "arrived":
            return st.entered[lanes].astype(np.float64)
        if stat == "completed":
            return (served - st.lost[lanes]).astype(np.float64)
        if stat == "lost":
            return st.lost[lanes].astype(np.float64)
        if stat == "mean_wait":
            return _mean(st.wait_sum[lanes], served)
        if stat == "mean_time_in_system":
            return _mean(st.time_sum[lanes], served)
        return st.max_queue[lanes].astype(np.float64)

    def resize(self, op: LaneOp) -> None:
        for name in (
            "arr_t", "arr_seq", "seq", "every_k", "which", "arrived", "completed", "lost",
            "waits", "system_time",
        ):  # fmt: skip
            setattr(self, name, op(getattr(self, name), _INF if name == "arr_t" else 0))
        for stage in self.stages:
            stage.resize(op)
        if self.hazard is not None:
            self.hazard.resize(op)


def _fifo(duration: Any, parameters: frozenset[int]) -> bool:
    """Whether services of a stage end in the order they start: a duration that is the
    same for every entity of a branch (a number, or an expression of parameters)."""
    if duration.constant is not None:
        return True
    return duration.expr is not None and duration.expr.reads <= parameters


def _mean(total: Floats, count: Ints) -> Floats:
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _capacity_message(value: Any) -> str:
    if math.isnan(value):
        return "cannot convert float NaN to integer"
    if math.isinf(value):
        return "cannot convert float infinity to integer"
    return f"a capacity must be >= 1, got {value:g}"
