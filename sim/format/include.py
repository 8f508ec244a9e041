"""Composing a scenario from several files: ``include`` and ``overrides`` (format 1.1).

A scenario or a library lists other files under ``include:``, paths relative to the
including file. Their definitions (sources, parameters, state, processes, outcomes,
correlations, indicators) come first in each section, in the order of the list and depth first, then
the file's own: exactly as if they had been written at the top of each section, so that
moving definitions into a library changes neither their order nor any branch row. Includes
nest; a file reached twice (two libraries sharing a third) counts once.

A name defined in two places is an error that names both. A file replaces an included
definition only explicitly, under ``overrides:`` (the same sections), and the replacement
takes the included definition's place. A cycle, a missing file and a library that holds
what only a scenario may hold are located errors.

The result is one :class:`ComposedDocument`: the data of the whole scenario, whose problems
are located in the file where each definition is written (:meth:`ComposedDocument.site`).
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sim.errors import Problem, ScenarioError, SimError
from sim.format.document import Document, NodePath
from sim.format.scenario import Library
from sim.format.validation import suggest

__all__ = [
    "LIBRARY_KEYS",
    "MAX_FILES",
    "SECTIONS",
    "ComposedDocument",
    "Reader",
    "compose",
    "file_reader",
    "is_version_1_1",
]

MAX_FILES = 64


@dataclass(frozen=True, slots=True)
class Section:
    """A section that includes merge: entries keyed by name (a mapping) or by a field (a list)."""

    name: str
    shape: Literal["map", "list"]
    noun: str
    key: str = "name"  # the field naming a list entry


SECTIONS = (
    Section("sources", "list", "source", "id"),
    Section("parameters", "map", "parameter"),
    Section("state", "map", "state variable"),
    Section("processes", "list", "process"),
    Section("outcomes", "list", "outcome"),
    Section("correlations", "list", "correlation", "between"),
    Section("indicators", "list", "indicator"),
)
_BY_NAME = {s.name: s for s in SECTIONS}
# What a library may hold: no name, title, horizon, variants or stop_when, which belong to the
# scenario that includes it.
LIBRARY_KEYS = tuple(Library.model_fields)


def is_version_1_1(value: Any) -> bool:
    """Whether a file's ``sim:`` declares format 1.1."""
    return isinstance(value, float) and not isinstance(value, bool) and math.isclose(value, 1.1)


@dataclass(frozen=True)
class ComposedDocument(Document):
    """A scenario composed from several files: the data of the whole, problems where they stand.

    ``sites`` maps the path of a composed value (``("processes", 4)``) to the document and
    path where it is written (``lib.yaml``, ``("processes", 0)``); the longest known prefix
    of a path decides. ``includes`` holds each included file's key (its path relative to the
    scenario's folder) and text, so that the scenario can be rebuilt without the disk.
    """

    sites: Mapping[NodePath, tuple[Document, NodePath]] = field(default_factory=dict)
    includes: tuple[tuple[str, str], ...] = ()

    def site(self, path: Any) -> tuple[Document, NodePath]:
        """Return the document that writes the value at *path*, and its path there."""
        key = tuple(path)
        for length in range(len(key), 0, -1):
            found = self.sites.get(key[:length])
            if found is not None:
                doc, local = found
                return doc, (*local, *key[length:])
        return self, key

    def problem(self, path: Any, message: str, offset: int | None = None) -> Problem:
        """Return a problem about the value at *path*, located in the file that writes it."""
        doc, local = self.site(path)
        if doc is self:
            return super().problem(local, message, offset)
        return doc.problem(local, message, offset)

    def key_problem(self, path: Any, message: str) -> Problem:
        """Return a problem located at the key of the value at *path*, where it is written."""
        doc, local = self.site(path)
        if doc is self:
            return super().key_problem(local, message)
        return doc.key_problem(local, message)

    def with_sites(self, extra: Mapping[NodePath, tuple[Document, NodePath]]) -> ComposedDocument:
        """Return this document with more sites (a variant's changes, say), ``extra`` first."""
        return replace(self, sites={**self.sites, **extra})


Reader = Callable[[str, str], Document]
"""Reads an included file: ``read(key, file)`` with its key and printable name; raises SimError."""


def file_reader(texts: Mapping[str, str] | None = None) -> Reader:
    """Return a reader of included files: from ``texts`` (by key) where given, else the disk."""
    from sim.format.loader import load_document, parse_document

    known = texts or {}

    def read(key: str, file: str) -> Document:
        text = known.get(key)
        return load_document(file) if text is None else parse_document(text, file)

    return read


def compose(doc: Document, read: Reader | None = None) -> Document:
    """Compose the scenario ``doc`` with the files it includes; raise every problem found.

    A file without ``include`` or ``overrides`` is returned as it is (format 1.0 files are
    untouched).
    """
    if not isinstance(doc.data, dict) or not ({"include", "overrides"} & doc.data.keys()):
        return doc
    composer = _Composer(doc, read or file_reader())
    return composer.run()


# --- composing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One definition: its key (None when it has no usable name), value, and where it stands."""

    key: str | None
    value: Any
    doc: Document
    path: NodePath


_Parts = dict[str, list[_Entry]]


class _Composer:
    """Composes one scenario; collects problems instead of stopping at the first."""

    def __init__(self, main: Document, read: Reader) -> None:
        self.main = main
        self.read = read
        self.problems: list[Problem] = []
        self.done: dict[str, _Parts] = {}
        self.texts: dict[str, str] = {}
        self.active: list[str] = []  # keys of the files being composed, for cycles
        self.libraries: list[Document] = []
        self.main_key = os.path.basename(main.file)

    def run(self) -> ComposedDocument:
        parts = self.parts(self.main, self.main_key)
        self.check_units()
        if self.problems:
            raise ScenarioError(sorted(dict.fromkeys(self.problems), key=_position))
        data = {k: v for k, v in self.main.data.items() if k != "overrides"}
        sites: dict[NodePath, tuple[Document, NodePath]] = {}
        for section in SECTIONS:
            entries = parts[section.name]
            if section.name not in data and not entries:
                continue
            if section.name in data and not _container(self.main.data[section.name], section):
                continue  # left to validation, which says what is wrong with it
            for position, entry in enumerate(entries):
                at: str | int = position if section.shape == "list" else str(entry.key)
                here: NodePath = (section.name, at)
                if entry.doc is not self.main or entry.path != here:
                    sites[here] = (entry.doc, entry.path)
            if section.shape == "map":
                data[section.name] = {e.key: e.value for e in entries}
            else:
                data[section.name] = [e.value for e in entries]
        return ComposedDocument(
            self.main.file, self.main.text, data, self.main.marks, self.main.key_marks,
            sites=sites, includes=tuple(self.texts.items()),
        )  # fmt: skip

    def report(self, doc: Document, path: NodePath, message: str, *, at_key: bool = False) -> None:
        """Note a problem about the value (or the key) at ``path`` of ``doc``."""
        locate = doc.key_problem if at_key else doc.problem
        self.problems.append(locate(path, message))

    # -- one file ---------------------------------------------------------------------------

    def parts(self, doc: Document, key: str) -> _Parts:
        """Return the definitions of the file ``doc`` (key ``key``), its includes first."""
        merged: _Parts = {s.name: [] for s in SECTIONS}
        index: dict[tuple[str, str], _Entry] = {}
        if doc is not self.main:
            self.check_library(doc)
        self.check_version(doc)
        self.active.append(key)
        for k, target in self.include_list(doc, key):
            included = self.included(doc, ("include", k), target)
            for name, entries in (included or {}).items():
                for entry in entries:
                    self.merge(merged[name], index, name, entry)
        self.active.pop()
        for section in SECTIONS:
            for entry in self.entries(doc, (section.name,), section):
                self.own(merged[section.name], index, section, entry)
        self.apply_overrides(doc, merged, index)
        return merged

    def included(self, doc: Document, at: NodePath, target: str) -> _Parts | None:
        """Return the definitions of the file ``target``, included by ``doc`` at ``at``."""
        if target in self.done:
            return self.done[target]
        name = self.file_name(target)
        if target in self.active:
            chain = [self.file_name(k) for k in self.active]
            cycle = " -> ".join([*chain[self.active.index(target) :], name])
            self.report(doc, at, f"include cycle: {cycle}")
            return None
        if len(self.texts) >= MAX_FILES:
            self.report(doc, at, f"too many included files: at most {MAX_FILES}")
            return None
        try:
            library = self.read(target, name)
        except ScenarioError as error:
            self.problems.extend(error.problems)
            return None
        except SimError as error:
            self.report(doc, at, f"cannot include {name}: {_reason(error, name)}")
            return None
        self.texts[target] = library.text
        self.libraries.append(library)
        parts = self.parts(library, target)
        self.done[target] = parts
        return parts

    def include_list(self, doc: Document, key: str) -> list[tuple[int, str]]:
        """Return the valid entries of ``include`` with their keys; report the others."""
        listed = doc.data.get("include")
        if listed is None:
            return []
        if not isinstance(listed, list):
            self.report(doc, ("include",), "expected a list of file paths")
            return []
        found = []
        base = posixpath.dirname(key)
        for k, item in enumerate(listed):
            if not isinstance(item, str) or not item.strip():
                self.report(doc, ("include", k), "expected a file path (text)")
                continue
            target = posixpath.normpath(posixpath.join(base, item.replace("\\", "/")))
            found.append((k, target))
        return found

    def file_name(self, key: str) -> str:
        """The name to print for the included file ``key``: beside the scenario's own."""
        if key == self.main_key:
            return self.main.file
        return os.path.normpath(os.path.join(os.path.dirname(self.main.file), key))

    def check_version(self, doc: Document) -> None:
        """``include`` and ``overrides`` are format 1.1: the file must say so."""
        version = doc.data.get("sim")
        if version is None or is_version_1_1(version):
            return
        for name in ("include", "overrides"):
            if name in doc.data:
                self.report(
                    doc, (name,), f"`{name}` is format 1.1: declare `sim: 1.1` at the top",
                    at_key=True,
                )  # fmt: skip

    def check_library(self, doc: Document) -> None:
        """A library holds definitions only, and its time unit (if stated)."""
        for name in doc.data:
            if name in LIBRARY_KEYS:
                continue
            if name in ("name", "title", "variants", "stop_when"):
                message = f"a library cannot set {name!r}: it belongs to the scenario"
            else:
                message = f"unknown field {name!r}{suggest(str(name), LIBRARY_KEYS)}"
            self.report(doc, (name,), message, at_key=True)
        version = doc.data.get("sim")
        if version is not None and not is_version_1_1(version):
            self.report(doc, ("sim",), f"a library is format 1.1: expected 1.1, got {version!r}")
        time = doc.data.get("time")
        if time is not None and (not isinstance(time, dict) or set(time) != {"unit"}):
            self.report(
                doc, ("time",), "a library's time holds only its `unit`, to check it is the same"
            )

    def check_units(self) -> None:
        """Every library that states a time unit states the scenario's."""
        time = self.main.data.get("time")
        unit = time.get("unit") if isinstance(time, dict) else None
        if not isinstance(unit, str):
            return
        for library in self.libraries:
            time = library.data.get("time")
            theirs = time.get("unit") if isinstance(time, dict) else None
            if isinstance(theirs, str) and theirs != unit:
                self.report(
                    library, ("time", "unit"),
                    f"this library counts time in {theirs}s but {self.main.file} in {unit}s; "
                    "its rates and times would mean something else there",
                )  # fmt: skip

    # -- definitions ------------------------------------------------------------------------

    def entries(self, doc: Document, path: NodePath, section: Section) -> list[_Entry]:
        """Return the definitions of ``section`` written in ``doc`` at ``path``."""
        value: Any = doc.data
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None or not _container(value, section):
            if value is not None and doc is not self.main:
                shape = "mapping of NAME: definition" if section.shape == "map" else "list"
                self.report(doc, path, f"expected a {shape}")
            return []
        if section.shape == "map":
            return [_Entry(str(k), v, doc, (*path, k)) for k, v in value.items()]
        return [_Entry(_key(item, section), item, doc, (*path, i)) for i, item in enumerate(value)]

    def merge(
        self, entries: list[_Entry], index: dict[tuple[str, str], _Entry], section: str,
        entry: _Entry,
    ) -> None:  # fmt: skip
        """Add an included definition; one defined twice by includes is an error."""
        if entry.key is None:
            entries.append(entry)
            return
        earlier = index.get((section, entry.key))
        if earlier is entry:
            return  # the same file reached twice
        if earlier is None:
            index[section, entry.key] = entry
            entries.append(entry)
            return
        noun = _BY_NAME[section].noun
        self.report(
            entry.doc, entry.path,
            f"{noun} {_shown(entry.key)} is defined twice: here and at {_where(earlier)}, "
            f"both included by {self.main.file}; keep one, or replace it under "
            f"overrides.{section}",
            at_key=_BY_NAME[section].shape == "map",
        )  # fmt: skip

    def own(
        self, entries: list[_Entry], index: dict[tuple[str, str], _Entry], section: Section,
        entry: _Entry,
    ) -> None:  # fmt: skip
        """Add a file's own definition; one that an include defines already is an error."""
        earlier = index.get((section.name, entry.key)) if entry.key is not None else None
        if earlier is not None and earlier.doc is not entry.doc:
            self.report(
                entry.doc, entry.path,
                f"{section.noun} {_shown(entry.key)} is already defined at {_where(earlier)} "
                f"(included); to replace it, move this definition under "
                f"overrides.{section.name}",
                at_key=section.shape == "map",
            )  # fmt: skip
            return
        if entry.key is not None:
            index.setdefault((section.name, entry.key), entry)
        entries.append(entry)

    def apply_overrides(
        self, doc: Document, merged: _Parts, index: dict[tuple[str, str], _Entry]
    ) -> None:
        """Replace included definitions with those under the file's ``overrides``."""
        overrides = doc.data.get("overrides")
        if overrides is None:
            return
        if not isinstance(overrides, dict):
            self.report(doc, ("overrides",), "expected a mapping of sections")
            return
        for name in overrides:
            found = _BY_NAME.get(name)
            if found is None:
                hint = suggest(str(name), list(_BY_NAME))
                self.report(
                    doc, ("overrides", name), f"unknown section {name!r}{hint}", at_key=True
                )
                continue
            for entry in self.entries(doc, ("overrides", name), found):
                self.override(doc, merged[name], index, found, entry)

    def override(
        self, doc: Document, entries: list[_Entry], index: dict[tuple[str, str], _Entry],
        section: Section, entry: _Entry,
    ) -> None:  # fmt: skip
        """Put ``entry`` in the place of the included definition of the same name."""
        if entry.key is None:
            self.report(doc, entry.path, f"an override needs the {section.key} it replaces")
            return
        earlier = index.get((section.name, entry.key))
        if earlier is None or earlier.doc is doc:
            what = "defined in this file" if earlier is not None else "included"
            self.report(
                doc, entry.path,
                f"nothing to override: no {section.noun} {_shown(entry.key)} is included"
                + (f" ({what}; change it there)" if earlier is not None else ""),
                at_key=section.shape == "map",
            )  # fmt: skip
            return
        position = next(i for i, e in enumerate(entries) if e is earlier)
        entries[position] = index[section.name, entry.key] = entry


def _container(value: Any, section: Section) -> bool:
    return isinstance(value, dict if section.shape == "map" else list)


def _key(item: Any, section: Section) -> str | None:
    """The key of a list entry: its name (or id), or its pair of parameters, or None."""
    if not isinstance(item, dict):
        return None
    value = item.get(section.key)
    if section.key == "between":
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return " and ".join(sorted(value))
        return None
    return value if isinstance(value, str) else None


def _shown(key: str | None) -> str:
    return f"between {key}" if key is not None and " and " in key else repr(key)


def _where(entry: _Entry) -> str:
    """``FILE:LINE:COL`` of a definition."""
    return entry.doc.where(entry.path)


def _reason(error: SimError, name: str) -> str:
    """The reason a file cannot be read, without its name repeated."""
    return str(error).removeprefix(f"{name}: ")


def _position(problem: Problem) -> tuple[str, int, int]:
    return problem.file, problem.line, problem.col
