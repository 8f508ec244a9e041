"""Evidence in figures and reports: indicator tables drawn as likelihood ratios on a log axis,
the report's indicators to watch (worked out from the run, or from a table given to it),
its vantage date; and figures whose text stays inside them."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from _reports import svg_figures, svg_is_drawn
from matplotlib.figure import Figure
from typer.testing import CliRunner

from sim.analysis.evidence.indicators import indicators
from sim.cli import app
from sim.montecarlo.runner import run
from sim.report.plot import figure_of
from sim.views.analyses import (
    TORNADO_ROWS,
    Index,
    Ratio,
    SweepSeries,
    likelihood_ratio_figure,
    log_ticks,
    sweep_figure,
    tornado_figure,
)
from sim.views.frame import Titles
from sim.views.text import number

# A hidden threat (u < 0.3) raises the hazards of an alarm and of a war: seeing the alarm
# makes war more likely, a likelihood ratio well above 1.
SIGNS = """\
sim: 1.1
name: signs
title: Signs of war
description: A hidden threat raises the hazards of an alarm and of a war.
time: {unit: month, horizon: 24, start: 2023-03-01}
vantage: 2023-02-15
parameters:
  u: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
state:
  alarm: {init: false}
  war: {init: false}
processes:
  - {kind: event, name: alarm_rings, rate: "0.3 if u < 0.3 else 0.02", set: {alarm: "true"}}
  - {kind: event, name: war_breaks_out, rate: "0.1 if u < 0.3 else 0.01", set: {war: "true"}}
indicators:
  - {name: alarm_seen, when: alarm, by: 12, doc: the alarm has rung}
outcomes:
  - {kind: probability, name: war_by_end, when: war, question: "Does war break out?"}
  - {kind: value, name: u_value, expr: u}
"""


@pytest.fixture(scope="module")
def signs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the scenario with an indicator, and its indicator table as CSV."""
    root = tmp_path_factory.mktemp("signs")
    file = root / "signs.yaml"
    file.write_text(SIGNS, encoding="utf-8")
    run(file, branches=1500, seed=3, out=root / "run")
    result = CliRunner().invoke(
        app, ["indicators", str(root / "run"), "--hypothesis", "war_by_end", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    (root / "indicators.csv").write_text(result.output, encoding="utf-8")
    return root


def _html(tmp_path: Path, *paths: Path) -> str:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *map(str, paths), "--html", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_an_indicator_table_is_drawn_as_likelihood_ratios_on_a_log_axis(
    signs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lr.svg"
    result = CliRunner().invoke(app, ["plot", str(signs / "indicators.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert svg_is_drawn(ElementTree.fromstring(out.read_bytes()))
    figure = figure_of(signs / "indicators.csv")
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "likelihood ratio (log scale)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alarm_seen"]
    ratio = indicators(signs / "run", "war_by_end").rows[0]["likelihood_ratio"]
    assert ratio > 1.5  # the alarm is evidence for war
    (x,) = ax.get_lines()[-1].get_xdata()
    assert x == pytest.approx(ratio)


def test_the_report_weighs_the_indicators_of_the_run_for_its_headline(
    signs: Path, tmp_path: Path
) -> None:
    html = _html(tmp_path, signs / "run")
    row = indicators(signs / "run", "war_by_end").rows[0]
    text = _text(html)
    assert (
        "Indicators to watch for Does war break out?: alarm_seen makes it more likely: "
        "multiplies its odds by "
        + (number(row["likelihood_ratio"]))
        in text
    )
    assert '<section id="evidence-0">' in html
    assert "Indicators to watch (war_by_end)" in html
    assert "--hypothesis war_by_end" in text  # says where the numbers come from
    figures = svg_figures(html)
    assert all(svg_is_drawn(svg) for svg in figures)
    assert any("likelihood ratio (log scale)" in "".join(svg.itertext()) for svg in figures)
    assert "indicator__" not in text  # an indicator is an outcome, not a driver


def test_an_indicator_table_given_to_the_report_is_its_evidence(
    signs: Path, tmp_path: Path
) -> None:
    html = _html(tmp_path, signs / "run", signs / "indicators.csv")
    assert "as written by sim indicators to" in _text(html)
    assert html.count('<section id="evidence-') == 1


def test_the_report_states_the_vantage_date(signs: Path, tmp_path: Path) -> None:
    html = _html(tmp_path, signs / "run")
    assert "<dt>vantage date</dt><dd>15 February 2023</dd>" in html
    stated = tmp_path / "unstated.yaml"
    stated.write_text(SIGNS.replace("vantage: 2023-02-15\n", ""), encoding="utf-8")
    run(stated, branches=50, seed=3, out=tmp_path / "unstated")
    html = _html(tmp_path, tmp_path / "unstated")
    assert "<dt>vantage date</dt><dd>01 March 2023 (t = 0; none stated)</dd>" in html


def _outside(figure: Figure) -> list[str]:
    """Return the texts of a figure that reach past its edges: titles, footer, axis labels,
    legends, and the tick labels drawn (those within the axes' limits)."""
    canvas = figure.canvas
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[attr-defined]
    texts = list(figure.texts)
    for ax in figure.axes:
        texts += [ax.xaxis.label, ax.yaxis.label, ax.title]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks():
                if min(limits) <= tick.get_loc() <= max(limits):
                    texts += [tick.label1, tick.label2]
    width, height = figure.bbox.width, figure.bbox.height
    out = []
    for text in texts:
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            out.append(text.get_text())
    return out


def test_long_titles_wrap_inside_the_figure(signs: Path) -> None:
    long = "Belarus between Moscow and Beijing - annexation, Chinese money, Chinese arms " * 2
    figure = tornado_figure(
        [Index("a", 0.5, 0.05, 0.6, 0.05)], Titles(long.upper(), long), main="S1", total="ST",
        xlabel="share",
    )  # fmt: skip
    assert _outside(figure) == []
    assert _outside(figure_of(signs / "run")) == []


def test_a_tornado_shows_the_largest_effects_and_says_how_many_it_leaves_out() -> None:
    rows = [Index(f"p{i}", 0.01 * i, 0.0, 0.02 * i, 0.0) for i in range(TORNADO_ROWS + 5)]
    figure = tornado_figure(rows, Titles("t"), main="S1", total="ST", xlabel="share")
    shown = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert shown == [f"p{i}" for i in range(TORNADO_ROWS + 4, 4, -1)]
    assert "5 more parameters with smaller effects not shown" in figure.axes[0].get_xlabel()


def test_a_legend_of_many_lines_sits_beside_the_axes() -> None:
    x = np.linspace(0, 1, 4)
    lines = [SweepSeries(f"outcome_{i}", x, x * i / 10, x * i / 10 - 0.01, x * i / 10 + 0.01)
             for i in range(6)]  # fmt: skip
    figure = sweep_figure(lines, Titles("t"), xlabel="x", ylabel="p", as_percent=True)
    figure.canvas.draw()  # type: ignore[no-untyped-call]
    ax = figure.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    assert _outside(figure) == []


def test_a_narrow_range_of_likelihood_ratios_gets_enough_ticks_to_read() -> None:
    assert log_ticks(0.57, 1.45) == [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]
    assert log_ticks(0.1, 50) == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
    assert log_ticks(0.001, 1000) == [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    rows = [Ratio("a", 1.21, 1.06, 1.38), Ratio("b", 0.877, 0.613, 1.25)]
    figure = likelihood_ratio_figure(rows, Titles("t"), xlabel="likelihood ratio")
    figure.canvas.draw()  # type: ignore[no-untyped-call]
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    assert len(shown) >= 3 and "1" in shown
    assert low <= 0.613 and high >= 1.38  # every interval inside the axes
