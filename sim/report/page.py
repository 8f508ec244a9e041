"""The HTML report: one self-contained page of a scenario's results, with a brief on top.

The page holds everything it shows: figures are SVG ``data:`` URIs, the style sheet is
inline, and a Content-Security-Policy forbids loading anything else (and running any
script), so it opens offline, mails as one file and prints cleanly to PDF. Every text of
the scenario reaches it through Jinja2 with autoescaping. A report reads summaries, and
from ``branches.parquet`` only the columns its figures draw (and the first 100,000 rows
for rank correlations), so that a run of a million branches is reported in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import PackageLoader

from sim.analysis.compare import compare_runs
from sim.analysis.views import (
    comparison_figure,
    sensitivity_outcomes,
    sweep_outcomes,
)
from sim.errors import UsageError
from sim.model.compiled import CompiledModel
from sim.montecarlo.results import RunResult
from sim.montecarlo.views import (
    FIGURES,
    describe_outcome,
    estimate_text,
    footer,
    humanise,
    interval_text,
    model_of,
    outcome_figure,
    run_label,
    time_axis,
    trajectories,
    trajectory_figure,
)
from sim.report.analyses import comparison_section, sensitivity_section, sweep_section
from sim.report.brief import (
    Span,
    difference_words,
    driver_words,
    estimate_words,
    plain,
    strong,
    variant_words,
)
from sim.report.drivers import SAMPLE, Driver, rank_correlations, sensitivity_drivers
from sim.report.evidence import evidence_section, evidence_tables, indicator_lines
from sim.report.inputs import Inputs, gather
from sim.report.parts import Citation, Image, OutcomeSection, ParameterRow, Section
from sim.version import __version__
from sim.views.frame import data_uri
from sim.views.html import Table, environment
from sim.views.text import number
from sim.views.timeaxis import TimeAxis

__all__ = ["Page", "build_page", "render_page", "report_html", "write_report"]

_ENV = environment(PackageLoader("sim.report", "templates"))
_HEADLINES = 6  # outcomes in the brief
_MAX_RUNS = 8  # runs drawn side by side in one figure
_MAX_TRAJECTORIES = 12  # fan charts in a report
Rows = Mapping[str, list[Mapping[str, Any]]]


@dataclass(frozen=True)
class Page:
    """Everything the report's template shows."""

    title: str
    name: str
    description: str
    facts: list[tuple[str, str]]
    warnings: list[str]
    brief: list[list[Span]]
    outcomes: list[OutcomeSection]
    sections: list[Section]
    parameters: list[ParameterRow]
    notes: list[str]


# --- assembling ---------------------------------------------------------------------------------


def _headlines(
    model: CompiledModel | None, names: Sequence[str], kinds: Mapping[str, str]
) -> list[str]:
    """Return the outcomes the brief leads with: those with a question, else the probabilities."""
    asked = [n for n in names if describe_outcome(model, n)[0]]
    if asked:
        return asked
    chances = [n for n in names if kinds.get(n) == "probability"]
    return chances or list(names)


def _comparisons(inputs: Inputs, names: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Return each outcome's comparison rows: from the tables given, else from the runs.

    Runs are compared one outcome at a time, so that only that outcome's columns are read.
    """
    found: dict[str, list[Mapping[str, Any]]] = {}
    for table in inputs.comparisons:
        for row in table.rows:
            found.setdefault(str(row["outcome"]), []).append(row)
    if found or len(inputs.runs) < 2:
        return found
    labels = inputs.labels
    directories = [r.directory for r in inputs.runs]
    if any(d is None for d in directories):
        return found
    for name in names:
        comparison = compare_runs(
            [d for d in directories if d is not None], outcomes=[name], labels=labels
        )
        found[name] = [dict(r) for r in comparison.rows]
    return found


def _drivers(inputs: Inputs, names: Sequence[str]) -> tuple[Mapping[str, list[Driver]], str]:
    """Return the parameters that matter most for each outcome, and where that comes from."""
    for result in inputs.sensitivities:
        found = sensitivity_drivers(result)
        if any(n in found for n in names):
            method = str(result.manifest.get("method"))
            return found, f"from the {method} sensitivity analysis in {result.directory}"
    if inputs.runs:
        base = inputs.runs[0]
        found = rank_correlations(base, names)
        shown = min(SAMPLE, int(base.manifest.get("branches") or SAMPLE))
        return found, f"Spearman rank correlations over the baseline's first {shown:,} branches"
    return {}, ""


def _facts(
    inputs: Inputs, model: CompiledModel | None, axis: TimeAxis | None
) -> list[tuple[str, str]]:
    manifest = inputs.manifest
    facts: list[tuple[str, str]] = []
    stated = manifest.get("vantage")
    if stated is None and model is not None and model.scenario is not None:
        stated = getattr(model.scenario, "vantage", None)
    if stated is not None:
        facts.append(("vantage date", f"{_date_text(stated)}"))
    elif axis is not None and axis.start is not None:  # the default: written as of t = 0
        facts.append(("vantage date", f"{axis.start:%d %B %Y} (t = 0; none stated)"))
    if axis is not None and axis.start is not None:
        facts.append(("t = 0", f"{axis.start:%d %B %Y}"))
    if axis is not None:
        facts.append(
            (
                "horizon",
                f"{axis.span(axis.horizon)}"
                + (f" ({axis.when(axis.horizon)})" if axis.dated else ""),
            )
        )
    facts.append(("scenario file", str(manifest.get("file", ""))))
    if manifest.get("branches") is not None:
        facts.append(("branches", f"{int(manifest['branches']):,}"))
    facts.append(("seed", str(manifest.get("seed", ""))))
    if manifest.get("engine"):
        facts.append(("engine", str(manifest["engine"])))
    if len(inputs.runs) > 1:
        facts.append(("runs", ", ".join(inputs.labels)))
    elif inputs.runs and run_label(inputs.runs[0].manifest) != "baseline":
        facts.append(("run", run_label(inputs.runs[0].manifest)))
    facts.append(("sim version", str(manifest.get("sim_version", ""))))
    if manifest.get("finished_at"):
        facts.append(("run finished", str(manifest["finished_at"])[:16].replace("T", " ")))
    return facts


def _date_text(value: Any) -> str:
    """A date as the page writes it (``1 March 2023``); other text as it is."""
    try:
        when = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{when.day} {when:%B %Y}"


def _warnings(inputs: Inputs, model: CompiledModel | None) -> list[str]:
    manifest = inputs.manifest
    if model is None:
        return [
            f"The scenario file {manifest.get('file')!r} could not be read: the page shows "
            "the numbers without the scenario's questions, dates and parameters."
        ]
    notes = []
    if manifest.get("sha256") and model.source_sha256 != manifest.get("sha256"):
        notes.append(
            f"The scenario file {manifest.get('file')} has changed since the run: titles, "
            "questions and parameters are shown as the file reads now."
        )
    if str(manifest.get("sim_version", __version__)) != __version__:
        notes.append(
            f"The run was made by sim {manifest.get('sim_version')}; this is sim {__version__}."
        )
    return notes


def _outcome_section(
    inputs: Inputs,
    name: str,
    model: CompiledModel | None,
    axis: TimeAxis | None,
    rows: Sequence[Mapping[str, Any]],
    drivers: Sequence[Driver] | None,
) -> OutcomeSection:
    runs = list(inputs.runs[:_MAX_RUNS])
    base = runs[0]
    entry = base.summary["outcomes"][name]
    kind = str(entry.get("kind"))
    question, measures = describe_outcome(model, name)
    image = None
    if kind in FIGURES:  # an outcome kind without a figure yet is reported in words
        figure = outcome_figure(runs, name, model=model, labels=inputs.labels[:_MAX_RUNS])
        image = Image(data_uri(figure), f"figure of {name}: {measures}")
    lines = []
    if rows:
        lines.append(variant_words(rows, model.unit if model is not None else ""))
    if drivers is not None:
        lines.append(driver_words(drivers))
    return OutcomeSection(
        anchor=f"outcome-{name}",
        name=name,
        kind=kind,
        title=question or humanise(name),
        measures=measures,
        words=estimate_words(entry, axis),
        lines=lines,
        image=image,
        table=_variant_table(inputs, name, axis, rows),
    )


def _variant_table(
    inputs: Inputs, name: str, axis: TimeAxis | None, rows: Sequence[Mapping[str, Any]]
) -> Table | None:
    if len(inputs.runs) < 2:
        return None
    unit = axis.unit if axis is not None else ""
    differences: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        differences.setdefault(str(row["run"]), []).append(row)
    body = []
    for run, label in zip(inputs.runs, inputs.labels, strict=True):
        entry = run.summary["outcomes"].get(name, {})
        mine = differences.get(label, [])
        difference = "; ".join(
            (f"{r['category']} " if r.get("category") else "") + difference_words(r, unit)
            for r in mine
        )
        mark = "*" if any(r.get("significant") for r in mine) else ""
        body.append(
            [label, estimate_text(entry, axis), interval_text(entry, axis), difference, mark]
        )
    measure = str(rows[0]["measure"]) if rows else ""
    how = {"rmst": "difference in restricted mean time", "proportion": "difference"}
    return Table(
        ["run", "estimate", "95% interval", how.get(measure, "difference"), ""],
        body,
        frozenset({1, 2, 3}),
    )


def _variants_section(
    inputs: Inputs, model: CompiledModel | None, headlines: Sequence[str], rows: Rows
) -> Section | None:
    if len(inputs.runs) < 2 and not inputs.comparisons:
        return None
    declared = model.scenario.variants if model is not None and model.scenario else {}
    body = []
    for run, label in zip(inputs.runs[1:], inputs.labels[1:], strict=True):
        variant = run.manifest.get("variant")
        spec = declared.get(str(variant)) if variant else None
        changes = [f"{k} = {_value_text(v)}" for k, v in (spec.parameters if spec else {}).items()]
        changes += [f"{k} = {v}" for k, v in (run.manifest.get("overrides") or {}).items()]
        what = (spec.description or "") if spec else ""
        body.append([label, " ".join(what.split()), "; ".join(changes)])
    images = []
    foot = footer(inputs.manifest)
    for name in [n for n in headlines if rows.get(n)][:_HEADLINES]:
        figure = comparison_figure(rows[name], name, model=model, foot=foot)
        images.append(Image(data_uri(figure), f"differences of {name} to the baseline"))
    text = (
        "Every run shares the baseline's seed and branch numbers, so branch i of each drew the "
        "same random numbers wherever the scenario's structure agrees (common random numbers): "
        "the differences are paired, and much more precise than those of independent runs."
        if inputs.runs and len(inputs.runs) > 1
        else "Differences as the comparison tables give them."
    )
    table = Table(["run", "what it stands for", "what it changes"], body) if body else None
    return Section("variants", "Variants", text, images, table)


def _trajectories_section(base: RunResult | None, model: CompiledModel | None) -> Section | None:
    """The fan chart of every quantity the scenario records over time (``record:``)."""
    names = trajectories(base) if base is not None else []
    if base is None or not names:
        return None
    images = [
        Image(data_uri(trajectory_figure(base, n, model=model)), f"{n} over time")
        for n in names[:_MAX_TRAJECTORIES]
    ]
    text = (
        "Quantities recorded at regular times on every branch: the median, the middle half "
        "and the middle 90% of the branches at each time (from the summary's percentiles)."
    )
    return Section("trajectories", "Trajectories", text, images)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    dist = getattr(value, "dist", None)
    if dist is not None:
        return str(dist.describe())
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def _parameters(model: CompiledModel | None) -> list[ParameterRow]:
    if model is None or model.scenario is None:
        return []
    titles = {s.id: s.title for s in model.scenario.sources}
    rows = []
    for name, p in model.scenario.parameters.items():
        if p.dist is not None:
            distribution, spread = p.dist.describe(), _spread(p.dist)
        else:
            distribution, spread = f"fixed: {_value_text(p.value)}", ""
        experts = getattr(p.dist, "experts", ())  # a pool: each expert's own provenance
        cited = [*p.citations, *(c for e in experts for c in _expert_citations(e))]
        citations = [
            Citation(
                titles.get(c.ref, c.ref),
                " ".join(c.quote.split()),
                " ".join((c.note or "").split()),
            )
            for c in cited
        ]
        assumed = [p.assumption or "", *(f"{e.name}: {e.assumption}" for e in experts
                                          if e.assumption)]  # fmt: skip
        rows.append(
            ParameterRow(
                name,
                distribution,
                spread,
                " ".join((p.doc or "").split()),
                citations,
                " ".join("; ".join(a for a in assumed if a).split()),
            )
        )
    return rows


def _expert_citations(expert: Any) -> list[Any]:
    """The citations of an expert of a pool, as a list."""
    source = expert.source
    return list(source) if isinstance(source, list) else [source] if source else []


def _spread(dist: Any) -> str:
    """Return the middle 90% of a distribution: ``0.05 – 0.5``, where it has a quantile function."""
    if dist.kind in ("fixed", "bernoulli", "choice") or dist.expressions:
        return ""  # a distribution whose fields read other parameters has no fixed spread
    try:
        low, high = (float(q) for q in dist.ppf(np.array([0.05, 0.95])))
    except (AttributeError, NotImplementedError, ValueError):
        return ""
    return f"{number(low)} – {number(high)}"


def build_page(inputs: Inputs) -> Page:
    """Return the page of a report on ``inputs``."""
    base = inputs.runs[0] if inputs.runs else None
    model = model_of(inputs.manifest, inputs.directory)
    axis = time_axis(model, base) if (model is not None or base is not None) else None
    names = list(base.summary["outcomes"]) if base is not None else []
    kinds = {n: str(e.get("kind")) for n, e in base.summary["outcomes"].items()} if base else {}
    headlines = _headlines(model, names, kinds) if names else _analysis_names(inputs, model)
    rows = _comparisons(inputs, names)
    drivers, source = _drivers(inputs, headlines[:_HEADLINES] if base else [])
    brief: list[list[Span]] = []
    if base is not None:
        for name in headlines[:_HEADLINES]:
            question, _ = describe_outcome(model, name)
            line = [strong(question or humanise(name)), plain(": ")]
            line += estimate_words(base.summary["outcomes"][name], axis)
            line.append(plain("."))
            if rows.get(name):
                line += [plain(" "), *variant_words(rows[name], axis.unit if axis else "")]
            if name in drivers:
                line += [plain(" "), *driver_words(drivers[name])]
            brief.append(line)
        if len(headlines) > _HEADLINES:
            brief.append([plain(f"{len(headlines) - _HEADLINES} more headline outcomes below.")])
    evidence = evidence_tables(inputs, model, headlines, kinds)
    brief += indicator_lines(model, evidence)
    outcomes = [
        _outcome_section(
            inputs,
            n,
            model,
            axis,
            rows.get(n, []),
            drivers.get(n) if n in headlines[:_HEADLINES] else None,
        )
        for n in names
    ]
    sections = [
        s
        for s in [
            _trajectories_section(base, model),
            _variants_section(inputs, model, headlines, rows),
        ]
        if s is not None
    ]
    sections += [sweep_section(i, s, model, headlines) for i, s in enumerate(inputs.sweeps)]
    sections += [
        sensitivity_section(i, s, model, headlines) for i, s in enumerate(inputs.sensitivities)
    ]
    sections += [
        comparison_section(i, t, model, headlines) for i, t in enumerate(inputs.comparisons)
    ]
    sections += [evidence_section(i, e, model) for i, e in enumerate(evidence)]
    return Page(
        title=model.title if model is not None else str(inputs.manifest.get("scenario", "")),
        name=str(inputs.manifest.get("scenario", "")),
        description=_description(model),
        facts=_facts(inputs, model, axis),
        warnings=_warnings(inputs, model),
        brief=brief,
        outcomes=outcomes,
        sections=sections,
        parameters=_parameters(model),
        notes=_notes(axis, source),
    )


def _analysis_names(inputs: Inputs, model: CompiledModel | None) -> list[str]:
    """Return the outcomes of a report without runs: those of its sweeps or analyses."""
    for sweep in inputs.sweeps:
        return _headlines(
            model, sweep_outcomes(sweep), {o.name: o.kind for o in model.outcomes} if model else {}
        )
    for result in inputs.sensitivities:
        return sensitivity_outcomes(result)
    return []


def _description(model: CompiledModel | None) -> str:
    if model is None or model.scenario is None:
        return ""
    return " ".join(str(model.scenario.description).split())


def _notes(axis: TimeAxis | None, drivers: str) -> list[str]:
    notes = [
        "Every interval is a 95% Monte Carlo interval: how precisely the simulation pins a "
        "number down given the scenario's assumptions, not how uncertain those assumptions "
        "are (the table of parameters lists them). Probabilities have Wilson intervals, times "
        "to an event Kaplan–Meier estimates with Greenwood bands (censored where a branch "
        "ends first), means t intervals.",
        "Probability words follow the US intelligence community's scale (ICD 203): almost no "
        "chance below 5%, very unlikely below 20%, unlikely below 45%, roughly even odds below "
        "55%, likely below 80%, very likely below 95%, almost certain above.",
    ]
    if axis is not None and axis.unit == "month":
        notes.append("A month is 1/12 of a 365.25-day year.")
    if drivers:
        notes.append(
            f"The parameters that matter most come {drivers}."
            if drivers.startswith("from")
            else f"The parameters that matter most are ranked by {drivers}."
        )
    notes.append(f"Generated by sim {__version__}.")
    return notes


# --- rendering ----------------------------------------------------------------------------------


def render_page(page: Page) -> str:
    """Return the page as HTML."""
    return _ENV.get_template("report.html.j2").render(page=page)


def report_html(paths: Sequence[str | Path]) -> str:
    """Return the HTML report of the results at ``paths`` (runs, sweeps, analyses, tables)."""
    return render_page(build_page(gather(paths)))


def write_report(paths: Sequence[str | Path], out: str | Path) -> Path:
    """Write the HTML report of the results at ``paths`` to ``out``; return it."""
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html {target}: expected an .html file name")
    if not target.parent.is_dir():
        raise UsageError(f"--html {target}: no such directory {target.parent}")
    target.write_text(report_html(paths), encoding="utf-8")
    return target
