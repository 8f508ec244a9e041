"""``sim score``: forecasts of runs scored against what happened.

Each entry of a resolutions file (:mod:`.resolutions`) names an outcome (or an indicator) of
one of the runs; the run's branches give the forecast:

- a ``probability`` outcome: the share of branches where it happened by its ``by`` (among
  those where its ``given`` held); the resolution is true or false, and a ``false`` dated
  before the deadline is refused as premature;
- an indicator or a ``time_to`` outcome: the share of branches where it had happened by the
  resolution's ``date`` (their rows keep the first time, so any date can be asked);
- a ``value``, ``count`` or ``flow`` outcome resolved with a number: the branch values are
  the forecast distribution, scored by the CRPS of that sample
  (``scoringrules.crps_ensemble``), with the observed value's rank among them (PIT).

Yes/no questions get the Brier score and the log score (``scoringrules.brier_score`` and
``log_score``; the log score takes a forecast of 0 or 1 out of n branches as 1/(2n) from
the edge, so that a Monte Carlo zero stays finite), each beside a reference forecast (0.5,
or a stated base rate) and the skill ``1 - score / reference``. With enough questions, the
Brier score is split into Murphy's reliability, resolution and uncertainty over the bins of
the calibration table (``remainder`` is what the bins leave: the spread of the forecasts
within each bin, zero when each bin holds equal forecasts), and the calibration table gives
each bin's mean forecast beside the observed frequency (Wilson interval).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa

from sim.analysis.evidence.resolutions import Resolution, ResolutionsFile, read_resolutions
from sim.analysis.evidence.runs import EvidenceRun, RunLike, evidence_run
from sim.errors import Problem, ScenarioError, UsageError, require_extra
from sim.format.document import Document
from sim.format.validation import suggest
from sim.stats.intervals import proportion
from sim.stats.summary import json_number

__all__ = ["COLUMNS", "DEFAULT_BINS", "MIN_QUESTIONS", "Scores", "murphy", "score"]

DEFAULT_BINS = 10
MIN_QUESTIONS = 10
"""Fewer yes/no questions than this and the Murphy decomposition is left out: with a
handful of questions, reliability and resolution are noise."""

COLUMNS = (
    "outcome",
    "run",
    "kind",
    "resolved",
    "date",
    "source",
    "forecast",
    "branches",
    "brier",
    "log_score",
    "reference",
    "reference_brier",
    "reference_log_score",
    "crps",
    "observed",
    "pit",
)
"""One row per question: the forecast (a probability, or the CRPS of a sample for a number)
and its scores beside the reference forecast's."""

_BINARY_KINDS = ("probability", "time_to", "indicator", "first_of")
_NUMERIC_KINDS = ("value", "count", "flow")


@dataclass(frozen=True)
class Scores:
    """Forecasts scored against resolutions: the result of :func:`score`.

    ``rows`` has one record per question (:data:`COLUMNS`); ``totals`` the mean scores, the
    reference's and the skill; ``decomposition`` Murphy's terms (``None`` with fewer than
    ``min_questions`` yes/no questions, ``note`` says why); ``calibration`` a row per bin.
    """

    resolutions: str
    rows: tuple[Mapping[str, Any], ...]
    totals: Mapping[str, Any]
    decomposition: Mapping[str, Any] | None
    calibration: tuple[Mapping[str, Any], ...]
    note: str | None

    def table(self) -> pa.Table:
        """The questions as an Arrow table with the columns of :data:`COLUMNS`."""
        strings = ("outcome", "run", "kind", "resolved", "date", "source")
        columns = {
            c: pa.array([None if r[c] is None else str(r[c]) for r in self.rows], pa.string())
            if c in strings else pa.array([r[c] for r in self.rows], pa.float64())
            for c in COLUMNS
        }  # fmt: skip
        return pa.table(columns)

    def to_pandas(self) -> Any:
        """The questions as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table().to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: questions, totals, decomposition and calibration."""
        return {
            "resolutions": self.resolutions,
            "questions": [dict(r) for r in self.rows],
            "totals": dict(self.totals),
            "decomposition": None if self.decomposition is None else dict(self.decomposition),
            "calibration": [dict(c) for c in self.calibration],
            "note": self.note,
            "methods": {
                "brier": "scoringrules.brier_score",
                "log_score": "scoringrules.log_score, forecasts clipped to [1/(2n), 1 - 1/(2n)]",
                "crps": "scoringrules.crps_ensemble over the branch values",
                "calibration": "wilson",
            },
        }


def score(
    runs: RunLike | Sequence[RunLike],
    resolutions: str | Path,
    *,
    reference: float | None = None,
    bins: int = DEFAULT_BINS,
    min_questions: int = MIN_QUESTIONS,
) -> Scores:
    """Score the forecasts of ``runs`` against the ``resolutions`` file.

    ``reference`` is the reference forecast of every yes/no question (default the file's
    ``reference``, else 0.5). A question that matches no outcome (or more than one run) is
    a :class:`~sim.errors.ScenarioError` located in the file.
    """
    require_extra("sim score", "evidence", "scoringrules")
    if bins < 1:
        raise UsageError(f"--bins must be at least 1, got {bins}")
    many = [runs] if isinstance(runs, str | Path) or not isinstance(runs, Sequence) else runs
    opened = [evidence_run(r) for r in many]
    if not opened:
        raise UsageError("give at least one run directory to score")
    doc, spec = read_resolutions(resolutions)
    base = reference if reference is not None else spec.reference
    base = 0.5 if base is None else base
    if not 0 <= base <= 1:
        raise UsageError(f"--reference must be a probability in [0, 1], got {base:g}")
    problems: list[Problem] = []
    rows = []
    known: list[str] = []
    for i, entry in enumerate(spec.resolutions):
        try:
            rows.append(_question(doc, spec, i, entry, opened, base))
        except _LocatedError as error:
            problems.append(error.problem)
            continue
        vantage = _vantage(next(r for r in opened if r.label == rows[-1]["run"]))
        if vantage is not None and entry.date <= vantage:
            known.append(f"{entry.outcome} ({entry.date} <= {vantage})")
    if problems:
        raise ScenarioError(problems)
    scores = _scores(doc.file, rows, base, bins, min_questions)
    if known:
        hindsight = (
            f"resolved on or before the forecast's vantage date, so known when it was made: "
            f"{', '.join(known)}"
        )
        note = hindsight if scores.note is None else f"{scores.note}; {hindsight}"
        scores = dataclasses.replace(scores, note=note)
    return scores


def _vantage(data: EvidenceRun) -> dt.date | None:
    """The date as of which a run's scenario was written: its vantage, else time.start."""
    manifest = data.result.manifest
    text = manifest.get("vantage") or manifest.get("start")
    return dt.date.fromisoformat(text) if isinstance(text, str) else None


class _LocatedError(Exception):
    """A problem of one entry, located in the resolutions file."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _fail(doc: Document, path: tuple[str | int, ...], message: str) -> NoReturn:
    """Stop scoring one entry with ``message`` about the value at ``path``."""
    raise _LocatedError(doc.problem(path, message))


def _question(
    doc: Document,
    spec: ResolutionsFile,
    i: int,
    entry: Resolution,
    runs: Sequence[EvidenceRun],
    reference: float,
) -> dict[str, Any]:
    """Score one resolution against the run that forecast it."""
    data = _run_of(doc, spec, i, entry, runs)
    kind = _kind(data, entry.outcome)
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row |= {
        "outcome": entry.outcome, "run": data.label, "kind": kind,
        "resolved": _shown(entry.resolved), "date": entry.date.isoformat(),
        "source": entry.source,
    }  # fmt: skip
    if kind in _NUMERIC_KINDS:
        if isinstance(entry.resolved, bool):
            _fail(doc, ("resolutions", i, "resolved"),
                  f"{entry.outcome!r} is a {kind} outcome: resolve it with the number observed")
        return row | _numeric(data, entry.outcome, entry.resolved)
    if kind == "first_of" and "=" not in entry.outcome:
        labels = ", ".join(_categories(data, entry.outcome))
        _fail(doc, ("resolutions", i, "outcome"),
              f"{entry.outcome!r} is a first_of outcome: score each category as a yes/no "
              f"question, outcome: {entry.outcome}=LABEL (labels: {labels})")
    if kind not in _BINARY_KINDS:
        _fail(doc, ("resolutions", i, "outcome"),
              f"{entry.outcome!r} is a {kind} outcome, which sim score cannot score; resolve "
              "its categories through probability outcomes or indicators")
    if not isinstance(entry.resolved, bool):
        _fail(doc, ("resolutions", i, "resolved"),
              f"{entry.outcome!r} is a yes/no question ({kind}): resolved must be true or "
              f"false, got {entry.resolved:g}")
    held, n = _forecast(doc, i, data, kind, entry)
    return row | _binary(held, n, entry.resolved, reference)


def _run_of(
    doc: Document, spec: ResolutionsFile, i: int, entry: Resolution, runs: Sequence[EvidenceRun]
) -> EvidenceRun:
    """The run that forecast ``entry``: its ``run``, else the one run that has the outcome."""
    wanted = entry.run or spec.run
    if wanted is not None:
        found = [r for r in runs if wanted in (r.label, Path(r.label).name)]
        if not found:
            path = ("resolutions", i, "run") if entry.run else ("run",)
            names = [Path(r.label).name for r in runs]
            _fail(doc, path,
                  f"no run {wanted!r} among the runs given{suggest(wanted, names)}: "
                  f"{', '.join(names)}")
        runs = found[:1]
    having = [r for r in runs if _kind(r, entry.outcome) is not None]
    if len(having) == 1:
        return having[0]
    where = ("resolutions", i, "outcome")
    if not having:
        known = sorted({n for r in runs for n in _names(r)})
        _fail(doc, where,
              f"no outcome or indicator {entry.outcome!r} in {', '.join(r.label for r in runs)}"
              f"{suggest(entry.outcome, known)}; known: {', '.join(known)}")
    _fail(doc, where,
          f"{entry.outcome!r} is in {len(having)} runs "
          f"({', '.join(Path(r.label).name for r in having)}): say which with `run:`")


def _names(data: EvidenceRun) -> list[str]:
    names = []
    for name, entry in data.outcomes():
        names.append(name)
        if entry.get("kind") == "first_of":
            names += [f"{name}={label}" for label in _categories(data, name)]
    return names + [n for n, _ in data.indicators()]


def _categories(data: EvidenceRun, name: str) -> list[str]:
    """The labels of a ``first_of`` outcome, and ``none``."""
    return list(data.summary["outcomes"][name].get("categories") or {})


def _kind(data: EvidenceRun, name: str) -> str | None:
    """The kind of outcome ``name`` in ``data`` (``indicator`` for an indicator), or None.

    ``NAME=LABEL`` is a category of the ``first_of`` outcome NAME (kind ``first_of``).
    """
    outcomes = data.summary["outcomes"]
    if name in outcomes:
        return str(outcomes[name]["kind"])
    base, _, label = name.partition("=")
    if label and outcomes.get(base, {}).get("kind") == "first_of":
        return "first_of" if label in _categories(data, base) else None
    return "indicator" if name in (data.summary.get("indicators") or {}) else None


def _forecast(
    doc: Document, i: int, data: EvidenceRun, kind: str, entry: Resolution
) -> tuple[int, int]:
    """``(branches where it happened, branches)`` for a yes/no question."""
    clock = data.catalog.clock
    day = entry.date.isoformat()
    if kind == "first_of":  # NAME=LABEL: that condition held first, by the outcome's by
        name, _, label = entry.outcome.partition("=")
        members = data.arm(name, kind, label).members()
        column = np.asarray(data.column(name), dtype=object) == label
        return int(column[members].sum()), int(members.sum())
    if kind == "probability":
        column = np.asarray(data.column(entry.outcome), dtype=bool)
        arm = data.arm(entry.outcome, kind)
        members = arm.members()
        by = data.summary["outcomes"][entry.outcome].get("by")
        if by is not None and clock.start is not None and not entry.resolved:
            t = clock.time(day, f"resolutions[{i}].date") if _in_run(clock, day) else math.inf
            if t < by and not clock.same(t, by, day):
                _fail(doc, ("resolutions", i, "date"),
                      f"{entry.outcome!r} asks whether it happens by {clock.show(by)}: a "
                      f"`false` on {day} is premature; score a time_to outcome or an indicator "
                      "at that date instead")
        return int(column[members].sum()), int(members.sum())
    if clock.start is None or clock.unit is None:
        _fail(doc, ("resolutions", i, "date"),
              f"{data.label} has no calendar (time.start, or a run made before sim recorded "
              "it): a dated question cannot be asked of it")
    if not _in_run(clock, day):
        _fail(doc, ("resolutions", i, "date"),
              f"{day} is outside the run ({clock.show(0.0)} to "
              f"{clock.show(clock.horizon or 0.0)})")
    t = clock.time(day, f"resolutions[{i}].date")
    column_name = data.catalog.observables[entry.outcome].column
    first = np.asarray(data.column(column_name), dtype=float)
    return int(np.sum(first <= t)), int(first.size)


def _in_run(clock: Any, day: str) -> bool:
    try:
        clock.time(day, "")
    except UsageError:
        return False
    return True


def _shown(resolved: bool | float) -> str:
    return ("true" if resolved else "false") if isinstance(resolved, bool) else f"{resolved:g}"


def _binary(held: int, n: int, resolved: bool, reference: float) -> dict[str, Any]:
    """The Brier and log scores of the forecast ``held / n`` and of the reference."""
    import scoringrules as sr

    if n == 0:
        return {"forecast": None, "branches": 0}
    p = held / n
    edge = 1 / (2 * n)
    y = np.asarray([float(resolved)] * 2)
    forecasts = np.asarray([p, reference])
    # a Monte Carlo 0 of n is "below about 1/n", not impossible; a stated 0 or 1 is clipped
    # only so far as to stay finite
    clipped = np.asarray([min(max(p, edge), 1 - edge), min(max(reference, 1e-9), 1 - 1e-9)])
    brier = sr.brier_score(y, forecasts)
    log = sr.log_score(y, clipped)
    return {
        "forecast": p, "branches": n, "brier": float(brier[0]), "log_score": float(log[0]),
        "reference": reference, "reference_brier": float(brier[1]),
        "reference_log_score": float(log[1]),
    }  # fmt: skip


def _numeric(data: EvidenceRun, name: str, observed: float) -> dict[str, Any]:
    """The CRPS of the branch values against the observed number, and its PIT."""
    import scoringrules as sr

    values = np.asarray(data.column(name), dtype=float)
    arm = data.arm(name, "value")
    values = values[arm.members() & ~np.isnan(values)]
    if values.size == 0:
        return {"branches": 0, "observed": observed}
    crps = float(sr.crps_ensemble(np.asarray([observed]), values[np.newaxis, :])[0])
    pit = float(np.mean(values < observed) + 0.5 * np.mean(values == observed))
    return {"branches": int(values.size), "crps": crps, "observed": observed, "pit": pit,
            "forecast": float(np.mean(values))}  # fmt: skip


# --- totals, decomposition, calibration --------------------------------------------------------


def _scores(
    file: str, rows: list[dict[str, Any]], reference: float, bins: int, min_questions: int
) -> Scores:
    binary = [r for r in rows if r["brier"] is not None]
    numeric = [r for r in rows if r["crps"] is not None]
    totals: dict[str, Any] = {"questions": len(rows), "yes_no": len(binary),
                              "numeric": len(numeric), "reference": reference}  # fmt: skip
    decomposition: dict[str, Any] | None = None
    calibration: tuple[dict[str, Any], ...] = ()
    note: str | None = None
    if binary:
        f = np.asarray([r["forecast"] for r in binary], dtype=float)
        y = np.asarray([r["resolved"] == "true" for r in binary], dtype=float)
        keys = ("brier", "log_score", "reference_brier", "reference_log_score")
        mean = {k: float(np.mean([r[k] for r in binary])) for k in keys}
        totals |= mean | {
            "brier_skill": _skill(mean["brier"], mean["reference_brier"]),
            "log_skill": _skill(mean["log_score"], mean["reference_log_score"]),
            "base_rate": float(np.mean(y)),
        }
        calibration = tuple(_calibration(f, y, bins))
        if len(binary) >= min_questions:
            decomposition = murphy(f, y, bins)
        else:
            note = (
                f"{len(binary)} yes/no questions: fewer than {min_questions}, so no Murphy "
                "decomposition; a handful of questions says little about calibration"
            )
    if numeric:
        totals["crps"] = float(np.mean([r["crps"] for r in numeric]))
    return Scores(file, tuple(rows), totals, decomposition, calibration, note)


def _skill(score_: float, reference: float) -> float | None:
    return json_number(1 - score_ / reference) if reference > 0 else None


def _bin_of(f: np.ndarray, bins: int) -> np.ndarray:
    """The bin of each forecast among ``bins`` equal bins of [0, 1] (1 goes in the last)."""
    # a hair of slack, so that 0.3 (3 of 10 branches) falls in [0.3, 0.4) as written
    which: np.ndarray = np.minimum(np.floor(f * bins + 1e-9).astype(int), bins - 1)
    return which


def murphy(forecasts: Sequence[float] | np.ndarray, outcomes: Sequence[float] | np.ndarray,
           bins: int = DEFAULT_BINS) -> dict[str, Any]:  # fmt: skip
    """Murphy's decomposition of the Brier score over ``bins`` equal forecast bins.

    ``brier = reliability - resolution + uncertainty + remainder``: reliability is the
    mean squared gap between each bin's mean forecast and its observed frequency,
    resolution the spread of the bins' frequencies around the base rate, uncertainty
    ``base_rate * (1 - base_rate)``, and remainder the part the bins leave (the spread of
    the forecasts within each bin; zero when each bin holds equal forecasts).
    """
    f = np.asarray(forecasts, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    n, base = f.size, float(np.mean(y))
    which = _bin_of(f, bins)
    reliability = resolution = 0.0
    for k in np.unique(which):
        inside = which == k
        count = int(inside.sum())
        reliability += count * (float(np.mean(f[inside])) - float(np.mean(y[inside]))) ** 2
        resolution += count * (float(np.mean(y[inside])) - base) ** 2
    brier = float(np.mean((f - y) ** 2))
    reliability, resolution = reliability / n, resolution / n
    uncertainty = base * (1 - base)
    return {
        "brier": brier, "reliability": reliability, "resolution": resolution,
        "uncertainty": uncertainty,
        "remainder": brier - (reliability - resolution + uncertainty), "bins": bins,
    }  # fmt: skip


def _calibration(f: np.ndarray, y: np.ndarray, bins: int) -> list[dict[str, Any]]:
    """One row per non-empty bin: its bounds, mean forecast and observed frequency."""
    which = _bin_of(f, bins)
    rows = []
    for k in range(bins):
        inside = which == k
        count = int(inside.sum())
        if not count:
            continue
        observed = proportion(int(y[inside].sum()), count)
        rows.append({
            "bin_low": k / bins, "bin_high": (k + 1) / bins, "questions": count,
            "mean_forecast": float(np.mean(f[inside])), "observed": observed.estimate,
            "ci_low": observed.low, "ci_high": observed.high, "ci_method": observed.method,
        })  # fmt: skip
    return rows
