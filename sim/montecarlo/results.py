"""Run results: :class:`RunResult`, reading run directories back, summaries and manifests.

A run directory holds ``branches.parquet`` (one row per branch, columns in the order of
``CompiledModel.columns``), ``summary.json`` and ``manifest.json``; how it is written, chunk by
chunk and atomically, is :mod:`sim.montecarlo.directory`. The parent process never holds the
branch table whole: chunks go to disk as they arrive, the gathering streams them, and the
summary reads one outcome column at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UsageError
from sim.model.compiled import CompiledModel, COutcome
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX
from sim.montecarlo.observations import indicator_summaries
from sim.montecarlo.precision import Target, tally
from sim.montecarlo.series import summarize_series
from sim.stats.summary import summarize_outcome
from sim.version import __version__

if TYPE_CHECKING:
    from sim.montecarlo.jobs import Chunk

__all__ = [
    "BRANCHES",
    "MANIFEST",
    "PARTIAL",
    "SERIES",
    "SUMMARY",
    "MemorySink",
    "RunResult",
    "Sink",
    "branch_schema",
    "check_rows",
    "complete_manifest",
    "include_digests",
    "make_manifest",
    "make_summary",
    "now_iso",
    "open_run",
    "partial_path",
    "read_json",
    "sim_version",
    "summary_by",
    "summary_by_records",
    "summary_of",
    "summary_records",
]

BRANCHES = "branches.parquet"
SERIES = "series.parquet"
SUMMARY = "summary.json"
MANIFEST = "manifest.json"
PARTIAL = ".partial"
_ARROW_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


class RunResult:
    """The results of a run: the branch table, its summary and its manifest.

    ``directory`` is where the run was written, or ``None`` for a run kept in memory. A
    result read from disk loads its table on first use.
    """

    __slots__ = ("_series", "_table", "directory", "manifest", "summary")

    def __init__(
        self,
        summary: dict[str, Any],
        manifest: dict[str, Any],
        directory: Path | None,
        table: pa.Table | None = None,
        series: pa.Table | None = None,
    ) -> None:
        if table is None and directory is None:
            raise ValueError("a run result needs its table or its directory")
        self.summary = summary
        self.manifest = manifest
        self.directory = directory
        self._table = table
        self._series = series

    @property
    def table(self) -> pa.Table:
        """The branch table: one row per branch, in branch order."""
        if self._table is None:
            assert self.directory is not None  # __init__ requires one of the two
            self._table = pq.read_table(self.directory / BRANCHES)
        return self._table

    @property
    def series(self) -> pa.Table:
        """The recorded trajectories: tidy rows ``branch, t, variable, value`` (and ``date``)."""
        if self._series is None:
            path = None if self.directory is None else self.directory / SERIES
            if path is None or not path.is_file():
                raise UsageError(
                    f"{self.directory or 'this run'}: no trajectories; the scenario has no record"
                )
            self._series = pq.read_table(path)
        return self._series

    def column(self, name: str) -> np.ndarray:
        """Return one column of the branch table, reading only that column from disk."""
        if self._table is None and self.directory is not None:
            # ParquetFile, not read_table: the latter's dataset layer imports pandas.
            table = pq.ParquetFile(self.directory / BRANCHES).read(columns=[name])
        else:
            table = self.table
        return np.asarray(table.column(name).to_numpy())

    def to_pandas(self) -> Any:
        """Return the branch table as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table.to_pandas()

    def figure(self, name: str, *, survival: bool = False) -> Any:
        """Return the matplotlib figure of outcome ``name`` (needs ``sim[report]``).

        A probability is a point with its interval, a time to an event a Kaplan–Meier curve
        (``survival=True``: survival rather than the share where it has happened), a value a
        histogram; see :func:`sim.montecarlo.views.outcome_figure` for several runs at once.
        """
        from sim.montecarlo.views import outcome_figure

        return outcome_figure([self], name, survival=survival)

    def _repr_html_(self) -> str | None:
        """Show the run in a notebook: its outcomes' table and a figure (with ``sim[report]``)."""
        try:
            from sim.montecarlo.views import run_html
        except ImportError:  # matplotlib or Jinja2 is not installed: the plain repr then
            return None
        return run_html(self)

    def summary_by(self, column: str) -> dict[str, Any]:
        """Return every outcome's summary within each value of ``column``, beside the whole.

        ``column`` is a ``PARAM__expert`` column (which expert a pooled parameter drew
        from), or any true/false or text column, or a numeric one with few values. The
        result is ``{"by": column, "groups": [{"value": "all", "n": N, "outcomes": {...}},
        {"value": "hawk", "n": ..., "share": ..., "outcomes": {...}}, ...]}``: the pooled
        estimate first, then each group's conditional estimate, so that disagreement
        between experts stays visible.
        """
        return summary_by(self, column)

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}" if self.directory else "in memory"
        return (
            f"RunResult(scenario={self.manifest.get('scenario')!r}, "
            f"branches={self.manifest.get('branches')}, seed={self.manifest.get('seed')}, {where})"
        )


# --- tables, summaries, manifests --------------------------------------------------------------


def branch_schema(model: CompiledModel) -> pa.Schema:
    """Return the Arrow schema of ``model``'s branch table, one field per column."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype]) for c in model.columns])


def make_summary(
    model: CompiledModel,
    table: pa.Table,
    *,
    seed: int,
    branches: int,
    series: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the ``summary.json`` object of a run from its branch table.

    Only ``t_end`` and the outcome columns are read; ``series`` holds the trajectories
    (branches, names, times) of a model with ``record``.
    """
    trajectories = None
    if series is not None:
        values = series

        def trajectories(j: int, k: int) -> np.ndarray:
            return np.asarray(values[:, j, k])

    return summary_of(
        model, lambda name: table.column(name).to_numpy(), seed, branches,
        series=trajectories,
    )  # fmt: skip


_TIMES = ("time_to", "time_between")


def summary_of(
    model: CompiledModel,
    column: Callable[[str], np.ndarray],
    seed: int,
    branches: int,
    *,
    series: Callable[[int, int], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Return the ``summary.json`` object, reading each column when it is needed.

    ``column(name)`` returns a whole column as a numpy array. Outcomes are summarised one
    at a time, so that at most ``t_end`` and one outcome's columns are in memory at once.
    ``series(j, k)``, for a model with ``record``, returns every branch's value of recorded
    name ``j`` at sample time ``k``; without it, the summary has no ``series``.
    """
    needs_end = model.record is not None or any(o.kind in _TIMES for o in model.outcomes)
    t_end = column("t_end") if needs_end else None
    outcomes = {o.name: _outcome_summary(model, o, column, t_end) for o in model.outcomes}
    head = {
        "scenario": model.name,
        "variant": model.variant,
        "seed": seed,
        "branches": branches,
        "time_unit": model.unit,
    }
    summary: dict[str, Any] = {**head, "outcomes": outcomes}
    if model.indicators:
        summary["indicators"] = indicator_summaries(model, column)
    if series is not None and t_end is not None:
        summary["series"] = summarize_series(model, series, t_end)
    return summary


def _outcome_summary(
    model: CompiledModel,
    outcome: COutcome,
    column: Callable[[str], np.ndarray],
    t_end: np.ndarray | None,
) -> dict[str, Any]:
    """Return the summary of one outcome, with its question and condition where it has them."""
    kind = outcome.kind
    entry = summarize_outcome(
        kind,
        column(outcome.name),
        t_end=t_end if kind in _TIMES else None,
        horizon=model.horizon,
        start=column(outcome.name + FROM_SUFFIX) if kind == "time_between" else None,
        labels=outcome.labels,
        given=None if outcome.given is None else column(outcome.name + GIVEN_SUFFIX),
        stops=model.stop_when is not None,
    )
    head: dict[str, Any] = {"kind": kind}
    if kind == "probability" and outcome.by is not None:
        head["by"] = outcome.by  # the deadline, which `sim given` needs to observe it
    question = outcome_question(model, outcome.name)
    if question is not None:
        head["question"] = question
    if outcome.given is not None:
        head["given"] = outcome.given.source
    return {**head, **entry}


def outcome_question(model: CompiledModel, name: str) -> str | None:
    """The ``question`` of the outcome ``name`` as the scenario states it, or ``None``."""
    scenario = model.scenario
    if scenario is None:
        return None
    for outcome in scenario.outcomes:
        if outcome.name == name:
            question: str | None = outcome.question
            return question
    return None


MAX_GROUPS = 20
ALL = "all"


def summary_by(result: RunResult, column: str) -> dict[str, Any]:
    """See :meth:`RunResult.summary_by`."""
    outcomes = {str(n): str(e["kind"]) for n, e in result.summary["outcomes"].items()}
    names = result.table.column_names
    if column not in names:
        from sim.format.validation import suggest

        hint = suggest(column, [n for n in names if n.endswith("__expert")] or names)
        raise UsageError(f"--by {column}: no such column in the branch table{hint}")
    if column in outcomes and outcomes[column] not in ("probability", "first_of"):
        raise UsageError(
            f"--by {column}: only a true/false or first_of outcome can split a run, "
            f"not a {outcomes[column]}"
        )
    keys = _group_keys(result.table.column(column), column)
    t_end = result.table.column("t_end").to_numpy()
    horizon = result.manifest.get("horizon")
    if horizon is None:
        horizon = float(np.max(t_end)) if t_end.size else 0.0
    groups = [(ALL, np.ones(len(keys), dtype=bool))]
    groups += [(value, keys == value) for value in sorted(set(keys.tolist()))]
    entries = result.summary["outcomes"]
    # Times to an event are cumulative incidences where branches could stop early.
    stops = any(e.get("ci_method") == "aalen_johansen" for e in entries.values())
    found = []
    for value, mask in groups:
        group: dict[str, Any] = {"value": value, "n": int(mask.sum())}
        if value != ALL:
            group["share"] = float(mask.mean()) if mask.size else None
        group["outcomes"] = {
            name: _split_summary(result.table, name, entries[name], mask, t_end, horizon, stops)
            for name in outcomes
        }
        found.append(group)
    return {"by": column, "groups": found}


# What the run's summary says of an outcome itself, not of its values (see _outcome_summary).
_HEAD = ("kind", "by", "question", "given")


def _split_summary(
    table: pa.Table,
    name: str,
    entry: Mapping[str, Any],
    mask: np.ndarray,
    t_end: np.ndarray,
    horizon: float,
    stops: bool,
) -> dict[str, Any]:
    """One outcome's summary over the branches of ``mask``, as the run's summary makes it."""
    kind = str(entry["kind"])

    def part(column: str) -> np.ndarray | None:
        if column not in table.column_names:
            return None
        values: np.ndarray = np.asarray(table.column(column).to_numpy(zero_copy_only=False))
        chosen: np.ndarray = values[mask]
        return chosen

    values = part(name)
    assert values is not None  # every outcome is a column
    summary = summarize_outcome(
        kind,
        values,
        t_end=t_end[mask] if kind in _TIMES else None,
        horizon=float(horizon),
        start=part(name + FROM_SUFFIX) if kind == "time_between" else None,
        labels=list(entry.get("categories", {})),
        given=part(name + GIVEN_SUFFIX),
        stops=stops,
    )
    head = {key: entry[key] for key in _HEAD if key in entry}
    return {**head, **summary}


def _group_keys(values: Any, column: str) -> np.ndarray:
    """The group of each branch as text: the column's value (``none`` for a null)."""
    if pa.types.is_string(values.type) or pa.types.is_boolean(values.type):
        texts = ["none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                 for v in values.to_pylist()]  # fmt: skip
        return np.array(texts, dtype=object)
    numbers = values.to_numpy(zero_copy_only=False)
    distinct = np.unique(numbers[~np.isnan(numbers)]) if numbers.size else numbers
    if distinct.size > MAX_GROUPS:
        raise UsageError(
            f"--by {column}: {distinct.size} distinct values; split by an expert column "
            f"(PARAM__expert), a true/false column, or a column with at most {MAX_GROUPS} values"
        )
    return np.array([f"{v:g}" for v in numbers], dtype=object)


def summary_by_records(split: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten :func:`summary_by` into one record per outcome and group (tidy)."""
    records = []
    for group in split["groups"]:
        for name, entry in group["outcomes"].items():
            record: dict[str, Any] = {"outcome": name, split["by"]: group["value"]}
            record["share"] = group.get("share")
            record.update(_flatten(entry))
            records.append(record)
    records.sort(key=lambda r: list(split["groups"][0]["outcomes"]).index(r["outcome"]))
    return records


def _vantage(model: CompiledModel) -> dict[str, str]:
    """``{"vantage": ISO}`` where the scenario states the date as of which it is written."""
    vantage = getattr(model.scenario, "vantage", None)
    return {} if vantage is None else {"vantage": vantage.isoformat()}


def include_digests(model: CompiledModel) -> dict[str, str]:
    """Return the sha256 of each file the scenario includes, by key (relative to its folder)."""
    return {key: hashlib.sha256(text.encode("utf-8")).hexdigest() for key, text in model.includes}


def now_iso() -> str:
    """Return the current time as an ISO 8601 string in UTC."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def sim_version() -> str:
    """Return the version of sim."""
    return __version__


def make_manifest(
    model: CompiledModel,
    *,
    seed: int,
    branches: int,
    executor: str,
    workers: int,
    chunk_size: int | None,
    started_at: str,
    target_ci: float | None = None,
    max_branches: int | None = None,
) -> dict[str, Any]:
    """Return the manifest of a run that is starting (status ``"incomplete"``).

    ``branches`` is the number planned so far. A run with a ``target_ci`` adds rounds,
    listed in ``rounds`` as each ends, and ``chunk_size`` is then ``None`` when each round
    takes its own default.
    """
    rounds: dict[str, Any] = {} if target_ci is None else {"rounds": []}
    return {
        "status": "incomplete",
        "scenario": model.name,
        "file": model.file,
        "sha256": model.source_sha256,
        **({"includes": include_digests(model)} if model.includes else {}),
        "sim_version": sim_version(),
        "seed": seed,
        "branches": branches,
        "horizon": model.horizon,
        "unit": model.unit,
        "start": None if model.start is None else model.start.isoformat(),
        **_vantage(model),
        "variant": model.variant,
        "overrides": dict(model.overrides),
        **({"notes": list(model.notes)} if model.notes else {}),
        "executor": executor,
        "workers": workers,
        "chunk_size": chunk_size,
        "target_ci": target_ci,
        "max_branches": max_branches,
        "stop_reason": None,
        **rounds,
        "started_at": started_at,
        "finished_at": None,
        "wall_seconds": None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": metadata.version("simpy"),
        "pyarrow": pa.__version__,
    }


def complete_manifest(
    manifest: Mapping[str, Any],
    wall_seconds: float,
    *,
    executor: str,
    workers: int,
    stop_reason: str | None = None,
) -> dict[str, Any]:
    """Return ``manifest`` marked complete, with its end time and wall-clock seconds.

    ``stop_reason`` says why the run stopped; by default, that it ran the branches asked for.
    """
    reason = stop_reason or f"branches: ran the {manifest['branches']} branches asked for"
    return {
        **manifest,
        "status": "complete",
        "executor": executor,
        "workers": workers,
        "stop_reason": reason,
        "finished_at": now_iso(),
        "wall_seconds": round(wall_seconds, 3),
    }


def summary_records(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one flat record per outcome: ``outcome`` first, nested fields joined by ``_``.

    ``{"survival_at_horizon": {"estimate": 0.4}}`` becomes ``survival_at_horizon_estimate``;
    lists are left out, since a tidy row holds scalars only.
    """
    records = []
    for name, entry in summary["outcomes"].items():
        record: dict[str, Any] = {"outcome": name}
        record.update(_flatten(entry))
        records.append(record)
    return records


def _flatten(entry: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings of scalars into one level."""
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}_"))
        elif not isinstance(value, list | tuple):
            flat[f"{prefix}{key}"] = value
    return flat


# --- sinks: where chunks go as they arrive -----------------------------------------------------


class Sink(Protocol):
    """Receives the chunks of a run in whatever order they finish."""

    def add(self, start: int, stop: int, chunk: Chunk) -> None:
        """Take the chunk of branches ``start..stop-1``."""

    def finished_ranges(self) -> set[tuple[int, int]]:
        """Return the ``(start, stop)`` ranges of the chunks received so far."""

    def count(self, targets: Sequence[Target]) -> dict[str, tuple[int, int]]:
        """Return ``(successes, trials)`` of each target over the branches received."""


class MemorySink:
    """Keeps the chunks of a run in memory, for runs that write nothing."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._chunks: dict[int, Chunk] = {}

    def add(self, start: int, stop: int, chunk: Chunk) -> None:
        """Keep the chunk of branches ``start..stop-1``."""
        check_rows(start, stop, chunk.rows)
        self._chunks[start] = chunk

    def finished_ranges(self) -> set[tuple[int, int]]:
        """Return the ``(start, stop)`` ranges of the chunks received so far."""
        return {(start, start + chunk.rows.num_rows) for start, chunk in self._chunks.items()}

    def count(self, targets: Sequence[Target]) -> dict[str, tuple[int, int]]:
        """Return ``(successes, trials)`` of each target over the branches received."""
        return tally((chunk.rows for chunk in self._chunks.values()), targets)

    def table(self) -> pa.Table:
        """Return the table of every chunk received, in branch order."""
        ordered = [self._chunks[start].rows for start in sorted(self._chunks)]
        return pa.Table.from_batches(ordered, schema=self.schema)

    def series(self) -> np.ndarray | None:
        """Return the trajectories of every chunk, (branches, names, times), or ``None``."""
        ordered = [self._chunks[start].series for start in sorted(self._chunks)]
        if not ordered or ordered[0] is None:
            return None
        return np.concatenate([s for s in ordered if s is not None])


def check_rows(start: int, stop: int, batch: pa.RecordBatch) -> None:
    """Refuse a batch whose row count does not match its branch range."""
    if batch.num_rows != stop - start:
        raise RuntimeError(f"chunk {start}..{stop} came back with {batch.num_rows} rows")


def partial_path(out: Path) -> Path:
    """Return ``<out>.partial``, the sibling where a run into ``out`` is written."""
    absolute = Path(os.path.abspath(out))
    return absolute.with_name(absolute.name + PARTIAL)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object from ``path``, as a usage error if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read it as JSON: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def open_run(directory: str | Path) -> RunResult:
    """Return the run written in ``directory``; refuse anything but a complete run."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: not a run directory (it is a file)")
    if not path.is_dir():
        partial = partial_path(path)
        if partial.is_dir():
            raise UsageError(
                f"{path}: no run directory, but an incomplete run is in {partial}; "
                f"finish it with 'sim run --resume {path}'"
            )
        raise UsageError(f"{path}: no such run directory")
    if not (path / MANIFEST).is_file():
        raise UsageError(f"{path}: not a run directory (it has no {MANIFEST})")
    manifest = read_json(path / MANIFEST)
    status = manifest.get("status")
    if status != "complete":
        raise UsageError(
            f"{path}: the run is incomplete (manifest status {status!r}); "
            f"finish it with 'sim run --resume {path}' or run it again"
        )
    for name in (SUMMARY, BRANCHES):
        if not (path / name).is_file():
            raise UsageError(f"{path}: not a run directory (it has no {name})")
    return RunResult(read_json(path / SUMMARY), manifest, path)
