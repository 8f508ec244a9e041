"""A command whose optional dependencies are missing says which extra to install, in one
line with exit status 2, never with a traceback (`pip install .` has none of them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from _cli import assert_one_line_error, invoke
from _runs import write_tiny

import sim

MISSING = {
    "score": ("scoringrules", "evidence"),
    "discover": ("ema_workbench", "discover"),
    "plot": ("matplotlib", "report"),
    "sensitivity": ("SALib", "sensitivity"),
}


def command(kind: str, run: Path, scenario: Path) -> list[str | Path]:
    return {
        "score": ["score", run, "--resolutions", run / "nothing.yaml"],
        "discover": ["discover", run, "--outcome", "hit"],
        "plot": ["plot", run],
        "sensitivity": ["sensitivity", scenario, "-n", "3", "--n", "4"],
    }[kind]


@pytest.mark.parametrize("kind", list(MISSING))
def test_a_missing_extra_is_one_line_naming_the_install(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write_tiny(tmp_path)
    run = tmp_path / "run"
    sim.run(scenario, branches=50, seed=1, out=run)
    module, extra = MISSING[kind]
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        top = name.partition(".")[0]
        return None if top in (module, module.lower()) else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    if kind == "sensitivity":  # SALib is imported, not looked up: make the import fail
        monkeypatch.setitem(sys.modules, "SALib", None)
    result = invoke(*command(kind, run, scenario))
    hint = rf"pip install '\.\[{extra}\]' in the sim checkout"
    assert_one_line_error(result, rf"needs {module}: {hint}")
