"""Pydantic models of the scenario file format (SPEC section 1).

The models check the shape of a file: fields, types, ranges and the rules that need only
one object; the types of single values (names, expressions, numbers, times) are in
:mod:`sim.format.fields`. Rules that cross the file (names resolve, expressions type-check,
citations point at declared sources) live in :mod:`sim.model.compile`, which reports them with
positions. :mod:`sim.format.validation` turns pydantic's errors into located, readable problems.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sim.format.citation import Citation, Citations, cited, provenance_problem
from sim.format.distributions.kinds import Distribution
from sim.format.field_error import FieldError
from sim.format.fields import (
    Capacity,
    Date,
    Delay,
    Expr,
    FixedValue,
    InitValue,
    Name,
    Number,
    SetBlock,
    Text,
    TimeValue,
    Version,
)
from sim.format.outcomes import (
    CountOutcome,
    FirstOfOutcome,
    FlowOutcome,
    Outcome,
    ProbabilityOutcome,
    Record,
    TimeBetweenOutcome,
    TimeToOutcome,
    ValueOutcome,
)
from sim.format.pool import ParameterDistribution

__all__ = [
    "FORMAT_VERSION",
    "Arrivals",
    "Citation",
    "Correlation",
    "CountOutcome",
    "EventProcess",
    "FirstOfOutcome",
    "FlowOutcome",
    "FlowProcess",
    "Indicator",
    "Library",
    "LibraryTime",
    "Outcome",
    "Overrides",
    "Parameter",
    "PeriodicProcess",
    "ProbabilityOutcome",
    "Process",
    "Record",
    "Scenario",
    "ScheduleProcess",
    "Source",
    "Stage",
    "StateVar",
    "TimeBetweenOutcome",
    "TimeSpec",
    "TimeToOutcome",
    "TriggerProcess",
    "ValueOutcome",
    "Variant",
    "VariantParameter",
    "VariantState",
    "citations_of",
    "json_schema",
    "library_schema",
]

FORMAT_VERSION = 1.1
"""The newest format version; files declare theirs as ``sim: 1`` or ``sim: 1.1``."""


class _Model(BaseModel):
    # Strict: `repeat: "no"` or `max_count: true` are mistakes, not values to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TimeSpec(_Model):
    """The clock of a scenario."""

    unit: Literal["day", "week", "month", "quarter", "year"] = Field(
        description="Unit of every time in the file; a month is 1/12 of a 365.25-day year."
    )
    horizon: TimeValue = Field(description="End of every branch: a time (> 0), or a date.")
    start: Date | None = Field(
        default=None, description="Calendar date of t = 0; lets times be written as dates."
    )
    resolution: Number = Field(
        default=1.0,
        description="Longest interval between re-evaluations of rates and conditions that read t.",
    )

    @model_validator(mode="after")
    def _positive(self) -> TimeSpec:
        if isinstance(self.horizon, float) and self.horizon <= 0:
            raise FieldError("horizon", f"horizon must be > 0, got {self.horizon:g}")
        if self.resolution <= 0:
            raise FieldError("resolution", f"resolution must be > 0, got {self.resolution:g}")
        return self


class Source(_Model):
    """A document the scenario's numbers cite."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")] = Field(
        description="Short id that citations `ref`: letters, digits, `_`, `.`, `-`."
    )
    title: str = Field(description="Title of the document.")
    file: str | None = Field(default=None, description="File name of the document's text.")
    url: str | None = Field(default=None, description="Where the document was published.")
    author: str | None = Field(default=None, description="Author or outlet.")
    date: Text | None = Field(
        default=None,
        description="Publication date: ISO YYYY-MM-DD (or YYYY-MM, YYYY); `sim validate "
        "--sources` compares it with the vantage date. Other text is kept, unchecked.",
    )


class Parameter(_Model):
    """An uncertain input (one draw per branch) or a fixed value, with its provenance."""

    dist: ParameterDistribution | None = Field(
        default=None,
        description="Distribution of the draws; a pool of experts' (format 1.1) is one too.",
    )
    value: FixedValue | None = Field(
        default=None, description="A fixed number or true/false (instead of `dist`)."
    )
    doc: str | None = Field(default=None, description="What the parameter means.")
    source: Citations | None = Field(default=None, description="Citation(s) supporting the number.")
    assumption: str | None = Field(
        default=None, description="One line of rationale, where no source gives the number."
    )
    hindsight: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None,
        description="Why the parameter may cite a source dated after the vantage date.",
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> Parameter:
        if self.dist is None and self.value is None:
            raise ValueError("needs `dist` (a distribution) or `value` (a fixed value)")
        if self.dist is not None and self.value is not None:
            raise FieldError("value", "give either `dist` or `value`, not both")
        pooled = getattr(self.dist, "kind", None) == "pool"
        if pooled and self.source is None and self.assumption is None:
            return self  # each expert of a pool gives its own provenance
        problem = provenance_problem(self.source, self.assumption)
        if problem is not None:
            if self.source is not None and self.assumption is not None:
                raise FieldError("assumption", problem)
            raise FieldError("source", problem) if self.source is not None else ValueError(problem)
        return self

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The citations of the parameter, as a tuple."""
        if self.source is None:
            return ()
        return tuple(self.source) if isinstance(self.source, list) else (self.source,)


class Correlation(_Model):
    """A Spearman rank correlation between two uncertain parameters (format 1.1).

    Imposed with a Gaussian copula, so each parameter keeps its own distribution exactly.
    """

    between: Annotated[list[Name], Field(min_length=2, max_length=2)] = Field(
        description="The two parameters, by name."
    )
    spearman: Number = Field(description="Spearman rank correlation, strictly within (-1, 1).")
    doc: str | None = Field(default=None, description="Why the two move together.")
    source: Citations | None = Field(default=None, description="Citation(s) supporting it.")
    assumption: str | None = Field(default=None, description="One line of rationale.")

    @field_validator("between")
    @classmethod
    def _two(cls, between: list[str]) -> list[str]:
        if between[0] == between[1]:
            raise ValueError(f"a correlation needs two parameters, got {between[0]!r} twice")
        return between

    @field_validator("spearman")
    @classmethod
    def _within(cls, spearman: float) -> float:
        if not -1 < spearman < 1:
            raise ValueError(
                f"spearman must be strictly between -1 and 1, got {spearman:g}; a parameter "
                "that moves in lockstep with another is an expression of it"
            )
        return spearman

    @model_validator(mode="after")
    def _provenance(self) -> Correlation:
        if self.source is not None and self.assumption is not None:
            raise ValueError("give either `source` or `assumption`, not both")
        return self


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
            field = "min" if self.min is not None else "max"
            raise FieldError(field, "a true/false variable takes no min/max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise FieldError("max", f"min must be <= max, got min={self.min:g}, max={self.max:g}")
        return self


class _ProcessBase(_Model):
    name: Name = Field(description="Name of the process, unique in the file.")
    doc: str | None = Field(default=None, description="What the process stands for.")
    draws: dict[Name, Distribution] = Field(
        default_factory=dict,
        description="Format 1.1: values drawn afresh each time the process acts, NAME: "
        "DISTRIBUTION, readable in its `set` (a flow's `on_complete` and `on_loss`); their "
        "fields may be expressions of parameters, state and t.",
    )


class PeriodicProcess(_ProcessBase):
    """Applies `set` at `first`, `first + every`, ... (default `first` = `every`)."""

    kind: Literal["periodic"] = Field(description="Discriminator: a periodic process.")
    every: Number = Field(description="Interval between applications (> 0).")
    first: TimeValue | None = Field(
        default=None, description="Time of the first application (default `every`)."
    )
    set: SetBlock

    @model_validator(mode="after")
    def _positive(self) -> PeriodicProcess:
        if self.every <= 0:
            raise FieldError("every", f"every must be > 0, got {self.every:g}")
        return self


class EventProcess(_ProcessBase):
    """A Poisson process whose intensity `rate` follows the state exactly."""

    kind: Literal["event"] = Field(description="Discriminator: a Poisson event process.")
    rate: Expr = Field(description="Intensity per time unit (>= 0); may read parameters, state, t.")
    set: SetBlock
    max_count: int | None = Field(default=None, ge=1, description="Stop after this many events.")


class TriggerProcess(_ProcessBase):
    """Fires `set` after `delay` once `when` becomes true."""

    kind: Literal["trigger"] = Field(description="Discriminator: a conditional trigger.")
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


def _times_tag(value: Any) -> str:
    return "times" if isinstance(value, list) else "time"


class ScheduleProcess(_ProcessBase):
    """Applies `set` at known times (dated events)."""

    kind: Literal["schedule"] = Field(description="Discriminator: known dated events.")
    at: Annotated[
        Annotated[TimeValue, Tag("time")]
        | Annotated[list[TimeValue], Field(min_length=1), Tag("times")],
        Discriminator(_times_tag),
    ] = Field(description="A time or a list of times.")
    set: SetBlock


class Arrivals(_Model):
    """How entities enter a flow: Poisson `rate` or fixed `every`."""

    model_config = ConfigDict(populate_by_name=True)

    rate: Expr | None = Field(default=None, description="Poisson arrivals per time unit.")
    every: Number | None = Field(default=None, description="Fixed interval between arrivals.")
    while_: Expr | None = Field(
        default=None, alias="while", description="Condition gating arrivals."
    )
    max: int | None = Field(default=None, ge=1, description="Stop after this many arrivals.")

    @model_validator(mode="after")
    def _one_way(self) -> Arrivals:
        if (self.rate is None) == (self.every is None):
            raise ValueError("give exactly one of `rate` and `every`")
        if self.every is not None and self.every <= 0:
            raise FieldError("every", f"every must be > 0, got {self.every:g}")
        return self


class Stage(_Model):
    """A capacity-limited step of a flow."""

    name: Name = Field(description="Name of the stage, unique in its flow.")
    capacity: Capacity = Field(
        default=1, description="Entities served at once; an expression may read parameters."
    )
    duration: Delay = Field(description="Service time: a number, expression or distribution.")
    loss: Expr | None = Field(default=None, description="Probability an entity is lost here.")
    doc: str | None = Field(default=None, description="What the stage stands for.")


class FlowProcess(_ProcessBase):
    """Entities arrive and pass through capacity-limited stages in order."""

    kind: Literal["flow"] = Field(description="Discriminator: a flow of entities through stages.")
    arrivals: Arrivals = Field(description="How entities arrive.")
    stages: list[Stage] = Field(min_length=1, description="The stages, in order.")
    on_complete: SetBlock | None = Field(default=None, description="Applied per completed entity.")
    on_loss: SetBlock | None = Field(default=None, description="Applied per lost entity.")


Process = Annotated[
    PeriodicProcess | EventProcess | TriggerProcess | ScheduleProcess | FlowProcess,
    Field(discriminator="kind"),
]


class VariantParameter(_Model):
    """A replacement distribution for a parameter in a variant."""

    dist: ParameterDistribution = Field(description="The variant's distribution.")


class VariantState(_Model):
    """A replacement initial value for a state variable in a variant."""

    init: InitValue = Field(description="Initial value in the variant.")


VariantProcess = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean", "description": "false switches the process off."}
            },
            "description": "Changes to a process: `enabled: false`, or fields of the process "
            "(checked against its kind when the file is loaded).",
        }
    ),
]


def _variant_value_tag(value: Any) -> str:
    # "distribution", not "dist": a tag equal to a key would be taken for that key in a path.
    return "distribution" if isinstance(value, dict) else "value"


VariantValue = Annotated[
    Annotated[FixedValue, Tag("value")] | Annotated[VariantParameter, Tag("distribution")],
    Discriminator(_variant_value_tag),
]


class Variant(_Model):
    """Named changes to the baseline, for `sim compare` and `sim run --variant`."""

    description: str | None = Field(default=None, description="What the variant stands for.")
    parameters: dict[Name, VariantValue] = Field(
        default_factory=dict, description="Parameter NAME: a fixed value or {dist: ...}."
    )
    state: dict[Name, VariantState] = Field(
        default_factory=dict, description="State NAME: {init: ...}."
    )
    processes: dict[Name, VariantProcess] = Field(
        default_factory=dict,
        description="Format 1.1: process NAME: {enabled: false} to switch it off, and/or new "
        "values of its fields (numbers, expressions, distributions; `set`, `draws`, "
        "`arrivals` and `on_complete`/`on_loss` entry by entry, `stages` by stage name).",
    )


class Indicator(_Model):
    """A signpost (format 1.1): an observable condition whose first time every branch records.

    The column ``indicator__NAME`` of the branch table holds the first time ``when`` held
    (NaN if it never did before the branch ended); the indicator *appeared* when that time
    is at most ``by``. ``sim given`` conditions on indicators, ``sim indicators`` measures
    how well each tells one outcome from another.
    """

    name: Name = Field(description="Name of the indicator, unique among the indicators.")
    when: Expr = Field(description="The observable condition.")
    by: TimeValue | None = Field(
        default=None,
        description="Deadline: the indicator appeared if `when` held at a time <= `by` "
        "(default the horizon).",
    )
    doc: str | None = Field(default=None, description="What an observer would see.")
    source: Citations | None = Field(
        default=None, description="Where a document names the signpost: {ref, quote}, or a list."
    )

    @model_validator(mode="after")
    def _some_citation(self) -> Indicator:
        if isinstance(self.source, list) and not self.source:
            raise ValueError("`source` needs at least one citation")
        return self

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The citations of the indicator, as a tuple."""
        if self.source is None:
            return ()
        return tuple(self.source) if isinstance(self.source, list) else (self.source,)


class Overrides(_Model):
    """Replacements of included definitions, by name; each takes the included one's place."""

    sources: list[Source] = Field(default_factory=list, description="Sources, by `id`.")
    parameters: dict[Name, Parameter] = Field(
        default_factory=dict, description="Parameters, by name."
    )
    state: dict[Name, StateVar] = Field(default_factory=dict, description="State, by name.")
    processes: list[Process] = Field(default_factory=list, description="Processes, by `name`.")
    outcomes: list[Outcome] = Field(default_factory=list, description="Outcomes, by `name`.")
    correlations: list[Correlation] = Field(
        default_factory=list, description="Correlations, by the pair `between`."
    )
    indicators: list[Indicator] = Field(default_factory=list, description="Indicators, by `name`.")


_INCLUDE_DOC = (
    "Files whose definitions this one uses (format 1.1): paths relative to this file. Their "
    "definitions come first in each section, in this order, as if written at its top."
)
_OVERRIDES_DOC = (
    "Replacements of included definitions (format 1.1): a name defined by an include and "
    "again here is an error unless it is here."
)


class Scenario(_Model):
    """A scenario file: one hypothesis as parameters, state, processes and outcomes."""

    sim: Version = Field(
        description="Format version: 1, or 1.1 for include, overrides and the other 1.1 fields."
    )
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+$")] = Field(
        description="Slug [a-z0-9_-]+; names the default run directory."
    )
    title: str = Field(description="One-line title.")
    description: str = Field(description="The hypothesis, what is modelled, what is left out.")
    include: list[str] = Field(default_factory=list, description=_INCLUDE_DOC)
    overrides: Overrides | None = Field(default=None, description=_OVERRIDES_DOC)
    time: TimeSpec = Field(description="Unit, horizon and optional start date.")
    vantage: Date | None = Field(
        default=None,
        description="The date as of which the scenario is written (default time.start); "
        "`sim validate --sources` flags parameters citing sources dated after it.",
    )
    sources: list[Source] = Field(default_factory=list, description="Documents cited.")
    parameters: dict[Name, Parameter] = Field(
        default_factory=dict, description="Uncertain inputs and fixed values."
    )
    correlations: list[Correlation] = Field(
        default_factory=list,
        description="Rank correlations between uncertain parameters (format 1.1).",
    )
    state: dict[Name, StateVar] = Field(default_factory=dict, description="Variables of a branch.")
    processes: list[Process] = Field(default_factory=list, description="What changes the state.")
    outcomes: list[Outcome] = Field(min_length=1, description="What each branch records.")
    indicators: list[Indicator] = Field(
        default_factory=list,
        description="Signposts (format 1.1): observable conditions whose first time every "
        "branch records, for `sim given` and `sim indicators`.",
    )
    stop_when: Expr | None = Field(default=None, description="Condition that ends a branch early.")
    record: Record | None = Field(
        default=None,
        description="Trajectories to sample at regular times into series.parquet.",
    )
    variants: dict[Name, Variant] = Field(default_factory=dict, description="Named alternatives.")


class LibraryTime(_Model):
    """The time unit a library's rates and times are written in."""

    unit: Literal["day", "week", "month", "quarter", "year"] = Field(
        description="Must be the unit of every scenario that includes the library."
    )


class Library(_Model):
    """A library: definitions that scenarios share through `include` (format 1.1)."""

    sim: Version | None = Field(default=None, description="Format version: 1.1.")
    description: str | None = Field(default=None, description="What the library holds.")
    include: list[str] = Field(default_factory=list, description=_INCLUDE_DOC)
    overrides: Overrides | None = Field(default=None, description=_OVERRIDES_DOC)
    time: LibraryTime | None = Field(default=None, description="The unit of time it assumes.")
    sources: list[Source] = Field(default_factory=list, description="Documents cited.")
    parameters: dict[Name, Parameter] = Field(default_factory=dict, description="Parameters.")
    correlations: list[Correlation] = Field(
        default_factory=list, description="Rank correlations between parameters."
    )
    state: dict[Name, StateVar] = Field(default_factory=dict, description="State variables.")
    processes: list[Process] = Field(default_factory=list, description="Processes.")
    outcomes: list[Outcome] = Field(default_factory=list, description="Outcomes.")
    indicators: list[Indicator] = Field(default_factory=list, description="Signposts.")


def citations_of(scenario: Scenario) -> Iterator[tuple[tuple[str | int, ...], Citation]]:
    """Yield every citation with its path: parameters, experts (also of a variant's pools),
    correlations, indicators."""
    for name, parameter in scenario.parameters.items():
        yield from cited(parameter.source, ("parameters", name))
        for k, expert in enumerate(getattr(parameter.dist, "experts", ())):
            yield from cited(expert.source, ("parameters", name, "dist", "experts", k))
    for variant_name, variant in scenario.variants.items():
        for name, value in variant.parameters.items():
            for k, expert in enumerate(getattr(getattr(value, "dist", None), "experts", ())):
                where = ("variants", variant_name, "parameters", name, "dist", "experts", k)
                yield from cited(expert.source, where)
    for k, correlation in enumerate(scenario.correlations):
        yield from cited(correlation.source, ("correlations", k))
    for k, indicator in enumerate(scenario.indicators):
        yield from cited(indicator.source, ("indicators", k))


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of scenario files (draft 2020-12), for editors and checks.

    A file may take all its outcomes from the libraries it includes, so the schema, which
    sees one file, does not require `outcomes`; the loader still requires at least one
    outcome of the composed scenario.
    """
    schema = _schema(Scenario, "sim scenario file")
    schema["required"] = [name for name in schema.get("required", []) if name != "outcomes"]
    return schema


def library_schema() -> dict[str, Any]:
    """Return the JSON Schema of library files, which scenarios `include` (format 1.1)."""
    return _schema(Library, "sim library file")


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("$id", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}
