"""Provenance checks: cited source files exist and every quote occurs in them verbatim.

A scenario's numbers cite a declared source with a verbatim quote (or are marked as
assumptions). The format checks that citations name declared sources; this module goes
further, when asked (``sim validate --sources``): it finds each source's ``file`` next to
the scenario or in its ``sources/`` folder and looks for every quote in it, comparing
with runs of white space folded to one space.

It also keeps backtests honest: a parameter that cites a source dated after the scenario's
vantage date (``vantage``, default ``time.start``) uses what the forecaster could not have
known, and is flagged unless it says why under ``hindsight``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path

from sim.errors import Problem
from sim.format.document import Document
from sim.format.scenario import Scenario, citations_of

__all__ = ["citation_problems", "hindsight_problems", "normalise", "source_date"]

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` with every run of white space folded to one space, trimmed."""
    return _SPACE.sub(" ", text).strip()


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / "sources" / name):
        if candidate.is_file():
            return candidate
    return None


def citation_problems(doc: Document, scenario: Scenario, folder: Path) -> list[Problem]:
    """Every missing source file and every quote not found in its source, located.

    A source declared in an included library is looked for beside that library.
    """
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    for i, source in enumerate(scenario.sources):
        if source.file is None:
            continue
        owner, _ = doc.site(("sources", i))
        path = _find(folder if owner is doc else Path(owner.file).parent, source.file)
        if path is None:
            problems.append(
                doc.problem(
                    ("sources", i, "file"),
                    f"no file {source.file!r} beside "
                    + ("the scenario" if owner is doc else owner.file)
                    + " or in its sources/ folder",
                )
            )
            continue
        texts[source.id] = normalise(path.read_text(encoding="utf-8", errors="replace"))
    files = {s.id: s.file for s in scenario.sources}
    for where, citation in citations_of(scenario):
        text = texts.get(citation.ref)
        if text is None or normalise(citation.quote) in text:
            continue
        problems.append(
            doc.problem(
                (*where, "quote"), f"the quote is not in {files[citation.ref]} (white space aside)"
            )
        )
    return problems


_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def source_date(text: str | None) -> tuple[dt.date, dt.date] | None:
    """The first and last day of a source's ISO ``date`` (``YYYY-MM-DD``, ``YYYY-MM`` or
    ``YYYY``); None when there is no date or it is other text."""
    match = _ISO.match((text or "").strip())
    if match is None:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if day is not None and month is not None:
            first = last = dt.date(year, month, day)
        elif month is not None:
            first = dt.date(year, month, 1)
            last = dt.date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        return None
    return first, last


def vantage_of(scenario: Scenario) -> dt.date | None:
    """The date as of which the scenario is written: ``vantage``, else ``time.start``."""
    return scenario.vantage if scenario.vantage is not None else scenario.time.start


def hindsight_problems(doc: Document, scenario: Scenario) -> tuple[list[Problem], list[Problem]]:
    """Parameters citing a source dated after the vantage date, and warnings.

    A parameter (or an expert of its pool, or of a pool a variant makes it) that cites a
    source published after the vantage
    date (a month or a year that ends after it counts: it may be) is a problem, located at
    the citation's ``ref``, unless the parameter states ``hindsight:`` (why it may). A
    cited source whose ``date`` is not an ISO date cannot be compared: it gets a warning,
    as does a scenario that cites dated sources but has no vantage date (no ``vantage``,
    no ``time.start``).
    """
    vantage = vantage_of(scenario)
    dates = {s.id: (i, s.date, source_date(s.date)) for i, s in enumerate(scenario.sources)}
    problems: list[Problem] = []
    warned: set[str] = set()
    warnings: list[Problem] = []
    for where, citation in citations_of(scenario):
        # a parameter's own citations and its experts', also those of a variant's pool
        name = where[1] if where[0] == "parameters" else where[3] if where[0] == "variants" else ""
        parameter = scenario.parameters.get(str(name))
        found = dates.get(citation.ref)
        if parameter is None or found is None or found[1] is None:
            continue
        index, text, period = found
        if period is None or vantage is None:
            if citation.ref not in warned:
                warned.add(citation.ref)
                why = (
                    f"its date {text!r} is not an ISO date (YYYY-MM-DD, YYYY-MM or YYYY)"
                    if period is None
                    else "the scenario has no vantage date (vantage or time.start)"
                )
                warnings.append(
                    doc.problem(
                        ("sources", index, "date"),
                        f"warning: hindsight not checked for source {citation.ref!r}: {why}",
                    )
                )
            continue
        if period[1] > vantage and parameter.hindsight is None:
            after = "after" if period[0] > vantage else "possibly after"
            problems.append(
                doc.problem(
                    (*where, "ref"),
                    f"hindsight: {citation.ref!r} is dated {text}, {after} the vantage date "
                    f"{vantage}; cite what was known by then, or say why under "
                    f"parameters.{name}.hindsight",
                )
            )
    return problems, warnings
