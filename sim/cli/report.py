"""``sim report``: markdown sections generated from finished runs, or one HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli._app import app, fail, reporting_errors
from sim.cli.plot import require_report_extra

__all__ = ["report"]


@app.command()
def report(
    results: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[DIR]...",
            help="Markdown: a folder of run directories (default: results). With --html: run, "
            "sweep and sensitivity directories of one scenario (the first run is the "
            "baseline; other runs, such as its variants, are compared with it) and comparison "
            "tables written by 'sim compare --out'.",
            show_default=False,
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write one self-contained HTML report of the DIRs: a brief, every outcome "
            "with its figure, variants, sweeps, sensitivity and the parameters.",
            dir_okay=False,
        ),
    ] = None,
    readme: Annotated[
        Path | None,
        typer.Option(help="Rewrite the generated section of this markdown file.", dir_okay=False),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="With --readme: exit 1 if the section is stale.")
    ] = False,
) -> None:
    """Report on finished results: markdown sections for a README, or an HTML page.

    Without --html: one markdown section per scenario from the runs in a folder, listing the
    questions its outcomes answer with the baseline's estimates, then every variant's; with
    --readme, the text between the report markers of that file is replaced (or, with
    --check, compared). With --html FILE: one page that opens offline and prints to PDF,
    with a plain-language brief generated from the numbers at the top.
    """
    if html is not None:
        if readme is not None or check:
            fail("--html writes a page; --readme and --check are for the markdown section")
        if not results:
            fail("--html needs at least one run, sweep or sensitivity directory")
        require_report_extra("sim report --html")
        from sim.report.page import write_report

        with reporting_errors():
            written = write_report(results, html)
        typer.echo(f"report: {written}")
        return
    _markdown(results or [Path("results")], readme, check)


def _markdown(results: list[Path], readme: Path | None, check: bool) -> None:
    """Print or write the markdown sections of the runs in one folder."""
    from sim.analysis.report import find_runs, render, replace_section

    if len(results) > 1:
        fail("the markdown report reads one folder of run directories; --html takes several")
    folder = results[0]
    if not folder.is_dir():
        fail(f"{folder}: no such folder of run directories")
    if check and readme is None:
        fail("--check needs --readme FILE: the file whose section to compare")
    with reporting_errors():
        base = Path.cwd()
        section = render(find_runs(folder), base)
        if readme is None:
            typer.echo(section)
            return
        old = readme.read_text(encoding="utf-8")
        new = replace_section(old, section, str(readme))
    if check:
        if new != old:
            fail(f"{readme}: the generated section is stale; run `sim report --readme {readme}`", 1)
        typer.echo(f"{readme}: up to date")
        return
    readme.write_text(new, encoding="utf-8")
    typer.echo(f"{readme}: section rewritten from {folder}")
