"""Numbers at the edge: seeds and branch counts are checked once, where they come in.

A seed is stored as a 64-bit integer in every branch row, and so is a branch number, so a
seed must lie in [0, 2**63) and a count of branches must not pass 2**63 - 1. Every command
and every function of the API refuses other values with one clear message, before it
writes anything; memory does not grow with the number of branches asked for.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from _cli import assert_one_line_error, invoke

import sim
from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.montecarlo.jobs import chunk_ranges, missing_ranges

TOO_BIG = str(2**63)
SEED_MESSAGE = r"seed must be an integer from 0 to 2\*\*63 - 1 \(9223372036854775807\), got "

COMMANDS = {
    "run": ["run", "{scenario}", "-n", "10", "-o", "{out}"],
    "run --target-ci": ["run", "{scenario}", "-n", "10", "-o", "{out}", "--target-ci", "0.1"],
    "sweep --grid": ["sweep", "{scenario}", "--grid", "pressure=0.2", "-n", "10", "-o", "{out}"],
    "sweep --sample": [
        "sweep", "{scenario}", "--sample", "lhs", "--n", "2", "--range", "pressure=0:1",
        "-n", "10", "-o", "{out}",
    ],
    "compare": ["compare", "{scenario}", "--variants", "all", "-n", "10"],
    "sensitivity": [
        "sensitivity", "{scenario}", "--method", "morris", "--n", "2", "-o", "{out}",
    ],
    "trace": ["trace", "{scenario}", "--branch", "1"],
}  # fmt: skip


def arguments(command: str, scenario: Path, out: Path, *extra: str) -> list[str]:
    """The command line of ``command`` on the tiny scenario, writing to ``out``."""
    values = {"scenario": scenario, "out": out}
    return [a.format(**values) for a in COMMANDS[command]] + list(extra)


@pytest.mark.parametrize("seed", ["-1", TOO_BIG, str(2**64 + 5)])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_seed_outside_0_to_2_63(
    scenario: Path, tmp_path: Path, command: str, seed: str
) -> None:
    out = tmp_path / "out"
    result = invoke(*arguments(command, scenario, out, "--seed", seed))
    assert_one_line_error(result, SEED_MESSAGE + seed.replace("-", r"\-"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_the_largest_seed_runs(scenario: Path, tmp_path: Path) -> None:
    result = sim.run(scenario, branches=3, seed=2**63 - 1, out=tmp_path / "run")
    assert result.table.column("seed").to_pylist() == [2**63 - 1] * 3


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True])
@pytest.mark.parametrize(
    "call",
    [
        lambda model, seed: sim.run(model, branches=5, seed=seed),
        lambda model, seed: sim.sweep(model, sim.Grid({"pressure": [0.2]}), branches=5, seed=seed),
        lambda model, seed: sim.sweep(
            model, sim.Sample("lhs", 2, {"pressure": (0, 1)}), branches=5, seed=seed
        ),
        lambda model, seed: sim.compare_variants(model, "all", branches=5, seed=seed),
        lambda model, seed: sim.sensitivity(model, method="morris", n=2, seed=seed),
    ],
    ids=["run", "sweep-grid", "sweep-sample", "compare", "sensitivity"],
)
def test_every_function_of_the_api_refuses_a_bad_seed(
    model: CompiledModel, call: object, seed: object
) -> None:
    with pytest.raises(UsageError, match=r"seed must be an integer from 0 to 2\*\*63 - 1"):
        call(model, seed)  # type: ignore[operator]


@pytest.mark.parametrize(
    "command", ["run", "run --target-ci", "sweep --grid", "compare", "sensitivity"]
)
def test_every_command_refuses_more_branches_than_a_row_can_number(
    scenario: Path, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    result = invoke(*arguments(command, scenario, out, "--branches", "100000000000000000000"))
    assert_one_line_error(
        result, r"branches must be from 1 to 2\*\*63 - 1 .*, got 100000000000000000000"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_a_target_refuses_a_maximum_no_row_can_number(scenario: Path, tmp_path: Path) -> None:
    result = invoke(
        *arguments("run --target-ci", scenario, tmp_path / "out", "--max-branches", TOO_BIG)
    )
    assert_one_line_error(result, r"max_branches must be from 1 to 2\*\*63 - 1")


def test_trace_refuses_a_branch_no_row_can_number(scenario: Path, tmp_path: Path) -> None:
    result = invoke("trace", scenario, "--branch", TOO_BIG)
    assert_one_line_error(result, r"branch must be an integer from 0 to 2\*\*63 - 2")


def test_chunk_ranges_are_lazy() -> None:
    ranges = chunk_ranges(2**62, 1024)
    assert next(iter(ranges)) == (0, 1024)
    assert list(chunk_ranges(10, 4)) == [(0, 4), (4, 8), (8, 10)]
    gaps = missing_ranges([(0, 1024)], 2**62, 1024)
    assert next(iter(gaps)) == (1024, 2048)


class EnoughError(Exception):
    """Raised by a progress callback to stop a run after its first chunk."""


def test_memory_does_not_grow_with_the_branches_asked_for(model: CompiledModel) -> None:
    # A run of 2**62 branches (which no one will wait for) starts as quickly and in as
    # little memory as one of a thousand: its chunks are cut as they are sent.
    def stop_after_first_chunk(done: int, _total: int) -> None:
        if done:
            raise EnoughError

    tracemalloc.start()
    try:
        with pytest.raises(EnoughError):
            sim.run(model, branches=2**62, seed=1, progress=stop_after_first_chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
