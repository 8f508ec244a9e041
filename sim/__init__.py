"""Scenario modelling: Monte Carlo branches of uncertain scenario files on a SimPy engine.

The public API is what this module exports: :func:`load` a scenario file into a compiled
model, :func:`run` its branches (in memory or into a run directory), :func:`open_run` a
finished run, :func:`sweep` parameters, :func:`compare_variants` or :func:`compare_runs`,
compute :func:`sensitivity` indices, and the errors every user-caused problem raises.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sim.analysis.compare import Comparison, compare_runs, compare_variants
from sim.analysis.sensitivity import SensitivityResult, sensitivity
from sim.analysis.sweep import Grid, Points, Sample, SweepResult, open_sweep, sweep
from sim.errors import ExprError, Problem, RunError, ScenarioError, SimError, UsageError
from sim.model.compile import load
from sim.model.compiled import CompiledModel
from sim.montecarlo.results import RunResult, open_run
from sim.montecarlo.runner import resume, run

try:
    __version__ = version("sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Comparison",
    "CompiledModel",
    "ExprError",
    "Grid",
    "Points",
    "Problem",
    "RunError",
    "RunResult",
    "Sample",
    "ScenarioError",
    "SensitivityResult",
    "SimError",
    "SweepResult",
    "UsageError",
    "__version__",
    "compare_runs",
    "compare_variants",
    "load",
    "open_run",
    "open_sweep",
    "resume",
    "run",
    "sensitivity",
    "sweep",
]
