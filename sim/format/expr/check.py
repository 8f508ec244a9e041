"""Checking an expression: parse with :mod:`ast`, walk a strict whitelist, check types, fold.

Scenario files never execute code: the text is parsed, never evaluated; only the
validated tree (:mod:`sim.format.expr.tree`) is turned into code.
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings
from collections.abc import Iterator, Mapping

from sim.errors import ExprError
from sim.format.expr.language import (
    ARITHMETIC,
    COMPARISONS,
    CONSTRUCTS,
    EXAMPLES,
    EXPR_FUNCTIONS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    REFUSED_OPERATORS,
    Type,
)
from sim.format.expr.tree import (
    Arith,
    Call,
    Checked,
    Compare,
    Const,
    If,
    Logic,
    Name,
    Neg,
    Node,
    Not,
    evaluate,
    subtrees,
)

__all__ = [
    "check",
    "names_in",
]


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
    constant = node.value if isinstance(node, Const) else None
    return Checked(source, type_, frozenset(checker.used), constant, node)


def names_in(checked: Checked) -> frozenset[str]:
    """Return the caller's names that ``checked`` reads."""
    return checked.names


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

    def build(self, node: ast.expr) -> tuple[Node, Type]:
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
        what = CONSTRUCTS.get(type(node), f"`{type(node).__name__}`")
        raise ExprError(f"{what} are not allowed", self.at.start(node))

    def _attr(self, node: ast.Attribute) -> int:
        """Return the offset of the attribute name after the dot."""
        i = self.at.after(node.value) + 1
        while i < len(self.at.text) and self.at.text[i] == " ":
            i += 1
        return i

    def _constant(self, node: ast.Constant) -> tuple[Node, Type]:
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
        return Const(number), Type.NUMBER

    def _name(self, node: ast.Name) -> tuple[Node, Type]:
        """Resolve a name: a literal, a caller's name, or a refusal with a suggestion."""
        name, at = node.id, self.at.start(node)
        written = self.at.text[at : self.at.end(node)]
        if not written.isascii():
            raise ExprError(f"names must be ASCII: {written!r}", at)
        if name in ("true", "false"):
            return Const(name == "true"), Type.BOOL
        if name.startswith("__"):
            raise ExprError(f"dunder names are not allowed: {name!r}", at)
        if name in self.names:
            self.used.add(name)
            return Name(name), self.names[name]
        if name in FUNCTIONS:
            raise ExprError(f"{name!r} is a function: call it, as in {EXAMPLES[name]}", at)
        close = difflib.get_close_matches(name, [*self.names, "true", "false"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExprError(f"unknown name {name!r}{hint}", at)

    def _unary(self, node: ast.UnaryOp) -> tuple[Node, Type]:
        """Check unary ``-``, ``+`` (numbers) and ``not`` (conditions)."""
        if type(node.op) in REFUSED_OPERATORS:
            raise ExprError(REFUSED_OPERATORS[type(node.op)], self.at.start(node))
        operand, type_ = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            self._need(Type.BOOL, type_, node.operand, "`not` needs a condition (bool)")
            return self._fold(Not(operand), node), Type.BOOL
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        self._need(Type.NUMBER, type_, node.operand, f"unary `{symbol}` needs a number")
        return (self._fold(Neg(operand), node) if symbol == "-" else operand), Type.NUMBER

    def _binary(self, node: ast.BinOp) -> tuple[Node, Type]:
        """Check an arithmetic operator: both sides numbers."""
        if type(node.op) in REFUSED_OPERATORS:
            raise ExprError(REFUSED_OPERATORS[type(node.op)], self.at.after(node.left))
        symbol = ARITHMETIC[type(node.op)][0]
        left, left_type = self.build(node.left)
        right, right_type = self.build(node.right)
        self._need(Type.NUMBER, left_type, node.left, f"`{symbol}` needs numbers")
        self._need(Type.NUMBER, right_type, node.right, f"`{symbol}` needs numbers")
        return self._fold(Arith(symbol, left, right), node), Type.NUMBER

    def _logic(self, node: ast.BoolOp) -> tuple[Node, Type]:
        """Check ``and``/``or``: every operand a condition."""
        symbol = "and" if isinstance(node.op, ast.And) else "or"
        values = []
        for value in node.values:
            tree, type_ = self.build(value)
            self._need(Type.BOOL, type_, value, f"`{symbol}` needs conditions (bool)")
            values.append(tree)
        return self._fold(Logic(symbol, tuple(values)), node), Type.BOOL

    def _compare(self, node: ast.Compare) -> tuple[Node, Type]:
        """Check a comparison chain: ordering needs numbers, ``==``/``!=`` one type."""
        operands = [node.left, *node.comparators]
        for op, left in zip(node.ops, operands, strict=False):
            if type(op) in REFUSED_OPERATORS:
                raise ExprError(REFUSED_OPERATORS[type(op)], self.at.after(left))
        built = [self.build(operand) for operand in operands]
        symbols = tuple(COMPARISONS[type(op)][0] for op in node.ops)
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
        return self._fold(Compare(trees[0], symbols, trees[1:]), node), Type.BOOL

    def _if(self, node: ast.IfExp) -> tuple[Node, Type]:
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
        return self._fold(If(test, body, orelse), node), body_type

    def _call(self, node: ast.Call) -> tuple[Node, Type]:
        """Check a call to one of the language's functions with plain number arguments."""
        at = self.at.start(node)
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"only the functions {', '.join(EXPR_FUNCTIONS)} can be called", at)
        name = node.func.id
        if name.startswith("__"):
            raise ExprError(f"dunder names are not allowed: {name!r}", at)
        if name not in FUNCTIONS:
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
        return self._fold(Call(name, tuple(args)), node), Type.NUMBER

    def _arity(self, name: str, given: int, at: int) -> None:
        """Refuse a call with the wrong number of arguments."""
        _, fewest, most = FUNCTIONS[name]
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

    def _fold(self, tree: Node, node: ast.expr) -> Node:
        """Evaluate ``tree`` now if its children are constants; refuse failing constants."""
        if not all(isinstance(child, Const) for child in subtrees(tree)):
            return tree
        where, at = self.at.segment(node), self.at.start(node)
        try:
            value = evaluate(tree)
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
        return Const(value)


def _listed() -> str:
    """Return the function names for messages."""
    return ", ".join(EXPR_FUNCTIONS)
