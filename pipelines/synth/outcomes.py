"""Synthetic outcomes: the signal lists of a month filled in as wijkteams might (the demo's monitor,
benchmarks and tests). Each row's values come from a seed and the row's address (one case per
address and month), or its reference where the list shows no address: the same lists and seed
give the same workbooks, and the same outcomes whatever the keys (the reference is keyed with
the vault's key, the address is synthetic data), so that a benchmark or test run twice imports
the same outcomes.

The shares follow the order of magnitude the Divosa Monitor Vroegsignalering Schulden reports
(jaarrapportage 2021: 17 % of meldingen reached contact, 21 % of those accepted help; most
dossiers picked up), not any real gemeente.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import openpyxl

from pipelines.periods import period_bounds

KINDS = ("Brief", "Telefoon", "Huisbezoek", "Mail", "SMS/Whatsapp")
NOT_PICKED_UP = ("Niet opgepakt: herhaalde melding", "Niet opgepakt: andere reden", "Niet opgepakt: onterecht signaal")
REACHED = ("(Budget)advies en/of quick fix", "Vervolghulp en/of verwijzing financieel",
           "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering",
           "Inwoner heeft zelf al betaald/betalingsregeling getroffen")
NOT_REACHED = ("Definitief geen contact kunnen krijgen", "Geen reactie na eerder contact")


def _draws(reference: str, seed: int, n: int = 6) -> list[float]:
    digest = hashlib.sha256(f"{seed}:{reference}".encode()).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "big") / 2**32 for i in range(n)]


def outcome(draw_from: str, period: str, seed: int) -> dict:
    """The fill-in values of one list row (empty dict: not filled in), drawn from `draw_from` (its
    address, or its reference) and the seed."""
    u = _draws(draw_from, seed)
    start = period_bounds(period, 1)["period_end"] + timedelta(days=1)
    if u[0] < 0.08:
        return {}  # not filled in yet
    if u[1] < 0.12:
        return {"resultaat": NOT_PICKED_UP[int(u[2] * len(NOT_PICKED_UP))]}
    picked = start + timedelta(days=int(u[2] * 8))
    row: dict = {"datum opgepakt": picked}
    if u[3] < 0.1:
        return row  # picked up, no attempt recorded yet
    row["contactsoort"] = KINDS[int(u[4] * len(KINDS))]
    row["contactdatum"] = picked + timedelta(days=int(u[5] * 12))
    reached = u[3] < 0.3
    row["bereikt"] = "ja" if reached else "nee"
    if u[5] < 0.85:
        pool = REACHED if reached else NOT_REACHED
        row["resultaat"] = pool[int(u[4] * len(pool)) % len(pool)]
    return row


def fill_lists(folder: Path, period: str, seed: int = 1, out: Path | None = None) -> list[Path]:
    """Fill every `<team>.xlsx` of `folder` (a month's lists of one selection); save to `out`
    (default: in place). Only the fill-in columns are touched."""
    written = []
    for path in sorted(folder.glob("*.xlsx")):
        wb = openpyxl.load_workbook(path)
        ws = wb["Lijst"]
        col = {c.value: c.column for c in ws[1]}
        for r in range(2, ws.max_row + 1):
            ref = ws.cell(r, col["zaak"]).value
            if not ref:
                continue
            address = "|".join(str(ws.cell(r, col[c]).value or "") for c in ("adres", "plaats"))
            for name, value in outcome(address if address.strip("|") else str(ref), period, seed).items():
                ws.cell(r, col[name]).value = value if not isinstance(value, date) else value.strftime("%d-%m-%Y")
        target = (out or folder) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        wb.save(target)
        written.append(target)
    return written


__all__ = ["fill_lists", "outcome"]
