"""A safe YAML composer that keeps positions, and the conversion of its nodes to plain data.

Only the core schema's tags are accepted (``!!python/...`` is refused), bools are only
``true``/``false`` (YAML 1.2 core: ``no`` stays a string), dates stay ``datetime.date``,
duplicate keys and non-string keys are problems, and alias expansion is bounded (a "billion
laughs" file is refused). JSON text goes through the same composer, so its values get
positions too.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import CollectionNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from sim.errors import Problem, ScenarioError
from sim.format.document import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    Mark,
    NodePath,
    format_path,
    line_col,
)

__all__ = [
    "TOO_DEEP",
    "Converter",
    "RefusedError",
    "compose",
    "kind_of",
]

_IMPLICIT = "!implicit"  # stands for "no tag given": the converter applies the core schema
_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "null"})
TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels"


class RefusedError(Exception):
    """A problem that stops reading the file: a syntax error or a limit."""

    def __init__(self, line: int, col: int, path: str, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.path, self.message = line, col, path, message

    @classmethod
    def at(cls, mark: yaml.Mark, path: NodePath, message: str) -> RefusedError:
        """Refuse at a PyYAML mark (0-based) with a data path, shortened if very deep."""
        shown = format_path(path[:8]) + ("..." if len(path) > 8 else "")
        return cls(mark.line + 1, mark.column + 1, shown, message)

    def problem(self, file: str) -> Problem:
        """This refusal as a problem of *file*."""
        return Problem(file, self.line, self.col, self.path, self.message)


class _Alias(Node):
    """An alias in the file: the node it names plus where the alias itself stands."""

    id = "alias"

    def __init__(self, target: Node, name: str, start: yaml.Mark, end: yaml.Mark) -> None:
        super().__init__(target.tag, target.value, start, end)
        self.target = target
        self.name = name


class _Composer(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's safe composer that resolves no tags, keeps aliases visible and limits depth."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.path: list[str | int] = []

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """Leave untagged nodes untagged: the converter gives them their core-schema types."""
        return _IMPLICIT

    def compose_node(self, parent: Node | None, index: int | Node | None) -> Node | None:
        """Compose one node, wrapping aliases and refusing nesting beyond :data:`MAX_DEPTH`."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            target = super().compose_node(parent, 0)
            assert target is not None  # an alias always names a composed node
            return _Alias(target, event.anchor, event.start_mark, event.end_mark)
        if parent is None or index is None:  # the root, or a key: as deep as its mapping
            return super().compose_node(parent, 0)
        self.path.append(_component(index))
        try:
            if len(self.path) > MAX_DEPTH:
                raise RefusedError.at(event.start_mark, tuple(self.path), TOO_DEEP)
            return super().compose_node(parent, 0)
        finally:
            self.path.pop()


def _component(index: int | Node | None) -> str | int:
    """The path component of a node given PyYAML's *index*: a list index or the entry's key."""
    if isinstance(index, _Alias):
        index = index.target
    if isinstance(index, int):
        return index
    if isinstance(index, ScalarNode):
        return str(index.value)
    return "?"  # a key, or the value of a key that is itself a collection


def compose(text: str) -> Node | None:
    """Compose the single document of *text*; syntax errors are refused as ``(syntax)``."""
    composer: _Composer | None = None
    try:
        composer = _Composer(text)  # the reader checks every character here
        return composer.get_single_node()
    except yaml.MarkedYAMLError as error:
        raise _syntax(error) from None
    except ReaderError as error:
        line, col = line_col(text, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"character U+{code:04X} is not allowed in YAML"
        raise RefusedError(line, col, "(syntax)", message) from None
    except RecursionError:
        raise RefusedError(1, 1, "(syntax)", TOO_DEEP) from None
    finally:
        if composer is not None:
            composer.dispose()


def _syntax(error: yaml.MarkedYAMLError) -> RefusedError:
    """A PyYAML syntax error as a refusal at its problem mark."""
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "not valid YAML"
    if error.problem and error.context:
        where = f" at line {error.context_mark.line + 1}" if error.context_mark else ""
        message = f"{message} ({error.context}{where})"
    if mark is None:
        return RefusedError(1, 1, "(syntax)", message)
    return RefusedError(mark.line + 1, mark.column + 1, "(syntax)", message)


# ---------------------------------------------------------------------------------------
# Converting: nodes to plain data under the YAML 1.2 core schema.

_NULL = re.compile(r"null|Null|NULL|~|")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_JSON_CONSTANTS = frozenset({"NaN", "Infinity", "-Infinity"})
_TIMESTAMPS = SafeConstructor()


def _core_value(text: str) -> Any:
    """The value of an untagged plain scalar: null, bool, int, float, date or else text."""
    if _NULL.fullmatch(text):
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    number = _number(text)
    if number is not None:
        return number
    if _TIMESTAMPS.timestamp_regexp.fullmatch(text):
        try:
            return _TIMESTAMPS.construct_yaml_timestamp(ScalarNode(_CORE + "timestamp", text))
        except (ValueError, OverflowError) as error:
            raise ValueError(f"{text!r} is not a valid date: {error}") from None
    return text


def _number(text: str) -> int | float | None:
    """The number a plain scalar spells in the core schema, or None."""
    try:
        if _INT.fullmatch(text):
            return int(text)
        if _OCT.fullmatch(text):
            return int(text[2:], 8)
        if _HEX.fullmatch(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts
        raise ValueError(f"integer {text[:20]}... has too many digits") from None
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogates(text: str) -> str:
    """Join surrogate pairs spelled as escapes (JSON's way to write U+1F600) into characters."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _tagged_value(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit core tag, such as ``!!str 12``."""
    if tag == "str":
        return text
    if tag == "null" and _NULL.fullmatch(text):
        return None
    if tag == "bool" and text in _BOOLS:
        return _BOOLS[text]
    if tag in ("int", "float"):
        number = _number(text)
        if isinstance(number, int) and tag == "int":
            return number
        if number is not None and tag == "float":
            return float(number)
    raise ValueError(f"{text!r} is not a valid !!{tag}")


def kind_of(value: Any) -> str:
    """Describe a value's type for a message: 'a list', 'an integer', 'null'..."""
    if value is None:
        return "null"
    kinds: list[tuple[type, str]] = [
        (dict, "a mapping"),
        (list, "a list"),
        (str, "a string"),
        (bool, "a bool"),
        (int, "an integer"),
        (float, "a number"),
        (datetime.datetime, "a timestamp"),
        (datetime.date, "a date"),
    ]
    return next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


class Converter:
    """Turns composed nodes into plain data, recording marks and problems as it goes."""

    def __init__(self, file: str, *, json_mode: bool = False) -> None:
        self.file = file
        self.json_mode = json_mode
        self.marks: dict[NodePath, Mark] = {}
        self.key_marks: dict[NodePath, Mark] = {}
        self.problems: list[Problem] = []
        self.nodes = 0
        self.aliases = 0
        self.expanding: list[tuple[_Alias, NodePath]] = []  # being expanded, outermost first
        self.building: set[int] = set()  # ids of the collections being built

    def run(self, root: Node | None) -> Any:
        """Convert the document; raise every problem found, sorted by position."""
        if root is None:
            self.marks[()] = Mark(1, 1, "", False)
            return None
        data: Any = None
        try:
            data = self.value(root, (), 0)
        except RefusedError as refusal:
            self.problems.append(refusal.problem(self.file))
        if self.problems:
            raise ScenarioError(sorted(self.problems, key=lambda p: (p.line, p.col)))
        return data

    def report(self, node: Node, path: NodePath, message: str) -> None:
        """Note a problem at *node* and go on converting."""
        mark = node.start_mark
        self.problems.append(
            Problem(self.file, mark.line + 1, mark.column + 1, format_path(path), message)
        )

    def mark(self, node: Node) -> Mark:
        """The :class:`Mark` of a node."""
        start, end = node.start_mark, node.end_mark
        line, col = start.line + 1, start.column + 1
        if isinstance(node, _Alias):
            return Mark(line, col, "*", False)
        if isinstance(node, ScalarNode):
            style = node.style or ""
            source = start.buffer[start.index : end.index] if start.buffer else None
            if style in ("'", '"') and source:
                source = source[1:-1]
            return Mark(line, col, style, start.line == end.line and source == node.value)
        one_line = end is not None and start.line == end.line
        flow = isinstance(node, CollectionNode) and bool(node.flow_style)
        if isinstance(node, SequenceNode):
            return Mark(line, col, "[" if flow else "seq", one_line)
        return Mark(line, col, "{" if flow else "map", one_line)

    def value(self, node: Node, path: NodePath, depth: int) -> Any:
        """Record where the value at *path* stands, then convert it."""
        self.marks[path] = self.mark(node)
        if isinstance(node, _Alias):
            return self.alias(node, path, depth)
        return self.build(node, path, depth)

    def alias(self, alias: _Alias, path: NodePath, depth: int) -> Any:
        """Expand an alias, within the limits on aliases and on the size of the result."""
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            message = f"more than {MAX_ALIASES} aliases used; refusing to expand '*{alias.name}'"
            raise RefusedError.at(alias.start_mark, path, message)
        if id(alias.target) in self.building:
            message = f"alias '*{alias.name}' refers to a value that contains it"
            raise RefusedError.at(alias.start_mark, path, message)
        self.expanding.append((alias, path))
        try:
            return self.build(alias.target, path, depth)
        finally:
            self.expanding.pop()

    def build(self, node: Node, path: NodePath, depth: int) -> Any:
        """Convert a scalar, list or mapping node."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.too_many(node, path)
        if depth > MAX_DEPTH:
            raise RefusedError.at(node.start_mark, path, TOO_DEEP)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.check_tag(node, path)
        self.building.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [
                    self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            return self.mapping(node, path, depth)
        finally:
            self.building.discard(id(node))

    def too_many(self, node: Node, path: NodePath) -> RefusedError:
        """The refusal of a document over :data:`MAX_NODES` values, at the alias to blame."""
        if not self.expanding:
            return RefusedError.at(
                node.start_mark, path, f"more than {MAX_NODES} values in one file"
            )
        alias, where = self.expanding[0]
        message = f"alias '*{alias.name}' expands the document beyond {MAX_NODES} values"
        return RefusedError.at(alias.start_mark, where, message)

    def check_tag(self, node: Node, path: NodePath) -> None:
        """Report an explicit tag other than the core tag of the node's kind."""
        if node.tag == _IMPLICIT:
            return
        name = node.tag.removeprefix(_CORE) if node.tag.startswith(_CORE) else None
        if isinstance(node, ScalarNode):
            kind, allowed = "a scalar", _SCALAR_TAGS
        elif isinstance(node, SequenceNode):
            kind, allowed = "a list", frozenset({"seq"})
        else:
            kind, allowed = "a mapping", frozenset({"map"})
        if name in allowed:
            return
        shown = node.tag if name is None else f"!!{name}"
        if name in _SCALAR_TAGS or name in ("seq", "map"):
            self.report(node, path, f"tag '{shown}' does not fit {kind}")
        else:
            self.report(node, path, f"tag '{shown}' is not allowed")

    def scalar(self, node: ScalarNode, path: NodePath) -> Any:
        """Convert a scalar: plain ones by the core schema, quoted ones are text."""
        self.check_tag(node, path)
        tag = node.tag.removeprefix(_CORE)
        try:
            if tag in _SCALAR_TAGS:
                return _tagged_value(tag, node.value)
            if tag == _IMPLICIT and node.style == '"':
                return _join_surrogates(node.value)
            if tag == _IMPLICIT and node.style is None:
                if self.json_mode and node.value in _JSON_CONSTANTS:
                    raise ValueError(f"{node.value} is not JSON; write a number")
                return _core_value(node.value)
        except ValueError as error:
            self.report(node, path, str(error))
            return None
        return node.value

    def mapping(self, node: Node, path: NodePath, depth: int) -> dict[str, Any]:
        """Convert a mapping, reporting merge keys, non-string keys and duplicates."""
        result: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in first:
                self.report(key_node, child, f"duplicate key {key!r} (first at line {first[key]})")
                continue
            first[key] = key_node.start_mark.line + 1
            self.key_marks[child] = self.mark(key_node)
            result[key] = self.value(value_node, child, depth + 1)
        return result

    def key(self, node: Node, path: NodePath) -> str | None:
        """The key of a mapping entry, or None after reporting why it cannot be one."""
        target = node
        if isinstance(node, _Alias):
            self.aliases += 1
            target = node.target
        if not isinstance(target, ScalarNode):
            got = "a list" if isinstance(target, SequenceNode) else "a mapping"
            self.report(node, path, f"keys must be strings, got {got}")
            return None
        if target.tag == _IMPLICIT and target.style is None and target.value == "<<":
            message = "merge keys ('<<') are not supported; write the fields out in full"
            self.report(node, path, message)
            return None
        key = self.scalar(target, path)
        if not isinstance(key, str):
            message = (
                f"key {target.value} is {kind_of(key)}, not a string; quote it if it is a name"
            )
            self.report(node, path, message)
            return None
        return key
