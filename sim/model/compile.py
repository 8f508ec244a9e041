"""Compile a validated scenario into the engine's model, with every name resolved.

:func:`compile_scenario` checks what crosses the file (names, citations, expression types,
times against the horizon, variants) and reports every problem of the file at once, each
located in the file. It then lays out a branch's value list ``v`` (slot 0 is ``t``, then the
parameters, then the state, in file order) and compiles each expression once, and each
``set`` block into one generated function (:mod:`sim.model.codegen`). ``--set`` overrides are read
and checked by :mod:`sim.model.overrides`. No simpy here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.errors import UsageError
from sim.format.document import Document
from sim.format.expr import Type
from sim.format.include import compose, file_reader
from sim.format.loader import load_document, parse_document
from sim.format.scenario import (
    Scenario,
    Variant,
)
from sim.format.validation import scenario_error, scenario_from_document, suggest
from sim.model.compiled import (
    CompiledModel,
    CProcess,
)
from sim.model.compiler import DAYS_PER_UNIT
from sim.model.correlation import CorrelationSection
from sim.model.indicators import IndicatorSection, indicator_columns
from sim.model.outcomes import OutcomeSection, branch_columns
from sim.model.overrides import (
    parse_overrides,
)
from sim.model.parameters import ParameterSection
from sim.model.processes import ProcessSection
from sim.model.record import RecordSection
from sim.model.variants import VariantSection

__all__ = [
    "DAYS_PER_UNIT",
    "Includes",
    "build_model",
    "compile_scenario",
    "load",
    "load_model",
    "parse_scenario",
    "read_scenario",
]

Overrides = Iterable[tuple[str, str]]
Includes = tuple[tuple[str, str], ...]
"""The texts of a scenario's included files: ``(key, text)``, the key relative to its folder."""


def load(
    path: str | Path, *, variant: str | None = None, overrides: Overrides = ()
) -> CompiledModel:
    """Read, validate and compile a scenario file: the Python entry point of ``sim``.

    ``overrides`` are ``(NAME, VALUE)`` pairs as ``--set NAME=VALUE`` gives them. Raises
    :class:`~sim.errors.ScenarioError` with every located problem of the file, or
    :class:`~sim.errors.UsageError` for a bad variant or override.
    """
    return load_model(path, variant=variant, overrides=overrides)


def load_model(
    path: str | Path, *, variant: str | None = None, overrides: Overrides = ()
) -> CompiledModel:
    """Read a scenario file (and those it includes) from disk and compile it."""
    doc, scenario = read_scenario(path)
    return compile_scenario(scenario, doc, variant=variant, overrides=overrides)


def build_model(
    source: str,
    file: str,
    *,
    variant: str | None = None,
    overrides: Overrides = (),
    includes: Includes = (),
) -> CompiledModel:
    """Parse, validate and compile scenario text; ``file`` names it in messages.

    Included files are read from ``includes`` (``(key, text)`` pairs, as
    :attr:`CompiledModel.includes` holds them) where given, else from the disk beside ``file``.
    """
    doc, scenario = parse_scenario(source, file, includes)
    return compile_scenario(scenario, doc, variant=variant, overrides=overrides)


def read_scenario(path: str | Path) -> tuple[Document, Scenario]:
    """Read a scenario file and the files it includes; return the whole and its model."""
    doc = compose(load_document(path))
    return doc, scenario_from_document(doc)


def parse_scenario(source: str, file: str, includes: Includes = ()) -> tuple[Document, Scenario]:
    """Parse scenario text and the files it includes (see :func:`build_model`)."""
    doc = compose(parse_document(source, file), file_reader(dict(includes)))
    return doc, scenario_from_document(doc)


def compile_scenario(
    scenario: Scenario,
    doc: Document,
    *,
    variant: str | None = None,
    overrides: Overrides = (),
) -> CompiledModel:
    """Check the rules that cross the file and compile ``scenario`` for the engine.

    Every problem of the file is collected before one :class:`ScenarioError` is raised.
    A ``variant`` and ``overrides`` replace parameter distributions (a plain value is a
    fixed parameter) and, for a variant, initial values of state.
    """
    pairs = tuple(overrides)
    chosen = _chosen_variant(scenario, variant, doc.file)
    replaced = parse_overrides(scenario, pairs)
    return _Compiler(scenario, doc).run(chosen, variant, replaced, pairs)


def _chosen_variant(scenario: Scenario, name: str | None, file: str) -> Variant | None:
    """The variant called ``name``, or a UsageError listing the declared ones."""
    if name is None:
        return None
    if name in scenario.variants:
        return scenario.variants[name]
    declared = ", ".join(scenario.variants) or "none"
    hint = suggest(name, list(scenario.variants))
    raise UsageError(
        f"--variant {name}: unknown variant {name!r}{hint}; {file} declares: {declared}"
    )


# --- the compiler ---------------------------------------------------------------------------


class _Compiler(
    ParameterSection,
    CorrelationSection,
    ProcessSection,
    VariantSection,
    OutcomeSection,
    RecordSection,
    IndicatorSection,
):
    """The compiler of a whole scenario: each section's part, driven in file order."""

    def run(
        self,
        variant: Variant | None,
        variant_name: str | None,
        overrides: Mapping[str, Any],
        pairs: tuple[tuple[str, str], ...],
    ) -> CompiledModel:
        """Check and compile everything, then raise every problem found, or return the model."""
        s = self.s
        self.horizon = self.time(s.time.horizon, ("time", "horizon"), "horizon", in_range=False)
        self.check_sources()
        self.declare_parameters()
        specs = self.parameter_specs(variant, overrides)
        parameters = tuple(self.parameter(name, spec) for name, spec in specs.items())
        parameters, correlations = self.correlations(parameters, specs, notes=True)
        draw_order = self.draw_order(parameters, specs)
        inits = self.declare_state(variant, variant_name)
        state = tuple(self.state_var(name, init) for name, init in inits.items())
        processes = self.processes_of(variant_name, variant)
        for name, block in s.variants.items():
            self.check_variant(name, block)
            if block is not variant:  # its distributions may read each other in a cycle
                others = self.parameter_specs(block, {})
                compiled = tuple(self.parameter(n, p) for n, p in others.items())
                self.correlations(compiled, others, notes=False)
                self.draw_order(compiled, others)
                self.check_variant_processes(name, block)
        outcomes = tuple(self.outcome(o, i, processes) for i, o in enumerate(s.outcomes))
        stop_when = None
        if s.stop_when is not None:
            stop_when = self.expr(s.stop_when, ("stop_when",), Type.BOOL)
        indicators = self.indicators()
        columns = branch_columns(parameters, outcomes, self.pooled())
        columns += indicator_columns(indicators)
        self.check_columns(columns)
        record = self.record()
        if self.problems:
            raise scenario_error(self.problems)
        return CompiledModel(
            name=s.name,
            title=s.title,
            unit=s.time.unit,
            horizon=self.horizon or 0.0,
            resolution=s.time.resolution,
            start=s.time.start,
            slot_names=tuple(self.slots),
            parameters=parameters,
            state=state,
            processes=processes,
            outcomes=outcomes,
            stop_when=stop_when,
            columns=columns,
            source_sha256=hashlib.sha256(self.doc.text.encode("utf-8")).hexdigest(),
            source=self.doc.text,
            file=self.doc.file,
            variant=variant_name,
            overrides=pairs,
            locations=dict(self.locations),
            scenario=s,
            includes=getattr(self.doc, "includes", ()),
            origins=self.origins(),
            draw_order=draw_order,
            record=record,
            indicators=indicators,
            correlations=correlations,
            notes=tuple(self.notes),
        )

    def processes_of(self, name: str | None, variant: Variant | None) -> tuple[CProcess, ...]:
        """Compile the processes as the chosen variant (if any) makes them."""
        if variant is None or name is None or not variant.processes:
            return self.processes()
        changes = self.variant_processes(name, variant)
        with self.seen_from(self.with_variant(name, changes)):
            return self.processes(changes)

    def check_variant_processes(self, name: str, variant: Variant) -> None:
        """Check the processes another variant changes, as if it were chosen."""
        if not variant.processes:
            return
        changes = self.variant_processes(name, variant)
        with self.seen_from(self.with_variant(name, changes)):
            for i, (process, _) in changes.items():
                self.process(process, i)

    @contextmanager
    def seen_from(self, doc: Document) -> Iterator[None]:
        """Locate problems (and run errors) through ``doc`` while compiling."""
        kept, self.doc = self.doc, doc
        try:
            yield
        finally:
            self.doc = kept

    def origins(self) -> dict[str, str]:
        """Where each parameter and process from an included file is written."""
        found: dict[str, str] = {}
        for name in self.s.parameters:
            found[f"parameters.{name}"] = self.origin(("parameters", name)) or ""
        for i, process in enumerate(self.s.processes):
            found[f"processes.{process.name}"] = self.origin(("processes", i)) or ""
        return {key: where for key, where in found.items() if where}
