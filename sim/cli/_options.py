"""Parsing of options shared by several commands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer

from sim.engine import DEFAULT_ENGINE
from sim.errors import UsageError
from sim.montecarlo.kinds import EngineKind

EngineOption = Annotated[
    EngineKind | None,
    typer.Option(
        help="Engine: simpy (the reference, one branch at a time) or batch (numpy, every "
        "branch of a chunk at once, many times faster; other rows, same distributions). "
        f"Default {DEFAULT_ENGINE}.",
    ),
]


def engine_name(engine: EngineKind | None) -> str:
    """The engine an ``--engine`` option chose (``sim.engine.DEFAULT_ENGINE`` when not given)."""
    return (engine or EngineKind(DEFAULT_ENGINE)).value


def parse_overrides(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Split ``--set NAME=VALUE`` options into ``(NAME, VALUE)`` pairs, in order."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--set {item}: expected NAME=VALUE")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
