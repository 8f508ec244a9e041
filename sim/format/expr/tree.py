"""The validated tree of an expression: small frozen nodes, evaluation, and Python code.

Every name-free subtree is folded to a :class:`Const` when the tree is built.
:func:`compile_expr` turns the validated tree (never the user's text) into one Python
function of the branch's value list ``v``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sim.errors import ExprError
from sim.format.expr.language import (
    ARITHMETIC_BY_SYMBOL,
    COMPARISONS_BY_SYMBOL,
    FUNCTIONS,
    RUNTIME,
    Type,
)

__all__ = [
    "Arith",
    "Call",
    "Checked",
    "Compare",
    "Const",
    "If",
    "Logic",
    "Name",
    "Neg",
    "Node",
    "Not",
    "compile_expr",
    "compile_size",
    "evaluate",
    "subtrees",
    "to_python",
]


# The validated tree: small frozen nodes, with every name-free subtree folded to a Const.
@dataclass(frozen=True, slots=True)
class Const:
    value: float | bool


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" or "or"
    values: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    left: Node
    ops: tuple[str, ...]
    rights: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class If:
    test: Node
    body: Node
    orelse: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Const | Name | Neg | Not | Arith | Logic | Compare | If | Call


@dataclass(frozen=True)
class Checked:
    """A checked expression: its type, the names it reads and its value when constant.

    ``constant`` is ``None`` unless the whole expression folds to a value (which may be
    ``0.0`` or ``False``: test it with ``is not None``).
    """

    source: str
    type: Type
    names: frozenset[str]
    constant: float | bool | None
    _tree: Node = field(repr=False)


def to_python(checked: Checked, ref: Callable[[str], str]) -> str:
    """Return Python source of ``checked``, each name replaced by ``ref(name)``.

    ``ref`` must return an atom such as ``"v[3]"``; functions are the names of
    :data:`RUNTIME`, constants are float literals (or ``True``/``False``).
    """
    return _code(checked._tree, ref)


def compile_expr(
    checked: Checked, ref: Callable[[str], str]
) -> Callable[[list[Any]], float | bool]:
    """Compile ``checked`` once into a function of the value list ``v``.

    ``ref`` maps a name to an expression over ``v``, such as ``lambda n: f"v[{slot[n]}]"``.
    """
    code = "lambda v: " + to_python(checked, ref)
    # Only code generated from the validated tree is evaluated, with no builtins.
    return cast(Callable[[list[Any]], float | bool], eval(code, dict(RUNTIME)))


def compile_size(
    checked: Checked, ref: Callable[[str], str]
) -> Callable[[list[Any]], float]:
    """Compile the *size of the terms* of a number expression into a function of ``v``.

    It is what floating-point rounding is relative to: the sum of the absolute values of
    the terms that ``+`` and ``-`` combine (so ``0.5 - x`` at ``x = 0.5`` has size 1, though
    its value is 0), carried through ``*``, ``/``, ``min``, ``max``, ``clip`` and ``abs``;
    other functions and powers count at their value.
    """
    code = "lambda v: " + _size(checked._tree, ref)
    # Only code generated from the validated tree is evaluated, with no builtins.
    return cast(Callable[[list[Any]], float], eval(code, dict(RUNTIME)))


def _size(tree: Node, ref: Callable[[str], str]) -> str:
    """Return Python source of the size of the terms of the number expression ``tree``."""
    match tree:
        case Const(value):
            return repr(abs(float(value)))
        case Name(name):
            return f"abs({ref(name)})"
        case Neg(operand) | Call("abs", (operand,)):
            return _size(operand, ref)
        case Arith("+" | "-", left, right):
            return f"({_size(left, ref)} + {_size(right, ref)})"
        case Arith("*", left, right):
            return f"({_size(left, ref)} * {_size(right, ref)})"
        case Arith("/", left, right):
            return f"({_size(left, ref)} / abs({_code(right, ref)}))"
        case If(test, body, orelse):
            return f"({_size(body, ref)} if {_code(test, ref)} else {_size(orelse, ref)})"
        case Call("min" | "max" | "clip", args):
            return f"max({', '.join(_size(arg, ref) for arg in args)})"
    return f"abs({_code(tree, ref)})"


def subtrees(tree: Node) -> tuple[Node, ...]:
    """Return the direct children of ``tree``."""
    match tree:
        case Neg(operand) | Not(operand):
            return (operand,)
        case Arith(_, left, right):
            return (left, right)
        case Logic(_, values) | Call(_, values):
            return values
        case Compare(left, _, rights):
            return (left, *rights)
        case If(test, body, orelse):
            return (test, body, orelse)
    return ()


def evaluate(tree: Node) -> float | bool:
    """Evaluate a name-free tree with the same operations as generated code."""
    match tree:
        case Const(value):
            return value
        case Neg(operand):
            return -evaluate(operand)
        case Not(operand):
            return not evaluate(operand)
        case Arith(op, left, right):
            return ARITHMETIC_BY_SYMBOL[op](evaluate(left), evaluate(right))
        case Logic("and", values):
            return all(evaluate(value) for value in values)
        case Logic(_, values):
            return any(evaluate(value) for value in values)
        case Compare(left, ops, rights):
            operands = [evaluate(left), *(evaluate(right) for right in rights)]
            return all(
                COMPARISONS_BY_SYMBOL[op](a, b)
                for op, a, b in zip(ops, operands, operands[1:], strict=False)
            )
        case If(test, body, orelse):
            return evaluate(body) if evaluate(test) else evaluate(orelse)
        case Call(func, args):
            return FUNCTIONS[func][0](*(evaluate(arg) for arg in args))
    raise ExprError(f"cannot evaluate {tree!r}", 0)  # pragma: no cover - every node is matched


def _code(tree: Node, ref: Callable[[str], str]) -> str:
    """Return minimal, fully parenthesised Python source for ``tree``."""
    match tree:
        case Const(value):
            text = repr(value)
            return f"({text})" if text.startswith("-") else text
        case Name(name):
            return ref(name)
        case Neg(operand):
            return f"(-{_code(operand, ref)})"
        case Not(operand):
            return f"(not {_code(operand, ref)})"
        case Arith("**", left, right):
            return f"pow({_code(left, ref)}, {_code(right, ref)})"
        case Arith(op, left, right):
            return f"({_code(left, ref)} {op} {_code(right, ref)})"
        case Logic(op, values):
            return "(" + f" {op} ".join(_code(value, ref) for value in values) + ")"
        case Compare(left, ops, rights):
            chain = "".join(
                f" {op} {_code(right, ref)}" for op, right in zip(ops, rights, strict=True)
            )
            return f"({_code(left, ref)}{chain})"
        case If(test, body, orelse):
            return f"({_code(body, ref)} if {_code(test, ref)} else {_code(orelse, ref)})"
        case Call("clip", (x, lo, hi)):
            return f"min(max({_code(x, ref)}, {_code(lo, ref)}), {_code(hi, ref)})"
        case Call(func, args):
            return f"{func}({', '.join(_code(arg, ref) for arg in args)})"
    raise ExprError(f"cannot generate code for {tree!r}", 0)  # pragma: no cover
