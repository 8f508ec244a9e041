"""What moves an outcome: the uncertain parameters that matter most for it.

From a sensitivity analysis where one is given (Sobol total indices, or Morris mu*), else
from the run itself: the Spearman rank correlation, over the branches, of each parameter's
draw with the outcome. The run's first 100,000 branches are enough for that (branches are
independent draws, so a prefix is a random sample; the standard error of a correlation is
then about 0.003), so a run of a million branches is read in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import rankdata

from sim.analysis.sensitivity import SensitivityResult
from sim.model.indicators import INDICATOR_PREFIX
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.results import BRANCHES, RunResult

__all__ = ["SAMPLE", "Driver", "rank_correlations", "sensitivity_drivers"]

SAMPLE = 100_000  # branches read for rank correlations
_IDS = ("branch", "seed", "t_end")


@dataclass(frozen=True)
class Driver:
    """A parameter and how much an outcome depends on it, by ``measure``."""

    parameter: str
    value: float
    measure: str  # "rank correlation", "total Sobol index", "mu*"


def _head(run: RunResult, names: Sequence[str]) -> pa.Table:
    """Return the first :data:`SAMPLE` branches of a run, only the columns ``names``."""
    if run.directory is None:
        return run.table.select(list(names)).slice(0, SAMPLE)
    reader = pq.ParquetFile(run.directory / BRANCHES)
    batches = reader.iter_batches(batch_size=SAMPLE, columns=list(names))
    first = next(batches, None)
    return pa.Table.from_batches([first]) if first is not None else pa.table({})


def _parameter_columns(run: RunResult) -> list[str]:
    """Return the parameter columns of a run: all but its ids, outcomes (with the columns
    that go with them) and indicators, which are results, not inputs."""
    outcomes = set(run.summary["outcomes"])
    taken = set(_IDS) | outcomes | {"point"}
    taken |= {n + s for n in outcomes for s in (FROM_SUFFIX, GIVEN_SUFFIX)}
    if run.directory is None:
        names = run.table.column_names
    else:
        names = pq.read_schema(run.directory / BRANCHES).names
    return [n for n in names if n not in taken and not n.startswith(INDICATOR_PREFIX)]


def _ranks(values: np.ndarray) -> np.ndarray | None:
    """Return the ranks of a column (NaN, a time that never came, ranks last), or None if
    the column is constant."""
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):  # a column of labels (which condition came first) has no order
        return None
    x = np.where(np.isnan(x), np.inf, x)
    if x.size < 3 or np.all(x == x[0]):
        return None
    return np.asarray(rankdata(x), dtype=float)


def rank_correlations(
    run: RunResult, outcomes: Sequence[str], *, minimum: float = 0.05, top: int = 3
) -> dict[str, list[Driver]]:
    """Return, for each outcome, the ``top`` parameters by absolute rank correlation.

    Parameters whose correlation is below ``minimum`` in size are left out.
    """
    parameters = _parameter_columns(run)
    table = _head(run, [*parameters, *outcomes])
    ranked = {p: _ranks(table.column(p).to_numpy(zero_copy_only=False)) for p in parameters}
    found: dict[str, list[Driver]] = {}
    for name in outcomes:
        y = _ranks(table.column(name).to_numpy(zero_copy_only=False))
        drivers = []
        for p, x in ranked.items():
            if x is None or y is None:
                continue
            rho = float(np.corrcoef(x, y)[0, 1])
            if abs(rho) >= minimum:
                drivers.append(Driver(p, rho, "rank correlation"))
        found[name] = sorted(drivers, key=lambda d: -abs(d.value))[:top]
    return found


def sensitivity_drivers(result: SensitivityResult, *, top: int = 3) -> Mapping[str, list[Driver]]:
    """Return, for each outcome of a sensitivity analysis, its ``top`` parameters."""
    morris = result.manifest.get("method") == "morris"
    column, measure = ("mu_star", "mu*") if morris else ("ST", "total Sobol index")
    found: dict[str, list[Driver]] = {}
    for row in result.indices.to_pylist():
        value = row[column]
        if value is None or not np.isfinite(value):
            continue
        found.setdefault(str(row["outcome"]), []).append(
            Driver(str(row["parameter"]), float(value), measure)
        )
    return {k: sorted(v, key=lambda d: -abs(d.value))[:top] for k, v in found.items()}
