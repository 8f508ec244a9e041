"""``sim given``: every outcome conditioned on what has been observed, by exact rejection.

The branches of a run are draws from the scenario's joint distribution of parameters, paths
and outcomes; those that match the observations (:mod:`sim.montecarlo.observations`) are
draws from the distribution conditioned on them. So the posterior of an outcome is its
estimate over the kept branches, with the interval that the number kept allows, and the
prior is the same estimate over all branches: no model of the likelihood is needed, and no
approximation is made beyond the Monte Carlo error. The price is branches: when few match,
the intervals are wide, and the result says how many branches a run would need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.analysis.evidence.runs import EvidenceRun, RunLike, evidence_run
from sim.errors import UsageError
from sim.montecarlo.observations import Observation, match, parse_observations
from sim.montecarlo.results import RunResult
from sim.stats.differences import MEASURES, Arm, estimate
from sim.stats.intervals import Interval, proportion
from sim.stats.summary import json_number

__all__ = ["COLUMNS", "DEFAULT_MIN_KEPT", "Posterior", "given"]

DEFAULT_MIN_KEPT = 100
"""Fewer kept branches than this and the result warns: a Wilson interval over 100 branches
is about ±0.1 wide at p = 0.5."""

COLUMNS = (
    "outcome",
    "category",
    "kind",
    "measure",
    "prior",
    "prior_ci_low",
    "prior_ci_high",
    "prior_n",
    "posterior",
    "posterior_ci_low",
    "posterior_ci_high",
    "posterior_n",
    "ci_method",
    "change",
)
"""The columns of the table: one row per outcome (per category of a ``first_of``) and per
indicator; ``change`` is the posterior less the prior."""

_STRINGS = ("outcome", "category", "kind", "measure", "ci_method")
_COUNTS = ("prior_n", "posterior_n")


@dataclass(frozen=True)
class Posterior:
    """Outcomes before and after observations: the result of :func:`given`.

    ``kept`` of ``branches`` branches match every observation; ``kept_ci_low`` and
    ``kept_ci_high`` bound the probability of the observations themselves (Wilson). When
    ``kept`` is below ``min_kept``, ``needed_branches`` is how many branches a run would need
    to keep that many, at the kept fraction seen here.
    """

    run: str
    observations: tuple[str, ...]
    branches: int
    kept: int
    kept_ci_low: float | None
    kept_ci_high: float | None
    min_kept: int
    needed_branches: int | None
    rows: tuple[Mapping[str, Any], ...]

    @property
    def enough(self) -> bool:
        """Whether at least ``min_kept`` branches match the observations."""
        return self.kept >= self.min_kept

    @property
    def warning(self) -> str | None:
        """What to say when too few branches match, else ``None``."""
        if self.enough:
            return None
        share = self.kept / self.branches
        return (
            f"only {self.kept} of {self.branches} branches ({share:.3g}) match the "
            f"observations, fewer than {self.min_kept}: the posterior intervals are wide; a "
            f"run of about {self.needed_branches:,} branches would keep {self.min_kept} "
            "(sim run FILE --given ... --target-ci W runs until the posterior is that precise)"
        )

    def table(self) -> pa.Table:
        """The rows as an Arrow table with the columns of :data:`COLUMNS`."""
        def kind(c: str) -> pa.DataType:
            return pa.string() if c in _STRINGS else pa.int64() if c in _COUNTS else pa.float64()

        return pa.table({c: pa.array([r[c] for r in self.rows], type=kind(c)) for c in COLUMNS})

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the observations, the branches kept, and a record per row."""
        return {
            "run": self.run,
            "observations": list(self.observations),
            "branches": self.branches,
            "kept": self.kept,
            "kept_share": self.kept / self.branches if self.branches else None,
            "kept_ci_low": self.kept_ci_low,
            "kept_ci_high": self.kept_ci_high,
            "kept_ci_method": "wilson",
            "min_kept": self.min_kept,
            "needed_branches": self.needed_branches,
            "warning": self.warning,
            "outcomes": [dict(r) for r in self.rows],
        }


def given(
    run: RunLike,
    observed: Sequence[str],
    *,
    min_kept: int = DEFAULT_MIN_KEPT,
    branches: int | None = None,
    seed: int | None = None,
    engine: str | None = None,
    executor: str = "serial",
    workers: int | None = None,
) -> Posterior:
    """Condition every outcome of ``run`` on the ``observed`` facts, by exact rejection.

    ``run`` is a finished run (a result or its directory), or a scenario file: that is run
    first, in memory, with ``branches`` (default 10,000), ``seed`` (default 0), ``engine``
    (default ``sim.engine.DEFAULT_ENGINE``; ``"batch"`` for the many branches a rare
    observation needs), ``executor`` and ``workers``; those options apply only to a file.
    ``observed`` holds observations written ``NAME[=true|false][@DATE|TIME]`` (see
    :mod:`sim.montecarlo.observations`). Raises :class:`~sim.errors.UsageError` for an
    observation that names nothing observable, and when no branch matches them all.
    """
    if min_kept < 1:
        raise UsageError(f"--min-kept must be at least 1, got {min_kept}")
    run = _run_of(run, branches=branches, seed=seed, engine=engine, executor=executor,
                  workers=workers)  # fmt: skip
    data = evidence_run(run)
    observations = parse_observations(observed, data.catalog)
    kept = match(observations, data.column, data.branches)
    if not kept.any():
        raise UsageError(_nothing_matches(data, observations))
    return posterior_of(data, observations, kept, min_kept)


SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_GIVEN_BRANCHES = 10_000
"""Branches of a scenario file that ``given`` runs first (the batch engine runs them in
seconds)."""


def _run_of(
    run: RunLike,
    *,
    branches: int | None,
    seed: int | None,
    engine: str | None,
    executor: str,
    workers: int | None,
) -> RunLike:
    """Return ``run``, or the run of the scenario file ``run`` names, made now in memory."""
    from sim.engine import DEFAULT_ENGINE
    from sim.montecarlo.runner import run as run_scenario

    path = None if isinstance(run, RunResult) else Path(run)
    if path is not None and path.is_file() and path.suffix.lower() in SCENARIO_SUFFIXES:
        return run_scenario(
            path, branches=DEFAULT_GIVEN_BRANCHES if branches is None else branches,
            seed=0 if seed is None else seed, engine=engine or DEFAULT_ENGINE,
            executor=executor, workers=workers,
        )  # fmt: skip
    chosen = [name for name, value in (("--branches", branches), ("--seed", seed),
              ("--engine", engine), ("--workers", workers)) if value is not None]  # fmt: skip
    if executor != "serial":
        chosen.append("--executor")
    if chosen:
        raise UsageError(
            f"{chosen[0]}: {run} is a finished run; {chosen[0]} applies to a scenario file, "
            "which given runs first"
        )
    return run


def posterior_of(
    data: EvidenceRun, observations: Sequence[Observation], kept: np.ndarray, min_kept: int
) -> Posterior:
    """The posterior of every outcome and indicator of ``data`` over the ``kept`` branches."""
    n, k = data.branches, int(kept.sum())
    share = proportion(k, n)
    needed = None if k >= min_kept else math.ceil(min_kept * n / k)
    rows = [r for name, entry in data.outcomes() for r in _outcome_rows(data, name, entry, kept)]
    rows += [_indicator_row(data, name, entry, kept) for name, entry in data.indicators()]
    return Posterior(
        data.label, tuple(o.label for o in observations), n, k,
        share.low, share.high, min_kept, needed, tuple(rows),
    )  # fmt: skip


def _nothing_matches(data: EvidenceRun, observations: Sequence[Observation]) -> str:
    """Why no branch matches: the observation none satisfies, or that they clash together."""
    alone = [o for o in observations if not o.holds(data.column(o.observable.column)).any()]
    upper = proportion(0, data.branches).high
    bound = f"(at most {upper:.2g} by the 95% Wilson bound)" if upper is not None else ""
    if alone:
        return (
            f"no branch of {data.label} matches {alone[0].text!r}: none of its "
            f"{data.branches} branches {_has(alone[0])} {bound}; the observation is "
            "impossible in this scenario or too rare for this run"
        )
    return (
        f"no branch of {data.label} matches all of {', '.join(repr(o.text) for o in observations)}"
        f" together, though each alone holds in some branches {bound}"
    )


def _has(o: Observation) -> str:
    word = "saw" if o.value else "lacked"
    return f"{word} {o.observable.name}" + ("" if o.at is None else f" by t = {o.at:g}")


def _outcome_rows(
    data: EvidenceRun, name: str, entry: Mapping[str, Any], kept: np.ndarray
) -> list[dict[str, Any]]:
    """The rows of one outcome: one, or one per category of a ``first_of``."""
    kind = str(entry["kind"])
    categories = list(entry.get("categories") or {}) if kind == "first_of" else [None]
    return [
        _row(name, category, kind, MEASURES.get(kind, "mean"), data.arm(name, kind, category),
             kept, data.horizon)
        for category in categories
    ]  # fmt: skip


def _indicator_row(
    data: EvidenceRun, name: str, entry: Mapping[str, Any], kept: np.ndarray
) -> dict[str, Any]:
    """The row of one indicator: the share of branches where it appeared by its ``by``."""
    first = np.asarray(data.column(data.catalog.observables[name].column), dtype=float)
    appeared = first <= float(entry["by"])
    return _row(name, None, "indicator", "proportion", Arm(appeared), kept, data.horizon)


def _row(
    name: str,
    category: str | None,
    kind: str,
    measure: str,
    arm: Arm,
    kept: np.ndarray,
    horizon: float,
) -> dict[str, Any]:
    """Prior (all branches) beside posterior (kept branches) of one estimate."""
    estimate_kind = "probability" if kind == "indicator" else kind
    prior = estimate(estimate_kind, arm, horizon=horizon)
    after = estimate(estimate_kind, _subset(arm, kept), horizon=horizon)
    members = arm.members()
    return {
        "outcome": name,
        "category": category,
        "kind": kind,
        "measure": measure,
        **_cells("prior", prior),
        "prior_n": int(members.sum()),
        **_cells("posterior", after),
        "posterior_n": int((members & kept).sum()),
        "ci_method": after.method,
        "change": _difference(after, prior),
    }


def _subset(arm: Arm, kept: np.ndarray) -> Arm:
    """The arm restricted to the kept branches."""
    def cut(values: Any) -> Any:
        return None if values is None else np.asarray(values)[kept]

    return Arm(cut(arm.values), cut(arm.t_end), cut(arm.start), cut(arm.given), arm.category)


def _cells(prefix: str, interval: Interval) -> dict[str, float | None]:
    return {
        prefix: json_number(interval.estimate),
        f"{prefix}_ci_low": json_number(interval.low),
        f"{prefix}_ci_high": json_number(interval.high),
    }


def _difference(after: Interval, prior: Interval) -> float | None:
    if after.estimate is None or prior.estimate is None:
        return None
    return json_number(after.estimate - prior.estimate)
