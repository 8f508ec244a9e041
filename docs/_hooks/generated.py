"""MkDocs hook: pages that are generated from the code, so they cannot drift from it.

``<!-- generated: cli -->`` becomes the reference of every command and option, read from
the typer application; ``<!-- generated: format-fields -->`` becomes a table of every field
of the scenario format with its description, read from the pydantic models' JSON Schema.
Every page's table cells may hold code with escaped pipes (a backslash before each, as
GitHub reads them); Python-Markdown would show the backslash, so such code becomes ``<code>`` here.
"""

from __future__ import annotations

import html
import re
from typing import Any

import typer.main

try:  # typer vendors its own copy of click since 0.20
    from typer._click.core import Context
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import Context  # type: ignore[no-redef]


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the placeholders of a page with what the code says."""
    if "<!-- generated: cli -->" in markdown:
        markdown = markdown.replace("<!-- generated: cli -->", cli_reference())
    if "<!-- generated: format-fields -->" in markdown:
        markdown = markdown.replace("<!-- generated: format-fields -->", format_fields())
    return re.sub(r"^\|.*\|[ \t]*$", _table_row, markdown, flags=re.M)


def _table_row(row: re.Match[str]) -> str:
    """A table row whose code spans with escaped pipes are written as HTML code."""
    return re.sub(r"`([^`\n]*\\\|[^`\n]*)`", _html_code, row.group(0))


def _html_code(span: re.Match[str]) -> str:
    text = html.escape(span.group(1).replace("\\|", "|"), quote=False)
    for char in "|[]*_":  # as entities, so that Markdown reads no link or emphasis in them
        text = text.replace(char, f"&#{ord(char)};")
    return f"<code>{text}</code>"


def cli_reference() -> str:
    """Every command of ``sim`` with its usage, help text and options, as markdown."""
    from sim.cli import app

    group: Any = typer.main.get_command(app)  # a group: list_commands, get_command
    context = Context(group, info_name="sim")
    parts: list[str] = []
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        sub = Context(command, info_name=name, parent=context)
        usage = " ".join(command.collect_usage_pieces(sub))
        parts.append(f"## `sim {name}`\n\n```text\nsim {name} {usage}\n```\n")
        parts.append((command.help or "").strip() + "\n")
        rows = []
        for param in command.params:
            if param.param_type_name != "option" or getattr(param, "hidden", False):
                continue
            flags = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            shown = "" if param.default in (None, False, ()) else f"`{param.default}`"
            help_text = _cell(param.help or "")
            rows.append(f"| {flags} | {shown} | {help_text} |")
        if rows:
            parts.append("| option | default | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def _cell(text: str) -> str:
    """Text for a table cell: pipes and brackets escaped (``a[b][c]`` is no link then)."""
    for char in "|[]":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def format_fields() -> str:
    """Every object of the scenario format's JSON Schema: its fields and their descriptions."""
    from sim.format.scenario import json_schema

    schema = json_schema()
    definitions: dict[str, Any] = {"Scenario": schema, **schema.get("$defs", {})}
    parts: list[str] = []
    first_the_file = sorted(definitions.items(), key=lambda item: (item[0] != "Scenario", item[0]))
    for name, definition in first_the_file:
        properties = definition.get("properties")
        if not properties:
            continue
        parts.append(f"### {definition.get('title', name)}\n")
        about = (definition.get("description") or "").strip()
        if about:
            parts.append(about.replace("\n", " ") + "\n")
        required = set(definition.get("required", []))
        rows = ["| field | required | description |", "|---|---|---|"]
        for field, spec in properties.items():
            text = _cell(spec.get("description") or "")
            rows.append(f"| `{field}` | {'yes' if field in required else ''} | {text} |")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)
