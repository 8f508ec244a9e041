"""The choices of a run, as light enums the command line can import at start-up."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "EngineKind",
    "ExecutorKind",
]


class EngineKind(StrEnum):
    """Which engine runs the branches: the SimPy reference, or the numpy batch engine."""

    SIMPY = "simpy"
    BATCH = "batch"


class ExecutorKind(StrEnum):
    """Where the chunks of a run are computed."""

    SERIAL = "serial"
    PROCESS = "process"
    DASK = "dask"
