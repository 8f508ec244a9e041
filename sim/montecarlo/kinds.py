"""The choices of a run, as light enums the command line can import at start-up."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ExecutorKind",
]


class ExecutorKind(StrEnum):
    """Where the chunks of a run are computed."""

    SERIAL = "serial"
    PROCESS = "process"
    DASK = "dask"
