"""Comparisons of runs and variants: estimates, paired and independent differences, formats."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from sim.analysis.compare import COLUMNS, Comparison, compare_runs, compare_variants
from sim.cli import app
from sim.errors import UsageError
from sim.model.compile import build_model
from sim.montecarlo.runner import run

SEED = 20240502
RATE, FASTER, HORIZON = 0.5, 0.75, 4.0

# A Poisson process: its count, whether it happened and when it first happened all have
# closed forms, and the variant changes only the rate, so common random numbers pair well.
POISSON = f"""\
sim: 1
name: poisson
title: Poisson
description: Events at a constant rate.
time: {{unit: year, horizon: {HORIZON}}}
parameters:
  rate: {{value: {RATE}, assumption: a test}}
state:
  count: {{init: 0}}
processes:
  - {{kind: event, name: shock, rate: rate, set: {{count: "count + 1"}}}}
outcomes:
  - {{kind: value, name: events, expr: count}}
  - {{kind: probability, name: any, when: "count >= 1"}}
  - {{kind: time_to, name: first, when: "count >= 1"}}
variants:
  faster: {{parameters: {{rate: {FASTER}}}}}
  same: {{parameters: {{rate: {RATE}}}}}
"""

OTHER = """\
sim: 1
name: other
title: Other
description: Other outcomes.
time: {unit: year, horizon: 4}
state: {count: {init: 0}}
outcomes:
  - {kind: value, name: events, expr: count}
  - {kind: value, name: any, expr: count}
"""


def rmst(rate: float) -> float:
    """The mean of min(T, horizon) for an exponential T."""
    return (1 - math.exp(-rate * HORIZON)) / rate


ANALYTIC = {
    "events": (FASTER - RATE) * HORIZON,
    "any": math.exp(-RATE * HORIZON) - math.exp(-FASTER * HORIZON),
    "first": rmst(FASTER) - rmst(RATE),
}


@pytest.fixture(autouse=True)
def in_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a scratch folder: a comparison of variants writes results/NAME__compare."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "poisson.yaml"
    path.write_text(POISSON, encoding="utf-8")
    return path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def row(comparison: Comparison, outcome: str, run_label: str) -> dict[str, object]:
    [found] = [r for r in comparison.rows if r["outcome"] == outcome and r["run"] == run_label]
    return dict(found)


def width(r: dict[str, object]) -> float:
    return float(r["difference_ci_high"]) - float(r["difference_ci_low"])  # type: ignore[arg-type]


def covers(r: dict[str, object], value: float) -> bool:
    return float(r["difference_ci_low"]) <= value <= float(r["difference_ci_high"])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def paired() -> Comparison:
    model = build_model(POISSON, "poisson.yaml")
    return compare_variants(model, "faster", branches=1500, seed=SEED)


@pytest.fixture(scope="module")
def independent(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    root = tmp_path_factory.mktemp("runs")
    base = build_model(POISSON, "poisson.yaml")
    faster = build_model(POISSON, "poisson.yaml", variant="faster")
    run(base, branches=1500, seed=SEED, out=root / "baseline")
    run(faster, branches=1500, seed=SEED + 1, out=root / "faster")
    return compare_runs([root / "baseline", root / "faster"])


# --- intervals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["events", "any", "first"])
def test_paired_interval_is_narrower_and_both_cover_the_closed_form(
    paired: Comparison, independent: Comparison, outcome: str
) -> None:
    p, i = row(paired, outcome, "faster"), row(independent, outcome, "faster")
    assert p["paired"] is True
    assert i["paired"] is False
    assert width(p) < width(i)
    assert covers(p, ANALYTIC[outcome]), p
    assert covers(i, ANALYTIC[outcome]), i


def test_each_estimate_comes_with_its_interval(paired: Comparison) -> None:
    r = row(paired, "events", "faster")
    n = 1500
    for prefix, rate in (("baseline_", RATE), ("", FASTER)):
        low, high = r[f"{prefix}ci_low"], r[f"{prefix}ci_high"]
        assert low < r[f"{prefix}estimate"] < high  # type: ignore[operator]
        se = math.sqrt(rate * HORIZON / n)
        assert abs(r[f"{prefix}estimate"] - rate * HORIZON) <= 4 * se  # type: ignore[operator]


def test_a_clear_effect_is_marked_significant(paired: Comparison) -> None:
    assert row(paired, "events", "faster")["significant"] is True


def test_a_variant_equal_to_the_baseline_is_not_significant(scenario: Path) -> None:
    comparison = compare_variants(scenario, "same", branches=200, seed=SEED)
    r = row(comparison, "events", "same")
    assert r["difference"] == 0.0
    assert r["significant"] is False


def test_measures_follow_the_outcome_kind(paired: Comparison) -> None:
    measures = {r["outcome"]: r["measure"] for r in paired.rows}
    assert measures == {"events": "mean", "any": "proportion", "first": "rmst"}


def test_all_variants_are_compared_by_default(scenario: Path) -> None:
    comparison = compare_variants(scenario, branches=20, seed=SEED)
    assert comparison.baseline == "baseline"
    assert comparison.runs == ("faster", "same")
    assert comparison.paired == {"faster": True, "same": True}


def test_the_table_has_one_row_per_outcome_and_run(scenario: Path) -> None:
    table = compare_variants(scenario, "all", branches=20, seed=SEED).table()
    assert tuple(table.column_names) == COLUMNS
    assert table.num_rows == 3 * 2


# --- pairing of run directories ----------------------------------------------------------------


def test_runs_of_one_file_with_one_seed_are_paired(scenario: Path, tmp_path: Path) -> None:
    run(scenario, branches=30, seed=SEED, out=tmp_path / "a")
    run(scenario, branches=30, seed=SEED, variant="faster", out=tmp_path / "b")
    assert compare_runs([tmp_path / "a", tmp_path / "b"]).paired == {"b": True}


@pytest.mark.parametrize(("seed", "branches"), [(SEED + 1, 30), (SEED, 31)])
def test_runs_that_draw_differently_are_independent(
    scenario: Path, tmp_path: Path, seed: int, branches: int
) -> None:
    run(scenario, branches=30, seed=SEED, out=tmp_path / "a")
    run(scenario, branches=branches, seed=seed, variant="faster", out=tmp_path / "b")
    comparison = compare_runs([tmp_path / "a", tmp_path / "b"])
    assert comparison.paired == {"b": False}
    assert row(comparison, "any", "b")["difference_method"] == "newcombe"


# --- errors ------------------------------------------------------------------------------------


def test_runs_with_other_outcomes_are_refused(scenario: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(OTHER, encoding="utf-8")
    run(scenario, branches=10, out=tmp_path / "a")
    run(other, branches=10, out=tmp_path / "b")
    message = r"b: its outcomes do not match those of the baseline a: lacks 'first'"
    with pytest.raises(UsageError, match=message):
        compare_runs([tmp_path / "a", tmp_path / "b"])


def test_a_comparison_needs_two_runs(scenario: Path, tmp_path: Path) -> None:
    run(scenario, branches=10, out=tmp_path / "a")
    with pytest.raises(UsageError, match="needs at least two run directories, got 1"):
        compare_runs([tmp_path / "a"])


def test_an_unknown_variant_is_refused(scenario: Path) -> None:
    with pytest.raises(UsageError, match=r"--variants fastr: unknown variant 'fastr'.*'faster'"):
        compare_variants(scenario, "fastr", branches=10)


def test_a_scenario_without_variants_has_nothing_to_compare(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(OTHER, encoding="utf-8")
    with pytest.raises(UsageError, match="declares no variants; there is nothing to compare"):
        compare_variants(other, branches=10)


# --- the command line --------------------------------------------------------------------------


def test_sim_compare_runs_variants_and_marks_significance(scenario: Path) -> None:
    result = invoke("compare", scenario, "--variants", "faster,same", "-n", "300", "-s", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    [events_faster] = [x for x in lines if "events" in x and "faster" in x]
    [events_same] = [x for x in lines if "events" in x and "same" in x]
    assert events_faster.rstrip(" │").endswith("*")
    assert not events_same.rstrip(" │").endswith("*")
    assert "paired (common random numbers): faster, same" in result.stdout


def test_sim_compare_prints_json(scenario: Path) -> None:
    result = invoke("compare", scenario, "-n", "50", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["baseline"] == "baseline"
    assert data["runs"] == ["faster", "same"]
    assert set(data["comparisons"][0]) == set(COLUMNS)


def test_sim_compare_prints_csv(scenario: Path) -> None:
    result = invoke("compare", scenario, "-n", "50", "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert tuple(rows[0]) == COLUMNS


def test_sim_compare_prints_markdown(scenario: Path) -> None:
    result = invoke("compare", scenario, "-n", "50", "-f", "markdown")
    assert result.exit_code == 0, result.output
    assert "| outcome | measure | run | baseline | estimate | difference |  |" in result.stdout
    assert "| --- |" in result.stdout


def test_sim_compare_reads_run_directories(scenario: Path, tmp_path: Path) -> None:
    for name, variant in (("base", None), ("fast", "faster")):
        args = ["run", scenario, "-n", "40", "-o", tmp_path / name]
        assert invoke(*args, *(["--variant", variant] if variant else [])).exit_code == 0
    result = invoke("compare", tmp_path / "base", tmp_path / "fast")
    assert result.exit_code == 0, result.output
    assert "Compared with base" in result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sim_compare_writes_the_table(scenario: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"comparison{suffix}"
    result = invoke("compare", scenario, "-n", "30", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    if suffix == ".parquet":
        assert tuple(pq.read_table(out).column_names) == COLUMNS
    else:
        assert out.read_text().splitlines()[0].replace('"', "").split(",") == list(COLUMNS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variants", "nope"], r"--variants nope: unknown variant 'nope'"),
        (["-o", "table.txt"], r"--out table.txt: expected a .csv or .parquet file name"),
    ],
)
def test_sim_compare_errors_are_one_line(scenario: Path, args: list[str], message: str) -> None:
    result = invoke("compare", scenario, "-n", "5", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert re.search(message, result.stderr), result.stderr


def test_sim_compare_refuses_run_options_with_directories(scenario: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        run(scenario, branches=10, out=tmp_path / name)
    result = invoke("compare", tmp_path / "a", tmp_path / "b", "--seed", "3")
    assert result.exit_code == 2
    assert "--seed: only with a scenario FILE and --variants" in result.stderr


@pytest.mark.parametrize("name", ["cmp.txt", "missing/x.csv", "adir.csv"])
def test_a_bad_out_file_is_refused_before_any_branch_runs(tmp_path: Path, name: str) -> None:
    (tmp_path / "adir.csv").mkdir()
    scenario = tmp_path / "never_read.yaml"  # refused before the scenario is even read
    result = invoke("compare", scenario, "-o", tmp_path / name)
    assert result.exit_code == 2
    assert "--out" in result.stderr
