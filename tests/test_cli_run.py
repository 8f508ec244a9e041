"""``sim run`` and ``sim summary`` on the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

import sim.montecarlo.jobs
from sim.cli import app
from sim.cli._output import progress_bar
from sim.engine.simpy import run_branches
from sim.model.compiled import CompiledModel

N = "40"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "run"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def manifest(directory: Path) -> dict[str, object]:
    data = json.loads((directory / "manifest.json").read_text())
    assert isinstance(data, dict)
    return data


def assert_one_line_error(result: Result, message: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_run_writes_the_directory_and_prints_the_summary(scenario: Path, out: Path) -> None:
    result = invoke("run", scenario, "-n", N, "-s", "3", "-o", out)
    assert result.exit_code == 0, result.output
    assert (out / "branches.parquet").is_file()
    for name in ("finished", "time_to_finish", "final_level", "95% CI", "p50"):
        assert name in result.stdout
    assert result.stdout.rstrip().endswith(f"results: {out}")
    assert (manifest(out)["branches"], manifest(out)["seed"]) == (40, 3)


def test_run_defaults_to_1000_branches_and_seed_0(scenario: Path, out: Path) -> None:
    assert invoke("run", scenario, "-o", out).exit_code == 0
    assert (manifest(out)["branches"], manifest(out)["seed"]) == (1000, 0)


def test_run_writes_to_results_name_by_default(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("run", scenario, "-n", N).exit_code == 0
    assert invoke("run", scenario, "-n", N, "--variant", "calm").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["tiny", "tiny__calm"]
    assert manifest(tmp_path / "results" / "tiny__calm")["variant"] == "calm"


def test_run_records_set_overrides(scenario: Path, out: Path) -> None:
    result = invoke("run", scenario, "-n", N, "-o", out, "--set", "pressure=0.25")
    assert result.exit_code == 0, result.output
    assert manifest(out)["overrides"] == {"pressure": "0.25"}


def test_run_with_processes_records_the_executor(scenario: Path, out: Path) -> None:
    args = ("--executor", "process", "--workers", "2", "--chunk-size", "8")
    result = invoke("run", scenario, "-n", N, "-o", out, "--quiet", *args)
    assert result.exit_code == 0, result.output
    record = manifest(out)
    assert (record["executor"], record["workers"], record["chunk_size"]) == ("process", 2, 8)


def test_summary_prints_a_table(scenario: Path, out: Path) -> None:
    invoke("run", scenario, "-n", N, "-o", out)
    result = invoke("summary", out)
    assert result.exit_code == 0
    assert "tiny: 40 branches, seed 0" in result.stdout
    assert "time_to_finish" in result.stdout


def test_summary_prints_summary_json(scenario: Path, out: Path) -> None:
    invoke("run", scenario, "-n", N, "-o", out)
    result = invoke("summary", out, "--format", "json")
    assert json.loads(result.stdout) == json.loads((out / "summary.json").read_text())


def test_summary_prints_one_tidy_csv_row_per_outcome(scenario: Path, out: Path) -> None:
    invoke("run", scenario, "-n", N, "-o", out)
    result = invoke("summary", out, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["outcome"] for r in rows] == ["finished", "heads", "time_to_finish", "final_level"]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in rows[0])
    summary = json.loads((out / "summary.json").read_text())
    assert float(rows[3]["estimate"]) == summary["outcomes"]["final_level"]["estimate"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.yaml"], "missing.yaml: no such file"),
        (["run", "{scenario}", "--set", "pressure"], "--set pressure: expected NAME=VALUE"),
        (["run", "{scenario}", "--set", "nothing=1"], "unknown parameter 'nothing'"),
        (["run", "{scenario}", "--variant", "stormy"], "unknown variant 'stormy'"),
        (["run", "{scenario}", "-n", "0"], "branches must be at least 1, got 0"),
        (["run", "{scenario}", "-s", "-1"], "seed must be an integer from 0 to 2**63 - 1"),
        (["run"], "missing FILE: give a scenario file, or --resume DIR"),
        (["run", "{scenario}", "--resume", "{out}"], "leave out FILE"),
        (["run", "--resume", "{out}"], "no incomplete run to resume"),
        (["summary", "{out}"], "no such run directory"),
        (["summary", "{scenario_dir}"], "not a run directory (it has no manifest.json)"),
        (["summary", "{scenario}"], "not a run directory (it is a file)"),
    ],
)
def test_errors_are_one_line_with_exit_status_2(
    scenario: Path, out: Path, args: list[str], message: str
) -> None:
    values = {"scenario": scenario, "out": out, "scenario_dir": scenario.parent}
    result = invoke(*(a.format(**values) for a in args))
    assert_one_line_error(result, re.escape(message))


def test_summary_of_an_incomplete_run_says_so(
    scenario: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_at_branch(monkeypatch, 16, KeyboardInterrupt)
    assert invoke("run", scenario, "-n", N, "-o", out, "--chunk-size", "8").exit_code == 130
    assert_one_line_error(invoke("summary", out), "an incomplete run is in .*run.partial")


def interrupt_at_branch(
    monkeypatch: pytest.MonkeyPatch, branch: int, stop: type[BaseException] | None
) -> None:
    """Make the kernel stop the run (raise ``stop``, or SIGTERM itself) at ``branch``."""

    def kernel(model: CompiledModel, seed: int, start: int, end: int) -> dict[str, np.ndarray]:
        if start >= branch:
            if stop is None:
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                raise stop
        return run_branches(model, seed, start, end)

    monkeypatch.setattr(sim.montecarlo.jobs, "run_branches", kernel)


def test_sigterm_stops_a_run_cleanly(
    scenario: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_at_branch(monkeypatch, 16, None)
    result = invoke("run", scenario, "-n", N, "-o", out, "--chunk-size", "8")
    assert_one_line_error(result, r"terminated: the incomplete run is in .*run\.partial", 143)
    assert not out.exists()
    assert manifest(out.with_name("run.partial"))["status"] == "incomplete"


def test_resume_finishes_an_interrupted_run(
    scenario: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole"
    assert invoke("run", scenario, "-n", N, "-o", whole, "--chunk-size", "8").exit_code == 0
    with monkeypatch.context() as patch:
        interrupt_at_branch(patch, 16, KeyboardInterrupt)
        stopped = invoke("run", scenario, "-n", N, "-o", out, "--chunk-size", "8")
    assert_one_line_error(stopped, f"finish it with 'sim run --resume {re.escape(str(out))}'", 130)
    result = invoke("run", "--resume", out)
    assert result.exit_code == 0, result.output
    assert (out / "branches.parquet").read_bytes() == (whole / "branches.parquet").read_bytes()


def test_the_progress_bar_takes_reports_of_done_and_total() -> None:
    with progress_bar(enabled=True) as update:
        assert update is not None
        update(10, 40)
        update(40, 40)


def test_a_disabled_progress_bar_yields_no_callback() -> None:
    with progress_bar(enabled=False) as update:
        assert update is None


def test_run_help_lists_the_options() -> None:
    result = invoke("run", "--help")
    for option in ("--branches", "--seed", "--out", "--set", "--variant", "--executor"):
        assert option in result.stdout


def test_a_variant_and_each_set_name_their_own_default_directory(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("run", scenario, "-n", "5", "-q").exit_code == 0
    assert invoke("run", scenario, "-n", "5", "-q", "--set", "boost=0.9").exit_code == 0
    assert invoke("run", scenario, "-n", "5", "-q", "--variant", "calm").exit_code == 0
    made = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert made == ["tiny", "tiny__boost=0.9", "tiny__calm"]
    assert manifest(tmp_path / "results" / "tiny")["overrides"] == {}
