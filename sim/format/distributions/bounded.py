"""Distributions on a bounded range: ``uniform``, ``beta`` (rescaled), ``triangular``, ``pert``."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    Field,
)

from sim.format.distributions.base import (
    BaseDistribution,
    FloatArray,
    Param,
    QuantileForm,
    Sampler,
    fmt,
    numbers,
    points_text,
    require_ordered,
    require_positive,
)
from sim.format.distributions.quantiles import (
    Points,
    fit_beta,
    line_through,
    two_points,
)
from sim.format.field_error import FieldError


class Uniform(QuantileForm):
    """Uniform between low and high.

    Or give two quantiles instead, such as ``{kind: uniform, p10: 0, p90: 8}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"low": 0.0, "high": 1.0}
    kind: Literal["uniform"] = Field("uniform", description="The kind of distribution: uniform.")
    low: Param = Field(description="Lower bound.")
    high: Param = Field(description="Upper bound; must be > low.")

    def _check(self) -> None:
        require_ordered(self.low, self.high)

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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return ``(x - low) / (high - low)`` within [0, 1]."""
        return np.clip((np.asarray(x, dtype=float) - self.low) / (self.high - self.low), 0, 1)

    def expected_value(self) -> float:
        """Return the midpoint."""
        return (self.low + self.high) / 2


def _scaled_beta_sampler(a: float, b: float, low: float, width: float) -> Sampler:
    """Return a closure drawing ``low + width * Beta(a, b)``."""

    def draw(rng: np.random.Generator) -> float:
        return low + width * rng.beta(a, b)

    return draw


def _scaled_beta_cdf(a: float, b: float, low: float, width: float, x: npt.ArrayLike) -> FloatArray:
    """Return the CDF of ``low + width * Beta(a, b)``."""
    from scipy import special

    u = np.clip((np.asarray(x, dtype=float) - low) / width, 0, 1)
    return np.asarray(special.betainc(a, b, u), dtype=float)


def _scaled_beta_ppf(a: float, b: float, low: float, width: float, q: npt.ArrayLike) -> FloatArray:
    """Return the inverse CDF of ``low + width * Beta(a, b)``."""
    from scipy import special

    return low + width * np.asarray(special.betaincinv(a, b, q), dtype=float)


class Beta(QuantileForm):
    """Beta(a, b) on [0, 1], or rescaled to [low, high] when both are given.

    Or give two quantiles instead of a and b, on the rescaled scale, such as
    ``{kind: beta, p5: 0.2, p95: 0.6}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"a": 1.0, "b": 1.0}
    _not_at_draw: ClassVar[str] = (
        "solving them needs a numerical fit at every draw; give a and b, which may be expressions"
    )
    kind: Literal["beta"] = Field("beta", description="The kind of distribution: beta.")
    a: Param = Field(description="First shape parameter (alpha); > 0.")
    b: Param = Field(description="Second shape parameter (beta); > 0.")
    low: Param | None = Field(None, description="Optional lower end to rescale [0, 1] to.")
    high: Param | None = Field(None, description="Optional upper end to rescale [0, 1] to.")

    def _check(self) -> None:
        require_positive("a", self.a)
        require_positive("b", self.b)
        if (self.low is None) != (self.high is None):
            field = "low" if self.low is not None else "high"
            raise FieldError(field, "give both low and high to rescale, or neither")
        if self.low is not None and self.high is not None:
            require_ordered(self.low, self.high)

    @property
    def _low(self) -> float:
        return 0.0 if self.low is None else self.low

    @property
    def _width(self) -> float:
        return 1.0 if self.high is None else self.high - self._low

    def _solve(self, points: Points) -> dict[str, float]:
        low, width = self._low, self._width
        if any(not low < x < low + width for _, x in points):
            where = "" if self.low is None else f" on [{fmt(low)}, {fmt(low + width)}]"
            raise ValueError(
                f"no beta distribution{where} has {points_text(points)} "
                f"(quantiles must lie in ({fmt(low)}, {fmt(low + width)}))"
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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the CDF of the (rescaled) beta."""
        return _scaled_beta_cdf(self.a, self.b, self._low, self._width, x)

    def expected_value(self) -> float:
        """Return ``low + (high - low) * a / (a + b)``."""
        return self._low + self._width * self.a / (self.a + self.b)


class _ThreePoint(BaseDistribution):
    """Fields and checks shared by the kinds given by low, mode and high."""

    low: Param = Field(description="Lowest possible value.")
    mode: Param = Field(description="Most likely value; within [low, high].")
    high: Param = Field(description="Highest possible value; > low.")

    def _check(self) -> None:
        require_ordered(self.low, self.high)
        if not numbers(self.low, self.mode, self.high):
            return
        if not self.low <= self.mode <= self.high:
            raise FieldError(
                "mode",
                f"mode must be within [low, high] = [{fmt(self.low)}, {fmt(self.high)}], "
                f"got {fmt(self.mode)}",
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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the closed-form CDF of the triangle."""
        v: FloatArray = np.clip(np.asarray(x, dtype=np.float64), self.low, self.high)
        width = self.high - self.low
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = (v - self.low) ** 2 / (width * (self.mode - self.low))
            falling = 1 - (self.high - v) ** 2 / (width * (self.high - self.mode))
        return np.asarray(np.where(v <= self.mode, np.nan_to_num(rising), falling), np.float64)

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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the CDF of the rescaled beta."""
        return _scaled_beta_cdf(*self._shapes(), self.low, self.high - self.low, x)

    def expected_value(self) -> float:
        """Return ``(low + 4 mode + high) / 6``."""
        return (self.low + 4 * self.mode + self.high) / 6
