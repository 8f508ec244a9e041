"""``sim plot``: the natural figure of a result on disk, saved as PNG, SVG or PDF.

A run directory gives the figure of one outcome (or, without a name, its probabilities at
a glance), with other runs of the same scenario side by side; a sweep directory the outcome
against the swept parameters; a sensitivity directory a tornado chart; a comparison table
a forest plot of the differences; an indicator table (``sim indicators --format csv``) the
likelihood ratios on a log axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from sim.analysis.sensitivity import SensitivityResult
from sim.analysis.sweep import SweepResult
from sim.analysis.views import (
    comparison_figure,
    indicators_figure,
    sensitivity_figure,
    sweep_outcome_figure,
)
from sim.errors import UsageError
from sim.montecarlo.results import RunResult
from sim.montecarlo.views import outcome_figure, overview_figure
from sim.report.inputs import IndicatorTable, open_result
from sim.views.frame import FORMATS, save

__all__ = ["check_figure_path", "default_figure_path", "figure_of", "plot"]


def figure_of(
    path: str | Path,
    name: str | None = None,
    *,
    others: Sequence[str | Path] = (),
    survival: bool = False,
) -> Figure:
    """Return the figure of the result at ``path`` (and ``others`` beside a run)."""
    result = open_result(path)
    if others and not isinstance(result, RunResult):
        raise UsageError(f"--with: other runs go beside a run directory; {path} is not one")
    if isinstance(result, RunResult):
        runs = [result, *(_run(other, result) for other in others)]
        if name is None:
            overview = overview_figure(result) if not others else None
            if overview is not None:
                return overview
            name = next(iter(result.summary["outcomes"]))
        return outcome_figure(runs, name, survival=survival)
    if isinstance(result, SweepResult):
        return sweep_outcome_figure(result, name)
    if isinstance(result, SensitivityResult):
        return sensitivity_figure(result, name)
    if isinstance(result, IndicatorTable):
        return indicators_figure(result.rows, foot=f"sim · {result.path.name}")
    return comparison_figure(result.rows, name, foot=f"sim · {result.path.name}")


def _run(path: str | Path, baseline: RunResult) -> RunResult:
    """Open a run to draw beside ``baseline``, refusing one of another scenario."""
    other = open_result(path)
    if not isinstance(other, RunResult):
        raise UsageError(f"--with {path}: not a run directory")
    mine, theirs = baseline.manifest.get("scenario"), other.manifest.get("scenario")
    if mine != theirs:
        raise UsageError(f"--with {path}: a run of scenario {theirs!r}, not {mine!r}")
    return other


def check_figure_path(path: Path) -> None:
    """Refuse, before any work, a figure file that could not be written."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"--out {path}: expected a .png, .svg or .pdf file name")
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: no such directory {path.parent}")
    if path.is_dir():
        raise UsageError(f"--out {path}: is a directory")


def default_figure_path(path: str | Path, name: str | None) -> Path:
    """Return ``<result name>[__<outcome>].png`` in the working directory."""
    stem = Path(path).stem or "figure"
    return Path(f"{stem}__{name}.png" if name else f"{stem}.png")


def plot(
    path: str | Path,
    name: str | None = None,
    *,
    out: str | Path | None = None,
    others: Sequence[str | Path] = (),
    survival: bool = False,
) -> Path:
    """Draw the figure of the result at ``path`` into ``out`` (.png, .svg or .pdf); return it."""
    target = Path(out) if out is not None else default_figure_path(path, name)
    check_figure_path(target)
    return save(figure_of(path, name, others=others, survival=survival), target)
