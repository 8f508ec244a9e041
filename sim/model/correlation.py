"""Compiling ``correlations`` (format 1.1): rank correlations imposed by a Gaussian copula.

Each correlation names two uncertain parameters and a Spearman rank correlation. The
correlated parameters fall into groups (connected by correlations); for each group the
compiler turns the Spearman matrix into the Pearson matrix of a Gaussian copula
(``2 sin(pi rho / 6)``, exact for continuous marginals) and factors it (Cholesky). A branch
then draws one standard normal per member from the member's own stream, mixes them with the
factor, and maps each through the normal CDF and the member's inverse CDF, so every member
keeps its distribution exactly and a branch needs no other branch (unlike Iman-Conover,
which rearranges a whole sample).

A matrix that is not positive definite is an error naming the correlations that cannot hold
together. A correlation with a parameter that a variant or ``--set`` fixes is dropped with a
note; one with a parameter the copula cannot serve (discrete, pooled, or whose distribution
reads other parameters) is an error.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from sim.format.validation import suggest
from sim.model.compiled import CCorrelation, CParameter
from sim.model.compiler import Core
from sim.model.overrides import Spec

__all__ = ["CorrelationSection", "cholesky", "pearson_of_spearman"]

_DISCRETE = {"poisson", "bernoulli", "choice"}
_SEARCH_LIMIT = 5000  # subsets tried when looking for the correlations that conflict
_TINY = math.ulp(0.0)
_BELOW_ONE = math.nextafter(1.0, 0.0)


def pearson_of_spearman(rho: float) -> float:
    """The correlation of a Gaussian copula whose Spearman rank correlation is ``rho``."""
    return 2.0 * math.sin(math.pi * rho / 6.0)


def cholesky(matrix: Sequence[Sequence[float]]) -> list[list[float]] | None:
    """The lower Cholesky factor of a symmetric matrix, or None if not positive definite.

    In plain Python, so that every worker computes the same bits whatever its LAPACK.
    """
    n = len(matrix)
    factor = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            total = matrix[i][j] - math.fsum(factor[i][k] * factor[j][k] for k in range(j))
            if i == j:
                if total <= 1e-10:
                    return None
                factor[i][i] = math.sqrt(total)
            else:
                factor[i][j] = total / factor[j][j]
    return factor


def _positive_definite(matrix: np.ndarray) -> bool:
    return cholesky(matrix.tolist()) is not None


class CorrelationSection(Core):
    """Compiling ``correlations`` into copula groups; notes of correlations dropped."""

    def correlations(
        self, parameters: tuple[CParameter, ...], specs: Mapping[str, Spec], *, notes: bool
    ) -> tuple[tuple[CParameter, ...], tuple[CCorrelation, ...]]:
        """Return the parameters (members marked) and the copula groups of the correlations.

        With ``notes``, each correlation dropped because a variant or ``--set`` fixes one of
        its parameters is noted in :attr:`notes`.
        """
        if self.s.correlations:
            self.require_1_1(("correlations",), "`correlations`", at_key=True)
        index = {p.name: i for i, p in enumerate(parameters)}
        kept: list[tuple[int, int, float, int]] = []
        seen: dict[frozenset[str], int] = {}
        for k, correlation in enumerate(self.s.correlations):
            pair = self.pair(k, correlation.between, index, parameters, specs, notes=notes)
            if pair is None:
                continue
            key = frozenset(correlation.between)
            if key in seen:
                a, b = correlation.between
                self.report(
                    ("correlations", k),
                    f"the correlation between {a} and {b} is given twice "
                    f"(also at {self.doc.where(('correlations', seen[key]))})",
                )
                continue
            seen[key] = k
            kept.append((*pair, correlation.spearman, k))
        groups: list[CCorrelation] = []
        members = list(parameters)
        for group in _connected(kept):
            compiled = self.group(group, kept, parameters, len(groups))
            if compiled is None:
                continue
            for i in compiled.members:
                members[i] = replace(members[i], sampler=None, copula=len(groups))
            groups.append(compiled)
        return tuple(members), tuple(groups)

    def pair(
        self,
        k: int,
        between: Sequence[str],
        index: Mapping[str, int],
        parameters: tuple[CParameter, ...],
        specs: Mapping[str, Spec],
        *,
        notes: bool,
    ) -> tuple[int, int] | None:
        """The indices of the two parameters of correlation ``k``, or None (reported)."""
        found = []
        for j, name in enumerate(between):
            if name not in index:
                hint = suggest(name, list(index))
                self.report(("correlations", k, "between", j), f"unknown parameter {name!r}{hint}")
            else:
                found.append(index[name])
        if len(found) < 2:
            return None
        for j, i in enumerate(found):
            p = parameters[i]
            spec = specs[p.name]
            if p.uncertain:
                reason = _unsuitable(spec.dist)
                if reason is not None:
                    where = spec.path if _changed(spec) else ("correlations", k, "between", j)
                    who = repr(p.name) + (" (as --set gives it)" if spec.path is None else "")
                    self.report(where or ("correlations", k), f"{who} {reason}")
                    return None
                continue
            if not _changed(spec):
                self.report(
                    ("correlations", k, "between", j),
                    f"parameter {p.name!r} is fixed; only uncertain parameters are correlated",
                )
            elif notes:
                by = "--set" if spec.path is None else f"variant {spec.path[1]}"
                self.notes.append(
                    f"the correlation between {between[0]} and {between[1]} is dropped: "
                    f"{by} fixes {p.name}"
                )
            return None
        return found[0], found[1]

    def group(
        self,
        group: Sequence[int],
        kept: Sequence[tuple[int, int, float, int]],
        parameters: tuple[CParameter, ...],
        number: int,
    ) -> CCorrelation | None:
        """Compile one group of correlated parameters, or report why its matrix fails."""
        position = {i: n for n, i in enumerate(group)}
        pearson = np.eye(len(group))
        given = [c for c in kept if c[0] in position]
        for a, b, rho, _ in given:
            r = pearson_of_spearman(rho)
            pearson[position[a], position[b]] = pearson[position[b], position[a]] = r
        factor = cholesky(pearson.tolist())
        if factor is None:
            self.conflict(group, given, pearson, parameters)
            return None
        rows = tuple(tuple(factor[n][: n + 1]) for n in range(len(group)))
        return CCorrelation(
            number,
            tuple(group),
            tuple(parameters[i].name for i in group),
            rows,
            tuple(_inverse_cdf(parameters[i].dist) for i in group),
            tuple((parameters[a].name, parameters[b].name, rho) for a, b, rho, _ in given),
        )

    def conflict(
        self,
        group: Sequence[int],
        given: Sequence[tuple[int, int, float, int]],
        pearson: np.ndarray,
        parameters: tuple[CParameter, ...],
    ) -> None:
        """Report the smallest set of correlations found that cannot hold together."""
        subset = set(_smallest_failing(pearson))
        inside = [c for c in given if {group.index(c[0]), group.index(c[1])} <= subset]
        listed = ", ".join(
            f"{parameters[a].name} and {parameters[b].name} ({rho:g})" for a, b, rho, _ in inside
        )
        first = min(k for *_, k in inside)
        self.report(
            ("correlations", first),
            f"these correlations cannot hold together (their matrix is not positive "
            f"definite): {listed}; weaken one of them",
        )


def _changed(spec: Spec) -> bool:
    """Whether a variant or ``--set`` gave the parameter this distribution or value."""
    return spec.path is None or spec.path[0] == "variants"


def _unsuitable(dist: object) -> str | None:
    """Why a Gaussian copula cannot correlate a parameter drawn from ``dist``, or None."""
    kind = getattr(dist, "kind", None)
    if kind in _DISCRETE:
        return (
            f"is a {kind}, which is discrete: ties would weaken the rank correlation below "
            "what is asked; correlate continuous parameters only"
        )
    if kind == "pool":
        return "is a pool of experts; correlate the parameters its experts read instead"
    if getattr(dist, "expressions", None):
        return "has a distribution that reads other parameters; correlate those instead"
    return None


def _connected(pairs: Sequence[tuple[int, int, float, int]]) -> list[list[int]]:
    """The groups of parameters connected by ``pairs``, each sorted, by first member."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            i = parent[i]
        return i

    for a, b, _, _ in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in sorted(parent):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def _smallest_failing(pearson: np.ndarray) -> Sequence[int]:
    """The positions of a smallest principal submatrix that is not positive definite."""
    n = len(pearson)
    tried = 0
    for size in range(3, n):
        for subset in itertools.combinations(range(n), size):
            tried += 1
            if tried > _SEARCH_LIMIT:
                return range(n)
            if not _positive_definite(pearson[np.ix_(subset, subset)]):
                return subset
    return range(n)


def _inverse_cdf(dist: object) -> Callable[[float], float]:
    """The inverse CDF of ``dist`` at one probability, kept off 0 and 1."""
    quantile: Callable[[float], float] = dist.quantile_function()  # type: ignore[attr-defined]

    def inverse(u: float) -> float:
        return quantile(min(max(u, _TINY), _BELOW_ONE))

    return inverse
