"""The expression language of scenario files: parse, check, fold constants, compile once.

Expressions are strings in a small, pure language: float numbers, ``true``/``false``, names
given by the caller (parameters, state, ``t``), ``+ - * / ** %``, unary ``-``/``+``,
comparisons (chains allowed), ``and or not``, ``x if c else y``, parentheses and the
functions of :data:`EXPR_FUNCTIONS`. Scenario files never execute code: :func:`check`
parses the text with :mod:`ast`, walks a strict whitelist, checks types and folds every
name-free subtree; :func:`compile_expr` turns the validated tree (never the user's text)
into one Python function of the branch's value list ``v``.

At run time, generated code may raise ``ZeroDivisionError`` (``/``, ``%``), ``ValueError``
(``log``, ``sqrt``, a negative base to a fractional power, ``0 ** -1``, ``floor``/``ceil``
of NaN) or ``OverflowError`` (``exp``, ``**``, ``floor``/``ceil`` of an infinity): the
engine catches ``ArithmeticError`` and ``ValueError`` and reports them. ``%`` follows
Python (the result takes the sign of the divisor).
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, cast

from sim.errors import ExprError

__all__ = [
    "EXPR_FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "RUNTIME",
    "Checked",
    "Type",
    "check",
    "compile_expr",
    "names_in",
    "to_python",
]

MAX_LENGTH = 1000
MAX_NODES = 300
MAX_DEPTH = 100


class Type(Enum):
    """The type of an expression: a float number or a condition."""

    NUMBER = "number"
    BOOL = "bool"


def _floor(x: float) -> float:
    """Round down, as a float (``math.floor`` returns an int)."""
    return float(math.floor(x))


def _ceil(x: float) -> float:
    """Round up, as a float (``math.ceil`` returns an int)."""
    return float(math.ceil(x))


def _clip(x: float, lo: float, hi: float) -> float:
    """Clamp ``x`` to ``[lo, hi]``; generated code inlines the same ``min(max(...))``."""
    return min(max(x, lo), hi)


# name -> (implementation, fewest arguments, most arguments or None for any number)
_FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "clip": (_clip, 3, 3),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "floor": (_floor, 1, 1),
    "ceil": (_ceil, 1, 1),
}
EXPR_FUNCTIONS: tuple[str, ...] = tuple(_FUNCTIONS)
_EXAMPLES = {name: f"{name}(x)" for name in _FUNCTIONS} | {
    "min": "min(a, b)",
    "max": "max(a, b)",
    "clip": "clip(x, lo, hi)",
}

# ``math.pow`` never returns a complex number, unlike ``(-8) ** (1 / 3)``: it raises.
RUNTIME: Mapping[str, object] = MappingProxyType(
    {"__builtins__": {}, "pow": math.pow} | {name: f[0] for name, f in _FUNCTIONS.items()}
)

_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", math.pow),
}
_ARITHMETIC_BY_SYMBOL = dict(_ARITHMETIC.values())
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
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
_COMPARISONS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
}
_COMPARISONS_BY_SYMBOL = dict(_COMPARISONS.values())
_CONSTRUCTS: dict[type[ast.AST], str] = {
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


# The validated tree: small frozen nodes, with every name-free subtree folded to a _Const.
@dataclass(frozen=True, slots=True)
class _Const:
    value: float | bool


@dataclass(frozen=True, slots=True)
class _Name:
    name: str


@dataclass(frozen=True, slots=True)
class _Neg:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Arith:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Logic:
    op: str  # "and" or "or"
    values: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Compare:
    left: _Node
    ops: tuple[str, ...]
    rights: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _If:
    test: _Node
    body: _Node
    orelse: _Node


@dataclass(frozen=True, slots=True)
class _Call:
    func: str
    args: tuple[_Node, ...]


_Node = _Const | _Name | _Neg | _Not | _Arith | _Logic | _Compare | _If | _Call


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
    _tree: _Node = field(repr=False)


def check(source: str, names: Mapping[str, Type], expect: Type | None = None) -> Checked:
    """Parse and check ``source`` against the typed ``names``; raise ExprError if refused.

    ``true``/``false`` are literals even if ``names`` holds them; a name that is also a
    function reads the variable, a call calls the function.
    """
    text = _guard_text(source)
    tree = _parse(text)
    offsets = _Offsets(text)
    _guard_tree(tree, offsets)
    checker = _Checker(offsets, names)
    node, type_ = checker.build(tree.body)
    if expect is not None and type_ is not expect:
        wanted = "a condition (bool)" if expect is Type.BOOL else "a number"
        got = "a condition (bool)" if type_ is Type.BOOL else "a number"
        raise ExprError(f"expected {wanted}, got {got}", 0)
    constant = node.value if isinstance(node, _Const) else None
    return Checked(source, type_, frozenset(checker.used), constant, node)


def names_in(checked: Checked) -> frozenset[str]:
    """Return the caller's names that ``checked`` reads."""
    return checked.names


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


def _guard_text(source: str) -> str:
    """Refuse text too long, with control characters or comments; return it on one line."""
    if len(source) > MAX_LENGTH:
        raise ExprError(
            f"expression is too long: {len(source)} characters, at most {MAX_LENGTH}", MAX_LENGTH
        )
    if not source.strip():
        raise ExprError("empty expression", 0)
    depth, quote = 0, ""
    for i, char in enumerate(source):
        if not (char.isprintable() or char in "\n\r\t"):
            raise ExprError(f"character {char!r} is not allowed", i)
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            raise ExprError("comments (`#`) are not allowed", i)
        elif char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExprError(f"expression nests too deeply: more than {MAX_DEPTH} levels", i)
        elif char in ")]}":
            depth -= 1
    # Line breaks (YAML block scalars) are spaces: offsets stay the same, parsing stays eval.
    return source.replace("\r", " ").replace("\n", " ")


def _parse(text: str) -> ast.Expression:
    """Parse one-line ``text`` in eval mode, turning every parser failure into ExprError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # such as "invalid decimal literal" for `1if`
            return ast.parse(text, mode="eval")
    except SyntaxError as error:
        # The offset is 1-based in characters; 0 or beyond the end means the end.
        offset = (error.offset or 0) - 1
        offset = offset if 0 <= offset < len(text) else len(text)
        raise ExprError(f"syntax error: {error.msg}", offset) from None
    except (RecursionError, MemoryError, ValueError) as error:
        raise ExprError(f"expression cannot be parsed: {type(error).__name__}", 0) from None


def _guard_tree(tree: ast.Expression, offsets: _Offsets) -> None:
    """Refuse trees with too many nodes or nested too deeply, without recursing."""
    count = 0
    stack: list[tuple[ast.expr, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExprError(f"expression is too large: more than {MAX_NODES} parts", 0)
        if depth > MAX_DEPTH:
            raise ExprError(
                f"expression nests too deeply: more than {MAX_DEPTH} levels", offsets.start(node)
            )
        stack.extend((child, depth + 1) for child in _children(node))


def _children(node: ast.AST) -> Iterator[ast.expr]:
    """Yield the expression children of ``node`` (and of its keywords)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield child
        elif isinstance(child, ast.keyword | ast.comprehension):
            yield from _children(child)


class _Offsets:
    """Character offsets of ast nodes, whose columns count UTF-8 bytes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._ascii = text.isascii()
        self._bytes = text.encode()

    def char(self, col: int) -> int:
        """Convert a byte column to a character offset (line breaks became spaces: one line)."""
        if self._ascii:
            return col
        return len(self._bytes[:col].decode(errors="ignore"))

    def start(self, node: ast.expr | ast.keyword) -> int:
        """Return the character offset where ``node`` starts."""
        return self.char(node.col_offset)

    def end(self, node: ast.expr) -> int:
        """Return the character offset just after ``node``."""
        return self.char(node.end_col_offset or node.col_offset)

    def after(self, node: ast.expr) -> int:
        """Return the offset of the first character after ``node`` and its closing parens."""
        i = self.end(node)
        while i < len(self.text) and self.text[i] in " \t)":
            i += 1
        return i

    def segment(self, node: ast.expr) -> str:
        """Return the source of ``node``, shortened for messages."""
        text = " ".join(self.text[self.start(node) : self.end(node)].split())
        return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Turn an ast into the validated tree: whitelist, types, names, constant folding."""

    def __init__(self, offsets: _Offsets, names: Mapping[str, Type]) -> None:
        self.at = offsets
        self.names = names
        self.used: set[str] = set()

    def build(self, node: ast.expr) -> tuple[_Node, Type]:
        """Check ``node`` and its children (outer constructs first); return tree and type."""
        match node:
            case ast.Constant():
                return self._constant(node)
            case ast.Name():
                return self._name(node)
            case ast.UnaryOp():
                return self._unary(node)
            case ast.BinOp():
                return self._binary(node)
            case ast.BoolOp():
                return self._logic(node)
            case ast.Compare():
                return self._compare(node)
            case ast.IfExp():
                return self._if(node)
            case ast.Call():
                return self._call(node)
            case ast.Attribute() if node.attr.startswith("__"):
                raise ExprError(f"dunder names are not allowed: {node.attr!r}", self._attr(node))
            case ast.Attribute():
                raise ExprError(f"attributes are not allowed: '.{node.attr}'", self._attr(node))
            case ast.Subscript():
                raise ExprError("subscripts (`[...]`) are not allowed", self.at.after(node.value))
        what = _CONSTRUCTS.get(type(node), f"`{type(node).__name__}`")
        raise ExprError(f"{what} are not allowed", self.at.start(node))

    def _attr(self, node: ast.Attribute) -> int:
        """Return the offset of the attribute name after the dot."""
        i = self.at.after(node.value) + 1
        while i < len(self.at.text) and self.at.text[i] == " ":
            i += 1
        return i

    def _constant(self, node: ast.Constant) -> tuple[_Node, Type]:
        """Accept finite numbers; refuse Python's True/False/None, strings and complex."""
        value, at = node.value, self.at.start(node)
        if isinstance(value, bool) or value is None:
            hint = f"; write `{str(value).lower()}`" if value is not None else ""
            raise ExprError(f"`{value}` is not in the language{hint}", at)
        if isinstance(value, str | bytes):
            raise ExprError("strings are not allowed", at)
        if not isinstance(value, int | float):
            raise ExprError(f"{type(value).__name__} literals are not allowed", at)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ExprError(f"number is too large: {self.at.segment(node)}", at)
        return _Const(number), Type.NUMBER

    def _name(self, node: ast.Name) -> tuple[_Node, Type]:
        """Resolve a name: a literal, a caller's name, or a refusal with a suggestion."""
        name, at = node.id, self.at.start(node)
        written = self.at.text[at : self.at.end(node)]
        if not written.isascii():
            raise ExprError(f"names must be ASCII: {written!r}", at)
        if name in ("true", "false"):
            return _Const(name == "true"), Type.BOOL
        if name.startswith("__"):
            raise ExprError(f"dunder names are not allowed: {name!r}", at)
        if name in self.names:
            self.used.add(name)
            return _Name(name), self.names[name]
        if name in _FUNCTIONS:
            raise ExprError(f"{name!r} is a function: call it, as in {_EXAMPLES[name]}", at)
        close = difflib.get_close_matches(name, [*self.names, "true", "false"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExprError(f"unknown name {name!r}{hint}", at)

    def _unary(self, node: ast.UnaryOp) -> tuple[_Node, Type]:
        """Check unary ``-``, ``+`` (numbers) and ``not`` (conditions)."""
        if type(node.op) in _REFUSED_OPERATORS:
            raise ExprError(_REFUSED_OPERATORS[type(node.op)], self.at.start(node))
        operand, type_ = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            self._need(Type.BOOL, type_, node.operand, "`not` needs a condition (bool)")
            return self._fold(_Not(operand), node), Type.BOOL
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        self._need(Type.NUMBER, type_, node.operand, f"unary `{symbol}` needs a number")
        return (self._fold(_Neg(operand), node) if symbol == "-" else operand), Type.NUMBER

    def _binary(self, node: ast.BinOp) -> tuple[_Node, Type]:
        """Check an arithmetic operator: both sides numbers."""
        if type(node.op) in _REFUSED_OPERATORS:
            raise ExprError(_REFUSED_OPERATORS[type(node.op)], self.at.after(node.left))
        symbol = _ARITHMETIC[type(node.op)][0]
        left, left_type = self.build(node.left)
        right, right_type = self.build(node.right)
        self._need(Type.NUMBER, left_type, node.left, f"`{symbol}` needs numbers")
        self._need(Type.NUMBER, right_type, node.right, f"`{symbol}` needs numbers")
        return self._fold(_Arith(symbol, left, right), node), Type.NUMBER

    def _logic(self, node: ast.BoolOp) -> tuple[_Node, Type]:
        """Check ``and``/``or``: every operand a condition."""
        symbol = "and" if isinstance(node.op, ast.And) else "or"
        values = []
        for value in node.values:
            tree, type_ = self.build(value)
            self._need(Type.BOOL, type_, value, f"`{symbol}` needs conditions (bool)")
            values.append(tree)
        return self._fold(_Logic(symbol, tuple(values)), node), Type.BOOL

    def _compare(self, node: ast.Compare) -> tuple[_Node, Type]:
        """Check a comparison chain: ordering needs numbers, ``==``/``!=`` one type."""
        operands = [node.left, *node.comparators]
        for op, left in zip(node.ops, operands, strict=False):
            if type(op) in _REFUSED_OPERATORS:
                raise ExprError(_REFUSED_OPERATORS[type(op)], self.at.after(left))
        built = [self.build(operand) for operand in operands]
        symbols = tuple(_COMPARISONS[type(op)][0] for op in node.ops)
        for i, symbol in enumerate(symbols):
            (_, left_type), (_, right_type) = built[i], built[i + 1]
            if symbol in ("==", "!="):
                if left_type is not right_type:
                    raise ExprError(
                        f"`{symbol}` needs both sides of one type, got "
                        f"{self._got(left_type, operands[i])} and "
                        f"{self._got(right_type, operands[i + 1])}",
                        self.at.start(operands[i + 1]),
                    )
            else:
                self._need(Type.NUMBER, left_type, operands[i], f"`{symbol}` needs numbers")
                self._need(Type.NUMBER, right_type, operands[i + 1], f"`{symbol}` needs numbers")
        trees = tuple(tree for tree, _ in built)
        return self._fold(_Compare(trees[0], symbols, trees[1:]), node), Type.BOOL

    def _if(self, node: ast.IfExp) -> tuple[_Node, Type]:
        """Check ``x if c else y``: ``c`` a condition, both arms of one type."""
        test, test_type = self.build(node.test)
        body, body_type = self.build(node.body)
        orelse, orelse_type = self.build(node.orelse)
        self._need(Type.BOOL, test_type, node.test, "the condition of `if` needs a bool")
        if body_type is not orelse_type:
            raise ExprError(
                "the two arms of `x if c else y` must have one type, got "
                f"{self._got(body_type, node.body)} and {self._got(orelse_type, node.orelse)}",
                self.at.start(node.orelse),
            )
        return self._fold(_If(test, body, orelse), node), body_type

    def _call(self, node: ast.Call) -> tuple[_Node, Type]:
        """Check a call to one of the language's functions with plain number arguments."""
        at = self.at.start(node)
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"only the functions {', '.join(EXPR_FUNCTIONS)} can be called", at)
        name = node.func.id
        if name.startswith("__"):
            raise ExprError(f"dunder names are not allowed: {name!r}", at)
        if name not in _FUNCTIONS:
            close = difflib.get_close_matches(name, EXPR_FUNCTIONS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the functions are {_listed()}"
            what = "is not a function" if name in self.names else "is an unknown function"
            raise ExprError(f"{name!r} {what}; {hint}", at)
        if node.keywords:
            raise ExprError(f"{name}() takes no keyword arguments", self.at.start(node.keywords[0]))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExprError(f"{name}() takes no star arguments", self.at.start(arg))
        self._arity(name, len(node.args), at)
        args = []
        for arg in node.args:
            tree, type_ = self.build(arg)
            self._need(Type.NUMBER, type_, arg, f"`{name}` needs numbers")
            args.append(tree)
        return self._fold(_Call(name, tuple(args)), node), Type.NUMBER

    def _arity(self, name: str, given: int, at: int) -> None:
        """Refuse a call with the wrong number of arguments."""
        _, fewest, most = _FUNCTIONS[name]
        if most is None and given < fewest:
            raise ExprError(f"{name}() needs at least {fewest} arguments, got {given}", at)
        if most is not None and not fewest <= given <= most:
            wanted = "1 argument" if most == 1 else f"{most} arguments (x, lo, hi)"
            raise ExprError(f"{name}() needs {wanted}, got {given}", at)

    def _need(self, wanted: Type, got: Type, node: ast.expr, message: str) -> None:
        """Refuse an operand of the wrong type, pointing at it."""
        if got is not wanted:
            raise ExprError(f"{message}, got {self._got(got, node)}", self.at.start(node))

    def _got(self, type_: Type, node: ast.expr) -> str:
        """Describe an operand for a message: ``bool (annexed)``, ``a number (x + 1)``."""
        kind = "bool" if type_ is Type.BOOL else "a number"
        return f"{kind} ({self.at.segment(node)})"

    def _fold(self, tree: _Node, node: ast.expr) -> _Node:
        """Evaluate ``tree`` now if its children are constants; refuse failing constants."""
        if not all(isinstance(child, _Const) for child in _subtrees(tree)):
            return tree
        where, at = self.at.segment(node), self.at.start(node)
        try:
            value = _evaluate(tree)
        except ZeroDivisionError:
            raise ExprError(f"constant expression divides by zero: {where}", at) from None
        except OverflowError:
            raise ExprError(f"constant expression overflows: {where}", at) from None
        except ValueError:
            raise ExprError(
                f"constant expression is undefined (math domain): {where}", at
            ) from None
        if not isinstance(value, bool) and not math.isfinite(value):
            raise ExprError(f"constant expression overflows: {where}", at)
        return _Const(value)


def _listed() -> str:
    """Return the function names for messages."""
    return ", ".join(EXPR_FUNCTIONS)


def _subtrees(tree: _Node) -> tuple[_Node, ...]:
    """Return the direct children of ``tree``."""
    match tree:
        case _Neg(operand) | _Not(operand):
            return (operand,)
        case _Arith(_, left, right):
            return (left, right)
        case _Logic(_, values) | _Call(_, values):
            return values
        case _Compare(left, _, rights):
            return (left, *rights)
        case _If(test, body, orelse):
            return (test, body, orelse)
    return ()


def _evaluate(tree: _Node) -> float | bool:
    """Evaluate a name-free tree with the same operations as generated code."""
    match tree:
        case _Const(value):
            return value
        case _Neg(operand):
            return -_evaluate(operand)
        case _Not(operand):
            return not _evaluate(operand)
        case _Arith(op, left, right):
            return _ARITHMETIC_BY_SYMBOL[op](_evaluate(left), _evaluate(right))
        case _Logic("and", values):
            return all(_evaluate(value) for value in values)
        case _Logic(_, values):
            return any(_evaluate(value) for value in values)
        case _Compare(left, ops, rights):
            operands = [_evaluate(left), *(_evaluate(right) for right in rights)]
            return all(
                _COMPARISONS_BY_SYMBOL[op](a, b)
                for op, a, b in zip(ops, operands, operands[1:], strict=False)
            )
        case _If(test, body, orelse):
            return _evaluate(body) if _evaluate(test) else _evaluate(orelse)
        case _Call(func, args):
            return _FUNCTIONS[func][0](*(_evaluate(arg) for arg in args))
    raise ExprError(f"cannot evaluate {tree!r}", 0)  # pragma: no cover - every node is matched


def _code(tree: _Node, ref: Callable[[str], str]) -> str:
    """Return minimal, fully parenthesised Python source for ``tree``."""
    match tree:
        case _Const(value):
            text = repr(value)
            return f"({text})" if text.startswith("-") else text
        case _Name(name):
            return ref(name)
        case _Neg(operand):
            return f"(-{_code(operand, ref)})"
        case _Not(operand):
            return f"(not {_code(operand, ref)})"
        case _Arith("**", left, right):
            return f"pow({_code(left, ref)}, {_code(right, ref)})"
        case _Arith(op, left, right):
            return f"({_code(left, ref)} {op} {_code(right, ref)})"
        case _Logic(op, values):
            return "(" + f" {op} ".join(_code(value, ref) for value in values) + ")"
        case _Compare(left, ops, rights):
            chain = "".join(
                f" {op} {_code(right, ref)}" for op, right in zip(ops, rights, strict=True)
            )
            return f"({_code(left, ref)}{chain})"
        case _If(test, body, orelse):
            return f"({_code(body, ref)} if {_code(test, ref)} else {_code(orelse, ref)})"
        case _Call("clip", (x, lo, hi)):
            return f"min(max({_code(x, ref)}, {_code(lo, ref)}), {_code(hi, ref)})"
        case _Call(func, args):
            return f"{func}({', '.join(_code(arg, ref) for arg in args)})"
    raise ExprError(f"cannot generate code for {tree!r}", 0)  # pragma: no cover
