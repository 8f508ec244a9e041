"""What every distribution kind shares: the base model, the quantile form, checks of fields.

Each ``kind`` is a frozen pydantic model. The two-parameter continuous kinds (and
``exponential``, with one) also accept quantiles instead of their native parameters, written
``p1`` ... ``p99`` (``{kind: lognormal, p5: 1, p95: 10}``): they are solved when the model is
validated, the native fields hold the solution and ``quantiles`` keeps what was given, for
display. :mod:`sim.format.distributions.quantiles` reads those keys and does the solving.

Every model offers ``sampler`` (a closure drawing one Python scalar from a numpy
``Generator``), ``ppf`` (the vectorised inverse CDF, for LHS, Sobol and sensitivity
designs), ``support``, ``value_type``, ``expected_value`` and ``describe``. The mean is
``expected_value`` rather than ``mean`` because ``mean`` is a field of the ``normal``,
``exponential`` and ``poisson`` kinds.

In format 1.1 a numeric field (a :data:`Param`) may be an expression instead of a number,
``{kind: exponential, mean: "base_delay * (1 - resolve)"}``, and so may the quantiles of
the kinds whose quantile form has a closed-form solution. Such a distribution is
*dynamic*: :attr:`~BaseDistribution.expressions` lists its expression fields, the checks of
the fields that are numbers run when it is validated, and :meth:`~BaseDistribution.resolved`
makes the distribution for given values of the expressions (running the remaining checks)
each time one is drawn. The sampling methods need a distribution whose fields are numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PlainValidator,
    PrivateAttr,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic.config import JsonDict

from sim.format.distributions.quantiles import (
    QUANTILE_PATTERN,
    Points,
    quantile_points,
)
from sim.format.field_error import FieldError

Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite number: ints are accepted, bools and strings are not."""


def _param(value: Any) -> float | str:
    """Accept a finite number (not a bool), or the text of an expression."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a number or an expression, got an empty string")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number or an expression, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


# Typed as a float, which it is wherever a distribution is sampled: only a dynamic
# distribution (``expressions`` not empty) holds strings, and it is never sampled itself but
# through ``resolved``.
Param = Annotated[
    float,
    PlainValidator(_param),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "A number, or (format 1.1) an expression of parameters.",
        }
    ),
]
"""A numeric field of a distribution: a finite number, or an expression (format 1.1)."""

Sampler = Callable[[np.random.Generator], float | bool]
FloatArray = npt.NDArray[np.float64]

ROUND_TRIP_TOLERANCE = 1e-6
TINY = math.ulp(0.0)
BELOW_ONE = math.nextafter(1.0, 0.0)
POISSON_MEAN_MAX = 1e18  # numpy's Poisson sampler refuses means near 2**63


def fmt(x: float | str) -> str:
    """Format a number briefly for messages and descriptions: ``1``, ``0.25``, ``1.5e-07``.

    An expression (a field of a dynamic distribution) is shown quoted.
    """
    return repr(x) if isinstance(x, str) else f"{x:.6g}"


def numbers(*values: object) -> bool:
    """Whether none of ``values`` is an expression (checks between fields need numbers)."""
    return not any(isinstance(v, str) for v in values)


def require_positive(name: str, value: float) -> None:
    """Raise unless ``value > 0`` (an expression is checked when it is drawn)."""
    if numbers(value) and not value > 0:
        raise FieldError(name, f"{name} must be > 0, got {fmt(value)}")


def require_ordered(low: float, high: float) -> None:
    """Raise unless ``low < high`` (expressions are checked when drawn)."""
    if numbers(low, high) and not low < high:
        raise FieldError("high", f"low must be < high, got low={fmt(low)}, high={fmt(high)}")


def require_probability(name: str, value: float) -> None:
    """Raise unless ``value`` lies in [0, 1] (an expression is checked when drawn)."""
    if numbers(value) and not 0 <= value <= 1:
        raise FieldError(name, f"{name} must be within [0, 1], got {fmt(value)}")


def schema_extra(schema: JsonDict, cls: type[Any]) -> None:
    """Make ``kind`` required in the JSON Schema and describe the quantile form."""
    listed = schema.get("required")
    required = [name for name in listed if name != "kind"] if isinstance(listed, list) else []
    if issubclass(cls, QuantileForm):
        # Either the native fields or the quantiles: neither set is required by itself.
        required = []
        schema["patternProperties"] = {
            QUANTILE_PATTERN: {
                "type": "number",
                "description": "A quantile: pNN is the value below which NN% of draws fall.",
            }
        }
        schema["additionalProperties"] = False
    schema["required"] = ["kind", *required]


class BaseDistribution(BaseModel):
    """What every distribution offers; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=schema_extra)

    kind: str

    @model_validator(mode="after")
    def _checked(self) -> Self:
        """Run the kind's range checks once its fields are valid."""
        self._check()
        return self

    def _check(self) -> None:
        """Raise ValueError naming the field, its value and what was expected."""

    def sampler(self) -> Sampler:
        """Return a closure that draws one Python scalar from a generator."""
        raise NotImplementedError

    def value_type(self) -> Literal["number", "bool"]:
        """Say whether draws are numbers or bools."""
        return "number"

    def support(self) -> tuple[float, float]:
        """Return the closed interval holding every draw (``inf`` where unbounded)."""
        raise NotImplementedError

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the inverse CDF at probabilities ``q`` (left-continuous for discrete kinds)."""
        raise NotImplementedError

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the CDF, P(X <= x), at ``x`` (bools count as 0 and 1)."""
        raise NotImplementedError

    def expected_value(self) -> float:
        """Return the mean of the distribution in closed form."""
        raise NotImplementedError

    def quantile_function(self) -> Callable[[float], float]:
        """Return a closure giving the inverse CDF at one probability, fast (for copulas)."""
        ppf = self.ppf

        def quantile(u: float) -> float:
            return float(ppf(u))

        return quantile

    @property
    def quantiles(self) -> dict[int, float]:
        """Return the quantiles the distribution was given as (level in percent -> value)."""
        return {}

    @property
    def expressions(self) -> dict[str, str]:
        """Return the fields given as expressions (format 1.1), by name: ``{}`` if none."""
        return {
            name: value
            for name in type(self).model_fields
            if name != "kind" and isinstance(value := getattr(self, name), str)
        }

    def resolved(self, values: Mapping[str, float]) -> Self:
        """Return this distribution with its expression fields set to ``values``, checked.

        Raises ValueError (a run error where a branch draws it) when a value is not a
        finite number or breaks the kind's rules, such as a negative mean.
        """
        for name, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"{self.kind} {name} must be a finite number, got {value:g}")
        model = self.model_copy(update=values)
        model._check()
        return model

    def describe(self) -> str:
        """Return a short description, such as ``lognormal(mu=0, sigma=1.4) [p5=1, p95=10]``."""
        parts = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "kind" or value is None:
                continue
            if isinstance(value, tuple):
                shown = "[" + ", ".join(fmt(v) for v in value) + "]"
            else:
                shown = str(value).lower() if isinstance(value, bool) else fmt(value)
            parts.append(f"{name}={shown}")
        text = f"{self.kind}({', '.join(parts)})"
        if self.quantiles:
            text += " [" + ", ".join(f"p{k}={fmt(v)}" for k, v in self.quantiles.items()) + "]"
        return text


def points_text(points: Sequence[tuple[int, float | str]]) -> str:
    """Render quantile points as ``p5=1 and p95=10``."""
    return " and ".join(f"p{level}={fmt(x)}" for level, x in points)


def no_fit(kind: str, points: Points, why: str) -> ValueError:
    """Build the error for quantiles that no distribution of ``kind`` has."""
    return ValueError(f"no {kind} distribution has {points_text(points)} ({why})")


class QuantileForm(BaseDistribution):
    """A kind that may be given by quantiles instead of its native parameters."""

    _placeholder: ClassVar[dict[str, float]]  # valid native values, to check the other fields
    _n_quantiles: ClassVar[int] = 2
    # Why quantiles that are expressions cannot be solved when drawn, or "" if they can.
    _not_at_draw: ClassVar[str] = ""
    _given: dict[int, float] = PrivateAttr(default_factory=dict)
    _points: tuple[tuple[int, float | str], ...] = PrivateAttr(default=())

    @property
    def quantiles(self) -> dict[int, float]:
        """Return the quantiles the distribution was given as (level in percent -> value)."""
        return dict(self._given)

    @property
    def expressions(self) -> dict[str, str]:
        """Return the fields given as expressions, quantiles (``p5``) included."""
        found = super().expressions
        found.update({f"p{level}": x for level, x in self._points if isinstance(x, str)})
        return found

    def resolved(self, values: Mapping[str, float]) -> Self:
        """Return the distribution for these values, solving quantiles that are expressions."""
        if not self._points:
            return super().resolved(values)
        points = [(lvl, values[f"p{lvl}"] if isinstance(x, str) else x) for lvl, x in self._points]
        for level, x in points:
            if not math.isfinite(x):
                raise ValueError(f"{self.kind} p{level} must be a finite number, got {x:g}")
        type(self)._check_points({}, points)
        native = self._solve(points)
        rest = {k: v for k, v in values.items() if not k.startswith("p")}
        model = super().resolved({**rest, **native})
        model._points = ()
        return model

    @model_validator(mode="wrap")
    @classmethod
    def _from_quantiles(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Solve the quantile form for the native fields, then validate as usual.

        Quantiles that are expressions are kept, to be solved each time the distribution is
        drawn, where the kind has a closed-form solution.
        """
        if not isinstance(data, Mapping):
            return handler(data)
        rest, points = quantile_points(data)
        if not points:
            return handler(data)
        cls._check_points(rest, points)
        # A first pass validates the other fields (such as beta's low/high) before solving.
        probe = handler({**rest, **cls._placeholder})
        if not numbers(*(x for _, x in points)):
            if cls._not_at_draw:
                raise ValueError(
                    f"the quantiles of a {probe.kind} cannot be expressions: {cls._not_at_draw}"
                )
            probe._points = tuple(points)
            return probe
        solid = [(level, float(x)) for level, x in points]
        model = handler({**rest, **probe._solve(solid)})
        model._check_round_trip(solid)
        model._given = dict(solid)
        return model

    @classmethod
    def _check_points(cls, rest: Mapping[str, Any], points: Sequence[tuple[int, Any]]) -> None:
        """Refuse mixed forms, a wrong number of quantiles and quantiles out of order."""
        native = list(cls._placeholder)
        mixed = [name for name in native if name in rest]
        if mixed:
            raise FieldError(
                mixed[0],
                f"give either {' and '.join(native)} or quantiles (p1 ... p99), not both; "
                f"got {', '.join(mixed)} with {', '.join(f'p{level}' for level, _ in points)}",
            )
        if len(points) != cls._n_quantiles:
            noun = "quantile" if cls._n_quantiles == 1 else "quantiles"
            raise ValueError(
                f"the quantile form takes exactly {cls._n_quantiles} {noun}, "
                f"got {len(points)} ({', '.join(f'p{level}' for level, _ in points)})"
            )
        for (_, x1), (level, x2) in itertools.pairwise(points):
            if numbers(x1, x2) and not x1 < x2:
                raise FieldError(
                    f"p{level}",
                    f"quantiles must increase with their levels, got {points_text(points)}",
                )

    def _solve(self, points: Points) -> dict[str, float]:
        """Return native field values whose quantiles at the levels are the given values."""
        raise NotImplementedError

    def _check_round_trip(self, points: Points) -> None:
        """Raise unless the solution reproduces the given quantiles."""
        levels = np.array([level / 100 for level, _ in points])
        given = np.array([x for _, x in points])
        scale = max(float(np.max(np.abs(given))), float(given[-1] - given[0]))
        if not np.all(np.abs(self.ppf(levels) - given) <= ROUND_TRIP_TOLERANCE * scale):
            raise no_fit(self.kind, points, "no solution reproduces them to 1e-6")


def require_positive_points(kind: str, points: Points) -> None:
    """Raise unless every quantile is > 0 (for kinds supported on the positive numbers)."""
    if any(x <= 0 for _, x in points):
        raise no_fit(kind, points, "quantiles must be > 0")
