"""The two engines agree in distribution on every shipped scenario and variant.

Each engine runs the same branches with its own random numbers; for every outcome the
two samples are compared with a two-sample test: proportions (probability outcomes, and
the share of missing values) by a z test, values by Kolmogorov-Smirnov (conservative for
counts, which have ties), ``time_to`` outcomes by a log-rank test with censoring at each
branch's end. The level is Bonferroni-corrected over every test of the module, with fixed
seeds. By default the suite checks every scenario's baseline on 2,000 branches per
engine; ``SIM_EQUIVALENCE_BRANCHES=20000`` checks every scenario and every variant on that
many branches per engine (about half an hour on two cores, most of it the SimPy engine).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.model.compile import load_model
from sim.model.compiled import CompiledModel
from sim.montecarlo.runner import run

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
FULL = "SIM_EQUIVALENCE_BRANCHES" in os.environ
BRANCHES = int(os.environ.get("SIM_EQUIVALENCE_BRANCHES", "2000"))
FAMILY_ALPHA = 0.01
SEEDS = {"simpy": 101, "batch": 202}


def _runs() -> list[tuple[Path, str | None, int]]:
    """Every scenario and variant, with its number of outcomes."""
    runs: list[tuple[Path, str | None, int]] = []
    for path in SCENARIOS:
        model = load_model(path)
        for variant in (None, *(model.scenario.variants if FULL else ())):
            runs.append((path, variant, len(model.outcomes)))
    return runs


RUNS = _runs()
# at most two tests per outcome (a value outcome's missing share, and its values)
ALPHA = FAMILY_ALPHA / sum(2 * outcomes for _, _, outcomes in RUNS)


def _table(model: CompiledModel, engine: str) -> dict[str, np.ndarray]:
    # the SimPy engine on both cores; the batch engine needs no help
    parallel: dict[str, Any] = {"executor": "process", "workers": 2} if engine == "simpy" else {}
    result = run(model, branches=BRANCHES, seed=SEEDS[engine], engine=engine, **parallel)
    table = result.table
    assert table is not None
    return {
        name: np.asarray(table.column(name).to_numpy(zero_copy_only=False))
        for name in table.column_names
    }


def two_proportions(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the z test of equal proportions."""
    pa, pb = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (len(a) + len(b))
    se = math.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    if se == 0:
        return 1.0 if pa == pb else 0.0
    return float(2 * stats.norm.sf(abs(pa - pb) / se))


def log_rank(
    time_a: np.ndarray, end_a: np.ndarray, time_b: np.ndarray, end_b: np.ndarray
) -> float:
    """Two-sided p-value of the log-rank test; NaN times are censored at the branch end."""
    event_a, event_b = ~np.isnan(time_a), ~np.isnan(time_b)
    t = np.concatenate([np.where(event_a, time_a, end_a), np.where(event_b, time_b, end_b)])
    event = np.concatenate([event_a, event_b])
    group = np.concatenate([np.zeros(len(time_a), bool), np.ones(len(time_b), bool)])
    if not event.any():
        return 1.0
    times = np.unique(t[event])
    # at risk just before each event time, and events at it, per group
    sorted_a, sorted_b = np.sort(t[~group]), np.sort(t[group])
    risk_a = len(sorted_a) - np.searchsorted(sorted_a, times, side="left")
    risk_b = len(sorted_b) - np.searchsorted(sorted_b, times, side="left")
    d_a = np.bincount(np.searchsorted(times, t[event & ~group]), minlength=len(times))
    d_b = np.bincount(np.searchsorted(times, t[event & group]), minlength=len(times))
    n, d = risk_a + risk_b, d_a + d_b
    expected = d * risk_a / n
    variance = d * (risk_a / n) * (risk_b / n) * (n - d) / np.maximum(n - 1, 1)
    var = variance.sum()
    if var <= 0:
        return 1.0
    z = (d_a.sum() - expected.sum()) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def outcome_p_values(
    model: CompiledModel, a: dict[str, np.ndarray], b: dict[str, np.ndarray]
) -> dict[str, float]:
    """The p-values of every test of every outcome, by name."""
    found: dict[str, float] = {}
    for o in model.outcomes:
        x, y = a[o.name], b[o.name]
        if o.kind == "probability":
            found[o.name] = two_proportions(x.astype(float), y.astype(float))
        elif o.kind == "time_to":
            found[o.name] = log_rank(x, a["t_end"], y, b["t_end"])
        else:
            nx, ny = np.isnan(x), np.isnan(y)
            found[f"{o.name} (missing)"] = two_proportions(nx.astype(float), ny.astype(float))
            if (~nx).sum() > 1 and (~ny).sum() > 1:
                found[o.name] = float(stats.ks_2samp(x[~nx], y[~ny], method="asymp").pvalue)
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "variant"),
    [(p, v) for p, v, _ in RUNS],
    ids=[f"{p.stem}-{v or 'baseline'}" for p, v, _ in RUNS],
)
def test_both_engines_give_each_outcome_the_same_distribution(
    path: Path, variant: str | None
) -> None:
    model = load_model(path, variant=variant)
    simpy, batch = _table(model, "simpy"), _table(model, "batch")
    p_values = outcome_p_values(model, simpy, batch)
    failed = {name: p for name, p in p_values.items() if p < ALPHA}
    assert not failed, (failed, ALPHA)


def test_the_log_rank_test_finds_a_difference_and_accepts_sameness() -> None:
    rng = np.random.default_rng(1)
    end = np.full(4000, 10.0)

    def times(rate: float) -> Any:
        t = rng.exponential(1 / rate, 4000)
        return np.where(t <= 10, t, np.nan)

    assert log_rank(times(0.1), end, times(0.1), end) > 0.001
    assert log_rank(times(0.1), end, times(0.13), end) < 0.001
