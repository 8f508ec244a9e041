"""A command stopped by a model error leaves nothing behind: no partial directory, no folder.

A resume would meet the same error, so the work of such a run is of no use; the folders
made for it (``results/``) go too, and so does the lock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import assert_one_line_error, invoke

FAILING = """\
sim: 1
name: edge
title: Edge
description: A branch that takes the log of zero at t = 3.
time: {unit: month, horizon: 12}
parameters:
  k: {value: 1, assumption: a test}
state:
  x: {init: 2}
  y: {init: 0}
processes:
  - {kind: periodic, name: fall, every: 1, set: {x: "x - 1", y: "log(x)"}}
outcomes:
  - {kind: value, name: y, expr: y}
variants:
  double: {parameters: {k: 2}}
"""


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(FAILING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["run", "edge.yaml", "-n", "5"],
        ["run", "edge.yaml", "-n", "5", "-o", "deep/er/run"],
        ["sweep", "edge.yaml", "--grid", "k=1,2", "-n", "5"],
        ["compare", "edge.yaml", "-n", "5"],
    ],
    ids=["run", "run-deep", "sweep", "compare"],
)
def test_a_command_stopped_by_a_model_error_leaves_nothing(
    scenario: Path, tmp_path: Path, args: list[str]
) -> None:
    assert_one_line_error(invoke(*args), "math domain error")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge.yaml"]
