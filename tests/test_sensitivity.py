"""Sensitivity analysis against models with known indices: Sobol's G-function, linear models.

The expression language has no ``sin``, so the Ishigami function cannot be written; the
G-function of Sobol (built from ``abs``) is the classic benchmark with closed-form indices.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from sim.analysis.points import power_of_two_exponent
from sim.analysis.sensitivity import open_sensitivity, sensitivity
from sim.cli import app
from sim.errors import UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel

SEED = 20240503
G_A = (0.0, 1.0, 9.0)


def scenario_text(parameters: str, outcomes: str) -> str:
    return f"""\
sim: 1
name: sens
title: Sensitivity
description: A model with known sensitivity indices.
time: {{unit: year, horizon: 1}}
parameters:
{parameters}
outcomes:
{outcomes}
"""


def g_term(name: str, a: float) -> str:
    return f"(abs(4 * {name} - 2) + {a}) / {1 + a}"


G_MODEL = scenario_text(
    "\n".join(
        f"  x{i}: {{dist: {{kind: uniform, low: 0, high: 1}}, assumption: a test}}"
        for i in (1, 2, 3)
    ),
    "  - {kind: value, name: g, expr: '"
    + " * ".join(g_term(f"x{i + 1}", a) for i, a in enumerate(G_A))
    + "'}",
)

# y = 3 x1 + 2 x2 + 0 * x3 + fixed, with x1 ~ normal(0, 2), x2 ~ uniform(-1, 1) and x3 ~
# beta: any distribution goes through its inverse CDF.
LINEAR = scenario_text(
    """\
  x1: {dist: {kind: normal, mean: 0, sd: 2}, assumption: a test}
  x2: {dist: {kind: uniform, low: -1, high: 1}, assumption: a test}
  x3: {dist: {kind: beta, a: 2, b: 5}, assumption: a test}
  offset: {value: 5, assumption: a test}""",
    """\
  - {kind: value, name: y, expr: '3 * x1 + 2 * x2 + 0 * x3 + offset'}
  - {kind: probability, name: positive, when: '3 * x1 + 2 * x2 > 0'}""",
)


def g_indices() -> tuple[np.ndarray, np.ndarray]:
    """First-order and total indices of the G-function (Saltelli et al., Global SA, 2008)."""
    v = 1 / (3 * (1 + np.array(G_A)) ** 2)
    total = np.prod(1 + v) - 1
    return v / total, v * np.prod(1 + v) / (1 + v) / total


def column(table: pa.Table, outcome: str, name: str) -> np.ndarray:
    rows = table.filter(pa.compute.equal(table.column("outcome"), outcome))
    return rows.column(name).to_numpy()


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def g_model() -> CompiledModel:
    return build_model(G_MODEL, "g.yaml")


@pytest.fixture(scope="module")
def linear() -> CompiledModel:
    return build_model(LINEAR, "linear.yaml")


def test_sobol_indices_of_the_g_function_match_the_closed_form(g_model: CompiledModel) -> None:
    table = sensitivity(g_model, method="sobol", n=256, seed=SEED).indices
    s1, st = g_indices()
    # S1_conf is a 95% half-width, about 2 standard errors: 2 * conf is about 4 of them.
    for name, expected in (("S1", s1), ("ST", st)):
        found, conf = column(table, "g", name), column(table, "g", f"{name}_conf")
        assert np.all(np.abs(found - expected) <= 2 * conf + 1e-3), (name, found, expected)


def test_sobol_indices_of_a_linear_model_follow_the_variances(linear: CompiledModel) -> None:
    table = sensitivity(linear, method="sobol", n=256, seed=SEED).indices
    shares = np.array([9 * 4.0, 4 * 1 / 3, 0.0])
    expected = shares / shares.sum()
    found, conf = column(table, "y", "S1"), column(table, "y", "S1_conf")
    assert np.all(np.abs(found - expected) <= 2 * conf + 1e-3), (found, expected)


def test_morris_effects_of_a_linear_model_are_exact(linear: CompiledModel) -> None:
    table = sensitivity(linear, method="morris", n=10, seed=SEED).indices
    # Elementary effects are steps of (L - 1)/L = 3/4 in probability. x2 is uniform, so its
    # effect is exactly 2 * (high - low) * 3/4; x3 has no effect; nothing varies.
    mu_star, sigma = column(table, "y", "mu_star"), column(table, "y", "sigma")
    assert mu_star[1] == pytest.approx(2 * 2 * 0.75)
    assert mu_star[2] == pytest.approx(0.0)
    assert sigma[1:] == pytest.approx([0.0, 0.0])
    assert mu_star[0] > mu_star[1]


def test_the_index_table_has_salib_columns(linear: CompiledModel) -> None:
    result = sensitivity(linear, method="sobol", n=8, seed=SEED)
    table = result.indices
    assert table.column_names == ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table.column("outcome").to_pylist() == ["y"] * 3 + ["positive"] * 3
    assert table.column("parameter").to_pylist() == ["x1", "x2", "x3"] * 2
    morris = sensitivity(linear, method="morris", n=4, seed=SEED).indices
    assert morris.column_names[2:] == ["mu", "mu_star", "sigma", "mu_star_conf"]


def test_the_sample_table_holds_values_and_outputs(linear: CompiledModel) -> None:
    samples = sensitivity(linear, method="sobol", n=8, seed=SEED).samples
    assert samples.column_names == ["sample", "x1", "x2", "x3", "y", "positive"]
    assert samples.num_rows == 8 * (3 + 2)
    x1, x2, y = (samples.column(c).to_numpy() for c in ("x1", "x2", "y"))
    assert y == pytest.approx(3 * x1 + 2 * x2 + 5)


def test_the_same_seed_gives_the_same_indices(linear: CompiledModel) -> None:
    a = sensitivity(linear, method="sobol", n=8, seed=SEED).indices
    b = sensitivity(linear, method="sobol", n=8, seed=SEED).indices
    assert a.equals(b)


def test_only_the_named_parameters_are_analysed(linear: CompiledModel) -> None:
    table = sensitivity(linear, method="morris", n=4, parameters=["x2"], seed=SEED).indices
    assert set(table.column("parameter").to_pylist()) == {"x2"}


def test_the_directory_holds_indices_samples_and_manifest(
    linear: CompiledModel, tmp_path: Path
) -> None:
    out = tmp_path / "sens"
    result = sensitivity(linear, method="sobol", n=8, seed=SEED, out=out)
    assert pq.read_table(out / "indices.parquet").equals(result.indices)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sensitivity"
    assert (manifest["method"], manifest["n"], manifest["samples"]) == ("sobol", 8, 40)
    assert open_sensitivity(out).indices.equals(result.indices)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "sobol", "n": 12}, r"--n 12: the Sobol base sample size needs a power of two"),
        ({"method": "fast"}, r"--method fast: unknown method, expected one of sobol, morris"),
        ({"parameters": ["offset"]}, r"--parameter offset: a fixed parameter"),
        ({"parameters": ["x4"]}, r"--parameter x4: no parameter"),
        ({"method": "morris", "n": 1}, r"Morris screening needs at least 2 trajectories"),
    ],
)
def test_bad_options_are_usage_errors(
    linear: CompiledModel, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        sensitivity(linear, **kwargs)  # type: ignore[arg-type]


def test_a_scenario_without_uncertain_parameters_is_refused(tmp_path: Path) -> None:
    text = scenario_text(
        "  k: {value: 1, assumption: a test}", "  - {kind: value, name: y, expr: k}"
    )
    with pytest.raises(UsageError, match="no uncertain parameters; nothing to analyse"):
        sensitivity(build_model(text, "fixed.yaml"), n=8)


def test_sim_sensitivity_prints_and_writes_the_indices(tmp_path: Path) -> None:
    path = tmp_path / "linear.yaml"
    path.write_text(LINEAR, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("sensitivity", path, "--method", "morris", "--n", "4", "-o", out)
    assert result.exit_code == 0, result.output
    assert "mu_star" in result.stdout
    assert pq.read_table(out / "indices.parquet").num_rows == 6


def test_sim_sensitivity_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "linear.yaml"
    path.write_text(LINEAR, encoding="utf-8")
    result = invoke("sensitivity", path, "--n", "10", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "--n 10: the Sobol base sample size needs a power of two" in result.stderr


@pytest.mark.parametrize(("n", "hint"), [(0, "use 2 or 4"), (1, "use 2 or 4"), (5, "use 4 or 8")])
def test_sobol_sizes_that_are_not_powers_of_two_name_the_nearest(n: int, hint: str) -> None:
    with pytest.raises(UsageError, match=hint):
        power_of_two_exponent(n, f"--n {n}: the Sobol base sample size")
