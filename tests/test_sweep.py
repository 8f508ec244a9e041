"""Parameter sweeps: grids and sampled designs, checked values, closed forms, directories."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _runs import same_rows
from typer.testing import CliRunner, Result

from sim.analysis.sweep import Grid, Points, Sample, expand, open_sweep, read_plan, sweep
from sim.cli import app
from sim.errors import ScenarioError, UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.runner import run

SEED = 20240501

# A constant hazard `rate` scaled by an uncertain factor: P(hit by T) has a closed form.
HAZARD = """\
sim: 1
name: hazard
title: Hazard
description: A constant hazard scaled by an uncertain factor.
time: {unit: year, horizon: 10}
parameters:
  rate: {value: 0.1, assumption: swept}
  scale: {dist: {kind: uniform, low: 0.5, high: 1.5}, assumption: a test}
  share: {dist: {kind: beta, a: 2, b: 5}, assumption: a test}
  flag: {dist: {kind: bernoulli, p: 0.5}, assumption: a test}
state: {hit: {init: false}}
processes:
  - {kind: event, name: shock, rate: "rate * scale", set: {hit: "true"}}
outcomes:
  - {kind: probability, name: hit, when: hit}
  - {kind: value, name: share_out, expr: "share + (1 if flag else 0)"}
"""
HORIZON = 10.0


@pytest.fixture(scope="module")
def model() -> CompiledModel:
    return build_model(HAZARD, "hazard.yaml")


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "hazard.yaml"
    path.write_text(HAZARD, encoding="utf-8")
    return path


def p_hit(rate: float) -> float:
    """P(hit by the horizon) = 1 - E[exp(-rate * scale * T)], scale ~ uniform(0.5, 1.5)."""
    x = rate * HORIZON
    return 1 - (math.exp(-0.5 * x) - math.exp(-1.5 * x)) / x


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def same_points(a: pa.Table, b: pa.Table) -> bool:
    """Whether two point tables are bit-identical (NaN equal to NaN)."""
    return same_rows(a, b)


# --- expanding plans ---------------------------------------------------------------------------


def test_a_grid_is_the_cartesian_product_first_parameter_slowest(model: CompiledModel) -> None:
    design = expand(Grid({"rate": ["0.1", "0.2", "0.3"], "flag": ["true", "false"]}), model)
    assert design.names == ("rate", "flag")
    assert design.points == (
        (0.1, True), (0.1, False), (0.2, True), (0.2, False), (0.3, True), (0.3, False),
    )  # fmt: skip


def test_a_point_becomes_set_overrides(model: CompiledModel) -> None:
    design = expand(Grid({"share": [0.25], "flag": [False]}), model)
    assert design.overrides(0) == (("share", "0.25"), ("flag", "false"))


def test_lhs_puts_one_point_in_each_of_n_equal_bins(model: CompiledModel) -> None:
    n = 20
    design = expand(Sample("lhs", n, {"share": (0.2, 0.6), "scale": (0.5, 1.5)}), model, seed=3)
    values = np.array(design.points)
    for k, (low, high) in enumerate([(0.2, 0.6), (0.5, 1.5)]):
        bins = np.floor((values[:, k] - low) / (high - low) * n).astype(int)
        assert sorted(bins) == list(range(n))


def test_a_sampled_design_follows_the_seed(model: CompiledModel) -> None:
    plan = Sample("sobol", 8, {"share": (0.0, 1.0)})
    assert expand(plan, model, seed=1) == expand(plan, model, seed=1)
    assert expand(plan, model, seed=1).points != expand(plan, model, seed=2).points


def test_sobol_points_lie_in_the_range(model: CompiledModel) -> None:
    design = expand(Sample("sobol", 16, {"scale": (0.6, 0.9)}), model, seed=5)
    values = np.array(design.points)[:, 0]
    assert len(values) == 16
    assert np.all((values >= 0.6) & (values < 0.9))


def test_explicit_points_keep_their_order(model: CompiledModel) -> None:
    design = expand(Points([{"rate": 0.3, "flag": True}, {"rate": 0.1, "flag": False}]), model)
    assert design.points == ((0.3, True), (0.1, False))


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (Grid({"rate": []}), r"--grid rate=: no values; expected rate=V1,V2"),
        (Grid({"rat": [0.1]}), r"--grid rat: unknown parameter 'rat' \(did you mean 'rate'\?\)"),
        (
            Grid({"share": ["1.5"]}),
            re.escape("--grid share=1.5: outside the support [0, 1] of beta(a=2, b=5)"),
        ),
        (
            Sample("lhs", 4, {"scale": (1.0, 0.7)}),
            re.escape("--range scale=1:0.7: LO must be below HI, got 1 >= 0.7"),
        ),
        (Sample("lhs", 4, {"scale": (0.7, 0.7)}), "LO must be below HI, got 0.7 >= 0.7"),
        (Grid({}), "a grid needs at least one parameter"),
        (Grid({"flag": ["0.5"]}), r"--grid flag=0.5: parameter 'flag' is true/false"),
        (Grid({"rate": ["true"]}), r"--grid rate=true: parameter 'rate' is a number"),
        (Grid({"rate": ["fast"]}), r"--grid rate=fast: expected a number or true/false"),
        (Grid({"rate": ["0.1", "0.1"]}), r"the value 0.1 is listed twice"),
        (Sample("sobol", 12, {"scale": (0.6, 0.9)}), r"got 12; use 8 or 16"),
        (Sample("grid", 4, {"scale": (0.6, 0.9)}), r"unknown method, expected one of lhs, sobol"),
        (Sample("lhs", 4, {"scale": (0.0, 1.0)}), r"outside the support \[0.5, 1.5\] of uniform"),
        (Sample("lhs", 4, {"flag": (0.0, 1.0)}), r"true/false and cannot be sampled"),
        (Points([{"rate": 0.1}, {"share": 0.2}]), r"points\[1\]: every point must set the same"),
    ],
)
def test_bad_plans_are_clear_usage_errors(model: CompiledModel, plan: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        expand(plan, model)  # type: ignore[arg-type]


def test_a_fixed_parameter_takes_any_number(model: CompiledModel) -> None:
    assert expand(Grid({"rate": [25.0]}), model).points == ((25.0,),)


def test_a_swept_parameter_cannot_also_be_set(scenario: Path) -> None:
    with pytest.raises(UsageError, match=r"--grid rate: the parameter is also given by --set"):
        sweep(scenario, Grid({"rate": [0.1]}), branches=2, overrides=[("rate", "0.2")])


# --- running -----------------------------------------------------------------------------------


def test_a_sweep_reproduces_the_closed_form_at_every_point(model: CompiledModel) -> None:
    rates = [0.02, 0.05, 0.1, 0.2, 0.4]
    n = 2000
    result = sweep(model, Grid({"rate": rates}), branches=n, seed=SEED)
    estimates = result.points.column("hit").to_pylist()
    for rate, estimate in zip(rates, estimates, strict=True):
        p = p_hit(rate)
        assert abs(estimate - p) <= 4 * math.sqrt(p * (1 - p) / n), (rate, estimate, p)


def test_the_points_table_is_tidy(model: CompiledModel) -> None:
    result = sweep(model, Grid({"rate": [0.1, 0.2], "flag": [True]}), branches=50, seed=SEED)
    assert result.points.column_names == [
        "point", "rate", "flag",
        "hit", "hit_ci_low", "hit_ci_high",
        "share_out", "share_out_ci_low", "share_out_ci_high",
    ]  # fmt: skip
    assert result.points.column("point").to_pylist() == [0, 1]
    assert result.points.schema.field("flag").type == pa.bool_()
    low, mid, high = (
        result.points.column(c).to_numpy() for c in ("hit_ci_low", "hit", "hit_ci_high")
    )
    assert np.all((low <= mid) & (mid <= high))


def test_points_share_their_random_numbers(model: CompiledModel) -> None:
    result = sweep(model, Grid({"rate": [0.1, 0.3]}), branches=40, seed=SEED)
    table = result.branches
    first = table.filter(pa.compute.equal(table.column("point"), 0))
    second = table.filter(pa.compute.equal(table.column("point"), 1))
    assert first.column("scale").equals(second.column("scale"))
    assert first.column("rate").to_pylist() == [0.1] * 40
    assert second.column("rate").to_pylist() == [0.3] * 40


def test_the_branch_table_leads_with_the_point(model: CompiledModel) -> None:
    result = sweep(model, Grid({"rate": [0.1, 0.3, 0.5]}), branches=7, seed=SEED)
    table = result.branches
    assert table.column_names[:3] == ["point", "branch", "seed"]
    assert table.column("point").to_pylist() == [0] * 7 + [1] * 7 + [2] * 7
    assert table.column("branch").to_pylist() == list(range(7)) * 3


def test_one_progress_report_covers_all_points_and_branches(model: CompiledModel) -> None:
    reports: list[tuple[int, int]] = []
    sweep(
        model, Grid({"rate": [0.1, 0.2, 0.3]}), branches=70, seed=SEED,
        progress=lambda done, total: reports.append((done, total)),
    )  # fmt: skip
    assert reports[0] == (0, 210)
    assert reports[-1] == (210, 210)
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)


def test_the_same_seed_gives_the_same_sweep(model: CompiledModel) -> None:
    plan = Sample("lhs", 3, {"scale": (0.5, 1.5)})
    a = sweep(model, plan, branches=30, seed=SEED)
    b = sweep(model, plan, branches=30, seed=SEED)
    assert same_points(a.points, b.points)
    assert same_rows(a.branches, b.branches)


def test_executors_give_identical_sweep_tables(scenario: Path) -> None:
    plan = Grid({"rate": [0.1, 0.4], "flag": [True, False]})
    serial = sweep(scenario, plan, branches=40, seed=SEED)
    pooled = sweep(scenario, plan, branches=40, seed=SEED, executor="process", workers=2)
    assert same_points(serial.points, pooled.points)
    assert same_rows(serial.branches, pooled.branches)


@pytest.mark.slow
@pytest.mark.dask
def test_dask_gives_the_serial_sweep_tables(scenario: Path) -> None:
    pytest.importorskip("dask.distributed")
    plan = Grid({"rate": [0.1, 0.4]})
    serial = sweep(scenario, plan, branches=40, seed=SEED)
    dask = sweep(scenario, plan, branches=40, seed=SEED, executor="dask", workers=2)
    assert same_points(serial.points, dask.points)
    assert same_rows(serial.branches, dask.branches)


# --- directories -------------------------------------------------------------------------------


def test_a_sweep_directory_holds_points_branches_and_manifest(
    model: CompiledModel, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    result = sweep(model, Grid({"rate": [0.1, 0.2]}), branches=20, seed=SEED, out=out)
    assert result.directory == out
    assert sorted(p.name for p in out.iterdir()) == [
        "branches.parquet", "manifest.json", "points.parquet",
    ]  # fmt: skip
    assert not (tmp_path / "sweep.partial").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep"
    assert manifest["status"] == "complete"
    assert manifest["points"] == 2
    assert manifest["design"] == {
        "method": "grid", "parameters": ["rate"], "values": {"rate": [0.1, 0.2]},
    }  # fmt: skip
    assert same_points(pq.read_table(out / "points.parquet"), result.points)


def test_a_sweep_directory_holds_the_files_of_the_sweep_in_memory(
    scenario: Path, tmp_path: Path
) -> None:
    # Several chunks per point, out of order from two workers, and a point given twice:
    # the streamed files are byte for byte those written from the tables kept in memory.
    plan = Points([{"rate": 0.1}, {"rate": 0.4}, {"rate": 0.1}])
    memory = sweep(scenario, plan, branches=70, seed=SEED)
    pq.write_table(memory.points, tmp_path / "points.parquet")
    pq.write_table(memory.branches, tmp_path / "branches.parquet")
    out = tmp_path / "s"
    sweep(scenario, plan, branches=70, seed=SEED, out=out, executor="process", workers=2)
    for name in ("points.parquet", "branches.parquet"):
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_a_sweep_writes_each_chunk_to_disk_as_it_arrives(
    model: CompiledModel, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    chunks = tmp_path / "s.partial" / "chunks"
    seen: list[list[str]] = []

    def look(done: int, total: int) -> None:
        if 0 < done < total:
            seen.append(sorted(p.name for p in chunks.iterdir()))

    sweep(model, Grid({"rate": [0.1, 0.2]}), branches=70, seed=SEED, out=out, progress=look)
    assert seen[0] == ["000000-000000000000-000000000032.parquet"]
    assert [len(names) for names in seen] == list(range(1, len(seen) + 1))
    assert not chunks.parent.exists()


def test_an_interrupted_sweep_keeps_its_work_for_a_resume(
    model: CompiledModel, tmp_path: Path
) -> None:
    def stop(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(
            model, Grid({"rate": [0.1]}), branches=70, seed=SEED, out=tmp_path / "s", progress=stop
        )
    assert [p.name for p in tmp_path.iterdir()] == ["s.partial"]
    manifest = json.loads((tmp_path / "s.partial" / "manifest.json").read_text())
    assert (manifest["kind"], manifest["status"]) == ("sweep", "incomplete")


def test_a_sweep_directory_reads_back(model: CompiledModel, tmp_path: Path) -> None:
    written = sweep(model, Grid({"rate": [0.1]}), branches=10, seed=SEED, out=tmp_path / "s")
    again = open_sweep(tmp_path / "s")
    assert same_points(again.points, written.points)
    assert same_rows(again.branches, written.branches)
    assert again.parameters == ["rate"]


def test_a_sweep_replaces_an_earlier_sweep(model: CompiledModel, tmp_path: Path) -> None:
    out = tmp_path / "s"
    sweep(model, Grid({"rate": [0.1, 0.2, 0.3]}), branches=5, out=out)
    sweep(model, Grid({"rate": [0.4]}), branches=5, out=out)
    assert open_sweep(out).points.num_rows == 1


def test_a_sweep_refuses_to_overwrite_other_files(model: CompiledModel, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not a sweep directory"):
        sweep(model, Grid({"rate": [0.1]}), branches=5, out=tmp_path)


# --- sweep files -------------------------------------------------------------------------------


def test_a_sweep_file_gives_a_grid(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("grid:\n  rate: [0.1, 0.2]\n  flag: [true]\n")
    plan = read_plan(path)
    assert isinstance(plan, Grid)
    assert plan.values == {"rate": [0.1, 0.2], "flag": [True]}


def test_a_sweep_file_gives_a_sample(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("sample: {method: sobol, n: 8, ranges: {scale: [0.5, 1.0]}}\n")
    assert read_plan(path) == Sample(
        "sobol", 8, {"scale": (0.5, 1.0)}, label=f"{path}: sample.ranges"
    )


def test_a_bad_sweep_file_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("grid: {rate: [0.1]}\npoints: [{rate: 0.2}]\n")
    with pytest.raises(ScenarioError, match=r"plan.yaml:1:1: \(root\): .*exactly one of grid"):
        read_plan(path)


def test_values_from_a_sweep_file_are_checked(model: CompiledModel, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("grid: {share: [2]}\n")
    with pytest.raises(UsageError, match=r"plan.yaml: grid share=2: outside the support"):
        expand(read_plan(path), model)


# --- the command line --------------------------------------------------------------------------


def test_sim_sweep_writes_the_directory_and_prints_the_points(
    scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(
        "sweep", scenario, "--grid", "rate=0.1,0.2", "--grid", "flag=true,false", "-n", "20",
        "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "points.parquet").num_rows == 4
    assert "share_out" in result.stdout
    assert f"results: {out}" in result.stdout


def test_sim_sweep_samples_a_design(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        "sweep", scenario, "--sample", "lhs", "--n", "5", "--range", "scale=0.5:1.5",
        "-n", "10", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "points.parquet").column_names[:2] == ["point", "scale"]


def test_sim_sweep_reads_a_sweep_file(scenario: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("points: [{rate: 0.1}, {rate: 0.5}, {rate: 0.9}]\n")
    result = invoke("sweep", scenario, "--plan", plan, "-n", "10", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "out" / "points.parquet").num_rows == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "rate="], r"--grid rate=: no values"),
        (["--grid", "rate"], r"--grid rate: expected NAME=V1,V2"),
        (["--grid", "rate=0.1,,0.2"], r"an empty value"),
        (["--grid", "rte=0.1"], r"unknown parameter 'rte'"),
        (["--grid", "share=1.5"], r"outside the support \[0, 1\] of beta\(a=2, b=5\)"),
        (["--sample", "lhs", "--n", "4", "--range", "scale=1:0.5"], r"LO must be below HI"),
        (["--sample", "lhs", "--n", "4", "--range", "scale=a:b"], r"expected NAME=LO:HI"),
        (["--sample", "lhs", "--range", "scale=0.5:1"], r"--sample lhs: give the number of points"),
        (["--n", "4"], r"give the points with one of --grid"),
        (["--grid", "rate=0.1", "--sample", "lhs"], r"got --grid, --sample"),
        ([], r"got none"),
    ],
)
def test_sim_sweep_errors_are_one_line(scenario: Path, args: list[str], message: str) -> None:
    result = invoke("sweep", scenario, *args, "-n", "5", "-o", scenario.parent / "out")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert re.search(message, result.stderr), result.stderr
    assert not (scenario.parent / "out").exists()


def test_a_sweep_never_replaces_a_run(model: CompiledModel, tmp_path: Path) -> None:
    out = tmp_path / "a_run"
    run(model, branches=4, out=out)
    with pytest.raises(UsageError, match="holds a run, which a sweep does not replace"):
        sweep(model, Grid({"scale": ["0.8"]}), branches=4, out=out)
    assert (out / "branches.parquet").is_file()
