"""The ``sim`` command line: a thin typer layer, the only code that prints."""

from __future__ import annotations

import typer

from sim import __version__

app = typer.Typer(
    name="sim",
    help="Scenario modelling: run Monte Carlo branches of scenario files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Scenario modelling: run Monte Carlo branches of scenario files."""


@app.command()
def version() -> None:
    """Print the version of sim."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``sim`` console script."""
    app()
