"""The batch engine's set-up of a lane: its parameters drawn, and the arrays of its row.

Every parameter is draw 0 of its own counter-based stream read through its inverse CDF, as
in the SimPy engine; a correlated group mixes its members' normal scores (the Gaussian
copula); a pool picks an expert from a stream of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sim.engine.batch.plan import parameter_values
from sim.engine.batch.streams import uniforms
from sim.engine.common import SERIES
from sim.format.pool import expert_column

if TYPE_CHECKING:
    from sim.engine.batch.core import Batch

__all__ = ["correlated_uniforms", "draw_parameters", "output_arrays", "pooled_values"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def draw_parameters(batch: Batch, lanes: Ints) -> None:
    """Draw every parameter of ``lanes``: draw 0 of its own stream through its inverse CDF.

    A correlated group mixes its members' normal scores (the Gaussian copula); a pool
    picks an expert with draw 0 of the stream ``(NAME, "expert")`` and reads the
    expert's inverse CDF at the parameter's own draw.
    """
    model, plan = batch.model, batch.plan
    branch, rows = batch.branch[lanes], batch.row[lanes]
    k = len(lanes)
    zero = np.zeros(k, dtype=np.int64)
    streams = np.array(plan.parameter_streams, dtype=np.uint64)
    # the first draw of every parameter's stream, in one call of the generator
    u = list(
        uniforms(
            batch.seed, np.tile(branch, len(streams)), np.repeat(streams, k),
            np.zeros(k * len(streams), dtype=np.int64),
        ).reshape(len(streams), k)
    )  # fmt: skip
    for group in model.correlations:
        mixed = correlated_uniforms(group.factor, [u[i] for i in group.members])
        for i, w in zip(group.members, mixed, strict=True):
            u[i] = w
    experts: dict[str, Any] = {}
    index = {id(p): i for i, p in enumerate(model.parameters)}
    # a parameter of others' values comes after them (the model's draw order)
    # (a pool reads others when its experts' distributions do)
    ordered = [p for p in model.parameters if p.draw is None and not p.reads]
    ordered += [p for p in model.parameters_in_draw_order() if p.draw is not None or p.reads]
    for p in ordered:
        i = index[id(p)]
        if p.draw is not None and p.slot not in batch.fixed:
            values = batch.dynamic(plan.dynamic(p.dist, p.path), lanes, u[i])
            if p.type == "bool":
                values = values != 0.0
        elif p.experts:
            pick = uniforms(batch.seed, branch, plan.expert_streams[i], zero)
            chosen, values = pooled_values(p, pick, u[i], _expert_values(batch, p, lanes))
            experts[p.name] = chosen
            if (column := expert_column(p.name)) in batch.out:
                batch.out[column][rows] = chosen
        elif p.slot in batch.fixed:
            values = batch.fixed[p.slot][rows]
        else:
            values = parameter_values(p.dist, p.value, u[i], p.type)
        batch.cols[p.slot][lanes] = values
        batch.out[p.name][rows] = values
    batch.experts = experts  # those of the lanes drawn last: a traced branch's
    if batch.trace is not None:
        for p in model.parameters:
            expert = experts[p.name][0] if p.name in experts else None
            what = "drawn" if expert is None else f"drawn (expert {expert})"
            batch.note("parameters", what, ((p.name, None, batch.cols[p.slot][0].item()),))

def _expert_values(
    batch: Batch, p: Any, lanes: Ints
) -> Callable[[int, Bools, Floats], Floats]:
    """Values of a pool's expert whose distribution reads other parameters, for the
    lanes (a mask of ``lanes``) that picked it, from their uniforms; an error in one is
    located at the pool, as in the SimPy engine."""

    def values(k: int, picked: Bools, u: Floats) -> Floats:
        spec = batch.plan.dynamic(p.dist.experts[k].dist, p.path)
        return batch.dynamic(spec, lanes[picked], u)

    return values


def output_arrays(model: Any, seed: int, branches: Ints) -> dict[str, npt.NDArray[Any]]:
    n = len(branches)
    out: dict[str, npt.NDArray[Any]] = {
        "branch": branches.copy(),
        "seed": np.full(n, seed, dtype=np.int64),
        "t_end": np.zeros(n),
    }
    if model.record is not None:
        shape = (n, len(model.record.exprs), len(model.record.times))
        out[SERIES] = np.full(shape, np.nan)
    for column in model.columns:
        if column.role == "id":  # branch, seed and t_end, set above
            continue
        if column.role == "expert" or column.dtype == "string":
            out[column.name] = np.full(n, None, dtype=object)
        elif column.dtype == "int64":
            out[column.name] = np.zeros(n, dtype=np.int64)
        else:
            dtype = np.bool_ if column.dtype == "bool" else np.float64
            out[column.name] = np.zeros(n, dtype=dtype)
    return out


def correlated_uniforms(factor: Sequence[Sequence[float]], u: Sequence[Any]) -> list[Floats]:
    """The Gaussian copula of a correlated group: uniforms mixed through normal scores.

    ``u`` holds each member's own uniform; its normal score is mixed by the lower
    triangular ``factor`` (as the SimPy engine mixes its standard normals) and mapped back
    to a uniform, which the member's inverse CDF then reads.
    """
    from scipy import special

    z = [np.asarray(special.ndtri(x), dtype=np.float64) for x in u]
    mixed = []
    for row in factor:
        total = np.zeros_like(z[0])
        for weight, score in zip(row, z, strict=False):
            total = total + weight * score
        mixed.append(np.asarray(special.ndtr(total), dtype=np.float64))
    return mixed


def pooled_values(
    p: Any,
    pick: Floats,
    u: Floats,
    dynamic: Callable[[int, Bools, Floats], Floats] | None = None,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """A pooled parameter's experts (by name) and values, from the pick and value uniforms.

    ``dynamic(k, lanes, u)`` draws for expert ``k`` whose distribution reads other
    parameters (its fields are expressions), for the lanes (a mask) that picked it.
    """
    cumulative = np.asarray(p.cumulative, dtype=np.float64)
    k = np.minimum(np.searchsorted(cumulative, pick * cumulative[-1], side="right"),
                   len(cumulative) - 1)  # fmt: skip
    values: npt.NDArray[Any] = np.zeros(len(u), dtype=np.bool_ if p.type == "bool" else np.float64)
    for index, (expert, spec) in enumerate(zip(p.experts, p.dist.experts, strict=True)):
        lanes = k == index
        if not lanes.any():
            continue
        if expert.draw is not None:
            assert dynamic is not None
            drawn = dynamic(index, lanes, u[lanes])
            values[lanes] = drawn != 0.0 if p.type == "bool" else drawn
        else:
            values[lanes] = parameter_values(spec.dist, expert.value, u[lanes], p.type)
    names = np.array([e.name for e in p.experts], dtype=object)[k]
    return names, values
