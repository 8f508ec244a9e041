"""The normal family: ``normal`` (optionally truncated) and ``lognormal``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    Field,
)

from sim.format.distributions.base import (
    BELOW_ONE,
    TINY,
    FloatArray,
    Param,
    QuantileForm,
    Sampler,
    fmt,
    numbers,
    require_ordered,
    require_positive,
    require_positive_points,
)
from sim.format.distributions.quantiles import (
    Points,
    line_through,
    standard_normal_points,
)
from sim.format.field_error import FieldError


class Normal(QuantileForm):
    """Normal with mean and sd, optionally truncated to [low, high] (one or both).

    Or give two quantiles instead of mean and sd, such as ``{kind: normal, p5: -1, p95: 1}``
    (untruncated only).
    """

    _placeholder: ClassVar[dict[str, float]] = {"mean": 0.0, "sd": 1.0}
    kind: Literal["normal"] = Field("normal", description="The kind of distribution: normal.")
    mean: Param = Field(description="Mean (of the untruncated normal).")
    sd: Param = Field(description="Standard deviation (of the untruncated normal); > 0.")
    low: Param | None = Field(None, description="Optional lower truncation point.")
    high: Param | None = Field(None, description="Optional upper truncation point; > low.")

    def _check(self) -> None:
        require_positive("sd", self.sd)
        if self.low is not None and self.high is not None:
            require_ordered(self.low, self.high)
        if self._truncated and numbers(self.mean, self.sd, self.low, self.high):
            lo, hi, _ = self._tail_interval()
            if not lo < hi:
                raise ValueError(
                    f"normal(mean={fmt(self.mean)}, sd={fmt(self.sd)}) has no probability "
                    f"in [{fmt(self._low)}, {fmt(self._high)}] at double precision"
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
        from scipy import special

        alpha, beta = self._standard_bounds()
        sign = 1.0
        if alpha > 0:
            alpha, beta, sign = -beta, -alpha, -1.0
        return float(special.ndtr(alpha)), float(special.ndtr(beta)), sign

    @classmethod
    def _check_points(cls, rest: Mapping[str, Any], points: Sequence[tuple[int, Any]]) -> None:
        if "low" in rest or "high" in rest:
            raise FieldError(
                "low" if "low" in rest else "high",
                "the quantile form describes an untruncated normal; "
                "give mean and sd to truncate with low/high",
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
        from scipy import special

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
            u = min(max(u_low + u_width * rng.random(), TINY), BELOW_ONE)
            x = mean + scale * float(ndtri(u))
            return min(max(x, low), high)  # rounding must not leave the bounds

        return draw_truncated

    def quantile_function(self) -> Callable[[float], float]:
        """Return the inverse CDF at one probability; truncation as the sampler does it."""
        from scipy import special

        if not self._truncated:
            return super().quantile_function()
        u_low, u_high, sign = self._tail_interval()
        u_width = u_high - u_low
        mean, scale, low, high = self.mean, sign * self.sd, self._low, self._high
        ndtri = special.ndtri

        def quantile(u: float) -> float:
            if sign < 0:
                u = 1.0 - u  # the interval is mirrored below the mean
            q = min(max(u_low + u_width * u, TINY), BELOW_ONE)
            return min(max(mean + scale * float(ndtri(q)), low), high)

        return quantile

    def support(self) -> tuple[float, float]:
        """Return the truncation interval (the real line when untruncated)."""
        return self._low, self._high

    def _frozen(self) -> Any:
        from scipy import stats

        alpha, beta = self._standard_bounds()
        return stats.truncnorm(alpha, beta, loc=self.mean, scale=self.sd)

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the inverse CDF (of the truncated normal when truncated)."""
        from scipy import special

        q = np.asarray(q, dtype=float)
        if not self._truncated:
            return np.asarray(self.mean + self.sd * special.ndtri(q), dtype=float)
        return np.asarray(self._frozen().ppf(q), dtype=float)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the CDF (of the truncated normal when truncated)."""
        from scipy import special

        v: FloatArray = np.asarray(x, dtype=np.float64)
        if not self._truncated:
            return np.asarray(special.ndtr((v - self.mean) / self.sd), dtype=np.float64)
        return np.asarray(self._frozen().cdf(v), dtype=np.float64)

    def expected_value(self) -> float:
        """Return the mean (of the truncated normal when truncated)."""
        return float(self._frozen().mean()) if self._truncated else self.mean


class LogNormal(QuantileForm):
    """Lognormal: its logarithm is normal with mean mu and standard deviation sigma.

    Or give two quantiles instead, such as ``{kind: lognormal, p5: 1, p95: 10}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"mu": 0.0, "sigma": 1.0}
    kind: Literal["lognormal"] = Field(
        "lognormal", description="The kind of distribution: lognormal."
    )
    mu: Param = Field(description="Mean of the logarithm (log of the median).")
    sigma: Param = Field(description="Standard deviation of the logarithm; > 0.")

    def _check(self) -> None:
        require_positive("sigma", self.sigma)

    def _solve(self, points: Points) -> dict[str, float]:
        require_positive_points(self.kind, points)
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
        from scipy import special

        return np.exp(self.mu + self.sigma * np.asarray(special.ndtri(q), dtype=float))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return ``Phi((log x - mu) / sigma)``, 0 for x <= 0."""
        from scipy import special

        v: FloatArray = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(v, 0.0)) - self.mu) / self.sigma
        return np.asarray(np.where(v > 0, special.ndtr(z), 0.0), dtype=np.float64)

    def expected_value(self) -> float:
        """Return ``exp(mu + sigma**2 / 2)``."""
        return math.exp(self.mu + self.sigma**2 / 2)
