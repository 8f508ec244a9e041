import json
import math
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from sim.cli import app

MODEL = Path(__file__).resolve().parents[1] / "bench" / "engine_model.yaml"
runner = CliRunner()


def test_trace_agrees_exactly_with_the_row_of_a_full_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    ran = runner.invoke(app, ["run", str(MODEL), "-n", "6", "-s", "11", "-o", str(out), "--quiet"])
    assert ran.exit_code == 0, ran.output
    rows = pq.read_table(out / "branches.parquet").to_pylist()
    for branch in (0, 4):
        traced = runner.invoke(
            app, ["trace", str(MODEL), "--branch", str(branch), "-s", "11", "--format", "json"]
        )
        assert traced.exit_code == 0, traced.output
        payload = json.loads(traced.output)
        row = rows[branch]
        assert payload["t_end"] == row["t_end"]
        for name, value in payload["row"].items():
            expected = row[name]
            if isinstance(expected, float) and math.isnan(expected):
                assert value is None
            else:
                assert value == expected, name


def test_trace_table_lists_parameter_draws_and_state_changes() -> None:
    result = runner.invoke(app, ["trace", str(MODEL), "--branch", "0"])
    assert result.exit_code == 0
    assert "pressure: - -> " in result.output
    assert "drift" in result.output and "integration: 0.3 -> " in result.output
    assert "delivered = " in result.output


def test_trace_of_a_bad_file_is_one_located_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sim: 1\nname: Bad Name\n")
    result = runner.invoke(app, ["trace", str(bad), "--branch", "0"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{bad}:2:7: name:" in result.output
