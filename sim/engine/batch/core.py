"""The batch engine's state: every branch of a chunk as a lane of numpy arrays.

Each lane keeps its own clock and, per process, the time of its next event in one column
of ``T`` (columns in SimPy's priority order: resolution steps, the processes in file
order, the end of the branch). A step moves every lane to its own next event: the
lowest time, the leftmost column among equal times, which is the SimPy engine's order.
The lanes whose next event belongs to the same process are then handled together by
that process's component, with numpy operations over the group. Only the lanes that
moved have their next event looked up again.

A chunk's branches run through a window of at most :data:`WINDOW` lanes: the lanes of
finished branches are dropped and new branches take their place (:mod:`.lanes`), so the
groups stay large until the chunk runs out. Lanes are independent and each branch draws
from its own counter-based streams, so rows do not depend on the window or the chunk.

Every state change goes through :meth:`Batch.apply`, which wakes exactly the watchers
that the SimPy engine wakes (rates, trigger and outcome conditions, ``stop_when``), in
its order. A lane whose expression fails (``log`` of a negative number...) is dropped
at once and remembered; after the chunk, the error of the lowest branch is raised,
worded and located like the SimPy engine's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sim.engine.batch.lanes import Grow, LaneOp, Reset
from sim.engine.batch.outcomes import Tracker
from sim.engine.batch.parameters import draw_parameters, output_arrays
from sim.engine.batch.plan import Plan, VDelay, VDynamic, VEffect, VExpr
from sim.engine.batch.streams import Streams
from sim.engine.common import SERIES, BranchResult, TraceRecord, located, snap
from sim.errors import RunError
from sim.model.compiled import CFlow

__all__ = ["Batch", "Component"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Trace = Callable[[TraceRecord], None]

_INF = math.inf
# A grid time this close past the horizon, as a fraction of the step, is the horizon.
_GRID_SLACK = 1e-9
# The smallest group of lanes worth a call of a process's handler (see Batch._step).
_GROUP = 128
# The most lanes a batch advances at once; a chunk's further branches wait for free lanes.
WINDOW = 32768


class Component(Protocol):
    """A process of the batch: it fires the lanes whose next event is its own."""

    def fire(self, lanes: Ints) -> None: ...

    def resize(self, op: LaneOp) -> None: ...


def grid_times(first: float, every: float, k: Ints, horizon: float) -> Floats:
    """``first + k * every``, the horizon when only a rounding error past it, else inf."""
    at = first + k * every
    late = at > horizon
    if late.any():
        at = np.where(late, np.where(at - horizon <= _GRID_SLACK * every, horizon, _INF), at)
    return np.asarray(at, dtype=np.float64)


class Batch:
    """The branches of one chunk, advanced together to the horizon or ``stop_when``."""

    def __init__(
        self,
        plan: Plan,
        seed: int,
        branches: Ints,
        trace: Trace | None = None,
        window: int | None = None,
        fixed: Mapping[int, npt.NDArray[Any]] | None = None,
    ) -> None:
        model = plan.model
        # values of fixed parameters per row of the chunk (slot -> array), in the place of
        # the model's: settings that differ only in parameter values share one batch
        self.fixed = dict(fixed or {})
        self.plan = plan
        self.model = model
        self.seed = seed
        self.trace = trace
        self.horizon = model.horizon
        self.branches = np.asarray(branches, dtype=np.int64)
        self.window = max(1, min(len(self.branches), window or WINDOW))
        self.admitted = 0  # branches (rows of the chunk) given a lane so far
        self.n = 0
        self.branch = np.zeros(0, dtype=np.int64)
        self.row = np.zeros(0, dtype=np.int64)
        self.clock = np.zeros(0)
        self.cols: list[Any] = [None] * model.n_slots
        for p in model.parameters:
            self.cols[p.slot] = np.zeros(0, dtype=bool if p.type == "bool" else np.float64)
        for st in model.state:
            self.cols[st.slot] = np.zeros(0, dtype=bool if st.type == "bool" else np.float64)
        self.gone = np.zeros(0, dtype=bool)
        self.step_gone = 0
        self.n_gone = 0
        self.error: tuple[int, str] | None = None
        self.out = output_arrays(model, seed, self.branches)
        self.tracker = Tracker(self, plan.outcomes)
        self.components: list[Component] = []
        self.watchers: list[Callable[[Ints], None]] = []
        self.flows: list[Any] = []
        self.streams: Streams | None = None
        self.experts: dict[str, Any] = {}  # a pooled parameter's expert per lane
        # trajectories: the sample times, the recorded expressions, each lane's next sample
        self.record = model.record
        self.record_times = np.array(model.record.times if model.record else (), dtype=float)
        self.record_exprs = [plan.expr(e) for e in model.record.exprs] if model.record else []
        self.record_k = np.zeros(0, dtype=np.int64)
        # columns: 0 resolution steps, 1 + i process i, then the end, then finished lanes
        self.n_cols = len(model.processes) + 3
        self.END = self.n_cols - 2
        self.PARK = self.n_cols - 1
        # T[lane, c]: the time of the next event of column c in that lane (inf: none);
        # nxt[lane]: the column of its next event (the leftmost of the earliest), whose time
        # is clock[lane]
        self.T = np.zeros((0, self.n_cols))
        # column_times[c] is column c of T, a view: writing a group's times through it is
        # two to three times faster than T[lanes, c] = times
        self.column_times: list[Floats] = [self.T[:, c] for c in range(self.n_cols)]
        self._fresh = np.full(self.n_cols, _INF)
        self._fresh[self.END] = self.horizon
        self.nxt = np.zeros(0, dtype=np.uint16)

    # -- running ------------------------------------------------------------------------

    def run(self) -> None:
        """Run every branch to its end, then raise the first run error of the lowest branch."""
        from sim.engine.batch.processes import build_components

        with np.errstate(all="ignore"):
            build_components(self)
            self.streams = Streams(self.seed, self.branch, self.plan.stream_ids)
            self._admit(self.window)
            while self.n - self.n_gone > 0 or self._waiting():
                if self.n - self.n_gone > 0:
                    self._step()
                if self.n_gone and (
                    self.n_gone == self.n
                    or self.n_gone >= max(64, self.n // (16 if self._waiting() else 4))
                ):
                    self._recycle()
        if self.error is not None:
            raise RunError(self.error[1])

    def streams_ready(self) -> None:
        """Kept for components written against the first batch engine (a no-op)."""

    def _waiting(self) -> int:
        """How many branches of the chunk still wait for a lane."""
        return len(self.branches) - self.admitted

    def _admit(self, k: int) -> None:
        """Give the next ``k`` branches of the chunk lanes (finished lanes first) and start them."""
        k = min(k, self._waiting())
        if k <= 0:
            return
        free = np.flatnonzero(self.gone)[:k]
        if len(free):
            self._lane_arrays(Reset(free))
            self.n_gone -= len(free)
        old = self.n
        if k > len(free):
            self._lane_arrays(Grow(None, k - len(free)))
        lanes = np.concatenate([free, np.arange(old, self.n)])
        rows = np.arange(self.admitted, self.admitted + k)
        self.admitted += k
        self.branch[lanes] = self.branches[rows]
        self.row[lanes] = rows
        assert self.streams is not None
        self.streams.branch = self.branch
        self.streams.start(lanes)
        draw_parameters(self, lanes)
        self._init_state(lanes)
        self._start(self.live(lanes))
        self._next_events(lanes)

    def _recycle(self) -> None:
        """Let waiting branches take over finished lanes; with none waiting, drop them."""
        if self._waiting():
            self._admit(self.n_gone)
        else:
            self._lane_arrays(Grow(~self.gone, 0))
            self.n_gone = 0

    def _lane_arrays(self, op: LaneOp) -> None:
        """Pass every per-lane array through ``op`` (new lanes, reset lanes, dropped lanes)."""
        self.branch = op(self.branch, 0)
        self.row = op(self.row, 0)
        self.clock = op(self.clock, 0.0)
        self.T = op(self.T, self._fresh)
        self.column_times = [self.T[:, c] for c in range(self.n_cols)]
        self.nxt = op(self.nxt, self.END)
        self.tracker.resize(op)
        self.record_k = op(self.record_k, 0)
        self.gone = op(self.gone, False)
        self.cols = [c if c is None else op(c, 0) for c in self.cols]
        for comp in self.components:
            comp.resize(op)
        assert self.streams is not None
        self.streams.resize(op)
        self.streams.branch = self.branch
        self.n = len(self.branch)

    def _start(self, lanes: Ints) -> None:
        """Start the processes (in file order) and check every condition at t = 0."""
        for comp in self.components:
            start = getattr(comp, "start", None)
            if start is not None and len(lanes):
                start(lanes)
                lanes = self.live(lanes)
        if len(lanes):
            self.wake(range(len(self.watchers)), lanes)
        self.step_gone = 0

    def _step(self) -> None:
        """Move lanes to their next events: each process fires the lanes waiting for it."""
        nxt = self.nxt
        counts = np.bincount(nxt, minlength=self.n_cols)
        counts[self.PARK] = 0
        order = np.argsort(nxt, kind="stable")
        bounds = np.cumsum(counts)
        handlers = self.handlers
        # Lanes are independent: a lane whose next event belongs to a process few lanes are
        # waiting for can wait a few steps while others move on, and meet more lanes there.
        # Handling a process costs a number of numpy calls whatever the size of the group.
        largest = int(counts.max())
        enough = min(largest, _GROUP)
        moved = []
        for c in np.flatnonzero(counts >= enough).tolist():
            lanes = order[bounds[c] - counts[c] : bounds[c]]
            handlers[c](lanes)
            moved.append(lanes)
        self.step_gone = 0
        if moved:
            self._next_events(np.concatenate(moved) if len(moved) > 1 else moved[0])

    def _next_events(self, lanes: Ints) -> None:
        """Look up the next event of ``lanes`` (their rows of T may have changed)."""
        times = self.T.take(lanes, axis=0)  # faster than T[lanes]
        col = times.argmin(axis=1)
        self.clock[lanes] = times.ravel().take(np.arange(len(lanes)) * self.n_cols + col)
        col = col.astype(np.uint16)
        gone = self.gone[lanes]
        if gone.any():
            col[gone] = self.PARK
        self.nxt[lanes] = col

    @property
    def handlers(self) -> Sequence[Callable[[Ints], None]]:
        found: list[Callable[[Ints], None]] = getattr(self, "_handlers", [])
        if not found:
            found = [c.fire for c in self.components]
            found.append(self._end)
            self._handlers = found
        return found

    def live(self, lanes: Ints) -> Ints:
        """The lanes still running (none finished or failed in this step)."""
        if self.step_gone == 0:
            return lanes
        return lanes[~self.gone[lanes]]

    def park(self, lanes: Ints) -> None:
        """Take finished lanes out of the running."""
        self.gone[lanes] = True
        self.T[lanes] = _INF
        self.T[lanes, self.PARK] = 0.0
        self.nxt[lanes] = self.PARK
        self.step_gone += len(lanes)
        self.n_gone += len(lanes)

    # -- set-up -------------------------------------------------------------------------

    def _init_state(self, lanes: Ints) -> None:
        for s in self.model.state:
            value = self.value(self.plan.expr(s.init), lanes)
            if s.type == "number":
                value = value.astype(np.float64)
                if s.lo is not None:
                    value = np.where(value < s.lo, s.lo, value)
                if s.hi is not None:
                    value = np.where(value > s.hi, s.hi, value)
            else:
                value = value.astype(bool)
            self.cols[s.slot][lanes] = value
        if self.trace is not None:
            for s in self.model.state:
                self.note("state", "initial value", ((s.name, None, self.cols[s.slot][0].item()),))

    # -- expressions, effects, watchers -------------------------------------------------

    def value(
        self,
        expr: VExpr,
        lanes: Ints,
        scalar: Any = None,
        path: str = "",
        t: Floats | None = None,
    ) -> Any:
        """Evaluate ``expr`` on ``lanes`` (at times ``t``, else now); lanes where it fails
        are failed."""
        vector = expr.vector
        if vector is None:
            c = expr.spec.constant
            return np.full(len(lanes), c, dtype=bool if isinstance(c, bool) else np.float64)
        cols = self.cols
        now = self.clock[lanes] if t is None else t
        value, errors = vector.fn(*[now if s == 0 else cols[s][lanes] for s in vector.slots])
        if errors is not False and errors.any():
            self.fail_scalar(lanes[errors], path or expr.path, scalar or expr.spec.fn)
        if not isinstance(value, np.ndarray) or value.shape != lanes.shape:
            value = np.broadcast_to(value, lanes.shape).copy()
        return value

    def apply(self, effect: VEffect, lanes: Ints, process: str, what: str) -> Ints:
        """Apply a ``set`` block to ``lanes``, wake the watchers; return the lanes still live."""
        if not len(lanes):
            return lanes
        if self.record is not None:  # sample times passed since the last change
            self._sample(lanes, self.clock[lanes], inclusive=False)
        if self.tracker.counting:
            self.tracker.fired(effect.spec, lanes)
        cols = self.cols
        if effect.draws:
            what = self._draws(effect, lanes, what)
        news = []
        for a in effect.assignments:
            x = self.value(a.expr, lanes, effect.spec.fn, effect.path)
            if a.number:
                if x.dtype != np.float64:
                    x = x.astype(np.float64)
                low, high = x.min(), x.max()  # NaN if any is NaN
                if not -_INF < low <= high < _INF:
                    self.fail_scalar(lanes[~np.isfinite(x)], effect.path, effect.spec.fn)
                if a.lo is not None and low < a.lo:
                    x = np.maximum(x, a.lo)
                if a.hi is not None and high > a.hi:
                    x = np.minimum(x, a.hi)
            news.append(x)
        if self.step_gone:
            keep = ~self.gone[lanes]
            lanes = lanes[keep]
            news = [x[keep] for x in news]
        if not effect.watchers and self.trace is None:
            for a, x in zip(effect.assignments, news, strict=True):
                cols[a.slot][lanes] = x
            return lanes
        changed: Any = False
        records = []
        for a, x in zip(effect.assignments, news, strict=True):
            col = cols[a.slot]
            old = col[lanes]
            differ = old != x
            changed = changed | differ
            col[lanes] = x
            if self.trace is not None and len(lanes) and differ[0]:
                records.append((a.name, old[0].item(), x[0].item()))
        if self.trace is not None and len(lanes):
            self.note(process, what, tuple(records))
        if changed is not False and effect.watchers:
            woken = lanes[changed]
            if len(woken):
                self.wake(effect.watchers, woken)
        return self.live(lanes)

    def _draws(self, effect: VEffect, lanes: Ints, what: str) -> str:
        """Draw a block's ``draws`` afresh for ``lanes``, before the block reads them;
        return ``what`` with the values drawn where a branch is traced."""
        cols = self.cols
        for d in effect.draws:
            u = self.draw(d.stream, lanes)
            if d.dynamic is not None:  # its fields read the state before the block
                x = self.dynamic(d.dynamic, lanes, u)
            else:
                assert d.ppf is not None
                x = d.ppf(u)
            if cols[d.slot] is None:
                cols[d.slot] = np.zeros(self.n, dtype=bool if d.boolean else np.float64)
            cols[d.slot][lanes] = x != 0.0 if d.boolean else x
        if self.trace is not None:
            shown = ", ".join(f"{d.name}={_shown(cols[d.slot][lanes[0]].item())}"
                              for d in effect.draws)  # fmt: skip
            what = f"{what} ({shown})"
        return what

    def wake(self, watchers: Sequence[int] | range, lanes: Ints) -> None:
        """Run the given watchers, in order, on ``lanes``."""
        for w in watchers:
            self.watchers[w](lanes)
            if self.step_gone:
                lanes = self.live(lanes)
                if not len(lanes):
                    return

    def stop_watcher(self, lanes: Ints) -> None:
        """``stop_when``: end the lanes where it holds, now."""
        stop = self.model.stop_when
        assert stop is not None
        holds = self.value(self.plan.expr(stop), lanes)
        hit = lanes[holds]
        if self.step_gone:
            hit = self.live(hit)
        if len(hit):
            if self.trace is not None:
                self.note("stop_when", "branch stops")
            self.finish(hit)

    # -- draws ----------------------------------------------------------------------------

    def draw(self, stream: int, lanes: Ints) -> Floats:
        """One uniform of a buffered stream per lane."""
        assert self.streams is not None
        return self.streams.draw(stream, lanes)

    def delay(self, spec: VDelay, lanes: Ints, stream: int) -> Floats:
        """A delay or duration per lane; a negative one fails the lane."""
        if spec.constant is not None:
            return np.full(len(lanes), spec.constant)
        if spec.expr is not None:
            value = self.value(spec.expr, lanes, path=spec.path).astype(np.float64)
            value = self.within(value, spec.expr, lanes, 0.0)
        elif spec.dynamic is not None:
            value = self.dynamic(spec.dynamic, lanes, self.draw(stream, lanes))
        else:
            assert spec.ppf is not None
            value = spec.ppf(self.draw(stream, lanes))
        bad = ~(value >= 0)
        if bad.any():
            self.fail_message(
                lanes[bad], spec.path, value[bad], lambda x: f"a delay must be >= 0, got {x:g}"
            )
        return np.asarray(value, dtype=np.float64)

    def dynamic(self, spec: VDynamic, lanes: Ints, u: Floats) -> Floats:
        """Draws (inverse CDFs at ``u``) of a distribution whose fields are expressions:
        made for each lane's values of them (once per distinct set of values), which it
        checks; a lane whose values it refuses fails with its message."""
        names = [name for name, _ in spec.fields]
        table = np.stack(
            [np.asarray(self.value(e, lanes, path=spec.path), dtype=np.float64)
             for _, e in spec.fields],
            axis=1,
        )  # fmt: skip
        distinct, group = np.unique(table, axis=0, return_inverse=True)
        group = group.ravel()
        order = np.argsort(group, kind="stable")
        bounds = np.cumsum(np.bincount(group, minlength=len(distinct)))
        out = np.full(len(lanes), np.nan)
        for g, row in enumerate(distinct):
            members = order[(bounds[g - 1] if g else 0) : bounds[g]]
            try:
                dist = spec.dist.resolved(dict(zip(names, map(float, row), strict=True)))
            except ValueError as error:
                self.fail_message(lanes[members], spec.path, u[members], _constant(str(error)))
                continue
            out[members] = np.asarray(dist.ppf(u[members]), dtype=np.float64)
        return out

    def within(
        self, value: Floats, expr: VExpr, lanes: Ints, low: float, high: float | None = None
    ) -> Floats:
        """``value`` of ``expr`` on ``lanes``, each lane out of range only by rounding at its bound.

        As in the SimPy engine (:func:`sim.engine.common.snap`): a value past ``low`` or
        ``high`` by at most :data:`~sim.engine.common.ROUNDING` times the size of the
        expression's terms is the bound; only such lanes are looked at twice, one by one.
        """
        out = value < low if high is None else (value < low) | (value > high)
        size = expr.spec.size
        if size is None or not out.any():
            return value
        value = value.copy()
        for i in np.flatnonzero(out):
            v = float(value[i])
            value[i] = snap(v, float(size(self._snapshot(int(lanes[i])))), low, high)
        return value

    def chance(self, expr: VExpr, lanes: Ints, stream: int) -> Bools:
        """Whether something with probability ``expr`` happens, per lane."""
        p = self.within(self.value(expr, lanes).astype(np.float64), expr, lanes, 0.0, 1.0)
        bad = ~((p >= 0.0) & (p <= 1.0))
        if bad.any():
            self.fail_message(
                lanes[bad],
                expr.path,
                p[bad],
                lambda x: f"a probability must be in [0, 1], got {x:g}",
            )
        u = self.draw(stream, lanes)
        return np.asarray(u < p)

    # -- the end of a branch ----------------------------------------------------------------

    def _end(self, lanes: Ints) -> None:
        self.clock[lanes] = self.horizon
        self.finish(lanes)

    def finish(self, lanes: Ints) -> None:
        """Record the row of each lane, ended now (its clock), and park it."""
        rows = self.row[lanes]
        out = self.out
        out["t_end"][rows] = self.clock[lanes]
        if self.record is not None:
            self._end_samples(lanes)
        self.tracker.write(lanes, rows, out)
        for outcome in self.model.outcomes:
            if outcome.kind == "value":
                assert outcome.expr is not None
                value = self.value(self.plan.expr(outcome.expr), lanes)
                out[outcome.name][rows] = value.astype(np.float64)
            elif outcome.kind == "flow":
                flow = next(
                    f for f in self.flows if f.spec is self.model.processes[outcome.flow or 0]
                )
                out[outcome.name][rows] = flow.stat(
                    lanes, outcome.stage, outcome.stat or "completed"
                )
        lanes = lanes[~self.gone[lanes]]
        self.park(lanes)

    # -- trajectories -----------------------------------------------------------------------

    def _sample(self, lanes: Ints, now: Floats, *, inclusive: bool) -> None:
        """Fill the sample times of ``lanes`` before ``now`` (and at it, when ``inclusive``)
        from the state as it stands, each at its own time: state changes only through
        :meth:`apply`, which calls this first (as the SimPy engine's recorder does)."""
        times, series = self.record_times, self.out[SERIES]
        last = len(times) - 1
        k = self.record_k[lanes]
        while True:
            at = times[np.minimum(k, last)]
            due = (k <= last) & ((at < now) | ((at == now) if inclusive else False))
            if not due.any():
                break
            chosen, ks = lanes[due], k[due]
            rows = self.row[chosen]
            for j, expr in enumerate(self.record_exprs):
                value = self.value(expr, chosen, t=times[ks])
                series[rows, j, ks] = np.asarray(value, dtype=np.float64)
            k[due] += 1
        self.record_k[lanes] = k

    def _end_samples(self, lanes: Ints) -> None:
        """At the end of a branch: its samples up to now, then its values now carried on."""
        self._sample(lanes, self.clock[lanes], inclusive=True)
        k = self.record_k[lanes]
        rest = k < len(self.record_times)
        if not rest.any():
            return
        lanes, k = lanes[rest], k[rest]
        rows = self.row[lanes]
        later = np.arange(len(self.record_times))[None, :] >= k[:, None]
        series = self.out[SERIES]
        for j, expr in enumerate(self.record_exprs):
            value = np.asarray(self.value(expr, lanes), dtype=np.float64)
            series[rows, j, :] = np.where(later, value[:, None], series[rows, j, :])

    # -- errors and tracing ----------------------------------------------------------------

    def fail_scalar(self, lanes: Ints, path: str, fn: Callable[[list[Any]], Any]) -> None:
        """Fail lanes whose expression raised; the scalar code words the message."""
        self._fail(lanes, path, lambda lane: _scalar_message(fn, self._snapshot(lane)))

    def fail_message(
        self, lanes: Ints, path: str, values: npt.NDArray[Any], message: Callable[[Any], str]
    ) -> None:
        """Fail lanes with a message about a value of each."""
        where = {int(lane): v for lane, v in zip(lanes, values, strict=True)}
        self._fail(lanes, path, lambda lane: message(where[lane].item()))

    def _fail(self, lanes: Ints, path: str, message: Callable[[int], str]) -> None:
        lanes = lanes[~self.gone[lanes]]
        if not len(lanes):
            return
        lane = int(lanes[np.argmin(self.branch[lanes])])
        branch = int(self.branch[lane])
        if self.error is None or branch < self.error[0]:
            text = (
                f"{located(self.model, path, RunError(message(lane)))} "
                f"(branch {branch}, seed {self.seed}, t={float(self.clock[lane]):g})"
            )
            self.error = (branch, text)
        self.park(lanes)

    def _snapshot(self, lane: int) -> list[Any]:
        """The SimPy engine's value list ``v`` of one lane."""
        v: list[Any] = [float(self.clock[lane])]
        for col in self.cols[1:]:
            v.append(0.0 if col is None else col[lane].item())
        return v

    def note(self, process: str, what: str, changes: tuple[tuple[str, Any, Any], ...] = ()) -> None:
        """Report a happening of the traced branch (lane 0), and where it is written."""
        if self.trace is not None:
            key = f"parameters.{changes[0][0]}" if process == "parameters" and changes else ""
            where = self.model.origins.get(key or f"processes.{process}", "")
            self.trace(TraceRecord(float(self.clock[0]), process, what, changes, where))

    # -- results --------------------------------------------------------------------------

    def result(self) -> BranchResult:
        """The row of the only branch of a traced batch."""
        out = self.out
        params = tuple(out[p.name][0].item() for p in self.model.parameters)
        names = [c.name for c in self.model.columns if c.role in ("outcome", "detail", "indicator")]
        outcomes = tuple(out[name][0].item() for name in names)
        experts = tuple(
            str(self.experts[p.name][0]) if p.name in self.experts else None
            for p in self.model.parameters
        )
        series = out[SERIES][0] if SERIES in out else None
        return BranchResult(
            int(out["branch"][0]), float(out["t_end"][0]), params, outcomes, series, experts
        )


def _constant(text: str) -> Callable[[Any], str]:
    """A message that does not depend on the value."""

    def message(_: Any) -> str:
        return text

    return message


def _scalar_message(fn: Callable[[list[Any]], Any], v: list[Any]) -> str:
    """The message of the exception the scalar code raises on ``v``."""
    try:
        fn(v)
    except (ArithmeticError, ValueError) as error:
        return str(error)
    return "math domain error"  # pragma: no cover - numpy and Python disagree


def _shown(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f"{value:.6g}"


def flows_of(model: Any) -> list[CFlow]:
    return [p for p in model.processes if isinstance(p, CFlow)]
