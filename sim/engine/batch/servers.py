"""Per-lane containers of a flow stage: FIFO rings, and servers in service.

Every container holds, per lane, a variable number of entities, each a record of a few
numbers (2-D arrays, one row per lane, widened for every lane when one lane needs
more room). They are read and written through flat indices, which numpy does much
faster than pairs of index arrays.

Two kinds of servers keep a lane's entities in service and its earliest completion
(among equal times, the one scheduled first): :class:`FifoServers` when the stage's
duration is the same for every entity of a branch (a number, or an expression of
parameters), since then services end in the order they started and a ring does; and
:class:`Slots`, one column per server, for durations drawn per entity.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.engine.batch.lanes import LaneOp

__all__ = ["FifoServers", "Ring", "Slots"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Record = dict[str, npt.NDArray[Any]]  # one array per field, one value per lane
_INF = math.inf
_LAST = np.iinfo(np.int64).max
# The fields an entity may have (a flow keeps only those its outcomes need): when it
# entered the flow, its waits so far, when it asked for a server of its stage, its wait at
# the stage; in service, its end and its order too.
ENTITY = ("arrival", "waited", "req")
SERVICE = ("t", "seq", *ENTITY, "here")


class Ring:
    """A FIFO queue of records per lane, as a ring buffer."""

    def __init__(self, n: int, fields: tuple[str, ...], size: int = 2) -> None:
        self.fields = fields
        self.data = {
            f: np.zeros((n, size), dtype=np.int64 if f == "seq" else np.float64) for f in fields
        }
        self.head = np.zeros(n, dtype=np.int64)
        self.len = np.zeros(n, dtype=np.int64)
        self.size = size

    def resize(self, op: LaneOp) -> None:
        self.data = {f: op(a, 0) for f, a in self.data.items()}
        self.head = op(self.head, 0)
        self.len = op(self.len, 0)

    def push(self, lanes: Ints, values: Record) -> Ints:
        """Append a record to each lane; return the new lengths."""
        length = self.len[lanes]
        if length.max(initial=0) >= self.size:
            self._widen()
        flat = lanes * self.size + (self.head[lanes] + length) % self.size
        for f, value in values.items():
            self.data[f].ravel()[flat] = value
        length += 1
        self.len[lanes] = length
        return length

    def pop(self, lanes: Ints) -> Record:
        """Remove and return the first record of each lane."""
        head = self.head[lanes]
        flat = lanes * self.size + head
        out = {f: a.take(flat) for f, a in self.data.items()}
        self.head[lanes] = (head + 1) % self.size
        self.len[lanes] -= 1
        return out

    def first(self, lanes: Ints, field: str) -> npt.NDArray[np.generic]:
        """The field of the first record of each lane (meaningless where empty)."""
        return self.data[field].take(lanes * self.size + self.head[lanes])

    def _widen(self) -> None:
        order = (self.head[:, None] + np.arange(self.size)) % self.size
        for f, a in self.data.items():
            old = np.take_along_axis(a, order, axis=1)
            self.data[f] = np.hstack([old, np.zeros_like(old)])
        self.head[:] = 0
        self.size *= 2


class FifoServers:
    """Entities in service that end in the order they started (a ring of records)."""

    def __init__(self, n: int, fields: tuple[str, ...] = SERVICE) -> None:
        self.ring = Ring(n, fields)
        self.next_t = np.full(n, _INF)
        self.next_seq = np.zeros(n, dtype=np.int64)

    def resize(self, op: LaneOp) -> None:
        self.ring.resize(op)
        self.next_t = op(self.next_t, _INF)
        self.next_seq = op(self.next_seq, 0)

    def start(self, lanes: Ints, values: Record) -> None:
        """Put entities in service (``values`` has each of its fields)."""
        length = self.ring.push(lanes, values)
        alone = length == 1
        if alone.any():
            first = lanes[alone]
            self.next_t[first] = values["t"][alone]
            self.next_seq[first] = values["seq"][alone]

    def finish(self, lanes: Ints) -> Record:
        """End the earliest service of each lane and return its record."""
        out = self.ring.pop(lanes)
        more = self.ring.len[lanes] > 0
        self.next_t[lanes] = np.where(more, self.ring.first(lanes, "t"), _INF)
        if more.any():
            self.next_seq[lanes] = self.ring.first(lanes, "seq")
        return out


class Slots:
    """Entities in service in server columns (completion time inf when free), for
    services that may end in any order."""

    def __init__(self, n: int, fields: tuple[str, ...] = SERVICE) -> None:
        self.width = 1
        self.data = {
            f: np.zeros((n, 1), dtype=np.int64 if f == "seq" else np.float64) for f in fields
        }
        self.data["t"][:] = _INF
        self.free = np.zeros((n, 1), dtype=np.int64)  # a stack of free columns per lane
        self.n_free = np.ones(n, dtype=np.int64)
        self.next_t = np.full(n, _INF)
        self.next_seq = np.zeros(n, dtype=np.int64)
        self.next_col = np.zeros(n, dtype=np.int64)

    def resize(self, op: LaneOp) -> None:
        self.data = {
            f: op(a, _INF if f == "t" else 0) for f, a in self.data.items()
        }
        self.free = op(self.free, np.arange(self.width))
        self.n_free = op(self.n_free, self.width)
        self.next_t = op(self.next_t, _INF)
        self.next_seq = op(self.next_seq, 0)
        self.next_col = op(self.next_col, 0)

    def start(self, lanes: Ints, values: Record) -> None:
        """Put entities in service in free columns (``values`` has each of its fields)."""
        if self.n_free[lanes].min(initial=1) == 0:
            self._widen()
        top = self.n_free[lanes] - 1
        col = self.free.take(lanes * self.width + top)
        self.n_free[lanes] = top
        flat = lanes * self.width + col
        for f, value in values.items():
            self.data[f].ravel()[flat] = value
        at = values["t"]
        earlier = at < self.next_t[lanes]
        if earlier.any():
            first = lanes[earlier]
            self.next_t[first] = at[earlier]
            self.next_seq[first] = values["seq"][earlier]
            self.next_col[first] = col[earlier]

    def finish(self, lanes: Ints) -> Record:
        """End the earliest service of each lane and return its record."""
        width = self.width
        col = self.next_col[lanes]
        flat = lanes * width + col
        out = {f: a.take(flat) for f, a in self.data.items()}
        t = self.data["t"]
        t.ravel()[flat] = _INF
        top = self.n_free[lanes]
        self.free.ravel()[lanes * width + top] = col
        self.n_free[lanes] = top + 1
        if width == 1:
            self.next_t[lanes] = _INF
            return out
        times = t[lanes]
        col = times.argmin(axis=1)
        at = times[np.arange(len(lanes)), col]
        tied = times == at[:, None]
        ties = (tied.sum(axis=1) > 1) & (at < _INF)
        if ties.any():
            order = np.where(tied, self.data["seq"][lanes], _LAST)
            col = np.where(ties, order.argmin(axis=1), col)
        self.next_t[lanes] = at
        self.next_col[lanes] = col
        self.next_seq[lanes] = self.data["seq"].take(lanes * width + col)
        return out

    def _widen(self) -> None:
        """Double the columns of every lane; the new ones go on top of its free stack."""
        n, width = self.free.shape
        for f, a in self.data.items():
            fill = _INF if f == "t" else 0
            self.data[f] = np.hstack([a, np.full_like(a, fill)])
        free = np.hstack([self.free, np.zeros_like(self.free)])
        at = np.arange(n)[:, None] * (2 * width) + self.n_free[:, None] + np.arange(width)
        free.ravel()[at.ravel()] = np.tile(np.arange(width, 2 * width), n)
        self.free = free
        self.n_free = self.n_free + width
        self.width = 2 * width
