"""Tests of sim.format.loader: plain data with positions, and every refusal located."""

from __future__ import annotations

import datetime
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from _models import billion_laughs
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import Problem, ScenarioError, SimError
from sim.format.document import MAX_BYTES, Document, Mark, format_path
from sim.format.loader import load_document, parse_document

BLOCK = """\
name: demo
time:
  unit: month
  horizon: 120
processes:
  - name: a
    rate: "2 * x"
  - {name: b, rate: 3}
"""


def problems(text: str, file: str = "s.yaml") -> tuple[Problem, ...]:
    """The problems parse_document raises for *text*."""
    with pytest.raises(ScenarioError) as caught:
        parse_document(text, file)
    return caught.value.problems


def only_problem(text: str, file: str = "s.yaml") -> Problem:
    """The single problem parse_document raises for *text*."""
    (problem,) = problems(text, file)
    return problem


# Positions ------------------------------------------------------------------------------


def test_block_yaml_marks_nested_values() -> None:
    marks = parse_document(BLOCK, "s.yaml").marks
    assert marks[("time", "horizon")] == Mark(4, 12, "", True)
    assert marks[("processes", 0, "rate")] == Mark(7, 11, '"', True)
    assert marks[("processes", 1, "rate")] == Mark(8, 21, "", True)


def test_collection_styles_are_recorded() -> None:
    marks = parse_document(BLOCK, "s.yaml").marks
    assert marks[()].style == "map"
    assert marks[("time",)].style == "map"
    assert marks[("processes",)].style == "seq"
    assert marks[("processes", 1)] == Mark(8, 5, "{", True)


def test_flow_sequence_and_block_scalar_styles() -> None:
    marks = parse_document("a: [1, 'x']\nb: |\n  text\n", "s.yaml").marks
    assert marks[("a",)].style == "["
    assert marks[("a", 1)] == Mark(1, 8, "'", True)
    assert marks[("b",)] == Mark(2, 4, "|", False)


def test_key_marks_point_at_keys() -> None:
    document = parse_document(BLOCK, "s.yaml")
    assert document.key_marks[("time", "horizon")] == Mark(4, 3, "", True)
    assert document.key_marks[("processes", 1, "rate")] == Mark(8, 15, "", True)


def test_json_marks_nested_values() -> None:
    text = '{\n  "a": {"b": [1, "x"]},\n  "c": 2.5\n}'
    document = parse_document(text, "s.json")
    assert document.data == {"a": {"b": [1, "x"]}, "c": 2.5}
    assert document.marks[("a", "b", 1)] == Mark(2, 18, '"', True)
    assert document.marks[("a", "b")] == Mark(2, 14, "[", True)
    assert document.marks[("c",)] == Mark(3, 8, "", True)
    assert document.key_marks[("c",)] == Mark(3, 3, '"', True)


def test_json_with_tab_indentation_keeps_columns() -> None:
    document = parse_document('{\n\t"a": 1\n}', "s.json")
    assert document.marks[("a",)] == Mark(2, 7, "", True)


def test_locate_uses_deepest_known_prefix() -> None:
    document = parse_document(BLOCK, "s.yaml")
    assert document.locate(("time", "missing", 3)) == (3, 3)
    assert document.locate(("nowhere",)) == (1, 1)


def test_offset_inside_plain_scalar() -> None:
    document = parse_document("rate: 2 * x\n", "s.yaml")
    assert document.locate(("rate",), offset=4) == (1, 11)


def test_offset_inside_quoted_scalar_skips_the_quote() -> None:
    document = parse_document("rate: '2 * x'\n", "s.yaml")
    assert document.locate(("rate",), offset=4) == (1, 12)


def test_offset_ignored_where_text_is_not_the_value() -> None:
    document = parse_document('a: "x\\ty"\nb: >\n  x y\n', "s.yaml")
    assert document.marks[("a",)].single_line is False
    assert document.locate(("a",), offset=2) == (1, 4)
    assert document.locate(("b",), offset=2) == (2, 4)


def test_offset_ignored_for_a_missing_child() -> None:
    document = parse_document("rate: 2 * x\n", "s.yaml")
    assert document.locate(("rate", "more"), offset=4) == (1, 7)


def test_problem_formats_path_and_position() -> None:
    document = parse_document(BLOCK, "s.yaml")
    problem = document.problem(("processes", 0, "rate"), "unknown name 'x'", offset=4)
    assert str(problem) == "s.yaml:7:16: processes[0].rate: unknown name 'x'"


def test_key_problem_points_at_the_key() -> None:
    document = parse_document(BLOCK, "s.yaml")
    problem = document.key_problem(("time", "horizon"), "unknown field")
    assert (problem.line, problem.col, problem.path) == (4, 3, "time.horizon")


def test_key_problem_falls_back_to_locate() -> None:
    document = parse_document(BLOCK, "s.yaml")
    problem = document.key_problem(("time", "step"), "field required")
    assert (problem.line, problem.col) == (3, 3)


def test_document_without_key_marks_still_builds() -> None:
    document = Document("f", "", {}, {(): Mark(1, 1, "map", False)})
    assert document.key_problem(("a",), "m").col == 1


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ((), "(root)"),
        (("processes", 2, "rate"), "processes[2].rate"),
        (("parameters", "pressure", "dist", "a"), "parameters.pressure.dist.a"),
        (("parameters", "a b"), 'parameters["a b"]'),
        (("variants", "secondary-sanctions"), "variants.secondary-sanctions"),
        ((3, "x"), "[3].x"),
        (("1x",), '["1x"]'),
    ],
)
def test_format_path(path: tuple[str | int, ...], shown: str) -> None:
    assert format_path(path) == shown


# Scalars --------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["no", "yes", "on", "off", "y", "n", "No", "tRUE"])
def test_norway_problem_words_stay_strings(word: str) -> None:
    assert parse_document(f"country: {word}\n", "s.yaml").data == {"country": word}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("12", 12),
        ("012", 12),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("'true'", "true"),
        ('"12"', "12"),
        ("!!str 12", "12"),
        ("!!float 1", 1.0),
        ("!!int 0x10", 16),
        ("!!bool false", False),
        ("!!null ~", None),
    ],
)
def test_core_schema_scalars(text: str, value: object) -> None:
    data = parse_document(f"v: {text}\n", "s.yaml").data["v"]
    assert data == value
    assert type(data) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(parse_document("v: .nan\n", "s.yaml").data["v"])


def test_dates_become_dates() -> None:
    data = parse_document("start: 2023-03-01\n", "s.yaml").data
    assert data["start"] == datetime.date(2023, 3, 1)
    assert type(data["start"]) is datetime.date


def test_timestamps_become_datetimes() -> None:
    value = parse_document("at: 2023-03-01T12:30:00Z\n", "s.yaml").data["at"]
    assert value == datetime.datetime(2023, 3, 1, 12, 30, tzinfo=datetime.UTC)


def test_impossible_date_is_a_problem() -> None:
    problem = only_problem("start: 2023-02-30\n")
    assert (problem.line, problem.col, problem.path) == (1, 8, "start")
    assert "'2023-02-30' is not a valid date" in problem.message


def test_bad_value_for_core_tag_is_a_problem() -> None:
    problem = only_problem("v: !!int abc\n")
    assert (problem.line, problem.col, problem.message) == (1, 4, "'abc' is not a valid !!int")


def test_aliases_expand() -> None:
    data = parse_document("a: &x {b: 1}\nc: *x\n", "s.yaml").data
    assert data == {"a": {"b": 1}, "c": {"b": 1}}


def test_alias_marks_the_alias_and_the_anchor_below_it() -> None:
    marks = parse_document("a: &x {b: 1}\nc: *x\n", "s.yaml").marks
    assert marks[("c",)] == Mark(2, 4, "*", False)
    assert marks[("c", "b")] == Mark(1, 11, "", True)


# Refusals -------------------------------------------------------------------------------


def test_python_tag_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    flag = tmp_path / "ran"
    problem = only_problem(f"a: !!python/object/apply:os.system ['touch {flag}']\n")
    assert (problem.line, problem.col, problem.path) == (1, 4, "a")
    assert problem.message == "tag '!!python/object/apply:os.system' is not allowed"
    assert not flag.exists()


def test_local_tag_is_refused() -> None:
    problem = only_problem("a: !thing x\n")
    assert (problem.line, problem.col, problem.message) == (1, 4, "tag '!thing' is not allowed")


def test_core_tag_of_the_wrong_kind_is_refused() -> None:
    problem = only_problem("a: !!map [1]\n")
    assert problem.message == "tag '!!map' does not fit a list"


def test_merge_key_is_refused() -> None:
    problem = only_problem("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert (problem.line, problem.col, problem.path) == (3, 3, "other")
    assert "merge keys ('<<') are not supported" in problem.message


def test_duplicate_key_is_located_at_the_second_key() -> None:
    problem = only_problem("a: 1\nb: 2\na: 3\n")
    assert (problem.line, problem.col, problem.path) == (3, 1, "a")
    assert problem.message == "duplicate key 'a' (first at line 1)"


def test_every_problem_is_reported_in_order() -> None:
    found = problems("x: !!int y\nb: 2\na: 1\nb: 3\na: 4\n")
    assert [(p.line, p.path) for p in found] == [(1, "x"), (4, "b"), (5, "a")]


@pytest.mark.parametrize(
    ("text", "col", "fragment"),
    [
        ("1: x\n", 1, "key 1 is an integer, not a string"),
        ("a: {true: y}\n", 5, "key true is a bool, not a string"),
        ("2023-01-01: z\n", 1, "is a date, not a string"),
        ("? [a]\n: x\n", 3, "keys must be strings, got a list"),
    ],
)
def test_non_string_key_is_refused(text: str, col: int, fragment: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.col) == (1, col)
    assert fragment in problem.message


def test_billion_laughs_is_refused_at_the_alias_limit() -> None:
    # Refused after 1000 aliases: nowhere near the 9**9 values a full expansion would build
    # (timings belong in benchmarks, not tests).
    problem = only_problem(billion_laughs())
    assert "more than 1000 aliases used" in problem.message
    assert problem.line == 3  # at an alias, inside the expansion of *b


def test_large_alias_expansion_is_refused_at_the_alias() -> None:
    text = "a: &a [" + ", ".join(["0"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    problem = only_problem(text)
    # *a is 1001 values: the 99th alias in b crosses the limit.
    assert (problem.line, problem.col, problem.path) == (2, 5 + 98 * 4, "b[98]")
    assert problem.message == "alias '*a' expands the document beyond 100000 values"


def test_recursive_alias_is_refused() -> None:
    problem = only_problem("a: &a [*a]\n")
    assert (problem.line, problem.col) == (1, 8)
    assert "alias '*a' refers to a value that contains it" in problem.message


def test_deep_flow_nesting_is_refused() -> None:
    problem = only_problem("a: " + "[" * 150 + "]" * 150 + "\n")
    assert (problem.line, problem.col) == (1, 104)  # the 101st bracket
    assert problem.message == "nesting deeper than 100 levels"


def test_deep_block_nesting_is_refused() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(150))
    problem = only_problem(text)
    assert (problem.line, problem.col) == (102, 102)
    assert problem.message == "nesting deeper than 100 levels"


def test_nesting_of_100_levels_is_accepted() -> None:
    data = parse_document("a: " + "[" * 99 + "]" * 99 + "\n", "s.yaml").data
    assert isinstance(data["a"], list)


def test_deep_nesting_through_aliases_is_refused() -> None:
    text = "a: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"
    problem = only_problem(text)
    assert problem.message == "nesting deeper than 100 levels"
    assert problem.line == 1  # inside the anchored value, reached through the alias


def test_syntax_error_is_located() -> None:
    problem = only_problem("a: b: c\n")
    assert (problem.line, problem.col, problem.path) == (1, 5, "(syntax)")
    assert problem.message == "mapping values are not allowed here"


def test_undefined_alias_is_a_syntax_error() -> None:
    problem = only_problem("a: 1\nb: *nope\n")
    assert (problem.line, problem.col, problem.path) == (2, 4, "(syntax)")
    assert "found undefined alias 'nope'" in problem.message


def test_two_documents_are_a_syntax_error() -> None:
    problem = only_problem("a: 1\n---\nb: 2\n")
    assert (problem.line, problem.path) == (2, "(syntax)")
    assert "expected a single document" in problem.message


def test_control_character_is_located() -> None:
    problem = only_problem("a: 1\nb: x\x00\n")
    assert (problem.line, problem.col, problem.path) == (2, 5, "(syntax)")
    assert problem.message == "character U+0000 is not allowed in YAML"


@pytest.mark.parametrize(
    ("text", "got"),
    [("- a\n- b\n", "a list"), ("just text\n", "a string"), ("~\n", "null")],
)
def test_root_must_be_a_mapping(text: str, got: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.col, problem.path) == (1, 1, "(root)")
    assert problem.message == f"a scenario file must be a mapping, got {got}"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\ufeff"])
def test_empty_document_is_refused(text: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.col, problem.path) == (1, 1, "(root)")
    assert problem.message == "a scenario file must be a mapping, got an empty document"


def test_oversized_text_is_refused() -> None:
    problem = only_problem("a: " + "x" * MAX_BYTES)
    assert "scenario files are limited to 2097152 bytes (2 MiB)" in problem.message


def test_byte_order_mark_is_dropped() -> None:
    document = parse_document("\ufeffa: 1\n", "s.yaml")
    assert document.data == {"a": 1}
    assert document.marks[("a",)] == Mark(1, 4, "", True)


# JSON -----------------------------------------------------------------------------------


def test_json_syntax_error_keeps_line_and_column() -> None:
    problem = only_problem('{\n  "a": 1,\n}', "s.json")
    assert (problem.line, problem.col, problem.path) == (3, 1, "(syntax)")
    assert problem.message == "Expecting property name enclosed in double quotes"


def test_json_format_can_be_forced() -> None:
    with pytest.raises(ScenarioError, match=r"s\.txt:1:1: \(syntax\): Expecting value"):
        parse_document("a: 1\n", "s.txt", fmt="json")


def test_json_duplicate_key_is_located() -> None:
    problem = only_problem('{"a": 1,\n "a": 2}', "s.json")
    assert (problem.line, problem.col, problem.path) == (2, 2, "a")
    assert problem.message == "duplicate key 'a' (first at line 1)"


def test_json_refuses_infinity() -> None:
    problem = only_problem('{"a": -Infinity}', "s.json")
    assert (problem.line, problem.col, problem.message) == (
        1,
        7,
        "-Infinity is not JSON; write a number",
    )


def test_surrogate_pair_escapes_join_in_keys() -> None:
    document = parse_document('{"\\ud83d\\ude00": 1}', "s.json")
    assert document.data == {"\U0001f600": 1}
    assert ("\U0001f600",) in document.marks


def test_json_escapes_follow_json() -> None:
    data = parse_document('{"a": "x\\/y", "b": "\\ud83d\\ude00"}', "s.json").data
    assert data == {"a": "x/y", "b": "\U0001f600"}


def test_json_strings_that_look_like_dates_stay_strings() -> None:
    data = parse_document('{"start": "2023-03-01", "n": "no"}', "s.json").data
    assert data == {"start": "2023-03-01", "n": "no"}


def test_json_nan_is_refused_where_it_stands() -> None:
    problem = only_problem('{"a": 1,\n "b": NaN}', "s.json")
    assert (problem.line, problem.col, problem.path) == (2, 7, "b")
    assert problem.message == "NaN is not JSON; write a number"


def test_json_root_must_be_a_mapping() -> None:
    problem = only_problem("[1, 2]", "s.json")
    assert problem.message == "a scenario file must be a mapping, got a list"


def test_json_that_pyyaml_cannot_read_still_loads() -> None:
    key = "k" * 2000  # PyYAML limits simple keys to 1024 characters
    document = parse_document(json.dumps({key: 1}), "s.json")
    assert document.data == {key: 1}
    assert document.locate((key,)) == (1, 1)


def test_deep_json_is_refused() -> None:
    problem = only_problem('{"a": ' + "[" * 150 + "]" * 150 + "}", "s.json")
    assert problem.message == "nesting deeper than 100 levels"


# load_document --------------------------------------------------------------------------


def test_load_document_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": [1, 2]}')
    document = load_document(path)
    assert document.data == {"a": [1, 2]}
    assert document.file == str(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SimError, match=r"nope\.yaml: no such file$"):
        load_document(tmp_path / "nope.yaml")


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimError, match="is a directory, expected a scenario file"):
        load_document(tmp_path)


def test_bad_utf8_is_located_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes("a: 1\nb: café ".encode() + b"\xff\n")
    with pytest.raises(ScenarioError) as caught:
        load_document(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col, problem.path) == (2, 9, "(syntax)")
    assert problem.message.startswith("not UTF-8 text: invalid start byte 0xff")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_BYTES)
    with pytest.raises(ScenarioError, match=r"file has 2097155 bytes; scenario files are limited"):
        load_document(path)


# Properties -----------------------------------------------------------------------------

FORMATS = st.sampled_from(["yaml", "json"])


def check_outcome(read: Callable[[], Document]) -> None:
    """Read a document: either a mapping, or a ScenarioError whose problems are located."""
    try:
        document = read()
    except ScenarioError as error:
        assert error.problems
        assert all(p.line >= 1 and p.col >= 1 for p in error.problems)
        return
    assert isinstance(document.data, dict)
    assert () in document.marks


@settings(max_examples=300, deadline=None)
@given(text=st.text(), fmt=FORMATS)
def test_any_text_raises_only_sim_errors(text: str, fmt: str) -> None:
    check_outcome(lambda: parse_document(text, "f." + fmt))


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab:-[]{},&*!<>|'\"#? \n\t01.~%@`"))),
    fmt=FORMATS,
)
def test_yaml_like_text_raises_only_sim_errors(text: str, fmt: str) -> None:
    check_outcome(lambda: parse_document(text, "f." + fmt))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(), encoding=st.sampled_from(["latin-1", "utf-8"]))
def test_any_bytes_decoded_raise_only_sim_errors(data: bytes, encoding: str) -> None:
    check_outcome(lambda: parse_document(data.decode(encoding, errors="replace"), "f.yaml"))


@settings(max_examples=50, deadline=None)
@given(data=st.binary())
def test_any_file_raises_only_sim_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.yaml"
        path.write_bytes(data)
        check_outcome(lambda: load_document(path))


def trees(text: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    """Plain data with strings (and keys) drawn from *text*."""
    numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    leaves = st.none() | st.booleans() | numbers | text
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
    )


# Printable text; JSON with control characters, which PyYAML cannot read, still loads but
# without positions (see test_json_that_pyyaml_cannot_read_still_loads).
TEXT = st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs", "S"]), max_size=8)
# Words only, because yaml.safe_dump quotes by YAML 1.1 rules, not 1.2 (it writes 0o17 bare).
WORDS = st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=8)


def paths_of(value: object, path: tuple[str | int, ...] = ()) -> set[tuple[str | int, ...]]:
    """Every path in a plain data value."""
    found = {path}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= paths_of(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found |= paths_of(item, (*path, index))
    return found


@settings(max_examples=100, deadline=None)
@given(
    data=st.dictionaries(TEXT, trees(TEXT), max_size=5),
    indent=st.sampled_from([None, 2, "\t"]),
    ascii=st.booleans(),
)
def test_json_round_trip_marks_every_value(
    data: dict[str, object], indent: int | str | None, ascii: bool
) -> None:
    document = parse_document(json.dumps(data, indent=indent, ensure_ascii=ascii), "f.json")
    assert document.data == data
    assert set(document.marks) == paths_of(data)


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(WORDS, trees(WORDS), max_size=5), flow=st.booleans())
def test_yaml_round_trip_marks_every_value(data: dict[str, object], flow: bool) -> None:
    document = parse_document(yaml.safe_dump(data, default_flow_style=flow), "f.yaml")
    assert document.data == data
    assert set(document.marks) == paths_of(data)
