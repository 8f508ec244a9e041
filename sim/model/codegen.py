"""Generated Python functions: one per ``set`` block, compiled once with the model.

A ``set`` block assigns several state variables at once. :func:`effect_function` writes the
Python source of one function that evaluates every right-hand side on the old values,
refuses values that are not finite, clamps, assigns and returns the slots it changed, then
compiles it with the expression runtime as its only globals. The right-hand sides come from
:func:`sim.format.expr.to_python` (checked expressions with every name turned into a slot of
``v``), never from the user's text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sim.format.expr import RUNTIME, Checked

__all__ = ["Assignment", "effect_function"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """One line of a ``set`` block: the target's slot and name, the Python source, clamps."""

    slot: int
    name: str
    code: str
    lo: float | None
    hi: float | None
    number: bool
    checked: Checked | None = None  # the checked right-hand side (for the batch engine)


def _not_finite(name: str, value: float) -> None:
    """Refuse a value a ``set`` block computed that is not a finite number."""
    raise ValueError(f"state {name!r} would become {value}, not a finite number")


def effect_function(
    assignments: Sequence[Assignment], where: str
) -> Callable[[list[Any]], list[int]]:
    """Generate, compile and return the function of one ``set`` block.

    The sources come from :func:`sim.format.expr.to_python`, never from the user's text. The
    function evaluates every right-hand side on the old values first (simultaneous
    assignment), refuses a number that is not finite (an overflow or NaN would otherwise
    spread silently through the branch), clamps numbers, writes only the values that
    differ and returns the slots it changed.
    """
    lines = ["def _effect(v):"]
    for k, a in enumerate(assignments):
        lines.append(f"    _a{k} = {a.code}")
    for k, a in enumerate(assignments):
        if a.number:
            lines.append(f"    if not -1.7976931348623157e308 <= _a{k} <= 1.7976931348623157e308:")
            lines.append(f"        _not_finite({a.name!r}, _a{k})")
        if a.lo is not None:
            lines.append(f"    if _a{k} < {a.lo!r}: _a{k} = {a.lo!r}")
        if a.hi is not None:
            lines.append(f"    if _a{k} > {a.hi!r}: _a{k} = {a.hi!r}")
    lines.append("    _changed = []")
    for k, a in enumerate(assignments):
        lines.append(f"    if v[{a.slot}] != _a{k}:")
        lines.append(f"        v[{a.slot}] = _a{k}")
        lines.append(f"        _changed.append({a.slot})")
    lines.append("    return _changed")
    namespace = dict(RUNTIME)
    namespace["_not_finite"] = _not_finite
    exec(compile("\n".join(lines), f"<set {where}>", "exec"), namespace)
    function: Callable[[list[Any]], list[int]] = namespace["_effect"]  # type: ignore[assignment]
    return function
