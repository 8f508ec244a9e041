"""The shipped scenarios cite their sources faithfully.

Each number in a shipped scenario either quotes a source file verbatim or states its
assumption; the quoted files ship beside the scenarios, as byte-for-byte copies of the
seed documents. The YAML is read with ``yaml.safe_load`` so that these checks do not
depend on the loader under test elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SOURCES = SCENARIOS / "sources"
SEEDS = ROOT.parent / "shared" / "seeds"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))
EXPECTED = {
    "belarus_annexation.yaml",
    "china_arms_via_belarus.yaml",
    "secondary_sanctions.yaml",
    "eastern_flank.yaml",
    "belarus_china_economic_hedge.yaml",
    "belarus_between_moscow_and_beijing.yaml",
}


def _load(path: Path) -> dict[str, Any]:
    """Read a scenario file as plain data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: expected a mapping at the top"
    return data


def _normalise(text: str) -> str:
    """Collapse runs of whitespace to one space, the only liberty a quote may take."""
    return re.sub(r"\s+", " ", text).strip()


def _citations(parameter: dict[str, Any]) -> list[dict[str, Any]]:
    """The citations of a parameter (``source`` may be one citation or a list)."""
    source = parameter.get("source")
    if source is None:
        return []
    return list(source) if isinstance(source, list) else [source]


def _all_citations() -> list[tuple[str, str, dict[str, Any]]]:
    """(file name, parameter name, citation) for every citation of every shipped scenario."""
    rows = []
    for path in SCENARIO_FILES:
        for name, parameter in _load(path).get("parameters", {}).items():
            rows.extend((path.name, name, c) for c in _citations(parameter))
    return rows


def _sources_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in data.get("sources", [])}


CITATIONS = _all_citations()


def test_every_expected_scenario_ships() -> None:
    assert {p.name for p in SCENARIO_FILES} >= EXPECTED


@pytest.mark.parametrize(
    ("file", "parameter", "citation"),
    CITATIONS,
    ids=[f"{f}:{p}:{i}" for i, (f, p, _) in enumerate(CITATIONS)],
)
def test_quote_occurs_verbatim_in_its_source(
    file: str, parameter: str, citation: dict[str, Any]
) -> None:
    source = _sources_by_id(_load(SCENARIOS / file))[citation["ref"]]
    text = (SOURCES / source["file"]).read_text(encoding="utf-8")
    assert _normalise(citation["quote"]) in _normalise(text), (
        f"{file}: parameter {parameter!r} quotes text not found in {source['file']}: "
        f"{citation['quote']!r}"
    )


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_parameter_has_exactly_one_provenance(path: Path) -> None:
    data = _load(path)
    wrong = [
        name
        for name, parameter in data.get("parameters", {}).items()
        if ("source" in parameter) == ("assumption" in parameter)
    ]
    assert wrong == [], f"{path.name}: parameters without exactly one of source/assumption"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_ref_names_a_declared_source_with_a_shipped_file(path: Path) -> None:
    data = _load(path)
    sources = _sources_by_id(data)
    for name, parameter in data.get("parameters", {}).items():
        for citation in _citations(parameter):
            ref = citation["ref"]
            assert ref in sources, f"{path.name}: {name} cites undeclared source {ref!r}"
            assert (SOURCES / sources[ref]["file"]).is_file(), (
                f"{path.name}: source {ref!r} names missing file {sources[ref]['file']!r}"
            )


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_declared_source_is_cited(path: Path) -> None:
    data = _load(path)
    cited = {c["ref"] for p in data.get("parameters", {}).values() for c in _citations(p)}
    assert set(_sources_by_id(data)) == cited, f"{path.name}: declared sources not cited"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_quote_and_note_is_non_empty(path: Path) -> None:
    for name, parameter in _load(path).get("parameters", {}).items():
        for citation in _citations(parameter):
            assert _normalise(citation["quote"]), f"{path.name}: {name} has an empty quote"
        if "assumption" in parameter:
            assert _normalise(str(parameter["assumption"])), f"{path.name}: {name}"


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_shipped_sources_equal_the_seed_documents_byte_for_byte() -> None:
    seeds = {p.name: p.read_bytes() for p in SEEDS.iterdir() if p.is_file()}
    shipped = {p.name: p.read_bytes() for p in SOURCES.iterdir() if p.is_file()}
    assert shipped == seeds


# --- through the real loader, compiler and engine ---------------------------------------


def _variants(path: Path) -> list[str | None]:
    return [None, *(_load(path).get("variants") or {})]


VARIANT_CASES = [(p, v) for p in SCENARIO_FILES for v in _variants(p)]


def test_every_shipped_scenario_passes_sim_validate() -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    result = CliRunner().invoke(app, ["validate", *map(str, SCENARIO_FILES)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("path", "variant"), VARIANT_CASES, ids=[f"{p.stem}:{v}" for p, v in VARIANT_CASES]
)
def test_every_variant_compiles_and_runs(path: Path, variant: str | None) -> None:
    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    model = load(path, variant=variant)
    columns = run_branches(model, 11, 0, 10)
    assert all(len(values) == 10 for values in columns.values())


def test_documents_signed_are_poisson_with_the_sourced_mean() -> None:
    """The visit's 'about 20 documents' arrive as a Poisson number with mean 20."""
    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    n = 1000
    model = load(SCENARIOS / "belarus_china_economic_hedge.yaml")
    signed = run_branches(model, 5, 0, n)["documents_signed"]
    assert abs(signed.mean() - 20) < 4 * (20 / n) ** 0.5


def test_backtest_drill_probability_matches_its_closed_form() -> None:
    """P(drill near Poland by mid-2024) = 1 - E[exp(-rate * p * T)], p ~ Beta(2, 7).

    The drills are independent of the rest of the model, so the arms flows are switched
    off to keep the test fast; the closed form is unaffected.
    """
    import datetime as dt
    import math

    from scipy import stats

    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    n = 2000
    months = (dt.date(2024, 7, 15) - dt.date(2023, 3, 1)).days / 365.25 * 12
    exact = 1 - stats.beta(2, 7).expect(lambda p: math.exp(-1 * p * months / 12))
    quiet = [("dual_rate", "0"), ("lethal_rate", "0"), ("n_documents", "0")]
    model = load(SCENARIOS / "belarus_between_moscow_and_beijing.yaml", overrides=quiet)
    hits = run_branches(model, 3, 0, n)["drill_near_poland_by_mid_2024"]
    assert abs(hits.mean() - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_a_parameter_shared_by_several_files_has_one_definition() -> None:
    """The combined file repeats the single-hypothesis parameters; they must not drift apart."""
    definitions: dict[str, set[str]] = {}
    for path in SCENARIO_FILES:
        for name, parameter in _load(path).get("parameters", {}).items():
            drawn = parameter.get("dist", parameter.get("value"))
            kind = "source" if "source" in parameter else "assumption"
            definitions.setdefault(name, set()).add(repr((drawn, kind)))
    assert {n: d for n, d in definitions.items() if len(d) > 1} == {}
