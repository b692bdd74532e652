"""What became of a gemeente's run, in words a data team can act on, and whether to retry it.

A release flow ends in one of five states; their *names* say which (the UI shows them, the
regional flow reads them):

| state (type / name) | meaning | retried by the regional flow |
| --- | --- | --- |
| Completed / `Completed` | published | - |
| Completed / `Warnings` | published, with quality-gate warnings (exit code 3) | - |
| Failed / `Failed` | a problem in data or configuration, or a release the protection refuses: nothing published (a refused release's signal lists are made all the same, and its message says so) | no: it fails the same way until someone fixes it |
| Failed / `Internal` | a bug: nothing published; the message names only the exception's type | no |
| Failed / `Transient` | the work directory is busy, a connection was lost | yes |
| Failed / `NotCollected` | published in its work directory, but the copy to the region's collection failed | no |
| Crashed / any | the process or its machine went away (killed, out of memory, worker lost) | yes |

The state's message is the same clean text `wijksignaal run` prints (file and line or row,
never a data value): configuration and data problems are our own messages; an internal
error's text is never used, because it might quote a value.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

PUBLISHED, WARNINGS, PROBLEM, INTERNAL, TRANSIENT, CRASHED, UNCOLLECTED = (
    "published", "warnings", "problem", "internal", "transient", "crashed", "uncollected")

STATE_NAMES = {PUBLISHED: "Completed", WARNINGS: "Warnings", PROBLEM: "Failed", INTERNAL: "Internal",
               TRANSIENT: "Transient", UNCOLLECTED: "NotCollected"}

# errno values of a lost connection or network file system: worth another try
_TRANSIENT_ERRNO = {errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
                    errno.ENETUNREACH, errno.ENETDOWN, errno.ENETRESET, errno.ESTALE, errno.EPIPE}


@dataclass(frozen=True)
class Outcome:
    """kind: one of PUBLISHED, WARNINGS, PROBLEM, INTERNAL, TRANSIENT, CRASHED; lines: the
    clean message, one line per problem (or per warning); release_id when published."""

    kind: str
    lines: tuple[str, ...] = ()
    release_id: str | None = None
    flow_run_id: str | None = field(default=None, compare=False)

    @property
    def published(self) -> bool:
        return self.kind in (PUBLISHED, WARNINGS)

    @property
    def retry(self) -> bool:
        """Worth another attempt: the same run may succeed later."""
        return self.kind in (TRANSIENT, CRASHED)

    @property
    def message(self) -> str:
        """The state message: one line per problem."""
        return "\n".join(self.lines)


def _transient(exc: BaseException) -> bool:
    from pipelines.workdir import WorkDirBusy

    if isinstance(exc, (WorkDirBusy, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNO:
        return True
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, httpx.TransportError)  # the Prefect API went away (connect, read, write, timeout)


def failure(exc: BaseException) -> Outcome:
    """The outcome of a run that raised `exc` (or an exception wrapping it)."""
    from pipelines.failures import problems as _problems
    from pipelines.region import CollectRefused, NotCollected

    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # Prefect may wrap the exception we raised
        seen.add(id(e))
        if isinstance(e, NotCollected):
            return Outcome(UNCOLLECTED, (str(e),), e.release_id)
        lines = _problems(e) or ([str(e)] if isinstance(e, CollectRefused) else [])
        if lines:
            return Outcome(PROBLEM, tuple(lines))
        if _transient(e):
            return Outcome(TRANSIENT, (_transient_text(e),))
        e = e.__cause__ or e.__context__
    return Outcome(INTERNAL, (f"internal error ({type(exc).__name__}); nothing was published. Run "
                              "`wijksignaal run --config <its settings> -v` on its machine for the traceback",))


def _transient_text(exc: BaseException) -> str:
    from pipelines.workdir import WorkDirBusy

    if isinstance(exc, WorkDirBusy):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:  # a path and the system's words, never file contents
        where = f": {exc.filename}" if exc.filename else ""
        return f"{type(exc).__name__}{where}: {exc.strerror}"
    return f"lost connection ({type(exc).__name__})"


def published(release_id: str, warnings: list[str]) -> Outcome:
    if warnings:
        return Outcome(WARNINGS, (f"published {release_id} with {len(warnings)} quality-gate warning(s)",
                                  *warnings), release_id)
    return Outcome(PUBLISHED, (f"published {release_id}",), release_id)


def from_state(state_type: str, state_name: str | None, message: str | None, flow_run_id: str | None = None
               ) -> Outcome:
    """Read back the outcome of a release flow run from its final state (type, name, message)."""
    message = (message or "").strip()
    lines = tuple(message.splitlines()) or (f"{state_type.lower()} without a message",)
    if state_type == "COMPLETED":
        rid = message.split()[1] if message.startswith("published ") else None
        return Outcome(WARNINGS if state_name == STATE_NAMES[WARNINGS] else PUBLISHED, lines, rid, flow_run_id)
    if state_type == "CRASHED":
        return Outcome(CRASHED, tuple(f"crashed: {line}" for line in lines), None, flow_run_id)
    if state_type == "FAILED":
        # a name we do not set (Prefect's own, e.g. parameters that fail validation) is not retried
        kind = {STATE_NAMES[INTERNAL]: INTERNAL, STATE_NAMES[TRANSIENT]: TRANSIENT,
                STATE_NAMES[UNCOLLECTED]: UNCOLLECTED}.get(state_name or "", PROBLEM)
        rid = message.split()[1].rstrip(",") if kind == UNCOLLECTED and message.startswith("published ") else None
        return Outcome(kind, lines, rid, flow_run_id)
    return Outcome(PROBLEM, (f"ended {state_type.lower()}" + (f": {message}" if message else ""),), None,
                   flow_run_id)


def gate_warnings(folder) -> list[str]:
    """The quality-gate warnings a published release states in its audit.json."""
    import json
    from pathlib import Path

    audit = json.loads((Path(folder) / "audit.json").read_text(encoding="utf-8"))
    return [f"quality gate {w['gate']}: {w['message']}" for w in audit.get("quality_gates", {}).get("warnings", [])]
