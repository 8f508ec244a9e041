"""``sim indicators``: likelihood ratios of signposts for a hypothesis, or the ACH matrix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import estimate_cell
from sim.cli._app import app, reporting_errors
from sim.cli._evidence import EvidenceFormat, FormatOption, show
from sim.cli._output import format_value

if TYPE_CHECKING:
    from sim.analysis.evidence.indicators import Diagnosticity

__all__ = ["indicators_command"]


@app.command("indicators")
def indicators_command(
    directory: Annotated[Path, typer.Argument(help="Run directory written by sim run.")],
    hypothesis: Annotated[
        str,
        typer.Option(
            "--hypothesis",
            metavar="OUTCOME",
            help="The hypothesis: a probability outcome, a first_of outcome's category "
            "(NAME=LABEL: categories are competing hypotheses), or any observable "
            "(NAME[=true|false][@DATE]).",
            show_default=False,
        ),
    ],
    against: Annotated[
        list[str] | None,
        typer.Option(
            "--against",
            metavar="OUTCOME",
            help="A competing hypothesis (repeatable): the ACH matrix, each against the first.",
        ),
    ] = None,
    indicator: Annotated[
        list[str] | None,
        typer.Option(
            "--indicator",
            metavar="NAME[@DATE]",
            help="Assess these signposts (repeatable; default every indicator of the scenario).",
        ),
    ] = None,
    fmt: FormatOption = EvidenceFormat.table,
) -> None:
    """How well each indicator tells a hypothesis from its alternatives.

    For each indicator: P(indicator | H) and P(indicator | not H) with Wilson intervals,
    their likelihood ratio with a 95% Katz log interval, and the odds of H before and after
    seeing it; sorted by diagnosticity (|ln LR|). With --against, the Analysis of Competing
    Hypotheses: P(indicator | H) under each hypothesis, and the first against each other.
    """
    from sim.analysis.evidence.indicators import indicators

    with reporting_errors():
        result = indicators(directory, hypothesis, against=against or (), signposts=indicator or ())
    _show(result, fmt)


def _show(result: Diagnosticity, fmt: EvidenceFormat) -> None:
    from sim.analysis.evidence.indicators import COLUMNS

    first = result.hypotheses[0]
    if result.competing:
        header, cells = _matrix_cells(result)
        title = (
            f"Competing hypotheses: P(indicator | H) [95% CI], {first['hypothesis']} against "
            "each"
        )
    else:
        header, cells = _single_cells(result)
        title = (
            f"Indicators of {first['hypothesis']} (prior {format_value(first['prior'])}, "
            f"{first['n']} of {result.branches} branches), most diagnostic first"
        )
    priors = ", ".join(f"{h['hypothesis']} {format_value(h['prior'])}" for h in result.hypotheses)
    notes = [
        f"priors: {priors}; P(I | H): Wilson 95%; LR = P(I | H) / P(I | against): Katz log 95% "
        "(0.5 added to every count when one is zero)"
    ]
    if result.competing and any(r["overlap"] for r in result.rows):
        notes.append("the hypotheses share branches: their LR intervals are approximate")
    show(
        fmt, data=result.to_dict(), columns=COLUMNS, records=result.rows, header=header,
        cells=cells, title=title, notes=notes, right=set(range(1, len(header))),
    )  # fmt: skip


def _single_cells(result: Diagnosticity) -> tuple[list[str], list[list[str]]]:
    header = ["indicator", "P(I | H)", "P(I | not H)", "LR", "odds before -> after", "P(H | I)"]
    cells = [
        [
            r["indicator"],
            estimate_cell(r["p_given_h"], r["p_given_h_ci_low"], r["p_given_h_ci_high"]),
            estimate_cell(r["p_given_against"], r["p_given_against_ci_low"],
                          r["p_given_against_ci_high"]),
            estimate_cell(r["likelihood_ratio"], r["lr_ci_low"], r["lr_ci_high"]),
            f"{format_value(r['prior_odds'])} -> {format_value(r['posterior_odds'])}",
            format_value(r["posterior"]),
        ]
        for r in result.rows
    ]
    return header, cells


def _matrix_cells(result: Diagnosticity) -> tuple[list[str], list[list[str]]]:
    names = [str(h["hypothesis"]) for h in result.hypotheses]
    cell = {(x["indicator"], x["hypothesis"]): x for x in result.likelihoods}
    ratios = {(r["indicator"], r["against"]): r for r in result.rows}
    header = ["indicator", *names, *(f"LR {names[0]} : {n}" for n in names[1:]), "diagnosticity"]
    cells = []
    for indicator in dict.fromkeys(r["indicator"] for r in result.rows):
        row = [indicator]
        row += [estimate_cell(cell[indicator, n]["p_given_h"], cell[indicator, n]["ci_low"],
                              cell[indicator, n]["ci_high"]) for n in names]  # fmt: skip
        for n in names[1:]:
            r = ratios[indicator, n]
            row.append(estimate_cell(r["likelihood_ratio"], r["lr_ci_low"], r["lr_ci_high"]))
        row.append(format_value(ratios[indicator, names[1]]["diagnosticity"]))
        cells.append(row)
    return header, cells
