"""What went wrong, as the lines a person reads: the exceptions wijksignaal raises on purpose
(their texts are ours and never carry data values) mapped to clean messages, found behind
the wrappers Prefect puts around a task's exception. The CLI and the regional flow's
outcomes (outcomes.py) both classify failures here."""

from __future__ import annotations

from pipelines.configfile import ConfigError


def problems(exc: BaseException) -> list[str]:
    """The lines to print for an exception we raise on purpose; [] for anything else."""
    from pipelines.ingest import AccountingError, LoadSqlError
    from pipelines.ingest.contracts import ContractError
    from pipelines.ingest.gates import QualityGateFailed
    from pipelines.ingest.readers import SourceFileError
    from pipelines.monitor.indicators import MonitorError
    from pipelines.publish import PublishRefused
    from privacy.pseudonymise import KeyFileError
    from privacy.secondary import ProtectionFailed

    if isinstance(exc, ConfigError):
        return [str(p) for p in exc.problems]
    if disk_full(exc):
        return ["cannot write to disk: no space left, or a file-size limit reached (the warehouse, the work "
                "directory or the register); free space and run again. An interrupted publication is finished or "
                "cleaned by the next run"]
    if isinstance(exc, QualityGateFailed):
        return [str(g) for g in exc.failed]
    from pipelines.ingest.readers import SourceFilesError

    if isinstance(exc, SourceFilesError):
        return [str(e) for e in exc.errors]
    from pipelines.pipeline import RefusedListsMade

    if isinstance(exc, RefusedListsMade):
        return [str(exc.refused), *([exc.lists_line] if exc.lists_line else [])]
    if isinstance(exc, (SourceFileError, KeyFileError, AccountingError, LoadSqlError, ContractError, PublishRefused,
                        ProtectionFailed, MonitorError)):
        return [str(exc)]
    return []


def disk_full(exc: BaseException) -> bool:
    """An OSError or DuckDB error that says the disk (or a file-size limit) is full. Its own text
    is only inspected, never shown."""
    import errno

    import duckdb

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    return isinstance(exc, duckdb.Error) and any(
        s in str(exc) for s in ("No space left on device", "File too large", "Disk quota exceeded"))


def cause(exc: BaseException) -> BaseException:
    """Prefect may wrap a task's exception; the one we raised is then its cause. A context that
    was suppressed (`raise ... from None`) is not followed: the exception stands for itself."""
    from pipelines.workdir import WorkDirBusy

    while not problems(exc) and not isinstance(exc, WorkDirBusy):
        behind = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if behind is None:
            break
        exc = behind
    return exc
