"""``sim list``: the shipped scenarios with their titles."""

from __future__ import annotations

import sys
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from sim.cli._app import app, fail
from sim.errors import SimError

_SUFFIXES = (".yaml", ".yml", ".json")


SHARED = Path("share", "sim", "scenarios")  # where an installed sim keeps them (data files)


def shipped_scenarios_dir() -> Path:
    """Return the folder of the shipped scenarios.

    ``./scenarios`` when it exists; else the repository's ``scenarios/`` beside the package
    (an editable install, whose own copies may be stale); else where an install put them
    (``share/sim/scenarios`` under the environment's prefix, or beside the package for
    ``pip install --target``).
    """
    here = Path("scenarios")
    if here.is_dir():
        return here
    package = Path(__file__).resolve().parents[1]
    candidates = [
        package.parent / "scenarios",
        *_recorded_scenario_folders(),
        Path(sysconfig.get_path("data")) / SHARED,
        Path(sys.prefix) / SHARED,
        package.parent / SHARED,
    ]
    return next((c for c in candidates if c.is_dir()), package.parent / "scenarios")


def _recorded_scenario_folders() -> list[Path]:
    """Return the folder of the scenario files that the installed distribution records."""
    try:
        dist = metadata.distribution("sim")
    except metadata.PackageNotFoundError:
        return []
    for file in dist.files or ():
        if file.suffix == ".yaml" and tuple(file.parts[-4:-1]) == SHARED.parts:
            return [Path(str(dist.locate_file(file))).resolve().parent]
    return []


@app.command("list")
def list_scenarios(
    folder: Annotated[
        Path | None,
        typer.Argument(help="Folder of scenario files (default: the shipped scenarios/)."),
    ] = None,
) -> None:
    """List the scenarios in a folder (by default the shipped ones) with their titles.

    One line per file: its path, the scenario's title and its variants. A file that does
    not validate is listed with its first problem.
    """
    from sim.model.compile import load

    root = folder if folder is not None else shipped_scenarios_dir()
    if not root.is_dir():
        fail(
            f"{root}: no such folder (the shipped scenarios are in the repository's "
            "scenarios/ folder: run from there, or name a folder)"
        )
    files = sorted(p for p in root.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    if not files:
        fail(f"{root}: no scenario files (*.yaml, *.yml, *.json)")
    width = max(len(str(p)) for p in files)
    for path in files:
        try:
            model = load(path)
        except SimError as error:
            typer.echo(f"{path!s:<{width}}  INVALID  {str(error).splitlines()[0]}")
            continue
        variants = model.scenario.variants if model.scenario is not None else {}
        noun = "variant" if len(variants) == 1 else "variants"
        extra = f"  [{len(variants)} {noun}: {', '.join(variants)}]" if variants else ""
        typer.echo(f"{path!s:<{width}}  {model.title}{extra}")
