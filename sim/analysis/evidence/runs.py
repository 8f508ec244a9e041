"""A finished run as the evidence commands read it: columns, outcomes, indicators, clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.observations import Catalog, catalog_of_run
from sim.montecarlo.results import BRANCHES, RunResult, open_run
from sim.stats.differences import Arm

__all__ = ["EvidenceRun", "RunLike", "evidence_run"]

RunLike = RunResult | str | Path
"""A run: a :class:`RunResult` (in memory or read from disk) or the path of a run directory."""


@dataclass(frozen=True, eq=False)
class EvidenceRun:
    """The parts of a run the evidence commands use, columns read once each on demand."""

    label: str
    result: RunResult
    catalog: Catalog
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> Mapping[str, Any]:
        """The run's ``summary.json``."""
        return self.result.summary

    @property
    def table(self) -> pa.Table:
        """The branch table."""
        return self.result.table

    @property
    def branches(self) -> int:
        """The number of branches (from the file's metadata: no column is read)."""
        if "branches" not in self._counts:
            self._counts["branches"] = self._rows()
        return self._counts["branches"]

    def _rows(self) -> int:
        result = self.result
        if result.directory is not None and getattr(result, "_table", None) is None:
            return int(pq.ParquetFile(result.directory / BRANCHES).metadata.num_rows)
        return int(self.table.num_rows)

    @property
    def names(self) -> set[str]:
        """The columns of the branch table (from the file's schema: no column is read)."""
        result = self.result
        if result.directory is not None and getattr(result, "_table", None) is None:
            return set(pq.read_schema(result.directory / BRANCHES).names)
        return set(self.table.schema.names)

    @property
    def horizon(self) -> float:
        """The scenario's horizon (older runs: the latest branch end)."""
        if self.catalog.clock.horizon is not None:
            return self.catalog.clock.horizon
        t_end = self.column("t_end")
        return float(np.max(t_end)) if t_end.size else 0.0

    def column(self, name: str) -> np.ndarray:
        """One column of the branch table as a numpy array, read alone from disk: a command
        on a run of a million branches reads only the columns it needs."""
        if name not in self._cache:
            self._cache[name] = self.result.column(name)
        return self._cache[name]

    def outcomes(self) -> list[tuple[str, Mapping[str, Any]]]:
        """``(name, summary entry)`` of every outcome, in file order."""
        return list(self.summary["outcomes"].items())

    def indicators(self) -> list[tuple[str, Mapping[str, Any]]]:
        """``(name, summary entry)`` of every indicator, in file order."""
        return list((self.summary.get("indicators") or {}).items())

    def arm(self, name: str, kind: str, category: str | None = None) -> Arm:
        """The columns of outcome ``name`` as the statistics read them."""
        names = self.names
        return Arm(
            self.column(name),
            t_end=self.column("t_end"),
            start=self.column(name + FROM_SUFFIX) if kind == "time_between" else None,
            given=self.column(name + GIVEN_SUFFIX) if name + GIVEN_SUFFIX in names else None,
            category=category,
        )


def evidence_run(run: RunLike) -> EvidenceRun:
    """Open ``run`` (a result, or a run directory) for the evidence commands."""
    result = run if isinstance(run, RunResult) else open_run(run)
    label = str(result.directory) if result.directory is not None else str(
        result.manifest.get("scenario", "run")
    )  # fmt: skip
    return EvidenceRun(label, result, catalog_of_run(result.summary, result.manifest))
