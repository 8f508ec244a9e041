"""Pydantic models of the scenario file format (SPEC section 1).

The models check the shape of a file: fields, types, ranges and the rules that need only
one object. Rules that cross the file (names resolve, expressions type-check, citations
point at declared sources) live in :mod:`sim.compile`, which reports them with positions.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from sim.distributions import Distribution

__all__ = [
    "RESERVED_NAMES",
    "Arrivals",
    "Citation",
    "EventProcess",
    "FlowOutcome",
    "FlowProcess",
    "Outcome",
    "Parameter",
    "PeriodicProcess",
    "ProbabilityOutcome",
    "Process",
    "Scenario",
    "ScheduleProcess",
    "Source",
    "Stage",
    "StateVar",
    "TimeSpec",
    "TimeToOutcome",
    "TriggerProcess",
    "ValueOutcome",
    "Variant",
]

FORMAT_VERSION = 1
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Names that would clash with the expression language or with the leading result columns.
RESERVED_NAMES = frozenset(
    {"t", "true", "false", "branch", "seed", "t_end", "point", "variant"}
    | {"min", "max", "abs", "clip", "exp", "log", "sqrt", "floor", "ceil"}
    | set(keyword.kwlist)
    | {k.lower() for k in keyword.kwlist}
)


def _check_identifier(name: str) -> str:
    """Accept a name usable in expressions and as a snake_case column."""
    if not _IDENT.match(name):
        raise ValueError(f"name {name!r} must match [a-z_][a-z0-9_]* (snake_case)")
    if name in RESERVED_NAMES:
        raise ValueError(f"name {name!r} is reserved")
    return name


def _identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a name, got {type(value).__name__}")
    return _check_identifier(value)


Name = Annotated[
    str,
    PlainValidator(_identifier),
    WithJsonSchema({"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}),
]


def _expression(value: Any) -> str:
    """Accept an expression: a string, or a number or boolean as a constant expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected an expression, got an empty string")
        return value
    raise ValueError(f"expected an expression (a string or a number), got {_type_name(value)}")


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


Expr = Annotated[
    str,
    PlainValidator(_expression),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
            "description": "An expression: numbers, true/false, parameter and state names, t, "
            "+ - * / ** %, comparisons, and/or/not, `x if c else y`, "
            "min max abs clip exp log sqrt floor ceil.",
        }
    ),
]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {_type_name(value)}")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value}")
    return number


Number = Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number"})]


def _time_value(value: Any) -> float | dt.date:
    """A time: a number in the scenario's unit, or an ISO date (needs ``time.start``)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected a number or an ISO date, got {value!r}") from None
    return _number(value)


TimeValue = Annotated[
    float | dt.date,
    PlainValidator(_time_value),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string", "format": "date"}],
            "description": "A time in the scenario's unit, or an ISO date when time.start is set.",
        }
    ),
]


def _fixed_value(value: Any) -> float | bool:
    return value if isinstance(value, bool) else _number(value)


def _init_value(value: Any) -> float | bool | str:
    if isinstance(value, bool):
        return value
    return _expression(value) if isinstance(value, str) else _number(value)


FixedValue = Annotated[
    float | bool,
    PlainValidator(_fixed_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "boolean"}]}),
]
InitValue = Annotated[
    float | bool | str,
    PlainValidator(_init_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}]}),
]

SetBlock = Annotated[
    dict[Name, Expr],
    Field(description="State assignments NAME: EXPRESSION, all evaluated on the old state."),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeSpec(_Model):
    """The clock of a scenario."""

    unit: Literal["day", "week", "month", "quarter", "year"] = Field(
        description="Unit of every time in the file; a month is 1/12 of a 365.25-day year."
    )
    horizon: TimeValue = Field(description="End of every branch: a time, or a date.")
    start: dt.date | None = Field(
        default=None, description="Calendar date of t = 0; lets times be written as dates."
    )
    resolution: Number = Field(
        default=1.0,
        description="Longest interval between re-evaluations of rates and conditions that read t.",
    )

    @model_validator(mode="after")
    def _positive(self) -> TimeSpec:
        if self.resolution <= 0:
            raise ValueError(f"resolution must be > 0, got {self.resolution}")
        return self


class Source(_Model):
    """A document the scenario's numbers cite."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")] = Field(
        description="Short id that citations `ref`."
    )
    title: str = Field(description="Title of the document.")
    file: str | None = Field(default=None, description="File name of the document's text.")
    url: str | None = Field(default=None, description="Where the document was published.")
    author: str | None = Field(default=None, description="Author or outlet.")
    date: str | None = Field(default=None, description="Publication date, as known.")


class Citation(_Model):
    """A verbatim quote from a declared source that supports a number."""

    ref: str = Field(description="The `id` of a declared source.")
    quote: str = Field(min_length=1, description="Verbatim text from the source.")
    note: str | None = Field(default=None, description="How the number follows from the quote.")


class Parameter(_Model):
    """An uncertain input (one draw per branch) or a fixed number, with its provenance."""

    dist: Distribution | None = Field(default=None, description="Distribution of the draws.")
    value: FixedValue | None = Field(default=None, description="A fixed value (instead of `dist`).")
    doc: str | None = Field(default=None, description="What the parameter means.")
    source: Citation | list[Citation] | None = Field(
        default=None, description="Citation(s) supporting the number."
    )
    assumption: str | None = Field(
        default=None, description="One line of rationale, where no source gives the number."
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> Parameter:
        if (self.dist is None) == (self.value is None):
            raise ValueError("give exactly one of `dist` and `value`")
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of `source` (a citation) and `assumption`")
        if isinstance(self.source, list) and not self.source:
            raise ValueError("`source` needs at least one citation")
        return self

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The citations of the parameter, as a tuple."""
        if self.source is None:
            return ()
        return tuple(self.source) if isinstance(self.source, list) else (self.source,)


class StateVar(_Model):
    """A variable of a branch: a number (optionally clamped) or a boolean."""

    init: InitValue = Field(
        description="Initial value: a number, true/false, or an expression of parameters."
    )
    min: Number | None = Field(default=None, description="Lower clamp for assignments.")
    max: Number | None = Field(default=None, description="Upper clamp for assignments.")
    doc: str | None = Field(default=None, description="What the variable means.")

    @model_validator(mode="after")
    def _bounds(self) -> StateVar:
        if isinstance(self.init, bool) and (self.min is not None or self.max is not None):
            raise ValueError("a boolean variable takes no min/max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max, got min={self.min:g}, max={self.max:g}")
        return self


def _delay_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "distribution"
    if isinstance(value, str):
        return "expression"
    return "number"


def _non_negative(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return number


Delay = Annotated[
    Annotated[
        float,
        PlainValidator(_non_negative),
        WithJsonSchema({"type": "number", "minimum": 0}),
        Tag("number"),
    ]
    | Annotated[Expr, Tag("expression")]
    | Annotated[Distribution, Tag("distribution")],
    Discriminator(_delay_tag),
]


class _ProcessBase(_Model):
    name: Name = Field(description="Name of the process, unique in the file.")
    doc: str | None = Field(default=None, description="What the process stands for.")


class PeriodicProcess(_ProcessBase):
    """Applies `set` at `first`, `first + every`, ... (default `first` = `every`)."""

    kind: Literal["periodic"] = Field(description="Discriminator.")
    every: Number = Field(description="Interval between applications (> 0).")
    first: TimeValue | None = Field(default=None, description="Time of the first application.")
    set: SetBlock

    @model_validator(mode="after")
    def _positive(self) -> PeriodicProcess:
        if self.every <= 0:
            raise ValueError(f"every must be > 0, got {self.every:g}")
        return self


class EventProcess(_ProcessBase):
    """A Poisson process whose intensity `rate` follows the state exactly."""

    kind: Literal["event"] = Field(description="Discriminator.")
    rate: Expr = Field(description="Intensity per time unit (>= 0); may read parameters, state, t.")
    set: SetBlock
    max_count: int | None = Field(default=None, ge=1, description="Stop after this many events.")


class TriggerProcess(_ProcessBase):
    """Fires `set` after `delay` once `when` becomes true."""

    kind: Literal["trigger"] = Field(description="Discriminator.")
    when: Expr = Field(description="Condition that arms the trigger when it becomes true.")
    delay: Delay = Field(
        default=0.0, description="Delay: a number, an expression or a distribution drawn then."
    )
    chance: Expr | None = Field(
        default=None, description="Probability that a firing takes effect (default 1)."
    )
    cancel_if_false: bool = Field(
        default=False, description="Cancel a pending firing when `when` turns false."
    )
    repeat: bool = Field(default=False, description="Fire on every rise of `when`, not once.")
    set: SetBlock


class ScheduleProcess(_ProcessBase):
    """Applies `set` at known times (dated events)."""

    kind: Literal["schedule"] = Field(description="Discriminator.")
    at: TimeValue | list[TimeValue] = Field(description="A time or a list of times.")
    set: SetBlock


class Arrivals(_Model):
    """How entities enter a flow: Poisson `rate` or fixed `every`."""

    rate: Expr | None = Field(default=None, description="Poisson arrivals per time unit.")
    every: Number | None = Field(default=None, description="Fixed interval between arrivals.")
    while_: Expr | None = Field(
        default=None, alias="while", description="Condition gating arrivals."
    )
    max: int | None = Field(default=None, ge=1, description="Stop after this many arrivals.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_way(self) -> Arrivals:
        if (self.rate is None) == (self.every is None):
            raise ValueError("give exactly one of `rate` and `every`")
        if self.every is not None and self.every <= 0:
            raise ValueError(f"every must be > 0, got {self.every:g}")
        return self


def _capacity(value: Any) -> int | str:
    if isinstance(value, str):
        return _expression(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"expected a whole number or an expression, got {value!r}")
    if value < 1:
        raise ValueError(f"capacity must be >= 1, got {value}")
    return int(value)


class Stage(_Model):
    """A capacity-limited step of a flow."""

    name: Name = Field(description="Name of the stage, unique in its flow.")
    capacity: Annotated[
        int | str,
        PlainValidator(_capacity),
        WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}),
    ] = Field(default=1, description="Entities served at once; an expression may read parameters.")
    duration: Delay = Field(description="Service time: a number, expression or distribution.")
    loss: Expr | None = Field(default=None, description="Probability an entity is lost here.")
    doc: str | None = Field(default=None, description="What the stage stands for.")


class FlowProcess(_ProcessBase):
    """Entities arrive and pass through capacity-limited stages in order."""

    kind: Literal["flow"] = Field(description="Discriminator.")
    arrivals: Arrivals
    stages: list[Stage] = Field(min_length=1, description="The stages, in order.")
    on_complete: SetBlock | None = Field(default=None, description="Applied per completed entity.")
    on_loss: SetBlock | None = Field(default=None, description="Applied per lost entity.")


Process = Annotated[
    PeriodicProcess | EventProcess | TriggerProcess | ScheduleProcess | FlowProcess,
    Field(discriminator="kind"),
]


class _OutcomeBase(_Model):
    name: Name = Field(description="Name of the outcome: a column of the branch table.")
    doc: str | None = Field(default=None, description="The question the outcome answers.")


class ProbabilityOutcome(_OutcomeBase):
    """P(`when` first holds at a time <= `by`)."""

    kind: Literal["probability"] = Field(description="Discriminator.")
    when: Expr = Field(description="Condition.")
    by: TimeValue | None = Field(default=None, description="Deadline; default the horizon.")


class TimeToOutcome(_OutcomeBase):
    """First time `when` holds, right-censored at the branch end."""

    kind: Literal["time_to"] = Field(description="Discriminator.")
    when: Expr = Field(description="Condition.")


class ValueOutcome(_OutcomeBase):
    """An expression at the branch end."""

    kind: Literal["value"] = Field(description="Discriminator.")
    expr: Expr = Field(description="Expression evaluated at the end of the branch.")


class FlowOutcome(_OutcomeBase):
    """A statistic of a flow (or of one of its stages) over the branch."""

    kind: Literal["flow"] = Field(description="Discriminator.")
    flow: str = Field(description="Name of a flow process.")
    stage: str | None = Field(default=None, description="Name of a stage; default the whole flow.")
    stat: Literal[
        "arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue"
    ] = Field(description="Which statistic.")


Outcome = Annotated[
    ProbabilityOutcome | TimeToOutcome | ValueOutcome | FlowOutcome,
    Field(discriminator="kind"),
]


class VariantParameter(_Model):
    """A replacement distribution for a parameter in a variant."""

    dist: Distribution = Field(description="The variant's distribution.")


class VariantState(_Model):
    """A replacement initial value for a state variable in a variant."""

    init: InitValue = Field(description="Initial value in the variant.")


class Variant(_Model):
    """Named changes to the baseline, for `sim compare` and `sim run --variant`."""

    description: str | None = Field(default=None, description="What the variant stands for.")
    parameters: dict[Name, FixedValue | VariantParameter] = Field(
        default_factory=dict, description="Parameter NAME: a fixed value or {dist: ...}."
    )
    state: dict[Name, VariantState] = Field(
        default_factory=dict, description="State NAME: {init: ...}."
    )


class Scenario(_Model):
    """A scenario file: one hypothesis as parameters, state, processes and outcomes."""

    sim: Literal[1] = Field(description="Format version.")
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+$")] = Field(
        description="Slug; names the default run directory."
    )
    title: str = Field(description="One-line title.")
    description: str = Field(description="The hypothesis, what is modelled, what is left out.")
    time: TimeSpec
    sources: list[Source] = Field(default_factory=list, description="Documents cited.")
    parameters: dict[Name, Parameter] = Field(
        default_factory=dict, description="Uncertain inputs and fixed numbers."
    )
    state: dict[Name, StateVar] = Field(default_factory=dict, description="Variables of a branch.")
    processes: list[Process] = Field(default_factory=list, description="What changes the state.")
    outcomes: list[Outcome] = Field(min_length=1, description="What each branch records.")
    stop_when: Expr | None = Field(default=None, description="Condition that ends a branch early.")
    variants: dict[Name, Variant] = Field(default_factory=dict, description="Named alternatives.")
