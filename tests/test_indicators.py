"""`sim indicators`: likelihood ratios of signposts against closed forms, and the ACH matrix."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _models import model, within
from typer.testing import CliRunner

import sim
from sim.analysis.evidence.indicators import indicators, likelihood_ratio
from sim.cli import app
from sim.errors import UsageError

P_H, RATE_H, RATE_NOT_H, BY = 0.3, 0.2, 0.05, 5.0
P1, P0 = 1 - math.exp(-RATE_H * BY), 1 - math.exp(-RATE_NOT_H * BY)
SIGNAL = f"""\
    parameters:
      h: {{dist: {{kind: bernoulli, p: {P_H}}}, assumption: the hypothesis}}
      g: {{dist: {{kind: bernoulli, p: 0.5}}, assumption: "a rival, independent of h"}}
    state: {{seen: {{init: false}}, noise: {{init: false}}}}
    processes:
      - {{kind: event, name: signal, rate: "{RATE_H} if h else {RATE_NOT_H}", max_count: 1,
         set: {{seen: "true"}}}}
      - {{kind: event, name: chatter, rate: 0.1, max_count: 1, set: {{noise: "true"}}}}
    outcomes:
      - {{kind: probability, name: h_true, when: h}}
      - {{kind: probability, name: g_true, when: g}}
    indicators:
      - {{name: signal_seen, when: seen, by: {BY}}}
      - {{name: noise_seen, when: noise, by: {BY}}}
    """


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ind") / "run"
    sim.run(model(SIGNAL, horizon=10, version="1.1"), branches=5000, seed=5, out=out)
    return out


def test_an_indicator_built_with_a_known_likelihood_ratio(run: Path) -> None:
    result = indicators(run, "h_true")
    top = result.rows[0]
    assert top["indicator"] == "signal_seen" and top["against"] == "not h_true"
    n1, n0 = int(top["n_h"]), int(top["n_against"])
    assert within(float(top["p_given_h"]), P1, math.sqrt(P1 * (1 - P1) / n1))
    assert within(float(top["p_given_against"]), P0, math.sqrt(P0 * (1 - P0) / n0))
    # ln LR has the Katz standard error sqrt((1 - p1)/(n1 p1) + (1 - p0)/(n0 p0))
    se = math.sqrt((1 - P1) / (n1 * P1) + (1 - P0) / (n0 * P0))
    assert within(math.log(float(top["likelihood_ratio"])), math.log(P1 / P0), se)
    assert float(top["lr_ci_low"]) < P1 / P0 < float(top["lr_ci_high"])
    assert top["lr_method"] == "katz_log"
    # the odds identity: posterior odds = prior odds x LR = P(H | I) / P(not H | I)
    assert float(top["posterior_odds"]) == pytest.approx(
        float(top["prior_odds"]) * float(top["likelihood_ratio"])
    )
    noise = result.rows[1]
    assert noise["indicator"] == "noise_seen"
    assert float(noise["lr_ci_low"]) < 1 < float(noise["lr_ci_high"])
    assert result.hypotheses[0]["prior"] == pytest.approx(n1 / 5000)


def test_the_katz_interval_by_hand() -> None:
    ratio = likelihood_ratio(30, 100, 10, 100)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 10 - 1 / 100)
    assert ratio.estimate == pytest.approx(3.0)
    assert ratio.low == pytest.approx(3 * math.exp(-1.959964 * se), rel=1e-5)
    assert ratio.high == pytest.approx(3 * math.exp(1.959964 * se), rel=1e-5)
    zero = likelihood_ratio(0, 50, 5, 50)
    assert zero.method == "katz_log_haldane"
    assert zero.estimate == pytest.approx((0.5 / 50.5) / (5.5 / 50.5))
    assert likelihood_ratio(3, 0, 1, 5).estimate is None


def test_competing_hypotheses_give_the_ach_matrix(run: Path) -> None:
    result = indicators(run, "h_true", against=["g_true", "h_true=false"])
    assert result.competing
    assert [h["hypothesis"] for h in result.hypotheses] == ["h_true", "g_true", "h_true=false"]
    matrix = result.matrix()
    assert list(matrix.columns) == ["h_true", "g_true", "h_true=false"]
    assert list(matrix.index) == ["signal_seen", "noise_seen"]
    # against its complement, the ACH row equals the one-hypothesis row
    single = indicators(run, "h_true").rows[0]
    row = next(r for r in result.rows if r["against"] == "h_true=false" and
               r["indicator"] == "signal_seen")  # fmt: skip
    assert row["likelihood_ratio"] == single["likelihood_ratio"] and row["overlap"] == 0
    g = next(r for r in result.rows if r["against"] == "g_true" and r["indicator"] == "signal_seen")
    assert g["overlap"] > 0
    assert matrix.loc["signal_seen", "h_true"] == single["p_given_h"]


def test_the_command_prints_every_format(run: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["indicators", str(run), "--hypothesis", "h_true"])
    assert table.exit_code == 0, table.output
    assert "most diagnostic first" in table.output and "Katz log" in table.output
    data = json.loads(runner.invoke(app, ["indicators", str(run), "--hypothesis", "h_true",
                                          "-f", "json"]).output)  # fmt: skip
    assert data["indicators"][0]["indicator"] == "signal_seen"
    csv = runner.invoke(app, ["indicators", str(run), "--hypothesis", "h_true", "-f", "csv"])
    assert csv.output.splitlines()[0].startswith("indicator,hypothesis,against,p_given_h,")
    ach = runner.invoke(
        app, ["indicators", str(run), "--hypothesis", "h_true", "--against", "g_true",
              "-f", "markdown"]
    )  # fmt: skip
    assert "| indicator | h_true | g_true | LR h_true : g_true | diagnosticity |" in ach.output
    assert "share branches" in ach.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hypothesis", "h_tru"], "(did you mean 'h_true'?)"),
        (["--hypothesis", "h_true", "--indicator", "nois_seen"], "did you mean 'noise_seen'"),
        (["--hypothesis", "h_true@soon"], "expected an ISO date"),
    ],
)
def test_bad_hypotheses_and_indicators_exit_2(run: Path, args: list[str], message: str) -> None:
    out = CliRunner().invoke(app, ["indicators", str(run), *args])
    assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output


def test_a_run_without_indicators_needs_them_named(tmp_path: Path) -> None:
    m = model(SIGNAL.split("    indicators:", maxsplit=1)[0], horizon=10, version="1.1")
    result = sim.run(m, branches=50, seed=1)
    with pytest.raises(UsageError, match="declares no indicators"):
        indicators(result, "h_true")
    named = indicators(result, "h_true", signposts=["g_true"])
    assert named.rows[0]["indicator"] == "g_true"
