"""The ``sim`` command line: a thin typer layer, the only code that prints.

Each command family lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

from sim.cli._app import app, main

__all__ = ["app", "main"]
