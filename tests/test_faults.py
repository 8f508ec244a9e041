"""Fault injection: the sim process killed at random moments, and a disk that fills up.

SIGKILL gives a process no chance to clean up, so these tests hold the guarantees that do
not depend on cleaning up: a directory that looks complete (``DIR`` with a manifest that
says so) is only ever the complete result, byte for byte; what a killed process leaves is
``DIR.partial`` (and perhaps its stale lock), which a resume finishes with the bytes of an
uninterrupted run. Each test kills at ten moments drawn from a seeded generator: after a
random number of chunk files have appeared (none: during start-up; all: while the result
is gathered, summarised and renamed), plus a random fraction of a second, so that the
moments spread over every phase however loaded the machine is.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _runs import write_tiny

import sim
from sim.montecarlo.lock import lock_path

SEED = 20231201
MOMENTS = 10
RUN = ["-n", "600", "-s", "5", "--chunk-size", "15", "-q"]
SWEEP = ["--grid", "pressure=0.2,0.5,0.8", "-n", "200", "-s", "5", "-q"]
RUN_CHUNKS, SWEEP_CHUNKS = 600 // 15, 3 * 7  # a sweep point's 200 branches: 7 chunks
FILES = {
    "run": ("branches.parquet", "summary.json"),
    "sweep": ("points.parquet", "branches.parquet"),
}


def sim_process(*args: str | Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def finished(*args: str | Path) -> None:
    """Run ``sim ARGS`` to the end."""
    done = sim_process(*args)
    _, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr.decode()


def chunk_count(out: Path) -> int:
    """How many chunk files the run or sweep into ``out`` has written so far."""
    chunks = out.with_name(out.name + ".partial") / "chunks"
    try:
        return sum(1 for name in os.listdir(chunks) if name.endswith(".parquet"))
    except FileNotFoundError:
        return 0


def killed_at(moment: tuple[int, float], out: Path, *args: str | Path) -> None:
    """Start ``sim ARGS`` writing ``out``; SIGKILL it once ``moment[0]`` more chunk files are
    there and ``moment[1]`` seconds more have passed (unless it ended before)."""
    wanted = chunk_count(out) + moment[0]
    process = sim_process(*args)
    deadline = time.monotonic() + 300
    while process.poll() is None and chunk_count(out) < wanted and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        process.communicate(timeout=moment[1])
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)


def assert_nothing_looks_complete_unless_it_is(out: Path, whole: Path, kind: str) -> None:
    """``out`` is absent or is the whole result; ``out.partial`` (if any) is readable."""
    if out.exists():
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        for name in FILES[kind]:
            assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    partial = out.with_name(out.name + ".partial")
    if (partial / "manifest.json").exists():
        status = json.loads((partial / "manifest.json").read_text())["status"]
        assert status in ("incomplete", "complete")  # complete: killed just before the rename


def finish(out: Path, start: Callable[[], object]) -> None:
    """Finish what a killed process left in ``out``: resume it, or start again if nothing is."""
    if out.with_name(out.name + ".partial").is_dir():
        sim.resume(out)
    elif not out.exists():
        start()


def moments(rng: random.Random, chunks: int) -> list[tuple[int, float]]:
    """``MOMENTS`` moments of a run of ``chunks`` chunks: chunks written, then seconds.

    The first is during start-up, before any chunk.
    """
    drawn = [(rng.randint(0, chunks), rng.uniform(0.0, 0.3)) for _ in range(MOMENTS - 1)]
    return [(0, rng.uniform(0.0, 0.3)), *drawn]


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


@pytest.mark.slow
def test_a_run_killed_at_any_moment_never_looks_complete_and_resumes_exactly(
    scenario: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    finished("run", scenario, *RUN, "-o", whole)
    rng = random.Random(SEED)
    for i, moment in enumerate(moments(rng, RUN_CHUNKS)):
        out = tmp_path / f"run{i}"
        killed_at(moment, out, "run", scenario, *RUN, "-o", out)
        assert_nothing_looks_complete_unless_it_is(out, whole, "run")
        finish(out, lambda: sim.run(scenario, branches=600, seed=5, chunk_size=15, out=out))  # noqa: B023
        assert_nothing_looks_complete_unless_it_is(out, whole, "run")
        assert out.is_dir() and not lock_path(out).exists()


@pytest.mark.slow
def test_a_resume_killed_at_any_moment_resumes_exactly(scenario: Path, tmp_path: Path) -> None:
    whole, out = tmp_path / "whole", tmp_path / "run"
    finished("run", scenario, *RUN, "-o", whole)
    rng = random.Random(SEED + 1)
    killed_at((5, 0.0), out, "run", scenario, *RUN, "-o", out)
    for count, seconds in moments(rng, RUN_CHUNKS // MOMENTS):  # each resume a little further
        if not out.with_name("run.partial").is_dir():
            break  # a resume got to the end before its kill
        killed_at((count, seconds), out, "run", "--resume", out, "-q")
        assert_nothing_looks_complete_unless_it_is(out, whole, "run")
    finish(out, lambda: sim.run(scenario, branches=600, seed=5, chunk_size=15, out=out))
    assert_nothing_looks_complete_unless_it_is(out, whole, "run")
    assert out.is_dir()


@pytest.mark.slow
def test_a_sweep_killed_at_any_moment_never_looks_complete_and_resumes_exactly(
    scenario: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    finished("sweep", scenario, *SWEEP, "-o", whole)
    rng = random.Random(SEED + 2)
    plan = sim.Grid({"pressure": ["0.2", "0.5", "0.8"]})
    for i, moment in enumerate(moments(rng, SWEEP_CHUNKS)):
        out = tmp_path / f"sweep{i}"
        killed_at(moment, out, "sweep", scenario, *SWEEP, "-o", out)
        assert_nothing_looks_complete_unless_it_is(out, whole, "sweep")
        finish(out, lambda: sim.sweep(scenario, plan, branches=200, seed=5, out=out))  # noqa: B023
        assert_nothing_looks_complete_unless_it_is(out, whole, "sweep")
        assert out.is_dir()


# --- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 256 KiB tmpfs mounted for the test, or a skip saying why there is none."""
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("making a small filesystem needs Linux and mount")
    where = tmp_path / "disk"
    where.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {made.stderr}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_full_disk_is_a_clear_error_and_nothing_looks_complete(
    scenario: Path, small_disk: Path, command: str
) -> None:
    out = small_disk / "result"
    args = RUN if command == "run" else SWEEP
    done = subprocess.run(
        [sys.executable, "-m", "sim", command, str(scenario), *args, "-n", "20000", "-o", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert "No space left on device" in done.stderr
    assert not out.exists()
    if "the incomplete result is in" in done.stderr:  # the disk filled up while it ran
        assert f"finish it with 'sim {command} --resume {out}'" in done.stderr
    partial = small_disk / "result.partial"
    if (partial / "manifest.json").exists():
        assert json.loads((partial / "manifest.json").read_text())["status"] == "incomplete"
