"""Field types of scenario files: names, expressions, numbers, dates, times and delays.

Each is an ``Annotated`` type: a plain validator that accepts what the format allows (a
string is never a number, true/false never 1/0) or says in a short message what it got
instead, and the JSON Schema the type stands for. The models of :mod:`sim.format.scenario` are
built from them; :func:`describe_value` also serves the messages of :mod:`sim.format.validation`.
"""

from __future__ import annotations

import datetime as dt
import keyword
import math
import re
from typing import Annotated, Any

from pydantic import Discriminator, Field, PlainValidator, Tag, WithJsonSchema

from sim.format.distributions.kinds import Distribution

__all__ = [
    "RESERVED_NAMES",
    "Capacity",
    "Date",
    "Delay",
    "Expr",
    "ExprText",
    "FixedValue",
    "InitValue",
    "Name",
    "Number",
    "SetBlock",
    "Text",
    "TimeValue",
    "Version",
    "describe_value",
]

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Names that would clash with the expression language or with the leading result columns.
RESERVED_NAMES = frozenset(
    {"t", "true", "false", "branch", "seed", "t_end", "point", "variant"}
    | {"min", "max", "abs", "clip", "exp", "log", "sqrt", "floor", "ceil"}
    | set(keyword.kwlist)
    | {k.lower() for k in keyword.kwlist}
)


def _type_name(value: Any) -> str:
    """Name the kind of a plain-data value for messages: ``a mapping``, ``bool``, ..."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date):
        return "a date"
    if value is None:
        return "null"
    return type(value).__name__


def describe_value(value: Any) -> str:
    """Describe a wrong value: its kind, and the value itself when it is a short scalar."""
    kind = _type_name(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return kind
    shown = repr(value)
    return f"{kind} ({shown})" if len(shown) <= 40 else kind


def _identifier(value: Any) -> str:
    """Accept a name usable in expressions and as a snake_case column."""
    if not isinstance(value, str):
        raise ValueError(f"expected a name, got {_type_name(value)}")
    if not _IDENT.match(value):
        raise ValueError(f"name {value!r} must be snake_case: [a-z_][a-z0-9_]*")
    if value in RESERVED_NAMES:
        raise ValueError(f"name {value!r} is reserved")
    return value


Name = Annotated[
    str,
    PlainValidator(_identifier),
    WithJsonSchema({"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}),
]

_EXPR_DOC = (
    "An expression: numbers, true/false, parameter and state names, t, + - * / ** %, "
    "comparisons, and/or/not, `x if c else y`, min max abs clip exp log sqrt floor ceil."
)


def _expression_text(value: Any) -> str:
    """Accept the text of an expression."""
    if not isinstance(value, str):
        raise ValueError(f"expected an expression, got {_type_name(value)}")
    if not value.strip():
        raise ValueError("expected an expression, got an empty string")
    return value


def _expression(value: Any) -> str:
    """Accept an expression: a string, or a number or boolean as a constant expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(_number(value))
    if isinstance(value, str):
        return _expression_text(value)
    raise ValueError(f"expected an expression (a string or a number), got {_type_name(value)}")


Expr = Annotated[
    str,
    PlainValidator(_expression),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
    ),
]
# Inside unions that route numbers elsewhere, an expression is always a string.
ExprText = Annotated[str, PlainValidator(_expression_text), WithJsonSchema({"type": "string"})]


def _number(value: Any) -> float:
    """Accept a finite number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {describe_value(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {describe_value(value)}")
    return number


Number = Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number"})]


def _date(value: Any) -> dt.date:
    """Accept a calendar date: a YAML date, or an ISO ``YYYY-MM-DD`` string (JSON)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"expected an ISO date (YYYY-MM-DD), got {value!r}") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {_type_name(value)}")


Date = Annotated[
    dt.date, PlainValidator(_date), WithJsonSchema({"type": "string", "format": "date"})
]


def _time_value(value: Any) -> float | dt.date:
    """A time: a number in the scenario's unit, or an ISO date (needs ``time.start``)."""
    if isinstance(value, dt.date | str):
        try:
            return _date(value)
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


def _version(value: Any) -> float:
    """Accept a format version: 1 or 1.1 (read as numbers, as YAML and JSON give them)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (1, 1.1):
        return float(value)
    raise ValueError(f"expected format version 1 or 1.1, got {describe_value(value)}")


Version = Annotated[float, PlainValidator(_version), WithJsonSchema({"enum": [1, 1.1]})]


def _text(value: Any) -> str:
    """Accept free text; a date written bare in YAML is kept as its ISO spelling."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {_type_name(value)}")
    return value


Text = Annotated[str, PlainValidator(_text), WithJsonSchema({"type": "string"})]


def _fixed_value(value: Any) -> float | bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number or true/false, got {describe_value(value)}")
    return _number(value)


def _init_value(value: Any) -> float | bool | str:
    if isinstance(value, bool):
        return value
    return _expression_text(value) if isinstance(value, str) else _number(value)


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


def _delay_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "distribution"
    if isinstance(value, str):
        return "expression"
    return "number"


def _non_negative(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise ValueError(f"must be >= 0, got {number:g}")
    return number


Delay = Annotated[
    Annotated[
        float,
        PlainValidator(_non_negative),
        WithJsonSchema({"type": "number", "minimum": 0}),
        Tag("number"),
    ]
    | Annotated[ExprText, Tag("expression")]
    | Annotated[Distribution, Tag("distribution")],
    Discriminator(_delay_tag),
]


def _capacity(value: Any) -> int | str:
    if isinstance(value, str):
        return _expression_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"expected a whole number or an expression, got {value!r}")
    if value < 1:
        raise ValueError(f"capacity must be >= 1, got {value}")
    return int(value)


Capacity = Annotated[
    int | str,
    PlainValidator(_capacity),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}),
]
