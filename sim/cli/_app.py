"""The typer application and the one way commands report errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer

from sim import __version__
from sim.errors import SimError

app = typer.Typer(
    name="sim",
    help="Scenario modelling: run Monte Carlo branches of scenario files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., object])

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` on stderr and leave with ``code`` (2: bad input)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn every :class:`SimError` into its lines on stderr and exit status 2."""
    try:
        yield
    except SimError as error:
        fail(str(error))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


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
    sys.exit(0)
