"""The committed reference runs in results/ are what the current code and scenarios give."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _runs import same_rows

from sim.engine.simpy import run_branches
from sim.model.compile import load_model
from sim.montecarlo.results import branch_schema

ROOT = Path(__file__).resolve().parents[1]
RUNS = sorted(p.parent for p in (ROOT / "results").glob("*/manifest.json"))
CHECKED = 100  # the first branches of every run: branches are independent of each other


def test_there_is_a_reference_run_for_every_shipped_scenario_and_variant() -> None:
    found = {
        (m["scenario"], m["variant"])
        for m in (json.loads((d / "manifest.json").read_text()) for d in RUNS)
    }
    for file in sorted((ROOT / "scenarios").glob("*.yaml")):
        model = load_model(file)
        assert model.scenario is not None
        for variant in [None, *model.scenario.variants]:
            assert (model.name, variant) in found, (file.name, variant)


@pytest.mark.parametrize("directory", RUNS, ids=[d.name for d in RUNS])
def test_reference_run_rows_are_reproduced_by_the_current_code(directory: Path) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    model = load_model(ROOT / manifest["file"], variant=manifest["variant"])
    assert manifest["sha256"] == model.source_sha256, "the scenario changed since the run"
    columns = run_branches(model, manifest["seed"], 0, CHECKED)
    fresh = pa.Table.from_pydict(columns, schema=branch_schema(model))
    stored = pq.read_table(directory / "branches.parquet").slice(0, CHECKED)
    assert same_rows(fresh, stored)
