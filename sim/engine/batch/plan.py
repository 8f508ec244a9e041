"""What the batch engine computes once per model: vectorised expressions and effects,
the streams, and which watchers each effect wakes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.engine.batch.outcomes import OutcomePlan
from sim.engine.batch.streams import PARAMETER, PROCESS, stream_id
from sim.engine.batch.support import check_supported
from sim.engine.batch.vexpr import Vectorised, vectorise
from sim.format.expr import Type, check
from sim.model.compiled import (
    CDelay,
    CDraw,
    CEvent,
    CExpr,
    CFlow,
    CompiledModel,
    CTrigger,
    Effect,
)

__all__ = ["Plan", "VDelay", "VEffect", "VExpr", "plan_for"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VExpr:
    """A compiled expression and its vectorised form."""

    spec: CExpr
    vector: Vectorised | None  # None for a constant
    path: str

    @property
    def slots(self) -> tuple[int, ...]:
        return () if self.vector is None else self.vector.slots


@dataclass(frozen=True, slots=True)
class VAssign:
    """One assignment of a ``set`` block."""

    slot: int
    name: str
    expr: VExpr
    lo: float | None
    hi: float | None
    number: bool


@dataclass(frozen=True, slots=True)
class VDraw:
    """A value a process draws at each firing: its slot, stream and inverse CDF (or, for a
    distribution whose fields are expressions, ``dynamic``: made per lane when drawn)."""

    name: str
    slot: int
    stream: int  # index among the batch's buffered streams
    ppf: Callable[[Floats], Floats] | None
    boolean: bool
    dynamic: VDynamic | None = None


@dataclass(frozen=True, slots=True)
class VEffect:
    """A vectorised ``set`` block and the watchers (indices into ``Plan.readers``) it wakes.

    ``draws`` are drawn into their slots, for the lanes it applies to, before it is applied.
    """

    spec: Effect
    assignments: tuple[VAssign, ...]
    watchers: tuple[int, ...]
    path: str
    draws: tuple[VDraw, ...] = ()


@dataclass(frozen=True, slots=True)
class VDelay:
    """A delay or duration: constant, expression, or the inverse CDF of a distribution
    (``dynamic`` when its fields are expressions)."""

    spec: CDelay
    constant: float | None
    expr: VExpr | None
    ppf: Callable[[Floats], Floats] | None
    path: str
    dynamic: VDynamic | None = None


@dataclass(frozen=True, slots=True)
class VDynamic:
    """A distribution whose fields are expressions (format 1.1), evaluated per lane."""

    dist: Any
    fields: tuple[tuple[str, VExpr], ...]
    path: str


class Plan:
    """Per-model wiring of the batch engine, computed once."""

    def __init__(self, model: CompiledModel) -> None:
        check_supported(model)
        self.model = model
        self.slot_of = {name: i for i, name in enumerate(model.slot_names)}
        self.types = self._types(model)
        self._exprs: dict[int, VExpr] = {}
        self.events = [p for p in model.processes if isinstance(p, CEvent)]
        self.triggers = [p for p in model.processes if isinstance(p, CTrigger)]
        self.flows = [p for p in model.processes if isinstance(p, CFlow)]
        self.outcomes = OutcomePlan(model)
        # Watchers, in the SimPy engine's order: ("event" | "trigger" | "flow" | "first" |
        # "rise" | "end" | "stop", index among its kind, slots read)
        self.readers: list[tuple[str, int, frozenset[int]]] = []
        for i, ev in enumerate(self.events):
            self.readers.append(("event", i, ev.rate.reads))
        for i, tr in enumerate(self.triggers):
            self.readers.append(("trigger", i, tr.when.reads))
        for i, fl in enumerate(self.flows):
            if fl.rate is not None:
                reads = fl.rate.reads | (fl.gate.reads if fl.gate is not None else frozenset())
                self.readers.append(("flow", i, reads))
        self.readers += self.outcomes.readers
        if model.stop_when is not None:
            self.readers.append(("stop", 0, model.stop_when.reads))
        self.time_readers = tuple(i for i, (_, _, r) in enumerate(self.readers) if 0 in r)
        self._effects: dict[int, VEffect] = {}
        self._dynamic: dict[tuple[int, str], VDynamic] = {}
        self.parameter_streams = [stream_id(PARAMETER, p.name) for p in model.parameters]
        self.expert_streams = [stream_id(PARAMETER, p.name, "expert") for p in model.parameters]
        self.stream_ids: list[int] = []
        self.stream_of: dict[tuple[str, ...], int] = {}

    @staticmethod
    def _types(model: CompiledModel) -> dict[str, Type]:
        types = {"t": Type.NUMBER}
        for p in model.parameters:
            types[p.name] = Type.BOOL if p.type == "bool" else Type.NUMBER
        for s in model.state:
            types[s.name] = Type.BOOL if s.type == "bool" else Type.NUMBER
        return types

    def stream(self, name: str, *parts: str) -> int:
        """The index (among the batch's buffered streams) of a process's named stream."""
        key = (name, *parts)
        found = self.stream_of.get(key)
        if found is None:
            found = self.stream_of[key] = len(self.stream_ids)
            self.stream_ids.append(stream_id(PROCESS, name, *parts))
        return found

    def expr(self, spec: CExpr, slot_of: dict[str, int] | None = None) -> VExpr:
        """The vectorised form of a compiled expression (made once).

        ``slot_of`` maps names to slots where a ``set`` block reads its process's draws.
        """
        found = self._exprs.get(id(spec))
        if found is None:
            vector = None
            if spec.constant is None:
                vector = vectorise(spec.checked, slot_of or self.slot_of, spec.path)
            found = self._exprs[id(spec)] = VExpr(spec, vector, spec.path)
        return found

    def effect(self, spec: Effect) -> VEffect:
        """The vectorised form of a ``set`` block and the watchers it wakes (made once)."""
        found = self._effects.get(id(spec))
        if found is None:
            # the process's draws are read by their own names in its set block
            slot_of = {**self.slot_of, **{d.name: d.slot for d in spec.draws}}
            assignments = tuple(
                VAssign(
                    a.slot,
                    a.name,
                    self.expr(_assignment_expr(a, spec.path, slot_of), slot_of),
                    a.lo,
                    a.hi,
                    a.number,
                )
                for a in spec.assignments
            )
            targets = set(spec.targets) | {0}
            watchers = tuple(i for i, (_, _, r) in enumerate(self.readers) if r & targets)
            draws = tuple(self.draw(d) for d in spec.draws)
            found = self._effects[id(spec)] = VEffect(
                spec, assignments, watchers, spec.path, draws
            )
        return found

    def draw(self, spec: CDraw) -> VDraw:
        """The stream and inverse CDF of a process's draw."""
        stream = self.stream(spec.process, "draws", spec.name)
        boolean = spec.dist.value_type() == "bool"
        if spec.draw is not None:  # fields that are expressions: read when drawn
            dynamic = self.dynamic(spec.dist, spec.path)
            return VDraw(spec.name, spec.slot, stream, None, boolean, dynamic)
        return VDraw(spec.name, spec.slot, stream, _ppf(spec.dist), boolean)

    def delay(self, spec: CDelay) -> VDelay:
        """The vectorised form of a delay or duration."""
        if spec.constant is not None:
            return VDelay(spec, spec.constant, None, None, spec.path)
        if spec.expr is not None:
            return VDelay(spec, None, self.expr(spec.expr), None, spec.path)
        dist = spec.dist
        if spec.draw is not None:
            return VDelay(spec, None, None, None, spec.path, self.dynamic(dist, spec.path))
        return VDelay(spec, None, None, _ppf(dist), spec.path)

    def dynamic(self, dist: Any, path: str) -> VDynamic:
        """The vectorised fields of a distribution whose fields are expressions; an error
        in one is located at ``path`` (where the SimPy engine locates it). Made once."""
        found = self._dynamic.get((id(dist), path))
        if found is not None:
            return found
        fields = []
        for name, source in dist.expressions.items():
            checked = check(source, self.types, Type.NUMBER)
            reads = frozenset(self.slot_of[n] for n in checked.names)
            spec = CExpr(lambda v: None, source, path, reads, checked.constant, checked)
            fields.append((name, self.expr(spec)))
        found = self._dynamic[id(dist), path] = VDynamic(dist, tuple(fields), path)
        return found



def _assignment_expr(a: Any, path: str, slot_of: dict[str, int]) -> CExpr:
    """A CExpr for the right-hand side of one assignment of a ``set`` block."""
    checked = a.checked
    reads = frozenset(slot_of[n] for n in checked.names)
    return CExpr(lambda v: None, checked.source, path, reads, checked.constant, checked)


def _ppf(dist: Any) -> Callable[[Floats], Floats]:
    """The inverse CDF of a distribution as a function of uniforms, as floats."""

    def ppf(u: Floats) -> Floats:
        return np.asarray(dist.ppf(u), dtype=np.float64)

    return ppf


def parameter_values(dist: Any, value: Any, u: Floats, kind: str) -> npt.NDArray[Any]:
    """A parameter's column from uniforms ``u``: its inverse CDF, or its fixed value."""
    n = len(u)
    if dist is None or dist.kind == "fixed":
        v = value if value is not None else dist.value
        return np.full(n, bool(v) if kind == "bool" else float(v))
    x = np.asarray(dist.ppf(u), dtype=np.float64)
    return x != 0.0 if kind == "bool" else x


_LAST: list[tuple[CompiledModel, Plan]] = []


def plan_for(model: CompiledModel) -> Plan:
    """The plan of ``model``, made once and kept for the last model seen."""
    if _LAST and _LAST[0][0] is model:
        return _LAST[0][1]
    plan = Plan(model)
    _LAST[:] = [(model, plan)]
    return plan


def slots_of(exprs: Sequence[VExpr]) -> frozenset[int]:
    """Every slot the expressions read."""
    out: set[int] = set()
    for e in exprs:
        out.update(e.slots)
    return frozenset(out)
