"""One run per work directory.

A run holds an exclusive lock on `<work>/.lock` (fcntl.flock) from before the warehouse is
opened until it has published. The operating system releases the lock when the process
ends, however it ends, so a run killed with kill -9 never leaves a stale lock behind. The
lock file holds a description of its holder (pid, host, command, period, since when; no
personal data) for the message a second run gets.

The lock belongs to one run, not to one call: a run that holds it may take it again
(the CLI takes it before the Prefect flow starts, the flow takes it again, and so does
publish). That is tracked in a context variable, which Prefect carries into the flow and
its tasks; another run in the same process, which does not share it, is refused like one
in another process. flock needs a POSIX system (Linux, macOS) and, for a work directory on
a network share, a file system that supports it (NFS does).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

LOCK = ".lock"

_held: ContextVar[frozenset[str]] = ContextVar("wijksignaal_work_dirs_held", default=frozenset())


class WorkDirBusy(Exception):
    """Another run holds the work directory."""

    def __init__(self, work_dir: Path, holder: dict | None):
        self.work_dir, self.holder = work_dir, holder
        super().__init__(f"work directory {work_dir} is in use by another wijksignaal "
                         f"{describe(holder)}; try again when it has finished")


def describe(holder: dict | None) -> str:
    """'run (pid 123 on host h, period 2026-10, since 2026-12-01T20:01:02Z)'."""
    if not holder:
        return "run (holder unknown)"
    period = f", period {holder['period']}" if holder.get("period") else ""
    return (f"{holder.get('command', 'run')} (pid {holder.get('pid', '?')} on host {holder.get('host', '?')}{period}, "
            f"since {holder.get('since', '?')})")


def holder(work_dir: Path) -> dict | None:
    """What the lock file says about the run that holds (or last held) the work directory."""
    try:
        data = json.loads((Path(work_dir) / LOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@contextmanager
def exclusive(work_dir: Path, command: str = "run", period: str | None = None) -> Iterator[None]:
    """Hold the work directory for the block, or raise WorkDirBusy at once (never wait)."""
    work_dir = Path(work_dir).resolve()
    held = _held.get()
    if str(work_dir) in held:  # this run holds it already
        yield
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(work_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkDirBusy(work_dir, holder(work_dir)) from None
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command, "period": period,
                         "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}).encode("utf-8")
        os.pwrite(fd, me, 0)
        os.ftruncate(fd, len(me))
        token = _held.set(held | {str(work_dir)})
        try:
            yield
        finally:
            _held.reset(token)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


__all__ = ["LOCK", "WorkDirBusy", "exclusive", "holder", "describe"]
