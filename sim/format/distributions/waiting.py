"""Waiting times and other positive quantities: ``exponential`` and ``gamma``."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    Field,
)

from sim.format.distributions.base import (
    FloatArray,
    Param,
    QuantileForm,
    Sampler,
    no_fit,
    require_positive,
    require_positive_points,
)
from sim.format.distributions.quantiles import (
    Points,
    fit_gamma_shape,
    two_points,
)


class Exponential(QuantileForm):
    """Exponential with the given mean (1 / rate).

    Or give one quantile instead, such as ``{kind: exponential, p50: 3}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"mean": 1.0}
    _n_quantiles: ClassVar[int] = 1
    kind: Literal["exponential"] = Field(
        "exponential", description="The kind of distribution: exponential."
    )
    mean: Param = Field(description="Mean, the inverse of the rate; > 0.")

    def _check(self) -> None:
        require_positive("mean", self.mean)

    def _solve(self, points: Points) -> dict[str, float]:
        require_positive_points(self.kind, points)
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

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return ``1 - exp(-x / mean)``, 0 for x < 0."""
        v: FloatArray = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        return np.asarray(-np.expm1(-v / self.mean), dtype=np.float64)

    def expected_value(self) -> float:
        """Return the mean."""
        return self.mean


class Gamma(QuantileForm):
    """Gamma with shape and scale; its mean is shape * scale.

    Or give two quantiles instead, such as ``{kind: gamma, p10: 1, p80: 5}``.
    """

    _placeholder: ClassVar[dict[str, float]] = {"shape": 1.0, "scale": 1.0}
    _not_at_draw: ClassVar[str] = (
        "solving them needs a numerical fit at every draw; give shape and scale, which may "
        "be expressions"
    )
    kind: Literal["gamma"] = Field("gamma", description="The kind of distribution: gamma.")
    shape: Param = Field(description="Shape parameter (k); > 0.")
    scale: Param = Field(description="Scale parameter (theta, 1 / rate); > 0.")

    def _check(self) -> None:
        require_positive("shape", self.shape)
        require_positive("scale", self.scale)

    def _solve(self, points: Points) -> dict[str, float]:
        from scipy import special

        require_positive_points(self.kind, points)
        p1, x1, p2, x2 = two_points(points)
        shape = fit_gamma_shape(p1, x1, p2, x2)
        if shape is None:
            raise no_fit(self.kind, points, "the quantiles are too far apart or too close")
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
        from scipy import special

        return self.scale * np.asarray(special.gammaincinv(self.shape, q), dtype=float)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the regularised lower incomplete gamma at ``x / scale``."""
        from scipy import special

        v: FloatArray = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        return np.asarray(special.gammainc(self.shape, v / self.scale), dtype=np.float64)

    def expected_value(self) -> float:
        """Return ``shape * scale``."""
        return self.shape * self.scale
