"""``sim compare``: runs side by side, outcome by outcome, with differences to a baseline."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import (
    QuietOption,
    SchedulerOption,
    SetOption,
    WorkersOption,
    check_table_path,
    csv_text,
    estimate_cell,
    markdown_table,
    write_table,
)
from sim.cli._app import app, reporting_errors, show_notes
from sim.cli._interrupt import Progress, refuse_with_resume, run_until_stopped
from sim.cli._options import EngineOption, engine_name, parse_overrides
from sim.cli._output import print_table
from sim.errors import UsageError
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison

__all__ = ["CompareFormat", "compare_command", "comparison_cells", "show_comparison"]

DEFAULT_BRANCHES = 1000
SIGNIFICANT = "*"


class CompareFormat(StrEnum):
    """Output formats of ``sim compare``."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _refuse_run_options(given: dict[str, object]) -> None:
    """Refuse options (option name -> value) that only make sense when variants run here."""
    named = [name for name, value in given.items() if value not in (None, [], ())]
    if named:
        raise UsageError(
            f"{', '.join(named)}: only with a scenario FILE and --variants; "
            "run directories are compared as they were run"
        )


@app.command("compare")
def compare_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run directories (the first is the baseline), or one scenario file.",
            show_default=False,
        ),
    ],
    variants: Annotated[
        str | None,
        typer.Option(
            metavar="all|V1,V2",
            help="With a scenario file: run its baseline and these variants with common "
            "random numbers. (default all)",
        ),
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches", "-n", help=f"Branches of each run. (default {DEFAULT_BRANCHES})"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", help="Seed of every run. (default 0)")
    ] = None,
    set_: SetOption = None,
    executor: Annotated[
        ExecutorKind | None,
        typer.Option(help="Where branches run: this process, local processes, dask."),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    fmt: Annotated[
        CompareFormat, typer.Option("--format", "-f", help="Output format.")
    ] = CompareFormat.table,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Also write the comparison table: a .csv or .parquet file."
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="With a scenario file: the comparison directory to write. "
            "(default results/NAME__compare)",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Finish the interrupted comparison in the directory given (DIR or "
            "DIR.partial), or in that of the scenario file given.",
        ),
    ] = False,
    quiet: QuietOption = False,
    engine: EngineOption = None,
) -> None:
    """Compare runs outcome by outcome: each estimate, its difference to the baseline, and
    the 95% interval of the difference.

    Give run directories (the first is the baseline), or one scenario FILE to run its
    baseline and variants with the same seed and branch numbers. Differences are paired
    where the runs share random numbers (same file, seed and branches), which makes their
    intervals much narrower; * marks an interval that excludes 0.
    """
    from sim.analysis.compare import compare_runs

    target: Path | None = None
    with reporting_errors():
        if out is not None:
            check_table_path(out)
        if resume:
            refuse_with_resume(
                "compare",
                {"--variants": variants, "--branches": branches, "--seed": seed,
                 "--engine": engine},
            )  # fmt: skip
            target, start = _resuming(paths, directory, set_ or [], executor, workers, scheduler)
        elif len(paths) == 1 and paths[0].is_file():
            target, start = _running(
                paths[0], variants, branches, seed, set_ or [], directory, executor, workers,
                scheduler, engine_name(engine),
            )  # fmt: skip
        else:
            files = [str(p) for p in paths if p.is_file()]
            if files:
                raise UsageError(
                    f"{files[0]}: a scenario file is compared alone, with --variants; "
                    "otherwise give run directories"
                )
            _refuse_run_options(
                {"--variants": variants, "--branches": branches, "--seed": seed, "--set": set_,
                 "--executor": executor, "--workers": workers, "--scheduler": scheduler,
                 "--dir": directory}
            )  # fmt: skip
            comparison = compare_runs(paths)
        if target is not None:
            comparison = run_until_stopped(start, target, "compare", show_progress=not quiet)
        if out is not None:
            write_table(comparison.table(), out)
    show_notes(comparison.notes)
    show_comparison(comparison, fmt)
    if target is not None and fmt is CompareFormat.table:
        typer.echo(f"results: {target}")


Start = Callable[[Progress | None], "Comparison"]


def _running(
    file: Path,
    variants: str | None,
    branches: int | None,
    seed: int | None,
    set_: list[str],
    directory: Path | None,
    executor: ExecutorKind | None,
    workers: int | None,
    scheduler: str | None,
    engine: str,
) -> tuple[Path, Start]:
    """Return the directory and the start of a comparison of a scenario's variants."""
    from sim.analysis.compare import compare_variants
    from sim.analysis.points import default_out
    from sim.model.compile import load_model

    model = load_model(file, overrides=parse_overrides(set_))
    target = directory or default_out(model, "compare")

    def start(progress: Progress | None) -> Comparison:
        return compare_variants(
            model, variants or "all", branches=DEFAULT_BRANCHES if branches is None else branches,
            seed=0 if seed is None else seed, executor=executor or ExecutorKind.SERIAL,
            workers=workers, scheduler=scheduler, progress=progress, out=target, engine=engine,
        )  # fmt: skip

    return target, start


def _resuming(
    paths: list[Path],
    directory: Path | None,
    set_: list[str],
    executor: ExecutorKind | None,
    workers: int | None,
    scheduler: str | None,
) -> tuple[Path, Start]:
    """Return the directory and the start of the resume of an interrupted comparison.

    The one path is the comparison's directory, or the scenario file whose comparison
    directory (``--dir``, or the default one of the file and its ``--set``) it is.
    """
    from sim.analysis.compare import resume_compare
    from sim.analysis.points import default_out
    from sim.model.compile import load_model

    if len(paths) != 1:
        raise UsageError(
            "--resume finishes one comparison: give its directory, or the scenario file"
        )
    if paths[0].is_file():
        model = load_model(paths[0], overrides=parse_overrides(set_))
        target = directory or default_out(model, "compare")
    else:
        given = [name for name, value in (("--dir", directory), ("--set", set_)) if value]
        if given:
            raise UsageError(
                f"{', '.join(given)}: only to find the comparison of a scenario FILE; "
                f"{paths[0]} is the comparison's directory"
            )
        target = paths[0]

    def start(progress: Progress | None) -> Comparison:
        return resume_compare(
            target, executor=executor or ExecutorKind.SERIAL, workers=workers,
            scheduler=scheduler, progress=progress,
        )  # fmt: skip

    return target, start


def comparison_cells(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Return the header and formatted rows of a comparison, as the table shows them."""
    header = ["outcome", "measure", "run", "baseline", "estimate", "difference", ""]
    rows = [
        [
            r["outcome"] + ("" if r.get("category") is None else f" = {r['category']}"),
            r["measure"],
            r["run"],
            estimate_cell(r["baseline_estimate"], r["baseline_ci_low"], r["baseline_ci_high"]),
            estimate_cell(r["estimate"], r["ci_low"], r["ci_high"]),
            estimate_cell(r["difference"], r["difference_ci_low"], r["difference_ci_high"]),
            SIGNIFICANT if r["significant"] else "",
        ]
        for r in comparison.rows
    ]
    return header, rows


def _legend(comparison: Comparison) -> str:
    """Return the line that says how each run was compared."""
    paired = [run for run, p in comparison.paired.items() if p]
    independent = [run for run, p in comparison.paired.items() if not p]
    parts = [f"{SIGNIFICANT}: the 95% interval of the difference excludes 0"]
    if paired:
        parts.append(f"paired (common random numbers): {', '.join(paired)}")
    if independent:
        parts.append(f"independent: {', '.join(independent)}")
    return "; ".join(parts)


def show_comparison(comparison: Comparison, fmt: CompareFormat) -> None:
    """Print the comparison in ``fmt``."""
    from sim.analysis.compare import COLUMNS

    if fmt is CompareFormat.json:
        typer.echo(json.dumps(comparison.to_dict(), indent=2))
        return
    if fmt is CompareFormat.csv:
        typer.echo(csv_text(COLUMNS, comparison.rows), nl=False)
        return
    header, rows = comparison_cells(comparison)
    title = f"Compared with {comparison.baseline} (estimate [95% CI])"
    if fmt is CompareFormat.markdown:
        typer.echo(f"{title}\n\n{markdown_table(header, rows)}\n\n{_legend(comparison)}")
        return
    print_table(header, rows, title=title, right={3, 4, 5})
    typer.echo(_legend(comparison))
