"""The combined shipped scenario can take its shared parameters from a library (format 1.1).

The parameters the combined scenario defines exactly as another shipped file does are moved,
with the sources they cite, into a library that it includes: every branch row stays the same
(columns compared by name, since included definitions come first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

import sim
from sim.format.loader import load_document

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
COMBINED = SCENARIOS / "belarus_between_moscow_and_beijing.yaml"


def shared_parameters(combined: dict, others: list[dict]) -> list[str]:
    """The parameters of ``combined`` that another file defines exactly the same way."""
    return [
        name
        for name, definition in combined["parameters"].items()
        if any(other.get("parameters", {}).get(name) == definition for other in others)
    ]


def citations(definition: dict) -> list[dict]:
    """The citations of a parameter's definition, as a list."""
    source = definition.get("source")
    return source if isinstance(source, list) else [source] if source else []


def test_the_combined_scenario_takes_its_shared_parameters_from_a_library(tmp_path: Path) -> None:
    combined = load_document(COMBINED).data
    others = [load_document(p).data for p in sorted(SCENARIOS.glob("*.yaml")) if p != COMBINED]
    moved = shared_parameters(combined, others)
    assert len(moved) >= 10, moved  # the files share many definitions
    cited = {c["ref"] for name in moved for c in citations(combined["parameters"][name])}
    library = {
        "sim": 1.1,
        "description": "Parameters the shipped scenarios share.",
        "time": {"unit": combined["time"]["unit"]},
        "sources": [s for s in combined["sources"] if s["id"] in cited],
        "parameters": {name: combined["parameters"][name] for name in moved},
    }
    scenario = dict(combined)
    scenario["sim"] = 1.1
    scenario["include"] = ["shared.yaml"]
    scenario["sources"] = [s for s in combined["sources"] if s["id"] not in cited]
    scenario["parameters"] = {
        n: d for n, d in combined["parameters"].items() if n not in moved
    }  # fmt: skip
    (tmp_path / "shared.yaml").write_text(yaml.safe_dump(library, sort_keys=False))
    path = tmp_path / COMBINED.name
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    composed = sim.run(sim.load(path), branches=60, seed=20230301).table
    original = sim.run(sim.load(COMBINED), branches=60, seed=20230301).table
    assert sorted(composed.column_names) == sorted(original.column_names)
    for name in original.column_names:
        a, b = composed.column(name).to_numpy(), original.column(name).to_numpy()
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    moved_first = [p.name for p in sim.load(path).parameters][: len(moved)]
    assert moved_first == moved
