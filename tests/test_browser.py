"""The HTML reports in a real browser: headless Chromium opens each kind of report and finds
no console error, no request beyond the page itself, no dialog, and every figure loaded and
drawn; it saves a screenshot of each (and a PDF print of one).

Screenshots go to the test's temporary folder, and to ``$SIM_SCREENSHOTS`` when that is set.
Skipped, with the reason, where Chromium (Debian's ``chromium``) or playwright is missing;
``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest
from _reports import SEED, png_is_drawn
from test_html_report import hostile_scenario
from typer.testing import CliRunner

from sim.analysis.evidence.indicators import indicators
from sim.cli import app
from sim.montecarlo.runner import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium with a fresh profile, driven over the DevTools protocol."""
    profile = tempfile.mkdtemp(prefix="sim-chromium-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1000, "height": 800},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def pages(report_results: Path) -> dict[str, Path]:
    """One report of each kind: a run, a run with everything, analyses alone, hostile text."""
    root = report_results
    hostile = root / "hostile"
    hostile.mkdir()
    run(hostile_scenario(hostile), branches=60, seed=SEED, out=hostile / "run")
    # an indicator table (as sim indicators --format csv writes it): the evidence section
    weighed = indicators(root / "dated", "crisis_by_2025", signposts=["heads", "time_to_crisis@6"])
    pacsv.write_csv(weighed.table(), root / "indicators.csv")
    kinds = {
        "run": [root / "dated"],
        "everything": [
            root / "dated", root / "dated__calm", root / "dated__tense", root / "sweep",
            root / "morris", root / "comparison.parquet", root / "indicators.csv",
        ],
        "analyses": [root / "sweep", root / "morris"],  # no run: a sweep and indices alone
        "hostile": [hostile / "run"],
    }  # fmt: skip
    written = {}
    for kind, paths in kinds.items():
        out = root / f"{kind}.html"
        result = CliRunner().invoke(app, ["report", *map(str, paths), "--html", str(out)])
        assert result.exit_code == 0, result.output
        written[kind] = out
    return written


def _keep(screenshot: Path) -> None:
    target = os.environ.get("SIM_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(target) / screenshot.name)


@pytest.mark.parametrize("kind", ["run", "everything", "analyses", "hostile"])
def test_a_report_opens_cleanly_in_chromium(
    browser: Any, pages: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url[:80]}"))
    url = pages[kind].resolve().as_uri()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load")
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
        " i.getBoundingClientRect().width, i.getBoundingClientRect().height])"
    )
    screenshot = tmp_path / f"report-{kind}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    _keep(screenshot)
    assert not problems, problems
    assert [r for r in requests if not r.startswith("data:") and r != url] == []
    assert images, "the report has no figures"
    assert all(done and w > 0 and h > 0 and bw > 0 and bh > 0 for done, w, h, bw, bh in images)
    # the first figures, as the browser drew them, are not blank
    for figure in page.locator("figure img").all()[:2]:
        assert png_is_drawn(figure.screenshot())
    assert png_is_drawn(screenshot.read_bytes())
    if kind == "hostile":
        assert page.title() == "<script>alert(1)</script>"
        assert page.locator("h1").inner_text() == "<script>alert(1)</script>"
        assert page.evaluate("document.scripts.length") == 0
    if kind == "everything":
        assert page.locator("#evidence-0 figure img").count() == 1  # indicators to watch
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3
        (tmp_path / "report-everything.pdf").write_bytes(pdf)
    page.close()
