"""Tests of sim.stats against closed forms, published examples and simulation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from sim import stats
from sim.stats.survival import _rmst_parts

Z95 = sps.norm.ppf(0.975)
FOUR_SE = 1 - 2 * sps.norm.sf(4.0)  # the confidence level of ±4 standard errors

# Freireich's 6-MP remission times (weeks), the textbook Kaplan–Meier example
# (Klein & Moeschberger, Survival Analysis, table 4.1A): 9 relapses, 12 censored.
SIX_MP_TIMES = np.array(
    [6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35], dtype=float
)
SIX_MP_EVENT = np.array([True] * 9 + [False] * 12)


def six_mp() -> stats.SurvivalCurve:
    return stats.kaplan_meier(SIX_MP_TIMES, SIX_MP_EVENT)


def value_at(curve: stats.SurvivalCurve, t: float) -> float:
    return float(curve.survival[np.searchsorted(curve.time, t)])


# --- proportions and means --------------------------------------------------------------------


def wilson_closed_form(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(7, 20), (0, 15), (15, 15), (480, 1000)])
def test_proportion_is_the_wilson_interval(k: int, n: int) -> None:
    got = stats.proportion(k, n)
    low, high = wilson_closed_form(k, n, Z95)
    assert got.estimate == k / n
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)
    assert got.method == "wilson"


def test_proportion_honours_confidence() -> None:
    low, high = wilson_closed_form(7, 20, sps.norm.ppf(0.95))
    got = stats.proportion(7, 20, confidence=0.9)
    assert (got.low, got.high) == pytest.approx((low, high), abs=1e-12)


def test_proportion_of_no_branches_is_undefined() -> None:
    assert stats.proportion(0, 0) == stats.Interval(None, None, None, "wilson")


def test_proportion_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="k=5, n=3"):
        stats.proportion(5, 3)


def test_confidence_outside_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence must be between 0 and 1, got 95"):
        stats.proportion(1, 2, confidence=95)


def test_wilson_interval_covers_95_percent() -> None:
    rng = np.random.default_rng(20240601)
    n, p, reps = 60, 0.4, 4000
    covered = 0
    for k in rng.binomial(n, p, size=reps):
        ci = stats.proportion(int(k), n)
        assert ci.low is not None and ci.high is not None
        covered += ci.low <= p <= ci.high
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(covered / reps - 0.95) < 4 * se


def test_mean_interval_matches_scipy_one_sample_t() -> None:
    x = np.random.default_rng(1).normal(3.0, 2.0, size=25)
    expected = sps.ttest_1samp(x, 0.0).confidence_interval(0.95)
    got = stats.mean_interval(x)
    assert got.estimate == pytest.approx(float(np.mean(x)))
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert got.method == "t"


def test_mean_interval_of_one_value_has_no_bounds() -> None:
    assert stats.mean_interval(np.array([2.5])) == stats.Interval(2.5, None, None, "t")


def test_mean_interval_of_constant_values_is_a_point() -> None:
    assert stats.mean_interval(np.full(5, 4.0)) == stats.Interval(4.0, 4.0, 4.0, "t")


def test_quantiles_are_named_by_percent() -> None:
    x = np.arange(101, dtype=float)
    assert stats.quantiles(x) == {"p5": 5.0, "p50": 50.0, "p95": 95.0}
    assert stats.quantiles(x, levels=(0.025,)) == {"p2.5": 2.5}


def test_quantiles_of_nothing_are_none() -> None:
    assert stats.quantiles(np.array([])) == {"p5": None, "p50": None, "p95": None}


# --- Kaplan–Meier -----------------------------------------------------------------------------


def test_kaplan_meier_without_censoring_is_the_empirical_survival_function() -> None:
    t = np.random.default_rng(2).exponential(1.0, size=200).round(1)  # rounding makes ties
    curve = stats.kaplan_meier(t, np.ones(t.size, dtype=bool))
    expected = np.array([np.mean(t > u) for u in curve.time])
    np.testing.assert_allclose(curve.survival, expected, atol=1e-12)
    np.testing.assert_array_equal(curve.time, np.unique(t))


def test_kaplan_meier_textbook_example_exactly() -> None:
    curve = six_mp()
    # Product-limit by hand: (n at risk, relapses) at 6, 7, 10, 13, 16, 22, 23.
    steps = [(6, 21, 3), (7, 17, 1), (10, 15, 1), (13, 12, 1), (16, 11, 1), (22, 7, 1), (23, 6, 1)]
    s, greenwood = 1.0, 0.0
    for t, n, d in steps:
        s *= 1 - d / n
        greenwood += d / (n * (n - d))
        i = int(np.searchsorted(curve.time, t))
        assert curve.survival[i] == pytest.approx(s, abs=1e-12)
        assert (curve.at_risk[i], curve.events[i]) == (n, d)
        assert curve.low[i] == pytest.approx(max(0.0, s - Z95 * s * math.sqrt(greenwood)))
    # The textbook's rounded values and Greenwood standard errors.
    assert [round(value_at(curve, t), 3) for t, _, _ in steps] == [
        0.857,
        0.807,
        0.753,
        0.690,
        0.627,
        0.538,
        0.448,
    ]
    se = (curve.survival - curve.low) / Z95
    assert [round(float(se[np.searchsorted(curve.time, t)]), 4) for t, _, _ in steps] == [
        0.0764,
        0.0869,
        0.0963,
        0.1068,
        0.1141,
        0.1282,
        0.1346,
    ]


def test_km_median_of_textbook_example() -> None:
    # S first falls to 0.5 or below at 23; the lower band crosses 0.5 at 13 and the upper
    # band never does, so the interval is open above.
    assert stats.km_median(six_mp()) == stats.Interval(23.0, 13.0, None, "kaplan_meier_greenwood")


def test_kaplan_meier_recovers_exponential_survival_under_random_censoring() -> None:
    rng = np.random.default_rng(7)
    n, rate = 5000, 0.5
    event = rng.exponential(1 / rate, size=n)
    censor = rng.exponential(1 / 0.25, size=n)
    curve = stats.kaplan_meier(np.minimum(event, censor), event <= censor)
    for t in (0.5, 1.0, 2.0, 4.0):
        at = stats.survival_at(curve, t)
        assert at.estimate is not None and at.low is not None
        se = (at.estimate - at.low) / Z95
        assert abs(at.estimate - math.exp(-rate * t)) < 4 * se
    # The median's Brookmeyer–Crowley interval from a 4-standard-error band holds the truth.
    four_se = stats.kaplan_meier(np.minimum(event, censor), event <= censor, FOUR_SE)
    median = stats.km_median(four_se)
    assert median.low is not None and median.high is not None
    assert median.low <= math.log(2) / rate <= median.high


@pytest.mark.parametrize("ties", [False, True])
def test_kaplan_meier_equals_scipy_ecdf_and_its_greenwood_band_bit_for_bit(ties: bool) -> None:
    rng = np.random.default_rng(11)
    event = rng.exponential(3.0, size=4000)
    censor = rng.uniform(0.0, 8.0, size=4000)
    t = np.minimum(event, censor)
    t = np.round(t, 1) if ties else t  # ties of events and censorings at the same times
    e = event <= censor
    curve = stats.kaplan_meier(t, e)
    sf = sps.ecdf(sps.CensoredData(uncensored=t[e], right=t[~e])).sf
    band = sf.confidence_interval(0.95)
    assert np.array_equal(curve.time, sf.quantiles)
    assert np.array_equal(curve.survival, sf.probabilities)
    defined = ~np.isnan(band.low.probabilities)
    assert np.array_equal(curve.low[defined], band.low.probabilities[defined])
    assert np.array_equal(curve.high[defined], band.high.probabilities[defined])


def test_kaplan_meier_of_no_durations_is_an_empty_curve() -> None:
    curve = stats.kaplan_meier(np.zeros(0), np.zeros(0, dtype=bool))
    assert curve.n == 0 and curve.time.size == 0 and curve.survival.size == 0


def test_km_median_is_undefined_when_survival_stays_above_half() -> None:
    t = np.arange(1.0, 11.0)
    curve = stats.kaplan_meier(t, t <= 3)  # 3 of 10 events, the rest censored later
    assert stats.km_median(curve).estimate is None


def test_km_quantile_is_the_first_time_enough_have_happened() -> None:
    curve = stats.kaplan_meier(np.arange(1.0, 11.0), np.ones(10, dtype=bool))
    assert stats.km_quantile(curve, 0.25) == 3.0  # S(3) = 0.7 <= 0.75
    assert stats.km_quantile(curve, 0.3) == 3.0  # S(3) = 0.7 exactly, despite rounding
    assert stats.km_quantile(curve, 0.95) == 10.0


def test_km_quantile_not_reached_is_none() -> None:
    assert stats.km_quantile(six_mp(), 0.75) is None


def test_km_quantile_rejects_level_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"quantile level must be between 0 and 1, got 1\.5"):
        stats.km_quantile(six_mp(), 1.5)


def test_survival_at_reads_the_step_function() -> None:
    curve = six_mp()
    assert stats.survival_at(curve, 5.9) == stats.Interval(1.0, 1.0, 1.0, "kaplan_meier_greenwood")
    assert stats.survival_at(curve, 6.0).estimate == pytest.approx(18 / 21)
    assert stats.survival_at(curve, 8.5).estimate == pytest.approx(18 / 21 * 16 / 17)
    at = stats.survival_at(curve, 100.0)
    assert (at.estimate, at.low, at.high) == (
        curve.survival[-1],
        curve.low[-1],
        curve.high[-1],
    )


def test_survival_at_of_no_branches_is_undefined() -> None:
    curve = stats.kaplan_meier(np.array([]), np.array([], dtype=bool))
    assert stats.survival_at(curve, 1.0).estimate is None
    assert stats.km_median(curve).estimate is None


def test_band_collapses_where_survival_reaches_zero() -> None:
    curve = stats.kaplan_meier(np.array([1.0, 2.0, 3.0]), np.ones(3, dtype=bool))
    assert (curve.survival[-1], curve.low[-1], curve.high[-1]) == (0.0, 0.0, 0.0)
    assert not np.any(np.isnan(curve.low) | np.isnan(curve.high))


def test_kaplan_meier_rejects_negative_durations() -> None:
    with pytest.raises(ValueError, match="durations must be finite and >= 0"):
        stats.kaplan_meier(np.array([1.0, -2.0]), np.array([True, True]))


def test_kaplan_meier_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        stats.kaplan_meier(np.array([1.0, 2.0]), np.array([True]))


# --- restricted mean survival time ------------------------------------------------------------


def test_rmst_of_textbook_example_is_the_area_under_the_steps() -> None:
    curve = six_mp()
    knots = [0, 6, 7, 10, 13, 16, 22, 23, 30]
    levels = [1.0, 18 / 21]
    for n, d in [(17, 1), (15, 1), (12, 1), (11, 1), (7, 1), (6, 1)]:
        levels.append(levels[-1] * (1 - d / n))
    area = sum(s * (b - a) for s, a, b in zip(levels, knots[:-1], knots[1:], strict=True))
    assert stats.rmst(curve, 30.0).estimate == pytest.approx(area, abs=1e-12)


def test_rmst_recovers_exponential_closed_form() -> None:
    rng = np.random.default_rng(11)
    n, rate, horizon = 4000, 0.5, 3.0
    event = rng.exponential(1 / rate, size=n)
    censor = rng.exponential(4.0, size=n)
    got = stats.rmst(stats.kaplan_meier(np.minimum(event, censor), event <= censor), horizon)
    assert got.estimate is not None and got.high is not None
    se = (got.high - got.estimate) / Z95
    assert abs(got.estimate - (1 - math.exp(-rate * horizon)) / rate) < 4 * se


def test_rmst_greenwood_variance_matches_its_influence_variance() -> None:
    # Two estimators of one variance: Greenwood's sum, and the sum of squared influences.
    rng = np.random.default_rng(12)
    event = rng.exponential(2.0, size=3000)
    censor = rng.exponential(4.0, size=3000)
    t, e = np.minimum(event, censor), event <= censor
    parts = _rmst_parts(stats.kaplan_meier(t, e), 3.0)
    psi = parts.influence(t, e)
    assert abs(psi.sum()) < 1e-9
    assert np.sum(psi**2) == pytest.approx(parts.greenwood_variance(), rel=0.02)


def test_rmst_refuses_a_horizon_not_after_zero() -> None:
    with pytest.raises(ValueError, match="RMST horizon must be > 0, got 0"):
        stats.rmst(six_mp(), 0.0)


def crn_durations(
    rng: np.random.Generator, n: int, slowdown: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baseline exp(rate 0.5) times and the same draws slowed down, both censored alike."""
    event = rng.exponential(2.0, size=n)
    censor = rng.exponential(6.0, size=n)
    slow = event * slowdown
    return (
        np.minimum(event, censor),
        event <= censor,
        np.minimum(slow, censor),
        slow <= censor,
    )


def exp_rmst(mean: float, horizon: float) -> float:
    return mean * (1 - math.exp(-horizon / mean))


def test_paired_rmst_difference_is_narrower_and_both_cover_the_truth() -> None:
    ta, ea, tb, eb = crn_durations(np.random.default_rng(13), 2000, 1.2)
    truth = exp_rmst(2.4, 3.0) - exp_rmst(2.0, 3.0)
    paired = stats.diff_rmst_paired(ta, ea, tb, eb, horizon=3.0)
    independent = stats.diff_rmst_independent(
        stats.kaplan_meier(ta, ea), stats.kaplan_meier(tb, eb), 3.0
    )
    assert paired.estimate == pytest.approx(independent.estimate)
    for ci in (paired, independent):
        assert ci.low is not None and ci.high is not None
        assert ci.low <= truth <= ci.high
    assert paired.high - paired.low < 0.5 * (independent.high - independent.low)  # type: ignore[operator]


def test_paired_rmst_interval_covers_95_percent() -> None:
    rng = np.random.default_rng(14)
    truth = exp_rmst(2.4, 3.0) - exp_rmst(2.0, 3.0)
    reps, covered = 1000, 0
    for _ in range(reps):
        ci = stats.diff_rmst_paired(*crn_durations(rng, 300, 1.2), horizon=3.0)
        assert ci.low is not None and ci.high is not None
        covered += ci.low <= truth <= ci.high
    assert abs(covered / reps - 0.95) < 4 * math.sqrt(0.95 * 0.05 / reps)


# --- differences --------------------------------------------------------------------------------


def test_newcombe_independent_matches_published_example() -> None:
    # Perondi et al. (2004): 7/34 vs 1/34; Fagerland, Lydersen & Laake, Statistical Analysis
    # of Contingency Tables, ch. 4: 0.1765 (95% CI 0.0189 to 0.3404).
    got = stats.diff_proportions_independent(1, 34, 7, 34)
    assert got.estimate == pytest.approx(6 / 34)
    assert (round(got.low, 4), round(got.high, 4)) == (0.0189, 0.3404)  # type: ignore[arg-type]
    assert got.method == "newcombe"


def test_newcombe_paired_matches_published_example() -> None:
    # Cavo et al. (2012), paired table [[59, 6], [16, 80]]; Fagerland et al., ch. 8:
    # first minus second -0.0621 (95% CI -0.1186 to -0.0046), so second minus first flips it.
    a = np.array([True] * 65 + [False] * 96)
    b = np.array([True] * 59 + [False] * 6 + [True] * 16 + [False] * 80)
    got = stats.diff_proportions_paired(a, b)
    assert got.estimate == pytest.approx(10 / 161)
    assert (round(got.low, 4), round(got.high, 4)) == (0.0046, 0.1186)  # type: ignore[arg-type]
    assert got.method == "newcombe_paired"


def test_paired_proportion_difference_is_narrower_on_correlated_data() -> None:
    u = np.random.default_rng(3).uniform(size=2000)
    a, b = u < 0.3, u < 0.4  # common random numbers: true difference 0.1
    paired = stats.diff_proportions_paired(a, b)
    independent = stats.diff_proportions_independent(int(a.sum()), a.size, int(b.sum()), b.size)
    for ci in (paired, independent):
        assert ci.low is not None and ci.high is not None
        assert ci.low <= 0.1 <= ci.high
    assert paired.high - paired.low < independent.high - independent.low  # type: ignore[operator]


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.0, 1.0, size=30), rng.normal(0.5, 3.0, size=45)
    expected = sps.ttest_ind(b, a, equal_var=False).confidence_interval(0.9)
    got = stats.diff_means_welch(a, b, confidence=0.9)
    assert got.estimate == pytest.approx(float(b.mean() - a.mean()))
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-10)
    assert got.method == "welch"


def test_paired_t_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=40)
    b = a + rng.normal(0.2, 0.1, size=40)
    expected = sps.ttest_rel(b, a).confidence_interval(0.95)
    got = stats.diff_means_paired(a, b)
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high), rel=1e-10)
    assert got.method == "paired_t"


def test_paired_differences_refuse_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="equal lengths, got 3 and 2"):
        stats.diff_means_paired(np.zeros(3), np.zeros(2))


# --- summaries --------------------------------------------------------------------------------


def small_table() -> dict[str, np.ndarray]:
    return {
        "branch": np.arange(6),
        "t_end": np.array([10.0, 10.0, 4.0, 10.0, 10.0, 10.0]),
        "annexed": np.array([True, False, True, True, False, False]),
        "time_to_annexation": np.array([2.0, np.nan, np.nan, 5.0, np.nan, 7.5]),
        "delivered": np.array([3.0, 1.0, np.nan, 4.0, 2.0, 6.0]),
    }


OUTCOMES = [
    ("annexed", "probability"),
    ("time_to_annexation", "time_to"),
    ("delivered", "value"),
]


def test_summarize_gives_every_field_as_strict_json() -> None:
    summary = stats.summarize(small_table(), OUTCOMES, horizon=10.0)
    json.dumps(summary, allow_nan=False)
    out = summary["outcomes"]
    assert isinstance(out, dict)
    common = ["kind", "n", "estimate", "ci_low", "ci_high", "ci_method"]
    assert list(out["annexed"]) == [*common, "count"]
    assert list(out["time_to_annexation"]) == [
        *common,
        *["events", "censored", "survival_at_horizon", "p5", "p50", "p95", "mean_observed"],
    ]
    assert list(out["delivered"]) == [
        *common,
        *["sd", "min", "max", "p5", "p50", "p95", "missing"],
    ]


def test_summarize_probability() -> None:
    got = stats.summarize(small_table(), OUTCOMES, horizon=10.0)["outcomes"]["annexed"]  # type: ignore[index]
    low, high = wilson_closed_form(3, 6, Z95)
    assert got["n"] == 6 and got["count"] == 3 and got["estimate"] == 0.5
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high))


def test_summarize_time_to_censors_at_t_end() -> None:
    got = stats.summarize(small_table(), OUTCOMES, horizon=10.0)["outcomes"]["time_to_annexation"]  # type: ignore[index]
    # Events at 2, 5, 7.5 with 6, 4, 3 at risk (branch 2 censored at its t_end 4, two at 10).
    s = [5 / 6, 5 / 6 * 3 / 4, 5 / 6 * 3 / 4 * 2 / 3]
    assert got["events"] == 3 and got["censored"] == 3
    assert got["estimate"] == 7.5 and got["p50"] == 7.5  # S(5) = 0.625, S(7.5) = 0.417
    assert got["p5"] == 2.0 and got["p95"] is None
    assert got["survival_at_horizon"]["estimate"] == pytest.approx(s[2])
    assert got["mean_observed"] == pytest.approx((2 + 5 + 7.5) / 3)
    assert got["ci_method"] == "kaplan_meier_greenwood"


def test_summarize_time_to_that_never_happens() -> None:
    got = stats.summarize_outcome(
        "time_to", np.full(4, np.nan), t_end=np.full(4, 10.0), horizon=10.0
    )
    assert got["estimate"] is None and got["ci_low"] is None and got["ci_high"] is None
    assert got["events"] == 0 and got["mean_observed"] is None
    assert got["survival_at_horizon"] == {"estimate": 1.0, "ci_low": 1.0, "ci_high": 1.0}


def test_summarize_value_leaves_out_missing_values() -> None:
    got = stats.summarize(small_table(), OUTCOMES, horizon=10.0)["outcomes"]["delivered"]  # type: ignore[index]
    known = np.array([3.0, 1.0, 4.0, 2.0, 6.0])
    assert got["n"] == 6 and got["missing"] == 1
    assert got["estimate"] == pytest.approx(known.mean())
    assert got["sd"] == pytest.approx(known.std(ddof=1))
    assert (got["min"], got["max"], got["p50"]) == (1.0, 6.0, 3.0)


def test_summarize_flow_is_summarized_like_value() -> None:
    got = stats.summarize_outcome("flow", np.array([1.0, 2.0, 3.0]))
    assert got["kind"] == "flow" and got["ci_method"] == "t" and got["estimate"] == 2.0


def test_summarize_of_no_branches_is_all_none() -> None:
    empty = {name: np.array([]) for name in small_table()}
    summary = stats.summarize(empty, OUTCOMES, horizon=10.0)
    json.dumps(summary, allow_nan=False)
    for entry in summary["outcomes"].values():  # type: ignore[attr-defined]
        assert entry["n"] == 0 and entry["estimate"] is None


def test_summarize_refuses_missing_column() -> None:
    with pytest.raises(ValueError, match="no column 'war'"):
        stats.summarize(small_table(), [("war", "probability")], horizon=10.0)


def test_summarize_refuses_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown outcome kind 'median'"):
        stats.summarize_outcome("median", np.array([1.0]))


# --- compare_outcome --------------------------------------------------------------------------


def test_compare_probability_paired() -> None:
    u = np.random.default_rng(6).uniform(size=1000)
    got = stats.compare_outcome("probability", u < 0.3, u < 0.4, paired=True)
    json.dumps(got, allow_nan=False)
    assert got["measure"] == "proportion" and got["ci_method"] == "newcombe_paired"
    assert got["difference"] == pytest.approx(got["estimate"] - got["baseline"])  # type: ignore[operator]
    assert got["significant"] is True


def test_compare_identical_outcomes_is_not_significant() -> None:
    x = np.random.default_rng(8).uniform(size=500) < 0.5
    got = stats.compare_outcome("probability", x, x, paired=True)
    assert got["difference"] == 0.0 and got["significant"] is False


def test_compare_value_independent_drops_missing() -> None:
    a = np.array([1.0, 2.0, np.nan, 3.0])
    b = np.array([2.0, 3.0, 4.0, np.nan])
    got = stats.compare_outcome("value", a, b, paired=False)
    expected = stats.diff_means_welch(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]))
    assert (got["baseline"], got["estimate"]) == (2.0, 3.0)
    assert (got["ci_low"], got["ci_high"]) == (expected.low, expected.high)


def test_compare_value_paired_drops_incomplete_pairs() -> None:
    a = np.array([1.0, 2.0, np.nan, 3.0, 5.0])
    b = np.array([2.0, 3.5, 4.0, np.nan, 5.5])
    got = stats.compare_outcome("value", a, b, paired=True)
    assert got["difference"] == pytest.approx(1.0)
    assert got["ci_method"] == "paired_t"


def test_compare_time_to_by_rmst() -> None:
    ta, ea, tb, eb = crn_durations(np.random.default_rng(9), 1000, 1.5)
    horizon = 3.0
    base = np.where(ea & (ta <= horizon), ta, np.nan)
    other = np.where(eb & (tb <= horizon), tb, np.nan)
    # A branch runs to the horizon unless censored earlier (as a stop_when would).
    end_a = np.where(ea, horizon, np.minimum(ta, horizon))
    end_b = np.where(eb, horizon, np.minimum(tb, horizon))
    got = stats.compare_outcome(
        "time_to", base, other, paired=True, base_t_end=end_a, other_t_end=end_b, horizon=horizon
    )
    json.dumps(got, allow_nan=False)
    assert got["measure"] == "rmst" and got["ci_method"] == "rmst_paired_influence"
    assert got["baseline"] == pytest.approx(
        stats.rmst(stats.kaplan_meier(np.minimum(ta, horizon), ~np.isnan(base)), horizon).estimate
    )
    assert got["significant"] is True


def test_compare_time_to_needs_horizon() -> None:
    with pytest.raises(ValueError, match="needs the horizon"):
        stats.compare_outcome("time_to", np.array([1.0]), np.array([2.0]), paired=False)
