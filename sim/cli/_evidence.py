"""What the evidence commands (given, indicators, score, discover) share: formats and output."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer

from sim.cli._analysis import csv_text, markdown_table
from sim.cli._output import print_table

__all__ = ["EvidenceFormat", "FormatOption", "show"]


class EvidenceFormat(StrEnum):
    """Output formats of the evidence commands."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


FormatOption = Annotated[
    EvidenceFormat, typer.Option("--format", "-f", help="Output format.")
]


def show(
    fmt: EvidenceFormat,
    *,
    data: Mapping[str, Any],
    columns: Sequence[str],
    records: Sequence[Mapping[str, Any]],
    header: Sequence[str],
    cells: Sequence[Sequence[str]],
    title: str,
    notes: Sequence[str] = (),
    right: set[int] | None = None,
) -> None:
    """Print a result: ``data`` as JSON, ``records`` as CSV, or ``cells`` as a table.

    ``notes`` follow a table or Markdown table, one line each; warnings go to stderr by the
    caller, so that piped JSON and CSV stay clean.
    """
    if fmt is EvidenceFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    if fmt is EvidenceFormat.csv:
        typer.echo(csv_text(columns, records), nl=False)
        return
    if fmt is EvidenceFormat.markdown:
        typer.echo(f"{title}\n\n{markdown_table(header, cells)}")
    else:
        print_table(header, cells, title=title, right=right)
    for note in notes:
        typer.echo(note)
