"""Correlated inputs (format 1.1): Spearman rank correlations through a Gaussian copula."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _runs import same_rows
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.errors import ScenarioError
from sim.model.compile import build_model

HEAD = """\
sim: 1.1
name: corr
title: Correlated
description: Parameters that move together.
time: {unit: month, horizon: 1}
"""
PARAMETERS = """\
parameters:
  a: {dist: {kind: beta, a: 2, b: 5}, assumption: a test}
  b: {dist: {kind: lognormal, p5: 1, p95: 10}, assumption: a test}
  c: {dist: {kind: gamma, shape: 2, scale: 3}, assumption: a test}
  d: {dist: {kind: triangular, low: 0, mode: 1, high: 4}, assumption: a test}
  e: {dist: {kind: normal, mean: 1, sd: 2, low: 0}, assumption: a test}
  f: {dist: {kind: uniform, low: -1, high: 1}, assumption: a test}
  free: {dist: {kind: exponential, mean: 2}, assumption: a test}
"""
CORRELATIONS = """\
correlations:
  - {between: [a, b], spearman: 0.8}
  - {between: [c, d], spearman: 0}
  - {between: [f, e], spearman: -0.5, assumption: they pull against each other}
"""
OUT = "outcomes:\n  - {kind: value, name: sum, expr: \"a + b\"}\n"
MARGINALS = {
    "a": stats.beta(2, 5),
    "b": stats.lognorm(s=math.log(10) / (2 * stats.norm.ppf(0.95)), scale=math.sqrt(10)),
    "c": stats.gamma(2, scale=3),
    "d": stats.triang(0.25, loc=0, scale=4),
    "e": stats.truncnorm(-0.5, math.inf, loc=1, scale=2),
    "f": stats.uniform(-1, 2),
    "free": stats.expon(scale=2),
}


def scenario(text: str = PARAMETERS + CORRELATIONS, **options: object) -> sim.CompiledModel:
    return build_model(HEAD + textwrap.dedent(text) + OUT, "corr.yaml", **options)  # type: ignore[arg-type]


ENGINES = ("simpy", "batch")


@pytest.fixture(scope="module", params=ENGINES)
def table(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    result = sim.run(scenario(), branches=8000, seed=20230301, engine=request.param).table
    return {name: result.column(name).to_numpy() for name in result.column_names}


@pytest.mark.parametrize(("x", "y", "rho"), [("a", "b", 0.8), ("c", "d", 0.0), ("f", "e", -0.5)])
def test_the_realised_rank_correlation_is_the_one_asked(
    table: dict[str, np.ndarray], x: str, y: str, rho: float
) -> None:
    realised = stats.spearmanr(table[x], table[y]).statistic
    n = len(table[x])
    # Fieller, Hartley and Pearson: atanh of Spearman's rho has variance 1.06 / (n - 3).
    se = math.sqrt(1.06 / (n - 3))
    assert abs(math.atanh(realised) - math.atanh(rho)) <= 4 * se, realised


@pytest.mark.parametrize("name", list(MARGINALS))
def test_each_parameter_keeps_its_distribution(table: dict[str, np.ndarray], name: str) -> None:
    # Seven tests on one table: a 1% level shared among them (Bonferroni).
    assert stats.kstest(table[name], MARGINALS[name].cdf).pvalue > 0.01 / len(MARGINALS)


def test_pairs_not_given_stay_independent(table: dict[str, np.ndarray]) -> None:
    se = math.sqrt(1.06 / (len(table["a"]) - 3))
    for x, y in [("a", "c"), ("b", "f"), ("a", "free")]:
        assert abs(stats.spearmanr(table[x], table[y]).statistic) <= 4 * se


@pytest.mark.parametrize("engine", ENGINES)
def test_a_correlation_changes_the_rows_of_its_parameters_only(engine: str) -> None:
    alone = sim.run(scenario(PARAMETERS), branches=200, seed=3, engine=engine).table
    joined = sim.run(scenario(), branches=200, seed=3, engine=engine).table
    for name in ("free",):
        assert np.array_equal(alone.column(name).to_numpy(), joined.column(name).to_numpy())
    assert not np.array_equal(alone.column("a").to_numpy(), joined.column("a").to_numpy())


@pytest.mark.parametrize("engine", ENGINES)
def test_rows_do_not_depend_on_executor_or_chunks(engine: str) -> None:
    model = scenario()
    serial = sim.run(model, branches=150, seed=9, chunk_size=150, engine=engine)
    chunked = sim.run(model, branches=150, seed=9, chunk_size=7, engine=engine)
    spread = sim.run(model, branches=150, seed=9, executor="process", workers=2, chunk_size=40,
                     engine=engine)  # fmt: skip
    assert same_rows(serial.table, chunked.table) and same_rows(serial.table, spread.table)


@pytest.mark.parametrize("engine", ENGINES)
def test_trace_agrees_with_the_row(engine: str) -> None:
    from sim.engine import run_branch_for

    model = scenario()
    row = sim.run(model, branches=5, seed=4, engine=engine).table.slice(3, 1).to_pylist()[0]
    result = run_branch_for(engine)(model, 4, 3)
    names = [p.name for p in model.parameters]
    assert dict(zip(names, result.parameters, strict=True)) == {n: row[n] for n in names}


def test_a_matrix_that_cannot_hold_names_the_correlations() -> None:
    text = PARAMETERS + """\
correlations:
  - {between: [a, f], spearman: 0.2}
  - {between: [a, b], spearman: 0.9}
  - {between: [b, c], spearman: 0.9}
  - {between: [a, c], spearman: -0.9}
"""
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    (problem,) = caught.value.problems
    assert problem.path == "correlations[1]"
    assert problem.message == (
        "these correlations cannot hold together (their matrix is not positive definite): "
        "a and b (0.9), b and c (0.9), a and c (-0.9); weaken one of them"
    )


def test_set_drops_a_correlation_with_a_note() -> None:
    model = scenario(overrides=[("a", "0.3")])
    assert model.notes == ("the correlation between a and b is dropped: --set fixes a",)
    assert [g.names for g in model.correlations] == [("c", "d"), ("e", "f")]
    b = sim.run(model, branches=2000, seed=5).table.column("b").to_numpy()
    assert stats.kstest(b, MARGINALS["b"].cdf).pvalue > 0.01


def test_a_variant_that_fixes_a_parameter_drops_its_correlation() -> None:
    text = PARAMETERS + CORRELATIONS + "variants:\n  known: {parameters: {b: 2.0}}\n"
    model = scenario(text, variant="known")
    assert model.notes == ("the correlation between a and b is dropped: variant known fixes b",)


def test_a_variant_may_not_make_a_correlated_parameter_discrete() -> None:
    text = PARAMETERS + CORRELATIONS + (
        "variants:\n  counted: {parameters: {b: {dist: {kind: poisson, mean: 3}}}}\n"
    )
    where = r"variants.counted.parameters.b.dist: 'b' is a poisson"
    with pytest.raises(ScenarioError, match=where):
        scenario(text)


def test_a_set_distribution_that_is_discrete_says_set_made_it_so() -> None:
    where = r"corr.yaml:\d+:\d+: correlations\[0\]: 'a' \(as --set gives it\) is a poisson"
    with pytest.raises(ScenarioError, match=where):
        scenario(overrides=[("a", "{kind: poisson, mean: 3}")])


def test_the_command_line_prints_the_note(tmp_path: Path) -> None:
    path = tmp_path / "corr.yaml"
    path.write_text(HEAD + PARAMETERS + CORRELATIONS + OUT)
    result = CliRunner().invoke(
        app, ["run", str(path), "-n", "20", "--set", "e=1", "-o", str(tmp_path / "r"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "note: the correlation between f and e is dropped: --set fixes e" in result.stderr


def test_a_sweep_notes_the_correlations_it_drops() -> None:
    result = sim.sweep(scenario(), sim.Grid({"a": [0.2, 0.4]}), branches=20)
    assert result.manifest["notes"] == [
        "the correlation between a and b is dropped: each point of the sweep fixes a"
    ]


def test_sensitivity_samples_independently_and_says_so() -> None:
    pytest.importorskip("SALib")
    result = sim.sensitivity(scenario(), method="morris", n=2, branches=1)
    assert result.manifest["decorrelated"] == [["a", "b", 0.8], ["c", "d", 0.0], ["f", "e", -0.5]]
    assert any("Sobol and Morris indices assume independent inputs" in n
               for n in result.manifest["notes"])  # fmt: skip


def test_a_library_may_hold_correlations(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text("sim: 1.1\n" + PARAMETERS + CORRELATIONS)
    (tmp_path / "main.yaml").write_text(
        HEAD + "include: [lib.yaml]\noverrides:\n  correlations:\n"
        "    - {between: [b, a], spearman: 0.3}\n" + OUT
    )
    model = sim.load(tmp_path / "main.yaml")
    assert model.correlations[0].pairs == (("b", "a", 0.3),)
