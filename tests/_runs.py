"""A tiny scenario and table comparisons shared by the tests of runs and run directories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

# Random parameters, a state-dependent event rate, a trigger, an early stop, every outcome
# kind that the run directory stores, and a variant: small enough for a few hundred branches
# in well under a second.
TINY = """\
sim: 1
name: tiny
title: Tiny
description: A tiny scenario for tests of runs.
time: {unit: month, horizon: 24}
parameters:
  pressure: {dist: {kind: uniform, low: 0, high: 1}, assumption: a test}
  boost: {value: 0.5, assumption: a test}
  coin: {dist: {kind: bernoulli, p: 0.3}, assumption: a test}
state:
  level: {init: 0, min: 0, max: 10}
  done: {init: false}
  heads: {init: coin}
processes:
  - {kind: event, name: shock, rate: "0.2 + pressure * 0.3", set: {level: "level + boost"}}
  - {kind: trigger, name: finish, when: "level >= 3", set: {done: "true"}}
outcomes:
  - {kind: probability, name: finished, when: done, by: 12}
  - {kind: probability, name: heads, when: heads}
  - {kind: time_to, name: time_to_finish, when: done}
  - {kind: value, name: final_level, expr: level}
stop_when: done
variants:
  calm: {parameters: {boost: 0.1}}
"""


def write_tiny(directory: Path, name: str = "tiny.yaml") -> Path:
    """Write the tiny scenario into ``directory`` and return its path."""
    path = directory / name
    path.write_text(TINY, encoding="utf-8")
    return path


def same_rows(a: pa.Table, b: pa.Table) -> bool:
    """Whether two branch tables have the same schema and bit-identical values.

    ``pa.Table.equals`` treats NaN (a censored ``time_to``) as unequal to itself, so float
    columns are compared by their bits.
    """
    if not a.schema.equals(b.schema) or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a.column(name).to_numpy(), b.column(name).to_numpy()
        if x.dtype == np.float64:
            x, y = x.view(np.int64), y.view(np.int64)
        if not np.array_equal(x, y):
            return False
    return True
