"""``sim trace``: the timeline of one branch."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli._app import app, fail, reporting_errors, show_notes
from sim.cli._options import EngineOption, engine_name, parse_overrides

if TYPE_CHECKING:
    from sim.engine.common import BranchResult, TraceRecord
    from sim.model.compiled import CompiledModel


class TraceFormat(StrEnum):
    """Output formats of ``sim trace``."""

    table = "table"
    json = "json"
    csv = "csv"


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _exact(value: Any) -> str:
    """A value for CSV: floats at full precision, so that they match the branch table."""
    if isinstance(value, float) and not math.isnan(value):
        return repr(value)
    return _show(value)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _row(model: CompiledModel, result: BranchResult) -> dict[str, Any]:
    """The branch's row as the branch table has it: parameters, experts, then outcomes."""
    index = {p.name: j for j, p in enumerate(model.parameters)}
    values = iter(result.outcomes)
    row: dict[str, Any] = {}
    for column in model.columns:
        if column.role == "parameter":
            row[column.name] = result.parameters[index[column.name]]
        elif column.role == "expert":
            row[column.name] = result.experts[index[str(column.kind)]] if result.experts else None
        elif column.role in ("outcome", "detail", "indicator"):
            row[column.name] = next(values)
    return row


@app.command()
def trace(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    branch: Annotated[int, typer.Option("--branch", "-b", min=0, help="Branch number.")],
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the run.")] = 0,
    variant: Annotated[str | None, typer.Option(help="Variant of the scenario.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a parameter: NAME=VALUE (repeatable)."),
    ] = None,
    fmt: Annotated[TraceFormat, typer.Option("--format", "-f", help="Output format.")] = (
        TraceFormat.table
    ),
    engine: EngineOption = None,
) -> None:
    """Print the timeline of one branch: every event, firing and state change.

    The branch is the same as row BRANCH of `sim run FILE --seed SEED` (with the same
    --engine): same draws, same outcomes.
    """
    from sim.engine import run_branch_for
    from sim.engine.common import check_branch, check_seed
    from sim.errors import RunError
    from sim.model.compile import load_model
    from sim.montecarlo.runner import check_model_engine

    with reporting_errors():
        check_seed(seed)
        check_branch(branch)
        model = load_model(file, variant=variant, overrides=parse_overrides(set_ or []))
        check_model_engine(model, engine_name(engine))
        show_notes(model.notes)
    records: list[TraceRecord] = []
    result: BranchResult | None = None
    stopped: RunError | None = None
    try:
        result = run_branch_for(engine_name(engine))(model, seed, branch, records.append)
    except RunError as error:  # the docs promise the timeline up to the error
        stopped = error
    show = {TraceFormat.json: _print_json, TraceFormat.csv: _print_csv}.get(fmt, _print_table)
    show(model, branch, seed, records, result, stopped)
    if stopped is not None:
        fail(str(stopped))


def _print_json(
    model: CompiledModel,
    branch: int,
    seed: int,
    records: list[TraceRecord],
    result: BranchResult | None,
    stopped: Exception | None,
) -> None:
    """Print the timeline as one JSON object; a branch stopped by an error has no row."""
    row = None if result is None else _row(model, result)
    payload = {
        "scenario": model.name,
        "branch": branch,
        "seed": seed,
        "t_end": None if result is None else result.t_end,
        "events": [
            {
                "time": r.time,
                "process": r.process,
                "what": r.what,
                "changes": {n: [_plain(b), _plain(a)] for n, b, a in r.changes},
                **({"where": r.where} if r.where else {}),
            }
            for r in records
        ],
        "row": None if row is None else {k: _plain(v) for k, v in row.items()},
        **({"error": str(stopped)} if stopped is not None else {}),
    }
    typer.echo(json.dumps(payload, indent=2))


def _print_csv(
    model: CompiledModel,
    branch: int,
    seed: int,
    records: list[TraceRecord],
    result: BranchResult | None,
    stopped: Exception | None,
) -> None:
    """Print the timeline as CSV: one line per change (values at full precision)."""
    typer.echo("time,process,what,name,before,after,where")
    for r in records:
        for n, b, a in r.changes or ((None, None, None),):
            fields = [repr(r.time), r.process, f'"{r.what}"', n or "", _exact(b), _exact(a)]
            typer.echo(",".join([*fields, r.where]))


def _print_table(
    model: CompiledModel,
    branch: int,
    seed: int,
    records: list[TraceRecord],
    result: BranchResult | None,
    stopped: Exception | None,
) -> None:
    """Print the timeline as text: one line per event, then the branch's end and row."""
    typer.echo(f"{model.name}: branch {branch}, seed {seed}")
    for r in records:
        changes = ", ".join(f"{n}: {_show(b)} -> {_show(a)}" for n, b, a in r.changes)
        where = f"  [{r.where}]" if r.where else ""
        typer.echo(f"{r.time:>10.4f}  {r.process:<24} {r.what:<32} {changes}{where}")
    if result is None:
        return
    typer.echo(f"t_end = {_show(result.t_end)}")
    for name, value in _row(model, result).items():
        typer.echo(f"  {name} = {_show(value)}")
