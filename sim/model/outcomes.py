"""Compiling outcomes, and the columns of the branch table they make."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sim.format.expr import Type
from sim.format.scenario import (
    FlowOutcome,
    Outcome,
    ProbabilityOutcome,
    TimeToOutcome,
)
from sim.format.validation import suggest
from sim.model.compiled import (
    CFlow,
    Column,
    COutcome,
    CParameter,
    CProcess,
)
from sim.model.compiler import Core, NodePath

__all__ = [
    "OutcomeSection",
    "branch_columns",
]


class OutcomeSection(Core):
    """Compiling outcomes, and the columns of the branch table they make."""

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


def branch_columns(
    parameters: Sequence[CParameter], outcomes: Sequence[Outcome]
) -> tuple[Column, ...]:
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
