from pathlib import Path

import yaml
from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_list_shows_every_shipped_scenario_with_its_title() -> None:
    result = runner.invoke(app, ["list", str(ROOT / "scenarios")])
    assert result.exit_code == 0, result.output
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(files) >= 5
    for file in files:
        title = yaml.safe_load(file.read_text(encoding="utf-8"))["title"]
        line = next(line for line in result.output.splitlines() if file.name in line)
        assert title in line
        assert "INVALID" not in line


def test_list_marks_an_invalid_file_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a_bad.yaml").write_text("sim: 1\nname: x\n")
    good = (ROOT / "bench" / "engine_model.yaml").read_text()
    (tmp_path / "b_good.yaml").write_text(good)
    result = runner.invoke(app, ["list", str(tmp_path)])
    assert result.exit_code == 0
    first, second = result.output.splitlines()
    assert "a_bad.yaml" in first and "INVALID" in first and "missing field" in first
    assert "b_good.yaml" in second and "Engine benchmark model" in second


def test_list_of_a_folder_without_scenarios_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", str(tmp_path)])
    assert result.exit_code == 2
    assert "no scenario files" in result.output
