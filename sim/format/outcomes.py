"""Pydantic models of what a branch records: outcomes (a column each) and trajectories.

Every outcome kind is a model discriminated on ``kind``; all share a name, an optional
``doc``, the forecaster's ``question`` and ``resolves`` (how an observer would judge it), and
an optional ``given`` condition that turns the outcome's estimate into a conditional one.
``record`` samples state variables and expressions at regular times into ``series.parquet``.
Rules that cross the file (names resolve, expressions type-check) live in
:mod:`sim.model.outcomes` and :mod:`sim.model.record`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from sim.errors import Problem
from sim.format.document import Document
from sim.format.field_error import FieldError
from sim.format.fields import Expr, Name, Number, TimeValue

__all__ = [
    "NO_CATEGORY",
    "CountOutcome",
    "FirstOfOutcome",
    "FlowOutcome",
    "Outcome",
    "ProbabilityOutcome",
    "Record",
    "TimeBetweenOutcome",
    "TimeToOutcome",
    "ValueOutcome",
    "strict_problems",
]

# The category of a first_of outcome in a branch where none of its conditions held.
NO_CATEGORY = "none"
_LABEL = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Model(BaseModel):
    # As in sim.format.scenario: strict, closed, immutable.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _label(value: Any) -> str:
    """Accept the label of a first_of category: snake_case, and not the reserved ``none``."""
    if not isinstance(value, str) or not _LABEL.match(value):
        raise ValueError(f"label {value!r} must be snake_case: [a-z_][a-z0-9_]*")
    if value == NO_CATEGORY:
        raise ValueError(f"label {NO_CATEGORY!r} is reserved for branches where no condition held")
    return value


Label = Annotated[
    str,
    PlainValidator(_label),
    WithJsonSchema({"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}),
]


class _OutcomeBase(_Model):
    name: Name = Field(description="Name of the outcome: a column of the branch table.")
    doc: str | None = Field(default=None, description="What the outcome measures.")
    question: str | None = Field(
        default=None, description="The question the outcome answers, in plain words."
    )
    resolves: str | None = Field(
        default=None,
        description="How an observer would judge it: what counts, by when, on whose report.",
    )
    given: Expr | None = Field(
        default=None,
        description="Condition: estimate the outcome among the branches where it held at some "
        "time before the branch ended (the column NAME__given says which).",
    )


class ProbabilityOutcome(_OutcomeBase):
    """P(`when` first holds at a time <= `by`)."""

    kind: Literal["probability"] = Field(description="Discriminator: a probability.")
    when: Expr = Field(description="Condition.")
    by: TimeValue | None = Field(default=None, description="Deadline; default the horizon.")


class TimeToOutcome(_OutcomeBase):
    """First time `when` holds, right-censored at the branch end."""

    kind: Literal["time_to"] = Field(description="Discriminator: a time until a condition.")
    when: Expr = Field(description="Condition.")


class ValueOutcome(_OutcomeBase):
    """An expression at the branch end."""

    kind: Literal["value"] = Field(description="Discriminator: a value at the branch end.")
    expr: Expr = Field(description="Expression evaluated at the end of the branch.")


class FlowOutcome(_OutcomeBase):
    """A statistic of a flow (or of one of its stages) over the branch."""

    kind: Literal["flow"] = Field(description="Discriminator: a statistic of a flow.")
    flow: str = Field(description="Name of a flow process.")
    stage: str | None = Field(default=None, description="Name of a stage; default the whole flow.")
    stat: Literal[
        "arrived", "completed", "lost", "mean_wait", "mean_time_in_system", "max_queue"
    ] = Field(description="Which statistic.")


class CountOutcome(_OutcomeBase):
    """How many times a process fired, or a condition rose from false to true, by `by`."""

    kind: Literal["count"] = Field(description="Discriminator: a count of happenings.")
    process: Name | None = Field(
        default=None,
        description="Count the firings of this process (each time it applied its `set`).",
    )
    when: Expr | None = Field(
        default=None,
        description="Count the rises of this condition from false to true (holding at t = 0 "
        "counts as one).",
    )
    by: TimeValue | None = Field(default=None, description="Count up to here; default the end.")

    @model_validator(mode="after")
    def _one_thing(self) -> CountOutcome:
        if (self.process is None) == (self.when is None):
            raise ValueError(
                "give exactly one of `process` (a process name) and `when` (a condition)"
            )
        return self


class TimeBetweenOutcome(_OutcomeBase):
    """Time from the first time `from` holds to the first time `to` holds at or after it."""

    model_config = ConfigDict(populate_by_name=True)

    kind: Literal["time_between"] = Field(description="Discriminator: a time between two events.")
    from_: Expr = Field(
        alias="from", description="Condition that starts the clock (the first time it holds)."
    )
    to: Expr = Field(
        description="Condition that stops it: the first time it holds at or after the start."
    )


class FirstOfOutcome(_OutcomeBase):
    """Which of several conditions held first (`none` if none did by `by`)."""

    kind: Literal["first_of"] = Field(description="Discriminator: which condition held first.")
    conditions: dict[Label, Expr] = Field(
        min_length=2,
        description="LABEL: CONDITION; the column holds the label of the first to hold (ties "
        "go to the one listed first), or `none`.",
    )
    by: TimeValue | None = Field(default=None, description="Deadline; default the end.")


Outcome = Annotated[
    ProbabilityOutcome
    | TimeToOutcome
    | ValueOutcome
    | FlowOutcome
    | CountOutcome
    | TimeBetweenOutcome
    | FirstOfOutcome,
    Field(discriminator="kind"),
]


class Record(_Model):
    """Trajectories: values sampled at t = 0, `every`, 2·`every`, ... up to the horizon."""

    every: Number = Field(description="Interval between samples (> 0), in the scenario's unit.")
    variables: list[Name] = Field(
        default_factory=list, description="State variables (or parameters) to sample."
    )
    expressions: dict[Name, Expr] = Field(
        default_factory=dict, description="NAME: EXPRESSION, sampled like a variable."
    )

    @model_validator(mode="after")
    def _something(self) -> Record:
        if self.every <= 0:
            raise FieldError("every", f"every must be > 0, got {self.every:g}")
        if not self.variables and not self.expressions:
            raise ValueError("record needs `variables` or `expressions` (or both)")
        return self


def strict_problems(doc: Document, outcomes: Sequence[_OutcomeBase]) -> list[Problem]:
    """Every outcome that lacks a ``question`` or a ``resolves``, located at the outcome.

    ``sim validate --strict`` asks for both: a forecast that nobody can later judge is of
    no use to a forecaster.
    """
    problems = []
    for i, outcome in enumerate(outcomes):
        missing = [field for field in ("question", "resolves") if getattr(outcome, field) is None]
        if missing:
            fields = " and ".join(f"`{field}`" for field in missing)
            problems.append(
                doc.problem(
                    ("outcomes", i),
                    f"outcome {outcome.name!r} has no {fields} (--strict needs `question` and "
                    "`resolves` on every outcome)",
                )
            )
    return problems
