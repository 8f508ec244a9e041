"""Compiling ``record``: the trajectories a branch samples at regular times."""

from __future__ import annotations

import math

from sim.format.outcomes import Record
from sim.format.validation import suggest
from sim.model.compiled import CExpr, CRecord
from sim.model.compiler import Core, NodePath

__all__ = ["MAX_SAMPLE_TIMES", "RecordSection", "sample_times"]

# Sample times per branch at most: each costs a row per recorded name and branch on disk.
MAX_SAMPLE_TIMES = 10_000
# As for every regular time of the engine: a time within this fraction of `every` past the
# horizon is the horizon (0.1 * 30 is 3.0000000000000004 in floating point).
_SLACK = 1e-9


def sample_times(every: float, horizon: float) -> tuple[float, ...]:
    """The sample times ``0, every, 2 * every, ...`` up to the horizon, each ``k * every``."""
    count = math.floor(horizon / every * (1 + _SLACK)) + 1
    times = []
    for k in range(count):
        at = k * every
        if at > horizon:
            if at - horizon > _SLACK * every:
                break
            at = horizon
        times.append(at)
    return tuple(times)


class RecordSection(Core):
    """Compiling the ``record`` section."""

    def record(self) -> CRecord | None:
        """Compile ``record``: each variable and expression, and the sample times."""
        spec = self.s.record
        if spec is None:
            return None
        base: NodePath = ("record",)
        self.require_1_1(base, "`record`", at_key=True)
        names: list[str] = []
        exprs: list[CExpr] = []
        known = [*self.parameter_types, *self.s.state]
        for j, name in enumerate(spec.variables):
            path: NodePath = (*base, "variables", j)
            if name in names:
                self.report(path, f"{name!r} is recorded twice")
            elif name not in known:
                hint = suggest(name, known)
                self.report(path, f"unknown state variable or parameter {name!r}{hint}")
            else:
                names.append(name)
                exprs.append(self.expr(name, path, None))
        for name, source in spec.expressions.items():
            path = (*base, "expressions", name)
            if name in spec.variables:
                self.report_key(path, f"{name!r} is also a recorded variable")
                continue
            names.append(name)
            exprs.append(self.expr(source, path, None))
        return CRecord(spec.every, self._times(spec, base), tuple(names), tuple(exprs))

    def _times(self, spec: Record, base: NodePath) -> tuple[float, ...]:
        """The sample times, refusing more than :data:`MAX_SAMPLE_TIMES` of them."""
        horizon = self.horizon or 0.0
        count = math.floor(horizon / spec.every * (1 + _SLACK)) + 1
        if count > MAX_SAMPLE_TIMES:
            self.report(
                (*base, "every"),
                f"every {spec.every:g} gives {count:,} sample times up to the horizon "
                f"{horizon:g}; at most {MAX_SAMPLE_TIMES:,}",
            )
            return ()
        return sample_times(spec.every, horizon)
