"""The compiler's core: problems located in the file, times, expressions and effects.

Each section of a scenario (:mod:`sim.model.parameters`, :mod:`sim.model.processes`,
:mod:`sim.model.outcomes`) is compiled by a subclass of :class:`Core`, which holds what they
share: the names in scope and their slots, the problems found so far, and how an expression,
a delay or a ``set`` block is checked and compiled.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sim.errors import ExprError, Problem
from sim.format.distributions.kinds import Distribution
from sim.format.document import Document, format_path
from sim.format.expr import Checked, Type, check, compile_expr, compile_size, to_python
from sim.format.include import is_version_1_1
from sim.format.scenario import (
    Scenario,
)
from sim.format.validation import suggest
from sim.model.codegen import Assignment, effect_function
from sim.model.compiled import (
    T_SLOT,
    CDelay,
    CDraw,
    CExpr,
    DrawFn,
    Effect,
    Site,
    Value,
)
from sim.model.overrides import (
    TYPE_WORDS,
)

__all__ = [
    "DAYS_PER_UNIT",
    "Core",
    "NodePath",
    "as_source",
    "dynamic_draw",
    "offset_of",
    "placeholder",
]

DAYS_PER_UNIT: Mapping[str, float] = {
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "quarter": 365.25 / 4,
    "year": 365.25,
}

NodePath = tuple[str | int, ...]


class Core:
    """Checks and compiles one scenario; collects problems instead of stopping at the first."""

    def __init__(self, scenario: Scenario, doc: Document) -> None:
        self.s = scenario
        self.doc = doc
        self.problems: list[Problem] = []
        self.unit_days = DAYS_PER_UNIT[scenario.time.unit]
        self.start = scenario.time.start
        self.horizon: float | None = None
        self.slots: dict[str, int] = {"t": T_SLOT}
        self.types: dict[str, Type] = {"t": Type.NUMBER}
        self.parameter_types: dict[str, Type] = {}
        self.locations: dict[str, Site] = {}
        self.notes: list[str] = []

    def report(self, path: NodePath, message: str, offset: int | None = None) -> None:
        """Note a problem about the value at ``path``."""
        self.problems.append(self.doc.problem(path, message, offset))

    def require_1_1(self, path: NodePath, what: str, *, at_key: bool = False) -> None:
        """Note a problem if the file uses ``what``, a field of format 1.1, as a 1.0 file."""
        if not is_version_1_1(self.s.sim):
            message = f"{what} is format 1.1: declare `sim: 1.1` at the top"
            if at_key:
                self.report_key(path, message)
            else:
                self.report(path, message)

    def dynamic(
        self,
        dist: Distribution,
        path: NodePath,
        *,
        only: Mapping[str, Type] | None = None,
        what: str = "",
    ) -> tuple[DrawFn, frozenset[int], Callable[[list[Any]], Any]]:
        """Compile a distribution whose fields are expressions.

        Return its draw, the slots it reads, and a function giving the distribution for
        the values ``v``.
        """
        fields: list[tuple[str, CExpr]] = []
        for name, source in dist.expressions.items():
            where: NodePath = (*path, name)
            self.require_1_1(where, "an expression in a distribution field")
            fields.append((name, self.expr(source, where, Type.NUMBER, only=only, what=what)))
        reads = frozenset().union(*(expr.reads for _, expr in fields))
        constants = {name: expr.constant for name, expr in fields}
        if all(isinstance(c, float) for c in constants.values()):
            try:  # expressions that fold to numbers are checked now, like numbers
                dist.resolved(constants)  # type: ignore[arg-type]
            except ValueError as error:
                self.report(path, str(error))
        functions = tuple((name, expr.fn) for name, expr in fields)

        def resolve(v: list[Any]) -> Any:
            return dist.resolved({name: float(fn(v)) for name, fn in functions})

        return dynamic_draw(dist, tuple(fields)), reads, resolve

    def report_key(self, path: NodePath, message: str) -> None:
        """Note a problem about the key of the value at ``path``."""
        self.problems.append(self.doc.key_problem(path, message))

    def time(
        self, value: float | dt.date, path: NodePath, what: str, *, in_range: bool = True
    ) -> float | None:
        """Convert a time or a date to the scenario's unit, checking its range.

        With ``in_range`` the time must lie in ``[0, horizon]``; else (the horizon itself)
        it must be after the start.
        """
        if isinstance(value, dt.date):
            if self.start is None:
                self.report(path, f"the date {value} needs time.start (the date of t = 0)")
                return None
            t = (value - self.start).days / self.unit_days
            shown = f"{value} (t = {t:.4g})"
        else:
            t, shown = value, f"{value:g}"
        if not in_range:
            if t <= 0:
                self.report(path, f"{what} {shown} must be after time.start {self.start}")
            return t
        if t < 0:
            self.report(path, f"{what} {shown} is before the start (t = 0)")
        elif self.horizon is not None and t > self.horizon:
            self.report(path, f"{what} {shown} is after the horizon {self.horizon:g}")
        return t

    def check_expr(
        self,
        source: str,
        path: NodePath,
        expect: Type | None,
        *,
        only: Mapping[str, Type] | None = None,
        what: str = "",
    ) -> Checked | None:
        """Check an expression against the names in scope; note a problem and return None."""
        names = self.types
        if only is not None:  # let a name that is not allowed get a better message below
            names = {name: Type.NUMBER for name in self.s.state} | self.types
        try:
            checked = check(source, names, expect)
        except ExprError as error:
            self.report(path, error.message, error.offset)
            return None
        refused = sorted(checked.names - set(only)) if only is not None else []
        if refused:
            name = refused[0]
            thing = "the time" if name == "t" else "state"
            message = f"{what} may read parameters only, not {thing} {name!r}"
            self.report(path, message, offset_of(source, name))
            return None
        return checked

    def expr(
        self,
        source: str,
        path: NodePath,
        expect: Type | None,
        *,
        only: Mapping[str, Type] | None = None,
        what: str = "",
    ) -> CExpr:
        """Check and compile an expression (a placeholder if it has a problem)."""
        checked = self.check_expr(source, path, expect, only=only, what=what)
        if checked is None:
            return placeholder(path)
        fn = compile_expr(checked, self.ref)
        reads = frozenset(self.slots[name] for name in checked.names)
        slots = {name: self.slots[name] for name in checked.names}
        size = _lazy_size(checked, slots) if checked.type is Type.NUMBER else None
        return CExpr(fn, source, self.place(path), reads, checked.constant, checked, size)

    def place(self, path: NodePath) -> str:
        """A key naming ``path``, remembering where it is written, for run errors."""
        where = format_path(path)
        if where not in self.locations:
            doc, local = self.doc.site(path)
            line, col = doc.locate(local)
            self.locations[where] = Site(line, col, doc.file, format_path(local))
        return where

    def origin(self, path: NodePath) -> str | None:
        """``FILE:LINE`` of a definition written in an included file, else None."""
        doc, local = self.doc.site(path)
        if doc.file == self.doc.file:
            return None
        return f"{doc.file}:{doc.locate(local)[0]}"

    def ref(self, name: str) -> str:
        """Python source that reads ``name`` from the value list ``v``."""
        return f"v[{self.slots[name]}]"

    def bounded(
        self, source: str, path: NodePath, what: str, low: float, high: float | None = None
    ) -> CExpr:
        """Compile a number expression whose constant value must lie in ``[low, high]``."""
        expr = self.expr(source, path, Type.NUMBER)
        c = expr.constant
        if isinstance(c, float) and (c < low or (high is not None and c > high)):
            wanted = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            self.report(path, f"{what} must be {wanted}, got {c:g}")
        return expr

    def delay(self, value: float | str | Distribution, path: NodePath, what: str) -> CDelay:
        """Compile a delay or duration: a constant, an expression, or a distribution."""
        where = self.place(path)
        if isinstance(value, float):
            return CDelay(constant=value, path=where)
        if isinstance(value, str):
            expr = self.bounded(value, path, what, 0.0)
            if isinstance(expr.constant, float):
                return CDelay(constant=expr.constant, path=where)
            return CDelay(expr=expr, path=where)
        if value.value_type() != "number":
            self.report(path, f"{what} must be a number; a {value.kind} draws true/false")
        elif value.expressions:
            draw, reads, _ = self.dynamic(value, path)
            # a negative draw is a run error
            return CDelay(path=where, draw=draw, dist=value, reads=reads)
        elif value.support()[0] < 0:
            self.report(
                path, f"{what} must be >= 0, but this {value.kind} can draw negative values"
            )
        return CDelay(sampler=value.sampler(), path=where, dist=value)

    def draws(
        self, process: str, draws: Mapping[str, Distribution], path: NodePath
    ) -> tuple[CDraw, ...]:
        """Compile a process's ``draws``: each gets a slot of ``v`` named ``PROCESS.NAME``."""
        compiled: list[CDraw] = []
        for name, dist in draws.items():
            where: NodePath = (*path, name)
            self.require_1_1(where, "`draws`", at_key=True)
            if name in self.slots:
                thing = "a parameter" if name in self.parameter_types else "a state variable"
                self.report_key(where, f"draw {name!r} has the name of {thing}")
                continue
            key = f"{process}.{name}"
            slot = self.slots.setdefault(key, len(self.slots))
            self.types[key] = Type.BOOL if dist.value_type() == "bool" else Type.NUMBER
            if dist.expressions:
                draw, reads, _ = self.dynamic(dist, where)
                compiled.append(
                    CDraw(name, process, slot, None, draw, self.place(where), dist, reads)
                )
            else:
                sampler = dist.sampler()
                compiled.append(
                    CDraw(name, process, slot, sampler, None, self.place(where), dist)
                )
        return tuple(compiled)

    def effect(
        self, block: Mapping[str, str], path: NodePath, draws: tuple[CDraw, ...] = ()
    ) -> Effect:
        """Compile a ``set`` block into one function (see :func:`effect_function`).

        ``draws`` are readable by name in its expressions.
        """
        local = {d.name: d for d in draws}
        for d in draws:  # in scope for this block only
            self.slots[d.name] = d.slot
            self.types[d.name] = self.types[f"{d.process}.{d.name}"]
        try:
            return self._effect(block, path, draws, local)
        finally:
            for d in draws:
                del self.slots[d.name], self.types[d.name]

    def _effect(
        self,
        block: Mapping[str, str],
        path: NodePath,
        draws: tuple[CDraw, ...],
        local: Mapping[str, CDraw],
    ) -> Effect:
        assignments: list[Assignment] = []
        reads: set[int] = set()
        for name, source in block.items():
            target: NodePath = (*path, name)
            if name in self.parameter_types:
                self.report_key(target, f"cannot assign to parameter {name!r}")
                continue
            if name in local:
                self.report_key(target, f"cannot assign to draw {name!r}; draws are read only")
                continue
            if name not in self.s.state or name not in self.slots:
                hint = suggest(name, list(self.s.state))
                self.report_key(target, f"unknown state variable {name!r}{hint}")
                continue
            checked = self.check_expr(source, target, None)
            if checked is None:
                continue
            if checked.type is not self.types[name]:
                wanted, got = TYPE_WORDS[self.types[name]], TYPE_WORDS[checked.type]
                self.report(target, f"state {name!r} is {wanted}, got {got}", 0)
                continue
            var = self.s.state[name]
            assignments.append(
                Assignment(
                    self.slots[name], name, to_python(checked, self.ref), var.min, var.max,
                    number=checked.type is Type.NUMBER, checked=checked,
                )
            )  # fmt: skip
            reads.update(self.slots[n] for n in checked.names)
        fn = effect_function(assignments, self.place(path))
        targets = tuple(a.slot for a in assignments)
        used = tuple(d for d in draws if d.slot in reads)  # a draw no one reads is not drawn
        return Effect(
            fn, targets, frozenset(reads), self.place(path), tuple(assignments), draws=used
        )


def dynamic_draw(dist: Distribution, fields: tuple[tuple[str, CExpr], ...]) -> DrawFn:
    """Return a draw from ``dist`` with its expression ``fields`` evaluated on ``v``.

    The distribution is made for the values (:meth:`resolved`, which checks them) at each
    draw, then sampled once from the generator.
    """
    functions = tuple((name, expr.fn) for name, expr in fields)
    resolved = dist.resolved

    def draw(rng: np.random.Generator, v: list[Any]) -> Value:
        values = {name: float(fn(v)) for name, fn in functions}
        return resolved(values).sampler()(rng)

    return draw


def _lazy_size(checked: Checked, slots: Mapping[str, int]) -> Callable[[list[Any]], float]:
    """Return the size function of ``checked`` (see :func:`compile_size`), compiled on first use.

    It is needed only when a value falls out of its range, which is rare, so most
    expressions never compile it.
    """
    compiled: list[Callable[[list[Any]], float]] = []

    def size(v: list[Any]) -> float:
        if not compiled:
            compiled.append(compile_size(checked, lambda name: f"v[{slots[name]}]"))
        return compiled[0](v)

    return size


def as_source(value: Value | str | int) -> str:
    """The expression text of a constant (or the text of an expression)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value))


def offset_of(source: str, name: str) -> int | None:
    """The offset of the first use of ``name`` in ``source``."""
    found = re.search(rf"\b{re.escape(name)}\b", source)
    return found.start() if found else None


def placeholder(path: NodePath) -> CExpr:
    """A stand-in for an expression with a problem; never reaches a compiled model."""
    return CExpr(lambda v: 0.0, "", format_path(path), frozenset(), None)
