"""A dated scenario with every outcome kind, and its results on disk, for tests of figures
and reports; and checks that a figure is not blank."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image

# A start date (dates on time axes), sources with quotes, an assumption, a variant with a
# description, and an outcome of each kind.
DATED = """\
sim: 1
name: dated
title: A dated crisis
description: A crisis hazard that grows with tension, for tests of figures and reports.
time: {unit: month, horizon: 36, start: 2024-01-01}
sources:
  - {id: memo, title: An internal memo, file: memo.txt}
parameters:
  base_rate:
    dist: {kind: uniform, low: 0.02, high: 0.08}
    doc: Monthly crisis hazard at zero tension
    source: {ref: memo, quote: "a crisis a year or two away", note: read as a rate}
  drift:
    dist: {kind: uniform, low: 0.0, high: 0.04}
    doc: Monthly rise of tension
    assumption: a guess
  coin: {dist: {kind: bernoulli, p: 0.4}, assumption: a coin}
state:
  tension: {init: 0.1, min: 0, max: 1}
  crisis: {init: false}
  shocks: {init: 0}
processes:
  - {kind: periodic, name: tension_drift, every: 1, set: {tension: "tension + drift"}}
  - {kind: event, name: shock, rate: "0.3", set: {shocks: "shocks + 1"}}
  - kind: event
    name: crisis_breaks_out
    rate: "base_rate * (1 + 4 * tension)"
    set: {crisis: true}
outcomes:
  - kind: probability
    name: crisis_by_2025
    when: crisis
    by: 2025-01-01
    doc: Does a crisis come within a year?
  - {kind: time_to, name: time_to_crisis, when: crisis, doc: "When does the crisis come?"}
  - {kind: value, name: tension_at_end, expr: tension}
  - {kind: value, name: shocks_at_end, expr: shocks}
  - {kind: probability, name: heads, when: "coin"}
stop_when: crisis
variants:
  calm: {description: Tension stays where it is, parameters: {drift: 0.0}}
  tense: {description: Tension rises fast, parameters: {drift: 0.06}}
"""

# Format 1.1's outputs: a stop that competes with the event, counts, times between two
# events, which came first, a conditional probability, a question, recorded trajectories.
KINDS = """\
sim: 1.1
name: kinds
title: Every kind of output
description: Two events, a collapse that ends a branch, and quantities recorded monthly.
time: {unit: month, horizon: 24, start: 2025-01-01}
parameters:
  rate_a: {value: 0.4, assumption: a test}
  rate_b: {dist: {kind: uniform, low: 0.05, high: 0.2}, assumption: a test}
  rate_stop: {value: 0.03, assumption: a test}
state:
  n_a: {init: 0}
  b: {init: false}
  level: {init: 0.0}
  stop: {init: false}
processes:
  - {kind: event, name: event_a, rate: rate_a, set: {n_a: "n_a + 1", level: "level + 0.5"}}
  - {kind: event, name: event_b, rate: "0 if b else rate_b", set: {b: "true"}}
  - {kind: event, name: collapse, rate: rate_stop, set: {stop: "true"}}
record: {every: 1, variables: [level], expressions: {tension: "n_a * 0.1"}}
outcomes:
  - {kind: time_to, name: time_to_b, when: b, question: "When does B happen first?"}
  - {kind: probability, name: b_by_end, when: b}
  - {kind: count, name: a_events, process: event_a}
  - {kind: time_between, name: a_to_b, from: "n_a >= 1", to: b}
  - {kind: first_of, name: first, conditions: {a: "n_a >= 1", b: b}}
  - {kind: probability, name: b_if_two_a, when: b, given: "n_a >= 2"}
stop_when: stop
variants:
  fast: {parameters: {rate_a: 0.8}}
"""

BRANCHES = 300
SEED = 5


def write_dated(directory: Path, text: str = DATED) -> Path:
    """Write the dated scenario (or ``text``) and its memo into ``directory``."""
    path = directory / "dated.yaml"
    path.write_text(text, encoding="utf-8")
    (directory / "memo.txt").write_text("We expect a crisis a year or two away.\n", "utf-8")
    return path


def make_results(root: Path) -> Path:
    """Write into ``root`` the dated scenario and results of every kind a report takes.

    A run with its two variants, a sweep over one parameter, a Morris sensitivity analysis
    and a comparison table (Parquet), all small enough for a few seconds.
    """
    import pyarrow.parquet as pq

    from sim.analysis.compare import compare_runs
    from sim.analysis.sensitivity import sensitivity
    from sim.analysis.sweep import Grid, sweep
    from sim.montecarlo.runner import run

    file = write_dated(root)
    run(file, branches=BRANCHES, seed=SEED, out=root / "dated")
    for variant in ("calm", "tense"):
        run(file, branches=BRANCHES, seed=SEED, out=root / f"dated__{variant}", variant=variant)
    sweep(file, Grid({"drift": [0.0, 0.02, 0.04]}), branches=100, seed=SEED, out=root / "sweep")
    sensitivity(file, method="morris", n=4, branches=5, seed=SEED, out=root / "morris",
                parameters=["base_rate", "drift"])  # fmt: skip
    table = compare_runs([root / "dated", root / "dated__calm", root / "dated__tense"]).table()
    pq.write_table(table, root / "comparison.parquet")
    return root


def make_kinds(root: Path) -> Path:
    """Write the 1.1 scenario and a run of it with its variant into ``root``."""
    from sim.montecarlo.runner import run

    file = root / "kinds.yaml"
    file.write_text(KINDS, encoding="utf-8")
    run(file, branches=BRANCHES, seed=SEED, out=root / "kinds")
    run(file, branches=BRANCHES, seed=SEED, out=root / "kinds__fast", variant="fast")
    return root


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def png_is_drawn(png: bytes) -> bool:
    """Whether a PNG has more than one colour and some in its middle (not a blank canvas)."""
    image = _pixels(png)
    h, w, _ = image.shape
    middle = image[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].reshape(-1, 3)
    return len(np.unique(image.reshape(-1, 3), axis=0)) > 1 and len(np.unique(middle, axis=0)) > 1


def axes_are_drawn(figure: object) -> bool:
    """Whether every visible axes of a matplotlib figure has more than one colour inside it."""
    from matplotlib.figure import Figure

    assert isinstance(figure, Figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60)
    image = _pixels(buffer.getvalue())
    height = image.shape[0]
    for ax in figure.axes:
        if not ax.get_visible() or not ax.has_data():
            continue
        box = ax.get_window_extent()
        x0, x1 = int(box.x0 * 60 / figure.dpi), int(box.x1 * 60 / figure.dpi)
        y0, y1 = int(box.y0 * 60 / figure.dpi), int(box.y1 * 60 / figure.dpi)
        inside = image[height - y1 : height - y0, x0:x1].reshape(-1, 3)
        if len(np.unique(inside, axis=0)) <= 1:
            return False
    return True


DATA_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def svg_figures(html: str) -> list[ElementTree.Element]:
    """Return every inline SVG figure of a page, decoded and parsed."""
    return [ElementTree.fromstring(base64.b64decode(m)) for m in DATA_URI.findall(html)]


def svg_is_drawn(svg: ElementTree.Element) -> bool:
    """Whether an SVG figure draws in more than one colour and has axes with content.

    matplotlib names the axes' groups ``axes_1`` and so on; inside them, paths (lines,
    bars, bands) must draw in at least two colours besides white, or an image (a heat
    map) must be drawn.
    """
    ns = "{http://www.w3.org/2000/svg}"
    colours: set[str] = set()
    images = 0
    axes = [g for g in svg.iter(f"{ns}g") if str(g.get("id", "")).startswith("axes_")]
    for group in axes:
        images += sum(1 for _ in group.iter(f"{ns}image"))
        for element in group.iter():
            style = element.get("style", "")
            colours.update(re.findall(r"(?:fill|stroke):\s*(#[0-9a-fA-F]{6})", style))
    colours.discard("#ffffff")
    return bool(axes) and (len(colours) >= 2 or (images > 0 and len(colours) >= 1))
