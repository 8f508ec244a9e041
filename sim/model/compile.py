"""Compile a validated scenario into the engine's model, with every name resolved.

:func:`compile_scenario` checks what crosses the file (names, citations, expression types,
times against the horizon, variants) and reports every problem of the file at once, each
located in the file. It then lays out a branch's value list ``v`` (slot 0 is ``t``, then the
parameters, then the state, in file order) and compiles each expression once, and each
``set`` block into one generated function (:mod:`sim.model.codegen`). ``--set`` overrides are read
and checked by :mod:`sim.model.overrides`. No simpy here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from sim.errors import ExprError, Problem, UsageError
from sim.format.distributions.kinds import Distribution
from sim.format.expr import Checked, Type, check, compile_expr, to_python
from sim.format.loader import Document, format_path, load_document, parse_document
from sim.format.scenario import (
    EventProcess,
    FlowOutcome,
    FlowProcess,
    Outcome,
    PeriodicProcess,
    ProbabilityOutcome,
    Process,
    Scenario,
    ScheduleProcess,
    TimeToOutcome,
    TriggerProcess,
    Variant,
)
from sim.format.validation import scenario_error, scenario_from_document, suggest
from sim.model.codegen import Assignment, effect_function
from sim.model.compiled import (
    T_SLOT,
    CDelay,
    CEvent,
    CExpr,
    CFlow,
    Column,
    CompiledModel,
    COutcome,
    CParameter,
    CPeriodic,
    CProcess,
    CSchedule,
    CStage,
    CState,
    CTrigger,
    Effect,
    Value,
)
from sim.model.overrides import (
    TYPE_WORDS,
    Spec,
    declared_type,
    parse_overrides,
    replacement,
    type_mismatch,
    value_type,
)

__all__ = ["DAYS_PER_UNIT", "build_model", "compile_scenario", "load", "load_model"]

DAYS_PER_UNIT: Mapping[str, float] = {
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "quarter": 365.25 / 4,
    "year": 365.25,
}

NodePath = tuple[str | int, ...]
Overrides = Iterable[tuple[str, str]]


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
    """Read a scenario file from disk and compile it (see :func:`build_model`)."""
    doc = load_document(path)
    return compile_scenario(scenario_from_document(doc), doc, variant=variant, overrides=overrides)


def build_model(
    source: str, file: str, *, variant: str | None = None, overrides: Overrides = ()
) -> CompiledModel:
    """Parse, validate and compile scenario text; ``file`` names it in messages."""
    doc = parse_document(source, file)
    return compile_scenario(scenario_from_document(doc), doc, variant=variant, overrides=overrides)


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


class _Compiler:
    """Checks and compiles one scenario; collects problems instead of stopping at the first."""

    def __init__(self, scenario: Scenario, doc: Document) -> None:
        self.s = scenario
        self.doc = doc
        self.problems: list[Problem] = []
        self.unit_days = DAYS_PER_UNIT[scenario.time.unit]
        self.start = scenario.time.start
        self.horizon: float | None = None
        self.slots: dict[str, int] = {"t": T_SLOT}
        self.types: dict[str, Type] = {"t": Type.NUMBER}
        self.parameter_types: dict[str, Type] = {}
        self.locations: dict[str, tuple[int, int]] = {}

    # problems

    def report(self, path: NodePath, message: str, offset: int | None = None) -> None:
        """Note a problem about the value at ``path``."""
        self.problems.append(self.doc.problem(path, message, offset))

    def report_key(self, path: NodePath, message: str) -> None:
        """Note a problem about the key of the value at ``path``."""
        self.problems.append(self.doc.key_problem(path, message))

    # the whole file

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
        inits = self.declare_state(variant, variant_name)
        state = tuple(self.state_var(name, init) for name, init in inits.items())
        for name, block in s.variants.items():
            self.check_variant(name, block)
        processes = self.processes()
        outcomes = tuple(self.outcome(o, i, processes) for i, o in enumerate(s.outcomes))
        stop_when = None
        if s.stop_when is not None:
            stop_when = self.expr(s.stop_when, ("stop_when",), Type.BOOL)
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
            columns=_columns(parameters, s.outcomes),
            source_sha256=hashlib.sha256(self.doc.text.encode("utf-8")).hexdigest(),
            source=self.doc.text,
            file=self.doc.file,
            variant=variant_name,
            overrides=pairs,
            locations=dict(self.locations),
            scenario=s,
        )

    # times

    def time(
        self, value: float | dt.date, path: NodePath, what: str, *, in_range: bool = True
    ) -> float | None:
        """Convert a time or a date to the scenario's unit, checking its range.

        With ``in_range`` the time must lie in ``[0, horizon]``; else (the horizon itself)
        it must be after the start.
        """
        if isinstance(value, dt.date):
            if self.start is None:
                self.report(path, f"the date {value} needs time.start (the date of t = 0)")
                return None
            t = (value - self.start).days / self.unit_days
            shown = f"{value} (t = {t:.4g})"
        else:
            t, shown = value, f"{value:g}"
        if not in_range:
            if t <= 0:
                self.report(path, f"{what} {shown} must be after time.start {self.start}")
            return t
        if t < 0:
            self.report(path, f"{what} {shown} is before the start (t = 0)")
        elif self.horizon is not None and t > self.horizon:
            self.report(path, f"{what} {shown} is after the horizon {self.horizon:g}")
        return t

    # sources and citations

    def check_sources(self) -> None:
        """Source ids are unique and every citation names a declared source."""
        first: dict[str, int] = {}
        for i, source in enumerate(self.s.sources):
            if source.id in first:
                earlier = f"sources[{first[source.id]}]"
                self.report(("sources", i, "id"), f"duplicate source id {source.id!r} ({earlier})")
            first.setdefault(source.id, i)
        for name, parameter in self.s.parameters.items():
            many = isinstance(parameter.source, list)
            for k, citation in enumerate(parameter.citations):
                if citation.ref in first:
                    continue
                path: NodePath = ("parameters", name, "source", *((k,) if many else ()), "ref")
                hint = suggest(citation.ref, list(first))
                declared = ", ".join(first) or "none"
                self.report(
                    path, f"unknown source {citation.ref!r}{hint}; declared sources: {declared}"
                )

    # parameters

    def declare_parameters(self) -> None:
        """Give each parameter its slot and type (the type of its baseline value)."""
        for name, parameter in self.s.parameters.items():
            self.slots[name] = len(self.slots)
            self.types[name] = self.parameter_types[name] = declared_type(
                parameter.dist, parameter.value
            )

    def parameter_specs(
        self, variant: Variant | None, overrides: Mapping[str, Any]
    ) -> dict[str, Spec]:
        """What each parameter draws from: the file, then the variant, then ``--set``."""
        specs = {name: Spec(p.dist, p.value) for name, p in self.s.parameters.items()}
        for name, change in (variant.parameters if variant else {}).items():
            if name in specs:  # else check_variant reports it
                specs[name] = replacement(change)
        for name, change in overrides.items():
            specs[name] = replacement(change)
        return specs

    def parameter(self, name: str, spec: Spec) -> CParameter:
        """Compile one parameter."""
        declared = self.s.parameters[name]
        kind: Literal["number", "bool"] = (
            "bool" if self.parameter_types[name] is Type.BOOL else "number"
        )
        dist, value, sampler = spec.dist, spec.value, None
        if dist is not None and dist.kind == "fixed":
            value = dist.value
        elif dist is not None:
            sampler = dist.sampler()
        if kind == "number" and value is not None:
            value = float(value)
        return CParameter(name, self.slots[name], kind, value, sampler, dist, declared.doc)

    # state

    def declare_state(
        self, variant: Variant | None, variant_name: str | None
    ) -> dict[str, tuple[Any, NodePath]]:
        """Give each state variable its slot and type; return its initial value and path."""
        parameters = {n: t for n, t in self.types.items() if n != "t"}
        inits: dict[str, tuple[Any, NodePath]] = {}
        for name, var in self.s.state.items():
            path: NodePath = ("state", name)
            if name in self.slots:
                self.report_key(path, f"name {name!r} is already a parameter")
                continue
            type_ = self.init_type(var.init, (*path, "init"), parameters)
            if type_ is Type.BOOL and (var.min is not None or var.max is not None):
                self.report(path, "a true/false variable takes no min/max")
            self.slots[name] = len(self.slots)
            self.types[name] = type_
            inits[name] = (var.init, (*path, "init"))
        for name, change in (variant.state if variant else {}).items():
            if name in inits:
                inits[name] = (change.init, ("variants", variant_name or "", "state", name, "init"))
        return inits

    def init_type(self, init: Value | str, path: NodePath, scope: Mapping[str, Type]) -> Type:
        """The type of an initial value; an expression is checked against the parameters."""
        if not isinstance(init, str):
            return value_type(init)
        checked = self.check_expr(init, path, None, only=scope, what="an initial value")
        return checked.type if checked is not None else Type.NUMBER

    def state_var(self, name: str, init: tuple[Any, NodePath]) -> CState:
        """Compile one state variable."""
        var = self.s.state[name]
        value, path = init
        kind: Literal["number", "bool"] = "bool" if self.types[name] is Type.BOOL else "number"
        parameters = {n: self.types[n] for n in self.s.parameters}
        # No expected type: the baseline's init defines it, and check_variant compares a
        # variant's init with it (expecting it here too would report a mismatch twice).
        expr = self.expr(_as_source(value), path, None, only=parameters, what="an initial value")
        return CState(name, self.slots[name], kind, expr, var.min, var.max)

    # variants

    def check_variant(self, name: str, variant: Variant) -> None:
        """A variant's parameters and state exist and keep their types."""
        base: NodePath = ("variants", name)
        for parameter, change in variant.parameters.items():
            path: NodePath = (*base, "parameters", parameter)
            if parameter not in self.parameter_types:
                hint = suggest(parameter, list(self.parameter_types))
                self.report_key(path, f"unknown parameter {parameter!r}{hint}")
                continue
            mismatch = type_mismatch(parameter, self.s.parameters[parameter], change)
            if mismatch is not None:
                self.report(path, mismatch)
        parameters = {n: self.types[n] for n in self.s.parameters}
        for var, new in variant.state.items():
            path = (*base, "state", var)
            if var not in self.s.state:
                self.report_key(
                    path, f"unknown state variable {var!r}{suggest(var, list(self.s.state))}"
                )
                continue
            got = self.init_type(new.init, (*path, "init"), parameters)
            wanted = self.types.get(var, got)
            if got is not wanted:
                self.report(
                    (*path, "init"),
                    f"state {var!r} is {TYPE_WORDS[wanted]}, got {TYPE_WORDS[got]}",
                )

    # expressions

    def check_expr(
        self,
        source: str,
        path: NodePath,
        expect: Type | None,
        *,
        only: Mapping[str, Type] | None = None,
        what: str = "",
    ) -> Checked | None:
        """Check an expression against the names in scope; note a problem and return None."""
        names = self.types
        if only is not None:  # let a name that is not allowed get a better message below
            names = {name: Type.NUMBER for name in self.s.state} | self.types
        try:
            checked = check(source, names, expect)
        except ExprError as error:
            self.report(path, error.message, error.offset)
            return None
        refused = sorted(checked.names - set(only)) if only is not None else []
        if refused:
            name = refused[0]
            thing = "the time" if name == "t" else "state"
            message = f"{what} may read parameters only, not {thing} {name!r}"
            self.report(path, message, _offset_of(source, name))
            return None
        return checked

    def expr(
        self,
        source: str,
        path: NodePath,
        expect: Type | None,
        *,
        only: Mapping[str, Type] | None = None,
        what: str = "",
    ) -> CExpr:
        """Check and compile an expression (a placeholder if it has a problem)."""
        checked = self.check_expr(source, path, expect, only=only, what=what)
        if checked is None:
            return _placeholder(path)
        fn = compile_expr(checked, self.ref)
        reads = frozenset(self.slots[name] for name in checked.names)
        return CExpr(fn, source, self.place(path), reads, checked.constant)

    def place(self, path: NodePath) -> str:
        """The printed path of ``path``, remembering where it is in the file for run errors."""
        where = format_path(path)
        self.locations.setdefault(where, self.doc.locate(path))
        return where

    def ref(self, name: str) -> str:
        """Python source that reads ``name`` from the value list ``v``."""
        return f"v[{self.slots[name]}]"

    def bounded(
        self, source: str, path: NodePath, what: str, low: float, high: float | None = None
    ) -> CExpr:
        """Compile a number expression whose constant value must lie in ``[low, high]``."""
        expr = self.expr(source, path, Type.NUMBER)
        c = expr.constant
        if isinstance(c, float) and (c < low or (high is not None and c > high)):
            wanted = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            self.report(path, f"{what} must be {wanted}, got {c:g}")
        return expr

    def delay(self, value: float | str | Distribution, path: NodePath, what: str) -> CDelay:
        """Compile a delay or duration: a constant, an expression, or a distribution."""
        where = self.place(path)
        if isinstance(value, float):
            return CDelay(constant=value, path=where)
        if isinstance(value, str):
            expr = self.bounded(value, path, what, 0.0)
            if isinstance(expr.constant, float):
                return CDelay(constant=expr.constant, path=where)
            return CDelay(expr=expr, path=where)
        if value.value_type() != "number":
            self.report(path, f"{what} must be a number; a {value.kind} draws true/false")
        elif value.support()[0] < 0:
            self.report(
                path, f"{what} must be >= 0, but this {value.kind} can draw negative values"
            )
        return CDelay(sampler=value.sampler(), path=where)

    def effect(self, block: Mapping[str, str], path: NodePath) -> Effect:
        """Compile a ``set`` block into one function (see :func:`effect_function`)."""
        assignments: list[Assignment] = []
        reads: set[int] = set()
        for name, source in block.items():
            target: NodePath = (*path, name)
            if name in self.parameter_types:
                self.report_key(target, f"cannot assign to parameter {name!r}")
                continue
            if name not in self.s.state or name not in self.slots:
                hint = suggest(name, list(self.s.state))
                self.report_key(target, f"unknown state variable {name!r}{hint}")
                continue
            checked = self.check_expr(source, target, None)
            if checked is None:
                continue
            if checked.type is not self.types[name]:
                wanted, got = TYPE_WORDS[self.types[name]], TYPE_WORDS[checked.type]
                self.report(target, f"state {name!r} is {wanted}, got {got}", 0)
                continue
            var = self.s.state[name]
            assignments.append(
                Assignment(
                    self.slots[name], name, to_python(checked, self.ref), var.min, var.max,
                    number=checked.type is Type.NUMBER,
                )
            )  # fmt: skip
            reads.update(self.slots[n] for n in checked.names)
        fn = effect_function(assignments, self.place(path))
        targets = tuple(a.slot for a in assignments)
        return Effect(fn, targets, frozenset(reads), self.place(path))

    # processes

    def processes(self) -> tuple[CProcess, ...]:
        """Compile the processes; their names are unique."""
        seen: dict[str, int] = {}
        compiled: list[CProcess] = []
        for i, process in enumerate(self.s.processes):
            if process.name in seen:
                self.report(
                    ("processes", i, "name"),
                    f"duplicate process name {process.name!r} (processes[{seen[process.name]}])",
                )
            seen.setdefault(process.name, i)
            compiled.append(self.process(process, i))
        return tuple(compiled)

    def process(self, p: Process, i: int) -> CProcess:
        """Compile one process."""
        base: NodePath = ("processes", i)
        if isinstance(p, PeriodicProcess):
            first = p.every if p.first is None else self.time(p.first, (*base, "first"), "first")
            effect = self.effect(p.set, (*base, "set"))
            return CPeriodic(p.name, i, p.every, first or 0.0, effect)
        if isinstance(p, EventProcess):
            rate = self.bounded(p.rate, (*base, "rate"), "a rate", 0.0)
            return CEvent(p.name, i, rate, self.effect(p.set, (*base, "set")), p.max_count)
        if isinstance(p, TriggerProcess):
            when = self.expr(p.when, (*base, "when"), Type.BOOL)
            delay = self.delay(p.delay, (*base, "delay"), "a delay")
            chance = None
            if p.chance is not None:
                chance = self.bounded(p.chance, (*base, "chance"), "a chance", 0.0, 1.0)
            effect = self.effect(p.set, (*base, "set"))
            return CTrigger(p.name, i, when, delay, chance, effect, p.cancel_if_false, p.repeat)
        if isinstance(p, ScheduleProcess):
            times = self.schedule_times(p.at, (*base, "at"))
            return CSchedule(p.name, i, times, self.effect(p.set, (*base, "set")))
        return self.flow(p, i)

    def schedule_times(self, at: Any, path: NodePath) -> tuple[float, ...]:
        """The times of a schedule, in order."""
        if not isinstance(at, list):
            t = self.time(at, path, "at")
            return () if t is None else (t,)
        times = (self.time(a, (*path, k), "at") for k, a in enumerate(at))
        return tuple(sorted(t for t in times if t is not None))

    def flow(self, p: FlowProcess, i: int) -> CFlow:
        """Compile a flow: arrivals, stages (names unique in the flow), effects."""
        base: NodePath = ("processes", i)
        arrivals = p.arrivals
        rate = gate = None
        if arrivals.rate is not None:
            rate = self.bounded(arrivals.rate, (*base, "arrivals", "rate"), "a rate", 0.0)
        if arrivals.while_ is not None:
            gate = self.expr(arrivals.while_, (*base, "arrivals", "while"), Type.BOOL)
        seen: set[str] = set()
        stages: list[CStage] = []
        parameters = {n: self.types[n] for n in self.s.parameters}
        for k, stage in enumerate(p.stages):
            path: NodePath = (*base, "stages", k)
            if stage.name in seen:
                self.report(
                    (*path, "name"), f"duplicate stage name {stage.name!r} in flow {p.name!r}"
                )
            seen.add(stage.name)
            capacity = self.expr(
                _as_source(stage.capacity),
                (*path, "capacity"),
                Type.NUMBER,
                only=parameters,
                what="a capacity",
            )
            if isinstance(capacity.constant, float) and capacity.constant < 1:
                self.report(
                    (*path, "capacity"), f"capacity must be >= 1, got {capacity.constant:g}"
                )
            duration = self.delay(stage.duration, (*path, "duration"), "a duration")
            loss = None
            if stage.loss is not None:
                loss = self.bounded(stage.loss, (*path, "loss"), "a loss", 0.0, 1.0)
            stages.append(CStage(stage.name, capacity, duration, loss))
        on_complete = on_loss = None
        if p.on_complete is not None:
            on_complete = self.effect(p.on_complete, (*base, "on_complete"))
        if p.on_loss is not None:
            on_loss = self.effect(p.on_loss, (*base, "on_loss"))
        return CFlow(
            p.name, i, rate, arrivals.every, gate, arrivals.max, tuple(stages), on_complete, on_loss
        )

    # outcomes

    def outcome(self, o: Outcome, i: int, processes: Sequence[CProcess]) -> COutcome:
        """Compile one outcome; its name is a column, so it is unique among the columns."""
        base: NodePath = ("outcomes", i)
        self.check_outcome_name(o.name, i)
        if isinstance(o, ProbabilityOutcome):
            when = self.expr(o.when, (*base, "when"), Type.BOOL)
            by = self.horizon if o.by is None else self.time(o.by, (*base, "by"), "by")
            return COutcome(o.name, o.kind, when=when, by=by)
        if isinstance(o, TimeToOutcome):
            return COutcome(o.name, o.kind, when=self.expr(o.when, (*base, "when"), Type.BOOL))
        if isinstance(o, FlowOutcome):
            flow, stage = self.flow_reference(o, base, processes)
            return COutcome(o.name, o.kind, flow=flow, stage=stage, stat=o.stat)
        return COutcome(o.name, o.kind, expr=self.expr(o.expr, (*base, "expr"), None))

    def check_outcome_name(self, name: str, i: int) -> None:
        """An outcome name clashes with no parameter and no earlier outcome."""
        path: NodePath = ("outcomes", i, "name")
        if name in self.parameter_types:
            self.report(path, f"outcome name {name!r} is also a parameter (both are columns)")
        for k, other in enumerate(self.s.outcomes[:i]):
            if other.name == name:
                self.report(path, f"duplicate outcome name {name!r} (outcomes[{k}])")
                break

    def flow_reference(
        self, o: FlowOutcome, base: NodePath, processes: Sequence[CProcess]
    ) -> tuple[int | None, int | None]:
        """The indices of the flow (and stage) a flow outcome names."""
        flows = {p.name: p for p in processes if isinstance(p, CFlow)}
        flow = flows.get(o.flow)
        if flow is None:
            hint = suggest(o.flow, list(flows))
            self.report(
                (*base, "flow"),
                f"unknown flow {o.flow!r}{hint}; flows: {', '.join(flows) or 'none'}",
            )
            return None, None
        if o.stage is None:
            return flow.index, None
        names = [stage.name for stage in flow.stages]
        if o.stage not in names:
            hint = suggest(o.stage, names)
            listed = ", ".join(dict.fromkeys(names))
            self.report(
                (*base, "stage"),
                f"unknown stage {o.stage!r}{hint} of flow {o.flow!r}; stages: {listed}",
            )
            return flow.index, None
        return flow.index, names.index(o.stage)


def _as_source(value: Value | str | int) -> str:
    """The expression text of a constant (or the text of an expression)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value))


def _offset_of(source: str, name: str) -> int | None:
    """The offset of the first use of ``name`` in ``source``."""
    found = re.search(rf"\b{re.escape(name)}\b", source)
    return found.start() if found else None


def _placeholder(path: NodePath) -> CExpr:
    """A stand-in for an expression with a problem; never reaches a compiled model."""
    return CExpr(lambda v: 0.0, "", format_path(path), frozenset(), None)


def _columns(parameters: Sequence[CParameter], outcomes: Sequence[Outcome]) -> tuple[Column, ...]:
    """The columns of the branch table: ids, then parameters, then outcomes."""
    columns = [
        Column("branch", "int64", "id"),
        Column("seed", "int64", "id"),
        Column("t_end", "float64", "id"),
    ]
    for p in parameters:
        dtype: Literal["float64", "bool"] = "bool" if p.type == "bool" else "float64"
        columns.append(Column(p.name, dtype, "parameter", p.type))
    for o in outcomes:
        dtype = "bool" if o.kind == "probability" else "float64"
        columns.append(Column(o.name, dtype, "outcome", o.kind))
    return tuple(columns)
