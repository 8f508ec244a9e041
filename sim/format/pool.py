"""Pooled expert judgements (format 1.1): ``{kind: pool, experts: [...]}``, a linear opinion pool.

A parameter's distribution may be a pool of experts' distributions, each with a weight and
its own provenance. A branch first picks one expert with probability proportional to the
weights, then draws from that expert's distribution; the branch table records the pick in
the column ``PARAM__expert``, so that every outcome can be split by expert and the experts'
disagreement stays visible. The pool's CDF is the weighted mean of the experts' CDFs; its
inverse (for designs) is found by bisection between the experts' own quantiles.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.format.citation import Citations, provenance_problem
from sim.format.distributions.base import FloatArray
from sim.format.distributions.bounded import Beta, Pert, Triangular, Uniform
from sim.format.distributions.discrete import Bernoulli, Choice, Fixed, Poisson
from sim.format.distributions.kinds import Distribution
from sim.format.distributions.normal import LogNormal, Normal
from sim.format.distributions.waiting import Exponential, Gamma
from sim.format.fields import Name, Number

__all__ = ["EXPERT_SUFFIX", "Expert", "ParameterDistribution", "Pool", "expert_column"]

EXPERT_SUFFIX = "__expert"
_BISECTIONS = 80


def expert_column(parameter: str) -> str:
    """The name of the column recording which expert a pooled parameter drew from."""
    return parameter + EXPERT_SUFFIX


class Expert(BaseModel):
    """One expert's judgement: a distribution, its weight in the pool, and its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Name = Field(description="Name of the expert (or school of thought), unique in the pool.")
    weight: Number = Field(description="Weight in the pool (> 0); weights need not sum to 1.")
    dist: Distribution = Field(description="The expert's distribution of the parameter.")
    doc: str | None = Field(default=None, description="Who the expert is, what the view rests on.")
    source: Citations | None = Field(default=None, description="Citation(s) of the view.")
    assumption: str | None = Field(default=None, description="One line of rationale.")

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if not self.weight > 0:
            raise ValueError(f"weight must be > 0, got {self.weight:g}")
        problem = provenance_problem(self.source, self.assumption)
        if problem is not None:
            raise ValueError(problem)
        return self


class Pool(BaseModel):
    """A linear opinion pool: pick an expert by weight, then draw from the expert's view."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["pool"] = Field("pool", description="The kind of distribution: a pool.")
    experts: list[Expert] = Field(min_length=1, description="The experts, each with a weight.")

    @model_validator(mode="after")
    def _checked(self) -> Self:
        seen: set[str] = set()
        for expert in self.experts:
            if expert.name in seen:
                raise ValueError(f"expert {expert.name!r} is named twice")
            seen.add(expert.name)
        types = {expert.dist.value_type() for expert in self.experts}
        if len(types) > 1:
            raise ValueError("the experts' distributions mix numbers and true/false")
        return self

    @property
    def weights(self) -> FloatArray:
        """The experts' weights, normalised to sum to 1."""
        w: FloatArray = np.array([expert.weight for expert in self.experts], dtype=np.float64)
        return np.asarray(w / w.sum(), dtype=np.float64)

    @property
    def expressions(self) -> dict[str, str]:
        """Fields that are expressions, by the path under ``experts`` (``0.dist.mean``)."""
        return {
            f"{k}.dist.{name}": text
            for k, expert in enumerate(self.experts)
            for name, text in expert.dist.expressions.items()
        }

    @property
    def quantiles(self) -> dict[int, float]:
        """A pool is never given by quantiles."""
        return {}

    def value_type(self) -> Literal["number", "bool"]:
        """The type of the experts' draws."""
        return self.experts[0].dist.value_type()

    def support(self) -> tuple[float, float]:
        """Return the smallest interval holding every expert's support."""
        lows, highs = [], []
        for expert in self.experts:
            low, high = expert.dist.support()
            lows.append(low if isinstance(low, int | float) else -math.inf)
            highs.append(high if isinstance(high, int | float) else math.inf)
        return min(lows), max(highs)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the weighted mean of the experts' CDFs."""
        v = np.asarray(x, dtype=np.float64)
        total = np.zeros(v.shape)
        for weight, expert in zip(self.weights, self.experts, strict=True):
            total += weight * expert.dist.cdf(v)
        return total

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Return the smallest x whose pooled CDF reaches ``q``, by bisection.

        It lies between the smallest and the largest of the experts' quantiles at ``q``.
        """
        level = np.asarray(q, dtype=np.float64)
        ends = np.array([expert.dist.ppf(level) for expert in self.experts])
        low, high = ends.min(axis=0), ends.max(axis=0)
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            above = self.cdf(middle) >= level
            high = np.where(above, middle, high)
            low = np.where(above, low, middle)
        return np.asarray(high, dtype=np.float64)

    def quantile_function(self) -> object:
        """A pool cannot be correlated; this exists for the shared interface only."""
        raise NotImplementedError("a pool has no fast quantile function")

    def expected_value(self) -> float:
        """Return the weighted mean of the experts' means."""
        pairs = zip(self.weights, self.experts, strict=True)
        return float(sum(w * e.dist.expected_value() for w, e in pairs))

    def describe(self) -> str:
        """Return ``pool(hawk 0.6: beta(...), dove 0.4: ...)``."""
        parts = [
            f"{e.name} {w:.3g}: {e.dist.describe()}"
            for w, e in zip(self.weights, self.experts, strict=True)
        ]
        return f"pool({', '.join(parts)})"


ParameterDistribution = Annotated[
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
    | Choice
    | Pool,
    Field(discriminator="kind"),
]
"""A parameter's distribution: any distribution kind, or a pool of experts' (format 1.1)."""
