"""Provenance of numbers: citations of declared sources, and the rule that every number has one.

A parameter, an expert of a pool and (optionally) a correlation give either a ``source`` (a
citation, or a list of them: a verbatim quote from a declared source) or an ``assumption``
(one line of rationale).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

__all__ = ["Citation", "Citations", "cited", "provenance_problem"]


class Citation(BaseModel):
    """A verbatim quote from a declared source that supports a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ref: str = Field(description="The `id` of a declared source.")
    quote: str = Field(min_length=1, description="Verbatim text from the source.")
    note: str | None = Field(default=None, description="How the number follows from the quote.")


def _citations_tag(value: Any) -> str:
    return "citations" if isinstance(value, list) else "citation"


Citations = Annotated[
    Annotated[Citation, Tag("citation")] | Annotated[list[Citation], Tag("citations")],
    Discriminator(_citations_tag),
]


def cited(
    source: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Citation]]:
    """Yield ``(path of the citation, citation)`` for the ``source`` written at ``path``."""
    if isinstance(source, Citation):
        yield (*path, "source"), source
    elif isinstance(source, list):
        for k, citation in enumerate(source):
            yield (*path, "source", k), citation


def provenance_problem(source: Any, assumption: str | None) -> str | None:
    """Say what is wrong with a ``source`` and ``assumption`` pair, or return None."""
    if source is None and assumption is None:
        return "needs a `source` (a citation) or an `assumption` (a rationale)"
    if source is not None and assumption is not None:
        return "give either `source` or `assumption`, not both"
    if isinstance(source, list) and not source:
        return "`source` needs at least one citation"
    return None
