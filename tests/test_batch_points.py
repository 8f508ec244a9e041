"""Settings that differ only in parameter values share one batch (sensitivity, sweeps).

Their rows must be those each setting gives alone on the batch engine, whatever the
chunking, and the values read from ``--set`` texts must be the values ``--set`` gives.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _models import model
from _runs import write_tiny

import sim
import sim.engine.batch
from sim.analysis.points import Setting, _jobs, run_settings
from sim.analysis.sensitivity import sensitivity
from sim.engine.batch import run_branches, run_points
from sim.model.compile import build_model
from sim.model.overrides import parse_overrides
from sim.montecarlo.jobs import plain_value, point_values

BODY = """\
    parameters:
      r: {dist: {kind: uniform, low: 0.2, high: 1}, assumption: test}
      q: {dist: {kind: gamma, shape: 2, scale: 0.5}, assumption: test}
      on: {dist: {kind: bernoulli, p: 0.5}, assumption: test}
    state: {x: {init: 0, max: 5}, done: {init: 0}, fired: {init: false}}
    processes:
      - {kind: event, name: up, rate: "r if on else r / 2", set: {x: x + 1}}
      - {kind: trigger, name: tr, when: x >= 2, delay: {kind: exponential, mean: 1},
         chance: 0.7, cancel_if_false: true, set: {fired: true}}
      - kind: flow
        name: line
        arrivals: {rate: q}
        stages:
          - {name: s, capacity: 2, duration: {kind: exponential, mean: 0.5}, loss: 0.2}
        on_complete: {done: done + 1}
    outcomes:
      - {kind: time_to, name: t_fired, when: fired}
      - {kind: value, name: done, expr: done}
      - {kind: probability, name: high, when: x >= 4, by: 12}
    """


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def _points(n: int) -> list[tuple[tuple[str, str], ...]]:
    rng = random.Random(3)
    return [
        (("r", repr(rng.uniform(0.2, 1))), ("on", rng.choice(["true", "false"])))
        for _ in range(n)
    ]


def test_points_in_one_batch_give_the_rows_each_gives_alone() -> None:
    m = model(BODY, horizon=24)
    points = _points(7)
    template = build_model(m.source, m.file, overrides=points[0])
    values = point_values(points)
    together = run_points(template, 5, 10, 40, values, window=16)
    for i, overrides in enumerate(points):
        alone = run_branches(build_model(m.source, m.file, overrides=overrides), 5, 10, 40)
        for name, column in alone.items():
            assert _same(column, together[name][i * 30 : (i + 1) * 30]), (i, name)


def test_plain_values_are_read_as_set_reads_them() -> None:
    m = model(BODY, horizon=24)
    rng = random.Random(1)
    texts = [repr(rng.uniform(-1e6, 1e6)) for _ in range(100)]
    texts += [repr(10.0 ** rng.randint(-12, 12) * rng.random()) for _ in range(100)]
    texts += ["1", "-3", "2.5", "1e-05", "1E3", ".5", "5.", "+2"]
    for text in texts:
        assert plain_value(text) == parse_overrides(m.scenario, [("r", text)])["r"], text
    assert plain_value("true") is True and plain_value("false") is False
    assert plain_value("{kind: uniform, low: 0, high: 1}") is None


def test_settings_that_differ_in_values_share_jobs_and_rows_stay_the_same() -> None:
    m = model(BODY, horizon=24)
    settings = [Setting(None, p) for p in _points(40)] + [Setting(None, ())]
    jobs = list(_jobs(m, settings, 0, 3, 256, "batch", {}))
    assert len(jobs) < len(settings) and any(len(j.points) > 1 for j in jobs)
    shared = run_settings(m, settings, branches=3, seed=4, engine="batch")
    chosen = [*range(5), len(settings) - 1]
    for s, table in ((settings[i], shared.tables[i]) for i in chosen):
        alone = run_branches(build_model(m.source, m.file, overrides=s.overrides), 4, 0, 3)
        for name in table.column_names:
            assert _same(np.asarray(table.column(name).to_numpy()), alone[name]), name


def test_sensitivity_on_the_batch_engine_does_not_depend_on_the_executor() -> None:
    pytest.importorskip("SALib")
    m = model(BODY, horizon=24)
    serial = sensitivity(m, n=8, branches=2, seed=1, engine="batch")
    other = sensitivity(
        m, n=8, branches=2, seed=1, engine="batch", executor="process", workers=2
    )
    assert serial.samples.equals(other.samples)
    assert serial.indices.equals(other.indices)


def test_an_analysis_directory_holds_a_file_per_batch_and_resumes_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sobol with N = 64 over two parameters: 256 sample rows of 2 branches, in two batches
    file = write_tiny(tmp_path)
    options: dict[str, Any] = {"method": "sobol", "n": 64, "branches": 2, "seed": 1}
    whole = sensitivity(file, **options, engine="batch", out=tmp_path / "whole")
    memory = sensitivity(file, **options, engine="batch")
    assert whole.indices.equals(memory.indices)
    real, ran = sim.engine.batch.run_points, []

    def once(*args: Any, **kwargs: Any) -> Any:
        if ran:
            raise KeyboardInterrupt
        ran.append(1)
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sim.engine.batch, "run_points", once)
        with pytest.raises(KeyboardInterrupt):
            sensitivity(file, **options, engine="batch", out=tmp_path / "out")
    chunks = sorted(p.name for p in (tmp_path / "out.partial" / "chunks").iterdir())
    assert len(chunks) == 1 and chunks[0].startswith("b")  # the first batch, in one file
    sim.resume(tmp_path / "out")
    for name in ("indices.parquet", "samples.parquet"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
