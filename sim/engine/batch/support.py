"""What the batch engine can run: anything else is refused by name before a branch runs.

The batch engine knows the fields of the compiled model that existed when it was
written. A model that uses a field it does not know (a feature added to the format and
to the SimPy engine first) is refused with a located message naming the feature, rather
than run with the feature silently left out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sim.engine.common import located
from sim.errors import UsageError
from sim.model.compiled import (
    CDelay,
    CDraw,
    CEvent,
    CExpr,
    CFlow,
    CompiledModel,
    COutcome,
    CParameter,
    CPeriodic,
    CSchedule,
    CStage,
    CState,
    CTrigger,
    Effect,
)

__all__ = ["UnsupportedError", "check_supported"]


class UnsupportedError(UsageError):
    """A scenario uses a feature that the batch engine cannot run (yet)."""


_KNOWN: dict[type, frozenset[str]] = {
    CompiledModel: frozenset(
        [
            "name",
            "title",
            "unit",
            "horizon",
            "resolution",
            "start",
            "slot_names",
            "parameters",
            "state",
            "processes",
            "outcomes",
            "stop_when",
            "columns",
            "source_sha256",
            "source",
            "file",
            "variant",
            "overrides",
            "locations",
            "scenario",
            "includes",
            "draw_order",
            "origins",
            "indicators",
            "correlations",
            "notes",
            "record",
        ]
    ),
    CParameter: frozenset(
        ["name", "slot", "type", "value", "sampler", "dist", "doc", "copula", "experts"]
    )
    | {"cumulative", "path", "draw", "reads", "resolve"},
    CDraw: frozenset(["name", "process", "slot", "sampler", "path", "dist", "draw", "reads"]),
    CState: frozenset(["name", "slot", "type", "init", "lo", "hi"]),
    CPeriodic: frozenset(["name", "index", "every", "first", "effect"]),
    CEvent: frozenset(["name", "index", "rate", "effect", "max_count"]),
    CTrigger: frozenset(
        ["name", "index", "when", "delay", "chance", "effect", "cancel_if_false", "repeat"]
    ),
    CSchedule: frozenset(["name", "index", "times", "effect"]),
    CFlow: frozenset(
        [
            "name",
            "index",
            "rate",
            "every",
            "gate",
            "max_arrivals",
            "stages",
            "on_complete",
            "on_loss",
        ]
    ),
    CStage: frozenset(["name", "capacity", "duration", "loss"]),
    COutcome: frozenset(
        [
            *("name", "kind", "when", "by", "expr", "flow", "stage", "stat"),
            *("process", "to", "conditions", "given"),
        ]
    ),
    CExpr: frozenset(["fn", "source", "path", "reads", "constant", "checked", "size"]),
    Effect: frozenset(["fn", "targets", "reads", "path", "assignments", "draws"]),
    CDelay: frozenset(["constant", "expr", "sampler", "path", "dist", "draw", "reads"]),
}
# what a known field not listed above stands for, in a refusal
_FEATURES = {
    "draw": "a distribution whose fields are expressions (format 1.1)",
}
_OUTCOME_KINDS = frozenset(
    {"probability", "time_to", "value", "flow", "count", "time_between", "first_of"}
)
_FLOW_STATS = frozenset(
    {"arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue"}
)


def check_supported(model: CompiledModel) -> None:
    """Raise UnsupportedError naming the first feature of ``model`` the engine cannot run."""
    _check(model, model, "(root)")
    for p in model.parameters:
        _check(model, p, f"parameters.{p.name}")
    for s in model.state:
        _check(model, s, f"state.{s.name}")
        _check_expr(model, s.init)
    for i, proc in enumerate(model.processes):
        path = f"processes[{i}]"
        if type(proc) not in _KNOWN:
            _refuse(model, path, f"a process of kind {type(proc).__name__}")
        _check(model, proc, path)
        for child in _children(proc):
            _check(model, child, path)
    for i, outcome in enumerate(model.outcomes):
        path = f"outcomes[{i}]"
        if outcome.kind not in _OUTCOME_KINDS:
            _refuse(model, path, f"an outcome of kind {outcome.kind!r}")
        if outcome.kind == "flow" and outcome.stat not in _FLOW_STATS:
            _refuse(model, path, f"the flow statistic {outcome.stat!r}")
        _check(model, outcome, path)
        conditions = [c for _, c in outcome.conditions]
        for child in (outcome.when, outcome.expr, outcome.to, outcome.given, *conditions):
            if child is not None:
                _check_expr(model, child)
    for indicator in model.indicators:
        _check_expr(model, indicator.when)
    for expr in model.record.exprs if model.record is not None else ():
        _check_expr(model, expr)
    if model.stop_when is not None:
        _check_expr(model, model.stop_when)


def _children(proc: Any) -> list[Any]:
    """The compiled parts of a process: expressions, effects, delays, stages."""
    out: list[Any] = []
    for f in dataclasses.fields(proc):
        value = getattr(proc, f.name)
        if isinstance(value, CExpr | Effect | CDelay | CStage):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, CStage))
    for stage in [c for c in out if isinstance(c, CStage)]:
        out.extend(x for x in (stage.capacity, stage.duration, stage.loss) if x is not None)
    return out


def _check(model: CompiledModel, obj: Any, path: str) -> None:
    """Refuse a field the engine does not know whose value is not its default."""
    known = _KNOWN.get(type(obj))
    if known is None:
        _refuse(model, path, f"a {type(obj).__name__}")
        return
    for f in dataclasses.fields(obj):
        if f.name in known:
            continue
        value = getattr(obj, f.name)
        if value in (None, False, (), {}, "") or (
            f.default is not dataclasses.MISSING and value == f.default
        ):
            continue
        where = getattr(obj, "path", "") or path
        what = _FEATURES.get(f.name, f"{f.name!r} ({type(obj).__name__}.{f.name})")
        _refuse(model, where, what)
    if isinstance(obj, CExpr):
        _check_expr(model, obj)
    if isinstance(obj, CDelay) and obj.sampler is not None and obj.dist is None:
        _refuse(model, obj.path, "a distribution it cannot draw from")
    if isinstance(obj, Effect) and len(obj.assignments) != len(obj.targets):
        _refuse(model, obj.path, "an effect without its assignments")
    if isinstance(obj, Effect):
        for draw in obj.draws:
            _check(model, draw, draw.path)
    if isinstance(obj, CDraw) and obj.dist is None:
        _refuse(model, obj.path, "a draw it cannot draw from")


def _check_expr(model: CompiledModel, expr: CExpr) -> None:
    if expr.constant is None and expr.checked is None:
        _refuse(model, expr.path, "an expression without its checked form")


def _refuse(model: CompiledModel, path: str, what: str) -> None:
    message = f"the batch engine cannot run {what} yet; use --engine simpy"
    raise UnsupportedError(located(model, path, UnsupportedError(message)))
