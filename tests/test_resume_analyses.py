"""Sweeps, comparisons and sensitivity analyses are resumable like runs.

Ctrl-C (or SIGTERM, or workers that keep dying) leaves ``DIR.partial`` with every chunk
written so far; ``sim sweep --resume DIR``, ``sim compare --resume DIR`` and ``sim
sensitivity --resume DIR`` (or ``sim.resume(DIR)``) run only the missing chunks, and the
files they write are byte for byte those of an uninterrupted analysis.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cli import assert_one_line_error, invoke
from _runs import write_tiny

import sim
import sim.montecarlo.directory
import sim.montecarlo.jobs
from sim.engine.simpy import run_branches
from sim.errors import UsageError
from sim.model.compiled import CompiledModel

# What each kind writes, besides its manifest (whose times differ).
FILES = {
    "sweep": ("points.parquet", "branches.parquet"),
    "compare": ("comparison.parquet", "branches.parquet"),
    "sensitivity": ("indices.parquet", "samples.parquet"),
}
# Each kind's command line on the tiny scenario; 70 branches make 3 chunks a setting.
COMMANDS = {
    "sweep": ["sweep", "{scenario}", "--grid", "pressure=0.2,0.5,0.8", "-n", "70", "-s", "3"],
    "compare": ["compare", "{scenario}", "--variants", "all", "-n", "70", "-s", "3"],
    "sensitivity": ["sensitivity", "{scenario}", "--method", "morris", "--n", "2", "-n", "40",
                    "-s", "3", "-p", "pressure"],
}  # fmt: skip
OUT_OPTION = {"sweep": "-o", "compare": "--dir", "sensitivity": "-o"}


def command(kind: str, scenario: Path, out: Path) -> list[str]:
    return [a.format(scenario=scenario) for a in COMMANDS[kind]] + [OUT_OPTION[kind], str(out)]


def interrupt_after(monkeypatch: pytest.MonkeyPatch, chunks: int) -> None:
    """Make the analyses' serial kernel raise Ctrl-C once ``chunks`` chunks have run."""
    ran = 0

    def kernel(model: CompiledModel, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
        nonlocal ran
        if ran == chunks:
            raise KeyboardInterrupt
        ran += 1
        return run_branches(model, seed, start, stop)

    monkeypatch.setattr(sim.montecarlo.jobs, "run_branches", kernel)


def same_files(kind: str, a: Path, b: Path) -> None:
    for name in FILES[kind]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("kind", list(FILES))
def test_ctrl_c_keeps_the_work_and_resume_finishes_it_byte_for_byte(
    kind: str, scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, out = tmp_path / "whole", tmp_path / "out"
    assert invoke(*command(kind, scenario, whole)).exit_code == 0
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        stopped = invoke(*command(kind, scenario, out))
    finish = f"sim compare --resume {out}" if kind == "compare" else f"sim {kind} --resume {out}"
    where = rf"^interrupted: the incomplete .* is in {out}\.partial"
    assert_one_line_error(stopped, rf"{where}; finish it with '{finish}'", 130)
    assert not out.exists()
    manifest = json.loads((tmp_path / "out.partial" / "manifest.json").read_text())
    assert (manifest["kind"], manifest["status"]) == (kind, "incomplete")
    resumed = invoke(*finish.split()[1:])
    assert resumed.exit_code == 0, resumed.output
    assert not (tmp_path / "out.partial").exists()
    same_files(kind, out, whole)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.parametrize(
    "start",
    [
        lambda model, out, progress: sim.sweep(
            model, sim.Grid({"pressure": [0.2, 0.7]}), branches=70, seed=5, out=out,
            progress=progress,
        ),
        lambda model, out, progress: sim.compare_variants(
            model, "all", branches=70, seed=5, out=out, progress=progress
        ),
        lambda model, out, progress: sim.sensitivity(
            model, method="sobol", n=4, branches=3, seed=5, out=out, progress=progress,
        ),
    ],
    ids=["sweep", "compare", "sensitivity"],
)  # fmt: skip
def test_sim_resume_finishes_any_interrupted_analysis(
    model: CompiledModel, tmp_path: Path, start: Callable[..., Any]
) -> None:
    whole = start(model, tmp_path / "whole", None)
    kind = "compare" if isinstance(whole, sim.Comparison) else whole.manifest["kind"]
    seen: list[int] = []

    def stop_at_the_third_report(done: int, _total: int) -> None:
        seen.append(done)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        start(model, tmp_path / "out", stop_at_the_third_report)
    reports: list[tuple[int, int]] = []
    again = sim.resume(tmp_path / "out.partial", progress=lambda d, t: reports.append((d, t)))
    assert type(again) is type(whole)
    assert reports[0][0] == seen[-1] > 0  # the resume starts where the work stopped
    same_files(kind, tmp_path / "out", tmp_path / "whole")


def test_a_resumed_sweep_may_use_other_workers(
    model: CompiledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = sim.Grid({"pressure": [0.1, 0.9]})
    sim.sweep(model, plan, branches=70, seed=5, out=tmp_path / "whole")
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            sim.sweep(model, plan, branches=70, seed=5, out=tmp_path / "out")
    again = sim.resume(tmp_path / "out", executor="process", workers=2)
    assert again.manifest["executor"] == "process"
    same_files("sweep", tmp_path / "out", tmp_path / "whole")


def test_a_new_analysis_never_discards_an_interrupted_one(
    model: CompiledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        with pytest.raises(KeyboardInterrupt):
            sim.compare_variants(model, "all", branches=70, out=tmp_path / "c")
    with pytest.raises(UsageError, match=r"an interrupted comparison is there; finish it with "
                                         r"'sim compare --resume .*c'"):  # fmt: skip
        sim.compare_variants(model, "all", branches=70, out=tmp_path / "c")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", "--resume", "{out}", "--grid", "pressure=1"], "leave out --grid"),
        (["sweep", "{scenario}", "--resume", "{out}"], "leave out FILE"),
        (["sensitivity", "--resume", "{out}", "-n", "3"], "leave out --branches"),
        (["compare", "{out}", "--resume", "-s", "2"], "leave out --seed"),
        (["compare", "{out}", "--resume", "--dir", "x"], "--dir: only to find the comparison"),
        (["sweep", "--resume", "{out}"], "no incomplete sweep to resume"),
        (["compare", "{out}", "--resume"], "no incomplete comparison to resume"),
        (["sweep"], "missing FILE: give a scenario file, or --resume DIR"),
    ],
)
def test_resume_options_are_checked(
    scenario: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    values = {"scenario": scenario, "out": tmp_path / "nothing"}
    assert_one_line_error(invoke(*(a.format(**values) for a in args)), message)


def test_resuming_the_wrong_kind_names_the_right_command(
    model: CompiledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        with pytest.raises(KeyboardInterrupt):
            sim.sweep(model, sim.Grid({"pressure": [0.3]}), branches=70, out=tmp_path / "s")
    out = tmp_path / "s"
    assert_one_line_error(
        invoke("run", "--resume", out), rf"holds an interrupted sweep.* 'sim sweep --resume {out}'"
    )
    assert_one_line_error(
        invoke("sensitivity", "--resume", out),
        rf"holds an interrupted sweep; finish it with 'sim sweep --resume {out}'",
    )


def test_a_comparison_by_file_resumes_by_file(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["compare", scenario.name, "-n", "70", "-f", "csv"]
    whole = invoke(*args).stdout
    (tmp_path / "results" / "tiny__compare" / "comparison.parquet").rename(tmp_path / "c.parquet")
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        assert invoke(*args).exit_code == 130
    resumed = invoke("compare", scenario.name, "--resume", "-f", "csv")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout == whole
    written = tmp_path / "results" / "tiny__compare" / "comparison.parquet"
    assert written.read_bytes() == (tmp_path / "c.parquet").read_bytes()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


@pytest.mark.parametrize("kind", list(FILES))
def test_killed_between_its_final_files_and_the_rename_a_resume_publishes_it(
    kind: str, scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last moment an analysis can be killed: its files written, the rename not done."""
    whole, out = tmp_path / "whole", tmp_path / "out"
    assert invoke(*command(kind, scenario, whole)).exit_code == 0

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(sim.montecarlo.directory, "_publish", killed)  # the rename
        invoke(*command(kind, scenario, out))
    assert not out.exists()
    manifest = json.loads((tmp_path / "out.partial" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    resumed = invoke(kind, "--resume", str(out))
    assert resumed.exit_code == 0, resumed.output
    assert not (tmp_path / "out.partial").exists()
    same_files(kind, out, whole)


@pytest.mark.parametrize("kind", ["run", *FILES])
def test_a_start_killed_at_any_write_leaves_no_partial_or_a_resumable_one(
    kind: str, scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of the first files a start writes is the moment of a kill (its scenario text, its
    manifest, ...): what is left is nothing, or a partial directory that a resume finishes."""
    import sim.montecarlo.directory as directory

    real = directory._write_text
    for moment in range(3):
        out = tmp_path / f"out{moment}"
        written = 0

        def write_then_die(path: Path, text: str) -> None:
            nonlocal written
            if written == moment:  # noqa: B023
                raise KeyboardInterrupt
            written += 1
            real(path, text)

        run = ["run", str(scenario), "-n", "70", "-s", "3", "-o", str(out)]
        with monkeypatch.context() as patch:
            patch.setattr(directory, "_write_text", write_then_die)
            invoke(*(run if kind == "run" else command(kind, scenario, out)))
        if (tmp_path / f"out{moment}.partial").exists():
            verb = [kind] if kind != "run" else ["run"]
            resumed = invoke(*verb, "--resume", str(out))
            assert resumed.exit_code == 0, (moment, resumed.output)
            assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
