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

The language's words are in :mod:`~sim.format.expr.language`, the checker in
:mod:`~sim.format.expr.check`, the validated tree and its code in :mod:`~sim.format.expr.tree`.
"""

from sim.format.expr.check import check, names_in
from sim.format.expr.language import (
    EXPR_FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    RUNTIME,
    Type,
)
from sim.format.expr.tree import Checked, compile_expr, compile_size, to_python

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
    "compile_size",
    "names_in",
    "to_python",
]
