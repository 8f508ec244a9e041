"""Runs to a target precision: rounds of branches until every probability is known well enough."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _runs import same_rows
from scipy.stats import norm
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import UsageError
from sim.model.compile import build_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.precision import DEFAULT_MAX_BRANCHES, TargetCI, half_width, target_ci_rule
from sim.montecarlo.runner import resume, run

SEED = 11
FIRST = 200
TARGET = 0.03


def rule(max_branches: int = 100_000, step: int = 100) -> TargetCI:
    return TargetCI(0.01, max_branches, step, ("a", "b"))


def widths(summary: dict[str, object]) -> dict[str, float]:
    """The half-width of every probability outcome's interval in a summary."""
    outcomes = summary["outcomes"]
    assert isinstance(outcomes, dict)
    return {
        name: (entry["ci_high"] - entry["ci_low"]) / 2
        for name, entry in outcomes.items()
        if entry["kind"] == "probability"
    }


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (50, 100), (999, 1000), (1234, 98765)])
def test_half_width_is_that_of_the_wilson_interval(k: int, n: int) -> None:
    z = norm.ppf(0.975)
    p = k / n
    expected = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert half_width(k, n) == pytest.approx(expected, rel=1e-9)


def test_the_widest_interval_decides() -> None:
    outcome, width = rule().widest({"a": 10, "b": 500}, 1000)
    assert (outcome, width) == ("b", half_width(500, 1000))


def test_a_round_within_the_target_stops_the_run() -> None:
    decision = rule().decide({"a": 100, "b": 100}, 10_000)
    assert decision.stop
    assert decision.total == 10_000
    assert decision.reason == (
        f"target_ci reached after 10000 branches: max half-width "
        f"{half_width(100, 10_000):.4g} <= 0.01 (a)"
    )


def test_a_round_at_the_maximum_stops_the_run_and_says_the_target_was_missed() -> None:
    decision = rule(max_branches=1000).decide({"a": 500, "b": 0}, 1000)
    assert decision.stop
    assert decision.reason is not None
    assert decision.reason.startswith("max_branches reached after 1000 branches: max half-width")
    assert decision.reason.endswith("> 0.01 (a)")


def test_the_next_round_ends_where_the_target_should_be_reached() -> None:
    # p = 0.5 after 1000 branches: about 0.031 wide; 0.01 needs about 9.6 times the branches.
    decision = rule().decide({"a": 500, "b": 0}, 1000)
    needed = 1000 * (half_width(500, 1000) / 0.01) ** 2
    assert not decision.stop
    assert decision.total % 100 == 0
    assert needed <= decision.total <= 1.1 * needed + 100


@pytest.mark.parametrize(
    ("width", "n", "max_branches", "expected"),
    [
        (0.0100001, 1000, 100_000, 1200),  # just missed: 10% more, in whole steps
        (0.5, 1000, 100_000, 10_000),  # far off: at most ten times
        (0.5, 1000, 2500, 2500),  # never past the maximum
    ],
)
def test_rounds_grow_by_whole_steps_within_bounds(
    width: float, n: int, max_branches: int, expected: int
) -> None:
    assert rule(max_branches=max_branches).next_total(n, width) == expected


@pytest.mark.parametrize(
    ("width", "max_branches", "message"),
    [
        (0.0, None, "target_ci must be a half-width between 0 and 0.5 .exclusive., got 0"),
        (0.5, None, "target_ci must be a half-width between 0 and 0.5 .exclusive., got 0.5"),
        (None, 5000, "max_branches=5000 needs target_ci"),
        (0.01, 100, "max_branches must be at least the first round's 200 branches, got 100"),
    ],
)
def test_bad_targets_are_usage_errors(
    model: CompiledModel, width: float | None, max_branches: int | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        target_ci_rule(model, width, max_branches, FIRST)


def test_a_target_needs_a_probability_outcome(model: CompiledModel) -> None:
    source = model.source.split("outcomes:")[0] + (
        "outcomes:\n  - {kind: value, name: final_level, expr: level}\n"
    )
    values_only = build_model(source, "values.yaml")
    with pytest.raises(
        UsageError, match="'tiny': target_ci needs a probability or first_of outcome"
    ):
        run(values_only, branches=FIRST, target_ci=0.01)


def test_the_maximum_defaults_to_a_million(model: CompiledModel) -> None:
    found = target_ci_rule(model, 0.01, None, FIRST)
    assert found is not None
    assert found.max_branches == DEFAULT_MAX_BRANCHES == 1_000_000


def test_a_run_to_a_target_stops_at_the_first_round_within_it(model: CompiledModel) -> None:
    result = run(model, branches=FIRST, seed=SEED, target_ci=TARGET)
    manifest = result.manifest
    assert max(widths(result.summary).values()) <= TARGET
    rounds = manifest["rounds"]
    assert len(rounds) >= 2
    assert rounds[-2]["max_half_width"] > TARGET
    assert [r["branches"] % FIRST for r in rounds] == [0] * len(rounds)
    assert manifest["branches"] == result.summary["branches"] == result.table.num_rows
    assert manifest["branches"] == rounds[-1]["branches"]
    assert manifest["stop_reason"].startswith(f"target_ci reached after {manifest['branches']}")


def test_a_run_to_a_target_has_the_rows_of_a_run_of_that_many_branches(
    model: CompiledModel,
) -> None:
    target = run(model, branches=FIRST, seed=SEED, target_ci=TARGET)
    fixed = run(model, branches=target.table.num_rows, seed=SEED)
    assert same_rows(target.table, fixed.table)
    assert target.summary == fixed.summary


@pytest.mark.parametrize(
    "options",
    [{"chunk_size": 7}, {"executor": "process", "workers": 2}, {"executor": "process"}],
)
def test_the_branch_count_depends_only_on_the_seed_and_target(
    model: CompiledModel, options: dict[str, object]
) -> None:
    serial = run(model, branches=FIRST, seed=SEED, target_ci=TARGET)
    other = run(model, branches=FIRST, seed=SEED, target_ci=TARGET, **options)  # type: ignore[arg-type]
    assert other.manifest["rounds"] == serial.manifest["rounds"]
    assert same_rows(other.table, serial.table)


def test_another_seed_may_need_another_count(model: CompiledModel) -> None:
    counts = {
        run(model, branches=FIRST, seed=seed, target_ci=TARGET).table.num_rows for seed in range(6)
    }
    assert len(counts) > 1


def test_max_branches_stops_the_run_and_the_manifest_says_so(
    model: CompiledModel, tmp_path: Path
) -> None:
    result = run(
        model, branches=FIRST, seed=SEED, target_ci=0.001, max_branches=700, out=tmp_path / "r"
    )
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["branches"] == pq.read_metadata(tmp_path / "r" / "branches.parquet").num_rows
    assert manifest["branches"] == 700
    assert (manifest["target_ci"], manifest["max_branches"]) == (0.001, 700)
    assert manifest["stop_reason"].startswith("max_branches reached after 700 branches: max")
    assert max(widths(result.summary).values()) > 0.001


def test_a_fixed_run_says_it_ran_the_branches_asked_for(model: CompiledModel) -> None:
    manifest = run(model, branches=50).manifest
    assert manifest["stop_reason"] == "branches: ran the 50 branches asked for"
    assert (manifest["target_ci"], manifest["max_branches"]) == (None, None)
    assert "rounds" not in manifest


def interrupt_once(done_at_least: int) -> Callable[[int, int], None]:
    """A progress callback that interrupts the run once ``done_at_least`` branches are in."""

    def progress(done: int, _total: int) -> None:
        if done >= done_at_least:
            raise KeyboardInterrupt

    return progress


def test_resume_finishes_a_run_to_a_target_as_if_never_stopped(
    model: CompiledModel, tmp_path: Path
) -> None:
    whole, out = tmp_path / "whole", tmp_path / "out"
    done = run(model, branches=FIRST, seed=SEED, target_ci=TARGET, out=whole, chunk_size=50)
    assert len(done.manifest["rounds"]) >= 2
    with pytest.raises(KeyboardInterrupt):
        run(
            model, branches=FIRST, seed=SEED, target_ci=TARGET, out=out, chunk_size=50,
            progress=interrupt_once(FIRST + 50),
        )  # fmt: skip
    partial = json.loads((tmp_path / "out.partial" / "manifest.json").read_text())
    assert partial["status"] == "incomplete"
    assert len(partial["rounds"]) == 1  # stopped in the second round
    resumed = resume(out, executor="process", workers=2)
    for name in ("branches.parquet", "summary.json"):
        assert (out / name).read_bytes() == (whole / name).read_bytes()
    assert resumed.manifest["rounds"] == done.manifest["rounds"]
    assert resumed.manifest["stop_reason"] == done.manifest["stop_reason"]


def test_sim_run_prints_why_a_run_to_a_target_stopped(scenario: Path, tmp_path: Path) -> None:
    args = ["run", str(scenario), "-n", str(FIRST), "-s", str(SEED), "-o", str(tmp_path / "r")]
    reached = CliRunner().invoke(app, [*args, "--target-ci", str(TARGET)])
    assert reached.exit_code == 0, reached.output
    assert "stopped: target_ci reached after" in reached.stdout
    capped = CliRunner().invoke(app, [*args, "--target-ci", "0.001", "--max-branches", "400"])
    assert capped.exit_code == 0, capped.output
    assert "stopped: max_branches reached after 400 branches: max half-width" in capped.stdout


def test_sim_run_refuses_a_target_with_resume(scenario: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--resume", str(tmp_path), "--target-ci", "0.01"])
    assert result.exit_code == 2
    assert "leave out --target-ci" in result.stderr
