"""The command line in-process: invoke ``sim`` and check that an error is one located line."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from sim.cli import app


def invoke(*args: str | Path | int) -> Result:
    """Run ``sim ARGS...`` in this process and return what it printed and its exit status."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result: Result, message: str, code: int = 2) -> None:
    """The command failed with ``code``, printing one line on stderr matching ``message``."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
