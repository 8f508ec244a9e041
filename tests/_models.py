"""Small scenarios and texts written inline in tests, and the Monte Carlo tolerance."""

from __future__ import annotations

import textwrap

from sim.model.compile import build_model
from sim.model.compiled import CompiledModel


def model(
    body: str,
    horizon: float = 10.0,
    time: str = "",
    variant: str | None = None,
    version: str = "1",
) -> CompiledModel:
    """A scenario from its parameters/state/processes/outcomes, written as YAML.

    The head takes five lines, so a line of ``body`` is line 5 + its number in the file;
    ``version`` is what it declares under ``sim:``.
    """
    head = (
        f"sim: {version}\nname: test\ntitle: Test\ndescription: A test scenario.\n"
        f"time: {{unit: month, horizon: {horizon}{time}}}\n"
    )
    return build_model(head + textwrap.dedent(body), "test.yaml", variant=variant)


def within(estimate: float, expected: float, se: float, k: float = 4.0) -> bool:
    """Whether ``estimate`` is within ``k`` Monte Carlo standard errors of ``expected``."""
    return abs(estimate - expected) <= k * se


def billion_laughs() -> str:
    """The classic alias bomb: nine levels of nine aliases each."""
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        name, below = chr(97 + level), chr(96 + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{below}"] * 9) + "]")
    return "\n".join(lines) + "\n"
