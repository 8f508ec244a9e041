"""Through the real console entry point, every usage error is one line and exit status 2."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bench" / "engine_model.yaml"


def sim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", str(MODEL), "--executor", "nope"], "'nope' is not one of 'serial'"),
        (["run", str(MODEL), "-n", "abc"], "Invalid value for '--branches'"),
        (["bogus"], "No such command 'bogus'"),
        (["run", "--bogus"], "No such option: --bogus"),
        (["summary", "/no/such/run"], "/no/such/run"),
    ],
)
def test_usage_errors_are_one_line_with_exit_status_2(args: list[str], fragment: str) -> None:
    result = sim(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr


def test_an_output_path_under_a_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = sim("run", str(MODEL), "-n", "4", "-q", "-o", str(blocker / "sub"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_version_option_and_command_agree() -> None:
    assert sim("--version").stdout == sim("version").stdout != ""
