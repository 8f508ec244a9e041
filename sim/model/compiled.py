"""The compiled model: what the engine runs, with every name resolved to a slot.

A branch keeps all its values in one Python list ``v``: slot 0 is the time ``t``, then the
parameters in file order, then the state variables in file order. Compiled expressions
are plain functions of ``v``; ``reads`` tells which slots an expression depends on, so the
engine recomputes only what a change affects. Nothing here imports simpy or pydantic.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

__all__ = [
    "CCorrelation",
    "CDelay",
    "CDraw",
    "CEvent",
    "CExpert",
    "CExpr",
    "CFlow",
    "CIndicator",
    "COutcome",
    "CParameter",
    "CPeriodic",
    "CProcess",
    "CRecord",
    "CSchedule",
    "CStage",
    "CState",
    "CTrigger",
    "Column",
    "CompiledModel",
    "DrawFn",
    "Effect",
    "Site",
    "Value",
]

Value = float | bool
Sampler = Callable[[np.random.Generator], Value]
DrawFn = Callable[[np.random.Generator, list[Any]], Value]
"""Draws from a distribution whose fields are expressions, given the branch's values ``v``."""
T_SLOT = 0


class Site(NamedTuple):
    """Where a compiled piece is written: line and column (1-based), file and path there.

    ``file`` and ``path`` name the file that writes it, which for an included definition is
    the library, not the scenario.
    """

    line: int
    col: int
    file: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class CExpr:
    """A compiled expression: ``fn(v)`` evaluates it on a branch's values."""

    fn: Callable[[list[Any]], Any]
    source: str
    path: str
    reads: frozenset[int]
    constant: Value | None = None
    checked: Any = field(default=None, compare=False, repr=False)  # its sim.format.expr.Checked
    # The size of the expression's terms (see sim.format.expr.compile_size), that rounding
    # is relative to; compiled when first needed. None for conditions.
    size: Callable[[list[Any]], float] | None = field(default=None, compare=False, repr=False)

    @property
    def reads_t(self) -> bool:
        """Whether the expression reads the time ``t``."""
        return T_SLOT in self.reads


@dataclass(frozen=True, slots=True)
class CDraw:
    """A value a process draws afresh each time it acts (format 1.1 ``draws``).

    It is put in ``slot`` of ``v`` just before the effect that reads it, from the stream
    ``(process, "draws", name)`` of the branch.
    """

    name: str
    process: str
    slot: int
    sampler: Sampler | None
    draw: DrawFn | None
    path: str
    dist: Any = field(default=None, compare=False, repr=False)  # for engines that need ppf
    reads: frozenset[int] = frozenset()  # the slots its distribution's expressions read


@dataclass(frozen=True, slots=True)
class Effect:
    """A compiled ``set`` block: ``fn(v)`` assigns, clamps, and returns the changed slots.

    ``draws`` are drawn into their slots before ``fn`` runs.
    """

    fn: Callable[[list[Any]], list[int]]
    targets: tuple[int, ...]
    reads: frozenset[int]
    path: str
    assignments: tuple[Any, ...] = field(default=(), compare=False, repr=False)  # codegen's
    draws: tuple[CDraw, ...] = ()


@dataclass(frozen=True, slots=True)
class CDelay:
    """A delay or duration: a constant, an expression, or a distribution drawn each time.

    ``draw`` is set instead of ``sampler`` for a distribution whose fields are expressions
    (format 1.1): they are evaluated on the branch's values when it is drawn.
    """

    constant: float | None = None
    expr: CExpr | None = None
    sampler: Callable[[np.random.Generator], Value] | None = None
    path: str = ""
    draw: DrawFn | None = None
    dist: Any = field(default=None, compare=False, repr=False)  # the distribution drawn from
    reads: frozenset[int] = frozenset()  # the slots its distribution's expressions read


@dataclass(frozen=True, slots=True)
class CExpert:
    """One expert of a pooled parameter: its name and how to draw from its distribution."""

    name: str
    sampler: Sampler | None = None
    draw: DrawFn | None = None
    value: Value | None = None  # a fixed value

    def sample(self, rng: np.random.Generator, v: list[Any]) -> Value:
        """Draw a value from the expert's distribution."""
        if self.sampler is not None:
            return self.sampler(rng)
        if self.draw is not None:
            return self.draw(rng, v)
        assert self.value is not None
        return self.value


@dataclass(frozen=True, slots=True)
class CParameter:
    """A parameter: drawn per branch from ``dist`` (``sampler``), or fixed ``value``.

    A distribution whose fields are expressions of other parameters (format 1.1) has
    ``draw`` instead of ``sampler``, ``reads`` (the slots of those parameters, drawn before
    it: see :attr:`CompiledModel.draw_order`) and ``path`` (the key of its location).
    """

    name: str
    slot: int
    type: Literal["number", "bool"]
    value: Value | None
    sampler: Sampler | None
    dist: Any = None  # the pydantic distribution (ppf, support) for sweeps and sensitivity
    doc: str | None = None
    draw: DrawFn | None = None
    reads: frozenset[int] = frozenset()
    path: str = ""
    # the distribution for given values of those it reads (a dynamic one only): for designs
    # that set each parameter at a quantile of its distribution given the others
    resolve: Callable[[list[Any]], Any] | None = None
    # the index of its group in CompiledModel.correlations: drawn with the group, not alone
    copula: int | None = None
    # a pool (format 1.1): its experts and their cumulative weights; a branch picks one
    # (from the stream of PARAMETER + "expert") and draws from it (the parameter's stream)
    experts: tuple[CExpert, ...] = ()
    cumulative: tuple[float, ...] = ()

    def pick(self, u: float) -> int:
        """The index of the expert a uniform draw ``u`` in [0, 1) picks."""
        point = u * self.cumulative[-1]
        for k, edge in enumerate(self.cumulative):
            if point < edge:
                return k
        return len(self.cumulative) - 1

    @property
    def uncertain(self) -> bool:
        """Whether the parameter is drawn per branch rather than fixed."""
        return self.value is None


@dataclass(frozen=True, slots=True)
class CCorrelation:
    """Parameters drawn together through a Gaussian copula (format 1.1 ``correlations``).

    ``members`` index :attr:`CompiledModel.parameters` (file order); a branch draws one
    standard normal ``e`` per member from the member's own stream (``names``), sets
    ``z = factor @ e`` (``factor`` is lower triangular, row ``n`` holding ``n + 1``
    entries) and the member's value to ``inverse_cdfs[n](Phi(z[n]))``.
    """

    index: int
    members: tuple[int, ...]
    names: tuple[str, ...]
    factor: tuple[tuple[float, ...], ...]
    inverse_cdfs: tuple[Callable[[float], float], ...]
    pairs: tuple[tuple[str, str, float], ...] = ()  # the correlations given: (a, b, spearman)

    def dropped_by_fixing(self, fixed: Collection[str], by: str) -> list[str]:
        """Notes for the correlations of the group that fixing the ``fixed`` names drops."""
        return [
            f"the correlation between {a} and {b} is dropped: {by} fixes "
            f"{a if a in fixed else b}"
            for a, b, _ in self.pairs
            if a in fixed or b in fixed
        ]


@dataclass(frozen=True, slots=True)
class CState:
    """A state variable with its initial value (constant or expression) and clamps."""

    name: str
    slot: int
    type: Literal["number", "bool"]
    init: CExpr
    lo: float | None
    hi: float | None


@dataclass(frozen=True, slots=True)
class CPeriodic:
    """Applies ``effect`` at ``first``, ``first + every``, ... up to the horizon."""

    name: str
    index: int
    every: float
    first: float
    effect: Effect


@dataclass(frozen=True, slots=True)
class CEvent:
    """A Poisson process of intensity ``rate`` (read from the state) applying ``effect``."""

    name: str
    index: int
    rate: CExpr
    effect: Effect
    max_count: int | None


@dataclass(frozen=True, slots=True)
class CTrigger:
    """Applies ``effect`` ``delay`` after ``when`` becomes true (with probability ``chance``)."""

    name: str
    index: int
    when: CExpr
    delay: CDelay
    chance: CExpr | None
    effect: Effect
    cancel_if_false: bool
    repeat: bool


@dataclass(frozen=True, slots=True)
class CSchedule:
    """Applies ``effect`` at each of ``times`` (sorted, in the scenario's unit)."""

    name: str
    index: int
    times: tuple[float, ...]
    effect: Effect


@dataclass(frozen=True, slots=True)
class CStage:
    """A stage of a flow: a resource of ``capacity`` with a ``duration`` and a ``loss``."""

    name: str
    capacity: CExpr  # reads parameters only; rounded to an int >= 1 per branch
    duration: CDelay
    loss: CExpr | None


@dataclass(frozen=True, slots=True)
class CFlow:
    """Entities arriving (Poisson ``rate`` or fixed ``every``) and passing the ``stages``."""

    name: str
    index: int
    rate: CExpr | None
    every: float | None
    gate: CExpr | None
    max_arrivals: int | None
    stages: tuple[CStage, ...]
    on_complete: Effect | None
    on_loss: Effect | None


CProcess = CPeriodic | CEvent | CTrigger | CSchedule | CFlow

FlowStat = Literal["arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue"]
OutcomeKind = Literal[
    "probability", "time_to", "value", "flow", "count", "time_between", "first_of"
]


@dataclass(frozen=True, slots=True)
class COutcome:
    """An outcome; which fields are set depends on ``kind``.

    ``when`` is the condition of ``probability`` and ``time_to``, the counted condition of a
    ``count`` (or ``process``, the index of the counted process), and the start of a
    ``time_between`` (whose end is ``to``). ``conditions`` are the labelled conditions of a
    ``first_of``. ``given``, on any kind, is the condition the estimate is conditioned on.
    """

    name: str
    kind: OutcomeKind
    when: CExpr | None = None
    by: float | None = None
    expr: CExpr | None = None
    flow: int | None = None  # index into CompiledModel.processes
    stage: int | None = None  # index into that flow's stages; None: the whole flow
    stat: FlowStat | None = None
    process: int | None = None  # count: index into CompiledModel.processes
    to: CExpr | None = None
    conditions: tuple[tuple[str, CExpr], ...] = ()
    given: CExpr | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The categories of a ``first_of`` outcome, in file order, then ``none``."""
        return (*(label for label, _ in self.conditions), "none") if self.conditions else ()


@dataclass(frozen=True, slots=True)
class CIndicator:
    """A signpost: the first time ``when`` holds is the branch's ``column`` (NaN if never).

    The indicator *appeared* in a branch when that time is at most ``by``.
    """

    name: str
    when: CExpr
    by: float
    column: str
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class CRecord:
    """Trajectories: ``exprs`` (named ``names``) sampled at ``times`` on every branch."""

    every: float
    times: tuple[float, ...]
    names: tuple[str, ...]
    exprs: tuple[CExpr, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the branch table.

    ``detail`` columns belong to the outcome before them: ``NAME__from`` (when a
    ``time_between`` clock started) and ``NAME__given`` (whether the ``given`` condition held).
    ``indicator`` columns (``indicator__NAME``) come last: the first time each indicator held.
    """

    name: str
    dtype: Literal["int64", "float64", "bool", "string"]
    role: Literal["id", "parameter", "expert", "outcome", "detail", "indicator"]
    # the outcome kind, "number"/"bool" for parameters, the parameter's name for "expert"
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledModel:
    """An executable scenario: immutable, every name resolved, expressions compiled once."""

    name: str
    title: str
    unit: str
    horizon: float
    resolution: float
    start: Any  # datetime.date | None
    slot_names: tuple[str, ...]
    parameters: tuple[CParameter, ...]
    state: tuple[CState, ...]
    processes: tuple[CProcess, ...]
    outcomes: tuple[COutcome, ...]
    stop_when: CExpr | None
    columns: tuple[Column, ...]
    source_sha256: str
    source: str = ""  # the scenario text, sent to workers instead of pickled engine objects
    file: str = ""  # the file name as given by the user
    variant: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    # where each compiled expression's path stands: its Site (line, column, file, path)
    locations: Mapping[str, Site] = field(default_factory=dict, compare=False, repr=False)
    scenario: Any = field(default=None, compare=False, repr=False)  # the validated Scenario
    # the included files' keys and texts, sent to workers and kept for --resume with `source`
    includes: tuple[tuple[str, str], ...] = ()
    # "parameters.NAME" / "processes.NAME" -> "FILE:LINE" for definitions from included files
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # indices into `parameters` in the order they are drawn: each after those it reads
    draw_order: tuple[int, ...] = ()
    record: CRecord | None = None
    # signposts whose first times the branch table records after the outcomes (format 1.1)
    indicators: tuple[CIndicator, ...] = ()
    # groups of parameters drawn together by a copula; drawn before the others
    correlations: tuple[CCorrelation, ...] = ()
    # what the compilation changed and says so (a correlation dropped by --set, ...)
    notes: tuple[str, ...] = ()

    def parameters_in_draw_order(self) -> tuple[CParameter, ...]:
        """The parameters in the order a branch draws them (file order when none depends)."""
        if not self.draw_order:
            return self.parameters
        return tuple(self.parameters[i] for i in self.draw_order)

    @property
    def n_slots(self) -> int:
        """Length of a branch's value list ``v``."""
        return len(self.slot_names)
