"""Rich output of the command line: summary tables and the progress bar.

This is the only module that imports rich; every command that shows a table or a bar
calls it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

__all__ = [
    "format_value",
    "plural",
    "print_series",
    "print_summary",
    "print_table",
    "progress_bar",
    "summary_notes",
]

# Quantile columns shown when some outcome has them, in this order.
_QUANTILES = ("p5", "p50", "p95")


def format_value(value: Any) -> str:
    """Return a short display form of a summary value: 4 significant digits, ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _interval(entry: Mapping[str, Any]) -> str:
    """Return ``[low, high]`` of an outcome's interval, or ``-`` when it is undefined."""
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if low is None and high is None:
        return "-"
    return f"[{format_value(low)}, {format_value(high)}]"


def plural(n: object, noun: str) -> str:
    """Return ``"1 branch"``, ``"2 branches"``: a count with its noun in the right number."""
    ending = "es" if noun.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{n} {noun if n == 1 else noun + ending}"


def _title(summary: Mapping[str, Any]) -> str:
    """Return the title line of a run's summary: scenario, variant, branches and seed."""
    name = str(summary.get("scenario", "run"))
    if summary.get("variant"):
        name += f" ({summary['variant']})"
    return f"{name}: {plural(summary.get('branches'), 'branch')}, seed {summary.get('seed')}"


def summary_notes(summary: Mapping[str, Any]) -> list[str]:
    """Return the lines printed under a summary table: units, what ``-`` means, and notes.

    Times are in the scenario's unit; a ``-`` is a number that is undefined, said once for
    each reason that applies; an outcome whose numbers cannot be summarised says why.
    """
    outcomes: Mapping[str, Mapping[str, Any]] = summary["outcomes"]
    lines: list[str] = []
    times = [e for e in outcomes.values() if e.get("kind") in ("time_to", "time_between")]
    if times:
        unit = summary.get("time_unit")
        units = f"{unit}s" if unit else "the time unit of the scenario"
        methods = {str(e.get("ci_method", "")).split("_")[0] for e in times}
        method = "Aalen-Johansen" if methods == {"aalen"} else "Kaplan-Meier"
        if methods >= {"aalen", "kaplan"}:
            method = "Kaplan-Meier (Aalen-Johansen where stop_when competes)"
        lines.append(f"times in {units}; a time's estimate is its {method} median")
    if any(e.get("estimate") is None or e.get("p50", 0) is None for e in times):
        lines.append(
            "-: not reached by the horizon (a median where fewer than half of the branches "
            "saw the event; p5, p95 where fewer than 5%, 95% did)"
        )
    if any(e.get("n", 0) == 1 and e.get("ci_low") is None for e in outcomes.values()):
        lines.append("-: no interval from a single branch")
    lines += [f"{name}: {entry['note']}" for name, entry in outcomes.items() if entry.get("note")]
    return lines


def _rows(name: str, entry: Mapping[str, Any], quantiles: Sequence[str]) -> list[list[str]]:
    """The table rows of one outcome: one, or one per category of a ``first_of``."""
    kind = str(entry.get("kind", ""))
    if entry.get("given") is not None:
        kind += f" | {entry['given']}"
    categories: Mapping[str, Mapping[str, Any]] = entry.get("categories") or {}
    if categories:
        return [
            [f"{name} = {label}", kind, format_value(entry.get("n")),
             format_value(category.get("estimate")), _interval(category), *("" for _ in quantiles)]
            for label, category in categories.items()
        ]  # fmt: skip
    return [
        [
            name,
            kind,
            format_value(entry.get("n")),
            format_value(entry.get("estimate")),
            _interval(entry),
            *(format_value(entry.get(q)) for q in quantiles),
        ]
    ]


def print_summary(summary: Mapping[str, Any]) -> None:
    """Print a run's summary as a table on stdout: one row per outcome.

    Columns: outcome, kind (with the ``given`` condition, after ``|``), n, estimate, the 95%
    interval, p5/p50/p95 where some outcome has them (value, count and time outcomes), and
    the question where some outcome states one. A ``first_of`` outcome has one row per
    category, ``NAME = LABEL``. Indicators follow, with the share of branches where each
    appeared by its deadline.
    """
    outcomes: Mapping[str, Mapping[str, Any]] = summary["outcomes"]
    quantiles = [q for q in _QUANTILES if any(q in e for e in outcomes.values())]
    questions = any(e.get("question") for e in outcomes.values())
    header = ["outcome", "kind", "n", "estimate", "95% CI", *quantiles]
    rows = []
    for name, entry in outcomes.items():
        found = _rows(name, entry, quantiles)
        if questions:
            found = [[*row, str(entry.get("question") or "")] for row in found]
        rows.extend(found)
    for name, entry in (summary.get("indicators") or {}).items():
        by = entry.get("date") or format_value(entry.get("by"))
        row = [name, f"indicator by {by}", format_value(entry.get("n")),
               format_value(entry.get("estimate")), _interval(entry), *("" for _ in quantiles)]
        rows.append([*row, ""] if questions else row)  # fmt: skip
    if questions:
        header.append("question")
    right = {2, 3, *range(5, 5 + len(quantiles))}
    print_table(header, rows, title=_title(summary), right=right)
    for line in summary_notes(summary):
        Console(highlight=False, soft_wrap=True).print(line, markup=False)


def print_series(summary: Mapping[str, Any], name: str, entry: Mapping[str, Any]) -> None:
    """Print one recorded name's trajectory summary: a row per sample time."""
    keys = [k for k in ("date", "mean", "p5", "p25", "p50", "p75", "p95", "stopped") if k in entry]
    header = ["t", *keys]
    rows = [
        [format_value(t), *(format_value(entry[k][i]) for k in keys)]
        for i, t in enumerate(entry["t"])
    ]
    title = f"{_title(summary)}: {name} over time"
    print_table(
        header, rows, title=title, right=set(range(len(header))) - {1 if "date" in entry else -1}
    )


def print_split(split: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    """Print a run's outcomes split by a column: the whole run's row, then each group's."""
    column = str(split["by"])
    header = ["outcome", column, "share", "n", "estimate", "95% CI"]
    rows = []
    for name in summary["outcomes"]:
        for group in split["groups"]:
            entry = group["outcomes"][name]
            share = group.get("share")
            rows.append(
                [
                    name if group is split["groups"][0] else "",
                    str(group["value"]),
                    "" if share is None else f"{share:.1%}",
                    format_value(entry.get("n")),
                    format_value(entry.get("estimate")),
                    _interval(entry),
                ]
            )
    title = f"{_title(summary)}, by {column}"
    print_table(header, rows, title=title, right={2, 3, 4})


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    right: set[int] | None = None,
) -> None:
    """Print a table of already formatted cells on stdout; ``right`` aligns those columns."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if right and i in right else "left")
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        # Piped or captured output has no width to fit: print the table at its natural
        # width rather than wrap cells at rich's fallback of 80 columns.
        natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console = Console(width=max(console.width, natural))
    console.print(table)


class _RateColumn(ProgressColumn):
    """The branches finished per second."""

    def render(self, task: Task) -> Text:
        """Return the current speed, once rich has measured it."""
        speed = task.finished_speed or task.speed
        return Text(
            "" if speed is None else f"{speed:,.0f} branches/s", style="progress.data.speed"
        )


@contextmanager
def progress_bar(
    *, enabled: bool, description: str = "branches"
) -> Iterator[Callable[[int, int], None] | None]:
    """Show a progress bar on stderr while the block runs; yield its update callback.

    The callback takes ``(done, total)``. When ``enabled`` is false nothing is shown and
    ``None`` is yielded, which run functions accept as "no progress reports".
    """
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        started = False

        def update(done: int, total: int) -> None:
            nonlocal started
            if not started:
                # The first report may already count finished work (a resumed run): start
                # the speed estimate there rather than count it as instant progress.
                bar.reset(task, total=total, completed=done)
                started = True
            else:
                bar.update(task, total=total, completed=done)

        yield update
