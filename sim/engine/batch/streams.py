"""Counter-based random numbers for the batch engine.

Draw ``k`` of stream ``s`` of branch ``b`` in a run with seed ``S`` is a pure function of
``(S, b, s, k)``. Philox4x32-10 (as numpy and JAX use it; key: the seed, counter: the
branch and the stream) gives each stream of each branch a 64-bit key once; draw ``k`` is
then SplitMix64's output function of ``key + (k + 1) * 0x9E3779B97F4A7C15`` (SplitMix64's
own sequence from the key, which passes BigCrush), a dozen numpy operations per draw for
the lanes that draw, with nothing buffered. A branch's numbers therefore do not depend on
which chunk it runs in, on the other branches beside it or on the order of its draws
between streams, and any branch can be replayed alone (``sim trace``). Streams are named
like the SimPy engine's (``docs/ARCHITECTURE.md``, Randomness): one per parameter, one per
process and one per stage of a flow, keyed by the crc32 of the names, so that variants
share random numbers wherever their structure agrees.
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
    "draws_of",
    "philox4x32",
    "stream_id",
    "stream_keys",
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


# Keys are made this many at a time: Philox's forty-odd numpy operations then work on
# arrays that stay in the processor's cache (eight times faster than on a window's keys of
# every stream at once, whose arrays do not).
_KEY_BLOCK = 1 << 15


def stream_keys(seed: int, branches: Ints, stream: int | Ints) -> U64:
    """The 64-bit key of ``stream`` (or ``stream[i]``) of branch ``branches[i]``."""
    b = np.asarray(branches, dtype=np.int64).astype(np.uint64)
    c1 = np.broadcast_to(np.asarray(stream, dtype=np.uint64), b.shape)
    key = seed_key(seed)
    if b.size <= _KEY_BLOCK:
        return _keys(b, c1, key)
    out = np.empty(b.shape, dtype=np.uint64)
    flat, streams, keys = b.reshape(-1), c1.reshape(-1), out.reshape(-1)
    for i in range(0, flat.size, _KEY_BLOCK):
        part = slice(i, i + _KEY_BLOCK)
        keys[part] = _keys(flat[part], streams[part], key)
    return out


def _keys(b: U64, c1: U64, key: tuple[int, int]) -> U64:
    w = philox4x32(np.zeros(b.shape, dtype=np.uint64), c1, b & _LOW, b >> _SHIFT, key)
    return np.asarray((w[0] << _SHIFT) | w[1], dtype=np.uint64)


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def draws_of(keys: U64, draws: Ints) -> Floats:
    """Draw number ``draws[i]`` of the stream whose key is ``keys[i]``, in (0, 1)."""
    z = keys + (draws.astype(np.uint64) + np.uint64(1)) * _GAMMA
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z ^= z >> _S31
    unit: Floats = ((z >> _S11).astype(np.float64) + 0.5) * _TO_UNIT
    return unit


def uniforms(seed: int, branches: Ints, stream: int | Ints, draws: Ints) -> Floats:
    """Draw number ``draws[i]`` of ``stream`` (or ``stream[i]``) in branch ``branches[i]``,
    in (0, 1)."""
    keys = stream_keys(seed, branches, stream)
    return draws_of(keys, np.asarray(draws, dtype=np.int64))


class Streams:
    """The draws of several streams for the lanes of a batch.

    ``keys[s]`` holds each lane's key of stream ``s`` (an index into ``streams``) and
    ``read[s]`` how many it has drawn; keys are made when a lane takes a branch
    (:meth:`start`).
    """

    def __init__(self, seed: int, branch: Ints, streams: list[int]) -> None:
        self.seed = seed
        self.ids = np.array(streams, dtype=np.uint64)
        self.branch = branch
        n = len(branch)
        self.keys = [np.zeros(n, dtype=np.uint64) for _ in streams]
        self.read = [np.zeros(n, dtype=np.int64) for _ in streams]

    def resize(self, op: LaneOp) -> None:
        """Pass every per-lane array through ``op``; the caller then sets ``branch``, the
        new lane-to-branch map, and starts the new lanes."""
        self.keys = [op(k, 0) for k in self.keys]
        self.read = [op(r, 0) for r in self.read]

    def start(self, lanes: Ints) -> None:
        """Make the keys of every stream of ``lanes`` (which have just taken a branch)."""
        m, k = len(self.ids), len(lanes)
        if not m or not k:
            return
        keys = stream_keys(self.seed, np.tile(self.branch[lanes], m), np.repeat(self.ids, k))
        for s, row in enumerate(keys.reshape(m, k)):
            self.keys[s][lanes] = row
            self.read[s][lanes] = 0

    def draw(self, s: int, lanes: Ints) -> Floats:
        """One uniform of stream number ``s`` for each lane."""
        read = self.read[s]
        k = read[lanes]
        read[lanes] = k + 1
        return draws_of(self.keys[s][lanes], k)
