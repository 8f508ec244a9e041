"""Counter-based random numbers for the batch engine: Philox4x32-10 over numpy arrays.

Draw ``k`` of stream ``s`` of branch ``b`` in a run with seed ``S`` is a pure function of
``(S, b, s, k)``: the key of Philox is the seed, its counter holds the branch, the stream
and ``k // 2`` (each block gives two doubles). A branch's numbers therefore do not depend
on which chunk it runs in, on the other branches beside it or on how far ahead they were
computed, and any branch can be replayed alone (``sim trace``). Streams are named like
the SimPy engine's (``docs/ARCHITECTURE.md``, Randomness): one per parameter, one per
process and one per stage of a flow, keyed by the crc32 of the names, so that variants
share random numbers wherever their structure agrees.

:class:`Streams` keeps a small ring buffer of uniforms per branch and stream and tops up
every branch that runs low at once, so that the cost of Philox (about a hundred numpy
operations per call) is shared by many draws.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import numpy.typing as npt

from sim.engine.batch.lanes import LaneOp

__all__ = [
    "PARAMETER",
    "PROCESS",
    "Streams",
    "philox4x32",
    "stream_id",
    "uniforms",
]

PARAMETER = 0
PROCESS = 1

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = 0x9E3779B9
_W1 = 0xBB67AE85
_MASK32 = 0xFFFFFFFF
_LOW = np.uint64(_MASK32)
_SHIFT = np.uint64(32)
_ROUNDS = 10
# A uniform is (53 random bits + 0.5) / 2**53: strictly inside (0, 1), so inverse CDFs
# and logarithms never see 0 or 1.
_TO_UNIT = 2.0**-53

U64 = npt.NDArray[np.uint64]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def philox4x32(
    c0: U64, c1: U64, c2: U64, c3: U64, key: tuple[int, int]
) -> tuple[U64, U64, U64, U64]:
    """Philox4x32-10 (Salmon et al. 2011) of the counter words, elementwise.

    Each word is a uint64 array holding a 32-bit value; the key is two 32-bit ints.
    """
    k0, k1 = key
    for _ in range(_ROUNDS):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT) ^ c1 ^ np.uint64(k0),
            p1 & _LOW,
            (p0 >> _SHIFT) ^ c3 ^ np.uint64(k1),
            p0 & _LOW,
        )
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


def seed_key(seed: int) -> tuple[int, int]:
    """The Philox key of a run's seed: the seed itself below 2**64, else a hash of it."""
    if not 0 <= seed < 2**64:
        digest = hashlib.sha256(str(seed).encode()).digest()
        seed = int.from_bytes(digest[:8], "little")
    return seed & _MASK32, seed >> 32


def stream_id(kind: int, name: str, *parts: str) -> int:
    """The 32-bit id of a named stream: a parameter's, a process's, or a part of one."""
    text = "\0".join((str(kind), name, *parts))
    return zlib.crc32(text.encode())


def uniforms(seed: int, branches: Ints, stream: int | Ints, draws: Ints) -> Floats:
    """Draw number ``draws[i]`` of ``stream`` (or ``stream[i]``) in branch ``branches[i]``,
    in (0, 1)."""
    branches = np.asarray(branches, dtype=np.int64)
    draws = np.asarray(draws, dtype=np.int64)
    b = branches.astype(np.uint64)
    c0 = (draws >> 1).astype(np.uint64) & _LOW
    c1 = np.broadcast_to(np.asarray(stream, dtype=np.uint64), b.shape)
    w = philox4x32(c0, c1, b & _LOW, b >> _SHIFT, seed_key(seed))
    odd = (draws & 1).astype(bool)
    hi = np.where(odd, w[2], w[0])
    lo = np.where(odd, w[3], w[1])
    return _unit((hi << _SHIFT) | lo)


def _unit(bits: U64) -> Floats:
    """Uniforms in (0, 1) from 64 random bits (the top 53 of them)."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * _TO_UNIT


class Streams:
    """Buffered draws of several streams for the branches of a batch.

    ``branch`` holds each lane's branch number; lanes are positions in the batch's arrays
    and move when finished branches are dropped (:meth:`keep`). Each lane and stream has
    a ring of ``size`` uniforms. When a draw finds a lane's ring empty, every lane that
    holds fewer than ``low`` numbers and draws from the stream (this time or before) gets
    ``size - low`` more at once, so that Philox runs on many lanes at a time, and lanes
    that never draw from a stream never fill its ring.
    """

    def __init__(self, seed: int, branch: Ints, streams: list[int], size: int = 16) -> None:
        self.key = seed_key(seed)
        self.branch = branch
        self.ids = streams
        self.size = size
        self.low = size // 2
        self.quantum = size - self.low  # even: draws come in pairs
        self.mask = size - 1
        n = len(branch)
        self.buf = [np.empty((n, size)) for _ in streams]
        self.read = [np.zeros(n, dtype=np.int64) for _ in streams]
        self.written = [np.zeros(n, dtype=np.int64) for _ in streams]

    def resize(self, op: LaneOp) -> None:
        """Pass every per-lane array through ``op``; the caller then sets ``branch``, the
        new lane-to-branch map."""
        for s in range(len(self.ids)):
            self.buf[s] = op(self.buf[s], 0.0)
            self.read[s] = op(self.read[s], 0)
            self.written[s] = op(self.written[s], 0)

    def draw(self, s: int, lanes: Ints) -> Floats:
        """One uniform of stream number ``s`` (an index into ``streams``) for each lane."""
        read = self.read[s]
        k = read[lanes]
        left = self.written[s][lanes] - k
        if left.min(initial=1) <= 0:
            written = self.written[s]
            low = (written - read < self.low) & (written > 0)
            low[lanes[left <= 0]] = True
            self._top_up(s, np.flatnonzero(low))
        read[lanes] = k + 1
        return self.buf[s].ravel().take(lanes * self.size + (k & self.mask))

    def _top_up(self, s: int, low: Ints) -> None:
        """Add ``quantum`` numbers to the rings of the given lanes of stream ``s``."""
        written = self.written[s]
        start = written[low]  # even
        blocks = self.quantum // 2
        b = np.repeat(self.branch[low].astype(np.uint64), blocks)
        c0 = ((start >> 1)[:, None] + np.arange(blocks)).ravel().astype(np.uint64) & _LOW
        c1 = np.full(b.shape, self.ids[s], dtype=np.uint64)
        w0, w1, w2, w3 = philox4x32(c0, c1, b & _LOW, b >> _SHIFT, self.key)
        pair = np.stack([_unit((w0 << _SHIFT) | w1), _unit((w2 << _SHIFT) | w3)], axis=1)
        at = low[:, None] * self.size + (start[:, None] + np.arange(self.quantum)) % self.size
        self.buf[s].ravel()[at.ravel()] = pair.ravel()
        written[low] = start + self.quantum
