"""`sim score`: Brier, log and CRPS scores and Murphy's decomposition against hand computations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from _evidence import synthetic_run
from typer.testing import CliRunner

import sim
from sim.analysis.evidence.score import murphy
from sim.cli import app
from sim.errors import ScenarioError

FORECASTS = [0.1, 0.1, 0.3, 0.3, 0.6, 0.6, 0.8, 0.8, 0.9, 0.9]
OUTCOMES = [0, 0, 0, 1, 1, 0, 1, 1, 1, 1]
N = 10  # branches: forecast j is exactly (10 f_j) of 10


@pytest.fixture
def run(tmp_path: Path) -> Path:
    columns: dict[str, object] = {
        f"q{j}": np.arange(N) < round(f * N) for j, f in enumerate(FORECASTS)
    }
    columns["delivered"] = np.array([0.0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    columns["indicator__drill"] = np.array([1.0, 2, 5, np.nan, 7, 8, 9, 10, 11, np.nan])
    kinds = {f"q{j}": "probability" for j in range(len(FORECASTS))} | {"delivered": "value"}
    return synthetic_run(tmp_path / "run", columns, kinds, indicators={"drill": 6.0})


def _resolutions(tmp_path: Path, lines: list[str], head: str = "") -> Path:
    path = tmp_path / "resolved.yaml"
    path.write_text(head + "resolutions:\n" + "".join(f"  - {line}\n" for line in lines))
    return path


def _binary_lines() -> list[str]:
    return [
        f"{{outcome: q{j}, resolved: {'true' if y else 'false'}, date: 2026-01-01, source: s}}"
        for j, y in enumerate(OUTCOMES)
    ]


def test_brier_and_log_scores_and_the_decomposition_by_hand(run: Path, tmp_path: Path) -> None:
    result = sim.score(run, _resolutions(tmp_path, _binary_lines()))
    brier = [(f - y) ** 2 for f, y in zip(FORECASTS, OUTCOMES, strict=True)]
    log = [-math.log(f if y else 1 - f) for f, y in zip(FORECASTS, OUTCOMES, strict=True)]
    assert [r["brier"] for r in result.rows] == pytest.approx(brier)
    assert [r["log_score"] for r in result.rows] == pytest.approx(log)
    t = result.totals
    assert t["brier"] == pytest.approx(0.122)
    assert t["log_score"] == pytest.approx(sum(log) / 10)
    assert t["reference_brier"] == pytest.approx(0.25)
    assert t["reference_log_score"] == pytest.approx(math.log(2))
    assert t["brier_skill"] == pytest.approx(1 - 0.122 / 0.25)
    d = result.decomposition
    assert d is not None
    # bins of 0.1: 0.1 | 0.3 | 0.6 | 0.8 | 0.9, two questions each, base rate 0.6
    assert d["reliability"] == pytest.approx(0.022)
    assert d["resolution"] == pytest.approx(0.14)
    assert d["uncertainty"] == pytest.approx(0.24)
    assert d["remainder"] == pytest.approx(0.0, abs=1e-12)
    assert [(c["bin_low"], c["questions"], c["observed"]) for c in result.calibration] == [
        (0.1, 2, 0.0), (0.3, 2, 0.5), (0.6, 2, 0.5), (0.8, 2, 1.0), (0.9, 2, 1.0)
    ]  # fmt: skip


def test_the_decomposition_leaves_the_spread_within_bins_as_remainder() -> None:
    f, y = np.array([0.05, 0.15, 0.7, 0.75]), np.array([0.0, 1.0, 1.0, 0.0])
    d = murphy(f, y, bins=2)  # bins [0, 0.5): 0.05, 0.15; [0.5, 1]: 0.7, 0.75
    reliability = (2 * (0.1 - 0.5) ** 2 + 2 * (0.725 - 0.5) ** 2) / 4
    assert d["reliability"] == pytest.approx(reliability)
    assert d["resolution"] == pytest.approx(0.0)
    assert d["brier"] == pytest.approx(np.mean((f - y) ** 2))
    assert d["brier"] == pytest.approx(
        d["reliability"] - d["resolution"] + d["uncertainty"] + d["remainder"]
    )
    assert d["remainder"] != pytest.approx(0.0)


def test_indicators_by_date_numbers_by_crps_and_a_stated_base_rate(
    run: Path, tmp_path: Path
) -> None:
    path = _resolutions(
        tmp_path,
        ["{outcome: drill, resolved: true, date: 2025-06-01, source: s}",
         "{outcome: delivered, resolved: 1, date: 2026-01-01, source: s}"],
        head="reference: 0.2\n",
    )  # fmt: skip
    result = sim.score(run, path)
    drill, delivered = result.rows
    t = (np.datetime64("2025-06-01") - np.datetime64("2025-01-01")).astype(int) / (365.25 / 12)
    assert drill["forecast"] == np.sum(np.array([1.0, 2, 5, 7, 8]) <= t) / 10 == 0.2
    assert drill["brier"] == pytest.approx(0.64) and drill["reference_brier"] == pytest.approx(0.64)
    sample = np.array([0.0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    by_hand = np.mean(np.abs(sample - 1)) - 0.5 * np.mean(np.abs(sample[:, None] - sample))
    assert delivered["crps"] == pytest.approx(by_hand)
    assert delivered["pit"] == pytest.approx(0.3 + 0.5 * 0.3)
    assert result.decomposition is None and "a handful" in (result.note or "")


ENTRY = "{{outcome: {0}, resolved: {1}, date: {2}, source: s{3}}}"


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        (ENTRY.format("q99", "true", "2026-01-01", ""), ":2:15: resolutions[0].outcome",
         "no outcome or indicator 'q99'"),
        (ENTRY.format("q1", "3", "2026-01-01", ""), ":2:29: resolutions[0].resolved",
         "resolved must be true or false"),
        (ENTRY.format("delivered", "true", "2026-01-01", ""), ":2:36: resolutions[0].resolved",
         "resolve it with the number observed"),
        (ENTRY.format("q1", "false", "2025-06-01", ""), ":2:42: resolutions[0].date",
         "is premature"),
        ("{outcome: q1, resolved: true, date: 2026-01-01}", ":2:5: resolutions[0]",
         "missing field 'source'"),
        (ENTRY.format("q1", "yes", "2026-01-01", ""), ":2:29: resolutions[0].resolved",
         "expected true, false or a number"),
        (ENTRY.format("q1", "true", "2026-01-01", ", run: nope"), ":2:69: resolutions[0].run",
         "no run 'nope'"),
    ],
)  # fmt: skip
def test_bad_resolutions_are_located_and_exit_2(
    run: Path, tmp_path: Path, line: str, where: str, message: str
) -> None:
    path = _resolutions(tmp_path, [line])
    out = CliRunner().invoke(app, ["score", str(run), "--resolutions", str(path)])
    assert out.exit_code == 2, out.output
    assert out.output.startswith(f"{path}{where}: ") and message in out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1


def test_an_outcome_in_two_runs_needs_run(run: Path, tmp_path: Path) -> None:
    other = synthetic_run(tmp_path / "other", {"q1": np.ones(4, bool)}, {"q1": "probability"})
    path = _resolutions(tmp_path, ["{outcome: q1, resolved: true, date: 2026-01-01, source: s}"])
    with pytest.raises(ScenarioError, match=r"'q1' is in 2 runs \(run, other\): say which"):
        sim.score([run, other], path)
    picked = _resolutions(
        tmp_path, ["{outcome: q1, resolved: true, date: 2026-01-01, source: s, run: other}"]
    )
    assert sim.score([run, other], picked).rows[0]["forecast"] == 1.0


def test_the_command_prints_every_format(run: Path, tmp_path: Path) -> None:
    path = _resolutions(tmp_path, _binary_lines())
    runner = CliRunner()
    table = runner.invoke(app, ["score", str(run), "--resolutions", str(path)])
    assert table.exit_code == 0, table.output
    assert "Murphy (10 bins)" in table.output and "Calibration" in table.output
    data = json.loads(
        runner.invoke(app, ["score", str(run), "--resolutions", str(path), "-f", "json"]).output
    )
    assert data["totals"]["brier"] == pytest.approx(0.122) and len(data["questions"]) == 10
    csv = runner.invoke(app, ["score", str(run), "--resolutions", str(path), "-f", "csv"])
    assert csv.output.splitlines()[0] == ",".join(
        ["outcome", "run", "kind", "resolved", "date", "source", "forecast", "branches", "brier",
         "log_score", "reference", "reference_brier", "reference_log_score", "crps", "observed",
         "pit"]
    )  # fmt: skip
    markdown = runner.invoke(app, ["score", str(run), "--resolutions", str(path), "-f", "markdown"])
    assert "| forecast bin | questions |" in markdown.output


RACE = """\
parameters:
  rate_a: {value: 0.1, assumption: test}
state:
  a: {init: false}
  b: {init: false}
processes:
  - {kind: event, name: ev_a, rate: rate_a, max_count: 1, set: {a: "true"}}
  - {kind: event, name: ev_b, rate: 0.05, max_count: 1, set: {b: "true"}}
outcomes:
  - {kind: first_of, name: first, conditions: {a: a, b: b}}
"""


def test_a_first_of_category_is_a_yes_no_question(tmp_path: Path) -> None:
    from _models import model

    out = tmp_path / "race"
    sim.run(model(RACE, horizon=12, time=", start: 2025-01-01", version="1.1"), branches=500,
            seed=3, out=out)  # fmt: skip
    first = sim.open_run(out).table.column("first").to_pylist()
    p_a, p_none = first.count("a") / 500, first.count("none") / 500
    lines = ["{outcome: first=a, resolved: true, date: 2026-01-01, source: s}",
             "{outcome: first=none, resolved: false, date: 2026-01-01, source: s}"]  # fmt: skip
    result = sim.score(out, _resolutions(tmp_path, lines))
    assert [r["forecast"] for r in result.rows] == pytest.approx([p_a, p_none])
    assert [r["brier"] for r in result.rows] == pytest.approx([(1 - p_a) ** 2, p_none**2])
    for line, message in [
        ("{outcome: first, resolved: true, date: 2026-01-01, source: s}",
         "'first' is a first_of outcome: score each category as a yes/no question, outcome: "
         "first=LABEL (labels: a, b, none)"),
        ("{outcome: first=c, resolved: true, date: 2026-01-01, source: s}",
         "no outcome or indicator 'first=c'"),
    ]:  # fmt: skip
        path = _resolutions(tmp_path, [line])
        result = CliRunner().invoke(app, ["score", str(out), "--resolutions", str(path)])
        assert result.exit_code == 2 and result.output.startswith(f"{path}:2:15: ")
        assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_a_question_resolved_by_the_vantage_date_is_noted(tmp_path: Path) -> None:
    from _models import model

    out = tmp_path / "race"
    sim.run(model(RACE, horizon=12, time=", start: 2025-01-01", version="1.1"), branches=50,
            seed=3, out=out)  # fmt: skip
    late = "{outcome: first=a, resolved: true, date: 2026-01-01, source: s}"
    early = "{outcome: first=b, resolved: false, date: 2025-01-01, source: s}"
    assert sim.score(out, _resolutions(tmp_path, [late])).note is not None  # few questions
    assert "vantage" not in str(sim.score(out, _resolutions(tmp_path, [late])).note)
    note = sim.score(out, _resolutions(tmp_path, [late, early])).note
    assert note is not None and note.endswith(
        "resolved on or before the forecast's vantage date, so known when it was made: "
        "first=b (2025-01-01 <= 2025-01-01)"
    )
