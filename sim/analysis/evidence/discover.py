"""``sim discover``: scenario discovery, the parameter ranges under which an outcome happens.

The stored branches are a sample of the uncertain parameters with the outcome each gave.
PRIM (the Patient Rule Induction Method, through EMA Workbench's ``prim.Prim``, the field's
reference implementation) peels the parameter space a little at a time, keeping the part
where the outcome is densest: each step of its *peeling trajectory* is a box with its
*coverage* (the share of all the branches with the outcome that fall in the box), its
*density* (the share of the branches in the box that have the outcome) and the number of
parameters it restricts. The chosen box is the densest box on the trajectory whose
coverage is at least ``min_coverage`` (default 0.8; ties go to the earlier, simpler box).
Each restricted parameter carries EMA's quasi-p-value (the chance that a restriction this
good would arise by chance; small is real). The parameters are also ranked by importance:
EMA's feature scoring, the impurity importances of an extra-trees classifier
(scikit-learn) fitted to the same sample, with a fixed random state.

The outcome is a ``probability`` outcome as it is, a ``first_of`` category
(``NAME=LABEL``), an indicator, or a number turned into yes/no by ``threshold``
(``value``, ``count`` and ``flow`` outcomes: ``>= X`` unless another operator is written;
``time_to``: ``<= X``, it happened by X).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sim.analysis.evidence.runs import EvidenceRun, RunLike, evidence_run
from sim.errors import UsageError, install_hint, require_extra
from sim.format.validation import suggest
from sim.model.indicators import INDICATOR_PREFIX
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX

__all__ = ["BOX_COLUMNS", "Discovery", "discover"]

DEFAULT_MIN_COVERAGE = 0.8
BOX_COLUMNS = ("parameter", "restricted", "low", "high", "values", "full_low", "full_high",
               "qp_value")  # fmt: skip
"""The chosen box: one row per parameter, its range in the box and over all branches."""

_IDS = ("branch", "seed", "t_end", "point")
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)?\s*([-+0-9.eE]+)\s*$")
_OPERATORS = {
    ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
}  # fmt: skip


@dataclass(frozen=True)
class Discovery:
    """PRIM's peeling trajectory, the chosen box, and the parameters' importance.

    ``trajectory`` has one record per step (``step``, ``coverage``, ``density``, ``mass``,
    ``n``, ``restricted``); ``chosen`` is the step of the box in ``box`` (:data:`BOX_COLUMNS`);
    ``importance`` ranks the parameters (``parameter``, ``importance``, ``rank``).
    """

    run: str
    outcome: str
    branches: int
    base_rate: float
    min_coverage: float
    chosen: int
    rule: str
    trajectory: tuple[Mapping[str, Any], ...]
    box: tuple[Mapping[str, Any], ...]
    importance: tuple[Mapping[str, Any], ...]

    def table(self) -> pa.Table:
        """The chosen box as an Arrow table (:data:`BOX_COLUMNS`)."""
        types = {"parameter": pa.string(), "restricted": pa.bool_(), "values": pa.string()}
        return pa.table({c: pa.array([r[c] for r in self.box], types.get(c, pa.float64()))
                         for c in BOX_COLUMNS})  # fmt: skip

    def to_pandas(self) -> Any:
        """The chosen box as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table().to_pandas()

    def trajectory_frame(self) -> Any:
        """The peeling trajectory as a ``pandas.DataFrame``."""
        import pandas as pd

        return pd.DataFrame(list(self.trajectory))

    def importance_frame(self) -> Any:
        """The parameters' importance as a ``pandas.DataFrame``, most important first."""
        import pandas as pd

        return pd.DataFrame(list(self.importance))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the outcome, trajectory, chosen box and importance."""
        chosen = self.trajectory[self.chosen]
        return {
            "run": self.run, "outcome": self.outcome, "branches": self.branches,
            "base_rate": self.base_rate, "min_coverage": self.min_coverage,
            "chosen": {"step": self.chosen, "rule": self.rule, **dict(chosen)},
            "box": [dict(r) for r in self.box],
            "trajectory": [dict(t) for t in self.trajectory],
            "importance": [dict(r) for r in self.importance],
            "methods": {"prim": "ema_workbench.analysis.prim.Prim",
                        "importance": "ema_workbench feature_scoring (extra trees)"},
        }  # fmt: skip


def discover(
    run: RunLike,
    outcome: str,
    *,
    threshold: str | float | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    peel_alpha: float = 0.05,
    seed: int = 0,
) -> Discovery:
    """Find the parameter box where ``outcome`` is most likely, and rank the parameters.

    Needs EMA Workbench (``pip install 'sim[discover]'``). ``threshold`` turns a number
    outcome into yes/no (``">= 3"``, ``"< 24"``, or a number with the default operator).
    """
    require_extra("sim discover", "discover", "ema_workbench", "pandas")
    if not 0 < min_coverage <= 1:
        raise UsageError(f"--min-coverage must be in (0, 1], got {min_coverage:g}")
    if not 0 < peel_alpha < 0.5:
        raise UsageError(f"--peel-alpha must be in (0, 0.5), got {peel_alpha:g}")
    data = evidence_run(run)
    label, y, rows = _target(data, outcome, threshold)
    x = _parameters(data, rows)
    if not y.any():
        raise UsageError(f"{data.label}: {label} holds in no branch: there is nothing to find")
    if y.all():
        raise UsageError(f"{data.label}: {label} holds in every branch: there is nothing to find")
    prim, feature_scoring = _ema()
    with warnings.catch_warnings():  # EMA's own deprecations (pandas, altair)
        warnings.simplefilter("ignore")
        # EMA counts the branches with y >= threshold as those of interest, and keeps its
        # box only if the box's density reaches the threshold: a tiny one does both right
        # for a yes/no y, and the box is chosen from the trajectory below
        box = prim.Prim(x, y, threshold=1e-9, peel_alpha=peel_alpha).find_box()
        scores, _ = feature_scoring.get_ex_feature_scores(
            x, y, mode=feature_scoring.RuleInductionType.CLASSIFICATION, random_state=seed
        )
    trajectory = _trajectory(box.peeling_trajectory)
    chosen, rule = _choose(trajectory, min_coverage)
    limits = _box(box, chosen, x)
    ranked = [
        {"parameter": str(name), "importance": float(value), "rank": k + 1}
        for k, (name, value) in enumerate(scores.iloc[:, 0].items())
    ]
    return Discovery(
        data.label, label, int(y.size), float(y.mean()), min_coverage, chosen, rule,
        tuple(trajectory), tuple(limits), tuple(ranked),
    )  # fmt: skip


def _ema() -> tuple[Any, Any]:
    """EMA Workbench's PRIM and feature scoring, imported on first use."""
    try:
        with warnings.catch_warnings():  # it warns about optional parts it lacks
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import feature_scoring, prim
    except ImportError:
        raise UsageError(
            f"sim discover needs EMA Workbench: {install_hint('discover')}"
        ) from None
    return prim, feature_scoring


def _target(
    data: EvidenceRun, outcome: str, threshold: str | float | None
) -> tuple[str, np.ndarray, np.ndarray]:
    """The outcome as yes/no per branch, its label, and the rows it is defined on."""
    name, _, label = outcome.partition("=")
    outcomes = dict(data.outcomes())
    indicators = dict(data.indicators())
    if name not in outcomes and name not in indicators:
        known = [*outcomes, *indicators]
        raise UsageError(
            f"--outcome {outcome}: no outcome or indicator {name!r}{suggest(name, known)}; "
            f"known: {', '.join(known)}"
        )
    rows = np.ones(data.branches, dtype=bool)
    if name in indicators:
        first = np.asarray(data.column(INDICATOR_PREFIX + name), dtype=float)
        return name, first <= float(indicators[name]["by"]), rows
    kind = str(outcomes[name]["kind"])
    if name + GIVEN_SUFFIX in data.table.schema.names:
        rows = np.asarray(data.column(name + GIVEN_SUFFIX), dtype=bool)
    values = data.column(name)
    if kind == "first_of":
        labels = list(outcomes[name].get("categories") or {})
        if label not in labels:
            raise UsageError(f"--outcome {outcome}: give a category of {name!r} as {name}=LABEL;"
                             f" categories: {', '.join(labels)}")  # fmt: skip
        return outcome, (np.asarray(values, dtype=object) == label)[rows], rows
    if label:
        raise UsageError(f"--outcome {outcome}: only a first_of outcome takes =LABEL")
    if kind == "probability":
        if threshold is not None:
            raise UsageError(f"--threshold: {name!r} is a probability outcome; it needs none")
        return name, np.asarray(values, dtype=bool)[rows], rows
    if threshold is None:
        raise UsageError(
            f"--outcome {name}: a {kind} outcome needs --threshold (e.g. '>= 3' or '<= 24') "
            "to say when it counts as happening"
        )
    op, bound = _threshold(threshold, "<=" if kind in ("time_to", "time_between") else ">=")
    numbers = np.asarray(values, dtype=float)
    held = np.zeros(numbers.shape, dtype=bool)
    known = ~np.isnan(numbers)  # a time that never came, or a value undefined: does not hold
    held[known] = _OPERATORS[op](numbers[known], bound)
    return f"{name} {op} {bound:g}", held[rows], rows


def _threshold(text: str | float, default: str) -> tuple[str, float]:
    if isinstance(text, int | float):
        return default, float(text)
    found = _THRESHOLD.match(text)
    try:
        bound = float(found.group(2)) if found else math.nan
    except ValueError:
        bound = math.nan
    if found is None or not math.isfinite(bound):
        raise UsageError(f"--threshold {text}: expected a number with an optional >=, >, <=, <")
    return found.group(1) or default, bound


def _parameters(data: EvidenceRun, rows: np.ndarray) -> Any:
    """The uncertain parameters of the branches in ``rows``, as EMA takes them (a DataFrame).

    Every column that is not an id, an outcome, a detail or an indicator is a parameter;
    fixed ones (one value throughout) are left out, true/false and text ones are categories.
    """
    import pandas as pd

    outcomes = {name for name, _ in data.outcomes()}
    taken = set(_IDS) | outcomes
    taken |= {n + s for n in outcomes for s in (FROM_SUFFIX, GIVEN_SUFFIX)}
    columns = {}
    for name in data.table.schema.names:
        if name in taken or name.startswith(INDICATOR_PREFIX):
            continue
        values = np.asarray(data.column(name))[rows]
        if values.size == 0 or np.all(values == values[0]):
            continue
        if values.dtype.kind in "bOUS":
            columns[name] = pd.Categorical(values.astype(str))
        else:
            columns[name] = values.astype(float)
    if not columns:
        raise UsageError(f"{data.label}: no uncertain parameter varies across the branches")
    return pd.DataFrame(columns)


def _trajectory(frame: Any) -> list[dict[str, Any]]:
    return [
        {"step": int(row["id"]), "coverage": float(row["coverage"]),
         "density": float(row["density"]), "mass": float(row["mass"]), "n": int(row["n"]),
         "restricted": int(row["res_dim"])}
        for _, row in frame.iterrows()
    ]  # fmt: skip


def _choose(trajectory: Sequence[Mapping[str, Any]], min_coverage: float) -> tuple[int, str]:
    """The densest step whose coverage is at least ``min_coverage`` (the first of ties)."""
    eligible = [t for t in trajectory if t["coverage"] >= min_coverage - 1e-12]
    rule = f"the densest box with coverage >= {min_coverage:g}"
    if not eligible:  # the first box covers everything, so this happens only above 1
        return 0, "the whole space (no box reaches the coverage)"
    best = max(eligible, key=lambda t: (t["density"], -t["step"]))
    return int(best["step"]), rule


def _box(box: Any, step: int, x: Any) -> list[dict[str, Any]]:
    """Each parameter's range in the box of ``step`` beside its range over all branches."""
    limits = box.box_lims[step]
    qp = _quasi_p(box, step)
    out = []
    for name in x.columns:
        low, high = limits[name].iloc[0], limits[name].iloc[1]
        if isinstance(low, set | frozenset):
            everything = set(x[name].cat.categories)
            out.append({"parameter": name, "restricted": set(low) != everything, "low": None,
                        "high": None, "values": ", ".join(sorted(map(str, low))),
                        "full_low": None, "full_high": None, "qp_value": qp.get(name)})  # fmt: skip
            continue
        full_low, full_high = float(x[name].min()), float(x[name].max())
        restricted = float(low) > full_low or float(high) < full_high
        out.append({"parameter": name, "restricted": restricted, "low": float(low),
                    "high": float(high), "values": None, "full_low": full_low,
                    "full_high": full_high, "qp_value": qp.get(name)})  # fmt: skip
    out.sort(key=lambda r: (not r["restricted"], r["qp_value"] if r["qp_value"] is not None
                            else 1.0, r["parameter"]))  # fmt: skip
    return out


def _quasi_p(box: Any, step: int) -> dict[str, float]:
    """EMA's quasi-p-value of each restricted parameter of the box (the larger of its two)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = box.inspect(step, style="data")
        frame = found[0][1]
    except Exception:  # an inspection EMA cannot make leaves the values out
        return {}
    columns = [c for c in frame.columns if "qp" in str(c[-1] if isinstance(c, tuple) else c)]
    out = {}
    for name, row in frame[columns].iterrows():
        values = [float(v) for v in row.to_numpy() if v is not None and not pd_isna(v)]
        if values:
            out[str(name)] = max(values)
    return out


def pd_isna(value: Any) -> bool:
    """Whether ``value`` is missing (None or NaN)."""
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return value is None
