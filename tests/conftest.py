"""Fixtures shared by the tests of runs: the tiny scenario of ``_runs`` on disk and compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from _reports import make_results
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


@pytest.fixture(scope="session")
def report_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dated scenario's results of every kind (``_reports.make_results``), made once for
    the tests of figures, reports and the browser; each may add results of its own under
    names of its own, never change these."""
    return make_results(tmp_path_factory.mktemp("reports"))
