from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

SCENARIO = """\
sim: 1
name: cited
title: Cited
description: A cited number.
time: {unit: month, horizon: 12}
sources:
  - {id: memo, title: Memo, file: memo.txt}
parameters:
  rate:
    value: 0.2
    source: {ref: memo, quote: "QUOTE"}
outcomes:
  - {kind: value, name: r, expr: rate}
"""


def write(folder: Path, quote: str, memo: str | None) -> Path:
    file = folder / "cited.yaml"
    file.write_text(SCENARIO.replace("QUOTE", quote))
    if memo is not None:
        (folder / "sources").mkdir()
        (folder / "sources" / "memo.txt").write_text(memo)
    return file


def test_every_shipped_quote_is_found_in_its_source() -> None:
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
    result = runner.invoke(app, ["validate", "--sources", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("quotes found") == len(files)


def test_a_quote_found_across_line_breaks_passes(tmp_path: Path) -> None:
    file = write(
        tmp_path, "rises by about  two points", "tension rises by\nabout two points a month"
    )
    assert runner.invoke(app, ["validate", "--sources", str(file)]).exit_code == 0


def test_a_quote_not_in_the_source_is_located_at_the_quote(tmp_path: Path) -> None:
    file = write(tmp_path, "rises by three points", "tension rises by about two points")
    result = runner.invoke(app, ["validate", "--sources", str(file)])
    assert result.exit_code == 2
    assert f"{file}:11:32: parameters.rate.source.quote: the quote is not in memo.txt" in (
        result.output
    )


def test_a_missing_source_file_is_located_at_its_declaration(tmp_path: Path) -> None:
    file = write(tmp_path, "anything", None)
    result = runner.invoke(app, ["validate", "--sources", str(file)])
    assert result.exit_code == 2
    assert f"{file}:7:35: sources[0].file: no file 'memo.txt'" in result.output
    assert runner.invoke(app, ["validate", str(file)]).exit_code == 0  # only with --sources
