"""Fixtures shared by the tests of runs: the tiny scenario of ``_runs`` on disk and compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from _runs import write_tiny

from sim.model.compile import load_model
from sim.model.compiled import CompiledModel


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """The tiny scenario, written to a file of the test's own folder."""
    return write_tiny(tmp_path)


@pytest.fixture
def model(scenario: Path) -> CompiledModel:
    """The tiny scenario, compiled."""
    return load_model(scenario)
