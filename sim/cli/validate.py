"""``sim validate`` and ``sim schema``: check scenario files, print their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli._app import EXIT_USAGE, app, reporting_errors
from sim.errors import Problem, ScenarioError, SimError

if TYPE_CHECKING:
    from sim.format.document import Document
    from sim.model.compiled import CompiledModel


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def summary_line(file: str, model: CompiledModel) -> str:
    """One line saying that ``file`` is valid and what it holds."""
    variants = len(model.scenario.variants) if model.scenario is not None else 0
    parts = [
        _count(len(model.parameters), "parameter"),
        f"{len(model.state)} state",
        _count(len(model.processes), "process", "processes"),
        _count(len(model.outcomes), "outcome"),
        _count(variants, "variant"),
    ]
    if model.indicators:
        parts.append(_count(len(model.indicators), "indicator"))
    if model.includes:
        parts.append(_count(len(model.includes), "included file"))
    return f"{file}: ok ({model.name}: {', '.join(parts)})"


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML or JSON).")],
    sources: Annotated[
        bool,
        typer.Option(
            "--sources",
            help="Also check that every cited source file exists (beside the scenario or in "
            "its sources/ folder) and contains every quote verbatim, white space aside, and "
            "that no parameter cites a source dated after the vantage date (hindsight) "
            "unless it states `hindsight:` with a reason.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Also require every outcome to state its `question` and how it `resolves`.",
        ),
    ] = False,
) -> None:
    """Check scenario files: a summary line per valid file, a located line per problem.

    Every file is checked; the exit status is 2 if any of them has a problem. A valid file
    may also get warnings on stderr (a parameter nothing reads, a variant that changes
    nothing), which leave the exit status alone.
    """
    # Imported here so that `sim --help` does not load scipy.
    from sim.model.compile import compile_scenario, read_scenario
    from sim.model.lint import unused_warnings

    failed = False
    with reporting_errors():
        for file in files:
            try:
                doc, scenario = read_scenario(file)  # read once: compiled, then quotes checked
                model = compile_scenario(scenario, doc)
                problems = _strict_problems(doc, model) if strict else []
                warnings: list[Problem] = []
                if sources:
                    problems += _citation_problems(file, doc, model)
                    hindsight, warnings = _hindsight_problems(doc, model)
                    problems += hindsight
                if problems:
                    raise ScenarioError(sorted(dict.fromkeys(problems), key=_position))
            except SimError as error:
                typer.echo(str(error), err=True)
                failed = True
                continue
            checked = (", quotes found" if sources else "") + (
                ", questions stated" if strict else ""
            )
            typer.echo(summary_line(str(file), model) + checked)
            for warning in [*warnings, *unused_warnings(model, doc)]:
                typer.echo(str(warning), err=True)
    if failed:
        raise typer.Exit(EXIT_USAGE)


def _position(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.col


def _citation_problems(file: Path, doc: Document, model: CompiledModel) -> list[Problem]:
    """The located problems of the file's citations."""
    from sim.format.provenance import citation_problems

    if model.scenario is None:
        return []
    return citation_problems(doc, model.scenario, file.parent)


def _hindsight_problems(doc: Document, model: CompiledModel) -> tuple[list[Problem], list[Problem]]:
    """Parameters citing sources dated after the vantage date, and warnings (see
    :func:`sim.format.provenance.hindsight_problems`)."""
    from sim.format.provenance import hindsight_problems

    if model.scenario is None:
        return [], []
    return hindsight_problems(doc, model.scenario)


def _strict_problems(doc: Document, model: CompiledModel) -> list[Problem]:
    """The outcomes that lack a question or a resolution criterion."""
    from sim.format.outcomes import strict_problems

    if model.scenario is None:
        return []
    return strict_problems(doc, model.scenario.outcomes)


@app.command()
def schema(
    library: Annotated[
        bool,
        typer.Option("--library", help="The schema of library files, which scenarios include."),
    ] = False,
) -> None:
    """Print the JSON Schema of scenario files (for editors and outside checks)."""
    from sim.format.scenario import json_schema, library_schema

    typer.echo(json.dumps(library_schema() if library else json_schema(), indent=2))
