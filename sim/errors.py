"""Errors that `sim` reports to its users.

Every error a user can cause derives from :class:`SimError`; the command line turns
them into one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ExprError", "Problem", "RunError", "ScenarioError", "SimError", "UsageError"]


class SimError(Exception):
    """Base class of every error caused by input: files, options, values."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a scenario file.

    ``line`` and ``col`` are 1-based; ``path`` is the place in the scenario, such as
    ``processes[2].rate`` (``(root)`` for the document itself).
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"


class ScenarioError(SimError):
    """A scenario file with one or more located problems."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExprError(SimError):
    """An expression that is not in the language; ``offset`` is 0-based in its source."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message)


class RunError(SimError):
    """A problem found while a branch runs, such as ``log`` of a negative number."""


class UsageError(SimError):
    """A bad command-line value, such as ``--set`` naming an unknown parameter."""


def install_hint(extra: str) -> str:
    """How to install the optional dependencies ``extra`` (the package is not on PyPI)."""
    return f"pip install '.[{extra}]' in the sim checkout"


def require_extra(what: str, extra: str, *modules: str) -> None:
    """Refuse ``what`` in one line if a module of the optional ``extra`` is missing.

    Only looked up, not imported: the code that needs a module imports it when it runs.
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"{what} needs {module}: {install_hint(extra)}")
