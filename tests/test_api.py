"""The public API, its reference page and the README's first example."""

import re
from pathlib import Path

from typer.testing import CliRunner

import sim
from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_PAGE = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")


def test_all_is_sorted_and_exported() -> None:
    assert sim.__all__ == sorted(sim.__all__)
    assert all(hasattr(sim, name) for name in sim.__all__)


def test_every_public_function_appears_in_the_api_page() -> None:
    functions = [n for n in sim.__all__ if n[0].islower() and not n.startswith("_")]
    missing = [name for name in functions if f"sim.{name}(" not in API_PAGE]
    assert missing == [], f"docs/reference/api.md does not show {missing}"


def test_the_readme_example_validates_runs_and_reports_a_typo(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(# coin.yaml\n.*?)```", README, re.S)
    assert block is not None
    good = tmp_path / "coin.yaml"
    good.write_text(block.group(1))
    runner = CliRunner()
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    result = sim.run(sim.load(good), branches=200, seed=7)
    assert set(result.summary["outcomes"]) == {"crisis_by_2027", "time_to_crisis"}
    bad = tmp_path / "coin_bad.yaml"
    bad.write_text(block.group(1).replace("(1 + 4 * tension)", "(1 + 4 * tensoin)"))
    shown = re.search(r"coin\.yaml(:\d+:\d+: .*)", README)
    assert shown is not None
    out = runner.invoke(app, ["validate", str(bad)])
    assert out.exit_code == 2
    assert out.output.strip() == f"{bad}{shown.group(1)}"


def test_the_api_page_lists_exactly_the_exports() -> None:
    section = re.search(r"^## At a glance\n(.*?)^## ", API_PAGE, re.S | re.M)
    assert section is not None
    listed = set(re.findall(r"`sim\.(\w+)", section.group(1)))
    assert listed == set(sim.__all__)


def test_import_sim_is_quick_and_pulls_in_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sim, sim.cli; "
        "print(sorted(m for m in ('scipy', 'pyarrow', 'SALib', 'dask', 'simpy', 'pydantic', "
        "'matplotlib', 'jinja2', 'playwright') if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
