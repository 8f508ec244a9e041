"""Per-lane arrays: recycling the lanes of finished branches, dropping them, adding lanes.

A batch runs a chunk's branches through a window of lanes: when enough branches have
finished, new branches take over their lanes (each of its arrays' rows set back to its
initial value, in place), so that the window stays full and lanes move on in large
groups until the chunk runs out; then finished lanes are dropped now and again. Every
component passes each of its per-lane arrays (one row per lane) through a :class:`LaneOp`
with the value a new lane starts with; the operation returns the array to keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Grow", "LaneOp", "Reset"]


class LaneOp:
    """What happens to every per-lane array: ``op(array, fill)`` returns the new array."""

    def __call__(self, array: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
        raise NotImplementedError


class Grow(LaneOp):
    """Keep the rows of ``keep`` (all when None), then add ``add`` new lanes."""

    def __init__(self, keep: npt.NDArray[np.bool_] | None, add: int) -> None:
        self.keep = keep
        self.add = add

    def __call__(self, array: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
        kept = array if self.keep is None else array[self.keep]
        if not self.add:
            return kept
        extra = np.empty((self.add, *array.shape[1:]), dtype=array.dtype)
        extra[...] = fill
        return np.concatenate([kept, extra])


class Reset(LaneOp):
    """Set the rows of ``lanes`` back to the value a new lane starts with, in place."""

    def __init__(self, lanes: npt.NDArray[np.int64]) -> None:
        self.lanes = lanes

    def __call__(self, array: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
        array[self.lanes] = fill
        return array
