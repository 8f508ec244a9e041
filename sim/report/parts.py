"""The parts of the HTML report's page: figures, sections, citations, parameter rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.report.brief import Span
from sim.views.html import Table

__all__ = ["Citation", "Image", "OutcomeSection", "ParameterRow", "Section"]


@dataclass(frozen=True)
class Image:
    """A figure on the page: its data URI and a text for those who cannot see it."""

    uri: str
    alt: str


@dataclass(frozen=True)
class OutcomeSection:
    """One outcome: its question, its estimate in words, its figure and its variants."""

    anchor: str
    name: str
    kind: str
    title: str
    measures: str
    words: list[Span]
    lines: list[list[Span]]
    image: Image | None
    table: Table | None


@dataclass(frozen=True)
class Section:
    """A section of analyses (variants, a sweep, sensitivity indices, a comparison table)."""

    anchor: str
    title: str
    text: str
    images: list[Image] = field(default_factory=list)
    table: Table | None = None


@dataclass(frozen=True)
class Citation:
    """A source's words behind a number."""

    source: str
    quote: str
    note: str


@dataclass(frozen=True)
class ParameterRow:
    """A parameter in the assumptions table."""

    name: str
    distribution: str
    spread: str
    meaning: str
    citations: list[Citation]
    assumption: str
