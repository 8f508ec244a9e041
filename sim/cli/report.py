"""``sim report``: markdown sections generated from finished runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli._app import app, fail, reporting_errors


@app.command()
def report(
    results: Annotated[
        Path,
        typer.Argument(help="Folder of run directories.", exists=True, file_okay=False),
    ] = Path("results"),
    readme: Annotated[
        Path | None,
        typer.Option(help="Rewrite the generated section of this markdown file.", dir_okay=False),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="With --readme: exit 1 if the section is stale.")
    ] = False,
) -> None:
    """Render one markdown section per scenario from the runs in RESULTS.

    Each section lists the questions the scenario's outcomes answer with the baseline's
    estimates, then every variant's estimates. With --readme, the text between the report
    markers of that file is replaced (or, with --check, compared).
    """
    from sim.analysis.report import find_runs, render, replace_section

    if check and readme is None:
        fail("--check needs --readme FILE: the file whose section to compare")
    with reporting_errors():
        base = Path.cwd()
        section = render(find_runs(results), base)
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
    typer.echo(f"{readme}: section rewritten from {results}")
