"""Scenarios composed of files (format 1.1): ``include`` and ``overrides``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
import yaml
from _runs import same_rows
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.format.scenario import library_schema
from sim.model.compile import build_model, load_model

runner = CliRunner()

LIBRARY = """\
sim: 1.1
description: What the two scenarios share.
time: {unit: month}
sources:
  - {id: memo, title: A memo, file: memo.txt}
parameters:
  pressure: {dist: {kind: beta, a: 2, b: 5}, source: {ref: memo, quote: "pressure is moderate"}}
  base_rate: {dist: {kind: lognormal, p5: 0.02, p95: 0.2}, assumption: an order of magnitude}
state:
  tension: {init: 0.1, min: 0, max: 1}
processes:
  - {kind: periodic, name: drift, every: 1, set: {tension: "tension + 0.05 * pressure"}}
  - {kind: event, name: crisis, rate: "base_rate * (1 + tension)", set: {crises: "crises + 1"}}
"""

HEAD = """\
sim: 1.1
name: {name}
title: A scenario
description: Uses the shared library.
time: {{unit: month, horizon: 36}}
"""

# What each scenario adds of its own; the library's definitions come first in each section.
OWN = {
    "first": """\
parameters:
  escalation: {dist: {kind: uniform, low: 0.5, high: 1.5}, assumption: a guess}
state:
  crises: {init: 0}
processes:
  - {kind: event, name: spiral, rate: "0.05 * escalation * tension",
     set: {tension: "tension + 0.1"}}
outcomes:
  - {kind: probability, name: two_crises, when: "crises >= 2"}
  - {kind: value, name: final_tension, expr: tension}
""",
    "second": """\
parameters:
  calm: {value: 0.02, assumption: a guess}
state:
  crises: {init: 0}
processes:
  - {kind: periodic, name: relax, every: 3, set: {tension: "tension - calm"}}
outcomes:
  - {kind: time_to, name: first_crisis, when: "crises >= 1"}
""",
}


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def inline(head: str, own: str, text: str = LIBRARY) -> str:
    """The scenario with the library's definitions copied to the top of each section."""
    library = yaml.safe_load(text)
    mine = yaml.safe_load(own)
    merged: dict[str, object] = {}
    for section in ("sources", "parameters", "state", "processes", "outcomes"):
        theirs, ours = library.get(section), mine.get(section)
        if isinstance(theirs or ours, dict):
            merged[section] = {**(theirs or {}), **(ours or {})}
        elif theirs or ours:
            merged[section] = [*(theirs or []), *(ours or [])]
    return head.replace("sim: 1.1", "sim: 1") + yaml.safe_dump(merged, sort_keys=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    files = {"lib/shared.yaml": LIBRARY, "lib/memo.txt": "We think pressure is moderate."}
    for name, own in OWN.items():
        head = HEAD.format(name=name)
        files[f"{name}.yaml"] = head + "include: [lib/shared.yaml]\n" + own
        files[f"{name}_inline.yaml"] = inline(head, own)
    write(tmp_path, files)
    return tmp_path


@pytest.mark.parametrize("engine", ["simpy", "batch"])
@pytest.mark.parametrize("name", list(OWN))
def test_a_library_gives_the_rows_of_the_inline_copy_it_replaces(
    folder: Path, name: str, engine: str
) -> None:
    composed = sim.run(load_model(folder / f"{name}.yaml"), branches=300, seed=5, engine=engine)
    copied = sim.run(
        load_model(folder / f"{name}_inline.yaml"), branches=300, seed=5, engine=engine
    )
    assert composed.table.column_names == copied.table.column_names
    assert same_rows(composed.table, copied.table)


def test_included_definitions_come_first_in_each_section(folder: Path) -> None:
    model = load_model(folder / "first.yaml")
    assert [p.name for p in model.parameters] == ["pressure", "base_rate", "escalation"]
    assert [p.name for p in model.processes] == ["drift", "crisis", "spiral"]
    assert model.scenario.sources[0].id == "memo"
    assert [key for key, _ in model.includes] == ["lib/shared.yaml"]


def test_a_file_reached_twice_counts_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "lib/shared.yaml": LIBRARY,
            "lib/a.yaml": "sim: 1.1\ninclude: [shared.yaml]\n"
            "parameters:\n  a: {value: 1, assumption: x}\n",
            "lib/b.yaml": "sim: 1.1\ninclude: [./shared.yaml, a.yaml]\n",
            "main.yaml": HEAD.format(name="main") + "include: [lib/a.yaml, lib/b.yaml]\n"
            + OWN["second"],
        },
    )  # fmt: skip
    model = load_model(tmp_path / "main.yaml")
    assert [p.name for p in model.parameters] == ["pressure", "base_rate", "a", "calm"]
    assert sorted(key for key, _ in model.includes) == [
        "lib/a.yaml", "lib/b.yaml", "lib/shared.yaml"
    ]  # fmt: skip


def test_an_override_takes_the_place_of_the_included_definition(folder: Path) -> None:
    own = OWN["first"] + "overrides:\n  parameters:\n" + (
        "    pressure: {dist: {kind: beta, a: 5, b: 2}, assumption: a hawkish reading}\n"
    )
    head = HEAD.format(name="first")
    write(folder, {"hawk.yaml": head + "include: [lib/shared.yaml]\n" + own})
    hawkish = LIBRARY.replace("a: 2, b: 5}, source: {ref: memo, quote: \"pressure is moderate\"}",
                              "a: 5, b: 2}, assumption: a hawkish reading")
    assert hawkish != LIBRARY
    expected = inline(head, OWN["first"], hawkish)
    write(folder, {"hawk_inline.yaml": expected})
    model = load_model(folder / "hawk.yaml")
    assert model.parameters[0].name == "pressure"
    assert model.parameters[0].dist.a == 5
    composed = sim.run(model, branches=200, seed=2)
    copied = sim.run(load_model(folder / "hawk_inline.yaml"), branches=200, seed=2)
    assert same_rows(composed.table, copied.table)


def test_workers_and_resumes_get_the_included_texts(folder: Path, tmp_path: Path) -> None:
    model = load_model(folder / "first.yaml")
    serial = sim.run(model, branches=96, seed=3, chunk_size=32)
    spread = sim.run(model, branches=96, seed=3, executor="process", workers=2, chunk_size=32)
    assert same_rows(serial.table, spread.table)
    rebuilt = build_model(model.source, model.file, includes=model.includes)
    again = sim.run(rebuilt, branches=96, seed=3)
    assert same_rows(serial.table, again.table)
    out = tmp_path / "run"
    written = sim.run(model, branches=64, seed=3, out=out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["includes"]) == ["lib/shared.yaml"]
    assert sorted(p.name for p in out.iterdir()) == [
        "branches.parquet", "manifest.json", "summary.json"
    ]  # fmt: skip
    assert same_rows(written.table, pq.read_table(out / "branches.parquet"))


def test_a_resume_rebuilds_the_scenario_from_the_kept_texts(folder: Path, tmp_path: Path) -> None:
    from sim.montecarlo.directory import RunDirectory
    from sim.montecarlo.results import make_manifest, now_iso

    model = load_model(folder / "first.yaml")
    out = tmp_path / "run"
    manifest = make_manifest(
        model, seed=4, branches=64, executor="serial", workers=1, chunk_size=32,
        started_at=now_iso(),
    )  # fmt: skip
    RunDirectory.create(out, manifest, model.source, model.includes)
    (folder / "lib" / "shared.yaml").write_text("the library changed after the run started")
    resumed = sim.resume(out)
    expected = sim.run(model, branches=64, seed=4)
    assert same_rows(resumed.table, expected.table)


def test_a_run_error_in_an_included_process_names_the_library(tmp_path: Path) -> None:
    library = 'sim: 1.1\nprocesses:\n  - {kind: event, name: e, rate: "log(x - 1)", set: {}}\n'
    write(
        tmp_path,
        {
            "lib.yaml": library,
            "main.yaml": HEAD.format(name="main") + "include: [lib.yaml]\n"
            "state:\n  x: {init: 0}\noutcomes:\n  - {kind: value, name: v, expr: x}\n",
        },
    )  # fmt: skip
    result = runner.invoke(app, ["run", str(tmp_path / "main.yaml"), "-n", "2"])
    assert result.exit_code == 2
    col = library.splitlines()[2].index('"log') + 1
    assert f"{tmp_path / 'lib.yaml'}:3:{col}: processes[0].rate: math domain error" in result.output


@pytest.mark.parametrize("engine", ["simpy", "batch"])
def test_trace_names_the_file_of_included_definitions(folder: Path, engine: str) -> None:
    result = runner.invoke(
        app, ["trace", str(folder / "first.yaml"), "--branch", "1", "--engine", engine]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    library = str(folder / "lib" / "shared.yaml")
    assert any("pressure: - ->" in line and f"[{library}:7]" in line for line in lines)
    assert any(line.split()[1] == "drift" and f"[{library}:12]" in line for line in lines)
    assert all("[" not in line for line in lines if "escalation: - ->" in line)


def test_validate_counts_included_files_and_finds_quotes_beside_the_library(
    folder: Path,
) -> None:
    result = runner.invoke(app, ["validate", "--sources", str(folder / "first.yaml")])
    assert result.exit_code == 0, result.output
    assert "1 included file" in result.output and "quotes found" in result.output


def test_a_library_parameter_that_one_scenario_leaves_unread_is_no_warning(
    tmp_path: Path,
) -> None:
    write(tmp_path, {
        "lib.yaml": "parameters:\n  spare: {value: 1, assumption: a}\n",
        "s.yaml": HEAD.format(name="s") + "include: [lib.yaml]\nparameters:\n"
        "  idle: {value: 2, assumption: b}\noutcomes:\n  - {kind: value, name: v, expr: 1}\n",
    })  # fmt: skip
    result = runner.invoke(app, ["validate", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{tmp_path / 's.yaml'}:8:3: parameters.idle: warning: nothing " \
        "reads parameter 'idle'\n"


def test_the_library_schema_accepts_the_library() -> None:
    result = runner.invoke(app, ["schema", "--library"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == library_schema()
    jsonschema.validate(yaml.safe_load(LIBRARY), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load(LIBRARY), "name": "x"}, schema)


def test_a_format_1_0_file_is_read_as_before(tmp_path: Path) -> None:
    text = textwrap.dedent(inline(HEAD.format(name="first"), OWN["first"]))
    one = build_model(text, "a.yaml")
    assert one.includes == () and one.origins == {}
    assert "sim: 1\n" in text


def test_a_quote_missing_from_a_library_source_is_located_in_the_library(folder: Path) -> None:
    (folder / "lib" / "memo.txt").write_text("Nothing about it here.")
    result = runner.invoke(app, ["validate", "--sources", str(folder / "first.yaml")])
    assert result.exit_code == 2
    library = folder / "lib" / "shared.yaml"
    line = LIBRARY.splitlines().index(next(x for x in LIBRARY.splitlines() if "pressure:" in x))
    assert result.stderr.startswith(f"{library}:{line + 1}:")
    assert "parameters.pressure.source.quote: the quote is not in memo.txt" in result.stderr


def test_a_library_may_hold_indicators(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "lib.yaml": "sim: 1.1\nindicators:\n  - {name: tense, when: \"x >= 1\"}\n",
            "main.yaml": HEAD.format(name="main") + "include: [lib.yaml]\n"
            "state:\n  x: {init: 0}\nprocesses:\n"
            "  - {kind: periodic, name: up, every: 1, set: {x: \"x + 1\"}}\n"
            "outcomes:\n  - {kind: value, name: v, expr: x}\n",
        },
    )  # fmt: skip
    table = sim.run(load_model(tmp_path / "main.yaml"), branches=3).table
    assert table.column("indicator__tense").to_pylist() == [1.0, 1.0, 1.0]
    assert "indicators" in library_schema()["properties"]
