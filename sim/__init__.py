"""Scenario modelling: Monte Carlo branches of uncertain scenario files on a SimPy engine.

The public API is what this module exports: :func:`load` a scenario file into a compiled
model, :func:`run` its branches (in memory or into a run directory), :func:`open_run` a
finished run, :func:`sweep` parameters, :func:`compare_variants` or :func:`compare_runs`,
compute :func:`sensitivity` indices, draw a result with :func:`plot` or report on results
with :func:`write_report`, condition a run on observations (:func:`given`), measure the
diagnosticity of its indicators (:func:`indicators`), score forecasts (:func:`score`), find
what drives an outcome (:func:`discover`), and the errors every user-caused problem raises.

Names are imported on first use, so that ``import sim`` (and the command line) stays quick:
the analyses pull in pyarrow, scipy and SALib only when they are called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.errors import ExprError, Problem, RunError, ScenarioError, SimError, UsageError
from sim.version import __version__

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison, compare_runs, compare_variants
    from sim.analysis.evidence.discover import Discovery, discover
    from sim.analysis.evidence.given import Posterior, given
    from sim.analysis.evidence.indicators import Diagnosticity, indicators
    from sim.analysis.evidence.score import Scores, score
    from sim.analysis.resume import resume
    from sim.analysis.sensitivity import SensitivityResult, sensitivity
    from sim.analysis.sweep import Grid, Points, Sample, SweepResult, open_sweep, sweep
    from sim.model.compile import load
    from sim.model.compiled import CompiledModel
    from sim.montecarlo.results import RunResult, open_run
    from sim.montecarlo.runner import run
    from sim.report.page import write_report
    from sim.report.plot import plot

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "Discovery": "sim.analysis.evidence.discover",
    "discover": "sim.analysis.evidence.discover",
    "Posterior": "sim.analysis.evidence.given",
    "given": "sim.analysis.evidence.given",
    "Diagnosticity": "sim.analysis.evidence.indicators",
    "indicators": "sim.analysis.evidence.indicators",
    "Scores": "sim.analysis.evidence.score",
    "score": "sim.analysis.evidence.score",
    "Comparison": "sim.analysis.compare",
    "compare_runs": "sim.analysis.compare",
    "compare_variants": "sim.analysis.compare",
    "SensitivityResult": "sim.analysis.sensitivity",
    "sensitivity": "sim.analysis.sensitivity",
    "Grid": "sim.analysis.sweep",
    "Points": "sim.analysis.sweep",
    "Sample": "sim.analysis.sweep",
    "SweepResult": "sim.analysis.sweep",
    "open_sweep": "sim.analysis.sweep",
    "sweep": "sim.analysis.sweep",
    "load": "sim.model.compile",
    "CompiledModel": "sim.model.compiled",
    "RunResult": "sim.montecarlo.results",
    "open_run": "sim.montecarlo.results",
    "resume": "sim.analysis.resume",
    "run": "sim.montecarlo.runner",
    "plot": "sim.report.plot",
    "write_report": "sim.report.page",
}

__all__ = [
    "Comparison",
    "CompiledModel",
    "Diagnosticity",
    "Discovery",
    "ExprError",
    "Grid",
    "Points",
    "Posterior",
    "Problem",
    "RunError",
    "RunResult",
    "Sample",
    "ScenarioError",
    "Scores",
    "SensitivityResult",
    "SimError",
    "SweepResult",
    "UsageError",
    "__version__",
    "compare_runs",
    "compare_variants",
    "discover",
    "given",
    "indicators",
    "load",
    "open_run",
    "open_sweep",
    "plot",
    "resume",
    "run",
    "score",
    "sensitivity",
    "sweep",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for tab completion."""
    return sorted(set(globals()) | set(__all__))
