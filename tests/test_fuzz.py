"""Property-based fuzzing: scenario documents and command lines that try to break sim.

Documents are mutated structurally from valid ones (a node replaced, deleted, retyped or
its key renamed; the text cut short) and validated; command lines are drawn from every
command's options with values good and bad, and run through the console entry point.
Whatever the input: no exception escapes but sim's own errors (as one located line and exit
status 2), every location lies inside the file, and a command that fails leaves nothing
behind. The examples are seeded and few enough to stay within seconds.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _runs import TINY
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main

DATA = Path(__file__).parent / "data"
SEEDS = [yaml.safe_load(TINY)] + [
    yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    for name in ("every_kind.yaml", "spec_example.yaml")
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): .+")


def run_main(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``sim ARGS`` through the console entry point in this process, in ``cwd``."""
    out, err = io.StringIO(), io.StringIO()
    argv, here = sys.argv, Path.cwd()
    sys.argv = ["sim", *args]
    try:
        with (
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main()
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 0
            else:
                code = 0
    finally:
        sys.argv = argv
        assert Path.cwd() == here
    return code, out.getvalue(), err.getvalue()


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def assert_located_inside(stderr: str, files: dict[str, str]) -> None:
    """Every ``FILE:LINE:COL:`` of ``stderr`` about one of ``files`` lies inside that file."""
    for line in stderr.splitlines():
        found = LOCATED.match(line)
        if found is None or found["file"] not in files:
            continue
        lines = files[found["file"]].split("\n")
        row, col = int(found["line"]), int(found["col"])
        assert 1 <= row <= max(1, len(lines)), line
        assert 1 <= col <= len(lines[row - 1]) + 1, line


# --- documents ----------------------------------------------------------------------------------

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1 +", "x ** 99", "log(-1)", "__import__('os')", "t", "true", "p_beta",
                     "9**9**9", "a.b", "[1][0]", "lambda: 0", "level if flag", "kind", "beta"]),
    st.dates(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["kind", "value", "dist", "x"]), st.integers(), max_size=2),
)  # fmt: skip


def places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path of every node below ``node`` (not the root itself)."""
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield (*path, key)
        yield from places(child, (*path, key))


def parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A valid document with one to three structural changes, as YAML or JSON text."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(places(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        holder, key = parent(doc, path), path[-1]
        how = draw(st.sampled_from(["replace", "delete", "retype", "rename"]))
        if how == "replace":
            holder[key] = draw(VALUES)
        elif how == "delete":
            del holder[key]
        elif how == "retype":
            old = holder[key]
            holder[key] = draw(st.sampled_from([[old], {"x": old}, str(old), 0, True, None]))
        elif isinstance(holder, dict):
            name = draw(st.one_of(st.text(max_size=8), st.just(f"{key}s"), st.just(str(key)[:-1])))
            holder[name] = holder.pop(key)
    if draw(st.booleans()):
        text = json.dumps(doc, default=str, allow_nan=True)
        ext = "json"
    else:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        ext = "yaml"
    if draw(st.integers(0, 9)) == 0:  # now and then, a file cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text, ext


@FUZZ
@given(mutated())
def test_a_mutated_document_is_valid_or_refused_with_located_lines(case: tuple[str, str]) -> None:
    text, ext = case
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / f"fuzzed.{ext}"
        path.write_text(text, encoding="utf-8")
        code, stdout, stderr = run_main(["validate", str(path)], folder)
        event(f"exit {code}")
        assert code in (0, 2), (code, stderr)
        assert "Traceback" not in stderr
        if code == 2:
            assert stdout == "" and stderr.strip()
            assert all(line.startswith(f"{path}:") for line in stderr.splitlines()), stderr
        assert_located_inside(stderr, {str(path): text})
        assert tree(folder) == {path.name}


@settings(FUZZ, max_examples=100)
@given(st.binary(max_size=200))
def test_bytes_that_are_no_document_are_refused_in_one_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "junk.yaml"
        path.write_bytes(data)
        code, _, stderr = run_main(["validate", str(path)], Path(scratch))
        assert code in (0, 2) and "Traceback" not in stderr
        if code == 2:
            assert stderr.strip()


# --- command lines ------------------------------------------------------------------------------

SMALL = ["1", "2", "0", "-3", str(2**63), "1e3", "abc", str(10**22)]
OPTIONS: dict[str, list[str]] = {
    "--seed": ["0", "7", "-1", str(2**63), "x", "1.5"],
    "--out": ["out", "out/deeper", "tiny.yaml", "notes.txt/sub", "."],
    "--set": ["pressure=0.5", "pressure=2", "nothing=1", "pressure", "boost=true", "=",
              "pressure={kind: beta, a: 1, b: 1}", "pressure={kind: beta, a: -1, b: 1}",
              "pressure=!!python/object/apply:os.system ['true']", "pressure={kind: beta"],
    "--variant": ["calm", "stormy", ""],
    "--executor": ["serial", "threads", ""],
    "--workers": ["2", "0", "-1"],
    "--chunk-size": ["1", "0", "-5", "x"],
    "--target-ci": ["0.2", "0", "0.7", "nan", "-1"],
    "--max-branches": ["50", "0", str(2**63)],
    "--grid": ["pressure=0.1,0.2", "pressure=", "pressure=5", "nope=1", "pressure=a,b",
               "pressure=0.1,0.1", "boost=1,2"],
    "--sample": ["lhs", "sobol", "grid"],
    "--range": ["pressure=0:1", "pressure=1:0", "pressure=0:9", "x=0:1", "pressure=a:b"],
    "--plan": ["missing.yaml", "bad.yaml", "tiny.yaml", "notes.txt"],
    "--variants": ["all", "calm", "nope", ",", ""],
    "--method": ["sobol", "morris", "magic"],
    "--parameter": ["pressure", "boost", "nope"],
    "--format": ["table", "json", "csv", "markdown", "xml"],
    "--branch": ["0", "5", "-1", str(2**63)],
    "--resume": ["out", "tiny.yaml", "missing", "."],
    "--scheduler": ["tcp://127.0.0.1:9"],
    "--series": ["level", "nope"],
    "--readme": ["tiny.yaml", "notes.txt", "missing.md"],
    "--dir": ["cmp", "tiny.yaml"],
}  # fmt: skip
FLAGS = ["--sources", "--strict", "-q", "--check", "--resume", "--library", "--help"]
POSITIONAL = ["tiny.yaml", "missing.yaml", "bad.yaml", "notes.txt", ".", "RUN", "out"]
# A valid, quick command line of each command, and the options it takes. Each fuzzed line
# is one of these with one or two changes, so that one bad value is not hidden behind
# another and the line gets deep into the command.
BASE: dict[str, tuple[list[str], list[str]]] = {
    "run": (["run", "tiny.yaml", "-n", "2", "-q"],
            ["--seed", "--out", "--set", "--variant", "--executor", "--workers", "--chunk-size",
             "--target-ci", "--max-branches", "--resume", "-n"]),
    "sweep": (["sweep", "tiny.yaml", "--grid", "pressure=0.2,0.4", "-n", "2", "-q"],
              ["--grid", "--sample", "--range", "--plan", "--seed", "--out", "--set",
               "--variant", "--executor", "--workers", "--resume", "--n", "-n"]),
    "compare": (["compare", "tiny.yaml", "-n", "2", "-q"],
                ["--variants", "--seed", "--set", "--executor", "--workers", "--format",
                 "--dir", "-n"]),
    "sensitivity": (["sensitivity", "tiny.yaml", "--method", "morris", "--n", "2", "-q"],
                    ["--method", "--parameter", "--seed", "--out", "--set", "--variant",
                     "--format", "--resume", "--n", "-n"]),
    "trace": (["trace", "tiny.yaml", "--branch", "1"],
              ["--branch", "--seed", "--variant", "--set", "--format"]),
    "summary": (["summary", "RUN"], ["--format", "--series"]),
    "validate": (["validate", "tiny.yaml"], ["--sources", "--strict"]),
    "list": (["list", "."], []),
    "report": (["report", "."], ["--readme", "--check"]),
    "schema": (["schema"], ["--library"]),
    "version": (["version"], []),
}  # fmt: skip
# Integer options at and past the edges of what they take (a 64-bit seed, a branch number).
EDGES = ["0", "-1", "1", "2", str(2**31), str(2**63 - 1), str(2**63), str(2**64), str(10**22),
         "1e3", "nan", "x"]  # fmt: skip
NUMERIC = {"--seed", "--branch", "--chunk-size", "--max-branches", "--workers", "-n", "--n"}


def value_of(name: str) -> st.SearchStrategy[str]:
    """Values of the option ``name``, good and bad."""
    if name in ("-n", "--n"):  # sizes stay small when valid: every run must stay quick
        return st.sampled_from(["1", "2", "3", *SMALL])
    if name in NUMERIC:
        return st.sampled_from(sorted({*OPTIONS.get(name, []), *EDGES}))
    if name in OPTIONS:
        return st.sampled_from(OPTIONS[name])
    return st.just("")  # a flag


def with_option(args: list[str], name: str, value: str) -> list[str]:
    """``args`` with ``name`` set to ``value`` (replaced if given, else added; a flag added)."""
    if name in args and value:
        i = args.index(name)
        return [*args[: i + 1], value, *args[i + 2 :]]
    return [*args, name, *([value] if value else [])]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A valid command line with one or two changes: an option set (to a good or bad value),
    an argument dropped, a stray argument or option added."""
    base, options = BASE[draw(st.sampled_from(sorted(BASE)))]
    args = list(base)
    for _ in range(draw(st.integers(1, 2))):
        how = draw(st.sampled_from(["own", "own", "own", "foreign", "drop", "positional", "flag"]))
        if how == "own" and options:
            name = draw(st.sampled_from(options))
            args = with_option(args, name, draw(value_of(name)))
        elif how == "foreign":
            name = draw(st.sampled_from(sorted(OPTIONS)))
            args = with_option(args, name, draw(value_of(name)))
        elif how == "drop" and len(args) > 1:
            del args[draw(st.integers(1, len(args) - 1))]
        elif how == "positional":
            args.insert(1, draw(st.sampled_from(POSITIONAL)))
        elif how == "flag":
            args.append(draw(st.sampled_from(FLAGS)))
    return args


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz_run")
    (folder / "tiny.yaml").write_text(TINY, encoding="utf-8")
    return sim.run(folder / "tiny.yaml", branches=8, out=folder / "run").directory  # type: ignore[return-value]


@settings(FUZZ, max_examples=200)
@given(args=command_lines())
def test_any_command_line_succeeds_or_fails_in_one_clean_way(
    args: list[str], finished_run: Path
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = {"tiny.yaml": TINY, "bad.yaml": "sim: 1\nname: Bad Name\n", "notes.txt": "mine\n"}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        before = tree(folder)
        line = [str(finished_run) if a == "RUN" else a for a in args]
        code, _, stderr = run_main(line, folder)
        event(f"{line[0]}: exit {code}")
        assert code in (0, 2), (line, code, stderr)
        assert "Traceback" not in stderr, (line, stderr)
        assert_located_inside(stderr, {**files, **{str(folder / n): t for n, t in files.items()}})
        if code == 2:
            assert stderr.strip(), line
            assert tree(folder) == before, (line, stderr)  # a failure leaves nothing behind
