"""Variants that change processes (format 1.1): ``processes: {NAME: {enabled: false, ...}}``.

A variant may switch a process off, or give new values to its fields: the change is laid
over the process as the file writes it (``set``, ``draws``, ``arrivals``, ``on_complete``
and ``on_loss`` entry by entry, ``stages`` by stage name, any other field replaced whole, a
null removing an optional one), then validated and compiled like the file, each problem
located where the variant writes it. A process switched off compiles to an inert one (a
periodic update that never comes, a rate of zero, a condition that never holds), so every
engine runs a variant without knowing about it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim.format.document import Document, NodePath
from sim.format.include import ComposedDocument
from sim.format.scenario import Process, Variant
from sim.format.validation import explain_errors, suggest
from sim.model.compiled import (
    CEvent,
    CExpr,
    CFlow,
    CPeriodic,
    CProcess,
    CSchedule,
    CTrigger,
)
from sim.model.compiler import Core

__all__ = ["VariantSection", "inert"]

_PROCESS: TypeAdapter[Any] = TypeAdapter(Process)
_BY_ENTRY = ("set", "draws", "arrivals", "on_complete", "on_loss")
_FIXED = ("kind", "name")

Changes = dict[int, tuple[Any, bool]]
"""Changed processes by index: the process as the variant makes it, and whether it is on."""


class VariantSection(Core):
    """Laying a variant's changes over the processes, checking them, switching processes off."""

    def variant_processes(self, name: str, variant: Variant) -> Changes:
        """The processes ``variant`` changes; each problem is reported where it is written."""
        index = {p.name: i for i, p in enumerate(self.s.processes)}
        written = self.doc.data["processes"] if self.s.processes else []
        found: Changes = {}
        for process, patch in variant.processes.items():
            at: NodePath = ("variants", name, "processes", process)
            self.require_1_1(at, "a variant's `processes`", at_key=True)
            if process not in index:
                hint = suggest(process, list(index))
                self.report_key(at, f"unknown process {process!r}{hint}")
                continue
            i = index[process]
            enabled = patch.get("enabled", True)
            if not isinstance(enabled, bool):
                self.report((*at, "enabled"), "expected true or false")
                continue
            merged = self.merged(written[i], patch, at)
            if merged is None:
                continue
            try:
                model = _PROCESS.validate_python(merged)
            except ValidationError as error:
                for path, message in explain_errors(error, merged, Process):
                    where = self.written_at(path, patch, at, i)
                    if message.startswith("unknown field"):
                        self.report_key(where, message)
                    else:
                        self.report(where, message)
                continue
            found[i] = (model, enabled)
        return found

    def merged(self, base: Mapping[str, Any], patch: Mapping[str, Any], at: NodePath) -> Any:
        """The process's data with the variant's changes laid over it, or None (reported)."""
        merged = dict(base)
        for field, value in patch.items():
            if field == "enabled":
                continue
            if field in _FIXED:
                self.report_key((*at, field), f"a variant cannot change a process's {field}")
                return None
            if field == "stages" and isinstance(value, dict):
                stages = self.merged_stages(base.get("stages"), value, (*at, "stages"))
                if stages is None:
                    return None
                merged["stages"] = stages
            elif field in _BY_ENTRY and isinstance(value, dict):
                earlier = merged.get(field)
                merged[field] = {**earlier, **value} if isinstance(earlier, dict) else value
            else:
                merged[field] = value
        return {k: v for k, v in merged.items() if v is not None}

    def merged_stages(
        self, stages: Any, patch: Mapping[str, Any], at: NodePath
    ) -> list[Any] | None:
        """A flow's stages with the variant's changes, stage by stage name."""
        names = [str(s.get("name")) for s in stages or [] if isinstance(s, dict)]
        changed = list(stages or [])
        for stage, fields in patch.items():
            if stage not in names:
                self.report_key((*at, stage), f"unknown stage {stage!r}{suggest(stage, names)}")
                return None
            if not isinstance(fields, dict):
                self.report((*at, stage), "expected a mapping of the stage's fields")
                return None
            k = names.index(stage)
            changed[k] = {**changed[k], **fields}
        return changed

    def written_at(
        self, path: NodePath, patch: Mapping[str, Any], at: NodePath, i: int
    ) -> NodePath:
        """Where a problem at ``path`` of a changed process is written: the variant, or the file."""
        if not path:
            return at
        field = path[0]
        if field not in patch:
            return ("processes", i, *path)
        if field == "stages" and len(path) > 2 and isinstance(path[1], int):
            stages = self.doc.data["processes"][i].get("stages") or []
            stage = str(stages[path[1]].get("name")) if path[1] < len(stages) else ""
            if stage in patch["stages"] and path[2] in patch["stages"][stage]:
                return (*at, "stages", stage, *path[2:])
            return ("processes", i, *path)
        entries = patch[str(field)]
        by_entry = field in _BY_ENTRY and len(path) > 1 and isinstance(entries, dict)
        if by_entry and path[1] not in entries:
            return ("processes", i, *path)
        return (*at, *path)

    def variant_sites(
        self, name: str, changes: Changes
    ) -> dict[NodePath, tuple[Document, NodePath]]:
        """Sites that locate the changed fields of processes in the variant ``name``."""
        doc = self.doc
        sites: dict[NodePath, tuple[Document, NodePath]] = {}
        for i in changes:
            process = self.s.processes[i].name
            patch = self.s.variants[name].processes[process]
            at: NodePath = ("variants", name, "processes", process)
            for field, value in patch.items():
                if field == "stages" and isinstance(value, dict):
                    stages = [s.name for s in getattr(self.s.processes[i], "stages", [])]
                    for stage, fields in value.items():
                        if stage not in stages or not isinstance(fields, dict):
                            continue
                        k = stages.index(stage)
                        for key in fields:
                            sites[("processes", i, "stages", k, str(key))] = (
                                doc, (*at, "stages", str(stage), str(key))
                            )  # fmt: skip
                elif field in _BY_ENTRY and isinstance(value, dict):
                    for key in value:
                        sites[("processes", i, field, key)] = (doc, (*at, field, key))
                else:
                    sites[("processes", i, field)] = (doc, (*at, field))
        return sites

    def with_variant(self, name: str, changes: Changes) -> Document:
        """The document seen from the variant ``name``: its changes located where written."""
        sites = self.variant_sites(name, changes)
        doc = self.doc
        if isinstance(doc, ComposedDocument):
            return doc.with_sites(sites)
        return ComposedDocument(doc.file, doc.text, doc.data, doc.marks, doc.key_marks, sites)


def inert(process: CProcess) -> CProcess:
    """The process switched off: compiled as the file says, but it never acts."""
    never = CExpr(_false, "false", process.name, frozenset(), False)
    zero = CExpr(_zero, "0", process.name, frozenset(), 0.0)
    if isinstance(process, CPeriodic):
        return replace(process, first=math.inf)
    if isinstance(process, CEvent):
        return replace(process, rate=zero)
    if isinstance(process, CTrigger):
        return replace(process, when=never)
    if isinstance(process, CSchedule):
        return replace(process, times=())
    assert isinstance(process, CFlow)
    return replace(process, rate=zero, every=None, gate=None)


def _false(v: list[Any]) -> bool:
    return False


def _zero(v: list[Any]) -> float:
    return 0.0
