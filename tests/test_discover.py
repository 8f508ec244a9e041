"""`sim discover`: PRIM recovers a box planted in a synthetic run; importance ranks its sides."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from _evidence import synthetic_run
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.errors import UsageError

pytest.importorskip("ema_workbench")

N = 2000


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outcome is true exactly when a < 0.3 and b > 0.6; c is noise, d a fixed value."""
    rng = np.random.default_rng(3)
    a, b, c = rng.uniform(size=N), rng.uniform(size=N), rng.uniform(size=N)
    columns = {"a": a, "b": b, "c": c, "d": np.ones(N), "hit": (a < 0.3) & (b > 0.6),
               "score": 10 * a + b, "expert": np.where(c < 0.5, "hawk", "dove")}  # fmt: skip
    kinds = {"hit": "probability", "score": "value"}
    return synthetic_run(tmp_path_factory.mktemp("prim") / "run", columns, kinds)


def test_prim_recovers_the_planted_box(planted: Path) -> None:
    result = sim.discover(planted, "hit")
    box = {r["parameter"]: r for r in result.box}
    chosen = result.trajectory[result.chosen]
    assert chosen["coverage"] >= 0.8 and chosen["density"] >= 0.95 and chosen["restricted"] == 2
    # the peeled edges sit within a peel (5% of the remaining branches) of the planted ones
    assert box["a"]["restricted"] and 0.27 <= box["a"]["high"] <= 0.31
    assert box["b"]["restricted"] and 0.57 <= box["b"]["low"] <= 0.63
    assert not box["c"]["restricted"] and "d" not in box  # a fixed parameter is left out
    assert box["a"]["qp_value"] < 1e-10 and box["b"]["qp_value"] < 1e-10
    assert [r["parameter"] for r in result.importance][:2] in (["a", "b"], ["b", "a"])
    assert result.base_rate == pytest.approx(float(np.mean(_hits(planted))))
    coverages = [t["coverage"] for t in result.trajectory]
    assert coverages[0] == 1.0 and all(x >= y for x, y in itertools.pairwise(coverages))


def _hits(run: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    return pq.read_table(run / "branches.parquet", columns=["hit"]).column("hit").to_numpy()


def test_a_number_outcome_needs_a_threshold(planted: Path) -> None:
    with pytest.raises(UsageError, match="needs --threshold"):
        sim.discover(planted, "score")
    result = sim.discover(planted, "score", threshold="< 3")
    assert result.outcome == "score < 3"
    box = {r["parameter"]: r for r in result.box}
    assert box["a"]["restricted"] and box["a"]["high"] < 0.32


def test_the_command_prints_every_format(planted: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["discover", str(planted), "--outcome", "hit"])
    assert table.exit_code == 0, table.output
    assert "the densest box with coverage >= 0.8" in table.output
    assert "Peeling trajectory" in table.output and "chosen" in table.output
    data = json.loads(runner.invoke(app, ["discover", str(planted), "--outcome", "hit",
                                          "-f", "json"]).output)  # fmt: skip
    assert data["chosen"]["restricted"] == 2 and data["importance"][0]["rank"] == 1
    csv = runner.invoke(app, ["discover", str(planted), "--outcome", "hit", "-f", "csv"])
    assert csv.output.splitlines()[0].startswith("parameter,restricted,low,high,values,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "hti"], "no outcome or indicator 'hti' (did you mean 'hit'?)"),
        (["--outcome", "score", "--threshold", "lots"], "expected a number with an optional"),
        (["--outcome", "hit", "--threshold", "3"], "it needs none"),
        (["--outcome", "hit", "--min-coverage", "0"], "--min-coverage must be in (0, 1]"),
    ],
)
def test_bad_discover_options_exit_2(planted: Path, args: list[str], message: str) -> None:
    out = CliRunner().invoke(app, ["discover", str(planted), *args])
    assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output


def test_the_trajectory_title_says_which_steps_it_shows() -> None:
    from sim.cli.discover import _ordinal

    assert [_ordinal(n) for n in (1, 2, 3, 4, 5, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "5th", "11th", "12th", "13th", "21st", "22nd", "23rd",
        "101st", "111th",
    ]  # fmt: skip
