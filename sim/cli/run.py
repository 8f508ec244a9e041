"""``sim run`` and ``sim summary``: run a scenario into a run directory, and read one back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli._app import app, reporting_errors, show_notes
from sim.cli._interrupt import refuse_with_resume, run_until_stopped
from sim.cli._options import EngineOption, engine_name, parse_overrides
from sim.cli._output import print_split, print_summary
from sim.cli.plot import require_report_extra
from sim.errors import UsageError
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    from sim.model.compiled import CompiledModel
    from sim.montecarlo.results import RunResult

__all__ = ["SummaryFormat", "default_out", "run_command", "summary_command"]

DEFAULT_BRANCHES = 1000
DEFAULT_SEED = 0
REPORT = "report.html"  # the report that --report writes into the run directory


class SummaryFormat(StrEnum):
    """Output formats of ``sim summary``."""

    table = "table"
    json = "json"
    csv = "csv"


def default_out(model: CompiledModel) -> Path:
    """Return the default run directory: ``results/NAME[__VARIANT][__P=V...]``."""
    from sim.montecarlo.directory import default_directory

    return default_directory(model)


@app.command("run")
def run_command(
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="Scenario file (YAML or JSON).", show_default=False),
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches",
            "-n",
            help=f"Number of branches (default {DEFAULT_BRANCHES}); with --target-ci, the first "
            "round.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", "-s", help=f"Seed of the run, >= 0 (default {DEFAULT_SEED})."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Run directory to write (default results/NAME, results/NAME__VARIANT, and "
            "__NAME=VALUE for each --set).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override a parameter (repeatable)."),
    ] = None,
    variant: Annotated[str | None, typer.Option(help="Variant of the scenario to run.")] = None,
    executor: Annotated[
        ExecutorKind, typer.Option(help="Where branches run: this process, local processes, dask.")
    ] = ExecutorKind.SERIAL,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes of the process and dask executors (default: every CPU)."
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", help="Branches per chunk (default branches/32, kept within 32..256)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a dask scheduler (default: start a local cluster)."),
    ] = None,
    resume_dir: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="DIR",
            help="Finish the interrupted run into DIR (or DIR.partial): run its missing chunks.",
        ),
    ] = None,
    target_ci: Annotated[
        float | None,
        typer.Option(
            "--target-ci",
            metavar="W",
            help="Add rounds of branches until every probability outcome's 95% interval has "
            "a half-width of at most W (e.g. 0.01).",
        ),
    ] = None,
    max_branches: Annotated[
        int | None,
        typer.Option(
            "--max-branches",
            metavar="M",
            help="With --target-ci: stop at M branches even if W is not reached (default 1000000).",
        ),
    ] = None,
    given: Annotated[
        list[str] | None,
        typer.Option(
            "--given",
            metavar="NAME[=true|false][@DATE|TIME]",
            help="Observations (as for sim given): print each outcome's posterior beside its "
            "prior; with --target-ci, run until the posterior reaches the precision.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Show no progress bar.")] = False,
    engine: EngineOption = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Then write DIR/report.html: a self-contained HTML report of the run "
            "(needs sim[report]).",
        ),
    ] = False,
) -> None:
    """Run Monte Carlo branches of a scenario and write its run directory.

    The directory (branches.parquet, summary.json, manifest.json) is written as
    DIR.partial and renamed to DIR when complete, replacing an earlier run there. Rows are
    the same whatever the executor, workers and chunk size. Ctrl-C or SIGTERM leaves
    DIR.partial, which --resume DIR finishes. With --given, the table is the posterior
    given those observations (see sim given).
    """
    from sim.montecarlo.runner import resume, run

    if report:
        require_report_extra("sim run --report")
    with reporting_errors():
        if resume_dir is not None:
            refuse_with_resume(
                "run",
                {
                    "FILE": file, "--branches": branches, "--seed": seed, "--out": out,
                    "--set": set_, "--variant": variant, "--chunk-size": chunk_size,
                    "--target-ci": target_ci, "--max-branches": max_branches,
                    "--engine": engine, "--given": given,
                }
            )  # fmt: skip
            target = resume_dir
            start = partial(
                resume, resume_dir, executor=executor, workers=workers, scheduler=scheduler
            )
        else:
            from sim.model.compile import load_model

            if file is None:
                raise UsageError("missing FILE: give a scenario file, or --resume DIR")
            model = load_model(file, variant=variant, overrides=parse_overrides(set_ or []))
            show_notes(model.notes)
            target = out or default_out(model)
            start = partial(
                run,
                model,
                branches=DEFAULT_BRANCHES if branches is None else branches,
                seed=DEFAULT_SEED if seed is None else seed,
                out=target,
                executor=executor,
                workers=workers,
                chunk_size=chunk_size,
                scheduler=scheduler,
                target_ci=target_ci,
                max_branches=max_branches,
                engine=engine_name(engine),
                given=tuple(given or ()),
            )
        result = run_until_stopped(
            lambda progress: start(progress=progress), target, "run", show_progress=not quiet
        )
        observed = result.manifest.get("given")
        if observed:
            from sim.analysis.evidence.given import given as condition

            posterior = condition(result, observed)
    if observed:
        _show_posterior_of_run(result, posterior)
    else:
        _show_result(result)
    if report and result.directory is not None:
        from sim.report.page import write_report

        with reporting_errors():
            written = write_report([result.directory], result.directory / REPORT)
        typer.echo(f"report: {written}")


def _show_posterior_of_run(result: RunResult, posterior: Any) -> None:
    """Print the posterior of a run with observations, why it stopped, and where it is."""
    from sim.cli._evidence import EvidenceFormat
    from sim.cli.given import show_posterior

    show_posterior(posterior, EvidenceFormat.table)
    if result.manifest.get("target_ci") is not None:
        typer.echo(f"stopped: {result.manifest['stop_reason']}")
    typer.echo(f"results: {result.directory}")


def _show_result(result: RunResult) -> None:
    """Print a finished run's summary table, why a run to a target stopped, and where it is."""
    print_summary(result.summary)
    if result.manifest.get("target_ci") is not None:
        typer.echo(f"stopped: {result.manifest['stop_reason']}")
    typer.echo(f"results: {result.directory}")


@app.command("summary")
def summary_command(
    directory: Annotated[Path, typer.Argument(help="Run directory written by sim run.")],
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = SummaryFormat.table,
    series: Annotated[
        str | None,
        typer.Option(
            "--series",
            metavar="VAR",
            help="Print the trajectory of a recorded variable instead: mean and percentiles "
            "at each sample time.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="COLUMN",
            help="Split every outcome by a column of the branch table, such as PARAM__expert "
            "(which expert a pooled parameter drew from): each group's estimate beside the "
            "whole run's.",
        ),
    ] = None,
) -> None:
    """Print the summary of a run: one row per outcome, with its estimate and interval.

    The directory of a sweep, a comparison or a sensitivity analysis prints its table: one
    row per point, per outcome and run, or per outcome and parameter.
    """
    from sim.montecarlo.results import open_run, summary_by_records, summary_records

    if series is not None and by is not None:
        raise typer.BadParameter("give --series or --by, not both", param_hint="--by")
    with reporting_errors():
        kind = _kind_of(directory)
        if kind != "run":
            if series is not None:
                raise UsageError(f"--series {series}: {directory} holds a {kind}, not a run")
            _show_analysis(directory, kind, fmt)
            return
        result = open_run(directory)
        if series is not None:
            entry = _series_entry(result.summary, series, directory)
        split = result.summary_by(by) if by is not None else None
    if series is not None:
        _show_series(result.summary, series, entry, fmt)
        return
    if split is not None:
        if fmt is SummaryFormat.json:
            typer.echo(json.dumps(split, indent=2))
        elif fmt is SummaryFormat.csv:
            typer.echo(_csv(summary_by_records(split)), nl=False)
        else:
            print_split(split, result.summary)
        return
    if fmt is SummaryFormat.json:
        typer.echo(json.dumps(result.summary, indent=2))
    elif fmt is SummaryFormat.csv:
        typer.echo(_csv(summary_records(result.summary)), nl=False)
    else:
        print_summary(result.summary)


def _kind_of(directory: Path) -> str:
    """Return what a finished result directory holds: run, sweep, compare or sensitivity."""
    from sim.montecarlo.results import MANIFEST, read_json

    manifest = directory / MANIFEST
    if not manifest.is_file():
        return "run"  # open_run says what is wrong
    return str(read_json(manifest).get("kind", "run"))


def _show_analysis(directory: Path, kind: str, fmt: SummaryFormat) -> None:
    """Print the table of a finished sweep, comparison or sensitivity analysis in ``fmt``."""
    from sim.cli._analysis import csv_text

    if kind == "compare":
        from sim.analysis.compare import open_comparison
        from sim.cli.compare import CompareFormat, show_comparison

        show_comparison(open_comparison(directory), CompareFormat(fmt.value))
        return
    if kind == "sweep":
        from sim.analysis.sweep import open_sweep
        from sim.cli.sweep import print_points

        result = open_sweep(directory)
        table = result.points
        show: Callable[[], None] = partial(print_points, result)
    elif kind == "sensitivity":
        from sim.analysis.sensitivity import open_sensitivity
        from sim.cli.sensitivity import print_indices

        found = open_sensitivity(directory)
        table = found.indices
        show = partial(print_indices, found)
    else:
        raise UsageError(f"{directory}: holds a {kind}, which sim summary does not know")
    if fmt is SummaryFormat.json:
        typer.echo(json.dumps(table.to_pylist(), indent=2, default=str))
    elif fmt is SummaryFormat.csv:
        typer.echo(csv_text(table.column_names, table.to_pylist()), nl=False)
    else:
        show()


def _series_entry(summary: dict[str, Any], name: str, directory: Path) -> dict[str, Any]:
    """The trajectory summary of the recorded ``name``, or a usage error naming the others."""
    from sim.format.validation import suggest

    recorded: dict[str, Any] = summary.get("series") or {}
    if not recorded:
        raise UsageError(f"--series {name}: {directory} recorded no trajectories (no record)")
    if name not in recorded:
        names = list(recorded)
        raise UsageError(
            f"--series {name}: not recorded{suggest(name, names)}; recorded: {', '.join(names)}"
        )
    entry: dict[str, Any] = recorded[name]
    return entry


def _show_series(
    summary: dict[str, Any], name: str, entry: dict[str, Any], fmt: SummaryFormat
) -> None:
    """Print a trajectory summary as a table, JSON or CSV (one row per sample time)."""
    from sim.cli._output import print_series

    if fmt is SummaryFormat.json:
        typer.echo(json.dumps({"variable": name, **entry}, indent=2))
    elif fmt is SummaryFormat.csv:
        keys = [k for k in entry if isinstance(entry[k], list)]
        records = [
            {"variable": name, **{k: entry[k][i] for k in keys}} for i in range(len(entry["t"]))
        ]
        typer.echo(_csv(records), nl=False)
    else:
        print_series(summary, name, entry)


def _csv(records: list[dict[str, Any]]) -> str:
    """Return ``records`` as CSV, with the union of their fields as columns, in first-seen order."""
    fields = list(dict.fromkeys(key for record in records for key in record))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
