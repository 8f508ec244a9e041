"""Tests of `sim validate` and `sim schema`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.format.loader import load_document

DATA = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).parent.parent / "scenarios"


def plain(value: Any) -> Any:
    """The data as JSON would carry it: dates become ISO strings."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_validate_prints_a_summary_per_valid_file() -> None:
    files = [DATA / "every_kind.yaml", DATA / "spec_example.yaml"]
    result = CliRunner().invoke(app, ["validate", *map(str, files)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{files[0]}: ok (every_kind: 14 parameters, 6 state, 6 processes, 6 outcomes, 2 variants)",
        f"{files[1]}: ok (belarus-annexation: 2 parameters, 4 state, 5 processes, 3 outcomes, "
        "1 variant)",
    ]
    # every_kind declares parameters no process reads (a fixture of the format): warnings only
    assert all(": warning: nothing reads parameter " in line for line in result.stderr.splitlines())


def test_validate_checks_every_file_and_fails_if_one_is_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sim: 1\n", encoding="utf-8")
    good = DATA / "spec_example.yaml"
    result = CliRunner().invoke(app, ["validate", str(bad), str(good)])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{good}: ok (")
    assert result.stderr.splitlines()[0] == f"{bad}:1:1: (root): missing field 'name'"
    assert len(result.stderr.splitlines()) == 5  # name, title, description, time, outcomes


def test_validate_needs_a_file() -> None:
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_schema_is_json_schema_2020_12(validator: jsonschema.Draft202012Validator) -> None:
    assert validator.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in validator.schema


@pytest.mark.parametrize("name", ["spec_example.yaml", "every_kind.yaml"])
def test_schema_accepts_valid_files(validator: jsonschema.Draft202012Validator, name: str) -> None:
    data = plain(load_document(DATA / name).data)
    assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_schema_accepts_the_shipped_scenarios(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    assert list(validator.iter_errors(plain(load_document(path).data))) == []


def test_schema_refuses_an_unknown_field(validator: jsonschema.Draft202012Validator) -> None:
    data = plain(load_document(DATA / "spec_example.yaml").data)
    data["processes"][1]["rat"] = 1
    assert not validator.is_valid(data)


def test_schema_refuses_an_unknown_kind(validator: jsonschema.Draft202012Validator) -> None:
    data = plain(load_document(DATA / "spec_example.yaml").data)
    data["parameters"]["pressure"]["dist"]["kind"] = "gauss"
    assert not validator.is_valid(data)


def test_schema_accepts_each_form_of_a_delay(validator: jsonschema.Draft202012Validator) -> None:
    data = plain(load_document(DATA / "spec_example.yaml").data)
    for delay in (2, "1 + pressure", {"kind": "exponential", "mean": 1}):
        data["processes"][2]["delay"] = delay
        assert validator.is_valid(data), delay
