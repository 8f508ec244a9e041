"""Figures from plain data: each kind draws inside its axes, dates and words are right."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import numpy as np
import pytest
from _reports import axes_are_drawn, svg_is_drawn

from sim.stats.survival import kaplan_meier
from sim.views.analyses import (
    Difference,
    Index,
    Ratio,
    SweepSeries,
    forest_figure,
    heatmap_figure,
    likelihood_ratio_figure,
    sweep_figure,
    tornado_figure,
)
from sim.views.frame import Titles, save, to_bytes
from sim.views.outcomes import (
    Curve,
    Estimate,
    Fan,
    Values,
    event_time_figure,
    fan_figure,
    probability_figure,
    value_figure,
)
from sim.views.text import decimals_for, likelihood, number, percent, signed
from sim.views.timeaxis import TimeAxis

MONTHS = TimeAxis("month", 36.0, dt.date(2024, 1, 1), 365.25 / 12)
TITLES = Titles("A title", "a subtitle", "a footer")


def _curve(n: int, seed: int = 1) -> Curve:
    rng = np.random.default_rng(seed)
    times = rng.exponential(20.0, n)
    observed = times < 36.0
    fit = kaplan_meier(np.minimum(times, 36.0), observed)
    return Curve("baseline", fit.time, fit.survival, fit.low, fit.high)


def test_every_figure_kind_draws_inside_its_axes() -> None:
    rng = np.random.default_rng(2)
    x = np.linspace(0.0, 1.0, 5)
    t = np.arange(37.0)
    figures = [
        probability_figure(
            [Estimate("a", 0.4, 0.35, 0.45), Estimate("b", 0.6, 0.55, 0.65)],
            TITLES,
            xlabel="probability",
        ),
        event_time_figure([_curve(500), _curve(400, 3)], MONTHS, TITLES, what="it"),
        event_time_figure([_curve(50_000)], MONTHS, TITLES, what="it", survival=True),
        value_figure([Values("a", rng.normal(size=2000), -1.6, 0.0, 1.6)], TITLES, xlabel="v"),
        value_figure(
            [
                Values("a", rng.poisson(3, 2000).astype(float), 0, 3, 6),
                Values("b", rng.poisson(5, 2000).astype(float)),
            ],
            TITLES,
            xlabel="v",
        ),
        sweep_figure(
            [SweepSeries("p", x, x / 2, x / 2 - 0.05, x / 2 + 0.05)],
            TITLES,
            xlabel="drift",
            ylabel="probability",
            as_percent=True,
        ),
        heatmap_figure(
            [1, 2, 3],
            [0, 1],
            np.array([[0.1, 0.2, 0.3], [0.4, 0.5, np.nan]]),
            TITLES,
            xlabel="a",
            ylabel="b",
            what="P",
            as_percent=True,
        ),
        forest_figure(
            [Difference("v", 0.1, 0.05, 0.15, True), Difference("w", 0.0, -0.01, 0.01, False)],
            TITLES,
            xlabel="d",
            scale=100,
            unit=" pp",
            decimals=1,
        ),
        tornado_figure(
            [Index("a", 0.5, 0.05, 0.6, 0.05), Index("b", 0.1, 0.02, 0.2, 0.03)],
            TITLES,
            main="S1",
            total="ST",
            xlabel="share",
        ),
        fan_figure(
            Fan("level", t, t * 0.5, t * 0.8, t, t * 1.2, t * 1.5), MONTHS, TITLES, ylabel="level"
        ),
        likelihood_ratio_figure(
            [
                Ratio("drill", 4.0, 2.5, 6.0),
                Ratio("visit", 0.5, 0.3, 0.8),
                Ratio("none", 1.0, 0.9, 1.1),
            ],
            TITLES,
            xlabel="likelihood ratio",
        ),
    ]
    for figure in figures:
        assert axes_are_drawn(figure)
        assert svg_is_drawn(ElementTree.fromstring(to_bytes(figure, "svg")))


def test_a_curve_of_many_steps_is_drawn_exactly_on_a_grid() -> None:
    curve = _curve(50_000)
    figure = event_time_figure([curve], MONTHS, TITLES, what="it")
    line = figure.axes[0].get_lines()[0]
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    assert x.size == 600
    t = (x - MONTHS.x(0.0)) / MONTHS.days_per_unit
    index = np.searchsorted(curve.time, t, side="right") - 1
    expected = 100 * (1 - np.where(index < 0, 1.0, curve.survival[np.maximum(index, 0)]))
    assert np.allclose(y, expected)


def test_the_same_figure_gives_the_same_svg_bytes() -> None:
    one = to_bytes(event_time_figure([_curve(300)], MONTHS, TITLES, what="it"), "svg")
    two = to_bytes(event_time_figure([_curve(300)], MONTHS, TITLES, what="it"), "svg")
    assert one == two


def test_an_unknown_file_format_is_refused() -> None:
    figure = probability_figure([Estimate("a", 0.5, 0.4, 0.6)], TITLES, xlabel="p")
    with pytest.raises(ValueError, match=r"unknown figure format '\.gif'"):
        save(figure, "x.gif")


def test_times_become_dates_with_a_month_of_a_twelfth_of_a_year() -> None:
    assert MONTHS.date(12.0) == dt.date(2024, 12, 31)  # 365.25 days after 1 January 2024
    assert MONTHS.when(97.3) == "Feb 2032"
    assert MONTHS.span(1.0) == "1 month" and MONTHS.span(97.34) == "97.3 months"
    undated = TimeAxis("week", 52.0)
    assert undated.when(3.0) == "3 weeks" and undated.x(3.0) == 3.0
    assert undated.label() == "weeks from the start"


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (0.0, "almost no chance"),
        (0.049, "almost no chance"),
        (0.05, "very unlikely"),
        (0.3, "unlikely"),
        (0.5, "roughly even odds"),
        (0.609, "likely"),
        (0.9, "very likely"),
        (0.96, "almost certain"),
        (1.0, "almost certain"),
    ],
)
def test_probabilities_in_words_follow_icd_203(p: float, words: str) -> None:
    assert likelihood(p) == words


def test_numbers_for_readers() -> None:
    assert percent(0.609) == "61%" and percent(0.609, 1) == "60.9%"
    assert percent(0.001) == "<1%" and percent(0.999) == ">99%" and percent(None) == "-"
    assert number(44125.3) == "44,125" and number(0.3101) == "0.31" and number(3.5e-5) == "0"
    assert signed(-22.7) == "−22.7" and signed(0.0) == "0" and signed(1.234, 2) == "+1.23"
    assert decimals_for(0.31, 3.5e-5) == 3 and decimals_for(44125.0) == 0
