"""Ctrl-C and SIGTERM: a command that writes a result stops cleanly and says how to resume.

A run, sweep, comparison or sensitivity analysis interrupted by Ctrl-C (exit status 130) or
SIGTERM (143) keeps its work in ``DIR.partial``; the one line on stderr names it and the
command that finishes it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypeVar

from sim.cli._app import fail
from sim.cli._output import progress_bar
from sim.errors import UsageError

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "Progress",
    "refuse_with_resume",
    "report_interrupt",
    "run_until_stopped",
]

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
T = TypeVar("T")
Progress = Callable[[int, int], None]
_NOUNS = {"compare": "comparison", "sensitivity": "sensitivity analysis"}


def refuse_with_resume(kind: str, given: dict[str, object]) -> None:
    """Refuse options that describe a new ``kind`` when ``--resume`` finishes an old one."""
    named = [name for name, value in given.items() if value not in (None, [], ())]
    if named:
        raise UsageError(
            f"--resume takes the scenario and its settings from the incomplete "
            f"{_NOUNS.get(kind, kind)}; leave out {', '.join(named)}"
        )


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that a run stops as cleanly as on Ctrl-C."""


@contextmanager
def _signals_stop_cleanly() -> Iterator[list[int]]:
    """While the block runs, Ctrl-C and SIGTERM raise in the main thread and are remembered.

    Yields the list of signals received. Python ignores an exception raised while a
    finaliser (``__del__``) runs, such as dask's futures' when the signal lands there: the
    run would go on as if nothing had happened. The caller checks the list between chunks
    and stops then.
    """
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)
        raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield seen
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_until_stopped(
    start: Callable[[Progress | None], T], target: Path, kind: str, *, show_progress: bool
) -> T:
    """Call ``start(progress)`` with a progress bar; report an interrupt where it left off.

    ``target`` is the directory being written and ``kind`` what it holds (``run``,
    ``sweep``, ``compare``, ``sensitivity``).
    """
    try:
        with (
            _signals_stop_cleanly() as seen,
            progress_bar(enabled=show_progress and sys.stderr.isatty()) as bar,
        ):

            def progress(done: int, total: int) -> None:
                if seen:  # an interrupt that a finaliser swallowed: stop at this chunk
                    raise _Terminated if seen[-1] == signal.SIGTERM else KeyboardInterrupt
                if bar is not None:
                    bar(done, total)

            return start(progress)
    except KeyboardInterrupt as stop:
        report_interrupt(target, kind, terminated=isinstance(stop, _Terminated))


def report_interrupt(target: Path, kind: str, *, terminated: bool) -> NoReturn:
    """Say where an interrupted command left its work; leave with 130 (Ctrl-C) or 143 (SIGTERM)."""
    from sim.analysis.directory import resume_command
    from sim.montecarlo.results import partial_path

    what = "terminated" if terminated else "interrupted"
    code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    partial_dir = partial_path(target)
    if not partial_dir.is_dir():
        fail(what, code)
    fail(
        f"{what}: the incomplete {_NOUNS.get(kind, kind)} is in {partial_dir}; "
        f"finish it with '{resume_command(kind, target)}'",
        code,
    )
