"""Pooled expert judgements (format 1.1): a linear opinion pool and the PARAM__expert column."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.errors import UsageError
from sim.model.compile import build_model

HEAD = """\
sim: 1.1
name: pool
title: Pooled
description: Two readings of one number.
time: {unit: month, horizon: 12}
"""
POINTS = """\
parameters:
  reading:
    doc: does the visit serve Moscow (1) or Minsk's standing (0)?
    dist:
      kind: pool
      experts:
        - {name: pism, weight: 3, dist: {kind: fixed, value: 1}, assumption: it serves Russia}
        - {name: lowy, weight: 1, dist: {kind: fixed, value: 0}, assumption: it seeks standing}
  noise: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
state:
  aligned: {init: false}
processes:
  - {kind: event, name: align, rate: "0.3 * reading", set: {aligned: "true"}}
outcomes:
  - {kind: probability, name: aligned_by_end, when: aligned}
  - {kind: value, name: reading_value, expr: reading}
"""
MIXTURE = """\
parameters:
  delay:
    dist:
      kind: pool
      experts:
        - {name: early, weight: 0.3, dist: {kind: normal, mean: 0, sd: 1}, assumption: a test}
        - {name: late, weight: 0.7, dist: {kind: gamma, shape: 4, scale: 1.5}, assumption: a test}
outcomes:
  - {kind: value, name: d, expr: delay}
"""


def scenario(text: str, **options: object) -> sim.CompiledModel:
    return build_model(HEAD + textwrap.dedent(text), "pool.yaml", **options)  # type: ignore[arg-type]


ENGINES = ("simpy", "batch")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pool_of_two_point_masses_draws_each_with_its_weight(engine: str) -> None:
    table = sim.run(scenario(POINTS), branches=4000, seed=8, engine=engine).table
    experts = np.array(table.column("reading__expert").to_pylist())
    values = table.column("reading").to_numpy()
    n, p = len(experts), 0.75
    share = float(np.mean(experts == "pism"))
    assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / n)
    assert np.array_equal(values == 1.0, experts == "pism")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pool_draws_the_mixture_of_its_experts(engine: str) -> None:
    x = sim.run(scenario(MIXTURE), branches=4000, seed=2, engine=engine).table.column("delay")
    x = x.to_numpy()
    early, late = stats.norm(0, 1), stats.gamma(4, scale=1.5)
    assert stats.kstest(x, lambda t: 0.3 * early.cdf(t) + 0.7 * late.cdf(t)).pvalue > 0.01


def test_the_pool_cdf_and_inverse_cdf_agree() -> None:
    pool = scenario(MIXTURE).parameters[0].dist
    q = np.array([0.01, 0.2, 0.3, 0.5, 0.9, 0.999])
    assert np.allclose(pool.cdf(pool.ppf(q)), q, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_experts_whose_distributions_read_a_parameter(engine: str) -> None:
    text = """\
    parameters:
      scale: {dist: {kind: uniform, low: 1, high: 3}, assumption: a test}
      delay:
        dist:
          kind: pool
          experts:
            - {name: quick, weight: 1, dist: {kind: exponential, mean: "scale"}, assumption: a}
            - {name: slow, weight: 3, dist: {kind: uniform, low: "scale", high: "2 * scale"},
               assumption: b}
    outcomes:
      - {kind: value, name: d, expr: delay}
    """
    table = sim.run(scenario(text), branches=4000, seed=3, engine=engine).table.to_pandas()
    quick = table[table["delay__expert"] == "quick"]
    slow = table[table["delay__expert"] == "slow"]
    assert abs(len(quick) / 4000 - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / 4000)
    # given the parameter it reads, each expert's value is its own distribution's:
    # exp(-delay / scale) is uniform for the quick expert, (delay - scale) / scale for the slow
    assert stats.kstest(np.exp(-quick["delay"] / quick["scale"]), "uniform").pvalue > 0.01
    assert stats.kstest((slow["delay"] - slow["scale"]) / slow["scale"], "uniform").pvalue > 0.01


@pytest.mark.parametrize("engine", ENGINES)
def test_a_branch_draws_what_its_expert_alone_would_draw(engine: str) -> None:
    late = "{dist: {kind: gamma, shape: 4, scale: 1.5}}"
    text = MIXTURE + f"variants:\n  late_only: {{parameters: {{delay: {late}}}}}\n"
    pooled = sim.run(scenario(text), branches=300, seed=6, engine=engine).table
    alone = sim.run(scenario(text, variant="late_only"), branches=300, seed=6, engine=engine)
    alone = alone.table
    late = np.array(pooled.column("delay__expert").to_pylist()) == "late"
    assert late.sum() > 100
    same = pooled.column("delay").to_numpy()[late] == alone.column("delay").to_numpy()[late]
    assert same.all()
    assert alone.column("delay__expert").null_count == alone.num_rows  # not a pool there


def test_adding_a_pool_leaves_the_other_parameters_alone() -> None:
    plain = POINTS.replace("kind: pool", "kind: pool").split("  noise:")[1]
    alone = scenario("parameters:\n  noise:" + plain.split("state:")[0] + "outcomes:\n"
                     "  - {kind: value, name: x, expr: noise}\n")  # fmt: skip
    a = sim.run(alone, branches=100, seed=1).table.column("noise").to_numpy()
    b = sim.run(scenario(POINTS), branches=100, seed=1).table.column("noise").to_numpy()
    assert np.array_equal(a, b)


def test_summary_by_expert_shows_each_estimate_beside_the_pooled_one(tmp_path: Path) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(HEAD + POINTS)
    out = tmp_path / "run"
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(path), "-n", "2000", "-s", "3", "-o", str(out), "-q"])
    assert ran.exit_code == 0, ran.output
    split = sim.open_run(out).summary_by("reading__expert")
    groups = {g["value"]: g for g in split["groups"]}
    assert list(groups) == ["all", "lowy", "pism"]
    assert groups["lowy"]["outcomes"]["aligned_by_end"]["estimate"] == 0.0
    pism = groups["pism"]["outcomes"]["aligned_by_end"]
    expected = 1 - math.exp(-0.3 * 12)
    se = math.sqrt(expected * (1 - expected) / pism["n"])
    assert abs(pism["estimate"] - expected) <= 4 * se
    assert groups["all"]["n"] == 2000 and groups["pism"]["n"] + groups["lowy"]["n"] == 2000
    table = runner.invoke(app, ["summary", str(out), "--by", "reading__expert"])
    assert table.exit_code == 0, table.output
    assert "pism" in table.output and "lowy" in table.output and "all" in table.output
    as_json = runner.invoke(app, ["summary", str(out), "--by", "reading__expert", "-f", "json"])
    assert json.loads(as_json.output) == split
    as_csv = runner.invoke(app, ["summary", str(out), "--by", "reading__expert", "-f", "csv"])
    assert as_csv.output.splitlines()[0].startswith("outcome,reading__expert,share,kind,")
    bad = runner.invoke(app, ["summary", str(out), "--by", "reading_expert"])
    assert bad.exit_code == 2
    assert "--by reading_expert: no such column in the branch table (did you mean " in bad.output


def test_summary_by_refuses_a_continuous_column() -> None:
    result = sim.run(scenario(POINTS), branches=50)
    with pytest.raises(UsageError, match=r"--by noise: 50 distinct values"):
        result.summary_by("noise")


def test_a_variant_that_fixes_a_pooled_parameter_keeps_the_column() -> None:
    text = POINTS + "variants:\n  settled: {parameters: {reading: 1.0}}\n"
    base, settled = scenario(text), scenario(text, variant="settled")
    assert [c.name for c in base.columns] == [c.name for c in settled.columns]
    table = sim.run(settled, branches=10).table
    assert table.column("reading__expert").null_count == 10
    comparison = sim.compare_variants(scenario(text), "settled", branches=200)
    assert comparison.runs == ("settled",)


def test_a_variant_may_pool_a_parameter() -> None:
    text = MIXTURE.replace(
        "outcomes:", "  plain: {dist: {kind: uniform, low: 0, high: 1}, assumption: x}\noutcomes:"
    ) + ("variants:\n  split:\n    parameters:\n      plain:\n        dist:\n          kind: pool\n"
         "          experts:\n            - {name: a, weight: 1, dist: {kind: uniform, low: 0, "
         "high: 0.5}, assumption: x}\n            - {name: b, weight: 1, dist: {kind: uniform, "
         "low: 0.5, high: 1}, assumption: y}\n")  # fmt: skip
    base = scenario(text)
    assert "plain__expert" in [c.name for c in base.columns]
    split = sim.run(scenario(text, variant="split"), branches=100).table
    experts = np.array(split.column("plain__expert").to_pylist())
    assert set(experts) == {"a", "b"}
    assert np.all((split.column("plain").to_numpy() < 0.5) == (experts == "a"))


@pytest.mark.parametrize("engine", ENGINES)
def test_trace_names_the_expert(engine: str) -> None:
    from sim.engine import run_branch_for

    records: list[object] = []
    model = scenario(POINTS)
    result = run_branch_for(engine)(model, 0, 0, records.append)
    row = sim.run(model, branches=1, engine=engine).table.to_pylist()[0]
    assert row["reading__expert"] == result.experts[0]
    drawn = [r for r in records if getattr(r, "process", "") == "parameters"]
    assert drawn[0].what == f"drawn (expert {result.experts[0]})"  # type: ignore[attr-defined]


def test_sensitivity_reads_a_pool_at_its_mixture_quantiles() -> None:
    pytest.importorskip("SALib")
    result = sim.sensitivity(scenario(MIXTURE), method="morris", n=2, branches=1)
    pool = scenario(MIXTURE).parameters[0].dist
    levels = np.array([1, 3, 5, 7]) / 8
    assert set(np.round(result.samples.column("delay").to_numpy(), 9)) <= set(
        np.round(pool.ppf(levels), 9)
    )


def test_the_whole_group_is_the_run_summary_for_every_outcome_kind() -> None:
    text = """\
parameters:
  hawk:
    dist:
      kind: pool
      experts:
        - {name: yes, weight: 1, dist: {kind: uniform, low: 0.1, high: 0.3}, assumption: x}
        - {name: no, weight: 1, dist: {kind: uniform, low: 0.01, high: 0.05}, assumption: y}
state:
  tension: {init: 0}
  war: {init: false}
processes:
  - {kind: event, name: incident, rate: hawk, set: {tension: "tension + 1"}}
  - {kind: trigger, name: escalate, when: "tension >= 3", set: {war: "true"}}
outcomes:
  - {kind: time_to, name: first_incident, when: "tension >= 1", question: "When?"}
  - {kind: time_between, name: incident_to_war, from: "tension >= 1", to: war}
  - {kind: probability, name: war_given_two, when: war, given: "tension >= 2"}
  - {kind: first_of, name: what_first, conditions: {two: "tension >= 2", war: war}}
  - {kind: count, name: incidents, process: incident}
stop_when: war
"""
    result = sim.run(scenario(text), branches=400, seed=5)
    split = result.summary_by("hawk__expert")
    assert split["groups"][0]["outcomes"] == result.summary["outcomes"]
    by_first = result.summary_by("what_first")
    values = [g["value"] for g in by_first["groups"]]
    assert values[0] == "all" and set(values[1:]) <= {"none", "two", "war"}


def test_a_sweep_keeps_the_expert_column(tmp_path: Path) -> None:
    sim.sweep(scenario(POINTS), sim.Grid({"noise": [0.2, 0.8]}), branches=40,
              out=tmp_path / "sweep")  # fmt: skip
    rows = pq.read_table(tmp_path / "sweep" / "branches.parquet")
    assert rows.num_rows == 80
    experts = rows.column("reading__expert").to_pylist()
    assert set(experts) == {"pism", "lowy"}
    assert experts[:40] == experts[40:]  # every point picks the same experts (common numbers)
