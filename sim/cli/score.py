"""``sim score``: Brier, log and CRPS scores of runs' forecasts against a resolutions file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import estimate_cell, markdown_table
from sim.cli._app import app, reporting_errors
from sim.cli._evidence import EvidenceFormat, FormatOption, show
from sim.cli._output import format_value, print_table

if TYPE_CHECKING:
    from sim.analysis.evidence.score import Scores

__all__ = ["score_command"]


@app.command("score")
def score_command(
    directories: Annotated[
        list[Path],
        typer.Argument(help="Run directories whose forecasts are scored.", show_default=False),
    ],
    resolutions: Annotated[
        Path,
        typer.Option(
            "--resolutions",
            metavar="FILE",
            help="YAML or JSON: resolutions: [{outcome, resolved, date, source, run?}, ...].",
            show_default=False,
        ),
    ],
    reference: Annotated[
        float | None,
        typer.Option(
            "--reference",
            metavar="P",
            help="Reference forecast of every yes/no question (default the file's "
            "`reference`, else 0.5).",
        ),
    ] = None,
    bins: Annotated[
        int, typer.Option("--bins", help="Bins of the calibration table and decomposition.")
    ] = 10,
    fmt: FormatOption = EvidenceFormat.table,
) -> None:
    """Score the runs' forecasts against what happened: Brier and log scores per question
    and in total, beside a reference forecast, Murphy's decomposition (with at least 10
    yes/no questions), a calibration table, and the CRPS of numbers.

    Each resolution names an outcome or indicator of one run (`run:` picks one when several
    have it); one that matches none is an error located in the file (exit 2).
    """
    from sim.analysis.evidence.score import score

    with reporting_errors():
        result = score(directories, resolutions, reference=reference, bins=bins)
    _show(result, fmt)


def _show(result: Scores, fmt: EvidenceFormat) -> None:
    from sim.analysis.evidence.score import COLUMNS

    header = ["question", "resolved", "forecast", "brier", "log", "ref. brier", "crps", "pit"]
    cells = [
        [
            r["outcome"], r["resolved"], format_value(r["forecast"]), format_value(r["brier"]),
            format_value(r["log_score"]), format_value(r["reference_brier"]),
            format_value(r["crps"]), format_value(r["pit"]),
        ]
        for r in result.rows
    ]
    title = f"Scores against {result.resolutions} (brier and log: lower is better)"
    notes = [_totals(result)]
    if result.decomposition is not None:
        d = result.decomposition
        notes.append(
            f"Murphy ({d['bins']} bins): brier {format_value(d['brier'])} = reliability "
            f"{format_value(d['reliability'])} - resolution {format_value(d['resolution'])} "
            f"+ uncertainty {format_value(d['uncertainty'])} + remainder "
            f"{format_value(d['remainder'])}"
        )
    if result.note:
        notes.append(f"note: {result.note}")
    notes.append("scores by scoringrules (brier_score, log_score, crps_ensemble)")
    show(
        fmt, data=result.to_dict(), columns=COLUMNS, records=result.rows, header=header,
        cells=cells, title=title, notes=notes, right=set(range(2, len(header))),
    )  # fmt: skip
    if fmt in (EvidenceFormat.table, EvidenceFormat.markdown) and result.calibration:
        _calibration(result, markdown=fmt is EvidenceFormat.markdown)


def _totals(result: Scores) -> str:
    t = result.totals
    parts = [f"{t['questions']} questions"]
    if t.get("yes_no"):
        parts.append(
            f"mean brier {format_value(t['brier'])} (reference {format_value(t['reference'])}: "
            f"{format_value(t['reference_brier'])}, skill {format_value(t['brier_skill'])}), "
            f"mean log {format_value(t['log_score'])} (reference "
            f"{format_value(t['reference_log_score'])}, skill {format_value(t['log_skill'])})"
        )
    if t.get("numeric"):
        parts.append(f"mean crps {format_value(t['crps'])} over {t['numeric']} numbers")
    return "; ".join(parts)


def _calibration(result: Scores, *, markdown: bool) -> None:
    header = ["forecast bin", "questions", "mean forecast", "observed [95% CI]"]
    cells = [
        [
            f"[{c['bin_low']:g}, {c['bin_high']:g})", str(c["questions"]),
            format_value(c["mean_forecast"]),
            estimate_cell(c["observed"], c["ci_low"], c["ci_high"]),
        ]
        for c in result.calibration
    ]
    title = "Calibration: forecast bins against observed frequency (Wilson)"
    if markdown:
        typer.echo(f"\n{title}\n\n{markdown_table(header, cells)}")
    else:
        print_table(header, cells, title=title, right={1, 2, 3})
