"""Observations: what has been seen, as a condition on the stored branches.

An observation is written ``NAME[=true|false][@DATE|TIME]``: the indicator, ``probability``
outcome or ``time_to`` outcome NAME had (``=true``, the default) or had not (``=false``)
happened by the date or time after ``@``. Without ``@`` the time is the indicator's or
outcome's own deadline ``by`` (a ``time_to`` outcome's is the end of the branch). A
``first_of`` outcome is observed as ``NAME=LABEL``: which of its conditions held first by
its deadline (``none``: none of them). A branch *matches* an observation when its row says
so:

- an indicator or a ``time_to`` outcome keeps the first time its condition held (NaN when it
  never did), so any time can be observed: happened by T means first time <= T;
- a ``probability`` outcome keeps only whether its condition held by its ``by``, so it can
  be observed at that time only (or without ``@``); so does a ``first_of`` outcome, which
  keeps only the label of the condition that held first by its ``by``.

A branch that ended early (``stop_when``) before T counts what happened before it ended.
Observations are resolved against a :class:`Catalog` (the observable columns and the clock
of a model or of a run directory); a name, value or time that does not fit is a
:class:`~sim.errors.UsageError` naming the observation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.model.compiler import DAYS_PER_UNIT
from sim.model.indicators import INDICATOR_PREFIX
from sim.stats.intervals import proportion
from sim.stats.summary import json_number

__all__ = [
    "Catalog",
    "Clock",
    "Observable",
    "Observation",
    "catalog_of_model",
    "catalog_of_run",
    "indicator_summaries",
    "match",
    "parse_observations",
]

BoolArray = npt.NDArray[np.bool_]
_SYNTAX = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*([A-Za-z0-9_]+)\s*)?(?:@\s*(\S+)\s*)?$"
)
_SAME_TIME = 1e-9


@dataclass(frozen=True)
class Clock:
    """The time of a scenario: its unit, calendar start (``None`` if it has none), horizon."""

    unit: str | None
    start: dt.date | None
    horizon: float | None

    def time(self, text: str, where: str) -> float:
        """The time written ``text`` (an ISO date or a number) in the scenario's unit."""
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:
            if self.start is None or self.unit is None:
                raise UsageError(
                    f"{where}: the date {text} needs the scenario's time.start; give a time "
                    "in its unit instead"
                    + ("" if self.unit else " (this run predates dates in observations: run "
                       "it again with this version of sim)")
                )  # fmt: skip
            t = (day - self.start).days / DAYS_PER_UNIT[self.unit]
        else:
            try:
                t = float(text)
            except ValueError:
                raise UsageError(
                    f"{where}: expected an ISO date (2026-01-01) or a time after '@', got {text!r}"
                ) from None
        if not math.isfinite(t) or t < 0:
            raise UsageError(f"{where}: the time {text} is before the start (t = 0)")
        if self.horizon is not None and t > self.horizon * (1 + _SAME_TIME):
            raise UsageError(f"{where}: the time {text} (t = {t:.4g}) is after the horizon "
                             f"{self.horizon:g}")  # fmt: skip
        return t

    def same(self, t: float, other: float, text: str | None = None) -> bool:
        """Whether ``t`` (written ``text``) is the time ``other``: to the day, for a date."""
        if abs(t - other) <= _SAME_TIME * max(1.0, abs(other)):
            return True
        return text is not None and "-" in text and self.show(other) == text

    def show(self, t: float) -> str:
        """``t`` as a reader wants it: a date where the scenario has a start, else the number."""
        if self.start is None or self.unit is None:
            return f"{t:g}"
        return str(self.start + dt.timedelta(days=round(t * DAYS_PER_UNIT[self.unit])))


@dataclass(frozen=True)
class Observable:
    """Something a branch row records that can be observed.

    ``column`` holds a first time (``indicator``, ``time_to``), whether the condition held
    by ``by`` (``probability``) or the label of the condition that held first by ``by``
    (``first_of``, whose ``categories`` are its labels and ``none``). ``by`` is the default
    time of an observation: the indicator's or outcome's deadline (``None``: the end of the
    branch, or unknown).
    """

    name: str
    kind: Literal["indicator", "probability", "time_to", "first_of"]
    column: str
    by: float | None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """What can be observed in a model or a run, and its clock."""

    observables: Mapping[str, Observable]
    clock: Clock

    def names(self) -> list[str]:
        """The observable names, in order."""
        return list(self.observables)


@dataclass(frozen=True)
class Observation:
    """One observation, resolved: ``observable`` had (``value``) happened by time ``at``.

    ``at`` is ``None`` for the observable's own deadline; ``text`` is how it was written
    and ``label`` how it reads back (``drill@2026-01-01``, ``drill=false``).
    """

    text: str
    observable: Observable
    value: bool
    at: float | None
    label: str
    category: str | None = None  # of a first_of outcome

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the branch table the observation reads."""
        return (self.observable.column,)

    def holds(self, column: npt.ArrayLike) -> BoolArray:
        """Whether each branch matches, given the observable's column."""
        kind = self.observable.kind
        if kind == "first_of":
            happened = np.asarray(np.asarray(column, dtype=object) == self.category, dtype=bool)
        elif kind == "probability":
            happened = np.asarray(column, dtype=bool)
        else:
            first = np.asarray(column, dtype=float)
            limit = self.at if self.at is not None else self.observable.by
            # NaN (never held) compares false: it had not happened by any time
            happened = ~np.isnan(first) if limit is None else first <= limit
        return happened if self.value else ~happened


def parse_observations(
    texts: Sequence[str], catalog: Catalog, option: str = "--observed"
) -> tuple[Observation, ...]:
    """Resolve each ``NAME[=true|false][@DATE|TIME]`` against ``catalog``."""
    if not texts:
        raise UsageError(f"{option}: give at least one observation, NAME[=true|false][@DATE]")
    return tuple(_parse(text, catalog, option) for text in texts)


def _parse(text: str, catalog: Catalog, option: str) -> Observation:
    where = f"{option} {text}"
    found = _SYNTAX.match(text)
    if found is None:
        raise UsageError(f"{where}: expected NAME[=true|false][@DATE|TIME]")
    name, value_text, at_text = found.groups()
    observable = catalog.observables.get(name)
    if observable is None:
        from sim.format.validation import suggest

        names = catalog.names()
        raise UsageError(
            f"{where}: no indicator or probability, time_to or first_of outcome {name!r}"
            f"{suggest(name, names)}; observable: {', '.join(names) or 'none'}"
        )
    if observable.kind == "first_of":
        return _category(text, observable, value_text, at_text, where)
    if value_text not in (None, "true", "false"):
        raise UsageError(f"{where}: expected true or false after '=', got {value_text!r}")
    value = value_text != "false"
    at = None if at_text is None else catalog.clock.time(at_text, where)
    if observable.kind == "probability" and at is not None:
        by = observable.by
        if by is None or not catalog.clock.same(at, by, at_text):
            deadline = "its deadline" if by is None else f"its deadline {catalog.clock.show(by)}"
            raise UsageError(
                f"{where}: outcome {name!r} records only whether it happened by {deadline}; "
                "to observe it at another time, declare an indicator with the same condition "
                "(or observe a time_to outcome of it)"
            )
        at = None
    when = "" if at is None else f"@{at_text}"
    return Observation(text, observable, value, at, f"{name}{'' if value else '=false'}{when}")


def _category(
    text: str, observable: Observable, label: str | None, at_text: str | None, where: str
) -> Observation:
    """``NAME=LABEL`` of a first_of outcome: LABEL's condition held first by its deadline."""
    labels = ", ".join(observable.categories)
    if label is None or label not in observable.categories:
        got = "" if label is None else f", got {label!r}"
        raise UsageError(
            f"{where}: {observable.name!r} is a first_of outcome: write {observable.name}=LABEL "
            f"with a label of {labels}{got}"
        )
    if at_text is not None:
        raise UsageError(
            f"{where}: outcome {observable.name!r} records only which condition held first by "
            "its deadline; to observe a time, declare an indicator with that condition"
        )
    return Observation(text, observable, True, None, f"{observable.name}={label}", label)


def match(
    observations: Sequence[Observation], column: Any, rows: int
) -> BoolArray:
    """Whether each of ``rows`` branches matches every observation.

    ``column(name)`` returns a column of the branch table as an array.
    """
    kept = np.ones(rows, dtype=bool)
    for observation in observations:
        kept &= observation.holds(column(observation.observable.column))
    return kept


# --- catalogues ----------------------------------------------------------------------------------


def catalog_of_model(model: CompiledModel) -> Catalog:
    """The observables of a compiled model: its indicators, probability, time_to and first_of
    outcomes."""
    found: dict[str, Observable] = {}
    for o in model.outcomes:
        if o.kind == "probability":
            found[o.name] = Observable(o.name, "probability", o.name, o.by)
        elif o.kind == "time_to":
            found[o.name] = Observable(o.name, "time_to", o.name, None)
        elif o.kind == "first_of":
            found[o.name] = Observable(o.name, "first_of", o.name, o.by, o.labels)
    for i in model.indicators:
        found.setdefault(i.name, Observable(i.name, "indicator", i.column, i.by))
    return Catalog(found, Clock(model.unit, model.start, model.horizon))


def catalog_of_run(summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> Catalog:
    """The observables of a run, from its ``summary.json`` and ``manifest.json``.

    Runs written before indicators existed lack the deadlines and the clock: their
    probability outcomes can be observed without ``@`` only, and times only as numbers.
    """
    found: dict[str, Observable] = {}
    for name, entry in summary.get("outcomes", {}).items():
        kind = entry.get("kind")
        if kind == "probability":
            found[name] = Observable(name, "probability", name, entry.get("by"))
        elif kind == "time_to":
            found[name] = Observable(name, "time_to", name, None)
        elif kind == "first_of":
            labels = tuple(entry.get("categories") or ())
            found[name] = Observable(name, "first_of", name, entry.get("by"), labels)
    for name, entry in (summary.get("indicators") or {}).items():
        found.setdefault(name, Observable(name, "indicator", INDICATOR_PREFIX + name, entry["by"]))
    start = manifest.get("start")
    horizon = manifest.get("horizon")
    clock = Clock(
        manifest.get("unit"),
        dt.date.fromisoformat(start) if isinstance(start, str) else None,
        float(horizon) if horizon is not None else None,
    )
    return Catalog(found, clock)


def indicator_summaries(
    model: CompiledModel, column: Any, clock: Clock | None = None
) -> dict[str, dict[str, Any]]:
    """The ``summary.json`` entry of each indicator: what it is and how often it appeared.

    ``estimate`` is the share of branches where it held by its ``by``, with a Wilson
    interval; ``when``, ``by`` (and its ``date``), ``doc`` and the ``source`` citations say
    what it is, so that a run directory describes its indicators without the scenario.
    """
    clock = clock or Clock(model.unit, model.start, model.horizon)
    written = {i.name: i for i in (model.scenario.indicators if model.scenario else ())}
    out: dict[str, dict[str, Any]] = {}
    for indicator in model.indicators:
        first = np.asarray(column(indicator.column), dtype=float)
        k = int(np.sum(first <= indicator.by))
        interval = proportion(k, first.size)
        entry: dict[str, Any] = {"kind": "indicator", "when": indicator.when.source,
                                 "by": indicator.by}  # fmt: skip
        if model.start is not None:
            entry["date"] = clock.show(indicator.by)
        source = written.get(indicator.name)
        if indicator.doc:
            entry["doc"] = indicator.doc
        if source is not None and source.citations:
            entry["source"] = [{"ref": c.ref, "quote": c.quote} for c in source.citations]
        entry |= {
            "n": int(first.size), "estimate": json_number(interval.estimate),
            "ci_low": json_number(interval.low), "ci_high": json_number(interval.high),
            "ci_method": interval.method, "count": k,
        }  # fmt: skip
        out[indicator.name] = entry
    return out
