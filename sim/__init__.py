"""Scenario modelling: Monte Carlo branches of uncertain scenario files on a SimPy engine."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sim.errors import ExprError, Problem, RunError, ScenarioError, SimError, UsageError

try:
    __version__ = version("sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ExprError",
    "Problem",
    "RunError",
    "ScenarioError",
    "SimError",
    "UsageError",
    "__version__",
]
