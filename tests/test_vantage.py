"""The vantage date and hindsight: `sim validate --sources` flags a parameter that cites a
source dated after the date as of which the scenario is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import assert_one_line_error, invoke

import sim
from sim.format.provenance import source_date

SCENARIO = """\
sim: 1.1
name: backtest
title: Backtest
description: A forecast as of its vantage date.
time: {unit: month, horizon: 12, start: 2024-01-01}
VANTAGE
sources:
  - {id: early, title: Early, file: memo.txt, date: 2023-06-01}
  - {id: late, title: Late, file: memo.txt, date: DATE}
parameters:
  rate:
    value: 0.2
    source: {ref: late, quote: "a rate of two in ten"}
HINDSIGHT
  base:
    value: 0.1
    source: {ref: early, quote: "a rate of two in ten"}
outcomes:
  - {kind: value, name: r, expr: rate + base}
"""


def write(folder: Path, date: str = "2024-03-01", vantage: str = "", hindsight: str = "") -> Path:
    file = folder / "backtest.yaml"
    text = SCENARIO.replace("DATE", date).replace("VANTAGE\n", vantage and vantage + "\n")
    text = text.replace("HINDSIGHT\n", hindsight and f"    hindsight: {hindsight}\n")
    file.write_text(text)
    (folder / "memo.txt").write_text("a rate of two in ten")
    return file


def test_a_source_after_the_start_is_hindsight(tmp_path: Path) -> None:
    file = write(tmp_path)
    assert_one_line_error(
        invoke("validate", "--sources", file),
        rf"^{file}:12:19: parameters\.rate\.source\.ref: hindsight: 'late' is dated "
        r"2024-03-01, after the vantage date 2024-01-01; .*parameters\.rate\.hindsight",
    )
    assert invoke("validate", file).exit_code == 0  # only with --sources


def test_a_stated_reason_or_a_later_vantage_allows_it(tmp_path: Path) -> None:
    ok = invoke("validate", "--sources", write(tmp_path, hindsight="the rate was public"))
    assert ok.exit_code == 0, ok.output
    assert invoke("validate", "--sources", write(tmp_path, vantage="vantage: 2024-03-01")
                  ).exit_code == 0  # fmt: skip
    assert invoke("validate", "--sources", write(tmp_path, vantage="vantage: 2024-02-29")
                  ).exit_code == 2  # fmt: skip


@pytest.mark.parametrize(
    ("date", "flagged"),
    [("2023-12", None), ("2024-01", "possibly after"), ("2024", "possibly after"),
     ("2025", "after")],
)  # fmt: skip
def test_a_month_or_a_year_counts_when_it_may_end_after_the_vantage(
    tmp_path: Path, date: str, flagged: str | None
) -> None:
    result = invoke("validate", "--sources", write(tmp_path, date=f'"{date}"'))
    if flagged is None:
        assert result.exit_code == 0, result.output
    else:
        assert_one_line_error(result, f"dated {date}, {flagged} the vantage date 2024-01-01")


def test_a_date_that_is_not_iso_is_a_warning(tmp_path: Path) -> None:
    result = invoke("validate", "--sources", write(tmp_path, date='"early 2024 (inferred)"'))
    assert result.exit_code == 0
    assert f"{tmp_path / 'backtest.yaml'}:8:" in result.stderr
    assert "warning: hindsight not checked for source 'late': its date 'early 2024 " in (
        result.stderr
    )


def test_an_expert_of_a_pool_is_checked_too(tmp_path: Path) -> None:
    file = write(tmp_path)
    text = file.read_text().replace(
        """    value: 0.2
    source: {ref: late, quote: "a rate of two in ten"}
""",
        """    dist:
      kind: pool
      experts:
        - {name: a, weight: 1, dist: {kind: uniform, low: 0, high: 1}, assumption: a guess}
        - name: b
          weight: 1
          dist: {kind: uniform, low: 0, high: 1}
          source: {ref: late, quote: "a rate of two in ten"}
""",
    )
    file.write_text(text)
    assert_one_line_error(
        invoke("validate", "--sources", file),
        r":18:25: parameters\.rate\.dist\.experts\[1\]\.source\.ref: hindsight: 'late'",
    )


def test_a_library_parameter_is_located_in_the_library(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text(
        """\
sim: 1.1
sources:
  - {id: later, title: Later, file: memo.txt, date: 2025-01-01}
parameters:
  shared:
    value: 1
    source: {ref: later, quote: "two in ten"}
"""
    )
    file = write(tmp_path, date="2023-01-01")
    file.write_text(file.read_text().replace("sources:\n", "include: [lib.yaml]\nsources:\n", 1))
    assert_one_line_error(
        invoke("validate", "--sources", file),
        rf"^{tmp_path / 'lib.yaml'}:7:19: parameters\.shared\.source\.ref: hindsight: 'later'",
    )


def test_a_vantage_that_is_not_a_date_is_located(tmp_path: Path) -> None:
    file = write(tmp_path, vantage="vantage: soon")
    assert_one_line_error(invoke("validate", file), rf"^{file}:6:10: vantage: ")


def test_the_manifest_keeps_the_vantage_date(tmp_path: Path) -> None:
    file = write(tmp_path, vantage="vantage: 2024-02-01")
    sim.run(sim.load(file), branches=3, seed=1, out=tmp_path / "run")
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["vantage"] == "2024-02-01"


def test_source_dates() -> None:
    import datetime as dt

    assert source_date("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert source_date(" 2023 ") == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert source_date("2024-02-30") is None
    assert source_date("March 2024") is None
    assert source_date(None) is None


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"vantage": "vantage: 2024-02-01"}, r":6:1: vantage: `vantage` is format 1\.1"),
        (
            {"hindsight": "public"},
            r":13:5: parameters\.rate\.hindsight: `hindsight` is format 1\.1",
        ),
    ],
)
def test_vantage_and_hindsight_are_format_1_1(
    tmp_path: Path, options: dict[str, str], where: str
) -> None:
    file = write(tmp_path, **options)
    file.write_text(file.read_text().replace("sim: 1.1\n", "sim: 1\n"))
    assert_one_line_error(invoke("validate", file), where)


def test_the_experts_of_a_pool_a_variant_makes_are_checked_too(tmp_path: Path) -> None:
    file = write(tmp_path, hindsight="the rate was public")
    file.write_text(
        file.read_text()
        + """\
variants:
  pooled:
    parameters:
      base:
        dist:
          kind: pool
          experts:
            - {name: a, weight: 1, dist: {kind: uniform, low: 0, high: 1}, assumption: a guess}
            - name: b
              weight: 1
              dist: {kind: uniform, low: 0, high: 1}
              source: {ref: SOURCE, quote: "QUOTE"}
"""
    )
    text = file.read_text()
    file.write_text(text.replace("SOURCE", "nosuch").replace("QUOTE", "a rate of two in ten"))
    assert_one_line_error(
        invoke("validate", file),
        r":30:29: variants\.pooled\.parameters\.base\.dist\.experts\[1\]\.source\.ref: unknown "
        r"source 'nosuch'",
    )
    file.write_text(text.replace("SOURCE", "early").replace("QUOTE", "three in ten"))
    assert_one_line_error(
        invoke("validate", "--sources", file),
        r":30:\d+: variants\.pooled\.parameters\.base\.dist\.experts\[1\]\.source\.quote: the "
        r"quote is not in memo\.txt",
    )
    file.write_text(text.replace("SOURCE", "late").replace("QUOTE", "two in ten"))
    assert_one_line_error(
        invoke("validate", "--sources", file),
        r":30:29: variants\.pooled\.parameters\.base\.dist\.experts\[1\]\.source\.ref: "
        r"hindsight: 'late' is dated 2024-03-01",
    )
