"""Trajectories on disk: ``series.parquet`` and the fan-chart summary of each recorded name.

A model with ``record`` gives, for every branch, each recorded name's value at each sample
time: an array ``(branches, names, times)`` per chunk. On disk it is tidy, one row per
branch, name and time: ``branch``, ``t``, ``variable``, ``value``, and ``date`` where the
scenario has a start date; rows in the order branch, then name (in the order of
``record``), then time. Branches that stopped early (``stop_when``) carry their last values
to the later sample times.

The summary (in ``summary.json`` under ``series``) gives, for each name and sample time, the
mean and the 5th, 25th, 50th, 75th and 95th percentiles over the branches, and how many of
them had stopped (and so carry their last value). Percentiles are exact, so they need every
branch's value at a time: a run directory scatters the chunks' values into a scratch file,
one contiguous run of branches per name and time, and reads one of those runs at a time, so
that memory grows with the branches but not with names times sample times.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.model.compiled import CompiledModel, CRecord
from sim.model.compiler import DAYS_PER_UNIT
from sim.stats.summary import json_number

__all__ = [
    "LEVELS",
    "ROW_GROUP",
    "SERIES",
    "ColumnStore",
    "record_samples",
    "series_batch",
    "series_dates",
    "series_schema",
    "series_summary",
    "summarize_series",
    "values_of",
]

SERIES = "series.parquet"
# Rows per row group of series.parquet (a run has names x times rows per branch).
ROW_GROUP = 1 << 19
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
_KEYS = ("p5", "p25", "p50", "p75", "p95")


def _record(model: CompiledModel) -> CRecord:
    if model.record is None:
        raise ValueError(f"scenario {model.name!r} records no trajectories")
    return model.record


def record_samples(model: CompiledModel) -> int:
    """The number of trajectory samples a branch of ``model`` records (0 without ``record``)."""
    record = model.record
    return 0 if record is None else len(record.names) * len(record.times)


def series_schema(model: CompiledModel) -> pa.Schema:
    """The Arrow schema of ``series.parquet``: ``branch, t, variable, value`` (and ``date``)."""
    fields = [
        pa.field("branch", pa.int64()),
        pa.field("t", pa.float64()),
        pa.field("variable", pa.string()),
        pa.field("value", pa.float64()),
    ]
    if model.start is not None:
        fields.append(pa.field("date", pa.date32()))
    return pa.schema(fields)


def series_dates(model: CompiledModel) -> list[dt.date] | None:
    """The calendar day of each sample time (rounded to the day), or ``None`` without a start."""
    if model.start is None:
        return None
    days = DAYS_PER_UNIT[model.unit]
    start: dt.date = model.start
    return [start + dt.timedelta(days=round(t * days)) for t in _record(model).times]


def series_batch(model: CompiledModel, start: int, values: np.ndarray) -> pa.RecordBatch:
    """The tidy rows of the trajectories ``values`` (branches, names, times) of a chunk.

    ``start`` is the number of the chunk's first branch.
    """
    record = _record(model)
    n, names, times = values.shape
    if (names, times) != (len(record.names), len(record.times)):
        raise ValueError(f"trajectories of shape {values.shape} do not match the record")
    per_branch = names * times
    columns: list[Any] = [
        pa.array(np.repeat(np.arange(start, start + n, dtype=np.int64), per_branch)),
        pa.array(np.tile(np.asarray(record.times, dtype=np.float64), n * names)),
        pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.repeat(np.arange(names, dtype=np.int32), times), n)),
            pa.array(list(record.names), type=pa.string()),
        ).cast(pa.string()),
        pa.array(np.ascontiguousarray(values, dtype=np.float64).reshape(-1)),
    ]
    dates = series_dates(model)
    if dates is not None:
        epoch = dt.date(1970, 1, 1)
        days = np.array([(d - epoch).days for d in dates], dtype=np.int32)
        columns.append(pa.array(np.tile(days, n * names), type=pa.date32()))
    return pa.RecordBatch.from_arrays(columns, schema=series_schema(model))


def values_of(model: CompiledModel, table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """The trajectories of tidy rows in file order, as an array (branches, names, times)."""
    record = _record(model)
    shape = (len(record.names), len(record.times))
    values = np.asarray(table.column("value").to_numpy(), dtype=np.float64)
    if values.size % (shape[0] * shape[1]):
        raise ValueError(f"{values.size} series rows are not whole branches of {shape} samples")
    return values.reshape(-1, *shape)


# --- summaries ---------------------------------------------------------------------------------


def summarize_series(
    model: CompiledModel, column: Any, t_end: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Return the ``series`` entry of ``summary.json``.

    ``column(j, k)`` returns the values of every branch for recorded name ``j`` at sample
    time ``k``; ``t_end`` is each branch's end.
    """
    record = _record(model)
    ends = np.sort(np.asarray(t_end, dtype=np.float64))
    stopped = [int(np.searchsorted(ends, t, side="left")) for t in record.times]
    dates = series_dates(model)
    out: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(record.names):
        entry: dict[str, Any] = {"t": list(record.times)}
        if dates is not None:
            entry["date"] = [d.isoformat() for d in dates]
        stats = [_time_stats(column(j, k)) for k in range(len(record.times))]
        for key in ("mean", *_KEYS):
            entry[key] = [s[key] for s in stats]
        entry["stopped"] = stopped
        out[name] = entry
    return out


def _time_stats(values: np.ndarray) -> dict[str, float | None]:
    """The mean and percentiles of one name's values at one time (NaN values left out)."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        v = v[~np.isnan(v)]
    if v.size == 0:
        return dict.fromkeys(("mean", *_KEYS))
    found = np.quantile(v, LEVELS)
    return {
        "mean": json_number(float(np.mean(v))),
        **{key: json_number(float(q)) for key, q in zip(_KEYS, found, strict=True)},
    }


def series_summary(model: CompiledModel, values: np.ndarray, t_end: np.ndarray) -> dict[str, Any]:
    """The ``series`` entry of a run held in memory: ``values`` is (branches, names, times)."""
    return summarize_series(model, lambda j, k: values[:, j, k], t_end)


class ColumnStore:
    """A scratch file of trajectories laid out name by name, time by time, branch by branch.

    Chunks arrive as (branches, names, times) arrays; each of their (name, time) columns is
    written at its place, so that all branches' values of one name at one time can be read
    back in one piece.
    """

    def __init__(self, path: Path, branches: int, names: int, times: int) -> None:
        self.path = path
        self.branches, self.names, self.times = branches, names, times
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    @classmethod
    @contextmanager
    def scratch(cls, path: Path, model: CompiledModel, branches: int) -> Iterator[ColumnStore]:
        """A store for the trajectories of ``model``'s branches at ``path``, deleted after use."""
        record = _record(model)
        store = cls(path, branches, len(record.names), len(record.times))
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        """Close and delete the scratch file."""
        os.close(self._fd)
        self.path.unlink(missing_ok=True)

    def _offset(self, j: int, k: int, branch: int) -> int:
        return ((j * self.times + k) * self.branches + branch) * 8

    def add(self, start: int, values: np.ndarray) -> None:
        """Write the trajectories of branches ``start, start + 1, ...``."""
        by_column = np.ascontiguousarray(np.transpose(values, (1, 2, 0)), dtype=np.float64)
        for j in range(self.names):
            for k in range(self.times):
                os.pwrite(self._fd, by_column[j, k].tobytes(), self._offset(j, k, start))

    def column(self, j: int, k: int) -> np.ndarray:
        """All branches' values of name ``j`` at sample time ``k``."""
        size = self.branches * 8
        data = os.pread(self._fd, size, self._offset(j, k, 0))
        if len(data) != size:
            raise RuntimeError(f"{self.path}: short read of the trajectories")
        return np.frombuffer(data, dtype=np.float64)
