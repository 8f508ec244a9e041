"""Finish whatever was interrupted: a run, a sweep, a comparison or a sensitivity analysis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sim.montecarlo.kinds import ExecutorKind
from sim.montecarlo.results import MANIFEST, PARTIAL, partial_path, read_json
from sim.montecarlo.runner import Progress
from sim.montecarlo.runner import resume as resume_run

if TYPE_CHECKING:
    from sim.analysis.compare import Comparison
    from sim.analysis.sensitivity import SensitivityResult
    from sim.analysis.sweep import SweepResult
    from sim.montecarlo.results import RunResult

__all__ = ["interrupted_kind", "resume"]


def interrupted_kind(directory: str | Path) -> str:
    """Return the kind of the interrupted result in ``directory`` (``<out>`` or ``<out>.partial``).

    ``run`` when there is none to tell (the resume of a run then says what is wrong).
    """
    path = Path(directory)
    out = path.with_name(path.name.removesuffix(PARTIAL)) if path.name.endswith(PARTIAL) else path
    manifest = partial_path(out) / MANIFEST
    if not manifest.is_file():
        return "run"
    return str(read_json(manifest).get("kind", "run"))


def resume(
    directory: str | Path,
    *,
    executor: ExecutorKind | str = ExecutorKind.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> RunResult | SweepResult | Comparison | SensitivityResult:
    """Finish the interrupted result in ``directory``: only its missing chunks run.

    Whatever its kind, the finished files are those an uninterrupted run, sweep, comparison
    or sensitivity analysis writes; the result is what that function returns.
    """
    kind = interrupted_kind(directory)
    options = {"executor": executor, "workers": workers, "scheduler": scheduler}
    if kind == "sweep":
        from sim.analysis.sweep import resume_sweep

        return resume_sweep(directory, progress=progress, **options)  # type: ignore[arg-type]
    if kind == "compare":
        from sim.analysis.compare import resume_compare

        return resume_compare(directory, progress=progress, **options)  # type: ignore[arg-type]
    if kind == "sensitivity":
        from sim.analysis.sensitivity import resume_sensitivity

        return resume_sensitivity(directory, progress=progress, **options)  # type: ignore[arg-type]
    return resume_run(directory, progress=progress, **options)  # type: ignore[arg-type]
