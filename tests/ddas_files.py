"""Small hand-made DDAS v1.2 deliveries and BRP extracts for the v1.2 tests (tests/ingest, tests/link)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb

from pipelines.geography import buurten
from pipelines.ingest import ingest_source
from pipelines.settings import CONFIG_DIR, load_sources
from privacy.pseudonymise import pads

SOURCES = load_sources(CONFIG_DIR).sources
PADS = pads(b"k" * 32)
BUURTEN = sorted(buurten("GM0164").buurtcode)
CONTEXT = {"buurten": BUURTEN, "peildatum": "2026-11-30"}
EXAMPLES_DIR = CONFIG_DIR / "reference" / "ddas" / "v1.2"
BRP_HEADER = ["BSN", "Geslachtsnaam", "Geboortedatum", "Huishoudnummer", "Postcode", "Huisnummer", "Buurtcode"]


def bsn(n: int) -> str:
    """The n-th 9-digit number from 100000000 on that passes the 11-proef."""
    found = -1
    for x in range(100_000_000, 200_000_000):
        s = f"{x:09d}"
        if (sum(int(d) * w for d, w in zip(s, range(9, 1, -1))) - int(s[8])) % 11 == 0:
            found += 1
            if found == n:
                return s
    raise ValueError(n)


def write_brp(folder: Path, people: list[tuple[str, int, str, str]]) -> None:
    """people: (bsn, household number, postcode, huisnummer), all in the first buurt of Hengelo."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "brp.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(BRP_HEADER)
        for b, hh, postcode, nr in people:
            w.writerow([b, "Jansen", "1980-01-01", f"{hh:016d}", postcode, nr, BUURTEN[0]])


def signal(sid: str, client: dict, partner: str = "Huur", day: str = "2026-10-05", bedrag: int = 100) -> dict:
    return {"ID": sid, "bedrag": bedrag, "signaaldatum": day, "signaalpartner": {"type": partner}, "client": client}


def write_v12(folder: Path, month: str, signals: list[dict]) -> Path:
    """A DDAS v1.2 delivery for the month (YYYY-MM, a month of 2026 before December)."""
    y, m = month.split("-")
    doc = {"codeGegevensleverancier": "TEST", "startdatumLevering": f"{month}-01", "einddatumLevering": f"{month}-28",
           "aanleverdatumEnTijd": f"{y}-{int(m) + 1:02d}-01T06:00:00Z",
           "leveringen": [{"teller": 1, "gemeentecode": "0164", "aanleverendeOrganisatie": {"naam": "Gemeente Test"},
                           "vroegsignalen": signals}]}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"vroegsignalen_{month}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def ingest(con: duckdb.DuckDBPyConnection, folder: Path, names=("brp", "vroegsignalen")) -> dict:
    """name -> (account, quarantine records) of each source read from `folder` into `con`."""
    return {n: ingest_source(con, n, SOURCES[n], folder, CONFIG_DIR, PADS, CONTEXT) for n in names}


def write_empty_others(folder: Path) -> None:
    """Header-only extracts of the sources the domains also read (uitkeringen, wmo)."""
    (folder / "uitkeringen.csv").write_bytes("BSN;Regeling;Ingangsdatum;Einddatum;Inhouding;Bedrag inhouding (€);"
                                             "Budgetbeheer\r\n".encode("cp1252"))
    (folder / "wmo.csv").write_text("BSN,Productcategorie,Productcode,Ingangsdatum,Einddatum\n", encoding="utf-8")


ALL_SOURCES = ("brp", "uitkeringen", "vroegsignalen", "wmo")
