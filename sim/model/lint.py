"""Warnings about a valid scenario: parts that have no effect on any result.

A parameter that nothing reads (no rate, condition, effect, outcome, initial value or other
distribution) only adds a column; a variant whose changes are all equal to the baseline, or
touch only such parameters, gives the baseline's results under another name. Neither is an
error, but both are usually a slip: ``sim validate`` prints them as located warnings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from sim.errors import Problem
from sim.format.document import Document
from sim.model.compiled import CompiledModel

__all__ = ["unused_warnings"]

_SKIPPED = frozenset({"scenario", "locations", "source", "includes", "columns"})


def unused_warnings(model: CompiledModel, doc: Document) -> list[Problem]:
    """Return located warnings about the parts of ``doc`` (compiled as ``model``) that do nothing.

    Only what the file itself defines is looked at: a definition from a shared library
    that one scenario leaves unread is no slip.
    """
    if model.scenario is None or not isinstance(doc.data, dict):
        return []
    read = _read_slots(model)
    unread = {p.name for p in model.parameters if p.slot not in read}
    # a composed file's data holds its libraries' definitions too: only its own count
    own = [n for n in doc.data.get("parameters") or {} if doc.site(("parameters", n))[0] is doc]
    problems = [
        doc.key_problem(("parameters", name), f"warning: nothing reads parameter {name!r}")
        for name in own
        if name in unread
    ]
    own_variants = doc.data.get("variants") or {}
    for name, variant in model.scenario.variants.items():
        why = _idle_variant(model.scenario, name, variant, unread)
        if why is not None and name in own_variants:
            problems.append(doc.key_problem(("variants", name), f"warning: {why}"))
    return problems


def _read_slots(model: CompiledModel) -> set[int]:
    """Return every slot that some compiled expression, effect or distribution reads."""
    read: set[int] = set()
    for item in _walk(model, set()):  # expressions, and distributions of expressions
        reads = getattr(item, "reads", None)
        if isinstance(reads, frozenset):
            read |= reads
    return read


def _walk(node: Any, seen: set[int]) -> Iterator[Any]:
    """Yield ``node`` and every dataclass, tuple, list and mapping below it, once each."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for field in dataclasses.fields(node):
            if field.name not in _SKIPPED:
                yield from _walk(getattr(node, field.name), seen)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item, seen)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _walk(item, seen)


def _idle_variant(scenario: Any, name: str, variant: Any, unread: set[str]) -> str | None:
    """Say why the variant ``name`` changes nothing, or return ``None`` if it changes something."""
    others = variant.model_dump(exclude={"description", "parameters", "state"})
    if any(value not in (None, {}, []) for value in others.values()):
        return None  # a kind of change this check does not know: assume it matters
    same: list[str] = []
    changed: list[str] = []
    for parameter, value in variant.parameters.items():
        base = scenario.parameters.get(parameter)
        equal = base is not None and (
            base.value == value if base.dist is None else base.dist == getattr(value, "dist", None)
        )
        if equal:
            shown = value if base.dist is None else base.dist.describe()
            same.append(f"{parameter} is {_text(shown)}")
        else:
            changed.append(parameter)
    for state, value in variant.state.items():
        base = scenario.state.get(state)
        if base is not None and base.init == value.init:
            same.append(f"{state} starts at {_text(value.init)}")
        else:
            changed.append(state)
    if not changed:
        told = f": {', '.join(same)} in the baseline too" if same else ""
        return f"variant {name!r} changes nothing{told}"
    if all(item in unread for item in changed):
        return f"variant {name!r} changes only {', '.join(changed)}, which nothing reads"
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
