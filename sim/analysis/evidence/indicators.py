"""``sim indicators``: how well each signpost tells a hypothesis from its rivals (quantitative ACH).

A hypothesis is an outcome a branch records (``annexed_by_2030``, or any observation such as
``time_to_annexation@2028-01-01``); an indicator is a signpost that appears in some
branches. Over the stored branches, ``P(indicator | H)`` is the share of the branches where
H holds in which the indicator appeared, and the likelihood ratio
``LR = P(I | H) / P(I | A)`` against the alternative A (not H, or another hypothesis) says
how much seeing the indicator multiplies the odds of H against A. Each proportion has a
Wilson interval; the ratio has the Katz log interval for a ratio of two independent
proportions, ``exp(ln LR ± z sqrt(1/a - 1/n1 + 1/b - 1/n0))``, with 0.5 added to every
count when one of them is zero (``katz_log_haldane``). Against another hypothesis that
shares branches with H, the two samples overlap and the Katz interval is approximate
(``overlap`` counts the shared branches).

Indicators are sorted by diagnosticity: ``|ln LR|`` against not H, and with several
hypotheses (the Analysis of Competing Hypotheses) ``ln(max / min)`` of ``P(I | H)`` over
them, so that an indicator equally likely under every hypothesis, however likely, comes
last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sim.analysis.evidence.runs import RunLike, evidence_run
from sim.errors import UsageError
from sim.montecarlo.observations import Observation, parse_observations
from sim.stats.intervals import Interval, proportion, z_critical
from sim.stats.summary import json_number

__all__ = ["COLUMNS", "Diagnosticity", "indicators", "likelihood_ratio"]

COLUMNS = (
    "indicator",
    "hypothesis",
    "against",
    "p_given_h",
    "p_given_h_ci_low",
    "p_given_h_ci_high",
    "n_h",
    "p_given_against",
    "p_given_against_ci_low",
    "p_given_against_ci_high",
    "n_against",
    "overlap",
    "likelihood_ratio",
    "lr_ci_low",
    "lr_ci_high",
    "lr_method",
    "diagnosticity",
    "prior_odds",
    "posterior_odds",
    "posterior",
)
"""One row per indicator and alternative: the two likelihoods (Wilson), the likelihood ratio
(Katz log interval), ``diagnosticity`` (the indicator's, repeated on its rows), the odds of
H against the alternative before and after seeing the indicator, and ``posterior``, the
share of H among the two after seeing it (``P(H | I)`` against not H)."""

_STRINGS = ("indicator", "hypothesis", "against", "lr_method")
_COUNTS = ("n_h", "n_against", "overlap")
NOT = "not "


def likelihood_ratio(a: int, n1: int, b: int, n0: int, confidence: float = 0.95) -> Interval:
    """The ratio ``(a / n1) / (b / n0)`` with its Katz log interval.

    With a zero count, 0.5 is added to ``a``, ``b``, ``n1`` and ``n0`` for the ratio's
    interval and estimate alike (``katz_log_haldane``); with no branches on either side the
    ratio is undefined.
    """
    if n1 == 0 or n0 == 0:
        return Interval(None, None, None, "katz_log")
    method = "katz_log"
    if a == 0 or b == 0:
        a, b, n1, n0, method = a + 0.5, b + 0.5, n1 + 0.5, n0 + 0.5, "katz_log_haldane"  # type: ignore[assignment]
    log_ratio = math.log(a / n1) - math.log(b / n0)
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / b - 1 / n0, 0.0))
    z = z_critical(confidence)
    return Interval(
        math.exp(log_ratio), math.exp(log_ratio - z * se), math.exp(log_ratio + z * se), method
    )


@dataclass(frozen=True)
class Hypothesis:
    """A hypothesis as the rows name it, where it holds, and its prior."""

    label: str
    held: np.ndarray

    @property
    def n(self) -> int:
        """The branches where it holds."""
        return int(self.held.sum())


@dataclass(frozen=True)
class Diagnosticity:
    """The diagnosticity of indicators for hypotheses: the result of :func:`indicators`.

    ``hypotheses`` lists each hypothesis with its prior (``P(H)`` over the run's branches);
    with one hypothesis the alternative is ``not H``, with several each is set against the
    first (the ACH matrix, :meth:`matrix`). ``rows`` are sorted by diagnosticity.
    """

    run: str
    branches: int
    hypotheses: tuple[Mapping[str, Any], ...]
    rows: tuple[Mapping[str, Any], ...]
    likelihoods: tuple[Mapping[str, Any], ...]

    @property
    def competing(self) -> bool:
        """Whether several hypotheses compete (the ACH matrix) rather than H against not H."""
        return len(self.hypotheses) > 1

    def table(self) -> pa.Table:
        """The rows as an Arrow table with the columns of :data:`COLUMNS`."""
        def kind(c: str) -> pa.DataType:
            return pa.string() if c in _STRINGS else pa.int64() if c in _COUNTS else pa.float64()

        return pa.table({c: pa.array([r[c] for r in self.rows], type=kind(c)) for c in COLUMNS})

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs pandas)."""
        return self.table().to_pandas()

    def matrix(self) -> Any:
        """The ACH matrix as a ``pandas.DataFrame``: ``P(I | H)``, indicators by hypotheses."""
        import pandas as pd

        frame = pd.DataFrame(list(self.likelihoods))
        order = list(dict.fromkeys(r["indicator"] for r in self.rows))
        wide = frame.pivot(index="indicator", columns="hypothesis", values="p_given_h")
        return wide.loc[order, [h["hypothesis"] for h in self.hypotheses]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the hypotheses, every P(I | H), and the rows."""
        return {
            "run": self.run,
            "branches": self.branches,
            "hypotheses": [dict(h) for h in self.hypotheses],
            "likelihoods": [dict(x) for x in self.likelihoods],
            "indicators": [dict(r) for r in self.rows],
            "methods": {
                "p_given_h": "wilson",
                "likelihood_ratio": "katz_log (0.5 added to each count when one is zero: "
                "katz_log_haldane)",
            },
        }


def indicators(
    run: RunLike,
    hypothesis: str,
    *,
    against: Sequence[str] = (),
    signposts: Sequence[str] = (),
    confidence: float = 0.95,
) -> Diagnosticity:
    """Likelihood ratios of the indicators of ``run`` for ``hypothesis`` (and its rivals).

    ``hypothesis`` and each of ``against`` are written like observations
    (``NAME[=true|false][@DATE|TIME]``: a probability outcome, a time_to outcome by a date,
    an indicator). ``signposts`` are the indicators to assess, written the same way
    (default: every indicator of the scenario, appeared by its ``by``).
    """
    data = evidence_run(run)
    hypotheses = parse_observations([hypothesis, *against], data.catalog, "--hypothesis")
    held = [_holds(o, data.column) for o in hypotheses]
    if not signposts:
        signposts = [name for name, _ in data.indicators()]
        if not signposts:
            raise UsageError(
                f"{data.label}: the scenario declares no indicators; name signposts with "
                "--indicator (any observable: NAME[=true|false][@DATE])"
            )
    seen = parse_observations(signposts, data.catalog, "--indicator")
    rivals = [Hypothesis(o.label, h) for o, h in zip(hypotheses, held, strict=True)]
    for rival in rivals:
        if rival.n == 0:
            raise UsageError(f"{data.label}: no branch has {rival.label}: it has no likelihoods")
    if len(rivals) == 1:
        rivals.append(Hypothesis(NOT + rivals[0].label, ~rivals[0].held))
    rows, likelihoods = _rows(rivals, seen, data.column, data.branches, confidence)
    priors = tuple(
        {"hypothesis": r.label, "n": r.n, "prior": r.n / data.branches}
        for r in (rivals if len(hypotheses) > 1 else rivals[:1])
    )
    return Diagnosticity(data.label, data.branches, priors, tuple(rows), tuple(likelihoods))


def _holds(o: Observation, column: Any) -> np.ndarray:
    return o.holds(column(o.observable.column))


def _rows(
    rivals: Sequence[Hypothesis],
    seen: Sequence[Observation],
    column: Any,
    branches: int,
    confidence: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows (the first hypothesis against each other) and every P(I | H), sorted."""
    first, others = rivals[0], rivals[1:]
    rows: list[dict[str, Any]] = []
    likelihoods: list[dict[str, Any]] = []
    spreads: dict[str, float] = {}
    for signpost in seen:
        appeared = _holds(signpost, column)
        shares = {r.label: proportion(int((appeared & r.held).sum()), r.n, confidence)
                  for r in rivals}  # fmt: skip
        likelihoods += [
            {"indicator": signpost.label, "hypothesis": r.label, "p_given_h": json_number(
                shares[r.label].estimate), "ci_low": json_number(shares[r.label].low),
             "ci_high": json_number(shares[r.label].high), "n_h": r.n}
            for r in rivals
        ]  # fmt: skip
        spread = _diagnosticity([shares[r.label] for r in rivals])
        spreads[signpost.label] = -1.0 if spread is None else spread
        for other in others:
            rows.append(_row(signpost.label, first, other, appeared, spread, branches, confidence))
    # most diagnostic first (an indicator seen under one hypothesis only is infinitely so)
    rows.sort(key=lambda r: (-spreads[r["indicator"]], r["indicator"]))
    order = {r["indicator"]: i for i, r in reversed(list(enumerate(rows)))}
    likelihoods.sort(key=lambda x: order[x["indicator"]])
    return rows, likelihoods


def _diagnosticity(shares: Sequence[Interval]) -> float | None:
    """``ln(max / min)`` of the likelihoods (``|ln LR|`` for two); None if one is undefined."""
    values = [s.estimate for s in shares]
    if any(v is None for v in values):
        return None
    low, high = min(values), max(values)  # type: ignore[type-var]
    if high == 0:
        return 0.0
    return math.inf if low == 0 else math.log(high / low)  # type: ignore[operator]


def _row(
    label: str,
    h: Hypothesis,
    alternative: Hypothesis,
    appeared: np.ndarray,
    spread: float | None,
    branches: int,
    confidence: float,
) -> dict[str, Any]:
    """One indicator's likelihoods under ``h`` and ``alternative``, their ratio and the odds."""
    a, b = int((appeared & h.held).sum()), int((appeared & alternative.held).sum())
    under_h, under_a = proportion(a, h.n, confidence), proportion(b, alternative.n, confidence)
    ratio = likelihood_ratio(a, h.n, b, alternative.n, confidence)
    prior_odds = h.n / alternative.n if alternative.n else None
    posterior_odds = a / b if b else (math.inf if a else None)
    return {
        "indicator": label,
        "hypothesis": h.label,
        "against": alternative.label,
        "p_given_h": json_number(under_h.estimate),
        "p_given_h_ci_low": json_number(under_h.low),
        "p_given_h_ci_high": json_number(under_h.high),
        "n_h": h.n,
        "p_given_against": json_number(under_a.estimate),
        "p_given_against_ci_low": json_number(under_a.low),
        "p_given_against_ci_high": json_number(under_a.high),
        "n_against": alternative.n,
        "overlap": int((h.held & alternative.held).sum()),
        "likelihood_ratio": json_number(ratio.estimate),
        "lr_ci_low": json_number(ratio.low),
        "lr_ci_high": json_number(ratio.high),
        "lr_method": ratio.method,
        "diagnosticity": spread if spread is None or math.isfinite(spread) else None,
        "prior_odds": json_number(prior_odds),
        "posterior_odds": json_number(posterior_odds),
        "posterior": json_number(a / (a + b)) if a + b else None,
    }

