"""Bad files of format 1.1's outputs (outcomes, record): exit 2, one exact located line each.

The cases follow ``test_bad_files``: the file text, the line of the problem, where on that
line it is (a fragment starting at the column, or the column), the printed path and a
fragment of the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_bad_files import BODY, HEAD, STATE, Case, column, validate
from typer.testing import CliRunner

from sim.cli import app

# The fields of these files are format 1.1.
HEAD, BODY = HEAD.replace("sim: 1\n", "sim: 1.1\n"), BODY.replace("sim: 1\n", "sim: 1.1\n")


def outcomes(*items: str, tail: str = "") -> str:
    """A file whose outcomes (from line 11 on) are ``items``, a process ``tick`` on line 9."""
    return (
        HEAD + STATE + "processes: [{kind: periodic, name: tick, every: 1, set: {x: x + 1}}]\n"
        "outcomes:\n" + "".join(f"  - {item}\n" for item in items) + tail
    )


def record(spec: str) -> str:
    """A valid file with ``record: spec`` on line 11."""
    return BODY + f"record: {spec}\n"


CASES = {
    "count_both": Case(
        outcomes("{kind: count, name: c, process: tick, when: flag}"),
        11,
        "{",
        "outcomes[0]",
        "give exactly one of `process` (a process name) and `when` (a condition)",
    ),
    "count_unknown_process": Case(
        outcomes("{kind: count, name: c, process: tik}"),
        11,
        "tik",
        "outcomes[0].process",
        "unknown process 'tik' (did you mean 'tick'?); processes: tick",
    ),
    "count_of_a_flow": Case(
        HEAD + STATE + "processes:\n  - {kind: flow, name: pipe, arrivals: {every: 1}, "
        "stages: [{name: s, duration: 1}]}\noutcomes:\n"
        "  - {kind: count, name: c, process: pipe}\n",
        12,
        "pipe}",
        "outcomes[0].process",
        "process 'pipe' is a flow",
    ),
    "count_when_not_bool": Case(
        outcomes("{kind: count, name: c, when: x + 1}"),
        11,
        "x + 1",
        "outcomes[0].when",
        "expected a condition",
    ),
    "count_by_after_horizon": Case(
        outcomes("{kind: count, name: c, process: tick, by: 200}"),
        11,
        "200",
        "outcomes[0].by",
        "by 200 is after the horizon 120",
    ),
    "time_between_no_to": Case(
        outcomes("{kind: time_between, name: d, from: flag}"),
        11,
        "{",
        "outcomes[0]",
        "missing field 'to'",
    ),
    "time_between_unknown_name": Case(
        outcomes('{kind: time_between, name: d, from: "flg", to: flag}'),
        11,
        "flg",
        "outcomes[0].from",
        "unknown name 'flg'; did you mean 'flag'?",
    ),
    "first_of_one_condition": Case(
        outcomes("{kind: first_of, name: f, conditions: {a: flag}}"),
        11,
        "{a:",
        "outcomes[0].conditions",
        "needs at least 2 item(s), got 1",
    ),
    "first_of_label_none": Case(
        outcomes("{kind: first_of, name: f, conditions: {a: flag, none: flag}}"),
        11,
        "none",
        "outcomes[0].conditions.none",
        "label 'none' is reserved",
    ),
    "first_of_not_a_condition": Case(
        outcomes("{kind: first_of, name: f, conditions: {a: flag, b: x}}"),
        11,
        "x}",
        "outcomes[0].conditions.b",
        "expected a condition",
    ),
    "given_not_a_condition": Case(
        outcomes("{kind: value, name: v, expr: x, given: x * 2}"),
        11,
        "x * 2",
        "outcomes[0].given",
        "expected a condition",
    ),
    "given_column_clash": Case(
        outcomes(
            "{kind: value, name: v, expr: x, given: flag}",
            "{kind: value, name: v__given, expr: x}",
        ),
        11,
        "v,",
        "outcomes[0].name",
        "outcome 'v' needs the column 'v__given', which is also the name of an outcome",
    ),
    "question_not_text": Case(
        outcomes("{kind: value, name: v, expr: x, question: [a]}"),
        11,
        "[a]",
        "outcomes[0].question",
        "expected text, got a list",
    ),
    "record_unknown_variable": Case(
        record("{every: 1, variables: [x, flg]}"),
        11,
        "flg",
        "record.variables[1]",
        "unknown state variable or parameter 'flg' (did you mean 'flag'?)",
    ),
    "record_twice": Case(
        record("{every: 1, variables: [x, x]}"),
        11,
        "x]",
        "record.variables[1]",
        "'x' is recorded twice",
    ),
    "record_every_zero": Case(
        record("{every: 0, variables: [x]}"),
        11,
        "0,",
        "record.every",
        "every must be > 0, got 0",
    ),
    "record_too_many_times": Case(
        record("{every: 0.001, variables: [x]}"),
        11,
        "0.001",
        "record.every",
        "every 0.001 gives 120,001 sample times up to the horizon 120; at most 10,000",
    ),
    "record_nothing": Case(
        record("{every: 1}"),
        11,
        "{",
        "record",
        "record needs `variables` or `expressions` (or both)",
    ),
    "record_expression_clash": Case(
        record("{every: 1, variables: [x], expressions: {x: x * 2}}"),
        11,
        "x: x",
        "record.expressions.x",
        "'x' is also a recorded variable",
    ),
    "record_bad_expression": Case(
        record('{every: 1, expressions: {y: "x +"}}'),
        11,
        41,
        "record.expressions.y",
        "syntax error",
    ),
    "record_in_format_1_0": Case(
        record("{every: 1, variables: [x]}").replace("sim: 1.1", "sim: 1"),
        11,
        "record",
        "record",
        "`record` is format 1.1: declare `sim: 1.1` at the top",
    ),
    "count_in_format_1_0": Case(
        outcomes("{kind: count, name: c, process: tick}").replace("sim: 1.1", "sim: 1"),
        11,
        "count",
        "outcomes[0].kind",
        "the outcome kind 'count' is format 1.1: declare `sim: 1.1` at the top",
    ),
    "question_in_format_1_0": Case(
        outcomes('{kind: value, name: v, expr: x, question: "Why?"}').replace("sim: 1.1", "sim: 1"),
        11,
        "question",
        "outcomes[0].question",
        "`question` is format 1.1: declare `sim: 1.1` at the top",
    ),
    "record_unknown_field": Case(
        record("{every: 1, variable: [x]}"),
        11,
        "variable",
        "record.variable",
        "unknown field 'variable' (did you mean 'variables'?)",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_output_gets_one_exact_located_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(case.text, encoding="utf-8")
    code, stdout, stderr = validate(path)
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    prefix = f"{path}:{case.line}:{column(case.text, case.line, case.at)}: {case.path}: "
    assert lines[0].startswith(prefix), lines[0]
    assert case.message in lines[0]


def test_strict_asks_every_outcome_for_a_question_and_how_it_resolves(tmp_path: Path) -> None:
    text = outcomes(
        '{kind: value, name: a, expr: x, question: "How big?", resolves: "The count."}',
        '{kind: value, name: b, expr: x, question: "How big?"}',
        "{kind: value, name: c, expr: x}",
    )
    path = tmp_path / "strict.yaml"
    path.write_text(text, encoding="utf-8")
    assert validate(path)[0] == 0
    result = CliRunner().invoke(app, ["validate", "--strict", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    b, c = column(text, 12, "{"), column(text, 13, "{")
    assert result.stderr.splitlines() == [
        f"{path}:12:{b}: outcomes[1]: outcome 'b' has no `resolves` (--strict needs "
        "`question` and `resolves` on every outcome)",
        f"{path}:13:{c}: outcomes[2]: outcome 'c' has no `question` and `resolves` (--strict "
        "needs `question` and `resolves` on every outcome)",
    ]
    good = tmp_path / "good.yaml"
    good.write_text(outcomes(text.splitlines()[10].strip()[2:]), encoding="utf-8")
    passed = CliRunner().invoke(app, ["validate", "--strict", str(good)])
    assert passed.exit_code == 0
    assert passed.stdout.endswith(", questions stated\n")
