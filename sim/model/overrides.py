"""Replacing parameters: ``--set NAME=VALUE`` overrides, and the type rules variants share.

:func:`parse_overrides` reads each VALUE as a number, true/false or a distribution mapping
(YAML flow syntax, no tags), validates it, and checks that it keeps the parameter's type; a
fixed value may lie outside the prior's support, since ``--set`` states a counterfactual.
A variant's parameter changes follow the same rules, so the compiler uses
:func:`replacement` and :func:`type_mismatch` for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim.errors import SimError, UsageError
from sim.format.distributions.kinds import Distribution
from sim.format.document import format_path
from sim.format.expr import Type
from sim.format.fields import FixedValue
from sim.format.loader import parse_document
from sim.format.scenario import Parameter, Scenario, VariantParameter
from sim.format.validation import explain_errors, suggest
from sim.model.compiled import Value

__all__ = [
    "TYPE_WORDS",
    "Spec",
    "declared_type",
    "parse_overrides",
    "replacement",
    "type_mismatch",
    "value_type",
]

TYPE_WORDS = {Type.NUMBER: "a number", Type.BOOL: "true/false"}
_TYPES = {"number": Type.NUMBER, "bool": Type.BOOL}
_DIST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)
_FIXED_ADAPTER: TypeAdapter[Any] = TypeAdapter(FixedValue)


@dataclass(frozen=True, slots=True)
class Spec:
    """What a parameter draws from in this compilation (after variant and overrides).

    ``path`` is where its distribution is written (None for a ``--set`` value).
    """

    dist: Any
    value: Value | None
    path: tuple[str | int, ...] | None = None


def parse_overrides(scenario: Scenario, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Turn ``--set NAME=VALUE`` pairs into parameter replacements (value or distribution)."""
    replaced: dict[str, Any] = {}
    for name, text in pairs:
        option = f"--set {name}={text}"
        parameter = scenario.parameters.get(name)
        if parameter is None:
            hint = suggest(name, list(scenario.parameters))
            raise UsageError(f"{option}: unknown parameter {name!r}{hint}")
        value = _override_value(option, text)
        expressions = getattr(value, "expressions", None)
        if expressions:
            field = next(iter(expressions))
            raise UsageError(
                f"{option}: {field}: a --set distribution takes numbers, not expressions; "
                "write the expression in the file or in a variant"
            )
        mismatch = type_mismatch(name, parameter, value)
        if mismatch is not None:
            raise UsageError(f"{option}: {mismatch}")
        # A fixed value may lie outside the prior's support: --set states a counterfactual
        # (sweep points, which explore the uncertainty, are checked against the support).
        replaced[name] = value
    return replaced


def replacement(change: Any, path: tuple[str | int, ...] | None = None) -> Spec:
    """A parameter's new source: a fixed value, ``{dist: ...}``, or a distribution.

    ``path`` is where a variant writes it.
    """
    if isinstance(change, VariantParameter):
        return Spec(change.dist, None, None if path is None else (*path, "dist"))
    if _is_fixed(change):
        return Spec(None, change, path)
    return Spec(change, None, path)


def type_mismatch(name: str, parameter: Parameter, change: Any) -> str | None:
    """Say why ``change`` cannot replace the parameter (it has another type), or return None."""
    wanted = declared_type(parameter.dist, parameter.value)
    spec = replacement(change)
    got = declared_type(spec.dist, spec.value)
    if got is wanted:
        return None
    return f"parameter {name!r} is {TYPE_WORDS[wanted]}, got {TYPE_WORDS[got]}"


def value_type(value: Value) -> Type:
    """The type of a plain value: true/false or a number."""
    return Type.BOOL if isinstance(value, bool) else Type.NUMBER


def declared_type(dist: Any, value: Value | None) -> Type:
    """The type of a parameter given by a distribution or a fixed value."""
    if dist is not None:
        return _TYPES[dist.value_type()]
    return value_type(value if value is not None else 0.0)


def _is_fixed(value: Any) -> bool:
    return isinstance(value, bool | int | float)


def _override_value(option: str, text: str) -> Any:
    """Read the VALUE of ``--set``: a number, true/false, or a distribution mapping."""
    data = _override_data(option, text)
    adapter = _DIST_ADAPTER if isinstance(data, dict) else _FIXED_ADAPTER
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        found = explain_errors(error, data, Distribution if isinstance(data, dict) else None)
        details = "; ".join(f"{format_path(p)}: {m}" if p else m for p, m in found)
        raise UsageError(f"{option}: {details}") from None


def _override_data(option: str, text: str) -> Any:
    """Parse an override's text as a YAML value (no tags, no code), or raise UsageError."""
    expected = (
        "expected a number, true/false or a distribution such as '{kind: uniform, low: 0, high: 1}'"
    )
    if "\n" in text or "\r" in text:
        raise UsageError(f"{option}: {expected}")
    try:
        doc = parse_document(f"value: {text}", option, "yaml")
    except SimError:
        raise UsageError(f"{option}: {expected}") from None
    data = doc.data.get("value") if len(doc.data) == 1 else None
    if not isinstance(data, bool | int | float | dict):
        raise UsageError(f"{option}: {expected}")
    return data
