"""Bad files of format 1.1 through `sim validate`: exit 2, no traceback, one located line each.

The table style of ``test_bad_files``: each case gives its files (``main.yaml`` is the one
validated), the file and line of the problem, where on that line it is (a fragment whose
first character is the column, or the column), the path printed and a fragment of the
message. The expected prefix is exact: ``FILE:LINE:COL: PATH:``; for problems of included
files, FILE is the library where the definition lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_bad_files import column, validate

HEAD = """\
sim: 1.1
name: bad
title: Bad
description: A file with a problem.
time: {unit: month, horizon: 120}
"""  # lines 1-5
STATE = "state:\n  x: {init: 0}\n  flag: {init: false}\n"  # lines 6-8 after HEAD
OUT = "outcomes:\n  - {kind: value, name: v, expr: x}\n"  # lines 9-10 after HEAD + STATE
BODY = HEAD + STATE + OUT  # a valid file of 10 lines
PARAMS = "parameters:\n  p: {value: 1, assumption: a guess}\n"  # lines 11-12 after BODY
UNCERTAIN = (  # lines 11-13 after BODY
    "parameters:\n  p: {dist: {kind: uniform, low: 0, high: 1}, assumption: x}\n"
    "  q: {dist: {kind: beta, a: 2, b: 2}, assumption: x}\n"
)
LIB = "sim: 1.1\nparameters:\n  p: {value: 1, assumption: a guess}\n"  # p on line 3


@dataclass(frozen=True)
class Case:
    main: str
    line: int
    at: str | int
    path: str
    message: str
    file: str = "main.yaml"
    others: dict[str, str] = field(default_factory=dict)


def processes_with(rest: str) -> str:
    """A valid file with one event process (lines 11-12), then ``rest`` from line 13."""
    shock = '  - {kind: event, name: shock, rate: 0.1, set: {x: "x + 1"}}\n'
    return BODY + "processes:\n" + shock + rest


def including(*paths: str, rest: str = "") -> str:
    """A valid main file (10 lines) that includes ``paths`` on line 11, then ``rest``."""
    return BODY + f"include: [{', '.join(paths)}]\n" + rest


CASES = {
    "include_needs_1_1": Case(
        BODY.replace("sim: 1.1", "sim: 1") + "include: [lib.yaml]\n", 11, "include",
        "include", "`include` is format 1.1: declare `sim: 1.1`", others={"lib.yaml": LIB},
    ),
    "include_not_a_list": Case(
        BODY + "include: lib.yaml\n", 11, "lib", "include", "expected a list of file paths",
    ),
    "include_missing_file": Case(
        including("lib.yaml", "nowhere.yaml"), 11, "nowhere", "include[1]",
        "cannot include nowhere.yaml: no such file", others={"lib.yaml": LIB},
    ),
    "include_cycle": Case(
        including("a.yaml"), 2, "main", "include[0]",
        "include cycle: main.yaml -> a.yaml -> main.yaml", file="a.yaml",
        others={"a.yaml": "sim: 1.1\ninclude: [main.yaml]\n"},
    ),
    "include_defined_twice": Case(
        including("a.yaml", "b.yaml"), 3, "p:", "parameters.p",
        "parameter 'p' is defined twice: here and at a.yaml:3:3, both included by main.yaml",
        file="b.yaml", others={"a.yaml": LIB, "b.yaml": LIB},
    ),
    "include_shadowed": Case(
        including("lib.yaml", rest="parameters:\n  p: {value: 2, assumption: mine}\n"), 13, "p:",
        "parameters.p", "parameter 'p' is already defined at lib.yaml:3:3 (included); to "
        "replace it, move this definition under overrides.parameters", others={"lib.yaml": LIB},
    ),
    "include_shadowed_process": Case(
        including("lib.yaml", rest="processes:\n  - {kind: event, name: e, rate: 1, set: {}}\n"),
        13, "{kind", "processes[0]", "process 'e' is already defined at lib.yaml:2:5",
        others={"lib.yaml": "processes:\n  - {kind: event, name: e, rate: 2, set: {}}\n"},
    ),
    "override_of_nothing": Case(
        including("lib.yaml", rest="overrides:\n  parameters:\n    q: {value: 2, assumption: a}\n"),
        14, "q:", "overrides.parameters.q", "nothing to override: no parameter 'q' is included",
        others={"lib.yaml": LIB},
    ),
    "override_unknown_section": Case(
        including("lib.yaml", rest="overrides:\n  parameter:\n    p: {value: 2, assumption: a}\n"),
        13, "parameter", "overrides.parameter",
        "unknown section 'parameter' (did you mean 'parameters'?)", others={"lib.yaml": LIB},
    ),
    "library_with_a_name": Case(
        including("lib.yaml"), 2, 1, "name", "a library cannot set 'name'",
        file="lib.yaml", others={"lib.yaml": "sim: 1.1\nname: lib\n"},
    ),
    "library_unknown_field": Case(
        including("lib.yaml"), 2, 1, "parameter",
        "unknown field 'parameter' (did you mean 'parameters'?)",
        file="lib.yaml", others={"lib.yaml": "sim: 1.1\nparameter: {}\n"},
    ),
    "library_in_other_units": Case(
        including("lib.yaml"), 1, "year", "time.unit",
        "this library counts time in years but main.yaml in months",
        file="lib.yaml", others={"lib.yaml": "time: {unit: year}\n"},
    ),
    "library_error_is_located_in_the_library": Case(
        including("lib.yaml"), 2, "rat:", "processes[0].rat",
        "unknown field 'rat' (did you mean 'rate'?)", file="lib.yaml",
        others={"lib.yaml": "processes:\n  - {kind: event, name: e, rate: 1, rat: 1, set: {}}\n"},
    ),
    "library_expression_error": Case(
        including("lib.yaml"), 2, "y +", "processes[0].rate", "unknown name 'y'", file="lib.yaml",
        others={"lib.yaml": 'processes:\n  - {kind: event, name: e, rate: "y + 1", set: {}}\n'},
    ),
    "library_syntax_error": Case(
        including("lib.yaml"), 1, "}", "(syntax)", "expected ','", file="lib.yaml",
        others={"lib.yaml": "parameters: {p: [1, 2}\n"},
    ),
    # distribution fields that are expressions
    "dist_expression_needs_1_1": Case(
        BODY.replace("sim: 1.1", "sim: 1") + PARAMS
        + '  a: {dist: {kind: exponential, mean: "p"}, assumption: x}\n', 13, '"p"',
        "parameters.a.dist.mean", "an expression in a distribution field is format 1.1",
    ),
    "dist_expression_cycle": Case(
        BODY + PARAMS + '  a: {dist: {kind: exponential, mean: "b"}, assumption: x}\n'
        '  b: {dist: {kind: exponential, mean: "2 * a"}, assumption: x}\n', 13, "{kind",
        "parameters.a.dist", "parameters depend on each other in a cycle: a -> b -> a",
    ),
    "dist_expression_reads_state": Case(
        BODY + PARAMS + '  a: {dist: {kind: exponential, mean: "x + p"}, assumption: x}\n', 13,
        'x + p', "parameters.a.dist.mean", "a distribution may read parameters only, not state 'x'",
    ),
    "dist_expression_unknown_name": Case(
        BODY + "processes:\n  - {kind: trigger, name: tr, when: flag, "
        'delay: {kind: exponential, mean: "2 * slow"}, set: {x: 1}}\n', 12, "slow",
        "processes[0].delay.mean", "unknown name 'slow'",
    ),
    "dist_expression_condition": Case(
        BODY + PARAMS + '  a: {dist: {kind: exponential, mean: "p > 1"}, assumption: x}\n', 13,
        'p >', "parameters.a.dist.mean", "expected a number, got a condition (bool)",
    ),
    "dist_quantile_expression_not_solvable": Case(
        BODY + PARAMS + '  a: {dist: {kind: gamma, p5: "p", p95: 4}, assumption: x}\n', 13,
        "{kind", "parameters.a.dist", "the quantiles of a gamma cannot be expressions",
    ),
    # correlations
    "correlations_need_1_1": Case(
        BODY.replace("sim: 1.1", "sim: 1") + UNCERTAIN + "correlations:\n"
        "  - {between: [p, q], spearman: 0.5}\n", 14, 1, "correlations",
        "`correlations` is format 1.1",
    ),
    "correlation_unknown_parameter": Case(
        BODY + UNCERTAIN + "correlations:\n  - {between: [p, qq], spearman: 0.5}\n", 15, "qq",
        "correlations[0].between[1]", "unknown parameter 'qq' (did you mean 'q'?)",
    ),
    "correlation_of_one_parameter": Case(
        BODY + UNCERTAIN + "correlations:\n  - {between: [p, p], spearman: 0.5}\n", 15, "[p",
        "correlations[0].between", "a correlation needs two parameters, got 'p' twice",
    ),
    "correlation_of_one": Case(
        BODY + UNCERTAIN + "correlations:\n  - {between: [p, q], spearman: 1}\n", 15, "1}",
        "correlations[0].spearman", "spearman must be strictly between -1 and 1, got 1",
    ),
    "correlation_with_a_fixed_parameter": Case(
        BODY + UNCERTAIN + "  r: {value: 2, assumption: x}\ncorrelations:\n"
        "  - {between: [p, r], spearman: 0.5}\n", 16, "r]", "correlations[0].between[1]",
        "parameter 'r' is fixed; only uncertain parameters are correlated",
    ),
    "correlation_with_a_discrete_parameter": Case(
        BODY + UNCERTAIN + "  r: {dist: {kind: poisson, mean: 2}, assumption: x}\ncorrelations:\n"
        "  - {between: [r, p], spearman: 0.5}\n", 16, "r,", "correlations[0].between[0]",
        "'r' is a poisson, which is discrete",
    ),
    "correlation_given_twice": Case(
        BODY + UNCERTAIN + "correlations:\n  - {between: [p, q], spearman: 0.5}\n"
        "  - {between: [q, p], spearman: 0.4}\n", 16, "{", "correlations[1]",
        "the correlation between q and p is given twice (also at",
    ),
    "correlations_that_cannot_hold": Case(
        BODY + UNCERTAIN + "  r: {dist: {kind: uniform, low: 0, high: 1}, assumption: x}\n"
        "correlations:\n  - {between: [p, q], spearman: 0.9}\n"
        "  - {between: [q, r], spearman: 0.9}\n"
        "  - {between: [p, r], spearman: -0.9}\n", 16, "{", "correlations[0]",
        "these correlations cannot hold together (their matrix is not positive definite): "
        "p and q (0.9), q and r (0.9), p and r (-0.9)",
    ),
    # pools of experts
    "pool_needs_1_1": Case(
        BODY.replace("sim: 1.1", "sim: 1") + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 1, dist: {kind: fixed, value: 1}, assumption: x}]}}\n", 12, "pool",
        "parameters.r.dist.kind", "a pool of experts is format 1.1",
    ),
    "pool_expert_weight": Case(
        BODY + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 0, dist: {kind: fixed, value: 1}, assumption: x}]}}\n", 12, "{name",
        "parameters.r.dist.experts[0]", "weight must be > 0, got 0",
    ),
    "pool_expert_twice": Case(
        BODY + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 1, dist: {kind: fixed, value: 1}, assumption: x}, "
        "{name: a, weight: 1, dist: {kind: fixed, value: 2}, assumption: y}]}}\n", 12,
        "{kind: pool", "parameters.r.dist", "expert 'a' is named twice",
    ),
    "pool_expert_without_provenance": Case(
        BODY + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 1, dist: {kind: fixed, value: 1}}]}}\n", 12, "{name",
        "parameters.r.dist.experts[0]", "needs a `source` (a citation) or an `assumption`",
    ),
    "pool_expert_unknown_kind": Case(
        BODY + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 1, dist: {kind: pool, experts: []}, assumption: x}]}}\n", 12,
        "pool, experts: []", "parameters.r.dist.experts[0].dist.kind", "unknown kind 'pool'",
    ),
    "pool_mixing_types": Case(
        BODY + "parameters:\n  r: {dist: {kind: pool, experts: "
        "[{name: a, weight: 1, dist: {kind: fixed, value: 1}, assumption: x}, "
        "{name: b, weight: 1, dist: {kind: bernoulli, p: 0.5}, assumption: y}]}}\n", 12,
        "{kind: pool", "parameters.r.dist", "the experts' distributions mix numbers and true/false",
    ),
    "pool_in_a_delay": Case(
        BODY + "processes:\n  - {kind: trigger, name: tr, when: flag, delay: {kind: pool, "
        "experts: []}, set: {x: 1}}\n", 12, "pool,", "processes[0].delay.kind",
        "unknown kind 'pool'",
    ),
    # variants that change processes
    "variant_unknown_process": Case(
        processes_with("variants:\n  v: {processes: {shok: {enabled: false}}}\n"), 14, "shok",
        "variants.v.processes.shok", "unknown process 'shok' (did you mean 'shock'?)",
    ),
    "variant_process_expression": Case(
        processes_with('variants:\n  v: {processes: {shock: {rate: "0.1 * y"}}}\n'), 14, "y\"",
        "variants.v.processes.shock.rate", "unknown name 'y'",
    ),
    "variant_process_field": Case(
        processes_with("variants:\n  v: {processes: {shock: {every: 2}}}\n"), 14, "every",
        "variants.v.processes.shock.every", "unknown field 'every'",
    ),
    "variant_process_kind": Case(
        processes_with("variants:\n  v: {processes: {shock: {kind: periodic}}}\n"), 14, "kind",
        "variants.v.processes.shock.kind", "a variant cannot change a process's kind",
    ),
    "variant_processes_need_1_1": Case(
        processes_with("variants:\n  v: {processes: {shock: {enabled: false}}}\n").replace(
            "sim: 1.1", "sim: 1"), 14, "shock", "variants.v.processes.shock",
        "a variant's `processes` is format 1.1",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_file_gets_one_exact_located_line(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    files = {"main.yaml": case.main, **case.others}
    for file, text in files.items():
        (tmp_path / file).write_text(text, encoding="utf-8")
    code, stdout, stderr = validate(tmp_path / "main.yaml")
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    col = column(files[case.file], case.line, case.at)
    prefix = f"{tmp_path / case.file}:{case.line}:{col}: {case.path}: "
    assert lines[0].startswith(prefix), lines[0]
    message = case.message.replace("a.yaml:", f"{tmp_path / 'a.yaml'}:")
    message = message.replace("lib.yaml:", f"{tmp_path / 'lib.yaml'}:")
    for name_ in ("main.yaml", "a.yaml", "nowhere.yaml"):
        message = message.replace(f" {name_}", f" {tmp_path / name_}")
    assert message in lines[0], lines[0]
