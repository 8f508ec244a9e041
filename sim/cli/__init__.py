"""The ``sim`` command line: a thin typer layer, the only code that prints.

Each command family lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sim.cli.catalog  # registers `sim list`
import sim.cli.compare  # registers `sim compare`
import sim.cli.discover  # registers `sim discover`
import sim.cli.given  # registers `sim given`
import sim.cli.indicators  # registers `sim indicators`
import sim.cli.plot  # registers `sim plot`
import sim.cli.report  # registers `sim report`
import sim.cli.run  # registers `sim run` and `sim summary`
import sim.cli.score  # registers `sim score`
import sim.cli.sensitivity  # registers `sim sensitivity`
import sim.cli.sweep  # registers `sim sweep`
import sim.cli.trace  # registers `sim trace`
import sim.cli.validate  # noqa: F401 - registers `sim validate` and `sim schema`
from sim.cli._app import app, main

__all__ = ["app", "main"]
