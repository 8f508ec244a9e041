"""Probability distributions of scenario files: validated specs that sample and invert.

Each ``kind`` is a frozen pydantic model; :data:`Distribution` is their union, discriminated
on ``kind``. Fields are plain numbers (no expressions). The two-parameter continuous kinds
(and ``exponential``, with one) also accept quantiles instead of their native parameters,
written ``p1`` ... ``p99`` (``{kind: lognormal, p5: 1, p95: 10}``): they are solved when the
model is validated, the native fields hold the solution and :attr:`quantiles` keeps what was
given, for display. :mod:`sim.format.distributions.quantiles` reads those keys and does the solving.

Every model offers :meth:`sampler` (a closure drawing one Python scalar from a numpy
``Generator``), :meth:`ppf` (the vectorised inverse CDF, for LHS, Sobol and sensitivity
designs), :meth:`support`, :meth:`value_type`, :meth:`expected_value` and :meth:`describe`.
The mean is ``expected_value`` rather than ``mean`` because ``mean`` is a field of the
``normal``, ``exponential`` and ``poisson`` kinds.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    Strict,
    model_validator,
)
from pydantic.config import JsonDict
from scipy import special, stats

from sim.format.distributions.quantiles import (
    QUANTILE_PATTERN,
    Points,
    fit_beta,
    fit_gamma_shape,
    line_through,
    quantile_points,
    standard_normal_points,
    two_points,
)

__all__ = [
    "DISTRIBUTION_KINDS",
    "QUANTILE_PATTERN",
    "Bernoulli",
    "Beta",
    "Choice",
    "Distribution",
    "Exponential",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "Pert",
    "Poisson",
    "Sampler",
    "Triangular",
    "Uniform",
    "draw_many",
    "outside_support",
]

Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite number: ints are accepted, bools and strings are not."""

Sampler = Callable[[np.random.Generator], float | bool]
FloatArray = npt.NDArray[np.float64]

_ROUND_TRIP_TOLERANCE = 1e-6
_TINY = math.ulp(0.0)
_BELOW_ONE = math.nextafter(1.0, 0.0)
_POISSON_MEAN_MAX = 1e18  # numpy's Poisson sampler refuses means near 2**63


def _fmt(x: float) -> str:
    """Format a number briefly for messages and descriptions: ``1``, ``0.25``, ``1.5e-07``."""
    return f"{x:.6g}"


def _require_positive(name: str, value: float) -> None:
    """Raise unless ``value > 0``."""
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {_fmt(value)}")


def _require_ordered(low: float, high: float) -> None:
    """Raise unless ``low < high``."""
    if not low < high:
        raise ValueError(f"low must be < high, got low={_fmt(low)}, high={_fmt(high)}")


def _require_probability(name: str, value: float) -> None:
    """Raise unless ``value`` lies in [0, 1]."""
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be within [0, 1], got {_fmt(value)}")


def _schema_extra(schema: JsonDict, cls: type[Any]) -> None:
    """Make ``kind`` required in the JSON Schema and describe the quantile form."""
    listed = schema.get("required")
    required = [name for name in listed if name != "kind"] if isinstance(listed, list) else []
    if issubclass(cls, _QuantileForm):
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


class _Base(BaseModel):
    """What every distribution offers; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_schema_extra)

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

    def expected_value(self) -> float:
        """Return the mean of the distribution in closed form."""
        raise NotImplementedError

    @property
    def quantiles(self) -> dict[int, float]:
        """Return the quantiles the distribution was given as (level in percent -> value)."""
        return {}

    def describe(self) -> str:
        """Return a short description, such as ``lognormal(mu=0, sigma=1.4) [p5=1, p95=10]``."""
        parts = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "kind" or value is None:
                continue
            if isinstance(value, tuple):
                shown = "[" + ", ".join(_fmt(v) for v in value) + "]"
            else:
                shown = str(value).lower() if isinstance(value, bool) else _fmt(value)
            parts.append(f"{name}={shown}")
        text = f"{self.kind}({', '.join(parts)})"
        if self.quantiles:
            text += " [" + ", ".join(f"p{k}={_fmt(v)}" for k, v in self.quantiles.items()) + "]"
        return text


def _points_text(points: Points) -> str:
    """Render quantile points as ``p5=1 and p95=10``."""
    return " and ".join(f"p{level}={_fmt(x)}" for level, x in points)


def _no_fit(kind: str, points: Points, why: str) -> ValueError:
    """Build the error for quantiles that no distribution of ``kind`` has."""
    return ValueError(f"no {kind} distribution has {_points_text(points)} ({why})")


class _QuantileForm(_Base):
    """A kind that may be given by quantiles instead of its native parameters."""

    _placeholder: ClassVar[dict[str, float]]  # valid native values, to check the other fields
    _n_quantiles: ClassVar[int] = 2
    _given: dict[int, float] = PrivateAttr(default_factory=dict)

    @property
    def quantiles(self) -> dict[int, float]:
        """Return the quantiles the distribution was given as (level in percent -> value)."""
        return dict(self._given)

    @model_validator(mode="wrap")
    @classmethod
    def _from_quantiles(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Solve the quantile form for the native fields, then validate as usual."""
        if not isinstance(data, Mapping):
            return handler(data)
        rest, points = quantile_points(data)
        if not points:
            return handler(data)
        cls._check_points(rest, points)
        # A first pass validates the other fields (such as beta's low/high) before solving.
        probe = handler({**rest, **cls._placeholder})
        model = handler({**rest, **probe._solve(points)})
        model._check_round_trip(points)
        model._given = dict(points)
        return model

    @classmethod
    def _check_points(cls, rest: Mapping[str, Any], points: list[tuple[int, float]]) -> None:
        """Refuse mixed forms, a wrong number of quantiles and quantiles out of order."""
        native = list(cls._placeholder)
        mixed = [name for name in native if name in rest]
        if mixed:
            raise ValueError(
                f"give either {' and '.join(native)} or quantiles (p1 ... p99), not both; "
                f"got {', '.join(mixed)} with {', '.join(f'p{level}' for level, _ in points)}"
            )
        if len(points) != cls._n_quantiles:
            noun = "quantile" if cls._n_quantiles == 1 else "quantiles"
            raise ValueError(
                f"the quantile form takes exactly {cls._n_quantiles} {noun}, "
                f"got {len(points)} ({', '.join(f'p{level}' for level, _ in points)})"
            )
        for (_, x1), (_, x2) in itertools.pairwise(points):
            if not x1 < x2:
                raise ValueError(
                    f"quantiles must increase with their levels, got {_points_text(points)}"
                )

    def _solve(self, points: Points) -> dict[str, float]:
        """Return native field values whose quantiles at the levels are the given values."""
        raise NotImplementedError

    def _check_round_trip(self, points: Points) -> None:
        """Raise unless the solution reproduces the given quantiles."""
        levels = np.array([level / 100 for level, _ in points])
        given = np.array([x for _, x in points])
        scale = max(float(np.max(np.abs(given))), float(given[-1] - given[0]))
        if not np.all(np.abs(self.ppf(levels) - given) <= _ROUND_TRIP_TOLERANCE * scale):
            raise _no_fit(self.kind, points, "no solution reproduces them to 1e-6")


def _require_positive_points(kind: str, points: Points) -> None:
    """Raise unless every quantile is > 0 (for kinds supported on the positive numbers)."""
    if any(x <= 0 for _, x in points):
        raise _no_fit(kind, points, "quantiles must be > 0")


class Fixed(_Base):
    """A known value: every draw returns it, a number or true/false."""

    kind: Literal["fixed"] = Field("fixed", description="The kind of distribution: fixed.")
    value: Annotated[bool, Strict()] | Number = Field(
        description="The value every draw returns: a number or true/false."
    )

    def sampler(self) -> Sampler:
        """Return a closure that returns the value without drawing."""
        value = self.value

        def draw(rng: np.random.Generator) -> float | bool:
            return value

        return draw

    def value_type(self) -> Literal["number", "bool"]:
        """Say ``bool`` for a true/false value, else ``number``."""
        return "bool" if isinstance(self.value, bool) else "number"

    def support(self) -> tuple[float, float]:
        """Return the single point of the support."""
        return float(self.value), float(self.value)

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the value (as a float) at every probability."""
        return np.full(np.shape(q), float(self.value))

    def expected_value(self) -> float:
        """Return the value as a float."""
        return float(self.value)


class Uniform(_QuantileForm):
    """Uniform between low and high.

    Or give two quantiles instead, such as ``{kind: uniform, p10: 0, p90: 8}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"low": 0.0, "high": 1.0}
    kind: Literal["uniform"] = Field("uniform", description="The kind of distribution: uniform.")
    low: Number = Field(description="Lower bound.")
    high: Number = Field(description="Upper bound; must be > low.")

    def _check(self) -> None:
        _require_ordered(self.low, self.high)

    def _solve(self, points: Points) -> dict[str, float]:
        low, width = line_through(*two_points(points))
        return {"low": low, "high": low + width}

    def sampler(self) -> Sampler:
        """Return a closure drawing uniformly from [low, high)."""
        low, width = self.low, self.high - self.low

        def draw(rng: np.random.Generator) -> float:
            return low + width * rng.random()  # what rng.uniform does, without its overhead

        return draw

    def support(self) -> tuple[float, float]:
        """Return [low, high]."""
        return self.low, self.high

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return ``low + q * (high - low)``."""
        return self.low + np.asarray(q, dtype=float) * (self.high - self.low)

    def expected_value(self) -> float:
        """Return the midpoint."""
        return (self.low + self.high) / 2


class Normal(_QuantileForm):
    """Normal with mean and sd, optionally truncated to [low, high] (one or both).

    Or give two quantiles instead of mean and sd, such as ``{kind: normal, p5: -1, p95: 1}``
    (untruncated only).
    """

    _placeholder: ClassVar[dict[str, float]] = {"mean": 0.0, "sd": 1.0}
    kind: Literal["normal"] = Field("normal", description="The kind of distribution: normal.")
    mean: Number = Field(description="Mean (of the untruncated normal).")
    sd: Number = Field(description="Standard deviation (of the untruncated normal); > 0.")
    low: Number | None = Field(None, description="Optional lower truncation point.")
    high: Number | None = Field(None, description="Optional upper truncation point; > low.")

    def _check(self) -> None:
        _require_positive("sd", self.sd)
        if self.low is not None and self.high is not None:
            _require_ordered(self.low, self.high)
        if self._truncated:
            lo, hi, _ = self._tail_interval()
            if not lo < hi:
                raise ValueError(
                    f"normal(mean={_fmt(self.mean)}, sd={_fmt(self.sd)}) has no probability "
                    f"in [{_fmt(self._low)}, {_fmt(self._high)}] at double precision"
                )

    @property
    def _truncated(self) -> bool:
        return self.low is not None or self.high is not None

    @property
    def _low(self) -> float:
        return -math.inf if self.low is None else self.low

    @property
    def _high(self) -> float:
        return math.inf if self.high is None else self.high

    def _standard_bounds(self) -> tuple[float, float]:
        """Return the truncation points in standard deviations from the mean."""
        return (self._low - self.mean) / self.sd, (self._high - self.mean) / self.sd

    def _tail_interval(self) -> tuple[float, float, float]:
        """Return the CDF interval to draw from and the sign that maps it back.

        Above the mean the CDF rounds to 1, so an interval there is mirrored below the mean,
        where the CDF keeps its precision far into the tail.
        """
        alpha, beta = self._standard_bounds()
        sign = 1.0
        if alpha > 0:
            alpha, beta, sign = -beta, -alpha, -1.0
        return float(special.ndtr(alpha)), float(special.ndtr(beta)), sign

    @classmethod
    def _check_points(cls, rest: Mapping[str, Any], points: list[tuple[int, float]]) -> None:
        if "low" in rest or "high" in rest:
            raise ValueError(
                "the quantile form describes an untruncated normal; "
                "give mean and sd to truncate with low/high"
            )
        super()._check_points(rest, points)

    def _solve(self, points: Points) -> dict[str, float]:
        mean, sd = line_through(*standard_normal_points(points))
        return {"mean": mean, "sd": sd}

    def sampler(self) -> Sampler:
        """Return a closure drawing from the (truncated) normal.

        Truncation inverts the CDF of a uniform draw between the truncation points, with
        scipy's scalar ufuncs: one draw per call and no rejection.
        """
        mean, sd = self.mean, self.sd
        if not self._truncated:

            def draw_normal(rng: np.random.Generator) -> float:
                return rng.normal(mean, sd)

            return draw_normal
        u_low, u_high, sign = self._tail_interval()
        u_width = u_high - u_low
        low, high = self._low, self._high
        scale = sign * sd
        ndtri = special.ndtri

        def draw_truncated(rng: np.random.Generator) -> float:
            # A uniform draw of exactly 0 or 1 (an unbounded end) would give an infinite z.
            u = min(max(u_low + u_width * rng.random(), _TINY), _BELOW_ONE)
            x = mean + scale * float(ndtri(u))
            return min(max(x, low), high)  # rounding must not leave the bounds

        return draw_truncated

    def support(self) -> tuple[float, float]:
        """Return the truncation interval (the real line when untruncated)."""
        return self._low, self._high

    def _frozen(self) -> Any:
        alpha, beta = self._standard_bounds()
        return stats.truncnorm(alpha, beta, loc=self.mean, scale=self.sd)

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the inverse CDF (of the truncated normal when truncated)."""
        q = np.asarray(q, dtype=float)
        if not self._truncated:
            return np.asarray(self.mean + self.sd * special.ndtri(q), dtype=float)
        return np.asarray(self._frozen().ppf(q), dtype=float)

    def expected_value(self) -> float:
        """Return the mean (of the truncated normal when truncated)."""
        return float(self._frozen().mean()) if self._truncated else self.mean


class LogNormal(_QuantileForm):
    """Lognormal: its logarithm is normal with mean mu and standard deviation sigma.

    Or give two quantiles instead, such as ``{kind: lognormal, p5: 1, p95: 10}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"mu": 0.0, "sigma": 1.0}
    kind: Literal["lognormal"] = Field(
        "lognormal", description="The kind of distribution: lognormal."
    )
    mu: Number = Field(description="Mean of the logarithm (log of the median).")
    sigma: Number = Field(description="Standard deviation of the logarithm; > 0.")

    def _check(self) -> None:
        _require_positive("sigma", self.sigma)

    def _solve(self, points: Points) -> dict[str, float]:
        _require_positive_points(self.kind, points)
        z1, x1, z2, x2 = standard_normal_points(points)
        mu, sigma = line_through(z1, math.log(x1), z2, math.log(x2))
        return {"mu": mu, "sigma": sigma}

    def sampler(self) -> Sampler:
        """Return a closure drawing from the lognormal."""
        mu, sigma = self.mu, self.sigma

        def draw(rng: np.random.Generator) -> float:
            return rng.lognormal(mu, sigma)

        return draw

    def support(self) -> tuple[float, float]:
        """Return [0, inf]."""
        return 0.0, math.inf

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return ``exp(mu + sigma * z_q)``."""
        return np.exp(self.mu + self.sigma * np.asarray(special.ndtri(q), dtype=float))

    def expected_value(self) -> float:
        """Return ``exp(mu + sigma**2 / 2)``."""
        return math.exp(self.mu + self.sigma**2 / 2)


def _scaled_beta_sampler(a: float, b: float, low: float, width: float) -> Sampler:
    """Return a closure drawing ``low + width * Beta(a, b)``."""

    def draw(rng: np.random.Generator) -> float:
        return low + width * rng.beta(a, b)

    return draw


def _scaled_beta_ppf(a: float, b: float, low: float, width: float, q: npt.ArrayLike) -> FloatArray:
    """Return the inverse CDF of ``low + width * Beta(a, b)``."""
    return low + width * np.asarray(special.betaincinv(a, b, q), dtype=float)


class Beta(_QuantileForm):
    """Beta(a, b) on [0, 1], or rescaled to [low, high] when both are given.

    Or give two quantiles instead of a and b, on the rescaled scale, such as
    ``{kind: beta, p5: 0.2, p95: 0.6}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"a": 1.0, "b": 1.0}
    kind: Literal["beta"] = Field("beta", description="The kind of distribution: beta.")
    a: Number = Field(description="First shape parameter (alpha); > 0.")
    b: Number = Field(description="Second shape parameter (beta); > 0.")
    low: Number | None = Field(None, description="Optional lower end to rescale [0, 1] to.")
    high: Number | None = Field(None, description="Optional upper end to rescale [0, 1] to.")

    def _check(self) -> None:
        _require_positive("a", self.a)
        _require_positive("b", self.b)
        if (self.low is None) != (self.high is None):
            raise ValueError("give both low and high to rescale, or neither")
        if self.low is not None and self.high is not None:
            _require_ordered(self.low, self.high)

    @property
    def _low(self) -> float:
        return 0.0 if self.low is None else self.low

    @property
    def _width(self) -> float:
        return 1.0 if self.high is None else self.high - self._low

    def _solve(self, points: Points) -> dict[str, float]:
        low, width = self._low, self._width
        if any(not low < x < low + width for _, x in points):
            where = "" if self.low is None else f" on [{_fmt(low)}, {_fmt(low + width)}]"
            raise ValueError(
                f"no beta distribution{where} has {_points_text(points)} "
                f"(quantiles must lie in ({_fmt(low)}, {_fmt(low + width)}))"
            )
        levels = np.array([level / 100 for level, _ in points])
        a, b = fit_beta(levels, (np.array([x for _, x in points]) - low) / width)
        return {"a": a, "b": b}

    def sampler(self) -> Sampler:
        """Return a closure drawing from the (rescaled) beta."""
        return _scaled_beta_sampler(self.a, self.b, self._low, self._width)

    def support(self) -> tuple[float, float]:
        """Return [low, high], or [0, 1]."""
        return self._low, self._low + self._width

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the inverse CDF of the (rescaled) beta."""
        return _scaled_beta_ppf(self.a, self.b, self._low, self._width, q)

    def expected_value(self) -> float:
        """Return ``low + (high - low) * a / (a + b)``."""
        return self._low + self._width * self.a / (self.a + self.b)


class _ThreePoint(_Base):
    """Fields and checks shared by the kinds given by low, mode and high."""

    low: Number = Field(description="Lowest possible value.")
    mode: Number = Field(description="Most likely value; within [low, high].")
    high: Number = Field(description="Highest possible value; > low.")

    def _check(self) -> None:
        _require_ordered(self.low, self.high)
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode must be within [low, high] = [{_fmt(self.low)}, {_fmt(self.high)}], "
                f"got {_fmt(self.mode)}"
            )

    def support(self) -> tuple[float, float]:
        """Return [low, high]."""
        return self.low, self.high


class Triangular(_ThreePoint):
    """Triangular between low and high, peaking at mode."""

    kind: Literal["triangular"] = Field(
        "triangular", description="The kind of distribution: triangular."
    )

    def sampler(self) -> Sampler:
        """Return a closure drawing from the triangular distribution."""
        low, mode, high = self.low, self.mode, self.high

        def draw(rng: np.random.Generator) -> float:
            return rng.triangular(low, mode, high)

        return draw

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the closed-form inverse CDF of the triangle."""
        q = np.asarray(q, dtype=float)
        width = self.high - self.low
        rising = self.low + np.sqrt(q * width * (self.mode - self.low))
        falling = self.high - np.sqrt((1 - q) * width * (self.high - self.mode))
        return np.where(q * width < self.mode - self.low, rising, falling)

    def expected_value(self) -> float:
        """Return ``(low + mode + high) / 3``."""
        return (self.low + self.mode + self.high) / 3


class Pert(_ThreePoint):
    """PERT: a smooth three-point estimate between low and high, peaking at mode.

    It is a beta rescaled to [low, high] with shapes 1 + 4 (mode - low) / (high - low) and
    1 + 4 (high - mode) / (high - low), so its mean is (low + 4 mode + high) / 6.
    """

    kind: Literal["pert"] = Field("pert", description="The kind of distribution: pert.")

    def _shapes(self) -> tuple[float, float]:
        width = self.high - self.low
        return 1 + 4 * (self.mode - self.low) / width, 1 + 4 * (self.high - self.mode) / width

    def sampler(self) -> Sampler:
        """Return a closure drawing from the rescaled beta."""
        return _scaled_beta_sampler(*self._shapes(), self.low, self.high - self.low)

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the inverse CDF of the rescaled beta."""
        return _scaled_beta_ppf(*self._shapes(), self.low, self.high - self.low, q)

    def expected_value(self) -> float:
        """Return ``(low + 4 mode + high) / 6``."""
        return (self.low + 4 * self.mode + self.high) / 6


class Exponential(_QuantileForm):
    """Exponential with the given mean (1 / rate).

    Or give one quantile instead, such as ``{kind: exponential, p50: 3}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"mean": 1.0}
    _n_quantiles: ClassVar[int] = 1
    kind: Literal["exponential"] = Field(
        "exponential", description="The kind of distribution: exponential."
    )
    mean: Number = Field(description="Mean, the inverse of the rate; > 0.")

    def _check(self) -> None:
        _require_positive("mean", self.mean)

    def _solve(self, points: Points) -> dict[str, float]:
        _require_positive_points(self.kind, points)
        ((level, x),) = points
        return {"mean": x / -math.log1p(-level / 100)}

    def sampler(self) -> Sampler:
        """Return a closure drawing from the exponential."""
        mean = self.mean

        def draw(rng: np.random.Generator) -> float:
            return rng.exponential(mean)

        return draw

    def support(self) -> tuple[float, float]:
        """Return [0, inf]."""
        return 0.0, math.inf

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return ``-mean * log(1 - q)``."""
        tail: FloatArray = np.log1p(-np.asarray(q, dtype=float))
        return -self.mean * tail

    def expected_value(self) -> float:
        """Return the mean."""
        return self.mean


class Gamma(_QuantileForm):
    """Gamma with shape and scale; its mean is shape * scale.

    Or give two quantiles instead, such as ``{kind: gamma, p10: 1, p80: 5}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"shape": 1.0, "scale": 1.0}
    kind: Literal["gamma"] = Field("gamma", description="The kind of distribution: gamma.")
    shape: Number = Field(description="Shape parameter (k); > 0.")
    scale: Number = Field(description="Scale parameter (theta, 1 / rate); > 0.")

    def _check(self) -> None:
        _require_positive("shape", self.shape)
        _require_positive("scale", self.scale)

    def _solve(self, points: Points) -> dict[str, float]:
        _require_positive_points(self.kind, points)
        p1, x1, p2, x2 = two_points(points)
        shape = fit_gamma_shape(p1, x1, p2, x2)
        if shape is None:
            raise _no_fit(self.kind, points, "the quantiles are too far apart or too close")
        return {"shape": shape, "scale": x1 / float(special.gammaincinv(shape, p1))}

    def sampler(self) -> Sampler:
        """Return a closure drawing from the gamma."""
        shape, scale = self.shape, self.scale

        def draw(rng: np.random.Generator) -> float:
            return rng.gamma(shape, scale)

        return draw

    def support(self) -> tuple[float, float]:
        """Return [0, inf]."""
        return 0.0, math.inf

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return ``scale`` times the regularised inverse incomplete gamma."""
        return self.scale * np.asarray(special.gammaincinv(self.shape, q), dtype=float)

    def expected_value(self) -> float:
        """Return ``shape * scale``."""
        return self.shape * self.scale


class Poisson(_Base):
    """Poisson count with the given mean; draws are whole numbers returned as floats."""

    kind: Literal["poisson"] = Field("poisson", description="The kind of distribution: poisson.")
    mean: Number = Field(description="Mean count; > 0.")

    def _check(self) -> None:
        _require_positive("mean", self.mean)
        if self.mean > _POISSON_MEAN_MAX:
            raise ValueError(f"mean must be <= 1e18, got {_fmt(self.mean)}")

    def sampler(self) -> Sampler:
        """Return a closure drawing a count, as a float."""
        mean = self.mean

        def draw(rng: np.random.Generator) -> float:
            return float(rng.poisson(mean))

        return draw

    def support(self) -> tuple[float, float]:
        """Return [0, inf]."""
        return 0.0, math.inf

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the smallest count whose CDF reaches ``q``."""
        # scipy answers -1 at q = 0; the left-continuous inverse stops at the support.
        counts = stats.poisson(self.mean).ppf(np.asarray(q, dtype=float))
        return np.asarray(np.maximum(counts, 0.0), dtype=float)

    def expected_value(self) -> float:
        """Return the mean."""
        return self.mean


class Bernoulli(_Base):
    """True with probability p, else false."""

    kind: Literal["bernoulli"] = Field(
        "bernoulli", description="The kind of distribution: bernoulli."
    )
    p: Number = Field(description="Probability of true; within [0, 1].")

    def _check(self) -> None:
        _require_probability("p", self.p)

    def sampler(self) -> Sampler:
        """Return a closure drawing a Python bool."""
        p = self.p

        def draw(rng: np.random.Generator) -> bool:
            return rng.random() < p

        return draw

    def value_type(self) -> Literal["number", "bool"]:
        """Say ``bool``."""
        return "bool"

    def support(self) -> tuple[float, float]:
        """Return the outcomes with positive probability, as 0 and 1."""
        return (1.0 if self.p == 1 else 0.0), (0.0 if self.p == 0 else 1.0)

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return 1.0 where ``q > 1 - p``, else 0.0 (1.0 everywhere when p is 1)."""
        q = np.asarray(q, dtype=float)
        if self.p == 1:
            return np.ones_like(q)
        return np.where(q > 1 - self.p, 1.0, 0.0)

    def expected_value(self) -> float:
        """Return p."""
        return self.p


class Choice(_Base):
    """One of the listed numbers, equally likely or in proportion to the weights."""

    kind: Literal["choice"] = Field("choice", description="The kind of distribution: choice.")
    values: tuple[Number, ...] = Field(description="The numbers to choose from; at least one.")
    weights: tuple[Number, ...] | None = Field(
        None,
        description="Optional relative weights, one per value; >= 0 with a positive sum.",
    )

    def _check(self) -> None:
        if not self.values:
            raise ValueError("values must hold at least one number, got []")
        if self.weights is None:
            return
        if len(self.weights) != len(self.values):
            raise ValueError(
                f"weights must have one entry per value ({len(self.values)}), "
                f"got {len(self.weights)}"
            )
        negative = [w for w in self.weights if w < 0]
        if negative:
            raise ValueError(f"weights must be >= 0, got {_fmt(negative[0])}")
        if not sum(self.weights) > 0:
            raise ValueError("weights must have a positive sum, got 0")

    def _probabilities(self) -> list[float]:
        weights = self.weights or (1.0,) * len(self.values)
        total = math.fsum(weights)
        return [w / total for w in weights]

    def sampler(self) -> Sampler:
        """Return a closure drawing one of the values."""
        values = self.values
        weights = self.weights or (1.0,) * len(values)
        cumulative = list(itertools.accumulate(weights))
        total = cumulative[-1]
        # A uniform draw rounding up to the total must not pick a trailing zero weight.
        last = max(i for i, w in enumerate(weights) if w > 0)

        def draw(rng: np.random.Generator) -> float:
            return values[min(bisect.bisect_right(cumulative, rng.random() * total), last)]

        return draw

    def _atoms(self) -> tuple[FloatArray, FloatArray]:
        """Return the values with positive probability, sorted, and their cumulative
        probabilities (ending at exactly 1)."""
        pairs = sorted((v, p) for v, p in zip(self.values, self._probabilities(), strict=True))
        kept = [(v, p) for v, p in pairs if p > 0]
        cumulative = np.cumsum([p for _, p in kept])
        return np.array([v for v, _ in kept]), cumulative / cumulative[-1]

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest values with positive weight."""
        atoms, _ = self._atoms()
        return float(atoms[0]), float(atoms[-1])

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the smallest value whose CDF reaches ``q``."""
        atoms, cumulative = self._atoms()
        index = np.searchsorted(cumulative, np.asarray(q, dtype=float), side="left")
        return atoms[np.minimum(index, len(atoms) - 1)]

    def expected_value(self) -> float:
        """Return the probability-weighted mean of the values."""
        return math.fsum(v * p for v, p in zip(self.values, self._probabilities(), strict=True))


Distribution = Annotated[
    Fixed
    | Uniform
    | Normal
    | LogNormal
    | Beta
    | Triangular
    | Pert
    | Exponential
    | Gamma
    | Poisson
    | Bernoulli
    | Choice,
    Field(discriminator="kind"),
]
"""Any distribution, chosen by its ``kind``."""

DISTRIBUTION_KINDS: tuple[str, ...] = (
    "fixed",
    "uniform",
    "normal",
    "lognormal",
    "beta",
    "triangular",
    "pert",
    "exponential",
    "gamma",
    "poisson",
    "bernoulli",
    "choice",
)


def outside_support(dist: Any, x: float) -> str | None:
    """Say why ``x`` cannot be a value of ``dist`` (outside its support), or return None.

    A ``fixed`` distribution stands for a fixed value, which any number may replace.
    """
    if dist.kind == "fixed":
        return None
    low, high = dist.support()
    if low <= x <= high:
        return None
    return f"outside the support [{low:g}, {high:g}] of {dist.describe()}"


def draw_many(dist: Distribution, rng: np.random.Generator, n: int) -> FloatArray:
    """Draw ``n`` values with the distribution's sampler, as floats (bools become 0/1).

    The draws are the ones ``n`` calls of ``dist.sampler()`` would make on the same generator.
    """
    draw = dist.sampler()
    return np.fromiter((draw(rng) for _ in range(n)), dtype=float, count=n)
