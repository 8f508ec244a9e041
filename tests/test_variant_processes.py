"""Variants that change processes (format 1.1): switch one off, or replace its fields."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.errors import RunError, ScenarioError
from sim.model.compile import build_model

HEAD = """\
sim: 1.1
name: var
title: Variants of processes
description: A process switched off, a rate replaced, a stage slowed.
time: {unit: month, horizon: 24}
"""
BODY = """\
parameters:
  base: {value: 0.5, assumption: a test}
state:
  raids: {init: 0}
  shipped: {init: 0}
  weight: {init: 0}
processes:
  - {kind: event, name: raid, rate: "base", set: {raids: "raids + 1", weight: "weight + 1"}}
  - kind: flow
    name: convoy
    arrivals: {every: 1}
    stages: [{name: load, duration: 0.5}, {name: drive, duration: 0.2}]
    on_complete: {shipped: "shipped + 1"}
outcomes:
  - {kind: value, name: raid_count, expr: raids}
  - {kind: value, name: shipped_count, expr: shipped}
  - {kind: value, name: heavy, expr: weight}
variants:
  no_raids: {processes: {raid: {enabled: false}}}
  more_raids: {processes: {raid: {rate: "2 * base", set: {weight: "weight + 3"}}}}
  slow_loading: {processes: {convoy: {stages: {load: {duration: 1.5}}}}}
"""


def scenario(text: str = BODY, **options: object) -> sim.CompiledModel:
    return build_model(HEAD + textwrap.dedent(text), "var.yaml", **options)  # type: ignore[arg-type]


ENGINES = ("simpy", "batch")


def means(variant: str | None, n: int = 2000, engine: str = "simpy") -> dict[str, float]:
    table = sim.run(scenario(variant=variant), branches=n, seed=7, engine=engine).table
    return {name: float(np.mean(table.column(name).to_numpy())) for name in table.column_names}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_process_switched_off_never_acts(engine: str) -> None:
    off = sim.run(scenario(variant="no_raids"), branches=200, seed=1, engine=engine).table
    assert np.all(off.column("raid_count").to_numpy() == 0)
    assert np.all(off.column("shipped_count").to_numpy() == 23)  # the convoy is untouched


@pytest.mark.parametrize("engine", ENGINES)
def test_a_replaced_rate_and_set_entry_take_effect(engine: str) -> None:
    base, more = means(None, engine=engine), means("more_raids", engine=engine)
    n = 2000
    for got, rate in ((base["raid_count"], 0.5), (more["raid_count"], 1.0)):
        assert abs(got - 24 * rate) <= 4 * math.sqrt(24 * rate / n)  # a Poisson count
    # the set entry for weight is replaced, the one for raids is kept
    assert more["heavy"] == pytest.approx(3 * more["raid_count"])
    assert base["heavy"] == pytest.approx(base["raid_count"])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_stage_is_changed_by_its_name(engine: str) -> None:
    slow = sim.run(scenario(variant="slow_loading"), branches=10, seed=1, engine=engine).table
    # One loader (capacity 1) taking 1.5 per convoy from t = 1: loads end at 1 + 1.5 k, and
    # with 0.2 of driving the k-th arrives by 24 while 1 + 1.5 k + 0.2 <= 24: k <= 15.
    assert np.all(slow.column("shipped_count").to_numpy() == 15)


@pytest.mark.parametrize("engine", ENGINES)
def test_variants_share_random_numbers_with_the_baseline(engine: str) -> None:
    comparison = sim.compare_variants(
        scenario(), "no_raids,slow_loading", branches=300, seed=2, engine=engine
    )
    rows = {(r["outcome"], r["run"]): r for r in comparison.rows}
    assert rows[("raid_count", "slow_loading")]["difference"] == 0.0  # the raids are the same
    assert rows[("shipped_count", "no_raids")]["difference"] == 0.0


def test_a_library_process_may_be_changed_by_a_variant(tmp_path: Path) -> None:
    library = (
        "sim: 1.1\nprocesses:\n"
        '  - {kind: event, name: raid, rate: 0.5, set: {raids: "raids + 1"}}\n'
    )
    (tmp_path / "lib.yaml").write_text(library)
    (tmp_path / "main.yaml").write_text(
        HEAD + "include: [lib.yaml]\nstate:\n  raids: {init: 0}\noutcomes:\n"
        "  - {kind: value, name: n, expr: raids}\nvariants:\n"
        "  never: {processes: {raid: {enabled: false}}}\n"
        "  broken: {processes: {raid: {rate: \"log(raids - 1)\"}}}\n"
    )
    never = sim.run(sim.load(tmp_path / "main.yaml", variant="never"), branches=20).table
    assert np.all(never.column("n").to_numpy() == 0)
    broken = sim.load(tmp_path / "main.yaml", variant="broken")
    with pytest.raises(RunError, match=r"main.yaml:\d+:\d+: variants.broken.processes.raid.rate: "
                       r"math domain error"):  # fmt: skip
        sim.run(broken, branches=1)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("{processes: {rade: {enabled: false}}}",
         r"variants.v.processes.rade: unknown process 'rade' \(did you mean 'raid'\?\)"),
        ("{processes: {raid: {enabled: no}}}", r"variants.v.processes.raid.enabled: expected true"),
        ("{processes: {raid: {kind: periodic}}}",
         r"variants.v.processes.raid.kind: a variant cannot change a process's kind"),
        ("{processes: {raid: {rat: 2}}}",
         r"variants.v.processes.raid.rat: unknown field 'rat' \(did you mean 'rate'\?\)"),
        ("{processes: {raid: {rate: \"y\"}}}", r"variants.v.processes.raid.rate: unknown name 'y'"),
        ("{processes: {raid: {set: {raids: \"raids > 1\"}}}}",
         r"variants.v.processes.raid.set.raids: state 'raids' is a number, got true/false"),
        ("{processes: {convoy: {stages: {lode: {duration: 1}}}}}",
         r"variants.v.processes.convoy.stages.lode: unknown stage 'lode' \(did you mean "
         r"'load'\?\)"),
        ("{processes: {convoy: {stages: {load: {duration: -1}}}}}",
         r"variants.v.processes.convoy.stages.load.duration: must be >= 0, got -1"),
        ("{processes: {convoy: {arrivals: {rate: 1}}}}",
         r"variants.v.processes.convoy.arrivals: give exactly one of `rate` and `every`"),
    ],
)
def test_problems_of_a_variant_are_located_in_it(variant: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario(BODY + f"  v: {variant}\n")


def test_a_null_removes_an_optional_field() -> None:
    change = "{processes: {convoy: {arrivals: {rate: 1, every: null}}}}"
    model = scenario(BODY + f"  poisson_convoys: {change}\n", variant="poisson_convoys")
    convoy = model.processes[1]
    assert convoy.every is None and convoy.rate is not None  # type: ignore[union-attr]


def test_variant_processes_need_format_1_1() -> None:
    text = (HEAD + textwrap.dedent(BODY)).replace("sim: 1.1", "sim: 1")
    with pytest.raises(ScenarioError, match=r"variants.no_raids.processes.raid: a variant's "
                       r"`processes` is format 1.1"):  # fmt: skip
        build_model(text, "var.yaml")
