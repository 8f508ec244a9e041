"""``sim sensitivity``: which uncertain parameter matters most for each outcome."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import (
    ExecutorOption,
    QuietOption,
    SchedulerOption,
    SetOption,
    WorkersOption,
    csv_text,
)
from sim.cli._app import app, reporting_errors, show_notes
from sim.cli._options import EngineOption, engine_name, parse_overrides
from sim.cli._output import format_value, print_table, progress_bar
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    from sim.analysis.sensitivity import SensitivityResult

__all__ = ["SensitivityFormat", "SensitivityMethod", "sensitivity_command"]


class SensitivityMethod(StrEnum):
    """Methods of ``sim sensitivity``."""

    sobol = "sobol"
    morris = "morris"


class SensitivityFormat(StrEnum):
    """Output formats of ``sim sensitivity``."""

    table = "table"
    csv = "csv"


@app.command("sensitivity")
def sensitivity_command(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    method: Annotated[
        SensitivityMethod,
        typer.Option(help="Sobol indices (variance shares) or Morris screening."),
    ] = SensitivityMethod.sobol,
    n: Annotated[
        int | None,
        typer.Option(
            "--n",
            help="Sobol: base samples, a power of two (N*(D+2) rows) (default 256); "
            "Morris: trajectories (N*(D+1) rows) (default 20).",
        ),
    ] = None,
    branches: Annotated[
        int,
        typer.Option("--branches", "-n", help="Branches per sample row; their mean is the output."),
    ] = 1,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter", "-p", help="Analyse only this uncertain parameter (repeatable)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the sample and runs.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Directory to write. (default results/NAME__sensitivity)"),
    ] = None,
    set_: SetOption = None,
    variant: Annotated[str | None, typer.Option(help="Variant of the scenario.")] = None,
    executor: ExecutorOption = ExecutorKind.SERIAL,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    fmt: Annotated[
        SensitivityFormat, typer.Option("--format", "-f", help="Output format.")
    ] = SensitivityFormat.table,
    quiet: QuietOption = False,
    engine: EngineOption = None,
) -> None:
    """Rank the uncertain parameters by their effect on each outcome (SALib).

    Each sample row fixes the uncertain parameters at quantiles of their distributions and
    runs BRANCHES branches; their mean outcome is the model output. Sobol gives first-order
    (S1) and total (ST) indices with 95% intervals; Morris gives mu*, mu and sigma. The
    directory holds indices.parquet, samples.parquet and manifest.json.
    """
    from sim.analysis.sensitivity import default_out, sensitivity
    from sim.model.compile import load_model

    with reporting_errors():
        model = load_model(file, variant=variant, overrides=parse_overrides(set_ or []))
        with progress_bar(enabled=not quiet and sys.stderr.isatty()) as progress:
            result = sensitivity(
                model, method=method.value, n=n, branches=branches, seed=seed,
                parameters=parameter, out=out or default_out(model), executor=executor,
                workers=workers, scheduler=scheduler, progress=progress,
                engine=engine_name(engine),
            )  # fmt: skip
    show_notes(result.manifest.get("notes", []))
    if fmt is SensitivityFormat.csv:
        typer.echo(csv_text(result.indices.column_names, result.indices.to_pylist()), nl=False)
        return
    print_indices(result)
    typer.echo(f"results: {result.directory}")


def print_indices(result: SensitivityResult) -> None:
    """Print the index table: one row per outcome and parameter."""
    table = result.indices
    header = table.column_names
    rows = [[format_value(row[c]) for c in header] for row in table.to_pylist()]
    m = result.manifest
    title = (
        f"{m['scenario']}: {m['method']} indices, {m['samples']} sample rows x "
        f"{m['branches']} branches, seed {m['seed']}"
    )
    print_table(header, rows, title=title, right=set(range(2, len(header))))
