"""What every engine shares: random streams keyed by name, branch rows, trace records, grids.

Branch ``i`` of seed ``s`` draws from ``SeedSequence(s, spawn_key=(i, ...))`` children keyed
by name (SPEC section 3), so that variants and sweep points share random numbers wherever
their structure agrees.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import UsageError
from sim.model.compiled import CCorrelation, CompiledModel

__all__ = [
    "MAX_BRANCHES",
    "MAX_SEED",
    "ROUNDING",
    "SERIES",
    "BranchResult",
    "TraceRecord",
    "branch_generator",
    "check_branch",
    "check_branches",
    "check_seed",
    "columns_of",
    "correlated_draws",
    "draw_parameters",
    "grid_time",
    "located",
]

# A value out of its range by at most this much, relative to the size of the terms of the
# expression that gave it, is floating-point rounding: 25 steps of 0.02 make
# 0.5000000000000001, so `0.5 - tension` is -1.1e-16 where it means 0. Such a value counts
# as the bound; anything further out is a real mistake and stops the run.
ROUNDING = 1e-12

# Every branch row stores its seed and its branch number as 64-bit signed integers.
MAX_SEED = 2**63 - 1
MAX_BRANCHES = 2**63 - 1

# A grid time (first + k * every) this close past the horizon, as a fraction of `every`,
# is the horizon: 34 * 0.2 + 0.2 is 7.000000000000001 in floating point, not 7.
GRID_SLACK = 1e-9
PARAMETER_STREAM = 0
PROCESS_STREAM = 1
# The key of the recorded trajectories among the arrays an engine returns for a chunk: an
# array (branches, recorded names, sample times). No column can be called this.
SERIES = "series:values"


def branch_generator(
    seed: int, branch: int, stream: int, name: str, *parts: str
) -> np.random.Generator:
    """The random generator of one named parameter or process (or part of one) of a branch.

    Children are keyed by name, not position, so that variants and sweep points share
    random numbers wherever their structure agrees (SPEC section 3). ``parts`` name a
    child of a process's stream, such as a stage of a flow, so that changing a flow's
    arrivals leaves its stages' service and loss draws alone.
    """
    key = (branch, stream, *(zlib.crc32(n.encode()) for n in (name, *parts)))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def snap(value: float, size: float, low: float, high: float | None = None) -> float:
    """Return ``value``, or the bound it passes by no more than rounding of terms of ``size``."""
    if value < low and low - value <= ROUNDING * size:
        return low
    if high is not None and value > high and value - high <= ROUNDING * size:
        return high
    return value


def _integer(value: object) -> int | None:
    """Return ``value`` as an int if it is an integer (a bool is not), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, refusing anything but an integer in ``[0, 2**63)``.

    numpy's seed sequences take any non-negative integer, but the branch table stores the
    seed as a 64-bit integer, so a larger one could not be written (nor re-run from a row).
    """
    value = _integer(seed)
    if value is None or not 0 <= value <= MAX_SEED:
        raise UsageError(f"seed must be an integer from 0 to 2**63 - 1 ({MAX_SEED}), got {seed!r}")
    return value


def check_branches(branches: object, what: str = "branches") -> int:
    """Return a count of branches as an int, refusing one that branch numbers cannot reach."""
    value = _integer(branches)
    if value is None or value < 1:
        raise UsageError(f"{what} must be at least 1, got {branches!r}")
    if value > MAX_BRANCHES:
        raise UsageError(
            f"{what} must be from 1 to 2**63 - 1 (a branch number is a 64-bit integer in the "
            f"branch table), got {branches!r}"
        )
    return value


def check_branch(branch: object) -> int:
    """Return a branch number as an int, refusing one that no run of sim can hold."""
    value = _integer(branch)
    if value is None or not 0 <= value < MAX_BRANCHES:
        raise UsageError(
            f"branch must be an integer from 0 to 2**63 - 2 ({MAX_BRANCHES - 1}), got {branch!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One line of a branch's timeline."""

    time: float
    process: str
    what: str
    changes: tuple[tuple[str, Any, Any], ...] = ()
    where: str = ""  # FILE:LINE of a definition from an included file


@dataclass(frozen=True, slots=True)
class BranchResult:
    """What one branch produced: its end time, parameter draws, outcome values, trajectories.

    ``outcomes`` follows the model's outcome and detail columns; ``series`` is an array
    (recorded names, sample times), or ``None`` when the model records nothing.
    """

    branch: int
    t_end: float
    parameters: tuple[Any, ...]
    outcomes: tuple[Any, ...]
    series: np.ndarray | None = None
    experts: tuple[str | None, ...] = ()  # per parameter: the expert a pool drew from


def correlated_draws(group: CCorrelation, seed: int, branch: int) -> list[float]:
    """The values of a copula group's members in one branch (see :class:`CCorrelation`).

    Each member's standard normal comes from its own stream, the first of its parameter's
    stream, so that a branch needs no other branch and the rows do not depend on chunks.
    """
    e = [
        branch_generator(seed, branch, PARAMETER_STREAM, name).standard_normal()
        for name in group.names
    ]
    values = []
    for row, inverse_cdf in zip(group.factor, group.inverse_cdfs, strict=True):
        z = math.fsum(weight * x for weight, x in zip(row, e, strict=False))
        values.append(inverse_cdf(0.5 * math.erfc(-z / math.sqrt(2.0))))
    return values


def draw_parameters(
    model: CompiledModel,
    seed: int,
    branch: int,
    v: list[Any],
    at: Callable[[str], None] = lambda ctx: None,
) -> tuple[str | None, ...]:
    """Draw a branch's parameters into ``v``; return the expert each pool drew from.

    Correlated groups first, then the others in :attr:`CompiledModel.draw_order`, each from
    its own named stream; a pool picks its expert from the stream ``(NAME, "expert")`` and
    draws the value from the parameter's own, so that a branch that picks an expert draws
    what that expert's distribution alone would draw. ``at(ctx)`` is told what is being
    drawn, so that a run error can be located.
    """
    parameters = model.parameters
    for group in model.correlations:  # before any parameter that reads them
        at("correlations")
        for i, value in zip(group.members, correlated_draws(group, seed, branch), strict=True):
            v[parameters[i].slot] = value
    experts: list[str | None] = [None] * len(parameters)
    for i in model.draw_order or range(len(parameters)):
        p = parameters[i]
        if p.copula is not None:
            continue
        if p.sampler is not None:
            v[p.slot] = p.sampler(branch_generator(seed, branch, PARAMETER_STREAM, p.name))
        elif p.experts:
            at(p.path)
            pick = branch_generator(seed, branch, PARAMETER_STREAM, p.name, "expert").random()
            expert = p.experts[p.pick(pick)]
            rng = branch_generator(seed, branch, PARAMETER_STREAM, p.name)
            v[p.slot] = expert.sample(rng, v)
            experts[i] = expert.name
        elif p.draw is not None:  # a distribution of other parameters' values
            at(p.path)
            v[p.slot] = p.draw(branch_generator(seed, branch, PARAMETER_STREAM, p.name), v)
        else:
            v[p.slot] = p.value
    return tuple(experts)


def grid_time(first: float, every: float, k: int, horizon: float) -> float | None:
    """The time ``first + k * every``, or None when it is past the horizon.

    Computed from ``k`` rather than by repeated addition, so times do not drift; a time
    only a rounding error past the horizon is the horizon.
    """
    at = first + k * every
    if at <= horizon:
        return at
    if at - horizon <= GRID_SLACK * every:
        return horizon
    return None


def located(model: CompiledModel, ctx: str, error: Exception) -> str:
    """``FILE:LINE:COL: PATH: message`` for an error met while evaluating ``ctx``.

    ``ctx`` is the key of a compiled piece (:attr:`CompiledModel.locations`); the line names
    the file that writes it, a library for an included definition.
    """
    site = model.locations.get(ctx)
    if site is None:
        return f"{model.file or model.name}: {ctx}: {error}"
    file = site.file or model.file or model.name
    return f"{file}:{site.line}:{site.col}: {site.path or ctx}: {error}"


_NUMPY_TYPES: dict[str, Any] = {
    "bool": np.bool_,
    "int64": np.int64,
    "float64": np.float64,
    "string": object,
}


def columns_of(
    model: CompiledModel, seed: int, results: Sequence[BranchResult]
) -> dict[str, np.ndarray]:
    """The columns of ``model.columns`` for the branch ``results``, one array each."""
    n = len(results)
    out: dict[str, np.ndarray] = {
        "branch": np.fromiter((r.branch for r in results), dtype=np.int64, count=n),
        "seed": np.full(n, seed, dtype=np.int64),
        "t_end": np.fromiter((r.t_end for r in results), dtype=np.float64, count=n),
    }
    index = {p.name: j for j, p in enumerate(model.parameters)}
    others = [c for c in model.columns if c.role in ("outcome", "detail", "indicator")]
    for column in model.columns:
        if column.role == "parameter":
            values = [r.parameters[index[column.name]] for r in results]
            out[column.name] = np.array(values, dtype=_NUMPY_TYPES[column.dtype])
        elif column.role == "expert":
            j = index[str(column.kind)]
            experts = [r.experts[j] if r.experts else None for r in results]
            out[column.name] = np.array(experts, dtype=object)
    for j, column in enumerate(others):
        values = [r.outcomes[j] for r in results]
        out[column.name] = np.array(values, dtype=_NUMPY_TYPES[column.dtype])
    return out
