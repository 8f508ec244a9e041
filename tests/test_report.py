from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.analysis.report import BEGIN, END, find_runs, render, render_headline, replace_section
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


def test_the_headline_is_one_row_per_scenario_with_the_range_of_its_variants(
    tmp_path: Path,
) -> None:
    file = tmp_path / "coin.yaml"
    file.write_text(SCENARIO.replace("fast: {parameters: {rate: 1.0}}", SLOW_AND_FAST))
    results = tmp_path / "results"
    base = run(file, branches=300, seed=3, out=results / "coin")
    estimates = {
        variant: run(file, branches=300, seed=3, out=results / f"coin__{variant}", variant=variant)
        .summary["outcomes"]["hit"]["estimate"]
        for variant in ("fast", "slow")
    }
    text = render_headline(find_runs(results), tmp_path)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    p = base.summary["outcomes"]["hit"]["estimate"]
    assert rows == [
        f"| `coin` | Does it happen within a year? (`hit`) | {100 * p:.1f}% | "
        f"{100 * base.summary['outcomes']['hit']['ci_low']:.1f}% – "
        f"{100 * base.summary['outcomes']['hit']['ci_high']:.1f}% | "
        f"{100 * estimates['slow']:.1f}% (`slow`) to {100 * estimates['fast']:.1f}% (`fast`) |"
    ]
    assert text.endswith("Baseline runs of 300 branches, seed 3.")
    assert render_headline([], tmp_path) == ""


def test_a_single_variant_is_named_in_the_headline(tmp_path: Path) -> None:
    file = tmp_path / "coin.yaml"
    file.write_text(SCENARIO)
    results = tmp_path / "results"
    run(file, branches=300, seed=3, out=results / "coin")
    fast = run(file, branches=300, seed=3, out=results / "coin__fast", variant="fast")
    text = render_headline(find_runs(results), tmp_path)
    q = fast.summary["outcomes"]["hit"]["estimate"]
    assert text.splitlines()[2].endswith(f"| {100 * q:.1f}% (`fast`) |"), text


SLOW_AND_FAST = "fast: {parameters: {rate: 1.0}}\n  slow: {parameters: {rate: 0.01}}"


def test_replace_section_keeps_the_text_around_the_markers() -> None:
    text = f"head\n{BEGIN}\nold\n{END}\ntail\n"
    assert replace_section(text, "new") == f"head\n{BEGIN}\nnew\n{END}\ntail\n"
    with pytest.raises(SimError, match=r"^NOTES\.md: the markers"):
        replace_section("no markers", "new", "NOTES.md")


def test_check_without_a_readme_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["report", str(ROOT / "results"), "--check"])
    assert result.exit_code == 2
    assert "--check needs --readme" in result.output


@pytest.mark.parametrize(
    ("page", "how"), [("README.md", ["--headline"]), ("docs/reference/shipped-results.md", [])]
)
def test_generated_sections_match_the_committed_reference_runs(page: str, how: list[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "results" / "regenerate.py")
    assert spec is not None and spec.loader is not None
    regenerate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regenerate)
    assert (page, *how) in regenerate.PAGES  # regenerate.py rewrites what this test checks
    runner = CliRunner()
    result = runner.invoke(
        app, ["report", str(ROOT / "results"), "--readme", str(ROOT / page), "--check", *how]
    )
    assert result.exit_code == 0, result.output
