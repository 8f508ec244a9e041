import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_the_shipped_scenarios_are_data_files_of_the_package() -> None:
    # What pyproject.toml ships must cover every file of scenarios/, sources included.
    import tomllib

    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = [p for globs in shipped["data-files"].values() for p in globs]
    files = [p for p in (ROOT / "scenarios").rglob("*") if p.is_file()]
    assert files
    for file in files:
        relative = file.relative_to(ROOT)
        assert any(relative.match(pattern) for pattern in patterns), relative


@pytest.mark.slow
def test_sim_list_works_after_a_non_editable_install(tmp_path: Path) -> None:
    # `pip install .` (not -e) puts the package in site-packages, away from scenarios/.
    pytest.importorskip("wheel", reason="building without isolation needs wheel (in [dev])")
    source, target = tmp_path / "source", tmp_path / "installed"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".ci-venv", "results", "*.egg-info", "build", "__pycache__", ".*cache"
    ))  # fmt: skip
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
               "--no-build-isolation", "--target", str(target), str(source)]  # fmt: skip
    built = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run(
        [sys.executable, "-m", "sim", "list"], capture_output=True, text=True, check=False,
        cwd=elsewhere, env={**os.environ, "PYTHONPATH": str(target)}, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    names = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
    assert [line.split()[0].rsplit("/", 1)[-1] for line in listed.stdout.splitlines()] == names
    assert str(target) in listed.stdout  # the installed copies, not the repository's
    assert "INVALID" not in listed.stdout
