"""Reading scenario files: YAML or JSON to plain data plus the position of every value.

YAML goes through PyYAML's parser and a composer that resolves no tags and constructs
nothing; :class:`Converter` then turns the nodes into plain Python values under the YAML 1.2
core schema (so ``no`` stays a string) and records a :class:`Mark` for every value. JSON is
checked and read with :mod:`json`; the same composer supplies its positions.

Everything a file can do wrong becomes a located :class:`~sim.errors.Problem`; all the
problems of one file are raised together as one :class:`~sim.errors.ScenarioError`.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, Literal

from sim.errors import Problem, ScenarioError, SimError
from sim.format.document import MAX_BYTES, Document, Mark, line_col
from sim.format.safe_yaml import TOO_DEEP, Converter, RefusedError, compose, kind_of

__all__ = ["load_document", "parse_document"]


def load_document(path: str | Path) -> Document:
    """Read and parse a scenario file (UTF-8; YAML, or JSON when its name ends in ``.json``)."""
    file = str(path)
    try:
        with Path(path).open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SimError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise SimError(f"{file}: is a directory, expected a scenario file") from None
    except OSError as error:
        raise SimError(f"{file}: cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError([_too_big(file, Path(path).stat().st_size)])
    return parse_document(_decode(raw, file), file)


def parse_document(text: str, file: str, fmt: Literal["yaml", "json"] | None = None) -> Document:
    """Parse a scenario file's text into plain data with the position of every value.

    *fmt* defaults to JSON for a *file* whose name ends in ``.json``, YAML otherwise.
    Raises :class:`ScenarioError` with every problem found.
    """
    text = text.removeprefix("\ufeff")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ScenarioError([_too_big(file, size)])
    if fmt is None:
        fmt = "json" if file.lower().endswith(".json") else "yaml"
    if fmt == "json":
        return _parse_json(text, file)
    if fmt == "yaml":
        return _parse_yaml(text, file)
    raise SimError(f"{file}: unknown format {fmt!r}, expected 'yaml' or 'json'")


def _parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text: compose, convert, and check that the root is a mapping."""
    try:
        root = compose(text)
    except RefusedError as refusal:
        raise ScenarioError([refusal.problem(file)]) from None
    converter = Converter(file)
    data = converter.run(root)
    document = Document(file, text, data, converter.marks, converter.key_marks)
    _require_mapping(document, empty=root is None)
    return document


def _parse_json(text: str, file: str) -> Document:
    """Parse JSON text: :mod:`json` for syntax and values, the YAML composer for positions."""
    hooks = _JsonHooks()
    try:
        data = json.loads(text, object_pairs_hook=hooks.object, parse_constant=hooks.constant)
    except json.JSONDecodeError as error:
        problem = Problem(file, error.lineno, error.colno, "(syntax)", error.msg)
        raise ScenarioError([problem]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, 1, 1, "(syntax)", TOO_DEEP)]) from None
    except ValueError as error:  # such as an integer literal of more than 4300 digits
        raise ScenarioError([Problem(file, 1, 1, "(syntax)", str(error))]) from None
    try:
        # After json.loads every tab is whitespace between tokens, which YAML refuses.
        root = compose(text.replace("\t", " "))
    except RefusedError as refusal:
        if refusal.path != "(syntax)":
            raise ScenarioError([refusal.problem(file)]) from None
        root = None  # valid JSON PyYAML cannot read, such as a key over 1024 characters
    if root is None:
        document = Document(file, text, data, {(): Mark(1, 1, "{", False)})
        if hooks.problems:
            raise ScenarioError(document.problem((), message) for message in hooks.problems)
    else:
        converter = Converter(file, json_mode=True)
        converter.run(root)
        document = Document(file, text, data, converter.marks, converter.key_marks)
    _require_mapping(document, empty=False)
    return document


class _JsonHooks:
    """Callbacks for :func:`json.loads` that note what strict JSON does not allow."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """Build an object, noting duplicate keys."""
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                self.problems.append(f"duplicate key {key!r}")
            result[key] = value
        return result

    def constant(self, name: str) -> float:
        """Accept ``NaN`` and ``Infinity`` for now; they are reported where they stand."""
        self.problems.append(f"{name} is not JSON; write a number")
        return float(name)


def _require_mapping(document: Document, *, empty: bool) -> None:
    """Raise unless the document's root is a mapping."""
    if isinstance(document.data, dict):
        return
    got = "an empty document" if empty else kind_of(document.data)
    message = f"a scenario file must be a mapping, got {got}"
    raise ScenarioError([document.problem((), message)])


def _too_big(file: str, size: int) -> Problem:
    """The problem of a file over :data:`MAX_BYTES`."""
    message = f"file has {size} bytes; scenario files are limited to {MAX_BYTES} bytes (2 MiB)"
    return Problem(file, 1, 1, "(root)", message)


def _decode(raw: bytes, file: str) -> str:
    """Decode UTF-8 (an initial byte-order mark is dropped), locating the first bad byte."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = line_col(raw[: error.start].decode("utf-8"), error.start)
        byte = raw[error.start]
        message = f"not UTF-8 text: {error.reason} 0x{byte:02x}; save the file as UTF-8"
        raise ScenarioError([Problem(file, line, col, "(syntax)", message)]) from None


# ---------------------------------------------------------------------------------------
# Composing: PyYAML's reader, scanner, parser and composer, without a constructor.
