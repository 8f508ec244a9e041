"""``sim sweep``: run a scenario at every point of a grid or a sampled design."""

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
    estimate_cell,
)
from sim.cli._app import app, reporting_errors, show_notes
from sim.cli._interrupt import Progress, refuse_with_resume, run_until_stopped
from sim.cli._options import EngineOption, engine_name, parse_overrides
from sim.cli._output import format_value, plural, print_table
from sim.errors import UsageError
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    from sim.analysis.sweep import Plan, SweepResult

__all__ = ["SampleMethod", "parse_grid", "parse_ranges", "sweep_command"]

DEFAULT_BRANCHES = 1000


class SampleMethod(StrEnum):
    """Space-filling designs of ``sim sweep --sample``."""

    lhs = "lhs"
    sobol = "sobol"


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """Split ``--grid NAME=V1,V2,...`` options into each parameter's list of values."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--grid {item}: expected NAME=V1,V2,...")
        if name in grid:
            raise UsageError(f"--grid {name}: given twice; list all its values in one option")
        values = [v.strip() for v in text.split(",")] if text.strip() else []
        if any(not v for v in values):
            raise UsageError(f"--grid {item}: an empty value; expected NAME=V1,V2,...")
        grid[name] = values
    return grid


def parse_ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    """Split ``--range NAME=LO:HI`` options into each parameter's bounds."""
    ranges: dict[str, tuple[float, float]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        low, colon, high = text.partition(":")
        try:
            bounds = (float(low), float(high))
        except ValueError:
            bounds = None
        if not sep or not name or not colon or bounds is None:
            raise UsageError(f"--range {item}: expected NAME=LO:HI with two numbers")
        if name in ranges:
            raise UsageError(f"--range {name}: given twice")
        ranges[name] = bounds
    return ranges


def _plan(
    grid: list[str],
    sample: SampleMethod | None,
    n: int | None,
    ranges: list[str],
    plan_file: Path | None,
) -> Plan:
    """Return the plan the options describe: exactly one of a grid, a sample or a file."""
    from sim.analysis.sweep import Grid, Sample, read_plan

    given = [
        name
        for name, present in (("--grid", grid), ("--sample", sample), ("--plan", plan_file))
        if present
    ]
    if len(given) != 1:
        raise UsageError(
            "give the points with one of --grid NAME=V1,V2,..., --sample lhs|sobol --n N "
            f"--range NAME=LO:HI, or --plan FILE; got {', '.join(given) or 'none'}"
        )
    if sample is None and (n is not None or ranges):
        raise UsageError("--n and --range describe a sampled design; add --sample lhs|sobol")
    if plan_file is not None:
        return read_plan(plan_file)
    if sample is not None:
        if n is None:
            raise UsageError(f"--sample {sample.value}: give the number of points with --n N")
        return Sample(sample.value, n, parse_ranges(ranges))
    return Grid(parse_grid(grid))


@app.command("sweep")
def sweep_command(
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="Scenario file (YAML or JSON).", show_default=False),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            metavar="NAME=V1,V2,...",
            help="Values of a parameter (repeatable: the points are the cartesian product).",
        ),
    ] = None,
    sample: Annotated[
        SampleMethod | None,
        typer.Option(help="A space-filling design instead of a grid: Latin hypercube or Sobol."),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Points of a sampled design (a power of two for sobol)."),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option(
            "--range", metavar="NAME=LO:HI", help="Range of a sampled parameter (repeatable)."
        ),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            help="A sweep file (YAML/JSON) with grid: {NAME: [V, ...]}, "
            "sample: {method, n, ranges: {NAME: [LO, HI]}} or points: [{NAME: V, ...}, ...].",
        ),
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches", "-n", help=f"Branches at every point. (default {DEFAULT_BRANCHES})"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", help="Seed of every point, >= 0. (default 0)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Sweep directory to write. (default results/NAME__sweep)"),
    ] = None,
    set_: SetOption = None,
    variant: Annotated[str | None, typer.Option(help="Variant of the scenario to sweep.")] = None,
    executor: ExecutorOption = ExecutorKind.SERIAL,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume_dir: ResumeOption = None,
    quiet: QuietOption = False,
    engine: EngineOption = None,
) -> None:
    """Run a scenario at every point of a grid or a sampled design; print one row per point.

    At each point the swept parameters are fixed and the others keep their distributions.
    Every point runs the same branch numbers with the same seed (common random numbers).
    The directory holds points.parquet (point, swept values, each outcome with its 95%
    interval), branches.parquet (with a point column) and manifest.json. Ctrl-C or SIGTERM
    leaves DIR.partial, which --resume DIR finishes.
    """
    from sim.analysis.sweep import default_out, resume_sweep, sweep
    from sim.model.compile import load_model

    with reporting_errors():
        if resume_dir is not None:
            refuse_with_resume(
                "sweep",
                {"FILE": file, "--grid": grid, "--sample": sample, "--n": n, "--range": range_,
                 "--plan": plan, "--branches": branches, "--seed": seed, "--out": out,
                 "--set": set_, "--variant": variant, "--engine": engine},
            )  # fmt: skip
            target = resume_dir

            def start(progress: Progress | None) -> SweepResult:
                return resume_sweep(
                    resume_dir, executor=executor, workers=workers, scheduler=scheduler,
                    progress=progress,
                )  # fmt: skip
        else:
            if file is None:
                raise UsageError("missing FILE: give a scenario file, or --resume DIR")
            model = load_model(file, variant=variant, overrides=parse_overrides(set_ or []))
            chosen = _plan(grid or [], sample, n, range_ or [], plan)
            target = out or default_out(model)

            def start(progress: Progress | None) -> SweepResult:
                return sweep(
                    model, chosen, branches=DEFAULT_BRANCHES if branches is None else branches,
                    seed=0 if seed is None else seed, out=target, executor=executor,
                    workers=workers, scheduler=scheduler, progress=progress,
                    engine=engine_name(engine),
                )  # fmt: skip

        result = run_until_stopped(start, target, "sweep", show_progress=not quiet)
    show_notes(result.manifest.get("notes", []))
    print_points(result)
    typer.echo(f"results: {result.directory}")


def print_points(result: SweepResult) -> None:
    """Print the table of points: the swept values, then each outcome with its interval."""
    points = result.points.to_pylist()
    swept = result.parameters
    # After point and the swept values, each outcome has three columns: NAME, low, high.
    outcomes = result.points.column_names[1 + len(swept) :: 3]
    header = ["point", *swept, *outcomes]
    rows = [
        [
            str(row["point"]),
            *(format_value(row[name]) for name in swept),
            *(estimate_cell(row[o], row[f"{o}_ci_low"], row[f"{o}_ci_high"]) for o in outcomes),
        ]
        for row in points
    ]
    manifest = result.manifest
    title = (
        f"{manifest['scenario']}: {plural(len(points), 'point')} x "
        f"{plural(manifest['branches'], 'branch')}, seed {manifest['seed']} (estimate [95% CI])"
    )
    print_table(header, rows, title=title, right=set(range(len(header))))
