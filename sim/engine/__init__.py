"""Engines: run branches of a compiled model and return their rows.

Two engines run the same compiled model with the same semantics: ``simpy``
(:mod:`sim.engine.simpy`, one branch at a time, the reference) and ``batch``
(:mod:`sim.engine.batch`, every branch of a chunk at once with numpy). Their rows differ
(each has its own random numbers) but not their distributions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.errors import UsageError

__all__ = ["DEFAULT_ENGINE", "ENGINES", "check_engine", "run_branch_for", "run_branches_for"]

ENGINES: tuple[str, ...] = ("simpy", "batch")
# The engine that runs branches when none is named: the command line's --engine, every
# function of the Python API that takes ``engine=``, and jobs. Runs record the engine that
# made them, so changing this changes only runs made afterwards (a run directory written
# before engines were recorded was made by the SimPy engine, whatever this says).
DEFAULT_ENGINE: str = "simpy"


def check_engine(engine: str) -> str:
    """Return ``engine`` if it names an engine, else raise UsageError."""
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine}: unknown engine; the engines are simpy, batch")
    return engine


def run_branches_for(engine: str) -> Callable[..., Any]:
    """The ``run_branches(model, seed, start, stop)`` of an engine (imported on first use)."""
    if check_engine(engine) == "batch":
        from sim.engine.batch import run_branches as batch_branches

        return batch_branches
    from sim.engine.simpy import run_branches as simpy_branches

    return simpy_branches


def run_branch_for(engine: str) -> Callable[..., Any]:
    """The ``run_branch(model, seed, branch, trace)`` of an engine (imported on first use)."""
    if check_engine(engine) == "batch":
        from sim.engine.batch import run_branch as batch_branch

        return batch_branch
    from sim.engine.simpy import run_branch as simpy_branch

    return simpy_branch
