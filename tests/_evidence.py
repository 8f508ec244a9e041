"""Run directories built from arrays, for tests of the evidence commands with exact numbers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def synthetic_run(
    directory: Path,
    columns: Mapping[str, Any],
    outcomes: Mapping[str, str],
    *,
    indicators: Mapping[str, float] = (),  # type: ignore[assignment]
    by: Mapping[str, float] = (),  # type: ignore[assignment]
    horizon: float = 12.0,
    start: str | None = "2025-01-01",
) -> Path:
    """Write a complete run directory whose branch table holds ``columns``.

    ``outcomes`` maps each outcome column to its kind, ``indicators`` each indicator name to
    its ``by`` (its column is ``indicator__NAME``), ``by`` probability outcomes to theirs
    (default the horizon).
    """
    directory.mkdir(parents=True)
    n = len(next(iter(columns.values())))
    table = {
        "branch": np.arange(n, dtype=np.int64),
        "seed": np.zeros(n, dtype=np.int64),
        "t_end": np.full(n, horizon),
        **{k: np.asarray(v) for k, v in columns.items()},
    }
    pq.write_table(pa.table(table), directory / "branches.parquet")
    summary: dict[str, Any] = {"scenario": "synthetic", "variant": None, "seed": 0, "branches": n}
    deadlines = dict(by)
    summary["outcomes"] = {name: {"kind": kind} for name, kind in outcomes.items()}
    for name, kind in outcomes.items():
        if kind == "probability":
            summary["outcomes"][name]["by"] = deadlines.get(name, horizon)
    if indicators:
        summary["indicators"] = {n: {"kind": "indicator", "by": b} for n, b in indicators.items()}
    manifest = {
        "status": "complete", "scenario": "synthetic", "file": "", "sha256": "", "seed": 0,
        "branches": n, "horizon": horizon, "unit": "month", "start": start,
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory
