"""``sim sensitivity``: which uncertain parameter matters most for each outcome."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import (
    ExecutorOption,
    QuietOption,
    ResumeOption,
    SchedulerOption,
    SetOption,
    WorkersOption,
    csv_text,
)
from sim.cli._app import app, reporting_errors, show_notes
from sim.cli._interrupt import Progress, refuse_with_resume, run_until_stopped
from sim.cli._options import EngineOption, engine_name, parse_overrides
from sim.cli._output import format_value, plural, print_table
from sim.errors import UsageError
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
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="Scenario file (YAML or JSON).", show_default=False),
    ] = None,
    method: Annotated[
        SensitivityMethod | None,
        typer.Option(help="Sobol indices (variance shares) or Morris screening. (default sobol)"),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option(
            "--n",
            help="Sobol: base samples, a power of two (N*(D+2) rows) (default 256); "
            "Morris: trajectories (N*(D+1) rows) (default 20).",
        ),
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches",
            "-n",
            help="Branches per sample row; their mean is the output. (default 1)",
        ),
    ] = None,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter", "-p", help="Analyse only this uncertain parameter (repeatable)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", help="Seed of the sample and runs. (default 0)")
    ] = None,
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
    resume_dir: ResumeOption = None,
    quiet: QuietOption = False,
    engine: EngineOption = None,
) -> None:
    """Rank the uncertain parameters by their effect on each outcome (SALib).

    Each sample row fixes the uncertain parameters at quantiles of their distributions and
    runs BRANCHES branches; their mean outcome is the model output. Sobol gives first-order
    (S1) and total (ST) indices with 95% intervals; Morris gives mu*, mu and sigma. The
    directory holds indices.parquet, samples.parquet and manifest.json.
    """
    from sim.analysis.sensitivity import default_out, resume_sensitivity, sensitivity
    from sim.model.compile import load_model

    with reporting_errors():
        if resume_dir is not None:
            refuse_with_resume(
                "sensitivity",
                {"FILE": file, "--method": method, "--n": n, "--branches": branches,
                 "--parameter": parameter, "--seed": seed, "--out": out, "--set": set_,
                 "--variant": variant, "--engine": engine},
            )  # fmt: skip
            target = resume_dir

            def start(progress: Progress | None) -> SensitivityResult:
                return resume_sensitivity(
                    resume_dir, executor=executor, workers=workers, scheduler=scheduler,
                    progress=progress,
                )  # fmt: skip
        else:
            if file is None:
                raise UsageError("missing FILE: give a scenario file, or --resume DIR")
            model = load_model(file, variant=variant, overrides=parse_overrides(set_ or []))
            target = out or default_out(model)

            def start(progress: Progress | None) -> SensitivityResult:
                return sensitivity(
                    model, method=(method or SensitivityMethod.sobol).value, n=n,
                    branches=1 if branches is None else branches, seed=0 if seed is None else seed,
                    parameters=parameter, out=target, executor=executor, workers=workers,
                    scheduler=scheduler, progress=progress, engine=engine_name(engine),
                )  # fmt: skip

        result = run_until_stopped(start, target, "sensitivity", show_progress=not quiet)
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
        f"{m['scenario']}: {m['method']} indices, {plural(m['samples'], 'sample row')} x "
        f"{plural(m['branches'], 'branch')}, seed {m['seed']}"
    )
    print_table(header, rows, title=title, right=set(range(2, len(header))))
