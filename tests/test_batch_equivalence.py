"""The batch engine gives each outcome the SimPy engine's distribution, on every shipped
scenario and variant.

The SimPy side is the committed reference run of each scenario and variant in results/
(SimPy rows: tests/test_reference_runs.py holds the current code to them), so only the
batch side runs here: :data:`BATCH_BRANCHES` branches with a seed of its own. Every
outcome is compared with a two-sample test: proportions (probability outcomes, the share
of missing values, ``given`` conditions) by a z test, values by Kolmogorov-Smirnov
(conservative for counts, which have ties), times to an event (and the first times of
indicators) by a log-rank test with censoring at each branch's end, the categories of a
``first_of`` by a chi-square test. The level is Bonferroni-corrected over every test of
the module.

The reference runs hold however many branches they were made with; the test requires at
least :data:`MIN_REFERENCE_BRANCHES` of them (20,000: the runs are regenerated with
``python results/regenerate.py --branches 20000``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats

from sim.engine import batch
from sim.model.compile import load_model
from sim.model.compiled import CompiledModel
from sim.model.outcomes import FROM_SUFFIX, GIVEN_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = sorted(p.parent for p in (ROOT / "results").glob("*/manifest.json"))
BATCH_BRANCHES = 20_000
# The fewest rows a committed reference run may have (results/regenerate.py --branches 20000).
MIN_REFERENCE_BRANCHES = 20_000
BATCH_SEED = 20230302  # the reference runs use 20230301
FAMILY_ALPHA = 0.01


def _manifest(directory: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return manifest


def _model(directory: Path) -> CompiledModel:
    manifest = _manifest(directory)
    return load_model(ROOT / manifest["file"], variant=manifest["variant"])


def _tests_of(model: CompiledModel) -> int:
    """How many tests :func:`outcome_p_values` makes at most for ``model``."""
    count = 0
    for o in model.outcomes:
        count += {"probability": 1, "time_to": 1, "first_of": 1, "time_between": 2}.get(o.kind, 2)
        count += o.given is not None
    return count + len(model.indicators)


MODELS = {d.name: _model(d) for d in REFERENCES}
ALPHA = FAMILY_ALPHA / sum(_tests_of(m) for m in MODELS.values())


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


def categories(a: np.ndarray, b: np.ndarray) -> float:
    """P-value of the chi-square test that two samples of labels share their proportions."""
    labels = sorted(set(a.tolist()) | set(b.tolist()))
    if len(labels) < 2:
        return 1.0
    table = np.array([[np.sum(x == label) for label in labels] for x in (a, b)])
    return float(stats.chi2_contingency(table).pvalue)


def values(x: np.ndarray, y: np.ndarray, name: str, found: dict[str, float]) -> None:
    """The share of missing values by a z test, and the values by Kolmogorov-Smirnov."""
    nx, ny = np.isnan(x), np.isnan(y)
    found[f"{name} (missing)"] = two_proportions(nx.astype(float), ny.astype(float))
    if (~nx).sum() > 1 and (~ny).sum() > 1:
        found[name] = float(stats.ks_2samp(x[~nx], y[~ny], method="asymp").pvalue)


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
        elif o.kind == "time_between":
            start_x, start_y = a[o.name + FROM_SUFFIX], b[o.name + FROM_SUFFIX]
            found[f"{o.name} (start)"] = log_rank(start_x, a["t_end"], start_y, b["t_end"])
            # among branches whose clock started: the duration, censored at the end
            sx, sy = ~np.isnan(start_x), ~np.isnan(start_y)
            found[o.name] = log_rank(
                x[sx], (a["t_end"] - start_x)[sx], y[sy], (b["t_end"] - start_y)[sy]
            )
        elif o.kind == "first_of":
            found[o.name] = categories(x, y)
        else:
            values(x.astype(float), y.astype(float), o.name, found)
        if o.given is not None:
            given_x, given_y = a[o.name + GIVEN_SUFFIX], b[o.name + GIVEN_SUFFIX]
            found[f"{o.name} (given)"] = two_proportions(
                given_x.astype(float), given_y.astype(float)
            )
    for indicator in model.indicators:  # first times, like time_to outcomes
        name = indicator.column
        found[name] = log_rank(a[name], a["t_end"], b[name], b["t_end"])
    return found


def _batch_rows(directory: Path) -> dict[str, np.ndarray]:
    return batch.run_branches(_model(directory), BATCH_SEED, 0, BATCH_BRANCHES)


@pytest.fixture(scope="module")
def batch_rows() -> Iterator[dict[str, Future[dict[str, np.ndarray]]]]:
    """The batch engine's rows of every reference run, computed on two cores at once."""
    with ProcessPoolExecutor(2) as pool:
        yield {d.name: pool.submit(_batch_rows, d) for d in REFERENCES}


@pytest.mark.parametrize("directory", REFERENCES, ids=[d.name for d in REFERENCES])
def test_the_batch_engine_gives_each_outcome_the_distribution_of_the_reference_run(
    directory: Path, batch_rows: dict[str, Future[dict[str, np.ndarray]]]
) -> None:
    model = MODELS[directory.name]
    manifest = _manifest(directory)
    assert manifest["sha256"] == model.source_sha256, "the scenario changed since the run"
    table = pq.read_table(directory / "branches.parquet")
    assert table.num_rows >= MIN_REFERENCE_BRANCHES
    reference = {
        name: np.asarray(table.column(name).to_numpy(zero_copy_only=False))
        for name in table.column_names
    }
    rows = batch_rows[directory.name].result()
    p_values = outcome_p_values(model, reference, rows)
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


def test_the_tests_find_a_difference_of_distribution() -> None:
    # the batch engine's own rows of another setting of the scenario differ from the
    # reference: the comparison is not blind (a sanity check of the test itself)
    directory = ROOT / "results" / "belarus_annexation"
    other = load_model(
        ROOT / "scenarios" / "belarus_annexation.yaml", variant="war_goes_well"
    )
    table = pq.read_table(directory / "branches.parquet")
    reference = {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names}
    rows = batch.run_branches(other, BATCH_SEED, 0, 5000)
    p_values = outcome_p_values(MODELS[directory.name], reference, rows)
    assert min(p_values.values()) < ALPHA
