"""Hand-made tiny warehouses for the outreach tests: the tables persons, households,
vroegsignalen (and buurten) in an in-memory DuckDB, with readable names turned into UUIDs."""

from __future__ import annotations

import uuid
from datetime import date

import duckdb

NS = uuid.UUID("00000000-0000-0000-0000-000000000164")
BUURT = "BU01640000"  # Binnenstad-Centrum, wijk WK016400
BUURTEN = [("BU01640000", "WK016400"), ("BU01640001", "WK016400"), ("BU01640100", "WK016401"),
           ("BU01640200", "WK016402")]


def u(name: str) -> str:
    """The UUID standing for a readable test name (a person, household or signal)."""
    return str(uuid.uuid5(NS, name))


def warehouse(persons: dict[str, str], buurt_of: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """persons: {person: household}; households get their buurt from `buurt_of` (default BUURT)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE persons (pid UUID, hid UUID, geboortejaar SMALLINT, buurtcode VARCHAR)")
    con.execute("CREATE TABLE vroegsignalen (sid UUID, pid UUID, signaalpartner VARCHAR, bedrag INTEGER, "
                "ontstaansdatum DATE, signaaldatum DATE, crisissignaal BOOLEAN)")
    con.execute("CREATE TABLE buurten (buurtcode VARCHAR, buurtnaam VARCHAR, wijkcode VARCHAR, wijknaam VARCHAR, "
                "gemeentecode VARCHAR, gemeentenaam VARCHAR)")
    con.executemany("INSERT INTO buurten VALUES (?, ?, ?, ?, 'GM0164', 'Hengelo')",
                    [(b, b, w, w) for b, w in BUURTEN])
    buurt_of = buurt_of or {}
    con.executemany("INSERT INTO persons VALUES (?, ?, 1980, ?)",
                    [(u(p), u(h), buurt_of.get(h, BUURT)) for p, h in persons.items()])
    con.execute("CREATE TABLE households AS SELECT hid, min(buurtcode) AS buurtcode, count(*)::INTEGER AS n_personen "
                "FROM persons GROUP BY hid")
    return con


def signal(con: duckdb.DuckDBPyConnection, sid: str, person: str, partner: str, bedrag: int | None, day: str,
           crisis: bool = False) -> None:
    d = date.fromisoformat(day)
    con.execute("INSERT INTO vroegsignalen VALUES (?, ?, ?, ?, ?, ?, ?)",
                [u(sid), u(person), partner, bedrag, d, d, crisis])


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
