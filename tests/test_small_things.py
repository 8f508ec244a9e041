"""Smaller things a new user meets: directory names, summaries of analyses, validate warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import invoke
from _runs import write_tiny

import sim
from sim.model.compile import load_model
from sim.montecarlo.directory import default_directory


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


# --- a distribution given to --set names its directory readably --------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("0.9", "tiny__boost=0.9"),
        ("{kind: beta, a: 2, b: 3}", "tiny__boost=beta_a=2_b=3"),
        ("{kind: normal, mean: -1.5, sd: 0.25}", "tiny__boost=normal_mean=-1.5_sd=0.25"),
    ],
)
def test_a_set_value_names_the_directory_readably(scenario: Path, value: str, name: str) -> None:
    model = load_model(scenario, overrides=[("boost", value)])
    assert default_directory(model) == Path("results") / name


def test_a_long_distribution_is_named_by_its_kind_and_a_hash(scenario: Path) -> None:
    value = "{kind: choice, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], weights: [1, 2, 3, 4, 5, 6]}"
    model = load_model(scenario, overrides=[("boost", value)])
    name = default_directory(model).name
    assert name.startswith("tiny__boost=choice-") and len(name) < 50
    other = load_model(scenario, overrides=[("boost", value.replace("6]}", "7]}"))])
    assert default_directory(other).name != name


# --- sim summary of a sweep, a comparison, a sensitivity analysis --------------------------------


def test_summary_prints_a_sweep_directory(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    sim.sweep(scenario, sim.Grid({"pressure": [0.2, 0.8]}), branches=20, out=out)
    shown = invoke("summary", out)
    assert shown.exit_code == 0, shown.output
    assert "tiny: 2 points x 20 branches" in shown.stdout and "pressure" in shown.stdout
    rows = invoke("summary", out, "-f", "csv").stdout.splitlines()
    assert rows[0].startswith("point,pressure,finished,") and len(rows) == 3
    assert [p["point"] for p in json.loads(invoke("summary", out, "-f", "json").stdout)] == [0, 1]


def test_summary_prints_a_comparison_and_a_sensitivity_directory(
    scenario: Path, tmp_path: Path
) -> None:
    sim.compare_variants(scenario, "all", branches=20, out=tmp_path / "c")
    shown = invoke("summary", tmp_path / "c")
    assert shown.exit_code == 0 and "Compared with baseline" in shown.stdout
    sim.sensitivity(scenario, method="morris", n=2, out=tmp_path / "m")
    shown = invoke("summary", tmp_path / "m", "-f", "csv")
    assert shown.exit_code == 0 and shown.stdout.startswith("outcome,parameter,mu,")


def test_one_branch_is_one_branch(scenario: Path, tmp_path: Path) -> None:
    shown = invoke("run", scenario, "-n", 1, "-o", tmp_path / "one")
    assert "tiny: 1 branch, seed 0" in shown.stdout
    assert "-: no interval from a single branch" in shown.stdout


def test_the_summary_table_names_the_estimator_of_its_times(tmp_path: Path) -> None:
    """Aalen-Johansen where stop_when ends branches (the example's crisis), not Kaplan-Meier."""
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "coin.yaml"
    shown = invoke("run", example, "-n", 200, "-o", tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["outcomes"]["time_to_crisis"]["ci_method"].startswith("aalen_johansen")
    assert "a time's estimate is its Aalen-Johansen median" in shown.stdout


def test_the_summary_table_says_its_units_and_what_a_dash_is(tmp_path: Path) -> None:
    shown = invoke("run", write_tiny(tmp_path), "-n", 30, "-o", tmp_path / "run")
    assert "times in months; a time's estimate is its Aalen-Johansen median" in shown.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    if summary["outcomes"]["time_to_finish"]["estimate"] is None:
        assert "-: not reached by the horizon" in shown.stdout


# --- sim validate warns of a parameter nothing reads and of a variant that changes nothing -------

UNREAD = """\
sim: 1
name: unread
title: Unread
description: A parameter nothing reads, and a variant that changes nothing.
time: {unit: month, horizon: 12}
parameters:
  used: {value: 0.1, assumption: a test}
  idle: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
state:
  hit: {init: false}
processes:
  - {kind: event, name: e, rate: used, set: {hit: "true"}}
outcomes:
  - {kind: probability, name: hit, when: hit}
variants:
  same: {parameters: {used: 0.1}}
  idle_only: {parameters: {idle: 0.5}}
  real: {parameters: {used: 0.2}}
"""


def test_validate_warns_of_what_has_no_effect(tmp_path: Path) -> None:
    path = tmp_path / "unread.yaml"
    path.write_text(UNREAD, encoding="utf-8")
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: ok (unread:")
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"{path}:8:3: parameters.idle: warning: nothing reads parameter 'idle'",
        f"{path}:16:3: variants.same: warning: variant 'same' changes nothing: used is 0.1 "
        "in the baseline too",
        f"{path}:17:3: variants.idle_only: warning: variant 'idle_only' changes only idle, "
        "which nothing reads",
    ]


@pytest.mark.parametrize(
    "process",
    [
        '{kind: event, name: e, rate: 1, draws: {j: {kind: exponential, mean: "size"}}, '
        'set: {x: "x + j"}}',
        '{kind: trigger, name: e, when: "t > 1", delay: {kind: uniform, low: 0, high: "size"}, '
        'set: {x: "1"}}',
        "{kind: flow, name: e, arrivals: {every: 1}, stages: [{name: s, duration: "
        '{kind: exponential, mean: "size + x"}}]}',
        # a field written over two lines (a YAML block): read as the engine reads it
        "kind: trigger\n    name: e\n    when: t > 1\n    delay:\n      kind: exponential\n"
        "      mean: |\n        size +\n        1\n    set: {x: '1'}",
    ],
)
def test_a_parameter_read_by_a_distribution_field_is_read(tmp_path: Path, process: str) -> None:
    path = tmp_path / "read.yaml"
    path.write_text(
        "sim: 1.1\nname: read\ntitle: Read\ndescription: d\ntime: {unit: month, horizon: 6}\n"
        "parameters:\n  size: {value: 2, assumption: a test}\nstate:\n  x: {init: 0}\n"
        f"processes:\n  - {process}\noutcomes:\n  - {{kind: value, name: v, expr: x}}\n"
    )
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_validate_is_quiet_about_a_scenario_without_such_things(scenario: Path) -> None:
    result = invoke("validate", scenario)
    assert result.exit_code == 0 and result.stderr == ""


# --- the markers sim report --readme needs are documented --------------------------------------


def test_the_report_markers_are_documented_where_users_look() -> None:
    from sim.analysis.report import BEGIN, END

    help_text = invoke("report", "--help").stdout
    assert BEGIN in help_text and END in help_text
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "how-to" / "reports.md").read_text(encoding="utf-8")
    assert f"``{BEGIN}``" in page and f"`{END}`" in page


def test_a_marker_mentioned_in_prose_is_not_taken_for_the_marker(tmp_path: Path) -> None:
    from sim.analysis.report import BEGIN, END, replace_section

    text = f"Put `{BEGIN}` and `{END}` in the file.\n{BEGIN}\nold\n{END}\ntail\n"
    assert replace_section(text, "new") == text.replace("\nold\n", "\nnew\n")


# --- the README's first example cites a memo that exists ---------------------------------------


def test_the_first_example_is_a_real_file_whose_quote_is_found() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# coin.yaml\n.*?)```", readme, re.S)
    assert block is not None
    example = root / "docs" / "examples" / "coin.yaml"
    assert example.read_text(encoding="utf-8") == block.group(1)
    assert "sim validate --sources docs/examples/coin.yaml" in readme
    result = invoke("validate", "--sources", example)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(", quotes found\n") and result.stderr == ""


# --- the docs say what is guaranteed and how it is tested ---------------------------------------


def test_the_reliability_page_names_each_guarantee_and_real_tests() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "how-to" / "reliability.md").read_text(encoding="utf-8")
    section = re.search(r"^## Reliability\n(.*?)(?=^## |\Z)", page, re.S | re.M)
    assert section is not None
    text = section.group(1)
    for guarantee in ("Atomic results", "Resumable runs and analyses", "Locked directories",
                      "Safe loading", "No code from files"):  # fmt: skip
        assert f"**{guarantee}." in text, guarantee
    cited = set(re.findall(r"`(tests/test_\w+\.py)`", text))
    assert {"tests/test_faults.py", "tests/test_fuzz.py", "tests/test_locks.py"} <= cited
    assert all((root / path).is_file() for path in cited), cited
