"""Both engines for the engine tests: a module's tests run once per engine.

``use_engine`` puts one engine's ``run_branches`` and ``run_branch`` into a test module's
namespace, so that its tests, written once, hold both engines to the same closed forms.
``unit_exponentials`` gives the unit exponentials a process's clock consumes in either
engine (each draws its first at the start, then one per firing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.engine import batch, simpy
from sim.engine.batch.streams import PROCESS, stream_id, uniforms
from sim.engine.common import branch_generator

ENGINES = ("simpy", "batch")
_MODULES = {"simpy": simpy, "batch": batch}
_current = {"engine": "simpy"}


def use_engine(monkeypatch: pytest.MonkeyPatch, namespace: dict[str, Any], name: str) -> None:
    """Make ``namespace`` (a test module's globals) run branches on engine ``name``."""
    module = _MODULES[name]
    for function in ("run_branches", "run_branch"):
        if function in namespace:
            monkeypatch.setitem(namespace, function, getattr(module, function))
    monkeypatch.setitem(_current, "engine", name)


def unit_exponentials(seed: int, process: str, branch: int, k: int) -> list[float]:
    """The first ``k`` unit exponentials of a clock process (event or Poisson flow)."""
    if _current["engine"] == "simpy":
        rng = branch_generator(seed, branch, 1, process)
        return [float(rng.exponential()) for _ in range(k)]
    u = uniforms(
        seed, np.full(k, branch), stream_id(PROCESS, process), np.arange(k, dtype=np.int64)
    )
    return [float(x) for x in -np.log(u)]
