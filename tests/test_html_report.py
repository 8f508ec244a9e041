"""``sim report --html``: a self-contained page with a brief, every outcome and its figure,
untrusted scenario text escaped, and clear errors for the wrong input."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _reports import (
    BRANCHES,
    DATED,
    SEED,
    make_kinds,
    svg_figures,
    svg_is_drawn,
    write_dated,
)
from typer.testing import CliRunner

from sim.analysis.compare import compare_runs
from sim.analysis.sensitivity import open_sensitivity
from sim.analysis.sweep import open_sweep
from sim.cli import app
from sim.montecarlo.results import open_run
from sim.montecarlo.runner import run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:SALib.*")

OUTCOMES = ("crisis_by_2025", "time_to_crisis", "tension_at_end", "shocks_at_end", "heads")


@pytest.fixture(scope="module")
def results(report_results: Path) -> Path:
    """A run with its variants, a sweep, a sensitivity analysis and a comparison table."""
    return report_results


def report(tmp_path: Path, *paths: Path | str) -> tuple[int, str, str]:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *map(str, paths), "--html", str(out)])
    html = out.read_text(encoding="utf-8") if out.is_file() else ""
    return result.exit_code, result.output, html


class _Resources(HTMLParser):
    """Collects every tag, and every attribute that could load or run something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.loads: list[tuple[str, str, str]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("src", "href", "srcset", "action", "data", "poster"):
                self.loads.append((tag, name, value or ""))


def resources(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


def test_the_page_has_a_brief_every_outcome_and_a_drawn_figure_for_each(
    results: Path, tmp_path: Path
) -> None:
    code, output, html = report(tmp_path, results / "dated")
    assert code == 0, output
    assert output.strip() == f"report: {tmp_path / 'report.html'}"
    for name in OUTCOMES:
        assert f'id="outcome-{name}"' in html and f"<code>{name}</code>" in html
    figures = svg_figures(html)
    assert len(figures) == len(OUTCOMES)
    assert all(svg_is_drawn(svg) for svg in figures)
    # the brief leads with the outcomes that ask a question, in words
    brief = html.split('id="brief"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Does a crisis come within a year?</strong>" in brief
    assert "<strong>When does the crisis come?</strong>" in brief
    assert "95% interval" in brief and "Uncertain parameters that matter most" in brief
    # title, description, dates, seed, branches, version
    assert "<h1>A dated crisis</h1>" in html
    assert "<dt>t = 0</dt><dd>01 January 2024</dd>" in html
    assert f"<dt>seed</dt><dd>{SEED}</dd>" in html
    assert f"<dt>branches</dt><dd>{BRANCHES}</dd>" in html
    assert "<dt>sim version</dt>" in html
    # the parameters with their distributions, quotes and assumptions
    assert "uniform(low=0.02, high=0.08)" in html
    assert "“a crisis a year or two away”<cite>An internal memo</cite>" in html
    assert '<span class="tag">assumption</span> a guess' in html


def test_the_brief_states_the_estimate_of_the_summary(results: Path, tmp_path: Path) -> None:
    _, _, html = report(tmp_path, results / "dated")
    entry = json.loads((results / "dated" / "summary.json").read_text())["outcomes"]
    p = entry["crisis_by_2025"]
    assert f"{100 * p['estimate']:.1f}%</strong> (95% interval {100 * p['ci_low']:.1f}% to " in html


def test_variants_sweeps_sensitivity_and_tables_get_their_sections(
    results: Path, tmp_path: Path
) -> None:
    code, output, html = report(
        tmp_path, results / "dated", results / "dated__calm", results / "dated__tense",
        results / "sweep", results / "morris", results / "comparison.parquet",
    )  # fmt: skip
    assert code == 0, output
    for anchor in ("variants", "sweep-0", "sensitivity-0", "comparison-0"):
        assert f'<section id="{anchor}">' in html
    assert "Tension rises fast" in html  # the variant's description
    assert "Variants that move it most" in html
    figures = svg_figures(html)
    assert len(figures) > len(OUTCOMES) + 3
    assert all(svg_is_drawn(svg) for svg in figures)


def test_the_page_loads_nothing_and_runs_nothing(results: Path, tmp_path: Path) -> None:
    _, _, html = report(tmp_path, results / "dated", results / "dated__calm", results / "sweep")
    found = resources(html)
    assert "script" not in found.tags and not found.handlers
    for tag, attribute, value in found.loads:
        if attribute == "href":
            assert tag == "a" and value.startswith("#"), (tag, value)
        else:
            assert value.startswith("data:image/svg+xml;base64,"), (tag, value[:40])
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in html
    assert "@import" not in html and "url(" not in html


HOSTILE = "<script>alert(1)</script>"


def hostile_scenario(directory: Path) -> Path:
    """The dated scenario with markup in every text that reaches the page."""
    text = (
        DATED.replace("title: A dated crisis", f"title: '{HOSTILE}'")
        .replace(
            "description: A crisis hazard that grows with tension, for tests of figures and "
            "reports.",
            "description: '<img src=x onerror=alert(2)> & \"quotes\"'",
        )
        .replace("doc: Monthly crisis hazard at zero tension", f"doc: '{HOSTILE}'")
        .replace('quote: "a crisis a year or two away"', "quote: '<b>a crisis</b>'")
        .replace("title: An internal memo", "title: '<iframe src=https://example.org>'")
        .replace("assumption: a guess", "assumption: '<a href=https://example.org>x</a>'")
        .replace("doc: Does a crisis come within a year?", f"doc: '{HOSTILE} $5 $6'")
        .replace("description: Tension rises fast", "description: '<svg onload=alert(3)>'")
    )
    path = write_dated(directory, text)
    (directory / "memo.txt").write_text("<b>a crisis</b>\n", encoding="utf-8")
    return path


def test_scenario_text_is_escaped_everywhere(tmp_path: Path) -> None:
    file = hostile_scenario(tmp_path)
    run(file, branches=60, seed=SEED, out=tmp_path / "base")
    run(file, branches=60, seed=SEED, out=tmp_path / "tense", variant="tense")
    code, output, html = report(tmp_path, tmp_path / "base", tmp_path / "tense")
    assert code == 0, output
    found = resources(html)
    assert "script" not in found.tags and "iframe" not in found.tags and "svg" not in found.tags
    assert not found.handlers and "img" in found.tags
    assert all(v.startswith(("data:", "#")) for _, _, v in found.loads)
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &#34;quotes&#34;" in html
    assert "&lt;iframe src=https://example.org&gt;" in html
    assert "&lt;svg onload=alert(3)&gt;" in html
    # and in the figures' own text (SVG inside data URIs), escaped as XML
    assert all(svg_is_drawn(svg) for svg in svg_figures(html))
    texts = " ".join("".join(svg.itertext()) for svg in svg_figures(html))
    assert f"{HOSTILE} $5 $6" in texts  # shown as written: no markup, no mathematics


def test_a_directory_of_the_wrong_kind_or_an_incomplete_run_is_exit_status_2(
    results: Path, tmp_path: Path
) -> None:
    code, output, html = report(tmp_path, results)
    assert code == 2 and not html
    assert output.strip().startswith(f"{results}: not a run, sweep or sensitivity directory")
    partial = tmp_path / "half.partial"
    shutil.copytree(results / "dated", partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "incomplete"}))
    code, output, _ = report(tmp_path, tmp_path / "half")
    assert code == 2
    assert output.strip().endswith(f"finish it with 'sim run --resume {tmp_path / 'half'}'")
    other = tmp_path / "other"
    other.mkdir()
    run(write_dated(other, DATED.replace("name: dated", "name: other")), branches=20,
        seed=SEED, out=other / "run")  # fmt: skip
    code, output, _ = report(tmp_path, results / "dated", other / "run")
    assert code == 2
    assert output.strip() == (
        f"{other / 'run'}: a result of scenario 'other', but {results / 'dated'} is of "
        "'dated'; a report covers one scenario"
    )
    result = CliRunner().invoke(app, ["report", "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "--html needs at least one" in result.output
    result = CliRunner().invoke(app, ["report", str(results / "dated"), "--html", "x.txt"])
    assert result.exit_code == 2 and "--html x.txt: expected an .html file name" in result.output


def test_run_with_report_writes_the_page_into_the_run_directory(tmp_path: Path) -> None:
    file = write_dated(tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", str(file), "-n", "50", "-s", "1", "-o", str(out), "--report", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"report: {out / 'report.html'}")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'id="outcome-{n}"' in html for n in OUTCOMES)
    assert open_run(out).summary["branches"] == 50  # still a run directory


def test_notebooks_show_rich_tables_and_figures(results: Path) -> None:
    shown = [
        open_run(results / "dated")._repr_html_(),
        open_sweep(results / "sweep")._repr_html_(),
        open_sensitivity(results / "morris")._repr_html_(),
        compare_runs([results / "dated", results / "dated__calm"])._repr_html_(),
    ]
    for html in shown:
        assert html is not None and "<table>" in html and "<th" in html
        assert re.search(r'<img src="data:image/svg\+xml;base64,', html)
        assert all(svg_is_drawn(svg) for svg in svg_figures(html))
    assert "crisis_by_2025" in shown[0] and "drift" in shown[1] and "mu_star" in shown[2]


ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_links_an_example_report_and_a_figure_of_the_reference_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = "docs/examples/belarus_between_moscow_and_beijing.html"
    figure = "docs/figures/time_to_annexation.png"
    assert f"]({page})" in readme and f"]({figure})" in readme
    assert (ROOT / figure).read_bytes().startswith(b"\x89PNG")
    html = (ROOT / page).read_text(encoding="utf-8")
    runs = ROOT / "results" / "belarus_between_moscow_and_beijing"
    summary = json.loads((runs / "summary.json").read_text())["outcomes"]
    assert all(f'id="outcome-{name}"' in html for name in summary)
    p = summary["annexed_by_feb_2033"]
    assert f"{100 * p['estimate']:.1f}%</strong> (95% interval {100 * p['ci_low']:.1f}%" in html
    assert all(svg_is_drawn(svg) for svg in svg_figures(html))


def test_the_outputs_of_format_1_1_are_reported(tmp_path: Path) -> None:
    root = make_kinds(tmp_path)
    code, output, html = report(tmp_path, root / "kinds", root / "kinds__fast")
    assert code == 0, output
    for name in ("time_to_b", "b_by_end", "a_events", "a_to_b", "first", "b_if_two_a"):
        assert f'id="outcome-{name}"' in html
    assert "<strong>When does B happen first?</strong>" in html  # the question leads the brief
    assert '<section id="trajectories">' in html and "level over time" in html
    first = json.loads((root / "kinds" / "summary.json").read_text())["outcomes"]["first"]
    shares = " · ".join(
        f"{k} {100 * v['estimate']:.1f}%" for k, v in first["categories"].items()
    )  # which condition came first: each one's share, in the table of runs
    assert f'<td class="num">{shares}</td>' in html
    figures = svg_figures(html)
    assert all(svg_is_drawn(svg) for svg in figures)
    texts = " ".join("".join(svg.itertext()) for svg in figures)
    assert "Aalen–Johansen cumulative incidence" in texts
