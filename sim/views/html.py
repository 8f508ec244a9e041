"""HTML through Jinja2 templates, with every value escaped.

Scenario text is untrusted: titles, descriptions, docs, quotes and names reach the page
only through templates whose autoescaping is always on, so ``<script>`` in a title is shown
as text. Templates are files in ``templates/`` beside this module (and beside the report's
own module for the report page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["Table", "environment", "render", "result_html"]


def environment(loader: BaseLoader) -> Environment:
    """Return a Jinja2 environment that escapes everything and refuses undefined names."""
    return Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_ENV = environment(PackageLoader("sim.views", "templates"))


def render(template: str, **context: Any) -> str:
    """Render one of this package's templates with ``context``."""
    return _ENV.get_template(template).render(**context)


@dataclass(frozen=True)
class Table:
    """A table of text cells: a header and rows; ``right`` lists the columns to align right."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    right: frozenset[int] = frozenset()


def result_html(
    title: str, subtitle: str, table: Table, figure: str | None = None, alt: str = ""
) -> str:
    """Return a result as a notebook shows it: a caption, a table and maybe a figure.

    ``figure`` is a ``data:`` URI of an image; ``alt`` describes it.
    """
    return render(
        "result.html.j2", title=title, subtitle=subtitle, table=table, figure=figure, alt=alt
    )
