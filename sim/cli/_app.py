"""The typer application and the one way commands report errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from sim.errors import SimError
from sim.version import __version__

try:  # typer vendors its own copy of click since 0.20; older releases use click itself
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as cli_errors  # type: ignore[no-redef]

app = typer.Typer(
    name="sim",
    help="Scenario modelling: run Monte Carlo branches of scenario files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` on stderr and leave with ``code`` (2: bad input)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn a user's mistake into one line on stderr and exit status 2, never a traceback.

    Besides :class:`SimError`, files that cannot be written or read (a parent that is a
    file, no permission, a damaged Parquet or JSON file in a run directory) are the
    user's to fix, so they are reported the same way.
    """
    import pyarrow as pa

    try:
        yield
    except SimError as error:
        fail(str(error))
    except OSError as error:
        where = error.filename if error.filename is not None else ""
        fail(f"{where}: {error.strerror or error}" if where else str(error))
    except (pa.ArrowException, json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"cannot read a result file: {error}")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def show_notes(notes: Iterable[str]) -> None:
    """Print what compiling changed and says so (``note: ...``), on stderr."""
    for note in notes:
        typer.echo(f"note: {note}", err=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Scenario modelling: run Monte Carlo branches of scenario files."""


@app.command()
def version() -> None:
    """Print the version of sim."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``sim`` console script: usage errors are one line too."""
    try:
        code = app(standalone_mode=False)
    except cli_errors.NoArgsIsHelpError as error:
        typer.echo(error.format_message())
        sys.exit(EXIT_USAGE)
    except cli_errors.UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "sim"
        message = error.format_message().replace("Value error, ", "")
        typer.echo(f"{where}: {message} (see '{where} --help')", err=True)
        sys.exit(EXIT_USAGE)
    except cli_errors.ClickException as error:
        typer.echo(f"sim: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
