"""``sim discover``: PRIM boxes of the parameters under which an outcome happens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli._analysis import markdown_table
from sim.cli._app import app, reporting_errors
from sim.cli._evidence import EvidenceFormat, FormatOption, show
from sim.cli._output import format_value, print_table

if TYPE_CHECKING:
    from sim.analysis.evidence.discover import Discovery

__all__ = ["discover_command"]

_SHOWN_STEPS = 12


@app.command("discover")
def discover_command(
    directory: Annotated[Path, typer.Argument(help="Run directory written by sim run.")],
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            metavar="NAME",
            help="A probability outcome, an indicator, a first_of category (NAME=LABEL), or "
            "a number outcome with --threshold.",
            show_default=False,
        ),
    ],
    threshold: Annotated[
        str | None,
        typer.Option(
            "--threshold",
            metavar="[OP]X",
            help="When a number outcome counts as happening: '>= 3', '< 24' (default >= for "
            "values, <= for times).",
        ),
    ] = None,
    min_coverage: Annotated[
        float,
        typer.Option(
            "--min-coverage",
            help="The chosen box is the densest with at least this coverage.",
        ),
    ] = 0.8,
    fmt: FormatOption = EvidenceFormat.table,
) -> None:
    """Scenario discovery: the ranges of the uncertain parameters under which the outcome
    is most likely (PRIM, through EMA Workbench), with the peeling trajectory, the chosen
    box and the parameters ranked by importance.

    Needs EMA Workbench: pip install 'sim[discover]'.
    """
    from sim.analysis.evidence.discover import discover

    with reporting_errors():
        result = discover(directory, outcome, threshold=threshold, min_coverage=min_coverage)
    _show(result, fmt)


def _range(r: dict[str, Any] | Any) -> tuple[str, str]:
    if r["values"] is not None:
        return r["values"], "-"
    return (f"[{format_value(r['low'])}, {format_value(r['high'])}]",
            f"[{format_value(r['full_low'])}, {format_value(r['full_high'])}]")  # fmt: skip


def _show(result: Discovery, fmt: EvidenceFormat) -> None:
    from sim.analysis.evidence.discover import BOX_COLUMNS

    chosen = result.trajectory[result.chosen]
    importance = {r["parameter"]: r for r in result.importance}
    header = ["parameter", "in the box", "over all branches", "quasi-p", "importance"]
    cells = [
        [r["parameter"] + ("" if r["restricted"] else " (free)"), *_range(r),
         format_value(r["qp_value"]), format_value(importance.get(r["parameter"], {}).get(
             "importance"))]
        for r in result.box
    ]  # fmt: skip
    title = (
        f"{result.outcome}: box of step {result.chosen} ({result.rule}): coverage "
        f"{format_value(chosen['coverage'])}, density {format_value(chosen['density'])} "
        f"(base rate {format_value(result.base_rate)}), {chosen['restricted']} restricted, "
        f"{chosen['n']} of {result.branches} branches"
    )
    notes = ["PRIM: ema_workbench.analysis.prim; importance: EMA feature scoring (extra trees)"]
    show(
        fmt, data=result.to_dict(), columns=BOX_COLUMNS, records=result.box, header=header,
        cells=cells, title=title, notes=notes, right={3, 4},
    )  # fmt: skip
    if fmt in (EvidenceFormat.table, EvidenceFormat.markdown):
        _trajectory(result, markdown=fmt is EvidenceFormat.markdown)


def _ordinal(n: int) -> str:
    """``2nd``, ``3rd``, ``5th``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _trajectory(result: Discovery, *, markdown: bool) -> None:
    """The peeling trajectory, thinned to about a dozen steps (always the chosen one)."""
    steps = result.trajectory
    every = max(1, len(steps) // _SHOWN_STEPS)
    shown = [t for t in steps if t["step"] % every == 0 or t["step"] in
             (result.chosen, steps[-1]["step"])]  # fmt: skip
    header = ["step", "coverage", "density", "restricted", "branches", ""]
    cells = [
        [str(t["step"]), format_value(t["coverage"]), format_value(t["density"]),
         str(t["restricted"]), str(t["n"]), "chosen" if t["step"] == result.chosen else ""]
        for t in shown
    ]  # fmt: skip
    thinned = "all shown" if every == 1 else f"every {_ordinal(every)} shown"
    title = f"Peeling trajectory ({len(steps)} steps; {thinned})"
    if markdown:
        typer.echo(f"\n{title}\n\n{markdown_table(header, cells)}")
    else:
        print_table(header, cells, title=title, right={0, 1, 2, 3, 4})
