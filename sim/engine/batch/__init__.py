"""The batch engine: all branches of a chunk advanced together with numpy.

Same compiled model, same semantics and same columns as the SimPy engine
(:mod:`sim.engine`), which stays the reference; the random numbers come from a
counter-based generator (:mod:`sim.batch.streams`), so rows differ from the SimPy
engine's but not in distribution, and they do not depend on the chunk a branch runs in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from sim.engine.batch.core import Batch
from sim.engine.batch.plan import plan_for
from sim.engine.batch.support import UnsupportedError, check_supported
from sim.engine.common import BranchResult, TraceRecord
from sim.model.compiled import CompiledModel

__all__ = ["UnsupportedError", "check_supported", "run_branch", "run_branches", "run_points"]


def run_branches(
    model: CompiledModel, seed: int, start: int, stop: int, *, window: int | None = None
) -> dict[str, np.ndarray]:
    """Run branches ``start .. stop-1`` and return one array per column of ``model.columns``.

    ``window`` is the most branches advanced at once (default :data:`core.WINDOW`); it
    changes the speed and the memory, never the rows.
    """
    batch = Batch(plan_for(model), seed, np.arange(start, stop, dtype=np.int64), window=window)
    batch.run()
    return batch.out


def run_points(
    model: CompiledModel,
    seed: int,
    start: int,
    stop: int,
    values: Mapping[str, Sequence[Any]],
    *,
    window: int | None = None,
) -> dict[str, np.ndarray]:
    """Run branches ``start .. stop-1`` once per point, all in one batch; rows point by point.

    Point ``i`` sets each parameter named in ``values`` to ``values[name][i]``: those
    parameters must be fixed in ``model`` (as ``--set`` fixes them), which then stands for
    every point. Each point's rows are those ``run_branches`` gives the model with the
    point's values (the same random numbers: common random numbers across the points),
    whatever the points beside it.
    """
    points = {len(v) for v in values.values()}
    if len(points) != 1:
        raise ValueError("run_points needs the same number of values for every parameter")
    (count,) = points
    by_name = {p.name: p for p in model.parameters}
    fixed: dict[int, np.ndarray] = {}
    for name, given in values.items():
        p = by_name[name]
        if p.value is None:
            raise ValueError(f"run_points: parameter {name!r} is not fixed in the model")
        kind = np.bool_ if p.type == "bool" else np.float64
        fixed[p.slot] = np.repeat(np.asarray(given, dtype=kind), stop - start)
    branches = np.tile(np.arange(start, stop, dtype=np.int64), count)
    batch = Batch(plan_for(model), seed, branches, window=window, fixed=fixed)
    batch.run()
    return batch.out


def run_branch(
    model: CompiledModel,
    seed: int,
    branch: int,
    trace: Callable[[TraceRecord], None] | None = None,
) -> BranchResult:
    """Run one branch alone (as in a chunk); with ``trace``, report its timeline."""
    batch = Batch(plan_for(model), seed, np.array([branch], dtype=np.int64), trace)
    batch.run()
    return batch.result()
