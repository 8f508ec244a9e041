"""Provenance checks: cited source files exist and every quote occurs in them verbatim.

A scenario's numbers cite a declared source with a verbatim quote (or are marked as
assumptions). The format checks that citations name declared sources; this module goes
further, when asked (``sim validate --sources``): it finds each source's ``file`` next to
the scenario or in its ``sources/`` folder and looks for every quote in it, comparing
with runs of white space folded to one space.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import Problem
from sim.format.document import Document
from sim.format.scenario import Scenario, citations_of

__all__ = ["citation_problems", "normalise"]

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
