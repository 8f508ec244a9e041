from __future__ import annotations

import io
import math
import re
import tokenize
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.errors import ExprError
from sim.format.expr import EXPR_FUNCTIONS, RUNTIME, Checked, Type, check, compile_expr, to_python

N, B = Type.NUMBER, Type.BOOL
NAMES = {"x": N, "y": N, "z": N, "t": N, "integration": N, "p": B, "q": B, "annexed": B}
VALUES: dict[str, float | bool] = {
    "x": 2.5,
    "y": -4.0,
    "z": 0.0,
    "t": 10.0,
    "integration": 0.5,
    "p": True,
    "q": False,
    "annexed": False,
}
SLOTS = {name: i for i, name in enumerate(NAMES)}
V = [VALUES[name] for name in NAMES]


def slot(name: str) -> str:
    return f"v[{SLOTS[name]}]"


def run(source: str, v: list[Any] = V) -> float | bool:
    return compile_expr(check(source, NAMES), slot)(v)


VALID = [
    ("1 + 2", N, 3.0),
    ("x * 2 + y", N, 1.0),
    ("x / 2", N, 1.25),
    ("2 ** 3 ** 2", N, 512.0),
    ("-2 ** 2", N, -4.0),
    ("2 ** -1", N, 0.5),
    ("y ** 2", N, 16.0),
    ("(-8) ** 2", N, 64.0),
    ("7 % 3", N, 1.0),
    ("-7 % 3", N, 2.0),
    ("y % 3", N, 2.0),
    ("+x", N, 2.5),
    ("-x", N, -2.5),
    ("- -x", N, 2.5),
    ("t", N, 10.0),
    ("1_000 + 1e3 + .5", N, 2000.5),
    ("true", B, True),
    ("false", B, False),
    ("not p", B, False),
    ("p and q", B, False),
    ("p or q", B, True),
    ("not annexed and integration > 0.4", B, True),
    ("not p == q", B, True),
    ("1 < x < 3", B, True),
    ("1 < x < 2", B, False),
    ("x == 2.5", B, True),
    ("p != q", B, True),
    ("p == true", B, True),
    ("x >= 2.5 and y <= -4", B, True),
    ("x if p else y", N, 2.5),
    ("x if q else y", N, -4.0),
    ("p if x > 0 else q", B, True),
    ("1 if false else 2", N, 2.0),
    ("min(x, y, 3)", N, -4.0),
    ("max(x, y)", N, 2.5),
    ("abs(y)", N, 4.0),
    ("clip(x, 0, 1)", N, 1.0),
    ("clip(y, 0, 1)", N, 0.0),
    ("clip(integration, 0, 1)", N, 0.5),
    ("exp(z)", N, 1.0),
    ("log(exp(x))", N, 2.5),
    ("sqrt(x * 10)", N, 5.0),
    ("floor(x)", N, 2.0),
    ("ceil(x)", N, 3.0),
    ("floor(y / 3)", N, -2.0),
    ("x +\n  y", N, -1.5),
    # Folded at check time:
    ("true and false", B, False),
    ("false or true", B, True),
    ("not false", B, True),
    ("1 < 2 < 1.5", B, False),
    ("1 == 1.0", B, True),
    ("true != false", B, True),
    ("-(2 + 3)", N, -5.0),
    ("10 if 1 > 2 else 20", N, 20.0),
    ("min(3, 1, 2) + max(3, 1, 2)", N, 4.0),
    ("clip(5, 0, 1) + abs(-2) + floor(1.5) + ceil(1.5)", N, 6.0),
    ("2 ** 0.5 * 2 ** 0.5", N, 2.0000000000000004),
    ("7 % -3", N, -2.0),
    ("integration\n  + 0.05 * (1 - integration)", N, 0.525),
]


@pytest.mark.parametrize(("source", "type_", "value"), VALID)
def test_valid_expression_has_its_type_and_value(
    source: str, type_: Type, value: float | bool
) -> None:
    assert check(source, NAMES).type is type_
    result = run(source)
    assert result == value
    assert type(result) is type(value)  # floor/ceil give floats, comparisons bools


REFUSED = [
    ("a.b", {"a": N}, 2, "attributes are not allowed: '.b'"),
    ("x[0]", NAMES, 1, "subscripts"),
    ("print(x)", NAMES, 0, "'print' is an unknown function; the functions are min, max"),
    ("sqr(x)", NAMES, 0, "did you mean 'sqrt'?"),
    ("x(1)", NAMES, 0, "'x' is not a function"),
    ("(x + 1)(2)", NAMES, 0, "only the functions min, max"),
    ("min(x, y, key=1)", NAMES, 10, "min() takes no keyword arguments"),
    ("max(x, **y)", NAMES, 7, "max() takes no keyword arguments"),
    ("min(x, *y)", NAMES, 7, "min() takes no star arguments"),
    ("lambda: 1", NAMES, 0, "lambdas are not allowed"),
    ("[x for x in y]", NAMES, 0, "comprehensions are not allowed"),
    ("1 + sum(x for x in y)", NAMES, 4, "'sum' is an unknown function"),
    ("'a'", NAMES, 0, "strings are not allowed"),
    ("x + b'a'", NAMES, 4, "strings are not allowed"),
    ("f'{x}'", NAMES, 0, "f-strings are not allowed"),
    ("__import__('os')", NAMES, 0, "dunder names are not allowed: '__import__'"),
    ("x.__class__", NAMES, 2, "dunder names are not allowed: '__class__'"),
    ("(x) . __class__", NAMES, 6, "dunder names are not allowed: '__class__'"),
    ("__builtins__", NAMES, 0, "dunder names are not allowed: '__builtins__'"),
    ("(y := 1)", NAMES, 1, "assignments (`:=`) are not allowed"),
    ("x // 2", NAMES, 2, "`//` is not allowed; write floor(a / b)"),
    ("(x)//2", NAMES, 3, "`//` is not allowed"),
    ("x @ y", NAMES, 2, "`@` is not allowed"),
    ("p & q", NAMES, 2, "bitwise `&` is not allowed; write `and`"),
    ("p | q", NAMES, 2, "bitwise `|` is not allowed; write `or`"),
    ("x ^ 2", NAMES, 2, "bitwise `^` is not allowed"),
    ("~p", NAMES, 0, "bitwise `~` is not allowed; write `not`"),
    ("x is y", NAMES, 2, "`is` is not allowed; write `==`"),
    ("x < y is not z", NAMES, 6, "`is not` is not allowed"),
    ("x in y", NAMES, 2, "`in` is not allowed"),
    ("x not in y", NAMES, 2, "`not in` is not allowed"),
    ("True", NAMES, 0, "`True` is not in the language; write `true`"),
    ("p == False", NAMES, 5, "`False` is not in the language; write `false`"),
    ("None", NAMES, 0, "`None` is not in the language"),
    ("integraton > 1", NAMES, 0, "unknown name 'integraton'; did you mean 'integration'?"),
    ("wibble", NAMES, 0, "unknown name 'wibble'"),
    ("sqrt", NAMES, 0, "'sqrt' is a function: call it, as in sqrt(x)"),
    ("1 + annexed", NAMES, 4, "`+` needs numbers, got bool (annexed)"),
    ("-p", NAMES, 1, "unary `-` needs a number, got bool (p)"),
    ("sqrt(p)", NAMES, 5, "`sqrt` needs numbers, got bool (p)"),
    ("p < 1", NAMES, 0, "`<` needs numbers, got bool (p)"),
    ("x and p", NAMES, 0, "`and` needs conditions (bool), got a number (x)"),
    ("not x", NAMES, 4, "`not` needs a condition (bool), got a number (x)"),
    ("1 if x + 1 else 2", NAMES, 5, "the condition of `if` needs a bool, got a number (x + 1)"),
    ("x == p", NAMES, 5, "`==` needs both sides of one type, got a number (x) and bool (p)"),
    ("x if p else q", NAMES, 12, "arms of `x if c else y` must have one type"),
    ("sqrt(1, 2)", NAMES, 0, "sqrt() needs 1 argument, got 2"),
    ("min(x)", NAMES, 0, "min() needs at least 2 arguments, got 1"),
    ("clip(x, 1)", NAMES, 0, "clip() needs 3 arguments (x, lo, hi), got 2"),
    ("9**9**9", NAMES, 0, "constant expression overflows: 9**9**9"),
    ("x + 2 ** 5000", NAMES, 4, "constant expression overflows: 2 ** 5000"),
    ("1e308 * 10", NAMES, 0, "constant expression overflows"),
    ("1e400", NAMES, 0, "number is too large: 1e400"),
    ("1/0", NAMES, 0, "constant expression divides by zero: 1/0"),
    ("x if p else 1 % 0", NAMES, 12, "constant expression divides by zero: 1 % 0"),
    ("log(-1)", NAMES, 0, "constant expression is undefined (math domain): log(-1)"),
    ("sqrt(-1)", NAMES, 0, "constant expression is undefined"),
    ("(-8) ** (1/3)", NAMES, 0, "constant expression is undefined"),
    ("1j", NAMES, 0, "complex literals are not allowed"),
    ("(x, y)", NAMES, 0, "tuples are not allowed"),
    ("[x]", NAMES, 0, "lists are not allowed"),
    ("{x}", NAMES, 0, "sets are not allowed"),
    ("{x: y}", NAMES, 0, "dicts are not allowed"),
    ("x" * 1001, NAMES, 1000, "expression is too long: 1001 characters, at most 1000"),
    ("(" * 200 + "x" + ")" * 200, NAMES, 100, "nests too deeply: more than 100 levels"),
    ("-" * 150 + "x", NAMES, 100, "nests too deeply"),
    ("min(" + "x, " * 300 + "x)", NAMES, 0, "expression is too large: more than 300 parts"),
    ("x # comment", NAMES, 2, "comments (`#`) are not allowed"),
    ("x +\0 1", NAMES, 3, "character '\\x00' is not allowed"),
    ("x\x0c+ 1", NAMES, 1, "character '\\x0c' is not allowed"),
    ("   ", NAMES, 0, "empty expression"),
    ("x +", NAMES, 3, "syntax error"),
    ("x + $", NAMES, 4, "syntax error"),
    ("x +\n (", NAMES, 5, "syntax error: '(' was never closed"),
    ("'é' $", NAMES, 4, "syntax error"),  # Python's offset counts characters
    ("'éé' // 2", NAMES, 5, "`//` is not allowed"),  # ast counts UTF-8 bytes
    ("ｘ + 1", NAMES, 0, "names must be ASCII: 'ｘ'"),  # NFKC would read it as x
    ("x +\n  p", NAMES, 6, "`+` needs numbers, got bool (p)"),
]


@pytest.mark.parametrize(("source", "names", "offset", "message"), REFUSED)
def test_refused_expression_names_the_problem_and_its_offset(
    source: str, names: dict[str, Type], offset: int, message: str
) -> None:
    with pytest.raises(ExprError, match=re.escape(message)) as info:
        check(source, names)
    assert info.value.offset == offset


def test_expect_bool_refuses_a_number() -> None:
    with pytest.raises(ExprError, match=re.escape("expected a condition (bool), got a number")):
        check("x + 1", NAMES, expect=B)


def test_expect_number_refuses_a_condition() -> None:
    with pytest.raises(ExprError, match=re.escape("expected a number, got a condition (bool)")):
        check("x > 1", NAMES, expect=N)


def test_expect_accepts_the_right_type() -> None:
    assert check("x > 1", NAMES, expect=B).type is B


def test_constant_is_the_folded_value() -> None:
    assert check("2 * (3 + 4)", NAMES).constant == 14.0
    assert check("false or 1 > 2", NAMES).constant is False


def test_constant_is_none_when_names_are_read() -> None:
    assert check("x * 0", NAMES).constant is None


def test_names_are_those_read() -> None:
    assert check("x + y if p else t", NAMES).names == {"x", "y", "p", "t"}


def test_name_free_subtrees_are_inlined_as_float_literals() -> None:
    assert to_python(check("x + 2 * 3 - -1", NAMES), slot) == "((v[0] + 6.0) - (-1.0))"


def test_generated_code_inlines_clip_and_uses_pow() -> None:
    code = to_python(check("clip(x ** y, 0, 1)", NAMES), slot)
    assert code == "min(max(pow(v[0], v[1]), 0.0), 1.0)"


def test_true_and_false_are_literals_even_if_the_caller_names_them() -> None:
    assert check("true", {"true": N}).type is B


def test_a_function_name_can_also_be_a_variable() -> None:
    assert run("max(1, 2) + 0", V) == 2.0
    assert compile_expr(check("max + max(1, 2)", {"max": N}), lambda n: "v[0]")([5.0]) == 7.0


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("y ** 0.5", ValueError),  # never a complex number
        ("x / z", ZeroDivisionError),
        ("x % z", ZeroDivisionError),
        ("log(y)", ValueError),
        ("sqrt(y)", ValueError),
        ("exp(x * 1000)", OverflowError),
        ("x ** 1000", OverflowError),
    ],
)
def test_run_time_errors_are_arithmetic_or_value_errors(
    source: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        run(source)


def test_generated_code_has_no_builtins() -> None:
    fn = compile_expr(check("x", NAMES), slot)
    assert fn.__globals__["__builtins__"] == {}


def test_runtime_has_the_language_functions() -> None:
    assert EXPR_FUNCTIONS == ("min", "max", "abs", "clip", "exp", "log", "sqrt", "floor", "ceil")
    assert set(RUNTIME) == {*EXPR_FUNCTIONS, "pow", "__builtins__"}


@pytest.mark.parametrize("source", ["-" * 999 + "x", "not " * 249 + "p", "x**" * 333 + "x"])
def test_deep_sources_are_refused_without_recursion_errors(source: str) -> None:
    with pytest.raises(ExprError, match="deeply"):
        check(source, NAMES)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_text_raises_nothing_but_expr_error(source: str) -> None:
    try:
        check(source, NAMES)
    except ExprError as error:
        assert 0 <= error.offset <= len(source)


PIECES = [*"xypq()+-*/%<>=!., 0123456789e\n'é_[]:", " and ", " or ", "not ", " if ", " else "]
PIECES += ["true", "false", "min(", "clip(", "log("]
GRAMMAR_TEXT = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=300)
@given(GRAMMAR_TEXT)
def test_grammar_like_text_raises_nothing_but_expr_error(source: str) -> None:
    try:
        check(source, NAMES)
    except ExprError as error:
        assert 0 <= error.offset <= len(source)


# Random syntax trees: tuples rendered fully parenthesised, checked against an independent
# type checker and tree-walking interpreter with the same float semantics.
ENV_TYPES = {"x": N, "y": N, "z": N, "p": B, "q": B}
ENV_SLOTS = {name: i for i, name in enumerate(ENV_TYPES)}
ARITY = {"min": (2, 9), "max": (2, 9), "clip": (3, 3)} | {
    name: (1, 1) for name in ("abs", "exp", "log", "sqrt", "floor", "ceil")
}
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]

Tree = tuple[Any, ...]
LEAVES = st.one_of(
    st.tuples(
        st.just("num"),
        st.sampled_from([0.0, 1.0, 2.0, 0.5, 3.0, 10.0, 1e300])
        | st.floats(0, 1e6, allow_nan=False),
    ),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("name"), st.sampled_from(sorted(ENV_TYPES))),
)


def extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.sampled_from(["neg", "pos", "not"]), children),
        st.tuples(
            st.just("bin"), st.sampled_from(["+", "-", "*", "/", "%", "**"]), children, children
        ),
        st.tuples(
            st.just("cmp"),
            children,
            st.lists(st.tuples(st.sampled_from(COMPARISONS), children), min_size=1, max_size=2),
        ),
        st.tuples(
            st.just("logic"),
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3),
        ),
        st.tuples(st.just("if"), children, children, children),
        st.tuples(
            st.just("call"),
            st.sampled_from(sorted(ARITY)),
            st.lists(children, min_size=1, max_size=4),
        ),
    )


def kind(tree: Tree) -> Type:
    """The type of a tree built by typed_extend (well typed by construction)."""
    match tree:
        case ("name", name):
            return ENV_TYPES[name]
        case ("if", _, body, _):
            return kind(body)
        case ("bool" | "not" | "cmp" | "logic", *_):
            return B
    return N


def as_number(tree: Tree) -> Tree:
    return tree if kind(tree) is N else ("if", tree, ("name", "x"), ("num", 1.0))


def as_bool(tree: Tree) -> Tree:
    return tree if kind(tree) is B else ("cmp", tree, [("<", ("name", "y"))])


def typed_extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    numbers, bools = children.map(as_number), children.map(as_bool)
    any_pair = st.tuples(children, children).map(
        lambda pair: pair if kind(pair[0]) is kind(pair[1]) else tuple(map(as_number, pair))
    )
    return st.one_of(
        st.tuples(st.sampled_from(["neg", "pos"]), numbers),
        st.tuples(st.just("not"), bools),
        st.tuples(
            st.just("bin"), st.sampled_from(["+", "-", "*", "/", "%", "**"]), numbers, numbers
        ),
        st.tuples(
            st.just("cmp"),
            numbers,
            st.lists(st.tuples(st.sampled_from(COMPARISONS), numbers), min_size=1, max_size=2),
        ),
        st.tuples(st.sampled_from(["==", "!="]), any_pair).map(
            lambda op_pair: ("cmp", op_pair[1][0], [(op_pair[0], op_pair[1][1])])
        ),
        st.tuples(
            st.just("logic"),
            st.sampled_from(["and", "or"]),
            st.lists(bools, min_size=2, max_size=3),
        ),
        st.tuples(st.just("if"), bools, any_pair).map(lambda t: ("if", t[1], *t[2])),
        st.tuples(
            st.just("call"),
            st.sampled_from([name for name in ARITY if ARITY[name][1] == 1]),
            st.lists(numbers, min_size=1, max_size=1),
        ),
        st.tuples(
            st.just("call"),
            st.sampled_from(["min", "max"]),
            st.lists(numbers, min_size=2, max_size=3),
        ),
        st.tuples(st.just("call"), st.just("clip"), st.lists(numbers, min_size=3, max_size=3)),
    )


# Well-typed trees mostly check, so that values get compared; extend also mixes types.
TREES = st.recursive(LEAVES, typed_extend, max_leaves=16) | st.recursive(
    LEAVES, extend, max_leaves=16
)


def render(tree: Tree) -> str:
    match tree:
        case ("num", value):
            return str(int(value)) if value.is_integer() and value < 1e6 else repr(value)
        case ("bool", value):
            return "true" if value else "false"
        case ("name", name):
            return str(name)
        case ("neg", a):
            return f"(-{render(a)})"
        case ("pos", a):
            return f"(+{render(a)})"
        case ("not", a):
            return f"(not {render(a)})"
        case ("bin", op, a, b):
            return f"({render(a)} {op} {render(b)})"
        case ("cmp", a, rest):
            return "(" + render(a) + "".join(f" {op} {render(b)}" for op, b in rest) + ")"
        case ("logic", op, values):
            return "(" + f" {op} ".join(render(value) for value in values) + ")"
        case ("if", c, a, b):
            return f"({render(a)} if {render(c)} else {render(b)})"
        case ("call", name, args):
            return f"{name}({', '.join(render(arg) for arg in args)})"
    raise AssertionError(tree)


def children(tree: Tree) -> list[Tree]:
    match tree:
        case ("neg" | "pos" | "not", a):
            return [a]
        case ("bin", _, a, b):
            return [a, b]
        case ("cmp", a, rest):
            return [a, *(b for _, b in rest)]
        case ("logic", _, values) | ("call", _, values):
            return list(values)
        case ("if", c, a, b):
            return [c, a, b]
    return []


def depth(tree: Tree) -> int:
    return 1 + max((depth(child) for child in children(tree)), default=0)


def names(tree: Tree) -> set[str]:
    own = {tree[1]} if tree[0] == "name" else set()
    return own.union(*(names(child) for child in children(tree)))


def typeof(tree: Tree) -> Type | None:
    """The reference type checker: None for an ill-typed tree."""
    kids = [typeof(child) for child in children(tree)]
    if None in kids:
        return None
    match tree:
        case ("num", _):
            return N
        case ("bool", _):
            return B
        case ("name", name):
            return ENV_TYPES[name]
        case ("neg" | "pos" | "bin", *_):
            return N if all(kid is N for kid in kids) else None
        case ("not" | "logic", *_):
            return B if all(kid is B for kid in kids) else None
        case ("cmp", _, rest):
            for (op, _), left, right in zip(rest, kids, kids[1:], strict=False):
                if op in ("==", "!=") and left is not right:
                    return None
                if op not in ("==", "!=") and not left is right is N:
                    return None
            return B
        case ("if", _, _, _):
            return kids[1] if kids[0] is B and kids[1] is kids[2] else None
        case ("call", name, args):
            low, high = ARITY[name]
            return N if low <= len(args) <= high and all(kid is N for kid in kids) else None
    raise AssertionError(tree)


FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "clip": lambda x, lo, hi: min(max(x, lo), hi),
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
}
ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "**": math.pow,
}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def evaluate(tree: Tree, env: dict[str, Any]) -> Any:
    """The reference interpreter: lazy where Python is (and, or, if, comparison chains)."""
    match tree:
        case ("num" | "bool", value):
            return float(value) if tree[0] == "num" else value
        case ("name", name):
            return env[name]
        case ("neg", a):
            return -evaluate(a, env)
        case ("pos", a):
            return evaluate(a, env)
        case ("not", a):
            return not evaluate(a, env)
        case ("bin", op, a, b):
            return ARITHMETIC[op](evaluate(a, env), evaluate(b, env))
        case ("cmp", a, rest):
            left = evaluate(a, env)
            for op, b in rest:
                right = evaluate(b, env)
                if not COMPARE[op](left, right):
                    return False
                left = right
            return True
        case ("logic", "and", values):
            return all(evaluate(value, env) for value in values)
        case ("logic", "or", values):
            return any(evaluate(value, env) for value in values)
        case ("if", c, a, b):
            return evaluate(a, env) if evaluate(c, env) else evaluate(b, env)
        case ("call", name, args):
            return FUNCTIONS[name](*(evaluate(arg, env) for arg in args))
    raise AssertionError(tree)


def constant_fails(tree: Tree) -> bool:
    """Whether some name-free subtree fails or is not finite (refused at check time)."""
    if not names(tree) and tree[0] not in ("num", "bool"):
        try:
            value = evaluate(tree, {})
        except (ArithmeticError, ValueError):
            return True
        if not isinstance(value, bool) and not math.isfinite(value):
            return True
    return any(constant_fails(child) for child in children(tree))


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (ArithmeticError, ValueError) as error:
        return type(error)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, type) or isinstance(b, type) or isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, type) else (type(a) is type(b) and a == b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


VALUES_OF_NAMES = st.fixed_dictionaries(
    {
        "x": st.floats(-10, 10) | st.just(0.0),
        "y": st.floats(-10, 10) | st.sampled_from([-1.0, 2.0]),
        "z": st.floats(-1e3, 1e3),
        "p": st.booleans(),
        "q": st.booleans(),
    }
)


@settings(max_examples=400, deadline=None)
@given(TREES, VALUES_OF_NAMES)
def test_random_trees_check_as_the_reference_and_evaluate_to_its_value(
    tree: Tree, env: dict[str, Any]
) -> None:
    assume(depth(tree) <= 30)
    source = render(tree)
    expected_type = typeof(tree)
    accepted = expected_type is not None and not constant_fails(tree)
    try:
        checked = check(source, ENV_TYPES)
    except ExprError:
        assert not accepted, source
        return
    assert accepted, source
    assert checked.type is expected_type
    assert checked.names == names(tree)
    fn = compile_expr(checked, lambda name: f"v[{ENV_SLOTS[name]}]")
    v = [env[name] for name in ENV_TYPES]
    got, want = outcome(lambda: fn(v)), outcome(lambda: evaluate(tree, env))
    assert same(got, want), (source, got, want)


ALLOWED_NAMES = {f"_{name}" for name in ENV_TYPES} | set(RUNTIME) - {"__builtins__"}
ALLOWED_NAMES |= {"True", "False", "and", "or", "not", "if", "else"}
ALLOWED_OPS = {"+", "-", "*", "/", "%", "(", ")", ",", "<", "<=", ">", ">=", "==", "!="}


def assert_allowed_tokens(code: str) -> None:
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.NAME:
            assert token.string in ALLOWED_NAMES, code
        elif token.type == tokenize.NUMBER:
            assert re.search(r"[.e]", token.string) and math.isfinite(float(token.string)), code
        elif token.type == tokenize.OP:
            assert token.string in ALLOWED_OPS, code
        else:
            assert token.type in (tokenize.NEWLINE, tokenize.ENDMARKER), code


@settings(max_examples=200, deadline=None)
@given(TREES)
def test_check_is_deterministic_and_code_has_only_allowed_tokens(tree: Tree) -> None:
    assume(depth(tree) <= 30)
    source = render(tree)
    try:
        first = check(source, ENV_TYPES)
    except ExprError as error:
        with pytest.raises(ExprError) as again:
            check(source, ENV_TYPES)
        assert (again.value.message, again.value.offset) == (error.message, error.offset)
        return
    second: Checked = check(source, ENV_TYPES)
    assert first == second
    code = to_python(first, lambda name: f"_{name}")
    assert code == to_python(second, lambda name: f"_{name}")
    assert_allowed_tokens(code)


def test_a_long_sum_of_indicators_is_not_too_deep() -> None:
    names = {f"x{i}": Type.NUMBER for i in range(80)}
    checked = check(" + ".join(names), names)
    fn = compile_expr(checked, lambda n: f"v[{int(n[1:])}]")
    assert fn([1.0] * 80) == 80.0
