"""Statistics of Monte Carlo results: intervals, survival curves, summaries, differences.

Shared by run directories (which summarise themselves) and the analyses; it knows nothing of
scenarios or engines, only arrays. Every interval records its method (``ci_method``).
"""

from sim.stats.competing import aalen_johansen
from sim.stats.differences import (
    compare_outcome,
    diff_means_paired,
    diff_means_welch,
    diff_proportions_independent,
    diff_proportions_paired,
)
from sim.stats.intervals import Interval, mean_interval, proportion, quantiles
from sim.stats.summary import summarize, summarize_outcome
from sim.stats.survival import (
    SurvivalCurve,
    diff_rmst_independent,
    diff_rmst_paired,
    kaplan_meier,
    km_median,
    km_quantile,
    rmst,
    survival_at,
)

__all__ = [
    "Interval",
    "SurvivalCurve",
    "aalen_johansen",
    "compare_outcome",
    "diff_means_paired",
    "diff_means_welch",
    "diff_proportions_independent",
    "diff_proportions_paired",
    "diff_rmst_independent",
    "diff_rmst_paired",
    "kaplan_meier",
    "km_median",
    "km_quantile",
    "mean_interval",
    "proportion",
    "quantiles",
    "rmst",
    "summarize",
    "summarize_outcome",
    "survival_at",
]
