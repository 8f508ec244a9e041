"""The words of the expression language: its types, functions, operators and limits.

What is allowed, and the message for what is not: the checker (:mod:`sim.format.expr.check`)
walks a strict whitelist built from these tables.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any

__all__ = [
    "ARITHMETIC",
    "ARITHMETIC_BY_SYMBOL",
    "COMPARISONS",
    "COMPARISONS_BY_SYMBOL",
    "CONSTRUCTS",
    "EXAMPLES",
    "EXPR_FUNCTIONS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "REFUSED_OPERATORS",
    "RUNTIME",
    "Type",
    "ceil_float",
    "clip",
    "floor_float",
]

MAX_LENGTH = 1000
MAX_NODES = 300
MAX_DEPTH = 100


class Type(Enum):
    """The type of an expression: a float number or a condition."""

    NUMBER = "number"
    BOOL = "bool"


def floor_float(x: float) -> float:
    """Round down, as a float (``math.floor`` returns an int)."""
    return float(math.floor(x))


def ceil_float(x: float) -> float:
    """Round up, as a float (``math.ceil`` returns an int)."""
    return float(math.ceil(x))


def clip(x: float, lo: float, hi: float) -> float:
    """Clamp ``x`` to ``[lo, hi]``; generated code inlines the same ``min(max(...))``."""
    return min(max(x, lo), hi)


# name -> (implementation, fewest arguments, most arguments or None for any number)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "clip": (clip, 3, 3),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "floor": (floor_float, 1, 1),
    "ceil": (ceil_float, 1, 1),
}
EXPR_FUNCTIONS: tuple[str, ...] = tuple(FUNCTIONS)
EXAMPLES = {name: f"{name}(x)" for name in FUNCTIONS} | {
    "min": "min(a, b)",
    "max": "max(a, b)",
    "clip": "clip(x, lo, hi)",
}

# ``math.pow`` never returns a complex number, unlike ``(-8) ** (1 / 3)``: it raises.
RUNTIME: Mapping[str, object] = MappingProxyType(
    {"__builtins__": {}, "pow": math.pow} | {name: f[0] for name, f in FUNCTIONS.items()}
)

ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", math.pow),
}
ARITHMETIC_BY_SYMBOL = dict(ARITHMETIC.values())
REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "`//` is not allowed; write floor(a / b)",
    ast.MatMult: "`@` is not allowed",
    ast.BitAnd: "bitwise `&` is not allowed; write `and`",
    ast.BitOr: "bitwise `|` is not allowed; write `or`",
    ast.BitXor: "bitwise `^` is not allowed; for a power write `**`",
    ast.LShift: "bitwise `<<` is not allowed",
    ast.RShift: "bitwise `>>` is not allowed",
    ast.Invert: "bitwise `~` is not allowed; write `not`",
    ast.Is: "`is` is not allowed; write `==`",
    ast.IsNot: "`is not` is not allowed; write `!=`",
    ast.In: "`in` is not allowed",
    ast.NotIn: "`not in` is not allowed",
}
COMPARISONS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
}
COMPARISONS_BY_SYMBOL = dict(COMPARISONS.values())
CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attributes",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignments (`:=`)",
    ast.Starred: "star arguments",
    ast.Await: "`await`",
    ast.Yield: "`yield`",
    ast.YieldFrom: "`yield`",
}
