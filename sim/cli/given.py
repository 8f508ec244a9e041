"""``sim given``: a run's outcomes conditioned on observations, prior beside posterior."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._analysis import ExecutorOption, WorkersOption, estimate_cell
from sim.cli._app import app, reporting_errors
from sim.cli._evidence import EvidenceFormat, FormatOption, show
from sim.cli._options import EngineOption
from sim.montecarlo.kinds import ExecutorKind

if TYPE_CHECKING:
    from sim.analysis.evidence.given import Posterior

__all__ = ["ObservedOption", "given_command", "show_posterior"]

ObservedOption = Annotated[
    list[str],
    typer.Option(
        "--observed",
        metavar="NAME[=true|false][@DATE|TIME]",
        help="What has been seen: an indicator or a probability or time_to outcome that had "
        "(=true, the default) or had not (=false) happened by DATE or TIME (default its own "
        "deadline), or a first_of outcome's category, NAME=LABEL (which condition held "
        "first). Repeatable: branches must match them all.",
        show_default=False,
    ),
]


@app.command("given")
def given_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR|FILE",
            help="Run directory written by sim run, or a scenario file to run first (in "
            "memory, with --branches, --seed, --engine).",
            show_default=False,
        ),
    ],
    observed: ObservedOption,
    min_kept: Annotated[
        int,
        typer.Option(
            "--min-kept",
            help="Warn when fewer branches than this match, and say how many a run would need.",
        ),
    ] = 100,
    fmt: FormatOption = EvidenceFormat.table,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches", "-n", help="With a scenario file: branches to run. (default 10000)"
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", "-s", help="With a scenario file: seed of the run. (default 0)"),
    ] = None,
    engine: EngineOption = None,
    executor: ExecutorOption = ExecutorKind.SERIAL,
    workers: WorkersOption = None,
) -> None:
    """Condition every outcome of a run on observations, by exact rejection.

    The branches that match every observation are kept; each outcome's posterior is its
    estimate over them (the interval from the number kept), beside the prior over all
    branches. An observation that no branch matches is an error (exit 2). Given a scenario
    file, it is run first in memory (--engine batch for the many branches that a rare
    observation needs); nothing is written.
    """
    from sim.analysis.evidence.given import given

    with reporting_errors():
        posterior = given(
            directory, observed, min_kept=min_kept, branches=branches, seed=seed,
            engine=None if engine is None else engine.value, executor=executor.value,
            workers=workers,
        )  # fmt: skip
    show_posterior(posterior, fmt)


def show_posterior(posterior: Posterior, fmt: EvidenceFormat) -> None:
    """Print a posterior in ``fmt``; a warning about few kept branches goes to stderr."""
    from sim.analysis.evidence.given import COLUMNS

    header = ["outcome", "kind", "measure", "prior", "posterior", "n kept", "change"]
    cells = [
        [
            r["outcome"] + ("" if r["category"] is None else f" = {r['category']}"),
            r["kind"],
            r["measure"],
            estimate_cell(r["prior"], r["prior_ci_low"], r["prior_ci_high"]),
            estimate_cell(r["posterior"], r["posterior_ci_low"], r["posterior_ci_high"]),
            str(r["posterior_n"]),
            "-" if r["change"] is None else f"{r['change']:+.3g}",
        ]
        for r in posterior.rows
    ]
    share = posterior.kept / posterior.branches
    title = (
        f"Given {', '.join(posterior.observations)}: {posterior.kept} of "
        f"{posterior.branches} branches kept ({share:.3g}) (estimate [95% CI])"
    )
    methods = sorted({r["ci_method"] for r in posterior.rows})
    notes = [f"intervals: {', '.join(methods)}; prior over all branches, posterior over those kept"]
    show(
        fmt, data=posterior.to_dict(), columns=COLUMNS, records=posterior.rows, header=header,
        cells=cells, title=title, notes=notes, right={3, 4, 5, 6},
    )  # fmt: skip
    if posterior.warning is not None:
        typer.echo(f"warning: {posterior.warning}", err=True)
