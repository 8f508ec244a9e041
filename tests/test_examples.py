"""Every example in the README and docs/ runs: YAML validates, `sim` commands and Python execute.

Each page's fenced blocks run in order in one scratch directory that sees the repository's
``scenarios/``, ``docs/`` and ``bench/``: a YAML block whose first line is ``# NAME.yaml``
is written to ``NAME.yaml`` (and validated when it is a scenario), so the commands after it
can use it. A command that should fail says so: ``sim validate bad.yaml  # expect exit 2``,
and so does a file that should fail validation: ``# bad.yaml  # expect exit 2``.
Branch counts are cut down (``-n 10000`` runs 100 branches, ``--target-ci`` stops at
200) and ``sim`` commands run through the console entry point in this process (the imports
paid once, not once a command), so the whole tour stays quick; outputs are not compared,
exit statuses are. A block that must not run says
why in a comment just above it: ``<!-- skip-example: needs a dask cluster -->``. Commands
that are not ``sim`` (``pip``, ``dask``, ``git``, ``python bench/...``) are left alone, as
are blocks of printed output (no language, or ``text``), except that a ``text`` block just
after a command that is to fail must be the message it prints.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*skip-example:\s*(.+?)\s*-->\s*$")
MAX_BRANCHES = 100
LINKED = ("scenarios", "docs", "bench")


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: its language, text, first line number and skip reason."""

    page: Path
    lang: str
    text: str
    line: int
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """Yield the fenced blocks of ``page`` in order."""
    text = page.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        yield Block(page, match.group(1), match.group(2), line, skip.group(1) if skip else None)


def fewer_branches(text: str) -> str:
    """Cut branch counts to at most MAX_BRANCHES (``-n``, ``--branches``, ``branches=``)."""

    def cut(match: re.Match[str]) -> str:
        number = int(match.group(2).replace("_", ""))
        return f"{match.group(1)}{min(number, MAX_BRANCHES)}"

    text = re.sub(r"((?:^|\s)(?:-n|--branches)[ =])(\d[\d_]*)", cut, text)
    text = re.sub(r"(\bbranches=)(\d[\d_]*)", cut, text)
    if "--target-ci" in text and "--max-branches" not in text:
        text += f" -n {MAX_BRANCHES} --max-branches {2 * MAX_BRANCHES}"
    return text


def commands(block: Block) -> Iterator[str]:
    """Yield the shell commands of a bash or console block, continuation lines joined."""
    joined = block.text.replace("\\\n", " ")
    for raw in joined.splitlines():
        line = raw.strip()
        if block.lang == "console":
            if not line.startswith("$ "):
                continue  # printed output
            line = line[2:]
        if line and not line.startswith("#"):
            yield line


def run_command(line: str, cwd: Path, where: str) -> str | None:
    """Run one documented command if it is a ``sim`` command; return what a failure printed.

    It must exit 0, unless its comment says otherwise (``# expect exit 2``); then its stderr
    is returned, for a ``text`` block just after it that shows the message.
    """
    failure = None
    words = shlex.split(line, comments=True)
    for part in _and_parts(words):
        if not part or part[0] != "sim":
            continue
        said = re.search(r"#.*\bexpect exit (\d+)", line)
        expected = int(said.group(1)) if said else 0
        args = shlex.split(fewer_branches(shlex.join(part)))
        code, stderr = sim_in_process(args[1:], cwd)
        assert code == expected, (
            f"{where}: `{shlex.join(part)}` exited {code}, expected {expected}:\n"
            f"{stderr[-2000:]}\n(examples run in tests/test_examples.py; a block that "
            "must not run says why in <!-- skip-example: ... --> above it)"
        )
        failure = stderr if expected else None
    return failure


def sim_in_process(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``sim ARGS`` in ``cwd`` through the console entry point, in this process.

    Each command would spend most of a second importing the pipeline in a process of its
    own; here the imports are paid once. Warnings are printed (to the captured stderr), as
    the console script prints them, rather than raised as the test suite's setting would.
    """
    from sim.cli import main

    stderr = io.StringIO()
    previous = (Path.cwd(), sys.argv, os.environ.get("COLUMNS"))
    os.chdir(cwd)
    sys.argv = ["sim", *args]
    os.environ["COLUMNS"] = "120"
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(stderr),
        ):
            warnings.simplefilter("default")
            try:
                main()
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else int(done.code is not None)
    finally:
        os.chdir(previous[0])
        sys.argv = previous[1]
        if previous[2] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous[2]
    return code, stderr.getvalue()


def _and_parts(words: list[str]) -> Iterator[list[str]]:
    """Split a command line at ``&&``."""
    part: list[str] = []
    for word in words:
        if word == "&&":
            yield part
            part = []
        else:
            part.append(word)
    yield part


def check_yaml(block: Block, cwd: Path) -> None:
    """Parse a YAML block; write it where it names a file; validate it when it is a scenario."""
    data = yaml.safe_load(block.text)
    first = block.text.lstrip().splitlines()[0] if block.text.strip() else ""
    named = re.fullmatch(r"#\s*([\w./-]+\.ya?ml)\s*(#\s*expect exit \d+)?\s*", first)
    if named is not None:
        target = cwd / named.group(1)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
        if isinstance(data, dict) and "sim" in data:
            said = f"  {named.group(2)}" if named.group(2) else ""
            run_command(f"sim validate {shlex.quote(named.group(1))}{said}", cwd, block.where)


def run_python(block: Block, cwd: Path) -> None:
    """Execute a Python block in ``cwd`` (as a script would run there)."""
    code = compile(fewer_branches(block.text), block.where, "exec")
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        exec(code, {"__name__": "__main__"})
    finally:
        os.chdir(previous)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_example_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name)
    failure = None  # what the last command of the block before printed, if it was to fail
    for block in blocks(page):
        if block.skip is not None:
            failure = None
            continue
        if block.lang == "text" and failure is not None:
            assert block.text.strip() == failure.strip(), f"{block.where}: the message shown"
        failure = None
        if block.lang == "yaml":
            check_yaml(block, tmp_path)
        elif block.lang in ("bash", "console", "sh"):
            for line in commands(block):
                failure = run_command(line, tmp_path, block.where)
        elif block.lang == "python":
            run_python(block, tmp_path)


def test_every_fenced_block_has_a_known_language() -> None:
    known = {"", "text", "yaml", "bash", "console", "sh", "python", "json", "toml"}
    unknown = [f"{b.where} ```{b.lang}" for p in PAGES for b in blocks(p) if b.lang not in known]
    assert unknown == []


def test_branch_counts_are_cut_down() -> None:
    assert fewer_branches("sim run x.yaml -n 10000 -s 7") == "sim run x.yaml -n 100 -s 7"
    assert fewer_branches("sim run x.yaml --target-ci 0.01") == (
        "sim run x.yaml --target-ci 0.01 -n 100 --max-branches 200"
    )
    assert fewer_branches("sim run x.yaml --branches=50") == "sim run x.yaml --branches=50"
    assert fewer_branches("sim.run(m, branches=10_000)") == "sim.run(m, branches=100)"


def test_the_format_reference_names_every_field_of_the_schema() -> None:
    from sim.format.scenario import json_schema

    page = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    schema = json_schema()
    fields = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        fields |= set(definition.get("properties", {}))
    code = " ".join(re.findall(r"`([^`]+)`", page))  # the page's code spans
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    missing = sorted(f for f in fields - words if not re.match(r"p\d+$", f))
    assert missing == [], f"docs/scenario-format.md does not mention {missing}"
