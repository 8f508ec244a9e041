"""Advisory locks on result directories: one writer at a time, a dead writer's lock taken over.

A process that writes a result directory ``<out>`` (a run, a resume, a sweep ...) holds an
exclusive ``flock`` on ``<out>.lock`` while it writes. A second writer is refused at once,
with one line naming the process that holds the lock; a reader needs no lock. The kernel
drops the lock when its process dies, however it dies (SIGKILL, power loss aside), so the
lock file a killed writer leaves behind is simply taken over by the next one. A writer that
finishes deletes the file.

The lock is advisory: it keeps sim processes from writing one directory together, not
other programs. Where ``fcntl`` is missing (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sim.errors import UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK", "DirectoryLock", "lock_path", "make_folders_for", "remove_empty"]

LOCK = ".lock"


def lock_path(out: Path) -> Path:
    """Return ``<out>.lock``, the lock file of the result directory ``out``."""
    absolute = Path(os.path.abspath(out))
    return absolute.with_name(absolute.name + LOCK)


def _command() -> str:
    """Return this process's command line, as a user would have typed it."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("__main__.py", "sim"):
        program = "sim"
    return shlex.join([program, *sys.argv[1:]])


class DirectoryLock:
    """The lock of the result directory ``out``; use it as a context manager, or
    :meth:`acquire` and :meth:`release` it."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = lock_path(out)
        self._fd: int | None = None
        self._made: list[Path] = []  # folders made for the lock, deepest first

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, *, make_folders: bool = False) -> None:
        """Take the lock, or raise :class:`UsageError` naming the process that holds it.

        With ``make_folders`` the folders the result will live in are made if missing, and
        :meth:`release` can remove them again; otherwise they must exist.
        """
        if self._fd is not None:
            return
        if make_folders:
            self._made = make_folders_for(self.path)
        try:
            self._take()
        except BaseException:
            self.release(tidy=True)
            raise

    def _take(self) -> None:
        """Take the lock on the lock file (made if missing)."""
        if fcntl is None:
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise UsageError(
                    f"{self.out}: {_describe(holder)}; wait for it to finish, or stop it"
                ) from None
            if _same_file(fd, self.path):
                break
            # The holder finished and deleted the file between our open and our lock: the
            # file we locked is no longer the lock. Try again on the file now there.
            os.close(fd)
        self._fd = fd
        holder = {"pid": os.getpid(), "command": _command(), "since": _now()}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())

    def release(self, *, tidy: bool = False) -> None:
        """Delete the lock file and drop the lock; with ``tidy``, remove the folders that
        :meth:`acquire` made if they are empty (a result that leaves nothing)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self.path.unlink(missing_ok=True)  # while still locked: no one else holds it
            finally:
                os.close(fd)  # closing drops the flock
        if tidy:
            remove_empty(self._made)
        self._made = []

    def __del__(self) -> None:
        """Release a lock that its owner dropped without releasing it (the fd would leak)."""
        with contextlib.suppress(Exception):  # at interpreter exit, os may be half gone
            self.release()

    def __enter__(self) -> Self:
        """Take the lock."""
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the lock."""
        self.release()


def make_folders_for(path: Path) -> list[Path]:
    """Make the missing folders above ``path``; return those made, deepest first."""
    missing = []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is still the file at ``path``."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino)


def _read_holder(fd: int) -> dict[str, Any]:
    """Return what the holder wrote into the lock file (empty if it has not yet)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    """Say which process holds a lock, from what it wrote."""
    if "pid" not in holder:
        return "another sim process is writing it"
    since = f" since {holder['since']}" if holder.get("since") else ""
    command = f": {holder['command']}" if holder.get("command") else ""
    return f"another sim process is writing it (pid {holder['pid']}{since}{command})"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
