from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.analysis.report import BEGIN, END, find_runs, render, replace_section
from sim.cli import app
from sim.errors import SimError
from sim.montecarlo.runner import run

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """\
sim: 1
name: coin
title: A coin
description: One event.
time: {unit: month, horizon: 12, start: 2024-01-01}
parameters:
  rate: {value: 0.1, assumption: test}
state: {hit: {init: false}}
processes:
  - {kind: event, name: e, rate: rate, set: {hit: true}}
outcomes:
  - {kind: probability, name: hit, when: hit, doc: "Does it happen within a year?"}
  - {kind: time_to, name: t_hit, when: hit, doc: "When does it happen?"}
variants:
  fast: {parameters: {rate: 1.0}}
"""


def test_report_renders_questions_estimates_and_variants(tmp_path: Path) -> None:
    file = tmp_path / "coin.yaml"
    file.write_text(SCENARIO)
    results = tmp_path / "results"
    base = run(file, branches=300, seed=3, out=results / "coin")
    fast = run(file, branches=300, seed=3, out=results / "coin__fast", variant="fast")
    text = render(find_runs(results), tmp_path)
    assert "### `coin`: A coin" in text
    assert "Does it happen within a year?" in text
    p = base.summary["outcomes"]["hit"]["estimate"]
    q = fast.summary["outcomes"]["hit"]["estimate"]
    assert f"| `hit` | Does it happen within a year? | {100 * p:.1f}% |" in text
    assert f"| `hit` | {100 * p:.1f}% | {100 * q:.1f}% |" in text
    assert "(2024-" in text  # times of a dated scenario are also shown as months


def test_replace_section_keeps_the_text_around_the_markers() -> None:
    text = f"head\n{BEGIN}\nold\n{END}\ntail\n"
    assert replace_section(text, "new") == f"head\n{BEGIN}\nnew\n{END}\ntail\n"
    with pytest.raises(SimError, match=r"^NOTES\.md: the markers"):
        replace_section("no markers", "new", "NOTES.md")


def test_check_without_a_readme_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["report", str(ROOT / "results"), "--check"])
    assert result.exit_code == 2
    assert "--check needs --readme" in result.output


def test_readme_section_matches_the_committed_reference_runs() -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["report", str(ROOT / "results"), "--readme", str(ROOT / "README.md"), "--check"]
    )
    assert result.exit_code == 0, result.output
