"""The report's sections of analyses: a sweep, a sensitivity analysis, a comparison table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.analysis.sensitivity import SensitivityResult
from sim.analysis.sweep import SweepResult
from sim.analysis.views import (
    comparison_figure,
    sensitivity_figure,
    sensitivity_outcomes,
    sweep_outcome_figure,
    sweep_outcomes,
)
from sim.model.compiled import CompiledModel
from sim.montecarlo.views import estimate_text, interval_text
from sim.report.brief import difference_words
from sim.report.inputs import ComparisonTable
from sim.report.parts import Image, Section
from sim.views.frame import data_uri
from sim.views.html import Table
from sim.views.text import number

__all__ = ["comparison_section", "sensitivity_section", "sweep_section"]

_ANALYSIS_FIGURES = 4  # figures per sweep, sensitivity analysis or comparison table


def sweep_section(
    index: int, sweep: SweepResult, model: CompiledModel | None, headlines: Sequence[str]
) -> Section:
    names = sweep_outcomes(sweep)
    kinds = {o.name: o.kind for o in model.outcomes} if model is not None else {}
    chosen = [n for n in headlines if n in names] or names[:1]
    images = []
    if len(sweep.parameters) == 1 and any(kinds.get(n) == "probability" for n in chosen):
        figure = sweep_outcome_figure(sweep, None, model=model)
        images.append(Image(data_uri(figure), "probabilities against the swept parameter"))
        chosen = [n for n in chosen if kinds.get(n) != "probability"]
    for name in chosen[: _ANALYSIS_FIGURES - len(images)]:
        figure = sweep_outcome_figure(sweep, name, model=model)
        images.append(Image(data_uri(figure), f"{name} over the sweep"))
    points = sweep.points
    design = sweep.manifest.get("design", {})
    text = (
        f"{points.num_rows} points ({design.get('method', 'points')}) over "
        f"{', '.join(sweep.parameters)}, {int(sweep.manifest.get('branches', 0)):,} branches "
        f"each, seed {sweep.manifest.get('seed')}, in {sweep.directory}. A swept parameter is "
        "fixed at each point; the others keep their distributions."
    )
    shown = [n for n in headlines if n in names][:_ANALYSIS_FIGURES] or names[:_ANALYSIS_FIGURES]
    body = [
        [
            *(_cell(row[p]) for p in sweep.parameters),
            *(_estimate_cell(row, n, kinds.get(n)) for n in shown),
        ]
        for row in points.to_pylist()
    ]
    table = Table(
        [*sweep.parameters, *shown], body, frozenset(range(len(sweep.parameters) + len(shown)))
    )
    return Section(f"sweep-{index}", f"Sweep of {', '.join(sweep.parameters)}", text, images, table)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "-" if value is None else f"{value:g}"


def _estimate_cell(row: Mapping[str, Any], name: str, kind: str | None) -> str:
    entry = {
        "kind": kind,
        "estimate": row[name],
        "ci_low": row[f"{name}_ci_low"],
        "ci_high": row[f"{name}_ci_high"],
    }
    clean = {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in entry.items()
    }
    return f"{estimate_text(clean)} [{interval_text(clean)}]"


def sensitivity_section(
    index: int, result: SensitivityResult, model: CompiledModel | None, headlines: Sequence[str]
) -> Section:
    names = sensitivity_outcomes(result)
    chosen = ([n for n in headlines if n in names] or names)[:_ANALYSIS_FIGURES]
    images = [
        Image(data_uri(sensitivity_figure(result, n, model=model)), f"sensitivity of {n}")
        for n in chosen
    ]
    method = str(result.manifest.get("method"))
    text = (
        f"{method.capitalize()} indices over the uncertain parameters: "
        f"{result.manifest.get('samples')} sample rows of "
        f"{int(result.manifest.get('branches', 0)):,} branches each, seed "
        f"{result.manifest.get('seed')}, in {result.directory}. "
        + (
            "S1 is the share of an outcome's variance that a parameter explains alone, ST the "
            "share it has a part in, interactions included."
            if method == "sobol"
            else "mu* is the mean absolute effect of moving a parameter across its range, "
            "sigma how much that effect depends on the others."
        )
    )
    columns = [c for c in result.indices.column_names if c not in ("outcome", "parameter")]
    body = [
        [str(r["outcome"]), str(r["parameter"]), *(number(r[c]) for c in columns)]
        for r in result.indices.to_pylist()
        if r["outcome"] in chosen
    ]
    table = Table(["outcome", "parameter", *columns], body, frozenset(range(2, 2 + len(columns))))
    return Section(f"sensitivity-{index}", f"Sensitivity ({method})", text, images, table)


def comparison_section(
    index: int, table: ComparisonTable, model: CompiledModel | None, headlines: Sequence[str]
) -> Section:
    names = list(dict.fromkeys(str(r["outcome"]) for r in table.rows))
    chosen = ([n for n in headlines if n in names] or names)[:_ANALYSIS_FIGURES]
    images = [
        Image(
            data_uri(
                comparison_figure(table.rows, n, model=model, foot=f"sim · {table.path.name}")
            ),
            f"differences of {n}",
        )
        for n in chosen
    ]
    body = [
        [str(r["outcome"]), str(r["run"]), difference_words(r), "*" if r["significant"] else ""]
        for r in table.rows
    ]
    return Section(
        f"comparison-{index}",
        f"Comparison ({table.path.name})",
        f"Differences to {table.rows[0]['baseline'] if table.rows else 'the baseline'}"
        f" as written by sim compare to {table.path}.",
        images,
        Table(["outcome", "run", "difference", ""], body, frozenset({2})),
    )
