"""Resolutions files: what happened to the questions a run forecast, read with positions.

```yaml
run: belarus_annexation          # optional: the run directory every entry is scored from
reference: 0.5                   # optional: the reference forecast (a stated base rate)
resolutions:
  - {outcome: annexed_by_feb_2028, resolved: false, date: 2024-07-15, source: "..."}
  - {outcome: dual_batches_delivered, resolved: 3, date: 2024-07-15, source: "...", run: x}
```

``resolved`` is true or false for ``probability`` and ``time_to`` outcomes and indicators,
a number for ``value``, ``count`` and ``flow`` outcomes. The file is read by sim's loader,
so that every problem (here, and in matching the entries to runs) is located in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

from sim.errors import ScenarioError
from sim.format.document import Document
from sim.format.fields import Date
from sim.format.loader import load_document
from sim.format.validation import explain_errors

__all__ = ["Resolution", "ResolutionsFile", "read_resolutions"]


def _resolved(value: Any) -> bool | float:
    """True or false (a yes/no question), or a number (a value that was measured)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"expected true, false or a number, got {value!r}")


Resolved = Annotated[
    bool | float,
    PlainValidator(_resolved),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "number"}]}),
]


class Resolution(BaseModel):
    """What happened to one question: the outcome, its resolution, when and on whose word."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: str = Field(description="An outcome or indicator of the run.")
    resolved: Resolved = Field(description="true or false, or the number observed.")
    date: Date = Field(description="When it was resolved (ISO date).")
    source: str = Field(min_length=1, description="Who reported it: a document, an outlet.")
    run: str | None = Field(default=None, description="The run directory to score it from.")
    note: str | None = Field(default=None, description="Anything a reader should know.")


class ResolutionsFile(BaseModel):
    """A resolutions file: the questions that have resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resolutions: list[Resolution] = Field(min_length=1, description="The resolved questions.")
    run: str | None = Field(default=None, description="Default run directory of every entry.")
    reference: float | None = Field(
        default=None, ge=0, le=1, description="Reference forecast (default 0.5): a base rate."
    )


def read_resolutions(path: str | Path) -> tuple[Document, ResolutionsFile]:
    """Read and validate a resolutions file; its problems are located, all at once."""
    doc = load_document(path)
    try:
        return doc, ResolutionsFile.model_validate(doc.data)
    except ValidationError as error:
        problems = [doc.problem(p, m) for p, m in explain_errors(error, doc.data, ResolutionsFile)]
        raise ScenarioError(dict.fromkeys(problems)) from None

