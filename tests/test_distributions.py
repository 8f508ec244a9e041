from __future__ import annotations

import math
import typing
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from sim.format.distributions.kinds import (
    DISTRIBUTION_KINDS,
    QUANTILE_PATTERN,
    Bernoulli,
    Choice,
    Distribution,
    Fixed,
    LogNormal,
    Normal,
    draw_many,
)

ADAPTER: TypeAdapter[Distribution] = TypeAdapter(Distribution)
N = 200_000
SEED = 20240611
QUANTILE_KINDS = ("uniform", "normal", "lognormal", "beta", "gamma", "exponential")


def parse(data: dict[str, Any]) -> Any:
    return ADAPTER.validate_python(data)


# Each spec with an independent scipy reference (its frozen distribution).
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "uniform": ({"kind": "uniform", "low": 2, "high": 5}, stats.uniform(2, 3)),
    "normal": ({"kind": "normal", "mean": 1, "sd": 2}, stats.norm(1, 2)),
    "normal_truncated": (
        {"kind": "normal", "mean": 0, "sd": 1, "low": -0.5, "high": 2},
        stats.truncnorm(-0.5, 2),
    ),
    "normal_upper_tail": (
        {"kind": "normal", "mean": 3, "sd": 2, "low": 23},
        stats.truncnorm(10, math.inf, loc=3, scale=2),
    ),
    "normal_below": (
        {"kind": "normal", "mean": 3, "sd": 2, "high": 1},
        stats.truncnorm(-math.inf, -1, loc=3, scale=2),
    ),
    "lognormal": (
        {"kind": "lognormal", "mu": 0.5, "sigma": 0.5},
        stats.lognorm(s=0.5, scale=math.exp(0.5)),
    ),
    "beta": ({"kind": "beta", "a": 2, "b": 5}, stats.beta(2, 5)),
    "beta_rescaled": (
        {"kind": "beta", "a": 2, "b": 5, "low": 10, "high": 20},
        stats.beta(2, 5, loc=10, scale=10),
    ),
    "triangular": (
        {"kind": "triangular", "low": 0, "mode": 3, "high": 10},
        stats.triang(0.3, loc=0, scale=10),
    ),
    "pert": (
        {"kind": "pert", "low": 0, "mode": 3, "high": 10},
        stats.beta(2.2, 3.8, loc=0, scale=10),
    ),
    "exponential": ({"kind": "exponential", "mean": 2}, stats.expon(scale=2)),
    "gamma": ({"kind": "gamma", "shape": 2.5, "scale": 1.5}, stats.gamma(2.5, scale=1.5)),
    "poisson": ({"kind": "poisson", "mean": 3.5}, stats.poisson(3.5)),
    "bernoulli": ({"kind": "bernoulli", "p": 0.3}, stats.bernoulli(0.3)),
    "choice_weighted": (
        {"kind": "choice", "values": [5, 1, 2], "weights": [1, 3, 1]},
        stats.rv_discrete(values=([1, 2, 5], [0.6, 0.2, 0.2])),
    ),
    "choice_equal": (
        {"kind": "choice", "values": [1, 2, 7]},
        stats.rv_discrete(values=([1, 2, 7], [1 / 3, 1 / 3, 1 / 3])),
    ),
}


@pytest.fixture(scope="module")
def draws() -> dict[str, np.ndarray]:
    return {
        name: draw_many(parse(spec), np.random.default_rng(SEED), N)
        for name, (spec, _) in CASES.items()
    }


@pytest.mark.parametrize("name", CASES)
def test_sample_mean_matches_the_reference(name: str, draws: dict[str, np.ndarray]) -> None:
    reference = CASES[name][1]
    tolerance = 4 * reference.std() / math.sqrt(N)
    assert abs(draws[name].mean() - reference.mean()) < tolerance


@pytest.mark.parametrize("name", CASES)
def test_sample_variance_matches_the_reference(name: str, draws: dict[str, np.ndarray]) -> None:
    reference = CASES[name][1]
    variance = reference.var()
    excess_kurtosis = float(reference.stats(moments="k"))
    # Standard error of the sample variance: sigma**2 * sqrt((kurtosis - 1) / n).
    tolerance = 4 * variance * math.sqrt((excess_kurtosis + 2) / N)
    assert abs(draws[name].var(ddof=1) - variance) < tolerance


@pytest.mark.parametrize("name", CASES)
def test_draws_lie_in_the_support(name: str, draws: dict[str, np.ndarray]) -> None:
    low, high = parse(CASES[name][0]).support()
    assert low <= draws[name].min()
    assert draws[name].max() <= high


@pytest.mark.parametrize("name", CASES)
def test_expected_value_is_the_reference_mean(name: str) -> None:
    spec, reference = CASES[name]
    assert parse(spec).expected_value() == pytest.approx(reference.mean(), rel=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_ppf_matches_the_reference(name: str) -> None:
    spec, reference = CASES[name]
    q = np.array([0.0, 0.001, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999])
    expected = reference.ppf(q)
    expected[0] = reference.support()[0]  # scipy answers support - 1 at q = 0 for discrete kinds
    np.testing.assert_allclose(parse(spec).ppf(q), expected, rtol=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_support_matches_the_reference(name: str) -> None:
    spec, reference = CASES[name]
    if name.startswith("choice"):
        expected = (reference.xk.min(), reference.xk.max())
    else:
        expected = reference.support()
    assert parse(spec).support() == pytest.approx(expected)


def test_truncated_normal_stays_within_far_tail_bounds() -> None:
    dist = parse({"kind": "normal", "mean": 0, "sd": 1, "low": 30, "high": 30.5})
    values = draw_many(dist, np.random.default_rng(SEED), 10_000)
    assert values.min() >= 30
    assert values.max() <= 30.5
    reference = stats.truncnorm(30, 30.5)
    assert abs(values.mean() - reference.mean()) < 4 * reference.std() / math.sqrt(10_000)


def test_truncated_normal_mean_is_scipy_truncnorm_mean() -> None:
    dist = parse({"kind": "normal", "mean": 2, "sd": 3, "low": 0, "high": 4})
    assert dist.expected_value() == pytest.approx(stats.truncnorm(-2 / 3, 2 / 3, 2, 3).mean())


@pytest.mark.parametrize("name", CASES)
def test_samplers_return_python_scalars(name: str) -> None:
    draw = parse(CASES[name][0]).sampler()
    value = draw(np.random.default_rng(SEED))
    assert type(value) is (bool if name == "bernoulli" else float)


def test_fixed_returns_its_value_without_drawing() -> None:
    rng = np.random.default_rng(SEED)
    before = rng.bit_generator.state
    assert Fixed(value=2).sampler()(rng) == 2.0
    assert type(Fixed(value=2).sampler()(rng)) is float
    assert Fixed(value=True).sampler()(rng) is True
    assert rng.bit_generator.state == before


def test_fixed_value_keeps_bool_and_number_apart() -> None:
    assert parse({"kind": "fixed", "value": 1}).value_type() == "number"
    assert parse({"kind": "fixed", "value": False}).value_type() == "bool"


def test_value_type_is_bool_only_for_bernoulli() -> None:
    kinds = {name: parse(spec).value_type() for name, (spec, _) in CASES.items()}
    assert {name for name, t in kinds.items() if t == "bool"} == {"bernoulli"}


@pytest.mark.parametrize("name", CASES)
def test_same_seed_gives_same_draws(name: str) -> None:
    dist = parse(CASES[name][0])
    first = draw_many(dist, np.random.default_rng(7), 100)
    second = draw_many(dist, np.random.default_rng(7), 100)
    np.testing.assert_array_equal(first, second)


def test_draw_many_makes_the_sampler_draws() -> None:
    dist = parse(CASES["gamma"][0])
    draw = dist.sampler()
    rng = np.random.default_rng(7)
    one_by_one = [draw(rng) for _ in range(50)]
    np.testing.assert_array_equal(draw_many(dist, np.random.default_rng(7), 50), one_by_one)


def test_bernoulli_with_p_one_is_always_true() -> None:
    dist = Bernoulli(p=1)
    draw = dist.sampler()
    rng = np.random.default_rng(SEED)
    assert all(draw(rng) for _ in range(1000))
    np.testing.assert_array_equal(dist.ppf(np.array([0.0, 0.5, 1.0])), [1.0, 1.0, 1.0])
    assert dist.support() == (1.0, 1.0)


def test_bernoulli_ppf_is_the_left_continuous_inverse() -> None:
    q = np.array([0.0, 0.69, 0.7, 0.71, 1.0])
    np.testing.assert_array_equal(Bernoulli(p=0.3).ppf(q), [0, 0, 0, 1, 1])


def test_choice_never_draws_a_zero_weight_value() -> None:
    dist = Choice(values=(1, 2, 3), weights=(1, 0, 1))
    values = draw_many(dist, np.random.default_rng(SEED), 10_000)
    assert set(values) == {1.0, 3.0}
    assert dist.support() == (1.0, 3.0)


# Quantile form ------------------------------------------------------------------------------

KNOWN_QUANTILE_SOLUTIONS = [
    (
        {"kind": "lognormal", "p5": 1, "p95": 10},
        {"mu": math.log(10) / 2, "sigma": math.log(10) / (2 * stats.norm.ppf(0.95))},
    ),
    ({"kind": "uniform", "p10": 0, "p90": 8}, {"low": -1, "high": 9}),
    ({"kind": "uniform", "p25": 1, "p50": 2}, {"low": 0, "high": 4}),
    (
        {"kind": "normal", "p10": 2, "p80": 5},
        {
            "sd": 3 / (stats.norm.ppf(0.8) - stats.norm.ppf(0.1)),
            "mean": 2 - 3 / (stats.norm.ppf(0.8) - stats.norm.ppf(0.1)) * stats.norm.ppf(0.1),
        },
    ),
    ({"kind": "exponential", "p50": 3}, {"mean": 3 / math.log(2)}),
    (
        {
            "kind": "beta",
            "p5": stats.beta(2, 5).ppf(0.05),
            "p95": stats.beta(2, 5).ppf(0.95),
        },
        {"a": 2, "b": 5},
    ),
    (
        {
            "kind": "beta",
            "low": 10,
            "high": 20,
            "p10": stats.beta(0.5, 0.7, 10, 10).ppf(0.1),
            "p80": stats.beta(0.5, 0.7, 10, 10).ppf(0.8),
        },
        {"a": 0.5, "b": 0.7, "low": 10, "high": 20},
    ),
    (
        {
            "kind": "gamma",
            "p10": stats.gamma(2.5, scale=1.5).ppf(0.1),
            "p80": stats.gamma(2.5, scale=1.5).ppf(0.8),
        },
        {"shape": 2.5, "scale": 1.5},
    ),
    (
        {
            "kind": "gamma",
            "p1": stats.gamma(0.3, scale=20).ppf(0.01),
            "p99": stats.gamma(0.3, scale=20).ppf(0.99),
        },
        {"shape": 0.3, "scale": 20},
    ),
]


@pytest.mark.parametrize(("spec", "solution"), KNOWN_QUANTILE_SOLUTIONS)
def test_quantile_form_solves_for_the_known_parameters(
    spec: dict[str, Any], solution: dict[str, float]
) -> None:
    dist = parse(spec)
    for name, value in solution.items():
        assert getattr(dist, name) == pytest.approx(value, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize(("spec", "solution"), KNOWN_QUANTILE_SOLUTIONS)
def test_quantile_form_round_trips(spec: dict[str, Any], solution: dict[str, float]) -> None:
    dist = parse(spec)
    levels = sorted(int(key[1:]) for key in spec if key.startswith("p"))
    given = np.array([spec[f"p{level}"] for level in levels])
    np.testing.assert_allclose(dist.ppf(np.array(levels) / 100), given, rtol=1e-6)


def test_quantile_form_keeps_the_quantiles_given() -> None:
    dist = parse({"kind": "lognormal", "p95": 10, "p5": 1})
    assert dist.quantiles == {5: 1.0, 95: 10.0}
    assert parse({"kind": "lognormal", "mu": 0, "sigma": 1}).quantiles == {}


def test_describe_shows_parameters_and_quantiles() -> None:
    dist = parse({"kind": "lognormal", "p5": 1, "p95": 10})
    assert dist.describe() == "lognormal(mu=1.15129, sigma=0.699936) [p5=1, p95=10]"
    assert Normal(mean=0, sd=1, high=2).describe() == "normal(mean=0, sd=1, high=2)"
    assert Choice(values=(1, 2)).describe() == "choice(values=[1, 2])"
    assert Fixed(value=True).describe() == "fixed(value=true)"


def test_solved_model_dumps_to_its_native_form() -> None:
    dist = parse({"kind": "gamma", "p10": 1, "p80": 5})
    again = parse(dist.model_dump())
    assert (again.shape, again.scale) == (dist.shape, dist.scale)


def test_quantile_form_validates_on_the_class_itself() -> None:
    assert LogNormal.model_validate({"p50": 1, "p90": 5}).mu == pytest.approx(0.0, abs=1e-15)


LEVELS = st.lists(st.integers(1, 99), min_size=2, max_size=2, unique=True).map(sorted)


def assert_round_trip(dist: Any, levels: list[int], values: list[float]) -> None:
    got = dist.ppf(np.array(levels) / 100)
    scale = max(abs(values[0]), abs(values[1]), values[1] - values[0])
    assert np.all(np.abs(got - np.array(values)) <= 1e-6 * scale)


@settings(max_examples=200, deadline=None)
@given(
    levels=LEVELS,
    low=st.floats(-1e6, 1e6),
    gap=st.floats(1e-3, 1e6),
)
def test_normal_quantile_form_round_trips(levels: list[int], low: float, gap: float) -> None:
    values = [low, low + gap]
    dist = parse({"kind": "normal", f"p{levels[0]}": values[0], f"p{levels[1]}": values[1]})
    assert_round_trip(dist, levels, values)


@settings(max_examples=200, deadline=None)
@given(levels=LEVELS, low=st.floats(1e-4, 1e4), ratio=st.floats(1.001, 1e4))
def test_lognormal_quantile_form_round_trips(levels: list[int], low: float, ratio: float) -> None:
    values = [low, low * ratio]
    dist = parse({"kind": "lognormal", f"p{levels[0]}": values[0], f"p{levels[1]}": values[1]})
    assert_round_trip(dist, levels, values)


@settings(max_examples=200, deadline=None)
@given(levels=LEVELS, shape=st.floats(0.05, 1e3), scale=st.floats(1e-3, 1e3))
def test_gamma_quantile_form_round_trips(levels: list[int], shape: float, scale: float) -> None:
    values = list(stats.gamma(shape, scale=scale).ppf(np.array(levels) / 100))
    assume(values[0] > 0 and values[1] > values[0] * (1 + 1e-6))
    dist = parse({"kind": "gamma", f"p{levels[0]}": values[0], f"p{levels[1]}": values[1]})
    assert_round_trip(dist, levels, values)


@settings(max_examples=200, deadline=None)
@given(levels=LEVELS, a=st.floats(0.1, 200), b=st.floats(0.1, 200))
def test_beta_quantile_form_round_trips(levels: list[int], a: float, b: float) -> None:
    values = list(stats.beta(a, b).ppf(np.array(levels) / 100))
    assume(values[0] > 0 and values[1] < 1 and values[1] - values[0] > 1e-6)
    dist = parse({"kind": "beta", f"p{levels[0]}": values[0], f"p{levels[1]}": values[1]})
    assert_round_trip(dist, levels, values)


# Validation errors --------------------------------------------------------------------------

INVALID = [
    ({"kind": "normal", "mean": 0, "sd": -1}, r"sd must be > 0, got -1"),
    ({"kind": "normal", "mean": 0, "sd": 1, "low": 3, "high": 3}, r"low must be < high"),
    (
        {"kind": "normal", "mean": 0, "sd": 1, "low": 40},
        r"normal\(mean=0, sd=1\) has no probability in \[40, inf\]",
    ),
    ({"kind": "uniform", "low": 5, "high": 2}, r"low must be < high, got low=5, high=2"),
    ({"kind": "lognormal", "mu": 0, "sigma": 0}, r"sigma must be > 0, got 0"),
    ({"kind": "beta", "a": 0, "b": 1}, r"a must be > 0, got 0"),
    ({"kind": "beta", "a": 1, "b": -2}, r"b must be > 0, got -2"),
    ({"kind": "beta", "a": 1, "b": 2, "low": 0}, r"give both low and high to rescale"),
    ({"kind": "beta", "a": 1, "b": 2, "low": 2, "high": 1}, r"low must be < high"),
    (
        {"kind": "triangular", "low": 0, "mode": 7, "high": 5},
        r"mode must be within \[low, high\] = \[0, 5\], got 7",
    ),
    ({"kind": "pert", "low": 1, "mode": 1, "high": 1}, r"low must be < high, got low=1, high=1"),
    ({"kind": "pert", "low": 0, "mode": -1, "high": 1}, r"mode must be within"),
    ({"kind": "exponential", "mean": 0}, r"mean must be > 0, got 0"),
    ({"kind": "gamma", "shape": -1, "scale": 1}, r"shape must be > 0, got -1"),
    ({"kind": "gamma", "shape": 1, "scale": 0}, r"scale must be > 0, got 0"),
    ({"kind": "poisson", "mean": -3}, r"mean must be > 0, got -3"),
    ({"kind": "poisson", "mean": 1e19}, r"mean must be <= 1e18, got 1e\+19"),
    ({"kind": "bernoulli", "p": 1.5}, r"p must be within \[0, 1\], got 1.5"),
    ({"kind": "bernoulli", "p": -0.1}, r"p must be within \[0, 1\], got -0.1"),
    ({"kind": "choice", "values": []}, r"values must hold at least one number"),
    (
        {"kind": "choice", "values": [1, 2], "weights": [1]},
        r"weights must have one entry per value \(2\), got 1",
    ),
    ({"kind": "choice", "values": [1, 2], "weights": [1, -1]}, r"weights must be >= 0, got -1"),
    ({"kind": "choice", "values": [1, 2], "weights": [0, 0]}, r"weights must have a positive sum"),
    ({"kind": "uniform", "low": -math.inf, "high": 1}, r"low\n.*finite number"),
    ({"kind": "normal", "mean": math.nan, "sd": 1}, r"mean\n.*finite number"),
    ({"kind": "choice", "values": [1, math.inf]}, r"values\.1\n.*finite number"),
    ({"kind": "uniform", "low": True, "high": 2}, r"low\n.*expected a number or an expression"),
    ({"kind": "uniform", "low": "", "high": 2}, r"low\n.*got an empty string"),
    ({"kind": "fixed", "value": "true"}, r"fixed\.value\.bool\n.*valid boolean"),
    ({"kind": "normal", "mean": 0, "sd": 1, "sdev": 1}, r"sdev\n.*Extra inputs are not permitted"),
    ({"kind": "lognormal", "p5": 1, "p95": 10, "foo": 1}, r"foo\n.*Extra inputs"),
    ({"kind": "normal", "mean": 0}, r"sd\n.*Field required"),
    ({"kind": "weibull", "shape": 1}, r"Input tag 'weibull' found using 'kind' does not match"),
    ({"mean": 1}, r"Unable to extract tag using discriminator 'kind'"),
]


@pytest.mark.parametrize(("data", "message"), INVALID)
def test_invalid_distribution_is_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(data)


INVALID_QUANTILES = [
    (
        {"kind": "lognormal", "mu": 0, "p5": 1, "p95": 10},
        r"give either mu and sigma or quantiles \(p1 \.\.\. p99\), not both; got mu with p5, p95",
    ),
    ({"kind": "uniform", "low": 0, "p90": 1}, r"give either low and high or quantiles"),
    ({"kind": "lognormal", "p5": 1}, r"takes exactly 2 quantiles, got 1 \(p5\)"),
    ({"kind": "gamma", "p5": 1, "p50": 2, "p95": 3}, r"exactly 2 quantiles, got 3"),
    ({"kind": "exponential", "p5": 1, "p95": 3}, r"takes exactly 1 quantile, got 2"),
    ({"kind": "normal", "p0": 1, "p95": 3}, r"quantile keys are p1 \.\.\. p99 .*got 'p0'"),
    ({"kind": "normal", "p5": 1, "p100": 3}, r"got 'p100'"),
    ({"kind": "normal", "p2.5": 1, "p95": 3}, r"got 'p2\.5'"),
    ({"kind": "normal", "p05": 1, "p95": 3}, r"got 'p05'"),
    (
        {"kind": "normal", "p5": 10, "p95": 1},
        r"quantiles must increase with their levels, got p5=10 and p95=1",
    ),
    ({"kind": "uniform", "p5": 1, "p95": 1}, r"quantiles must increase with their levels"),
    ({"kind": "normal", "p5": True, "p95": 1}, r"p5 must be a finite number, got True"),
    ({"kind": "normal", "p5": 0, "p95": math.inf}, r"p95 must be a finite number, got inf"),
    ({"kind": "normal", "p5": True, "p95": 2}, r"p5 must be a finite number, got True"),
    (
        {"kind": "normal", "low": 0, "p5": 1, "p95": 2},
        r"the quantile form describes an untruncated normal",
    ),
    (
        {"kind": "beta", "p5": 0.2, "p95": 1.5},
        r"no beta distribution has p5=0\.2 and p95=1\.5 \(quantiles must lie in \(0, 1\)\)",
    ),
    (
        {"kind": "beta", "low": 0, "high": 10, "p5": 0, "p95": 5},
        r"no beta distribution on \[0, 10\] has p5=0 and p95=5 "
        r"\(quantiles must lie in \(0, 10\)\)",
    ),
    (
        {"kind": "beta", "low": 5, "high": 1, "p5": 2, "p95": 3},
        r"low must be < high, got low=5, high=1",
    ),
    (
        {"kind": "lognormal", "p5": -1, "p95": 10},
        r"no lognormal distribution has p5=-1 and p95=10 \(quantiles must be > 0\)",
    ),
    ({"kind": "gamma", "p5": 0, "p95": 10}, r"no gamma distribution .*must be > 0"),
    ({"kind": "exponential", "p50": -2}, r"no exponential distribution has p50=-2"),
    (
        {"kind": "gamma", "p5": 1e-300, "p95": 1e300},
        r"no gamma distribution has p5=1e-300 and p95=1e\+300 \(the quantiles are too far",
    ),
    ({"kind": "gamma", "p5": 1, "p95": 1 + 1e-12}, r"no gamma distribution has"),
    ({"kind": "triangular", "low": 0, "high": 2, "p50": 1}, r"p50\n.*Extra inputs"),
]


@pytest.mark.parametrize(("data", "message"), INVALID_QUANTILES)
def test_invalid_quantile_form_is_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(data)


def test_models_are_frozen() -> None:
    dist = Normal(mean=0, sd=1)
    with pytest.raises(ValidationError, match="frozen"):
        dist.sd = 2  # type: ignore[misc]


# JSON Schema --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return ADAPTER.json_schema()


def test_schema_has_one_definition_per_kind(schema: dict[str, Any]) -> None:
    kinds = {d["properties"]["kind"]["const"] for d in schema["$defs"].values()}
    assert kinds == set(DISTRIBUTION_KINDS)
    assert len(DISTRIBUTION_KINDS) == len(typing.get_args(typing.get_args(Distribution)[0]))


def test_schema_documents_every_property(schema: dict[str, Any]) -> None:
    for name, definition in schema["$defs"].items():
        assert definition.get("description"), name
        for prop, body in definition["properties"].items():
            assert body.get("description"), f"{name}.{prop}"


def test_schema_requires_the_kind(schema: dict[str, Any]) -> None:
    for definition in schema["$defs"].values():
        assert definition["required"][0] == "kind"


def test_schema_allows_quantiles_only_for_quantile_kinds(schema: dict[str, Any]) -> None:
    by_kind = {d["properties"]["kind"]["const"]: d for d in schema["$defs"].values()}
    for kind, definition in by_kind.items():
        if kind in QUANTILE_KINDS:
            assert list(definition["patternProperties"]) == [QUANTILE_PATTERN]
            assert definition["patternProperties"][QUANTILE_PATTERN]["type"] == "number"
            assert definition["required"] == ["kind"]
        else:
            assert "patternProperties" not in definition
        assert definition["additionalProperties"] is False


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        ({"kind": "lognormal", "p5": 1, "p95": 10}, True),
        ({"kind": "beta", "a": 2, "b": 5}, True),
        ({"kind": "lognormal", "p5": 1, "p100": 10}, False),
        ({"kind": "lognormal", "p5": 1, "foo": 10}, False),
        ({"kind": "triangular", "p5": 1, "p95": 10}, False),
        ({"kind": "weibull"}, False),
    ],
)
def test_schema_checks_documents_like_the_models(
    schema: dict[str, Any], document: dict[str, Any], valid: bool
) -> None:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert (not errors) == valid


def test_quantiles_may_be_numpy_numbers() -> None:
    dist = parse({"kind": "uniform", "p10": np.int64(0), "p90": np.float64(8)})
    assert (dist.low, dist.high) == (-1.0, 9.0)
