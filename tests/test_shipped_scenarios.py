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
LIBRARY_FILES = sorted((SCENARIOS / "lib").glob("*.yaml"))
ALL_FILES = SCENARIO_FILES + LIBRARY_FILES
EXPECTED = {
    "belarus_annexation.yaml",
    "china_arms_via_belarus.yaml",
    "eastern_flank.yaml",
    "belarus_china_economic_hedge.yaml",
    "belarus_between_moscow_and_beijing.yaml",
}


def _load(path: Path) -> dict[str, Any]:
    """Read a scenario or library file as plain data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: expected a mapping at the top"
    return data


def _normalise(text: str) -> str:
    """Collapse runs of whitespace to one space, the only liberty a quote may take."""
    return re.sub(r"\s+", " ", text).strip()


def _as_list(source: Any) -> list[dict[str, Any]]:
    if source is None:
        return []
    return list(source) if isinstance(source, list) else [source]


def _holders(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, definition) of every parameter, pool expert and indicator that may cite."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for name, parameter in data.get("parameters", {}).items():
        rows.append((name, parameter))
        dist = parameter.get("dist") or {}
        if dist.get("kind") == "pool":
            rows.extend((f"{name}.{e['name']}", e) for e in dist["experts"])
    rows.extend((f"indicator {i['name']}", i) for i in data.get("indicators", []))
    return rows


def _declared_sources() -> dict[str, Path]:
    """Every source id declared by a shipped file, with the path of its text."""
    found: dict[str, Path] = {}
    for path in ALL_FILES:
        for source in _load(path).get("sources", []):
            assert source["id"] not in found, f"{path.name}: source {source['id']!r} twice"
            found[source["id"]] = (path.parent / source["file"]).resolve()
    return found


def _all_citations() -> list[tuple[str, str, dict[str, Any]]]:
    """(file name, holder, citation) for every citation of every shipped file."""
    return [
        (path.name, name, citation)
        for path in ALL_FILES
        for name, holder in _holders(_load(path))
        for citation in _as_list(holder.get("source"))
    ]


CITATIONS = _all_citations()
DECLARED = _declared_sources()


def test_every_expected_scenario_ships() -> None:
    assert {p.name for p in SCENARIO_FILES} == EXPECTED


@pytest.mark.parametrize(
    ("file", "holder", "citation"),
    CITATIONS,
    ids=[f"{f}:{p}:{i}" for i, (f, p, _) in enumerate(CITATIONS)],
)
def test_quote_occurs_verbatim_in_its_source(
    file: str, holder: str, citation: dict[str, Any]
) -> None:
    text = DECLARED[citation["ref"]].read_text(encoding="utf-8")
    assert _normalise(citation["quote"]) in _normalise(text), (
        f"{file}: {holder!r} quotes text not found in {DECLARED[citation['ref']].name}: "
        f"{citation['quote']!r}"
    )


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_number_has_exactly_one_provenance(path: Path) -> None:
    data = _load(path)
    wrong = [
        name
        for name, holder in _holders(data)
        if not name.startswith("indicator ")
        and (holder.get("dist") or {}).get("kind") != "pool"
        and ("source" in holder) == ("assumption" in holder)
    ]
    assert wrong == [], f"{path.name}: without exactly one of source/assumption"


def test_every_declared_source_has_a_shipped_file_and_is_cited() -> None:
    assert all(path.is_file() and path.parent == SOURCES for path in DECLARED.values())
    cited = {c["ref"] for _, _, c in CITATIONS}
    assert set(DECLARED) == cited


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_quote_and_assumption_is_non_empty(path: Path) -> None:
    for name, holder in _holders(_load(path)):
        for citation in _as_list(holder.get("source")):
            assert _normalise(citation["quote"]), f"{path.name}: {name} has an empty quote"
        if "assumption" in holder:
            assert _normalise(str(holder["assumption"])), f"{path.name}: {name}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_scenario_is_written_as_of_its_vantage_and_shares_the_library(path: Path) -> None:
    from sim.model.compile import load_model

    model = load_model(path)
    assert model.scenario is not None
    assert str(model.scenario.vantage) == "2023-03-03"
    assert any(Path(key).name == "belarus_common.yaml" for key, _ in model.includes), path.name


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

    result = CliRunner().invoke(
        app, ["validate", "--strict", "--sources", *map(str, SCENARIO_FILES)]
    )
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # no hindsight, nothing unread


@pytest.mark.parametrize(
    ("path", "variant"), VARIANT_CASES, ids=[f"{p.stem}:{v}" for p, v in VARIANT_CASES]
)
def test_every_variant_compiles_and_runs(path: Path, variant: str | None) -> None:
    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    model = load(path, variant=variant)
    columns = run_branches(model, 11, 0, 10)
    assert all(len(values) == 10 for values in columns.values())


def test_without_its_mechanisms_the_annexation_hazard_is_the_base_rate() -> None:
    """P(absorbed within T years) = 1 - E[(1 - p)^T] = 1 - 28 / (28 + T), p ~ Beta(1, 28).

    With the integration steps, the hedge, sabotage, random moves and the war's effect
    switched off, the monthly hazard is -log(1 - p) / 12, so the survival to T years is
    (1 - p)^T exactly, whose mean under Laplace's Beta(1, 28) is B(1, 28 + T) / B(1, 28).
    """
    import datetime as dt
    import math

    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    n = 4000
    years = (dt.date(2033, 2, 20) - dt.date(2023, 3, 3)).days / 365.25
    exact = 1 - 28 / (28 + years)
    off = ["integration_step_rate", "hedge_max", "grip_volatility", "sabotage_rate", "war_weight"]
    model = load(SCENARIOS / "belarus_annexation.yaml", overrides=[(p, "0") for p in off])
    hits = run_branches(model, 3, 0, n)["annexed_by_feb_2033"]
    assert abs(hits.mean() - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_backtest_drill_probability_matches_its_closed_form() -> None:
    """P(a drill near Poland by 2024-07-15) = 1 - E[(1 - H N)^2], H ~ Beta(8, 1), N ~ Beta(2, 7).

    Two midsummer chances (2023-07-01 and 2024-07-01) fall before the date; H and N are
    independent, so E[(1 - HN)^2] = 1 - 2 E[H] E[N] + E[H^2] E[N^2].
    """
    import datetime as dt
    import math

    from sim.engine.simpy import run_branches
    from sim.model.compile import load

    n = 4000
    e_h, e_h2 = 8 / 9, 8 * 9 / (9 * 10)
    e_n, e_n2 = 2 / 9, 2 * 3 / (9 * 10)
    exact = 2 * e_h * e_n - e_h2 * e_n2
    months = (dt.date(2024, 7, 15) - dt.date(2023, 3, 3)).days / 365.25 * 12
    times = run_branches(load(SCENARIOS / "eastern_flank.yaml"), 3, 0, n)[
        "time_to_drill_near_poland"
    ]
    hits = (times <= months).mean()  # NaN (never) compares false
    assert abs(hits - exact) < 4 * math.sqrt(exact * (1 - exact) / n)
