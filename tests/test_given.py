"""Indicators in scenario files and `sim given`: conditioning stored branches on observations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from _models import model, within
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.engine.simpy import run_branches
from sim.errors import ScenarioError, UsageError

RATE_A, RATE_B, HORIZON = 0.1, 0.05, 12.0
TWO_EVENTS = f"""\
    parameters:
      rate_a: {{value: {RATE_A}, assumption: test}}
      rate_b: {{value: {RATE_B}, assumption: test}}
    state:
      a: {{init: false}}
      b: {{init: false}}
    processes:
      - {{kind: event, name: ev_a, rate: rate_a, max_count: 1, set: {{a: "true"}}}}
      - {{kind: event, name: ev_b, rate: rate_b, max_count: 1, set: {{b: "true"}}}}
    outcomes:
      - {{kind: probability, name: b_happens, when: b}}
      - {{kind: time_to, name: time_to_a, when: a}}
    indicators:
      - {{name: a_seen, when: a, by: 6, doc: A happened}}
    """
START = ", start: 2025-01-01"


@pytest.fixture(scope="module")
def two_events() -> sim.RunResult:
    """4,000 branches of two independent Poisson events, kept in memory."""
    m = model(TWO_EVENTS, horizon=HORIZON, time=START, version="1.1")
    return sim.run(m, branches=4000, seed=11)


def _row(posterior: sim.Posterior, outcome: str) -> dict[str, object]:
    return dict(next(r for r in posterior.rows if r["outcome"] == outcome))


# --- indicators in the branch table ------------------------------------------------------------


def test_an_indicator_column_holds_the_first_time_its_condition_held() -> None:
    m = model(
        """\
        state: {x: {init: 0}}
        processes:
          - {kind: schedule, name: bump, at: [3, 5], set: {x: x + 1}}
        outcomes: [{kind: value, name: x_end, expr: x}]
        indicators:
          - {name: first_bump, when: x >= 1, by: 2}
          - {name: second_bump, when: x >= 2}
          - {name: never, when: x >= 3}
        """,
        version="1.1",
    )
    columns = run_branches(m, 0, 0, 1)
    assert [c.name for c in m.columns][-3:] == [
        "indicator__first_bump", "indicator__second_bump", "indicator__never"
    ]  # fmt: skip
    assert columns["indicator__first_bump"][0] == 3.0
    assert columns["indicator__second_bump"][0] == 5.0
    assert math.isnan(columns["indicator__never"][0])
    result = sim.run(m, branches=3)
    batch = sim.run(m, branches=3, engine="batch")
    assert batch.summary["indicators"] == result.summary["indicators"]
    entry = result.summary["indicators"]["first_bump"]
    assert (entry["by"], entry["estimate"], entry["when"]) == (2.0, 0.0, "x >= 1")
    assert result.summary["indicators"]["second_bump"]["estimate"] == 1.0


def test_indicators_are_format_1_1_and_checked_with_their_places() -> None:
    body = """\
        sources: [{id: memo, title: Memo}]
        state: {x: {init: 0}}
        outcomes: [{kind: value, name: x_end, expr: x}]
        indicators:
          - {name: up, when: x + 1}
          - {name: up, when: x > 1, source: {ref: mem, quote: q}}
          - {name: late, when: x > 1, by: 20}
        """
    with pytest.raises(ScenarioError) as caught:
        model(body, version="1.1")
    messages = [str(p) for p in caught.value.problems]
    assert any(":10:" in m and "indicators[0].when" in m and "(bool)" in m for m in messages)
    assert any("indicators[1].name: duplicate indicator name 'up'" in m for m in messages)
    assert any(
        "indicators[1].source.ref: unknown source 'mem' (did you mean 'memo'?)" in m
        for m in messages
    )
    assert any("indicators[2].by" in m and "after the horizon" in m for m in messages)
    with pytest.raises(ScenarioError, match=r"indicators: `indicators` is format 1\.1"):
        model(body.replace("x + 1", "x > 0").replace("up, when: x > 1", "up2, when: x > 1")
              .replace("ref: mem", "ref: memo").replace("by: 20", "by: 2"))  # fmt: skip


def test_validate_sources_finds_each_indicator_quote(tmp_path: Path) -> None:
    (tmp_path / "memo.txt").write_text("Watch for a second drill near the border.\n")
    text = (
        "sim: 1.1\nname: s\ntitle: S\ndescription: D.\ntime: {unit: month, horizon: 10}\n"
        "sources: [{id: memo, title: Memo, file: memo.txt}]\n"
        "state: {x: {init: 0}}\n"
        "outcomes: [{kind: value, name: x_end, expr: x}]\n"
        "indicators:\n"
        "  - {name: drill, when: x > 1, source: {ref: memo, quote: a second drill}}\n"
        "  - {name: base, when: x > 2, source: {ref: memo, quote: a permanent base}}\n"
    )
    (tmp_path / "s.yaml").write_text(text)
    out = CliRunner().invoke(app, ["validate", "--sources", str(tmp_path / "s.yaml")])
    assert out.exit_code == 2
    assert out.output.strip() == (
        f"{tmp_path / 's.yaml'}:11:58: indicators[1].source.quote: the quote is not in "
        "memo.txt (white space aside)"
    )


# --- conditioning ------------------------------------------------------------------------------


@pytest.mark.parametrize("seen", ["a_seen", "a_seen=false", "time_to_a@2025-04-01"])
def test_observing_one_independent_event_leaves_the_other_unchanged(
    two_events: sim.RunResult, seen: str
) -> None:
    posterior = sim.given(two_events, [seen])
    row = _row(posterior, "b_happens")
    expected = 1 - math.exp(-RATE_B * HORIZON)
    n = row["posterior_n"]
    assert isinstance(n, int) and n == posterior.kept > 500
    assert within(float(row["posterior"]), expected, math.sqrt(expected * (1 - expected) / n))  # type: ignore[arg-type]


def test_the_observed_indicator_is_certain_and_its_prior_is_the_kept_share(
    two_events: sim.RunResult,
) -> None:
    posterior = sim.given(two_events, ["a_seen"])
    row = _row(posterior, "a_seen")
    assert row["posterior"] == 1.0
    assert row["prior"] == posterior.kept / posterior.branches
    p = 1 - math.exp(-RATE_A * 6)
    assert within(posterior.kept / posterior.branches, p, math.sqrt(p * (1 - p) / 4000))
    assert posterior.kept_ci_low is not None and posterior.kept_ci_low < p


def test_a_trigger_whose_cause_is_observed_has_the_analytic_posterior(tmp_path: Path) -> None:
    # cause: Poisson(rate); effect: an exponential delay (mean m) after it. Given that the
    # cause came by t0, P(effect by H) = E[1 - exp(-(H - tau) / m) | tau <= t0].
    rate, mean, t0, horizon = 0.2, 6.0, 3.0, 12.0
    m = model(
        f"""\
        parameters: {{rate: {{value: {rate}, assumption: t}}, m: {{value: {mean}, assumption: t}}}}
        state: {{cause: {{init: false}}, effect: {{init: false}}}}
        processes:
          - {{kind: event, name: c, rate: rate, max_count: 1, set: {{cause: "true"}}}}
          - kind: trigger
            name: e
            when: cause
            delay: {{kind: exponential, mean: {mean}}}
            set: {{effect: "true"}}
        outcomes: [{{kind: probability, name: effect_by_end, when: effect}}]
        indicators: [{{name: cause_seen, when: cause}}]
        """,
        horizon=horizon,
        version="1.1",
    )
    result = sim.run(m, branches=6000, seed=3, out=tmp_path / "run")
    posterior = sim.given(tmp_path / "run", [f"cause_seen@{t0:g}"])
    k = rate - 1 / mean
    tail = rate * math.exp(-horizon / mean) * (1 - math.exp(-k * t0)) / k
    expected = 1 - tail / (1 - math.exp(-rate * t0))
    row = _row(posterior, "effect_by_end")
    n = posterior.kept
    assert within(float(row["posterior"]), expected, math.sqrt(expected * (1 - expected) / n))  # type: ignore[arg-type]
    assert row["ci_method"] == "wilson" and row["posterior_n"] == n
    assert result.manifest["horizon"] == horizon


def test_a_probability_outcome_is_observed_at_its_deadline_only(two_events: sim.RunResult) -> None:
    kept = sim.given(two_events, ["b_happens=false@2026-01-01"]).kept
    column = two_events.table.column("b_happens").to_numpy(zero_copy_only=False)
    assert kept == int((~column).sum())
    with pytest.raises(UsageError, match="records only whether it happened by its deadline"):
        sim.given(two_events, ["b_happens@2025-06-01"])


def test_few_kept_branches_say_how_many_a_run_would_need(two_events: sim.RunResult) -> None:
    posterior = sim.given(two_events, ["a_seen"], min_kept=10_000)
    assert not posterior.enough
    share = posterior.kept / posterior.branches
    assert posterior.needed_branches == math.ceil(10_000 / share)
    assert posterior.warning is not None and f"{posterior.needed_branches:,}" in posterior.warning
    data = posterior.to_dict()
    assert data["kept"] == posterior.kept and data["warning"] == posterior.warning
    frame = posterior.to_pandas()
    assert list(frame["outcome"]) == ["b_happens", "time_to_a", "a_seen"]


@pytest.mark.parametrize(
    ("observed", "message"),
    [
        ("a_sen", "no indicator or probability, time_to or first_of outcome 'a_sen' (did you"),
        ("a_seen=maybe", "expected true or false after '=', got 'maybe'"),
        ("a_seen@soon", "expected an ISO date (2026-01-01) or a time after '@', got 'soon'"),
        ("a_seen@2027-01-01", "is after the horizon 12"),
        ("a seen", "expected NAME[=true|false][@DATE|TIME]"),
        ("a_seen@0.0001", "no branch of"),
    ],
)
def test_bad_observations_are_one_line_and_exit_2(
    tmp_path: Path, two_events: sim.RunResult, observed: str, message: str
) -> None:
    m = model(TWO_EVENTS, horizon=HORIZON, time=START, version="1.1")
    sim.run(m, branches=200, seed=1, out=tmp_path / "run")
    out = CliRunner().invoke(app, ["given", str(tmp_path / "run"), "--observed", observed])
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_given_prints_every_format(tmp_path: Path) -> None:
    m = model(TWO_EVENTS, horizon=HORIZON, time=START, version="1.1")
    sim.run(m, branches=300, seed=1, out=tmp_path / "run")
    runner = CliRunner()
    args = ["given", str(tmp_path / "run"), "--observed", "a_seen"]
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).output)
    assert data["observations"] == ["a_seen"] and data["branches"] == 300
    csv = runner.invoke(app, [*args, "-f", "csv"]).output.splitlines()
    assert csv[0].startswith("outcome,category,kind,measure,prior,") and len(csv) == 4
    markdown = runner.invoke(app, [*args, "-f", "markdown"]).output
    assert "| b_happens | probability | proportion |" in markdown
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "branches kept" in table.output


def test_run_given_goes_on_until_the_posterior_is_precise(tmp_path: Path) -> None:
    m = model(TWO_EVENTS, horizon=HORIZON, time=START, version="1.1")
    scenario = tmp_path / "two.yaml"
    scenario.write_text(m.source)
    out = CliRunner().invoke(
        app,
        ["run", str(scenario), "-n", "200", "-s", "2", "-o", str(tmp_path / "r"), "-q",
         "--given", "a_seen=false@3", "--target-ci", "0.03"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "Given a_seen=false@3" in out.output and "stopped: target_ci reached" in out.output
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["given"] == ["a_seen=false@3"] and len(manifest["rounds"]) > 1
    posterior = sim.given(tmp_path / "r", ["a_seen=false@3"])
    row = _row(posterior, "b_happens")
    half = (float(row["posterior_ci_high"]) - float(row["posterior_ci_low"])) / 2  # type: ignore[arg-type]
    assert half <= 0.03
    first_round = sim.given(sim.run(m, branches=200, seed=2), ["a_seen=false@3"])
    low, high = _row(first_round, "b_happens")["posterior_ci_low"], _row(
        first_round, "b_happens"
    )["posterior_ci_high"]
    assert (float(high) - float(low)) / 2 > 0.03  # type: ignore[arg-type]


def test_rows_of_the_indicator_summary_match_the_columns(two_events: sim.RunResult) -> None:
    first = two_events.table.column("indicator__a_seen").to_numpy()
    entry = two_events.summary["indicators"]["a_seen"]
    assert entry["count"] == int(np.sum(first <= 6)) and entry["date"] == "2025-07-03"


# --- first_of categories as observations and hypotheses ----------------------------------------

RACE = f"""\
    parameters:
      rate_a: {{value: {RATE_A}, assumption: test}}
      rate_b: {{value: {RATE_B}, assumption: test}}
    state:
      a: {{init: false}}
      b: {{init: false}}
    processes:
      - {{kind: event, name: ev_a, rate: rate_a, max_count: 1, set: {{a: "true"}}}}
      - {{kind: event, name: ev_b, rate: rate_b, max_count: 1, set: {{b: "true"}}}}
    outcomes:
      - {{kind: first_of, name: first, conditions: {{a: a, b: b}}}}
      - {{kind: probability, name: b_happens, when: b}}
    indicators:
      - {{name: a_seen, when: a, by: 6}}
    """


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("race") / "run"
    sim.run(model(RACE, horizon=HORIZON, version="1.1"), branches=4000, seed=12, out=out)
    return out


def test_a_first_of_category_is_observed_by_its_label(race: Path) -> None:
    posterior = sim.given(race, ["first=a"])
    total = RATE_A + RATE_B
    p = RATE_A / total * (1 - math.exp(-total * HORIZON))
    assert within(posterior.kept / posterior.branches, p, math.sqrt(p * (1 - p) / 4000))
    rows = {r["category"]: r for r in posterior.rows if r["outcome"] == "first"}
    assert rows["a"]["posterior"] == 1.0 and rows["b"]["posterior"] == 0.0


def test_first_of_categories_are_competing_hypotheses(race: Path) -> None:
    # Given that A came first (by the horizon), its time is the first of the two events,
    # exponential at rate_a + rate_b and below the horizon: P(A by 6 | A first) is
    # (1 - exp(-6 L)) / (1 - exp(-H L)).
    result = sim.indicators(race, "first=a", against=["first=b"])
    (row,) = result.rows
    total = RATE_A + RATE_B
    expected = (1 - math.exp(-6 * total)) / (1 - math.exp(-HORIZON * total))
    h = next(x for x in result.likelihoods if x["hypothesis"] == "first=a")
    n = int(h["n_h"])
    assert within(float(h["p_given_h"]), expected, math.sqrt(expected * (1 - expected) / n))
    assert row["indicator"] == "a_seen" and not row["overlap"]


@pytest.mark.parametrize(
    ("observed", "message"),
    [
        ("first", "'first' is a first_of outcome: write first=LABEL with a label of a, b, none"),
        ("first=c", "with a label of a, b, none, got 'c'"),
        ("first=a@3", "records only which condition held first by its deadline"),
    ],
)
def test_bad_first_of_observations_are_one_line_and_exit_2(
    race: Path, observed: str, message: str
) -> None:
    out = CliRunner().invoke(app, ["given", str(race), "--observed", observed])
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1
