"""Fixed and discrete distributions: ``fixed``, ``poisson``, ``bernoulli``, ``choice``."""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    Field,
    Strict,
)

from sim.format.distributions.base import (
    POISSON_MEAN_MAX,
    BaseDistribution,
    FloatArray,
    Number,
    Param,
    Sampler,
    fmt,
    numbers,
    require_positive,
    require_probability,
)
from sim.format.field_error import FieldError


class Fixed(BaseDistribution):
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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return 1 at and above the value, else 0."""
        return np.where(np.asarray(x, dtype=float) >= float(self.value), 1.0, 0.0)

    def expected_value(self) -> float:
        """Return the value as a float."""
        return float(self.value)


class Poisson(BaseDistribution):
    """Poisson count with the given mean; draws are whole numbers returned as floats."""

    kind: Literal["poisson"] = Field("poisson", description="The kind of distribution: poisson.")
    mean: Param = Field(description="Mean count; > 0.")

    def _check(self) -> None:
        require_positive("mean", self.mean)
        if numbers(self.mean) and self.mean > POISSON_MEAN_MAX:
            raise FieldError("mean", f"mean must be <= 1e18, got {fmt(self.mean)}")

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
        from scipy import stats

        # scipy answers -1 at q = 0; the left-continuous inverse stops at the support.
        counts = stats.poisson(self.mean).ppf(np.asarray(q, dtype=float))
        return np.asarray(np.maximum(counts, 0.0), dtype=float)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return P(count <= x)."""
        from scipy import special

        k = np.floor(np.asarray(x, dtype=float))
        return np.asarray(np.where(k >= 0, special.pdtr(np.maximum(k, 0), self.mean), 0.0))

    def expected_value(self) -> float:
        """Return the mean."""
        return self.mean


class Bernoulli(BaseDistribution):
    """True with probability p, else false."""

    kind: Literal["bernoulli"] = Field(
        "bernoulli", description="The kind of distribution: bernoulli."
    )
    p: Param = Field(description="Probability of true; within [0, 1].")

    def _check(self) -> None:
        require_probability("p", self.p)

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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return 0 below 0, 1 - p on [0, 1), 1 from 1 on."""
        v: FloatArray = np.asarray(x, dtype=np.float64)
        return np.where(v < 0, 0.0, np.where(v < 1, 1.0 - self.p, 1.0))

    def expected_value(self) -> float:
        """Return p."""
        return self.p


class Choice(BaseDistribution):
    """One of the listed numbers, equally likely or in proportion to the weights."""

    kind: Literal["choice"] = Field("choice", description="The kind of distribution: choice.")
    values: tuple[Number, ...] = Field(description="The numbers to choose from; at least one.")
    weights: tuple[Number, ...] | None = Field(
        None,
        description="Optional relative weights, one per value; >= 0 with a positive sum.",
    )

    def _check(self) -> None:
        if not self.values:
            raise FieldError("values", "values must hold at least one number, got []")
        if self.weights is None:
            return
        if len(self.weights) != len(self.values):
            raise FieldError(
                "weights",
                f"weights must have one entry per value ({len(self.values)}), "
                f"got {len(self.weights)}",
            )
        negative = [w for w in self.weights if w < 0]
        if negative:
            raise FieldError("weights", f"weights must be >= 0, got {fmt(negative[0])}")
        if not sum(self.weights) > 0:
            raise FieldError("weights", "weights must have a positive sum, got 0")

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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the probability of the values at or below ``x``."""
        atoms, cumulative = self._atoms()
        index = np.searchsorted(atoms, np.asarray(x, dtype=float), side="right")
        return np.asarray(np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0))

    def expected_value(self) -> float:
        """Return the probability-weighted mean of the values."""
        return math.fsum(v * p for v, p in zip(self.values, self._probabilities(), strict=True))
