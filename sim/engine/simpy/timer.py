"""Timers with priorities among equal times, so that same-time events keep file order."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import simpy

INF = math.inf
# At equal times SimPy runs events by priority, then in the order they were scheduled.
# Resolution steps come first; process ``i`` acts with priority ``PROCESS_PRIORITY + i``,
# so processes due at the same time act in file order, however long ago each was
# scheduled (SimPy's own resource grants have priority 1); the end of the branch comes
# last, so events at exactly the horizon still happen.
TICK_PRIORITY = 0
PROCESS_PRIORITY = 2
END_PRIORITY = sys.maxsize


class Timer(simpy.Event):
    """An event that calls ``callback`` after ``delay``, with a priority among equal times.

    Like ``simpy.Timeout`` (whose initialisation this inlines for speed) but with a
    priority, so that same-time events follow the file order of their processes.
    """

    def __init__(
        self,
        env: simpy.Environment,
        delay: float,
        priority: int,
        callback: Callable[[simpy.Event], None],
    ) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, priority, delay)  # type: ignore[arg-type]
