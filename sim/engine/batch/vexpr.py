"""Expressions compiled once into numpy functions over the columns of many branches.

:func:`vectorise` walks the checked tree of :mod:`sim.format.expr` (never the user's text) and
writes one Python function whose arguments are the arrays of the slots the expression
reads and whose operations are numpy's: ``x if c else y`` becomes ``np.where``,
``and``/``or``/``not`` logical operations, ``min``/``max`` a chain of ``np.where`` (which
keeps Python's answer when a NaN is involved), the functions their numpy ufuncs.

Scalar Python raises where numpy quietly returns an infinity or a NaN: division or
modulo by zero, ``log``/``sqrt`` of a negative number, ``exp`` or ``**`` overflowing, a
negative base to a fractional power, ``floor``/``ceil`` of a NaN or an infinity. The
generated function also returns a mask of the lanes where the scalar code would have
raised, taking short-circuits into account (the untaken arm of ``x if c else y``, the
operands after a false ``and``): only an evaluation that Python would make counts. The
engine turns such lanes into the same run errors the SimPy engine raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.format.expr import Checked
from sim.format.expr.tree import Arith, Call, Compare, Const, If, Logic, Name, Neg, Node, Not

__all__ = ["VectorFn", "vectorise"]

VectorFn = Callable[..., tuple[Any, Any]]

_NAMESPACE: Mapping[str, object] = {
    "__builtins__": {},
    "_where": np.where,
    "_not": np.logical_not,
    "_power": np.power,
    "_exp": np.exp,
    "_log": np.log,
    "_sqrt": np.sqrt,
    "_floor": np.floor,
    "_ceil": np.ceil,
    "_abs": np.abs,
    "_finite": np.isfinite,
    "_isnan": np.isnan,
}


@dataclass(frozen=True, slots=True)
class Vectorised:
    """A vectorised expression: ``fn(*arrays)`` with one array per slot of ``slots``.

    ``fn`` returns ``(value, errors)``: errors is ``False`` or a boolean array of the lanes
    where scalar evaluation raises.
    """

    fn: VectorFn
    slots: tuple[int, ...]
    risky: bool
    code: str


def vectorise(checked: Checked, slot_of: Mapping[str, int], where: str) -> Vectorised:
    """Compile ``checked`` into a numpy function; ``slot_of`` maps a name to its slot."""
    tree: Node = checked._tree
    names = sorted({slot_of[n] for n in checked.names})
    args = {slot: f"a{slot}" for slot in names}
    writer = _Writer({n: args[slot_of[n]] for n in checked.names})
    value = writer.node(tree, None)
    lines = ["_e = False"] if writer.risky else []
    lines += [*writer.lines, f"return {value}, {'_e' if writer.risky else 'False'}"]
    code = f"def _v({', '.join(args.values())}):\n" + "".join(f"    {x}\n" for x in lines)
    namespace = dict(_NAMESPACE)
    # Only code generated from the validated tree is executed, with no builtins.
    exec(compile(code, f"<vector {where}>", "exec"), namespace)
    fn: VectorFn = namespace["_v"]  # type: ignore[assignment]
    return Vectorised(fn, tuple(names), writer.risky, code)


class _Writer:
    """Writes the statements of one vectorised function, one temporary per step."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.lines: list[str] = []
        self.counter = itertools.count()
        self.risky = False

    def temp(self, code: str) -> str:
        """Bind ``code`` to a new temporary and return its name."""
        name = f"x{next(self.counter)}"
        self.lines.append(f"{name} = {code}")
        return name

    def error(self, guard: str | None, condition: str) -> None:
        """Count ``condition`` as an error in the lanes where ``guard`` holds."""
        self.risky = True
        where = condition if guard is None else f"({guard}) & ({condition})"
        self.lines.append(f"_e = _e | ({where})")

    def guarded(self, guard: str | None, condition: str) -> str:
        """The guard of a sub-expression evaluated only where ``condition`` holds."""
        if guard is None:
            return condition if condition.isidentifier() else self.temp(condition)
        return self.temp(f"({guard}) & ({condition})")

    def node(self, node: Node, guard: str | None) -> str:
        """Return code for the value of ``node``, evaluated where ``guard`` holds."""
        match node:
            case Const(value):
                text = repr(value)
                return f"({text})" if text.startswith("-") else text
            case Name(name):
                return self.names[name]
            case Neg(operand):
                return self.temp(f"-{self.node(operand, guard)}")
            case Not(operand):
                return self.temp(f"_not({self.node(operand, guard)})")
            case Arith(op, left, right):
                return self.arith(op, left, right, guard)
            case Logic(op, values):
                return self.logic(op, values, guard)
            case Compare(left, ops, rights):
                return self.compare(left, ops, rights, guard)
            case If(test, body, orelse):
                return self.branch(test, body, orelse, guard)
            case Call(func, args):
                return self.call(func, args, guard)
        raise TypeError(f"cannot vectorise {node!r}")  # pragma: no cover

    def arith(self, op: str, left: Node, right: Node, guard: str | None) -> str:
        a = self.node(left, guard)
        b = self.node(right, guard)
        if op in "+-*":
            return self.temp(f"{a} {op} {b}")
        if op in "/%":
            if not (isinstance(right, Const) and right.value != 0):
                self.error(guard, f"{b} == 0")
            return self.temp(f"{a} {op} {b}")
        # math.pow: a NaN or an infinity from finite operands is an error
        value = self.temp(f"_power({a}, {b})")
        finite = " & ".join(f"_finite({x})" for x in (a, b) if not _is_literal(x)) or "True"
        self.error(guard, f"({finite}) & ~_finite({value})")
        return value

    def logic(self, op: str, values: tuple[Node, ...], guard: str | None) -> str:
        result = self.node(values[0], guard)
        for value in values[1:]:
            inner = guard
            if _is_risky(value):
                inner = self.guarded(guard, result if op == "and" else f"_not({result})")
            code = self.node(value, inner)
            result = self.temp(f"{result} {'&' if op == 'and' else '|'} {code}")
        return result

    def compare(
        self, left: Node, ops: tuple[str, ...], rights: tuple[Node, ...], guard: str | None
    ) -> str:
        a = self.node(left, guard)
        result: str | None = None
        inner = guard
        for op, right in zip(ops, rights, strict=True):
            if result is not None and _is_risky(right):
                inner = self.guarded(guard, result)
            b = self.node(right, inner)
            test = self.temp(f"{a} {op} {b}")
            result = test if result is None else self.temp(f"{result} & {test}")
            a = b
        assert result is not None
        return result

    def branch(self, test: Node, body: Node, orelse: Node, guard: str | None) -> str:
        c = self.node(test, guard)
        yes = self.guarded(guard, c) if _is_risky(body) else guard
        x = self.node(body, yes)
        no = self.guarded(guard, f"_not({c})") if _is_risky(orelse) else guard
        y = self.node(orelse, no)
        return self.temp(f"_where({c}, {x}, {y})")

    def call(self, func: str, args: tuple[Node, ...], guard: str | None) -> str:
        xs = [self.node(arg, guard) for arg in args]
        if func in ("min", "max"):
            return self.extremum(func, xs)
        if func == "clip":
            return self.extremum("min", [self.extremum("max", xs[:2]), xs[2]])
        (x,) = xs
        if func == "abs":
            return self.temp(f"_abs({x})")
        value = self.temp(f"_{func}({x})")
        if func == "exp":
            self.error(guard, f"_finite({x}) & ~_finite({value})")
        elif func == "log":
            self.error(guard, f"{x} <= 0")
        elif func == "sqrt":
            self.error(guard, f"{x} < 0")
        else:  # floor, ceil: Python converts to an int
            self.error(guard, f"~_finite({x})")
        return value

    def extremum(self, func: str, xs: list[str]) -> str:
        """Python's min/max: the first argument unless a later one is strictly smaller
        (larger), which np.minimum does not do when a NaN is involved."""
        result = xs[0]
        op = "<" if func == "min" else ">"
        for x in xs[1:]:
            result = self.temp(f"_where({x} {op} {result}, {x}, {result})")
        return result


def _is_literal(code: str) -> bool:
    """Whether generated ``code`` is a number or bool literal."""
    return not (code[:1].isalpha() or code.startswith("_"))


def _is_risky(node: Node) -> bool:
    """Whether evaluating ``node`` can raise in scalar Python."""
    match node:
        case Const() | Name():
            return False
        case Neg(operand) | Not(operand):
            return _is_risky(operand)
        case Arith(op, left, right):
            if op == "**" or (op in "/%" and not (isinstance(right, Const) and right.value != 0)):
                return True
            return _is_risky(left) or _is_risky(right)
        case Logic(_, values):
            return any(_is_risky(v) for v in values)
        case Compare(left, _, rights):
            return _is_risky(left) or any(_is_risky(r) for r in rights)
        case If(test, body, orelse):
            return _is_risky(test) or _is_risky(body) or _is_risky(orelse)
        case Call(func, args):
            return func in ("exp", "log", "sqrt", "floor", "ceil") or any(
                _is_risky(a) for a in args
            )
    return True  # pragma: no cover
