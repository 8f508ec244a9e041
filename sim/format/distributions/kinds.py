"""The union of all distribution kinds, discriminated on ``kind``, and helpers over any kind."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import (
    Field,
)

from sim.format.distributions.base import FloatArray, Sampler
from sim.format.distributions.bounded import Beta, Pert, Triangular, Uniform
from sim.format.distributions.discrete import Bernoulli, Choice, Fixed, Poisson
from sim.format.distributions.normal import LogNormal, Normal
from sim.format.distributions.quantiles import (
    QUANTILE_PATTERN,
)
from sim.format.distributions.waiting import Exponential, Gamma

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
    if dist.expressions:  # bounds that are expressions are known only when drawn
        low = low if isinstance(low, int | float) else -math.inf
        high = high if isinstance(high, int | float) else math.inf
    if low <= x <= high:
        return None
    return f"outside the support [{low:g}, {high:g}] of {dist.describe()}"


def draw_many(dist: Distribution, rng: np.random.Generator, n: int) -> FloatArray:
    """Draw ``n`` values with the distribution's sampler, as floats (bools become 0/1).

    The draws are the ones ``n`` calls of ``dist.sampler()`` would make on the same generator.
    """
    draw = dist.sampler()
    return np.fromiter((draw(rng) for _ in range(n)), dtype=float, count=n)
