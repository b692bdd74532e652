"""Publish a release in this process and kill it with SIGKILL at a chosen step
(tests/test_publish_crash.py runs it as a subprocess).

    python crash_publish.py WORK REGISTER RELEASE_FOLDER RELEASE_ID POINT [--twice]

RELEASE_FOLDER is a published release whose tables.csv and audit.json are published again
under RELEASE_ID. With --twice it is published once whole first, so the second, killed
publication replaces it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from pipelines import geography
from pipelines import publish as pub
from pipelines.publish.tablescsv import read_tables
from privacy import ledger


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at(module, name: str, when: str, nth: int = 1) -> None:
    """Kill the process before or after the nth call of module.name."""
    real, calls = getattr(module, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth and when == "before":
            die()
        out = real(*args, **kwargs)
        if calls[0] == nth and when == "after":
            die()
        return out

    setattr(module, name, wrapper)


def torn_append() -> None:
    """Kill the process halfway through writing the ledger line."""
    real = ledger.write_all

    def half(fd, data):
        real(fd, data[: len(data) // 2])
        die()

    ledger.write_all = half


POINTS = {
    "staged": lambda: kill_at(ledger, "append_entry", "before"),  # folder staged, nothing committed
    "before register copy": lambda: kill_at(pub, "_copy_folder", "before"),
    "after register copy": lambda: kill_at(pub, "_copy_folder", "after"),
    "torn ledger line": torn_append,  # mid-commit
    # a release of several gemeenten: its report files are written one by one (tables.csv first, then
    # report-GM....html in order): killed after the first gemeente's
    "between reports": lambda: kill_at(pub, "_write", "after", 2),
    "committed": lambda: kill_at(pub, "_into_place", "before", 1),  # ledger line written, nothing placed
    "placed": lambda: kill_at(pub, "_into_place", "after", 1),  # in <work>/releases, not yet in the register
    "set aside": lambda: kill_at(os, "rename", "after", 1),  # --twice: the earlier publication moved aside
    "register set aside": lambda: kill_at(os, "rename", "after", 3),  # --twice: ... in the register
    "done": lambda: kill_at(pub, "_into_place", "after", 2),  # everything in place
}


def main() -> None:
    work, register, source, rid, point = sys.argv[1:6]
    folder = Path(source)
    cells = read_tables(folder / "tables.csv")
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    audit.pop("leak_scan", None)
    context = {"buurten": geography.buurten(audit["gemeente"]["code"]), "history": []}

    def once():
        pub.publish(Path(work), rid, cells, audit, context, register=Path(register))

    if "--twice" in sys.argv:
        once()
    POINTS[point]()
    once()
    print("not killed")


if __name__ == "__main__":
    main()
