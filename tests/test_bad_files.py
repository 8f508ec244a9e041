"""Bad scenario files through `sim validate`: exit 2, no traceback, one located line each.

Each case gives the file text, the line of the problem, where on that line it is (a
fragment whose first character is the column, or the column itself), the path printed and
a fragment of the message. The expected prefix is exact: ``FILE:LINE:COL: PATH:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from _models import billion_laughs
from typer.testing import CliRunner

from sim.cli import app

HEAD = """\
sim: 1
name: bad
title: Bad
description: A file with a problem.
time: {unit: month, horizon: 120}
"""  # lines 1-5
STATE = "state:\n  x: {init: 0}\n  flag: {init: false}\n"  # lines 6-8 after HEAD
OUT = "outcomes:\n  - {kind: value, name: v, expr: x}\n"  # lines 9-10 after HEAD + STATE
PARAM = "parameters:\n  p: {value: 1, assumption: a guess}\n"
BODY = HEAD + STATE + OUT  # a valid file of 10 lines


def processes(*items: str) -> str:
    """A valid file with these processes from line 12 on."""
    return BODY + "processes:\n" + "".join(f"  - {item}\n" for item in items)


@dataclass(frozen=True)
class Case:
    text: str
    line: int
    at: str | int  # the fragment that starts at the column, or the column
    path: str
    message: str
    ext: str = "yaml"


FLOW = "kind: flow\n    name: pipe\n    arrivals: {every: 1}\n    stages:\n"
CASES = {
    "yaml_syntax": Case(HEAD + "parameters: {p: [1, 2}\n", 6, "}", "(syntax)", "expected ','"),
    "json_syntax": Case(
        '{"sim": 1,\n "name": "bad",,\n}\n', 2, 16, "(syntax)", "Expecting property name", "json"
    ),
    "json_unknown_field": Case(
        '{"sim": 1, "name": "bad", "title": "B", "description": "D",\n'
        ' "time": {"unit": "month", "horizon": 12, "horizn": 3},\n'
        ' "outcomes": [{"kind": "value", "name": "v", "expr": "1"}]}\n',
        2,
        '"horizn"',
        "time.horizn",
        "unknown field 'horizn' (did you mean 'horizon'?)",
        "json",
    ),
    "unknown_field": Case(
        processes("{kind: event, name: e, rate: 1, rat: 2, set: {x: 1}}"),
        12,
        "rat:",
        "processes[0].rat",
        "unknown field 'rat' (did you mean 'rate'?)",
    ),
    "missing_field": Case(
        processes("{kind: event, name: e, set: {x: 1}}"),
        12,
        "{",
        "processes[0]",
        "missing field 'rate'",
    ),
    "wrong_process_kind": Case(
        processes("{kind: evnt, name: e, rate: 1, set: {x: 1}}"),
        12,
        "evnt",
        "processes[0].kind",
        "unknown kind 'evnt'; expected one of: periodic, event, trigger, schedule, flow",
    ),
    "wrong_distribution_kind": Case(
        BODY + "parameters:\n  p: {dist: {kind: gauss, mean: 1, sd: 1}, assumption: a}\n",
        12,
        "gauss",
        "parameters.p.dist.kind",
        "unknown kind 'gauss'; expected one of: fixed, uniform, normal,",
    ),
    "unknown_name_in_expression": Case(
        processes('{kind: event, name: e, rate: "0.1 * pressur", set: {x: 1}}'),
        12,
        "pressur",
        "processes[0].rate",
        "unknown name 'pressur'",
    ),
    "attribute_access": Case(
        processes('{kind: event, name: e, rate: "x.real", set: {x: 1}}'),
        12,
        "real",
        "processes[0].rate",
        "attributes are not allowed",
    ),
    "unlisted_function": Case(
        processes('{kind: event, name: e, rate: "round(x)", set: {x: 1}}'),
        12,
        "round",
        "processes[0].rate",
        "'round' is an unknown function",
    ),
    "power_tower": Case(
        processes('{kind: event, name: e, rate: "9**9**9", set: {x: 1}}'),
        12,
        "9**",
        "processes[0].rate",
        "overflows",
    ),
    "bool_rate": Case(
        processes("{kind: event, name: e, rate: true, set: {x: 1}}"),
        12,
        "true",
        "processes[0].rate",
        "expected a number, got a condition (bool)",
    ),
    "number_condition": Case(
        HEAD
        + "state:\n  integration: {init: 0}\n"
        + "outcomes:\n  - {kind: value, name: v, expr: integration}\n"
        + "processes:\n  - {kind: trigger, name: g, when: integration, set: {integration: 1}}\n",
        11,
        "integration,",
        "processes[0].when",
        "expected a condition (bool), got a number",
    ),
    "assign_parameter": Case(
        processes("{kind: periodic, name: e, every: 1, set: {p: 2}}") + PARAM,
        12,
        "p: 2",
        "processes[0].set.p",
        "cannot assign to parameter 'p'",
    ),
    "unknown_state_in_set": Case(
        processes("{kind: periodic, name: e, every: 1, set: {y: 2}}"),
        12,
        "y: 2",
        "processes[0].set.y",
        "unknown state variable 'y'",
    ),
    "set_wrong_type": Case(
        processes('{kind: periodic, name: e, every: 1, set: {flag: "x + 1"}}'),
        12,
        "x + 1",
        "processes[0].set.flag",
        "state 'flag' is true/false, got a number",
    ),
    "no_source_no_assumption": Case(
        BODY + "parameters:\n  p: {value: 1}\n",
        12,
        "{",
        "parameters.p",
        "needs a `source` (a citation) or an `assumption`",
    ),
    "source_and_assumption": Case(
        BODY
        + "sources:\n  - {id: s1, title: S}\n"
        + "parameters:\n  p: {value: 1, assumption: a, source: {ref: s1, quote: q}}\n",
        14,
        "a, source",
        "parameters.p.assumption",
        "give either `source` or `assumption`, not both",
    ),
    "unknown_source_id": Case(
        BODY
        + "sources:\n  - {id: s1, title: S}\n"
        + "parameters:\n  p: {value: 1, source: {ref: s2, quote: q}}\n",
        14,
        "s2",
        "parameters.p.source.ref",
        "unknown source 's2'; declared sources: s1",
    ),
    "parameter_and_state_share_a_name": Case(
        HEAD + "parameters:\n  x: {value: 1, assumption: a}\n" + STATE + OUT,
        9,
        "x:",
        "state.x",
        "name 'x' is already a parameter",
    ),
    "duplicate_process_name": Case(
        processes(
            "{kind: periodic, name: e, every: 1, set: {x: 2}}",
            "{kind: periodic, name: e, every: 2, set: {x: 3}}",
        ),
        13,
        "e,",
        "processes[1].name",
        "duplicate process name 'e' (processes[0])",
    ),
    "duplicate_key": Case(BODY + "title: Again\n", 11, 1, "title", "duplicate key 'title'"),
    "python_tag": Case(
        BODY + "stop_when: !!python/object/apply:os.system ['true']\n",
        11,
        "!!",
        "stop_when",
        "tag '!!python/object/apply:os.system' is not allowed",
    ),
    "alias_bomb": Case(billion_laughs(), 3, 40, "e[0][0][8]", "more than 1000 aliases"),
    # A constraint on a field points at that field, not at the mapping that holds it.
    "beta_a_not_positive": Case(
        BODY + "parameters:\n  p: {dist: {kind: beta, a: 0, b: 2}, assumption: a}\n",
        12,
        "0,",
        "parameters.p.dist.a",
        "a must be > 0, got 0",
    ),
    "beta_a_negative_in_block_style": Case(
        BODY + "parameters:\n  p:\n    dist:\n      kind: beta\n      a: -1\n      b: 2\n"
        "    assumption: a\n",
        15,
        "-1",
        "parameters.p.dist.a",
        "a must be > 0, got -1",
    ),
    "uniform_low_not_below_high": Case(
        BODY + "parameters:\n  p: {dist: {kind: uniform, low: 2, high: 2}, assumption: a}\n",
        12,
        "2}",
        "parameters.p.dist.high",
        "low must be < high",
    ),
    "impossible_quantiles": Case(
        BODY + "parameters:\n  p: {dist: {kind: lognormal, p5: 10, p95: 1}, assumption: a}\n",
        12,
        "1}",
        "parameters.p.dist.p95",
        "quantiles must increase with their levels",
    ),
    "normal_sd_zero": Case(
        BODY + "parameters:\n  p: {dist: {kind: normal, mean: 1, sd: 0}, assumption: a}\n",
        12,
        "0}",
        "parameters.p.dist.sd",
        "sd must be > 0, got 0",
    ),
    "triangular_mode_outside": Case(
        BODY + "parameters:\n  p: {dist: {kind: triangular, low: 0, mode: 5, high: 2}, "
        "assumption: a}\n",
        12,
        "5,",
        "parameters.p.dist.mode",
        "mode must be within [low, high]",
    ),
    "choice_negative_weight": Case(
        BODY + "parameters:\n  p: {dist: {kind: choice, values: [1, 2], weights: [1, -1]}, "
        "assumption: a}\n",
        12,
        "[1, -1]",
        "parameters.p.dist.weights",
        "weights must be >= 0, got -1",
    ),
    "bernoulli_p_above_one": Case(
        BODY + "parameters:\n  p: {dist: {kind: bernoulli, p: 1.5}, assumption: a}\n",
        12,
        "1.5",
        "parameters.p.dist.p",
        "p must be within [0, 1], got 1.5",
    ),
    "horizon_zero": Case(
        HEAD.replace("horizon: 120", "horizon: 0") + STATE + OUT,
        5,
        "0}",
        "time.horizon",
        "horizon must be > 0, got 0",
    ),
    "periodic_every_zero": Case(
        processes("{kind: periodic, name: e, every: 0, set: {x: 1}}"),
        12,
        "0,",
        "processes[0].every",
        "every must be > 0, got 0",
    ),
    "state_min_above_max": Case(
        HEAD + OUT + "state:\n  x: {init: 0, min: 3, max: 1}\n",
        9,
        "1}",
        "state.x.max",
        "min must be <= max, got min=3, max=1",
    ),
    "date_without_start": Case(
        HEAD + STATE + "outcomes:\n  - {kind: probability, name: o, when: flag, by: 2026-01-01}\n",
        10,
        "2026",
        "outcomes[0].by",
        "the date 2026-01-01 needs time.start",
    ),
    "by_after_horizon": Case(
        HEAD + STATE + "outcomes:\n  - {kind: probability, name: o, when: flag, by: 150}\n",
        10,
        "150",
        "outcomes[0].by",
        "by 150 is after the horizon 120",
    ),
    "variant_unknown_parameter": Case(
        BODY + PARAM + "variants:\n  low: {parameters: {q: 0.5}}\n",
        14,
        "q:",
        "variants.low.parameters.q",
        "unknown parameter 'q'",
    ),
    "flow_outcome_unknown_stage": Case(
        HEAD
        + STATE
        + "processes:\n  - "
        + FLOW
        + "      - {name: make, duration: 1}\n"
        + "outcomes:\n  - {kind: flow, name: o, flow: pipe, stage: ship, stat: completed}\n",
        16,
        "ship",
        "outcomes[0].stage",
        "unknown stage 'ship' of flow 'pipe'; stages: make",
    ),
    "capacity_zero": Case(
        processes(FLOW + "      - {name: make, capacity: 0, duration: 1}"),
        16,
        "0,",
        "processes[0].stages[0].capacity",
        "capacity must be >= 1, got 0",
    ),
    "name_not_snake_case": Case(
        HEAD + OUT + "state:\n  x: {init: 0}\n  FlagOn: {init: false}\n",
        10,
        "FlagOn",
        "state.FlagOn",
        "name 'FlagOn' must be snake_case",
    ),
    "reserved_name": Case(
        HEAD + OUT + "state:\n  x: {init: 0}\n  seed: {init: 1}\n",
        10,
        "seed",
        "state.seed",
        "name 'seed' is reserved",
    ),
    "time_unit_typo": Case(
        HEAD.replace("unit: month", "unit: months") + STATE + OUT,
        5,
        "months",
        "time.unit",
        "expected 'day', 'week', 'month', 'quarter' or 'year', got 'months'",
    ),
    "negative_delay": Case(
        processes("{kind: trigger, name: g, when: flag, delay: -2, set: {x: 1}}"),
        12,
        "-2",
        "processes[0].delay",
        "must be >= 0, got -2",
    ),
    "init_reads_state": Case(
        HEAD + OUT + "state:\n  x: {init: 0}\n  y: {init: 'x + 1'}\n",
        10,
        "x + 1",
        "state.y.init",
        "may read parameters only, not state 'x'",
    ),
    "non_mapping_root": Case(
        "- just\n- a list\n", 1, 1, "(root)", "a scenario file must be a mapping, got a list"
    ),
    "empty_file": Case("", 1, 1, "(root)", "got an empty document"),
}


def validate(path: Path) -> tuple[int, str, str]:
    """Run `sim validate PATH`; return the exit code, stdout and stderr."""
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def column(text: str, line: int, at: str | int) -> int:
    """The column of ``at`` on ``line`` of ``text`` (1-based)."""
    if isinstance(at, int):
        return at
    return text.splitlines()[line - 1].index(at) + 1


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_file_gets_one_exact_located_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = tmp_path / f"{name}.{case.ext}"
    path.write_text(case.text, encoding="utf-8")
    code, stdout, stderr = validate(path)
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    col = column(case.text, case.line, case.at)
    prefix = f"{path}:{case.line}:{col}: {case.path}: "
    assert lines[0].startswith(prefix), lines[0]
    assert case.message in lines[0]


def test_two_problems_in_a_file_give_two_lines(tmp_path: Path) -> None:
    text = processes('{kind: event, name: e, rate: "y", set: {x: 1}}').replace(
        "expr: x}", "expr: x.y}"
    )
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, stderr = validate(path)
    assert code == 2
    outcome, rate = column(text, 10, "y}"), column(text, 12, 'y"')
    assert stderr.splitlines() == [
        f"{path}:10:{outcome}: outcomes[0].expr: attributes are not allowed: '.y'",
        f"{path}:12:{rate}: processes[0].rate: unknown name 'y'",
    ]


def test_two_shape_problems_give_two_lines(tmp_path: Path) -> None:
    text = processes(
        "{kind: periodic, name: e, every: 0, set: {x: 1}}",
        "{kind: event, name: f, rate: 1, set: {x: 1}, max_count: 0}",
    )
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, stderr = validate(path)
    assert code == 2
    assert [line.split(": ")[1] for line in stderr.splitlines()] == [
        "processes[0].every",
        "processes[1].max_count",
    ]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    code, stdout, stderr = validate(path)
    assert code == 2
    assert stdout == ""
    assert stderr == f"{path}: no such file\n"
