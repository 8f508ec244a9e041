"""Compiling outcomes, and the columns of the branch table they make."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Literal

from sim.format.expr import Type
from sim.format.outcomes import (
    CountOutcome,
    FirstOfOutcome,
    FlowOutcome,
    Outcome,
    ProbabilityOutcome,
    TimeBetweenOutcome,
    TimeToOutcome,
)
from sim.format.pool import expert_column
from sim.format.validation import suggest
from sim.model.compiled import (
    CExpr,
    CFlow,
    Column,
    COutcome,
    CParameter,
    CProcess,
)
from sim.model.compiler import Core, NodePath

__all__ = [
    "FROM_SUFFIX",
    "GIVEN_SUFFIX",
    "OutcomeSection",
    "branch_columns",
]

# The detail columns of an outcome NAME: when a time_between clock started, and whether the
# given condition held.
FROM_SUFFIX = "__from"
GIVEN_SUFFIX = "__given"
_NEW_KINDS = ("count", "time_between", "first_of")  # kinds of format 1.1
_DTYPES: dict[str, Literal["bool", "int64", "string"]] = {
    "probability": "bool",
    "count": "int64",
    "first_of": "string",
}


class OutcomeSection(Core):
    """Compiling outcomes, and the columns of the branch table they make."""

    def outcome(self, o: Outcome, i: int, processes: Sequence[CProcess]) -> COutcome:
        """Compile one outcome; its name is a column, so it is unique among the columns."""
        base: NodePath = ("outcomes", i)
        self.check_outcome_name(o.name, i)
        if o.kind in _NEW_KINDS:
            self.require_1_1((*base, "kind"), f"the outcome kind {o.kind!r}")
        for field in ("given", "question", "resolves"):
            if getattr(o, field) is not None:
                self.require_1_1((*base, field), f"`{field}`", at_key=True)
        given = None if o.given is None else self.expr(o.given, (*base, "given"), Type.BOOL)
        compiled = self._outcome(o, base, processes)
        return compiled if given is None else _with_given(compiled, given)

    def _outcome(self, o: Outcome, base: NodePath, processes: Sequence[CProcess]) -> COutcome:
        """Compile the kind-specific fields of an outcome."""
        if isinstance(o, ProbabilityOutcome):
            when = self.expr(o.when, (*base, "when"), Type.BOOL)
            return COutcome(o.name, o.kind, when=when, by=self._by(o.by, base))
        if isinstance(o, TimeToOutcome):
            return COutcome(o.name, o.kind, when=self.expr(o.when, (*base, "when"), Type.BOOL))
        if isinstance(o, FlowOutcome):
            flow, stage = self.flow_reference(o, base, processes)
            return COutcome(o.name, o.kind, flow=flow, stage=stage, stat=o.stat)
        if isinstance(o, CountOutcome):
            return self._count(o, base, processes)
        if isinstance(o, TimeBetweenOutcome):
            start = self.expr(o.from_, (*base, "from"), Type.BOOL)
            return COutcome(
                o.name, o.kind, when=start, to=self.expr(o.to, (*base, "to"), Type.BOOL)
            )
        if isinstance(o, FirstOfOutcome):
            conditions = tuple(
                (label, self.expr(when, (*base, "conditions", label), Type.BOOL))
                for label, when in o.conditions.items()
            )
            return COutcome(o.name, o.kind, conditions=conditions, by=self._by(o.by, base))
        return COutcome(o.name, o.kind, expr=self.expr(o.expr, (*base, "expr"), None))

    def _by(self, by: float | dt.date | None, base: NodePath) -> float | None:
        """The deadline ``by`` in the scenario's unit (default the horizon)."""
        return self.horizon if by is None else self.time(by, (*base, "by"), "by")

    def _count(self, o: CountOutcome, base: NodePath, processes: Sequence[CProcess]) -> COutcome:
        """Compile a count of a process's firings or of a condition's rises."""
        by = self._by(o.by, base)
        if o.when is not None:
            return COutcome(
                o.name, o.kind, when=self.expr(o.when, (*base, "when"), Type.BOOL), by=by
            )
        names = [p.name for p in processes]
        if o.process not in names:
            assert o.process is not None
            hint = suggest(o.process, names)
            self.report(
                (*base, "process"),
                f"unknown process {o.process!r}{hint}; processes: {', '.join(names) or 'none'}",
            )
            return COutcome(o.name, o.kind, by=by)
        index = names.index(o.process)
        if isinstance(processes[index], CFlow):
            self.report(
                (*base, "process"),
                f"process {o.process!r} is a flow: count its entities with a flow outcome "
                "(stat: arrived, completed or lost)",
            )
        return COutcome(o.name, o.kind, process=index, by=by)

    def check_outcome_name(self, name: str, i: int) -> None:
        """An outcome name clashes with no parameter and no earlier outcome."""
        path: NodePath = ("outcomes", i, "name")
        if name in self.parameter_types:
            self.report(path, f"outcome name {name!r} is also a parameter (both are columns)")
        for k, other in enumerate(self.s.outcomes[:i]):
            if other.name == name:
                self.report(path, f"duplicate outcome name {name!r} (outcomes[{k}])")
                break

    def check_columns(self, columns: Sequence[Column]) -> None:
        """Every column name is unique: a detail column may not take another column's name."""
        seen: dict[str, Column] = {}
        outcomes = {o.name: i for i, o in enumerate(self.s.outcomes)}
        for column in columns:
            first = seen.setdefault(column.name, column)
            if first is column or "detail" not in (first.role, column.role):
                continue
            detail, other = (first, column) if first.role == "detail" else (column, first)
            owner = detail.name.rsplit("__", 1)[0]
            self.report(
                ("outcomes", outcomes[owner], "name"),
                f"outcome {owner!r} needs the column {detail.name!r}, which is also the name "
                f"of {'an' if other.role == 'outcome' else 'a'} {other.role}",
            )

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


def _with_given(outcome: COutcome, given: CExpr) -> COutcome:
    """``outcome`` conditioned on ``given``."""
    return COutcome(
        outcome.name, outcome.kind, when=outcome.when, by=outcome.by, expr=outcome.expr,
        flow=outcome.flow, stage=outcome.stage, stat=outcome.stat, process=outcome.process,
        to=outcome.to, conditions=outcome.conditions, given=given,
    )  # fmt: skip


def branch_columns(
    parameters: Sequence[CParameter],
    outcomes: Sequence[COutcome],
    pooled: Collection[str] = (),
) -> tuple[Column, ...]:
    """The columns of the branch table: ids, then parameters, then outcomes and their details.

    A parameter in ``pooled`` (a pool in the file or in a variant) is followed by its
    ``PARAM__expert`` column: the name of the expert drawn from, or null where the
    parameter is not a pool in this compilation.
    """
    columns = [
        Column("branch", "int64", "id"),
        Column("seed", "int64", "id"),
        Column("t_end", "float64", "id"),
    ]
    for p in parameters:
        dtype: Literal["float64", "bool"] = "bool" if p.type == "bool" else "float64"
        columns.append(Column(p.name, dtype, "parameter", p.type))
        if p.name in pooled:
            columns.append(Column(expert_column(p.name), "string", "expert", p.name))
    for o in outcomes:
        columns.append(Column(o.name, _DTYPES.get(o.kind, "float64"), "outcome", o.kind))
        if o.kind == "time_between":
            columns.append(Column(o.name + FROM_SUFFIX, "float64", "detail", o.kind))
        if o.given is not None:
            columns.append(Column(o.name + GIVEN_SUFFIX, "bool", "detail", o.kind))
    return tuple(columns)
