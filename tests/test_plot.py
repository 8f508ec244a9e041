"""``sim plot``: the figure of each kind of result, and clear errors for the wrong input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from _reports import SEED, axes_are_drawn, make_kinds, png_is_drawn, svg_is_drawn
from typer.testing import CliRunner

from sim.analysis.sweep import Grid, Sample, sweep
from sim.cli import app
from sim.montecarlo.results import open_run
from sim.report.plot import figure_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:SALib.*")


@pytest.fixture(scope="module")
def results(report_results: Path) -> Path:
    """Results of every kind, a sweep over two parameters, a sampled one, a CSV table."""
    root = report_results
    file = root / "dated.yaml"
    grid = Grid({"drift": [0.0, 0.04], "base_rate": [0.02, 0.05, 0.08]})
    sweep(file, grid, branches=60, seed=SEED, out=root / "two")
    sample = Sample("lhs", 6, {"drift": (0.0, 0.04), "base_rate": (0.02, 0.08)})
    sweep(file, sample, branches=40, seed=SEED, out=root / "lhs")
    table = pq.read_table(root / "comparison.parquet")
    pacsv.write_csv(table, root / "comparison.csv")
    return root


def plot(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["plot", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("what", "name"),
    [
        ("dated", None),  # the probabilities at a glance
        ("dated", "crisis_by_2025"),
        ("dated", "time_to_crisis"),
        ("dated", "tension_at_end"),
        ("dated", "shocks_at_end"),  # whole numbers: one bar each
        ("sweep", None),
        ("sweep", "time_to_crisis"),
        ("two", "crisis_by_2025"),  # a heat map
        ("lhs", "tension_at_end"),  # a sampled design: one panel per parameter
        ("morris", "crisis_by_2025"),
        ("comparison.parquet", "time_to_crisis"),
        ("comparison.csv", "crisis_by_2025"),
    ],
)
def test_every_kind_of_result_is_drawn(
    results: Path, tmp_path: Path, what: str, name: str | None
) -> None:
    out = tmp_path / "figure.svg"
    code, output = plot(str(results / what), *([name] if name else []), "-o", str(out))
    assert code == 0, output
    assert output.strip() == f"figure: {out}"
    assert svg_is_drawn(ElementTree.fromstring(out.read_bytes()))


@pytest.mark.parametrize(
    ("what", "name"),
    [
        ("dated", "time_to_crisis"),
        ("dated", "tension_at_end"),
        ("two", "crisis_by_2025"),
        ("morris", "crisis_by_2025"),
        ("comparison.parquet", "crisis_by_2025"),
    ],
)
def test_figures_have_content_inside_their_axes(results: Path, what: str, name: str) -> None:
    assert axes_are_drawn(figure_of(results / what, name))


def test_variants_are_drawn_beside_the_baseline(results: Path) -> None:
    others = [results / "dated__calm", results / "dated__tense"]
    for name in ("crisis_by_2025", "time_to_crisis", "tension_at_end"):
        figure = figure_of(results / "dated", name, others=others)
        assert axes_are_drawn(figure)
    legend = figure_of(results / "dated", "time_to_crisis", others=others).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["baseline", "calm", "tense"]


def test_a_time_to_an_event_has_dates_on_its_axis_and_the_horizon_marked(results: Path) -> None:
    figure = figure_of(results / "dated", "time_to_crisis")
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    import matplotlib.dates as mdates

    start, end = mdates.num2date(low).date(), mdates.num2date(high).date()
    assert start == dt.date(2024, 1, 1)
    assert dt.date(2027, 1, 1) <= end <= dt.date(2027, 2, 1)  # 36 months, plus a margin
    texts = [t.get_text() for t in ax.texts]
    # 36 months of 365.25 / 12 days after 1 January 2024 is 31 December 2026
    assert "horizon\nDec 2026" in texts, texts
    # the curve shows the share of branches where the crisis has happened, in percent
    line = ax.get_lines()[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    summary = json.loads((results / "dated" / "summary.json").read_text())
    at_end = 100 * (1 - summary["outcomes"]["time_to_crisis"]["survival_at_horizon"]["estimate"])
    assert y[0] == 0.0 and abs(y[-1] - at_end) < 1e-9


def test_each_format_is_written(results: Path, tmp_path: Path) -> None:
    for suffix, head in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        out = tmp_path / f"f{suffix}"
        code, output = plot(str(results / "dated"), "time_to_crisis", "--out", str(out))
        assert code == 0, output
        assert out.read_bytes().startswith(head)
    assert png_is_drawn((tmp_path / "f.png").read_bytes())


def test_the_default_file_is_named_after_the_result(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = plot(str(results / "dated"), "heads")
    assert code == 0, output
    assert (tmp_path / "dated__heads.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["{root}"],
            "{root}: not a run, sweep or sensitivity directory (it has no "
            "manifest.json); it holds results, such as {root}/dated",
        ),
        (["{root}/nothing"], "{root}/nothing: no such directory or file"),
        (["{root}/dated", "nope"], "{root}/dated: no outcome 'nope'"),
        (["{root}/sweep", "nope"], "{root}/sweep: no outcome 'nope'"),
        (
            ["{root}/dated", "-o", "{root}/x.gif"],
            "--out {root}/x.gif: expected a .png, .svg or .pdf file name",
        ),
        (["{root}/dated.yaml"], "{root}/dated.yaml: not a result"),
        (["{root}/sweep", "--with", "{root}/dated"], "--with: other runs go beside a run"),
        (["{root}/dated", "--with", "{root}/sweep"], "--with {root}/sweep: not a run directory"),
    ],
)
def test_the_wrong_input_is_one_line_and_exit_status_2(
    results: Path, args: list[str], message: str
) -> None:
    code, output = plot(*(a.format(root=results) for a in args))
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(root=results)), output


def test_an_incomplete_run_is_refused_with_how_to_finish_it(results: Path, tmp_path: Path) -> None:
    import shutil

    partial = tmp_path / "half.partial"
    shutil.copytree(results / "dated", partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "incomplete"}))
    code, output = plot(str(tmp_path / "half"))
    assert code == 2
    assert output.strip() == (
        f"{tmp_path / 'half'}: no run directory, but an incomplete run is in {partial}; "
        f"finish it with 'sim run --resume {tmp_path / 'half'}'"
    )
    shutil.copytree(partial, tmp_path / "marked")
    code, output = plot(str(tmp_path / "marked"))
    assert code == 2 and "the run is incomplete (manifest status 'incomplete')" in output


def test_result_objects_draw_their_own_figures(results: Path) -> None:
    run_result = open_run(results / "dated")
    assert axes_are_drawn(run_result.figure("time_to_crisis", survival=True))
    from sim.analysis.sweep import open_sweep

    assert axes_are_drawn(open_sweep(results / "sweep").figure())


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run (and its variant) of a scenario with every output of format 1.1."""
    return make_kinds(tmp_path_factory.mktemp("kinds"))


@pytest.mark.parametrize(
    "name", ["time_to_b", "a_events", "a_to_b", "first", "b_if_two_a", "level", "tension"]
)
def test_the_outputs_of_format_1_1_are_drawn(kinds: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "figure.svg"
    code, output = plot(
        str(kinds / "kinds"), name, "--with", str(kinds / "kinds__fast"), "-o", str(out)
    )
    if name in ("level", "tension"):  # a trajectory: the baseline's fan chart
        code, output = plot(str(kinds / "kinds"), name, "-o", str(out))
    assert code == 0, output
    assert svg_is_drawn(ElementTree.fromstring(out.read_bytes()))


def test_a_time_that_a_stop_can_pre_empt_is_drawn_as_its_cumulative_incidence(
    kinds: Path,
) -> None:
    figure = figure_of(kinds / "kinds", "time_to_b")
    ax = figure.axes[0]
    assert "Aalen–Johansen" in " ".join(t.get_text() for t in figure.texts)
    summary = json.loads((kinds / "kinds" / "summary.json").read_text())["outcomes"]
    y = np.asarray(ax.get_lines()[0].get_ydata(), dtype=float)
    # the curve ends at the share of branches where b held by the horizon, as the summary
    # and the matching probability outcome say
    at_end = 100 * (1 - summary["time_to_b"]["survival_at_horizon"]["estimate"])
    assert abs(y[-1] - at_end) < 1e-9
    assert abs(y[-1] - 100 * summary["b_by_end"]["estimate"]) < 1e-9


def test_a_trajectory_is_a_fan_of_the_summary_percentiles(kinds: Path) -> None:
    figure = figure_of(kinds / "kinds", "level")
    median = np.asarray(figure.axes[0].get_lines()[0].get_ydata(), dtype=float)
    summary = json.loads((kinds / "kinds" / "summary.json").read_text())["series"]["level"]
    assert np.allclose(median, np.array(summary["p50"], dtype=float))
    code, output = plot(str(kinds / "kinds"), "levle")
    assert code == 2
    assert output.strip().endswith(
        "no outcome 'levle' (did you mean 'level'?); it has: time_to_b, b_by_end, a_events, "
        "a_to_b, first, b_if_two_a; trajectories: level, tension"
    )
