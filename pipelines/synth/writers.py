"""Write a synthetic population as the extracts municipalities really receive.

* ``brp.csv``           BRP extract, UTF-8, comma-separated (includes names and the address:
                        Voornamen, Geslachtsnaam, Straatnaam, Huisnummer, Postcode, Woonplaats,
                        which the pipeline never reads: the mapping in sources.yaml leaves them out;
                        only the identity vault, privacy/vault.py, may hold them)
* ``uitkeringen.csv``   benefits-system export: ``;``-separated, decimal comma, cp1252,
                        dates as dd-mm-jjjj, Ja/Nee flags
* ``vroegsignalen_<YYYY-MM>.json``  one DDAS v0.9 delivery per month (optionally DDAS v1.2
                        from a given month on, part of its clients identified by address)
* ``wmo.csv``           Wmo allocations (iWmo 301 content), UTF-8
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.synth.population import Population

SURNAMES = [
    ("", "Jansen"), ("de", "Jong"), ("de", "Vries"), ("van den", "Berg"), ("van", "Dijk"), ("", "Bakker"),
    ("", "Janssen"), ("", "Visser"), ("", "Smit"), ("", "Meijer"), ("de", "Boer"), ("", "Mulder"),
    ("de", "Groot"), ("", "Bos"), ("", "Vos"), ("", "Peters"), ("", "Hendriks"), ("van", "Leeuwen"),
    ("", "Dekker"), ("", "Brouwer"), ("de", "Wit"), ("", "Dijkstra"), ("", "Smits"), ("de", "Graaf"),
    ("", "Yilmaz"), ("", "El Amrani"), ("", "Öztürk"), ("", "Kaya"), ("", "Nguyen"), ("", "Wiśniewski"),
]
STREETS = ["Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Julianastraat",
           "Beatrixlaan", "Oranjestraat", "Parallelweg", "Prinses Irenestraat", "Lindelaan", "Esdoornlaan",
           "Wilhelminaplein", "Veldweg", "Industrieweg", "Eikenlaan", "Beukenstraat", "Weverstraat"]
FIRST_NAMES = ["Jan", "Maria", "Pieter", "Anna", "Willem", "Johanna", "Hendrik", "Cornelia", "Mohamed", "Fatima",
               "Daan", "Emma", "Sem", "Julia", "Lucas", "Sophie", "Mehmet", "Ayşe", "Thijs", "Noor", "Piotr",
               "Agnieszka", "Minh", "Lan", "Gerrit", "Wilhelmina", "Bram", "Fenna", "Youssef", "Zeynep"]

WRITE = pacsv.WriteOptions(include_header=True, quoting_style="needed")


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Integers as fixed-width digit strings (BSN: 9, BAG id: 16), leading zeros kept."""
    return pc.utf8_lpad(pc.cast(pa.array(values, type=pa.int64()), pa.string()), width=width, padding="0")


def _d(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(dtype="datetime64[D]"), type=pa.date32())


def street_of(buurt: np.ndarray, huisnummer: np.ndarray) -> np.ndarray:
    """The street of an address (index into STREETS): the same in the BRP extract and the DDAS deliveries."""
    return (buurt * 7 + (huisnummer // 48)) % len(STREETS)


def _strings(indices: np.ndarray, values: list[str]) -> pa.Array:
    """values[indices] as a string column (built as a dictionary: fast for the whole country too)."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values, type=pa.string())).cast(
        pa.string())


def first_names(bsn: np.ndarray) -> pa.Array:
    """One or two first names per person, derived from the BSN: no draw from the generator, so every
    other extract keeps its bytes."""
    n = len(FIRST_NAMES)
    first, second = bsn % n, (bsn // 97) % n
    two = ((bsn // 7) % 3 == 0) & (second != first)
    combined = [*FIRST_NAMES, *(f"{a} {b}" for a in FIRST_NAMES for b in FIRST_NAMES)]
    return _strings(np.where(two, n + first * n + second, first), combined)


def write_brp(pop: Population, out: Path, rng: np.random.Generator) -> Path:
    p, h, b = pop.persons, pop.households, pop.buurten
    hh = p.hh.to_numpy()
    buurt = h.buurt.to_numpy()[hh]
    huisnummer = h.huisnummer.to_numpy()[hh]
    surname_idx = rng.integers(0, len(SURNAMES), len(h))[hh]
    names = pa.DictionaryArray.from_arrays(
        pa.array(surname_idx.astype(np.int32)),
        pa.array([(f"{v} " if v else "") + n for v, n in SURNAMES]),
    )
    table = pa.table(
        {
            "BSN": digits(p.bsn.to_numpy(), 9),
            "Voornamen": first_names(p.bsn.to_numpy().astype(np.int64)),
            "Geslachtsnaam": names.cast(pa.string()),
            "Geboortedatum": _d(p.birth_date),
            "Huishoudnummer": digits(h.address_id.to_numpy()[hh], 16),
            "Straatnaam": _strings(street_of(buurt, huisnummer), STREETS),
            "Postcode": pa.array(h.postcode.to_numpy()[hh]),
            "Huisnummer": pa.array(huisnummer),
            "Woonplaats": _strings(buurt, b.gemeentenaam.tolist()),
            "Buurtcode": pa.array(b.buurtcode.to_numpy()[buurt]),
        }
    )
    path = out / "brp.csv"
    pacsv.write_csv(table, path, WRITE)
    return path


def write_uitkeringen(pop: Population, out: Path) -> Path:
    u = pop.uitkeringen
    bsn = digits(pop.persons.bsn.to_numpy()[u.person.to_numpy()], 9).to_numpy(zero_copy_only=False)
    df = pd.DataFrame(
        {
            "BSN": bsn,
            "Regeling": u.regeling,
            "Ingangsdatum": u.ingangsdatum.dt.strftime("%d-%m-%Y"),
            "Einddatum": u.einddatum.dt.strftime("%d-%m-%Y"),
            "Inhouding": np.where(u.inhouding, "Ja", "Nee"),
            "Bedrag inhouding (€)": u.inhouding_bedrag,
            "Budgetbeheer": np.where(u.budgetbeheer, "Ja", "Nee"),
        }
    )
    path = out / "uitkeringen.csv"
    df.to_csv(path, sep=";", decimal=",", encoding="cp1252", index=False, float_format="%.2f", lineterminator="\r\n")
    return path


def write_wmo(pop: Population, out: Path) -> Path:
    w = pop.wmo
    table = pa.table(
        {
            "BSN": digits(pop.persons.bsn.to_numpy()[w.person.to_numpy()], 9),
            "Productcategorie": pa.array(w.productcategorie.to_numpy()),
            "Productcode": pa.array(w.productcode.to_numpy()),
            "Ingangsdatum": _d(w.ingangsdatum),
            "Einddatum": _d(w.einddatum),
        }
    )
    path = out / "wmo.csv"
    pacsv.write_csv(table, path, WRITE)
    return path


def by_address(person: np.ndarray, share: float) -> np.ndarray:
    """Which persons a v1.2 delivery identifies by postcode + huisnummer rather than BSN:
    `share` of them, fixed per person (a hash of the person's number, so every month agrees
    and no draw of the generator's random stream is used: the v0.9 output stays the same)."""
    h = (person.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return h.astype(np.float64) / float(1 << 24) < share


def _client_v12(bsn: str, postcode: str, nr: str, address: bool) -> dict:
    """A DDAS v1.2 client: by BSN alone, or by postcode + huisnummer (schema oneOf); no names, no street."""
    return {"postcode": postcode, "huisnummer": nr} if address else {"burgerservicenummer": bsn}


def write_ddas(pop: Population, out: Path, rng: np.random.Generator, v12_from: str | None = None,
               address_share: float = 0.3) -> list[Path]:
    """One DDAS `Uitwisselmodel` file per month, a `levering` per gemeente: v0.9, or from month
    `v12_from` (YYYY-MM) on v1.2, with `address_share` of the clients identified by address."""
    vs, p, h, b = pop.vroegsignalen, pop.persons, pop.households, pop.buurten
    person = vs.person.to_numpy()
    hh = vs.hh.to_numpy()
    buurt = h.buurt.to_numpy()[hh]
    surname = rng.integers(0, len(SURNAMES), len(h))[hh]
    initials = np.array(list("ABCDEFGHIJKLMNOPRSTWY"))[rng.integers(0, 21, len(vs))]
    street = np.array(STREETS)[street_of(buurt, h.huisnummer.to_numpy()[hh])]
    month_of = vs.month.to_numpy()
    address = by_address(person, address_share)
    fields = zip(
        vs.seq.tolist(), vs.crisissignaal.tolist(), vs.warme_overdracht.tolist(), vs.bedrag.tolist(),
        vs.ontstaansdatum.dt.strftime("%Y-%m-%d").tolist(), vs.signaaldatum.dt.strftime("%Y-%m-%d").tolist(),
        vs.signaalpartner.tolist(), digits(p.bsn.to_numpy()[person], 9).to_pylist(),
        p.birth_date.to_numpy()[person].astype("datetime64[D]").astype(str).tolist(),
        h.postcode.to_numpy()[hh].tolist(), h.huisnummer.to_numpy()[hh].astype(str).tolist(),
        b.gemeentenaam.to_numpy()[buurt].tolist(), b.gemeentecode.to_numpy()[buurt].tolist(),
        street.tolist(), surname.tolist(), initials.tolist(), month_of.tolist(), address.tolist(),
    )
    by_month: dict[str, dict[str, list]] = {m: {} for m in pop.months}
    for (seq, crisis, warm, bedrag, ontstaan, signaal, partner, bsn, birth, postcode, nr, plaats, gm, straat,
         sn, ini, month, by_adr) in fields:
        if v12_from is not None and month >= v12_from:
            client = _client_v12(bsn, postcode, nr, by_adr)
        else:
            prefix, name = SURNAMES[sn]
            client = {"Burgerservicenummer": bsn, "Voorletters": ini + "."}
            if prefix:
                client["Voorvoegsel"] = prefix
            client.update(Achternaam=name, Geboortedatum=birth, Straatnaam=straat, Postcode=postcode, Huisnummer=nr,
                          Plaatsnaam=plaats)
        by_month[month].setdefault(gm, []).append(
            {
                "ID": f"VS-{month[:4]}-{seq:08d}",
                "crisissignaal": crisis,
                "warmeOverdracht": warm,
                "bedrag": bedrag,
                "ontstaansdatum": ontstaan,
                "signaaldatum": signaal,
                "status": "Nog niet opgepakt",
                "signaalpartner": {"type": partner},
                "client": client,
            }
        )
    paths = []
    gm_names = dict(zip(b.gemeentecode, b.gemeentenaam))
    for month in pop.months:
        start = pd.Period(month, freq="M")
        per_gm = by_month[month]
        v12 = v12_from is not None and month >= v12_from
        organisation = ("aanleverendeOrganisatie", "contactpersonen") if v12 else \
            ("aanleverende_organisatie", "contactpersoonen")  # v0.9 spells it so
        doc = {
            "codeGegevensleverancier": "WIJKSIGNAAL-SYNTH",
            "startdatumLevering": str(start.start_time.date()),
            "einddatumLevering": str(start.end_time.date()),
            "aanleverdatumEnTijd": f"{(start + 1).start_time.date()}T06:00:00Z",
            "leveringen": [
                {
                    "teller": n,
                    "gemeentecode": gm[2:],
                    organisation[0]: {
                        "naam": f"Gemeente {gm_names[gm]}",
                        organisation[1]: [{"naam": "Team Vroegsignalering", "functietitel": "Synthetische testlevering"}],
                    },
                    "vroegsignalen": per_gm[gm],
                }
                for n, gm in enumerate(sorted(per_gm), start=1)
            ],
        }
        path = out / f"vroegsignalen_{month}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        paths.append(path)
    return paths
