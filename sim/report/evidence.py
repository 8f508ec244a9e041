"""The report's evidence: indicators to watch, weighed by their likelihood ratios."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.analysis.evidence.indicators import indicators
from sim.analysis.views import indicators_figure
from sim.errors import SimError
from sim.model.compiled import CompiledModel
from sim.montecarlo.views import describe_outcome, humanise
from sim.report.brief import Span, plain, strong
from sim.report.inputs import Inputs
from sim.report.parts import Image, Section
from sim.views.frame import data_uri
from sim.views.html import Table
from sim.views.text import number, percent

__all__ = ["Evidence", "evidence_section", "evidence_tables", "indicator_lines"]

_WATCH = 3  # indicators the brief names


@dataclass(frozen=True)
class Evidence:
    """Likelihood ratios of indicators for a hypothesis: from a table given to the report,
    or worked out from the baseline run (``source`` says which)."""

    rows: tuple[Mapping[str, Any], ...]
    source: str


def evidence_tables(
    inputs: Inputs,
    model: CompiledModel | None,
    headlines: Sequence[str],
    kinds: Mapping[str, str],
) -> list[Evidence]:
    """Return the indicator tables given, else those of the baseline run for its first
    headline probability, where the scenario declares indicators (``sim indicators``)."""
    given = [
        Evidence(t.rows, f"as written by sim indicators to {t.path}")
        for t in inputs.indicators
        if t.rows
    ]
    if given or not inputs.runs:
        return given
    base = inputs.runs[0]
    if not (base.summary.get("indicators") or {}):
        return []
    hypothesis = next((n for n in headlines if kinds.get(n) == "probability"), None)
    if hypothesis is None:
        return []
    try:  # columns read one at a time: a run of a million branches stays quick
        found = indicators(base, hypothesis)
    except SimError:  # no branch has the hypothesis (or none lacks it): nothing to weigh
        return []
    where = base.directory if base.directory is not None else "the baseline run"
    return [
        Evidence(
            found.rows,
            f"worked out from {where} as 'sim indicators {where} --hypothesis {hypothesis}' "
            "does",
        )
    ]


def evidence_section(index: int, evidence: Evidence, model: CompiledModel | None) -> Section:
    rows = evidence.rows
    hypothesis = str(rows[0]["hypothesis"])
    figure = indicators_figure(rows, model=model, foot=f"sim · {hypothesis}")
    alternatives = list(dict.fromkeys(str(r["against"]) for r in rows))
    text = (
        f"How much seeing each indicator changes the odds of {hypothesis}, "
        f"{evidence.source}. P(I | H) is the share of the branches where {hypothesis} holds "
        "in which the indicator appeared; the likelihood ratio LR = P(I | H) / P(I | "
        f"{alternatives[0] if len(alternatives) == 1 else 'the alternative'}) multiplies the "
        "odds: above 1 the indicator favours the hypothesis, below 1 it tells against it, "
        "near 1 it tells little however likely it is. Most diagnostic first."
    )
    body = [
        [
            str(r["indicator"]),
            str(r["against"]),
            _share_cell(r, "p_given_h"),
            _share_cell(r, "p_given_against"),
            _ratio_cell(r),
            "-" if r.get("posterior") is None else percent(float(r["posterior"]), 1),
        ]
        for r in rows
    ]
    table = Table(
        ["indicator", "against", "P(I | H)", "P(I | against)", "LR [95% interval]", "P(H | I)"],
        body,
        frozenset({2, 3, 4, 5}),
    )
    return Section(
        f"evidence-{index}",
        f"Indicators to watch ({hypothesis})",
        text,
        [Image(data_uri(figure), f"likelihood ratios of the indicators for {hypothesis}")],
        table,
    )


def _share_cell(row: Mapping[str, Any], name: str) -> str:
    value, low, high = row.get(name), row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if value is None:
        return "-"
    if low is None or high is None:
        return percent(float(value), 1)
    return f"{percent(float(value), 1)} [{percent(float(low), 1)}, {percent(float(high), 1)}]"


def _ratio_cell(row: Mapping[str, Any]) -> str:
    ratio, low, high = row.get("likelihood_ratio"), row.get("lr_ci_low"), row.get("lr_ci_high")
    if ratio is None:
        return "-"
    if low is None or high is None:
        return f"×{number(float(ratio))}"
    return f"×{number(float(ratio))} [{number(float(low))}, {number(float(high))}]"


def indicator_lines(
    model: CompiledModel | None, evidence: Sequence[Evidence] = ()
) -> list[list[Span]]:
    """Return the indicators to watch: the most diagnostic with their likelihood ratios
    where they were worked out, else the signposts the scenario names (``indicators:``)."""
    if evidence:
        rows = [r for r in evidence[0].rows if r.get("likelihood_ratio") is not None]
        rows.sort(key=_uninformative)  # those whose interval excludes 1 first, else in order
        if rows:
            hypothesis = str(rows[0]["hypothesis"])
            question, _ = describe_outcome(model, hypothesis)
            words = [plain("Indicators to watch for "), strong(question or humanise(hypothesis))]
            words.append(plain(": "))
            for i, r in enumerate(rows[:_WATCH]):
                if i:
                    words.append(plain("; "))
                words += _watch_words(r)
            words.append(plain("."))
            return [words]
    declared = getattr(model.scenario, "indicators", None) if model and model.scenario else None
    if not declared:
        return []
    words = [plain("Indicators to watch: ")]
    for i, indicator in enumerate(declared):
        if i:
            words.append(plain("; "))
        words.append(strong(str(getattr(indicator, "name", indicator))))
        doc = getattr(indicator, "doc", None)
        if doc:
            words.append(plain(f" ({' '.join(str(doc).split())})"))
    words.append(plain("."))
    return [words]


def _uninformative(row: Mapping[str, Any]) -> bool:
    """Whether an indicator's likelihood ratio may be 1: its 95% interval holds 1."""
    low, high = row.get("lr_ci_low"), row.get("lr_ci_high")
    return low is not None and high is not None and float(low) <= 1.0 <= float(high)


def _watch_words(row: Mapping[str, Any]) -> list[Span]:
    """One indicator in words: what seeing it does to the odds, and how often it is seen."""
    ratio = float(row["likelihood_ratio"])
    low, high = row.get("lr_ci_low"), row.get("lr_ci_high")
    parts = []
    if _uninformative(row):
        effect = "tells little either way"
        parts.append(f"likelihood ratio {number(ratio)}")
    else:
        more = "more" if ratio > 1 else "less"
        effect = f"makes it {more} likely: multiplies its odds by {number(ratio)}"
    if low is not None and high is not None:
        parts.append(f"95% interval {number(float(low))} to {number(float(high))}")
    if row.get("p_given_h") is not None and row.get("p_given_against") is not None:
        parts.append(
            f"seen in {percent(float(row['p_given_h']), 1)} of the branches where it "
            f"happens, {percent(float(row['p_given_against']), 1)} of the others"
        )
    details = f" ({', '.join(parts)})" if parts else ""
    return [strong(str(row["indicator"])), plain(f" {effect}{details}")]
