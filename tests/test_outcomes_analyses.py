"""The outcome kinds of format 1.1 in comparisons, sweeps, targets and sensitivity analyses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from _models import within

from sim.analysis.compare import compare_runs, compare_variants
from sim.analysis.sensitivity import sensitivity
from sim.analysis.sweep import Grid, sweep
from sim.model.compile import load_model
from sim.montecarlo.precision import half_width
from sim.montecarlo.runner import run

SEED = 8
SCENARIO = """\
sim: 1.1
name: kinds
title: Kinds
description: Two events at rates that variants change.
time: {unit: month, horizon: 10}
parameters:
  rate_a: {value: 0.5, assumption: a test}
  rate_b: {dist: {kind: uniform, low: 0.1, high: 0.3}, assumption: a test}
state:
  n_a: {init: 0}
  b: {init: false}
processes:
  - {kind: event, name: event_a, rate: rate_a, set: {n_a: "n_a + 1"}}
  - {kind: event, name: event_b, rate: "0 if b else rate_b", set: {b: "true"}}
outcomes:
  - {kind: count, name: a_events, process: event_a}
  - {kind: time_between, name: a_to_b, from: "n_a >= 1", to: b}
  - {kind: first_of, name: first, conditions: {a: "n_a >= 1", b: b}}
  - {kind: probability, name: b_if_two_a, when: b, given: "n_a >= 2"}
  - {kind: probability, name: b_happens, when: b}
variants:
  fast: {parameters: {rate_a: 1.0}}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "kinds.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_variants_compare_counts_by_means_times_between_by_rmst_categories_one_by_one(
    scenario: Path,
) -> None:
    n = 2000
    comparison = compare_variants(scenario, "fast", branches=n, seed=SEED)
    rows = {(r["outcome"], r["category"]): r for r in comparison.rows}
    count = rows["a_events", None]
    assert (count["measure"], count["difference_method"]) == ("mean", "paired_t")
    # Poisson means 5 and 10: the difference is 5, and paired branches share rate_b only.
    assert within(count["difference"], 5.0, math.sqrt(15.0 / n))
    assert count["significant"]
    between = rows["a_to_b", None]
    assert (between["measure"], between["difference_method"]) == ("rmst", "rmst_paired_influence")
    assert [k for k in rows if k[0] == "first"] == [
        ("first", "a"),
        ("first", "b"),
        ("first", "none"),
    ]
    assert rows["first", "a"]["measure"] == "proportion"
    assert rows["first", "a"]["difference"] > 0
    given = rows["b_if_two_a", None]
    assert given["difference_method"] == "paired_delta"
    assert rows["b_happens", None]["difference"] == 0.0  # rate_a does not touch event b


def test_run_directories_compare_alike(scenario: Path, tmp_path: Path) -> None:
    run(scenario, branches=300, seed=SEED, out=tmp_path / "base")
    run(scenario, branches=300, seed=SEED, out=tmp_path / "fast", variant="fast")
    from_dirs = compare_runs([tmp_path / "base", tmp_path / "fast"])
    in_memory = compare_variants(scenario, "fast", branches=300, seed=SEED)
    assert [{**r, "baseline": None, "run": None} for r in from_dirs.rows] == [
        {**r, "baseline": None, "run": None} for r in in_memory.rows
    ]


def test_conditional_outcomes_of_independent_runs_compare_as_independent_samples(
    scenario: Path, tmp_path: Path
) -> None:
    run(scenario, branches=300, seed=SEED, out=tmp_path / "a")
    run(scenario, branches=300, seed=SEED + 1, out=tmp_path / "b", variant="fast")
    rows = {
        (r["outcome"], r["category"]): r
        for r in compare_runs([tmp_path / "a", tmp_path / "b"]).rows
    }
    assert rows["b_if_two_a", None]["difference_method"] == "newcombe"
    assert rows["a_to_b", None]["difference_method"] == "rmst_greenwood"
    assert rows["first", "none"]["difference_method"] == "newcombe"


def test_a_sweep_gives_each_category_and_count_per_point(scenario: Path) -> None:
    result = sweep(scenario, Grid({"rate_a": [0.5, 1.0]}), branches=200, seed=SEED)
    columns = result.points.column_names
    for name in ("a_events", "a_to_b", "first__a", "first__b", "first__none", "b_if_two_a"):
        assert name in columns and f"{name}_ci_low" in columns
    counts = result.points.column("a_events").to_pylist()
    assert counts[1] > counts[0]
    shares = [result.points.column(f"first__{c}").to_pylist()[0] for c in ("a", "b", "none")]
    assert math.isclose(sum(shares), 1.0)


def test_a_target_precision_covers_categories_and_conditional_probabilities(
    scenario: Path,
) -> None:
    model = load_model(scenario)
    result = run(model, branches=200, seed=SEED, target_ci=0.03)
    table = result.table
    n = table.num_rows
    first = np.asarray(table.column("first").to_numpy(zero_copy_only=False))
    widths = [half_width(int(np.sum(first == c)), n) for c in ("a", "b", "none")]
    held = table.column("b_if_two_a__given").to_numpy()
    hits = int(table.column("b_if_two_a").to_numpy()[held].sum())
    widths.append(half_width(hits, int(held.sum())))
    widths.append(half_width(int(table.column("b_happens").to_numpy().sum()), n))
    assert max(widths) <= 0.03
    assert {r["outcome"] for r in result.manifest["rounds"]} <= {
        "first__a", "first__b", "first__none", "b_if_two_a", "b_happens",
    }  # fmt: skip


def test_sensitivity_indices_cover_every_category(scenario: Path) -> None:
    pytest.importorskip("SALib")
    result = sensitivity(scenario, method="morris", n=4, branches=20, seed=SEED)
    outcomes = set(result.indices.column("outcome").to_pylist())
    assert {"a_events", "a_to_b", "first__a", "first__b", "first__none"} <= outcomes


@pytest.mark.dask
def test_rows_of_every_kind_are_the_same_whatever_the_executor_and_after_a_resume(
    scenario: Path, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    from sim.montecarlo.runner import resume

    runs = {
        "serial": {"chunk_size": 13},
        "process": {"executor": "process", "workers": 2, "chunk_size": 17},
        "dask": {"executor": "dask", "workers": 1, "chunk_size": 40},
    }
    for name, options in runs.items():
        run(scenario, branches=120, seed=SEED, out=tmp_path / name, **options)  # type: ignore[arg-type]

    def interrupt(done: int, total: int) -> None:
        if done >= 60:
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run(scenario, branches=120, seed=SEED, out=cut, chunk_size=20, progress=interrupt)
    resume(cut, executor="process", workers=2)
    first = (tmp_path / "serial" / "branches.parquet").read_bytes()
    summary = (tmp_path / "serial" / "summary.json").read_bytes()
    for name in (*runs, "cut"):
        assert (tmp_path / name / "branches.parquet").read_bytes() == first, name
        assert (tmp_path / name / "summary.json").read_bytes() == summary, name


def test_the_comparison_table_names_each_category(scenario: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    args = ["compare", str(scenario), "--variants", "fast", "-n", "200", "-s", "1", "-q",
            "--dir", str(tmp_path / "cmp")]  # fmt: skip
    out = CliRunner().invoke(app, [*args, "-f", "markdown"])
    assert out.exit_code == 0, out.output
    for label in ("a", "b", "none"):
        assert f"\n| first = {label} | proportion | fast |" in out.output
