"""``sim plot``: the figure of a run's outcome, a sweep, a comparison or sensitivity indices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli._app import app, fail, reporting_errors
from sim.errors import UsageError, require_extra

__all__ = ["plot_command", "require_report_extra"]


def require_report_extra(command: str) -> None:
    """Leave with one line if matplotlib or Jinja2 (the ``report`` extra) is missing.

    Only looked up, not imported: the command imports them when it draws.
    """
    try:
        require_extra(command, "report", "matplotlib", "jinja2")
    except UsageError as error:
        fail(str(error))


@app.command("plot")
def plot_command(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="A run, sweep or sensitivity directory, a comparison table written by "
            "'sim compare --out', or an indicator table written by 'sim indicators "
            "--format csv'.",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]",
            help="The outcome, or the recorded trajectory, to draw (default: a run's "
            "probabilities at a glance; the first outcome of anything else).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The figure file: .png, .svg or .pdf (default ./DIR[__NAME].png)."
        ),
    ] = None,
    with_: Annotated[
        list[Path] | None,
        typer.Option(
            "--with",
            metavar="DIR",
            help="Another run of the same scenario (a variant, a --set) to draw beside DIR; "
            "repeatable.",
        ),
    ] = None,
    survival: Annotated[
        bool,
        typer.Option(
            "--survival",
            help="Draw a time to an event as the share of branches where it has not happened "
            "yet, rather than where it has.",
        ),
    ] = False,
) -> None:
    """Draw the figure of a result: a probability as a point with its interval, a time to an
    event as a Kaplan-Meier curve with its band (dates on the axis where the scenario has a
    start date), a value as a histogram with its 5-95% range and median, a recorded
    trajectory as a fan chart (median, 25-75% and 5-95% at each recorded time), a sweep as
    the outcome against the swept parameter (a heat map for two), a comparison as a forest
    plot of differences, sensitivity as a tornado chart, an indicator table as likelihood
    ratios on a log axis.
    """
    require_report_extra("sim plot")
    from sim.report.plot import plot

    with reporting_errors():
        written = plot(path, name, out=out, others=with_ or [], survival=survival)
    typer.echo(f"figure: {written}")
