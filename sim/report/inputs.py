"""What a report or a figure is drawn from: run, sweep and sensitivity directories, and
comparison tables, each opened with a clear error when it is not what it should be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.analysis.compare import COLUMNS
from sim.analysis.evidence.indicators import COLUMNS as INDICATOR_COLUMNS
from sim.analysis.sensitivity import SensitivityResult, open_sensitivity
from sim.analysis.sweep import SweepResult, open_sweep
from sim.errors import UsageError
from sim.montecarlo.results import MANIFEST, RunResult, open_run, partial_path, read_json
from sim.montecarlo.views import run_label

__all__ = ["ComparisonTable", "IndicatorTable", "Inputs", "Result", "gather", "open_result"]

KINDS = ("run", "sweep", "sensitivity")


@dataclass(frozen=True)
class ComparisonTable:
    """A comparison written by ``sim compare --out FILE``: one row per outcome and run."""

    path: Path
    rows: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class IndicatorTable:
    """Likelihood ratios of indicators written by ``sim indicators --format csv`` (or a
    ``Diagnosticity``'s table saved as Parquet): one row per indicator and alternative."""

    path: Path
    rows: tuple[Mapping[str, Any], ...]


Result = RunResult | SweepResult | SensitivityResult | ComparisonTable | IndicatorTable


def _what_it_is_not(path: Path) -> str:
    """Return the end of an error for a folder that holds no result of its own."""
    inside = sorted(p.parent.name for p in path.glob("*/" + MANIFEST))
    if inside:
        return f"; it holds results, such as {path / inside[0]}"
    return ""


def open_result(path: str | Path) -> Result:
    """Open a run, sweep or sensitivity directory, or a comparison table (.csv or .parquet).

    Anything else, an incomplete run or an unfinished analysis is refused with one line
    that says what was found and what to do.
    """
    where = Path(path)
    if where.is_file():
        return _comparison_table(where)
    if not where.exists():
        if partial_path(where).is_dir():
            return open_run(where)  # which says how to finish the incomplete run
        raise UsageError(f"{where}: no such directory or file")
    if not (where / MANIFEST).is_file():
        raise UsageError(
            f"{where}: not a run, sweep or sensitivity directory (it has no {MANIFEST})"
            + _what_it_is_not(where)
        )
    kind = str(read_json(where / MANIFEST).get("kind", "run"))
    if kind == "run":
        return open_run(where)
    if kind == "sweep":
        return open_sweep(where)
    if kind == "sensitivity":
        return open_sensitivity(where)
    raise UsageError(
        f"{where}: a {kind} directory, which sim cannot draw; expected a run, "
        "sweep or sensitivity directory"
    )


def _comparison_table(path: Path) -> ComparisonTable | IndicatorTable:
    """Read a comparison or indicator table, refusing a file that is neither."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UsageError(
            f"{path}: not a result: expected a run, sweep or sensitivity directory, a "
            "comparison table (.csv or .parquet) written by 'sim compare --out', or an "
            "indicator table written by 'sim indicators --format csv'"
        )
    try:
        table = pq.read_table(path) if suffix == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as error:
        raise UsageError(f"{path}: cannot read it as a table: {error}") from None
    names = table.column_names
    if "likelihood_ratio" in names:
        missing = [c for c in INDICATOR_COLUMNS if c not in names]
        if not missing:
            return IndicatorTable(path, tuple(table.select(list(INDICATOR_COLUMNS)).to_pylist()))
        what = "an indicator table written by 'sim indicators --format csv'"
    else:
        missing = [c for c in COLUMNS if c not in names]
        if not missing:
            return ComparisonTable(path, tuple(table.select(list(COLUMNS)).to_pylist()))
        what = "a comparison table written by 'sim compare --out'"
    raise UsageError(f"{path}: not {what} (no column {missing[0]!r})")


@dataclass(frozen=True)
class Inputs:
    """The results of one report: runs (the first is the baseline), sweeps, sensitivity
    analyses and comparison tables, all of one scenario."""

    runs: tuple[RunResult, ...]
    sweeps: tuple[SweepResult, ...]
    sensitivities: tuple[SensitivityResult, ...]
    comparisons: tuple[ComparisonTable, ...]
    indicators: tuple[IndicatorTable, ...] = ()

    @property
    def labels(self) -> list[str]:
        """How the runs are called: variants and ``--set`` values, else directory names."""
        labels = [run_label(r.manifest) for r in self.runs]
        if len(set(labels)) == len(labels):
            return labels
        return [r.directory.name if r.directory else str(i) for i, r in enumerate(self.runs)]

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The manifest that describes the report: the baseline run's if there is one."""
        results: list[RunResult | SweepResult | SensitivityResult] = [
            *self.runs,
            *self.sweeps,
            *self.sensitivities,
        ]
        return results[0].manifest if results else {}

    @property
    def directory(self) -> Path | None:
        """The directory of that result."""
        results: list[RunResult | SweepResult | SensitivityResult] = [
            *self.runs,
            *self.sweeps,
            *self.sensitivities,
        ]
        return results[0].directory if results else None


def gather(paths: Sequence[str | Path]) -> Inputs:
    """Open every path and sort the results by kind, refusing results of other scenarios."""
    if not paths:
        raise UsageError("give at least one run, sweep or sensitivity directory")
    runs, sweeps, sensitivities, tables, evidence = [], [], [], [], []
    scenario: tuple[str, Path] | None = None
    for path in paths:
        result = open_result(path)
        if isinstance(result, ComparisonTable):
            tables.append(result)
            continue
        if isinstance(result, IndicatorTable):
            evidence.append(result)
            continue
        name = str(result.manifest.get("scenario", ""))
        if scenario is None:
            scenario = (name, Path(path))
        elif name != scenario[0]:
            raise UsageError(
                f"{path}: a result of scenario {name!r}, but {scenario[1]} is of "
                f"{scenario[0]!r}; a report covers one scenario"
            )
        if isinstance(result, RunResult):
            runs.append(result)
        elif isinstance(result, SweepResult):
            sweeps.append(result)
        else:
            sensitivities.append(result)
    if scenario is None:
        raise UsageError("a report needs a run, sweep or sensitivity directory, not only tables")
    return Inputs(
        tuple(runs), tuple(sweeps), tuple(sensitivities), tuple(tables), tuple(evidence)
    )
