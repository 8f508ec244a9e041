"""A parsed scenario file: plain data, where each value stands, and located problems.

Paths name a value by mapping keys and list indices from the root; :func:`format_path` spells
them as users read them (``processes[2].rate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.errors import Problem

__all__ = [
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Document",
    "Mark",
    "NodePath",
    "format_path",
    "line_col",
]

NodePath = tuple[str | int, ...]
"""The place of a value: mapping keys and list indices from the root, ``()`` for the root."""

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 100_000
MAX_ALIASES = 1_000


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a node starts in the file.

    ``style`` is ``''`` for a plain scalar, ``"'"`` or ``'"'`` for a quoted one, ``'|'`` or
    ``'>'`` for a block scalar, ``'{'`` or ``'['`` for a flow collection, ``'map'`` or
    ``'seq'`` for a block collection and ``'*'`` for an alias. ``single_line`` says that the
    scalar's source text is on one line and spells its value exactly (no escapes), so that an
    offset inside the value is an offset inside the line.
    """

    line: int
    col: int
    style: str
    single_line: bool


@dataclass(frozen=True)
class Document:
    """A parsed scenario file: plain data and the position of each of its values."""

    file: str
    text: str
    data: Any
    marks: Mapping[NodePath, Mark]
    key_marks: Mapping[NodePath, Mark] = field(default_factory=dict)

    def site(self, path: Sequence[str | int]) -> tuple[Document, NodePath]:
        """Return the document where the value at *path* is written, and its path there.

        A plain file writes every value itself; a composed one (:mod:`sim.format.include`)
        answers with the file a definition was included from.
        """
        return self, tuple(path)

    def where(self, path: Sequence[str | int]) -> str:
        """Return ``FILE:LINE:COL`` of the value at *path*, in the file that writes it."""
        doc, local = self.site(path)
        mark = doc.key_marks.get(local)
        line, col = (mark.line, mark.col) if mark is not None else doc.locate(local)
        return f"{doc.file}:{line}:{col}"

    def locate(self, path: Sequence[str | int], offset: int | None = None) -> tuple[int, int]:
        """Return the 1-based line and column of the deepest known prefix of *path*.

        Paths from validation can be longer than the data (a missing field), so the
        nearest enclosing value is used. An *offset* (0-based, inside the value's text) is
        added when the value itself is a single-line plain or quoted scalar.
        """
        key = tuple(path)
        for length in range(len(key), -1, -1):
            mark = self.marks.get(key[:length])
            if mark is not None:
                break
        else:
            return 1, 1
        exact = length == len(key) and mark.single_line and mark.style in ("", "'", '"')
        if offset is None or not exact:
            return mark.line, mark.col
        return mark.line, mark.col + max(offset, 0) + (1 if mark.style else 0)

    def problem(
        self, path: Sequence[str | int], message: str, offset: int | None = None
    ) -> Problem:
        """Return a :class:`Problem` about the value at *path*, located as :meth:`locate` does."""
        line, col = self.locate(path, offset)
        return Problem(self.file, line, col, format_path(path), message)

    def key_problem(self, path: Sequence[str | int], message: str) -> Problem:
        """Return a :class:`Problem` located at the key of the value at *path*, if known."""
        mark = self.key_marks.get(tuple(path))
        if mark is None:
            return self.problem(path, message)
        return Problem(self.file, mark.line, mark.col, format_path(path), message)


def format_path(path: Sequence[str | int]) -> str:
    """Spell a path as users read it: ``processes[2].rate``, ``parameters["a b"]``."""
    parts: list[str] = []
    for item in path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.replace("-", "_").isidentifier() and not item.startswith("-"):
            parts.append(f".{item}" if parts else item)
        else:
            parts.append(f"[{json.dumps(item, ensure_ascii=False)}]")
    return "".join(parts) or "(root)"


_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # PyYAML's line breaks


def line_col(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of character *index* of *text*, counted as PyYAML does."""
    index = min(index, len(text))
    start, line = 0, 1
    for found in _BREAK.finditer(text, 0, index):
        start, line = found.end(), line + 1
    return line, index - start + 1
