"""``sim given FILE``: a scenario file is run first, in memory, on the engine asked for, and
conditioned like a run directory; those options refused for a finished run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.analysis.evidence.given import given
from sim.cli import app
from sim.montecarlo.runner import run

SIGNS = """\
sim: 1.1
name: signs
title: Signs of war
description: A hidden threat raises the hazards of an alarm and of a war.
time: {unit: month, horizon: 24}
parameters:
  u: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
state:
  alarm: {init: false}
  war: {init: false}
processes:
  - {kind: event, name: alarm_rings, rate: "0.3 if u < 0.3 else 0.02", set: {alarm: "true"}}
  - {kind: event, name: war_breaks_out, rate: "0.1 if u < 0.3 else 0.01", set: {war: "true"}}
indicators:
  - {name: alarm_seen, when: alarm, by: 12}
outcomes:
  - {kind: probability, name: war_by_end, when: war}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "signs.yaml"
    path.write_text(SIGNS, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["simpy", "batch"])
def test_a_scenario_file_is_run_on_the_engine_asked_for(scenario: Path, engine: str) -> None:
    posterior = given(scenario, ["alarm_seen"], branches=400, seed=3, engine=engine)
    ran = run(scenario, branches=400, seed=3, engine=engine)
    assert posterior.rows == given(ran, ["alarm_seen"]).rows
    assert posterior.branches == 400


def test_the_command_runs_a_file_and_refuses_run_options_for_a_directory(
    scenario: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    command = ["given", str(scenario), "--observed", "alarm_seen", "--engine", "batch"]
    result = runner.invoke(app, [*command, "-n", "300", "-s", "2", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["branches"] == 300
    expected = given(run(scenario, branches=300, seed=2, engine="batch"), ["alarm_seen"])
    assert data["kept"] == expected.kept
    run(scenario, branches=50, seed=2, out=tmp_path / "done")
    result = runner.invoke(app, ["given", str(tmp_path / "done"), "--observed", "alarm_seen",
                                 "--engine", "batch"])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"--engine: {tmp_path / 'done'} is a finished run; --engine applies to a scenario "
        "file, which given runs first"
    )
