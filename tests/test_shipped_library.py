"""The shipped scenarios share one library, so that no two files disagree on a shared number.

Every shipped scenario includes ``scenarios/lib/belarus_common.yaml`` (directly or through
a module library), and a parameter, state variable or source that two scenarios both use
is the same definition in both: the files take it from the library rather than repeating
(or overriding) it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model.compile import load_model

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
MODELS = {path.name: load_model(path).scenario for path in FILES}


@pytest.mark.parametrize("section", ["parameters", "state"])
def test_no_two_shipped_scenarios_define_a_shared_name_differently(section: str) -> None:
    seen: dict[str, tuple[str, object]] = {}
    for file, scenario in MODELS.items():
        assert scenario is not None
        for name, definition in getattr(scenario, section).items():
            if name in seen:
                other, first = seen[name]
                assert definition == first, f"{section}.{name}: {file} differs from {other}"
            else:
                seen[name] = (file, definition)


def test_the_shipped_scenarios_write_no_overrides_and_share_their_sources() -> None:
    for file, scenario in MODELS.items():
        assert scenario is not None
        assert scenario.overrides is None, file
        assert [s.id for s in scenario.sources] == [
            "yeh2023", "lowy2023", "dyer2023", "shea2024", "edm2017"
        ], file  # fmt: skip


def test_the_combined_scenario_is_its_modules_coupled() -> None:
    combined = MODELS["belarus_between_moscow_and_beijing.yaml"]
    assert combined is not None
    parts = ["belarus_annexation", "belarus_china_economic_hedge", "china_arms_via_belarus"]
    for part in (f"{name}.yaml" for name in parts):
        scenario = MODELS[part]
        assert scenario is not None
        assert set(scenario.parameters) <= set(combined.parameters), part
        assert {o.name for o in scenario.outcomes} <= {o.name for o in combined.outcomes}, part
