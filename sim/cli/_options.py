"""Parsing of options shared by several commands."""

from __future__ import annotations

from collections.abc import Iterable

from sim.errors import UsageError


def parse_overrides(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Split ``--set NAME=VALUE`` options into ``(NAME, VALUE)`` pairs, in order."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--set {item}: expected NAME=VALUE")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
