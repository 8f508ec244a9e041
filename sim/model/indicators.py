"""Compiling indicators: signposts whose first time every branch records (format 1.1)."""

from __future__ import annotations

from collections.abc import Sequence

from sim.format.expr import Type
from sim.format.validation import suggest
from sim.model.compiled import CIndicator, Column
from sim.model.compiler import Core, NodePath

__all__ = ["INDICATOR_PREFIX", "IndicatorSection", "indicator_columns"]

INDICATOR_PREFIX = "indicator__"
"""The branch table's column of indicator NAME is ``indicator__NAME``."""


class IndicatorSection(Core):
    """Compiling the ``indicators`` section: names, conditions, deadlines and citations."""

    def indicators(self) -> tuple[CIndicator, ...]:
        """Check and compile every indicator, in file order."""
        found: list[CIndicator] = []
        seen: dict[str, int] = {}
        taken = {name: "a parameter" for name in self.s.parameters}
        taken |= {o.name: "an outcome" for o in self.s.outcomes}
        for i, indicator in enumerate(self.s.indicators):
            base: NodePath = ("indicators", i)
            if i == 0:
                self.require_1_1(("indicators",), "`indicators`", at_key=True)
            if indicator.name in seen:
                earlier = f"indicators[{seen[indicator.name]}]"
                self.report(
                    (*base, "name"), f"duplicate indicator name {indicator.name!r} ({earlier})"
                )
            seen.setdefault(indicator.name, i)
            column = INDICATOR_PREFIX + indicator.name
            if column in taken:
                self.report(
                    (*base, "name"),
                    f"indicator {indicator.name!r} needs the column {column!r}, which is also "
                    f"the name of {taken[column]}",
                )
            self._check_citations(indicator.citations, base, isinstance(indicator.source, list))
            when = self.expr(indicator.when, (*base, "when"), Type.BOOL)
            by = self.horizon if indicator.by is None else self.time(
                indicator.by, (*base, "by"), "by"
            )  # fmt: skip
            found.append(
                CIndicator(
                    indicator.name, when, by if by is not None else 0.0,
                    column, indicator.doc,
                )
            )  # fmt: skip
        return tuple(found)

    def _check_citations(self, citations: Sequence[object], base: NodePath, many: bool) -> None:
        """Every citation of an indicator names a declared source."""
        declared = [source.id for source in self.s.sources]
        for k, citation in enumerate(citations):
            ref = str(getattr(citation, "ref", ""))
            if ref in declared:
                continue
            path: NodePath = (*base, "source", *((k,) if many else ()), "ref")
            self.report(
                path,
                f"unknown source {ref!r}{suggest(ref, declared)}; declared sources: "
                f"{', '.join(declared) or 'none'}",
            )


def indicator_columns(indicators: Sequence[CIndicator]) -> tuple[Column, ...]:
    """The branch table's indicator columns: the first time each indicator held (NaN: never)."""
    return tuple(Column(i.column, "float64", "indicator", "indicator") for i in indicators)
