"""Shared output of the analysis commands (sweep, compare, sensitivity): cells, CSV, Markdown."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli._output import format_value
from sim.errors import UsageError
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ExecutorOption",
    "QuietOption",
    "ResumeOption",
    "SchedulerOption",
    "SetOption",
    "WorkersOption",
    "csv_text",
    "estimate_cell",
    "markdown_table",
    "write_table",
]

# Options every analysis command takes, spelled as `sim run` spells them.
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter everywhere: NAME=VALUE (repeatable)."),
]
ExecutorOption = Annotated[
    ExecutorKind, typer.Option(help="Where branches run: this process, local processes, dask.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(help="Worker processes (process, dask). (default all available CPUs)"),
]
SchedulerOption = Annotated[
    str | None, typer.Option(help="Address of a dask scheduler. (default a local cluster)")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress bar.")]
ResumeOption = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        metavar="DIR",
        help="Finish the interrupted result in DIR (or DIR.partial): run its missing chunks.",
    ),
]


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def estimate_cell(estimate: Any, low: Any, high: Any) -> str:
    """Return ``estimate [low, high]``, leaving out an interval that is undefined."""
    if _missing(low) and _missing(high):
        return format_value(estimate)
    return f"{format_value(estimate)} [{format_value(low)}, {format_value(high)}]"


def csv_text(columns: Sequence[str], records: Sequence[Mapping[str, Any]]) -> str:
    """Return ``records`` as CSV with ``columns``; missing numbers are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({c: "" if _missing(record[c]) else record[c] for c in columns})
    return buffer.getvalue()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a GitHub-flavoured Markdown table of already formatted cells."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def check_table_path(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, a table file that :func:`write_table` could not write."""
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(f"{option} {path}: expected a .csv or .parquet file name")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: no such directory {path.parent}")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory")


def write_table(table: pa.Table, path: Path, option: str = "--out") -> None:
    """Write ``table`` as CSV or Parquet, chosen by the file's suffix."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    check_table_path(path, option)
    if path.suffix.lower() == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
