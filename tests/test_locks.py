"""One writer per result directory: an advisory lock, refused with one line, taken over when stale.

Two processes writing one run directory (a ``--resume`` while the interrupted run is in fact
still running, or two runs with the same ``--out``) once ended in a traceback and a damaged
partial directory. Now the second is refused at once with one line naming the first, and a
lock left by a process that died is taken over.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cli import assert_one_line_error, invoke
from _runs import same_rows, write_tiny

import sim
from sim.errors import UsageError
from sim.montecarlo.lock import DirectoryLock, lock_path

SEED = 11


def start_sim(*args: str | Path) -> subprocess.Popen[str]:
    """Start ``sim ARGS`` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    """Wait until ``path`` exists (the process is well under way)."""
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no {path} in two minutes"
        time.sleep(0.02)


def test_a_second_writer_is_refused_with_one_line_naming_the_first(tmp_path: Path) -> None:
    scenario, out = write_tiny(tmp_path), tmp_path / "run"
    first = start_sim("run", scenario, "-n", 6000, "-s", SEED, "-o", out, "--chunk-size", 50, "-q")
    try:
        wait_for(
            out.with_name("run.partial") / "chunks" / "000000000000-000000000050.parquet", first
        )
        holder = rf"{out}: another sim process is writing it \(pid {first.pid} since .*: sim run "
        for args in (["run", scenario, "-n", 10, "-o", out], ["run", "--resume", out]):
            assert_one_line_error(
                invoke(*args), holder + r".*\); wait for it to finish, or stop it"
            )
    finally:
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert same_rows(sim.open_run(out).table, sim.run(scenario, branches=6000, seed=SEED).table)
    assert not lock_path(out).exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    holder = {"pid": dead.pid, "command": "sim run tiny.yaml", "since": "2020-01-01T00:00:00"}
    lock_path(out).write_text(json.dumps(holder))  # written, but no process holds it
    result = sim.run(scenario, branches=20, out=out)
    assert result.manifest["status"] == "complete"
    assert not lock_path(out).exists()


def test_a_lock_held_in_this_process_refuses_a_run_and_a_sweep(
    scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "busy"
    with DirectoryLock(out):
        message = rf"busy: another sim process is writing it \(pid {os.getpid()} since "
        with pytest.raises(UsageError, match=message):
            sim.run(scenario, branches=10, out=out)
        with pytest.raises(UsageError, match=message):
            sim.sweep(scenario, sim.Grid({"pressure": [0.5]}), branches=10, out=out)
        with pytest.raises(UsageError, match=message):
            sim.resume(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]
    sim.run(scenario, branches=10, out=out)  # free again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "tiny.yaml"]


def test_the_lock_goes_when_a_run_is_interrupted_and_the_resume_takes_it(
    scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"

    def stop(done: int, _total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.run(scenario, branches=100, out=out, chunk_size=10, progress=stop)
    assert not lock_path(out).exists()
    seen: list[bool] = []
    sim.resume(out, progress=lambda d, t: seen.append(lock_path(out).is_file()))
    assert seen and all(seen)  # held while the resume wrote
    assert not lock_path(out).exists()


def test_the_lock_names_the_command_that_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with DirectoryLock(out):
        holder = json.loads(lock_path(out).read_text())
    assert holder["pid"] == os.getpid()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", holder["since"])
    assert holder["command"]
    assert not lock_path(out).exists()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)
