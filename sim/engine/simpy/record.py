"""Trajectories of a SimPy branch: the recorded values at the sample times, filled lazily.

State changes only through :meth:`Branch.apply`, so between two changes every recorded
value is fixed but for its dependence on ``t``. The branch therefore fills a sample time
when the first change *after* it comes (or when the branch ends), evaluating each recorded
expression on the state as it then stands with ``t`` set to the sample time: exact, and
without a timer per sample. A sample at the very time of a change sees the state after
every change at that time. Sample times after an early stop (``stop_when``) carry the
values of the branch's end.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.model.compiled import CRecord

if TYPE_CHECKING:
    from sim.engine.simpy.branch import Branch

__all__ = ["Recorder"]


class Recorder:
    """The samples of one branch, ``(variables, times)``, filled as time passes."""

    __slots__ = ("branch", "k", "next_at", "record", "samples")

    def __init__(self, branch: Branch, record: CRecord) -> None:
        self.branch = branch
        self.record = record
        self.samples = np.full((len(record.exprs), len(record.times)), math.nan)
        self.k = 0
        self.next_at = record.times[0] if record.times else math.inf

    def until(self, now: float, *, inclusive: bool = False) -> None:
        """Fill the sample times before ``now`` (and at it, when ``inclusive``)."""
        times, k = self.record.times, self.k
        v, branch = self.branch.v, self.branch
        saved = v[0]
        while k < len(times) and (times[k] < now or (inclusive and times[k] == now)):
            v[0] = times[k]
            for j, expr in enumerate(self.record.exprs):
                branch.ctx = expr.path
                self.samples[j, k] = float(expr.fn(v))
            k += 1
        v[0] = saved
        self.k = k
        self.next_at = times[k] if k < len(times) else math.inf

    def finish(self, t_end: float) -> np.ndarray:
        """Fill the rest at the end of the branch: up to ``t_end``, then its values carried."""
        self.until(t_end, inclusive=True)
        if self.k < len(self.record.times):
            branch = self.branch
            branch.v[0] = t_end
            for j, expr in enumerate(self.record.exprs):
                branch.ctx = expr.path
                self.samples[j, self.k :] = float(expr.fn(branch.v))
        return self.samples
