"""`wijksignaal register`: the privacy officer's overview of all selections.

Writes into the output folder:
  * register.html   Dutch overview: per selection its purpose, legal basis, the sources and
                    fields it reads (with their meaning), outputs, approval, version hash;
  * register.csv    the same, one row per selection;
  * algoritmeregister/<id>.json
                    per selection an export shaped like the Dutch Algoritmeregister
                    publication standard (naam, organisatie, korte omschrijving, doel en
                    impact, wettelijke basis, gegevens, menselijke tussenkomst,
                    risicobeheer, impacttoetsen with the DPIA reference, status).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from importlib import resources
from pathlib import Path

import jinja2

from pipelines.link.domains import Domains
from pipelines.select.catalogue import HOUSEHOLD, Catalogue, catalogue_of, shipped
from pipelines.select.explain import describe
from pipelines.select.selections import LoadedSelection
from privacy.dpia import DpiaRules
from privacy.rules import rulebook_table

CSV_COLUMNS = ["id", "titel", "doel", "wettelijke_basis", "link_wettelijke_basis", "bronnen", "velden", "uitvoer",
               "niveaus", "minimale_celgrootte", "eenheid", "eigenaar", "goedgekeurd_door", "goedgekeurd_op", "versie",
               "dpia"]


def _field_description(cat: Catalogue, dpia_source: str, field: str) -> str:
    for spec in cat.values():
        if spec.dpia_source == dpia_source and field in spec.fields:
            return spec.fields[field].description
    for spec in cat.values():  # the dates that time rules read
        if spec.dpia_source != dpia_source:
            continue
        if spec.period_fields[:1] == (field,):
            return f"{field} (om te bepalen of iets loopt in de peilmaand, of hoe lang)"
        if spec.period_fields[1:] == (field,):
            return f"{field} (om te bepalen of iets loopt in de peilmaand)"
        if spec.window_field == field:
            return f"{field} (om te bepalen of het in de terugkijkperiode valt)"
    return field


def entry(loaded: LoadedSelection, dpia: DpiaRules) -> dict:
    s, purpose = loaded.selection, dpia.purposes[loaded.selection.purpose]
    reads: dict[str, list[str]] = {}
    for src, field, _ in loaded.reads():
        if field not in reads.setdefault(src, []):
            reads[src].append(field)
    threshold = dpia.threshold(s.purpose, s.min_cell_size)
    gegevens = [
        {"bron": src, "velden": [{"veld": f, "betekenis": _field_description(loaded.catalogue, src, f)}
                                 for f in fields],
         "bewaartermijn_maanden": purpose.retention_months.get(src)}
        for src, fields in sorted(reads.items())
    ]
    return {
        "id": s.id,
        "versie": loaded.version,
        "naam": s.title,
        "organisatie": dpia.dpia.organisation,
        "afdeling": s.owner,
        "korte_omschrijving": _short(s.description),
        "omschrijving": " ".join(s.description.split()),
        "criteria": describe(s.criteria, s.unit, s.lookback_months, cat=loaded.catalogue),
        "eenheid": s.unit,
        "doel_en_impact": {
            "doel": s.purpose,
            "doel_titel": purpose.title,
            "doel_omschrijving": " ".join(purpose.description.split()),
            "impact": (f"Alleen aantallen {'huishoudens' if s.unit == 'huishouden' else 'personen'} per "
                       f"{', '.join(s.levels)}; geen gegevens over individuele inwoners en geen besluiten over "
                       "personen."),
        },
        "wettelijke_basis": " ".join(purpose.legal_basis.text.split()),
        "link_wettelijke_basis": purpose.legal_basis.link,
        "gegevens": gegevens,
        "uitvoer": {"soorten": list(s.outputs), "niveaus": list(s.levels), "minimale_celgrootte": threshold,
                    "afronding": purpose.rounding.base if purpose.rounding else None},
        "menselijke_tussenkomst": (
            "De selectie levert alleen beschermde tellingen per gebied voor wijkteams en beleid; zij "
            "neemt geen besluit en wijst geen personen aan. Medewerkers bepalen zelf of en hoe zij in een "
            "buurt of wijk inzetten. Een selectie draait alleen als haar bestand een goedkeuring vermeldt "
            "(door wie en wanneer); wijksignaal controleert dat die er staat, niet wie haar gaf. Het register en "
            "audit.json tonen haar, zodat de functionaris gegevensbescherming dat kan nagaan."),
        "risicobeheer": risk_measures(threshold, purpose, dpia),
        "getoetst_aan": [{"id": r.id, "naam": r.name, "regel": r.statement_nl} for r in dpia.rulebook],
        "impacttoetsen": [{"soort": "DPIA", "id": dpia.dpia.id, "versie": dpia.dpia.version,
                           "goedgekeurd_door": dpia.dpia.approval.by, "goedgekeurd_op": str(dpia.dpia.approval.date)}],
        "goedkeuring": {"door": s.approval.by, "op": str(s.approval.date)} if s.approval else None,
        "status": "in gebruik" if s.approval else "in ontwikkeling",
    }


def rules_sentence(dpia: DpiaRules) -> str:
    """The DPIA rules a selection is checked against, by id and name (Dutch)."""
    return ", ".join(f"{r.id} ({r.name})" for r in dpia.rulebook)


def risk_measures(threshold: int, purpose, dpia: DpiaRules) -> list[str]:
    """What protects the people counted, as the software actually does it (Dutch)."""
    out = [
        "Pseudonimisering bij inlezen (HMAC-SHA256 met een sleutel buiten de repository en het datapakhuis); "
        "alleen velden die een doel in de DPIA toestaat worden ingelezen, namen en adressen nooit in het "
        "datapakhuis: voor signaallijsten alleen in de versleutelde identiteitskluis (na het koppelen, alleen de "
        "huishoudens met een vroegsignaal in de maand), en voor de DDAS-levering het BSN of postcode en huisnummer "
        "uit de bronbestanden, niet in het datapakhuis (beide gelogd).",
        "Rijen die een regel van het datacontract breken komen niet in het datapakhuis (quarantaine met bestand, "
        "rij en regel, zonder waarden); een bron die leeg is, grotendeels in quarantaine gaat of de periode niet "
        "dekt, houdt de publicatie tegen of komt als waarschuwing in de publicatie (kwaliteitspoorten).",
        f"Elke selectie wordt vóór gebruik getoetst aan de DPIA-regels {rules_sentence(dpia)}; zij draait alleen "
        "als zij aan alle regels voldoet.",
        f"Cellen met 1 tot en met {threshold - 1} eenheden worden afgeschermd (primaire afscherming). Daarnaast "
        "worden andere cellen afgeschermd (secundaire afscherming), zodat geen afgeschermd klein aantal, en geen "
        "kleine groep die uit de definities van alle selecties is af te leiden, terug te rekenen is uit totalen, "
        "andere niveaus, andere tabellen en eerdere publicaties over dezelfde maand; een rekenkundige controle "
        "(lineaire programmering) bewijst dat vóór publicatie, anders wordt niets gepubliceerd.",
    ]
    if purpose.rounding is not None:
        out.append(f"Gepubliceerde aantallen worden afgerond op veelvouden van {purpose.rounding.base}.")
    if purpose.cell_key is not None:
        out.append(f"Gepubliceerde aantallen krijgen een kleine, vaste afwijking (celsleutelmethode, hooguit "
                   f"{purpose.cell_key.max_noise} erbij of eraf).")
    out.append("Elke publicatie krijgt een audit (audit.json) en een regel in een hash-geketend logboek.")
    return out


STANDARD_TABLES_ID = "stapeling-standaardtabellen"


def _numbers_of_domains(n: int) -> str:
    """'0, 1, 2 of 3' (three domains); with more, stapeling stops at 3+: '0, 1, 2 of 3 of meer'."""
    if n > 3:
        return "0, 1, 2 of 3 of meer"
    return ", ".join(str(k) for k in range(n)) + f" of {n}"


def standard_tables_entry(dpia: DpiaRules, version: str, domains: Domains, lookback: int = 3,
                          cat: Catalogue | None = None) -> dict:
    """The register entry of the standard tables (stapeling, combinaties), made under the DPIA's
    stapeling purpose for every release; approved with the DPIA itself. `domains`: the problem
    domains (config/domains.yaml): the criteria and what they read."""
    purpose = dpia.purposes[dpia.stapeling_purpose]
    threshold = dpia.threshold(dpia.stapeling_purpose, None)
    cat = cat or shipped()
    population = cat[HOUSEHOLD].dpia_source  # every table counts the households of the BRP
    gegevens = [{"bron": population, "velden": [{"veld": "huishouden", "betekenis": "het huishouden (adres) en zijn buurt"}],
                 "bewaartermijn_maanden": purpose.retention_months.get(population)}] + [
        {"bron": src, "velden": [{"veld": f, "betekenis": _field_description(cat, src, f)} for f in fields],
         "bewaartermijn_maanden": purpose.retention_months.get(src)} for src, fields in domains.reads().items()]
    return {
        "id": STANDARD_TABLES_ID,
        "versie": version,
        "naam": "Stapeling van problemen per buurt (de standaardtabellen stapeling en combinaties)",
        "organisatie": dpia.dpia.organisation,
        "afdeling": dpia.dpia.organisation,
        "korte_omschrijving": "Per buurt, wijk en gemeente het aantal huishoudens met "
                              f"{_numbers_of_domains(len(domains.ids))} probleemdomeinen en met elke combinatie van "
                              "domeinen.",
        "omschrijving": "Elke publicatie bevat de tabellen stapeling (huishoudens naar aantal probleemdomeinen: "
                        "totaal, 0, 1, 2+, 2, 3+) en combinaties (huishoudens naar combinatie van domeinen). Een "
                        "huishouden telt een domein als ten minste één persoon erin het heeft.",
        "criteria": [f"{t['id']}: {t['definition_nl']}" for t in domains.texts_nl(lookback)],
        "eenheid": "huishouden",
        "telt": "alle huishoudens, naar het aantal en de combinatie van deze probleemdomeinen:",
        "versie_uitleg": "SHA-256 van dpia.yaml en de domeindefinities (domains.yaml en de SQL van elk domein)",
        "doel_en_impact": {
            "doel": dpia.stapeling_purpose,
            "doel_titel": purpose.title,
            "doel_omschrijving": " ".join(purpose.description.split()),
            "impact": "Alleen aantallen huishoudens per gemeente, wijk en buurt; geen gegevens over individuele "
                      "inwoners en geen besluiten over personen.",
        },
        "wettelijke_basis": " ".join(purpose.legal_basis.text.split()),
        "link_wettelijke_basis": purpose.legal_basis.link,
        "gegevens": gegevens,
        "uitvoer": {"soorten": ["buurt_tables"], "niveaus": ["gemeente", "wijk", "buurt"],
                    "minimale_celgrootte": threshold, "afronding": purpose.rounding.base if purpose.rounding else None},
        "menselijke_tussenkomst": (
            "De tabellen leveren alleen beschermde tellingen per gebied voor wijkteams en beleid; zij nemen geen "
            "besluit en wijzen geen personen aan."),
        "risicobeheer": risk_measures(threshold, purpose, dpia),
        "impacttoetsen": [{"soort": "DPIA", "id": dpia.dpia.id, "versie": dpia.dpia.version,
                           "goedgekeurd_door": dpia.dpia.approval.by, "goedgekeurd_op": str(dpia.dpia.approval.date)}],
        "goedkeuring": {"door": dpia.dpia.approval.by, "op": str(dpia.dpia.approval.date)},
        "status": "in gebruik",
    }


MONITOR_ID = "monitor-vroegsignalering"


def monitor_entry(dpia: DpiaRules, version: str, sources=None) -> dict | None:
    """The register entry of the vroegsignalering monitor (pipelines/monitor/indicators.py), made under
    the DPIA's monitor_purpose by `wijksignaal run --monitor`; None without one."""
    from pipelines.monitor.indicators import ACCEPTED, indicators, levels_of, partner_types

    if dpia.monitor_purpose is None:
        return None
    purpose = dpia.purposes[dpia.monitor_purpose]
    threshold = dpia.threshold(dpia.monitor_purpose, None)
    levels = list(levels_of(purpose.lowest_level))
    found = indicators(partner_types(sources))
    return {
        "id": MONITOR_ID,
        "versie": version,
        "naam": "Monitor vroegsignalering schulden (de tabellen monitor:*)",
        "organisatie": dpia.dpia.organisation,
        "afdeling": dpia.dpia.organisation,
        "korte_omschrijving": "Per wijk en gemeente het aantal huishoudens met een vroegsignaal in de maand en wat "
                              "ermee is gedaan: opgepakt, contact, bereikt, hulp geaccepteerd, eindresultaat.",
        "omschrijving": "Een publicatie met --monitor bevat de tabellen " + ", ".join(sorted({i.table for i in found}))
                        + ": tellingen van huishoudens (één zaak per adres) naar soort signaalpartner, meervoudige en "
                          "opeenvolgende signalen, opvolging, contactpogingen per soort en eindresultaat (DDAS v1.2). "
                          "De eerste publicatie met de monitor van een maand legt die vast; latere publicaties over die "
                          "maand tonen dezelfde aantallen.",
        "criteria": [f"{i.table} {i.category}: {i.description}" for i in found],
        "eenheid": "huishouden",
        "telt": "de huishoudens met een zaak in de maand (een vroegsignaal op hun adres), met hun uitkomsten:",
        "versie_uitleg": "SHA-256 van dpia.yaml en de domeindefinities",
        "doel_en_impact": {
            "doel": dpia.monitor_purpose,
            "doel_titel": purpose.title,
            "doel_omschrijving": " ".join(purpose.description.split()),
            "impact": "Alleen aantallen huishoudens per gemeente en wijk; geen gegevens over individuele inwoners en "
                      "geen besluiten over personen. Hulp geaccepteerd: " + "; ".join(ACCEPTED) + ".",
        },
        "wettelijke_basis": " ".join(purpose.legal_basis.text.split()),
        "link_wettelijke_basis": purpose.legal_basis.link,
        "gegevens": [{"bron": src, "velden": [{"veld": f, "betekenis": f} for f in fields],
                      "bewaartermijn_maanden": purpose.retention_months.get(src)}
                     for src, fields in purpose.allowed_sources.items()] + [
            {"bron": "uitkomsten (wijksignaal outcomes)",
             "velden": [{"veld": v, "betekenis": v} for v in ("datum opgepakt", "contactpogingen (soort, datum, bereikt)",
                                                              "eindresultaat")],
             "bewaartermijn_maanden": purpose.retention_months.get("vroegsignalen")}],
        "uitvoer": {"soorten": ["monitor_tables"], "niveaus": levels, "minimale_celgrootte": threshold,
                    "afronding": purpose.rounding.base if purpose.rounding else None,
                    "nul": "ook 0 wordt afgeschermd"},
        "menselijke_tussenkomst": "De monitor telt wat wijkteams en het zaaksysteem hebben teruggemeld; hij neemt "
                                  "geen besluit en wijst geen personen aan.",
        "risicobeheer": risk_measures(threshold, purpose, dpia) + [
            "In de monitortabellen is ook een 0 afgeschermd; de controle rekent met atomen die elk minstens 0 "
            "huishoudens tellen (zie README, Monitor vroegsignalering)."],
        "impacttoetsen": [{"soort": "DPIA", "id": dpia.dpia.id, "versie": dpia.dpia.version,
                           "goedgekeurd_door": dpia.dpia.approval.by, "goedgekeurd_op": str(dpia.dpia.approval.date)}],
        "goedkeuring": {"door": dpia.dpia.approval.by, "op": str(dpia.dpia.approval.date)},
        "status": "in gebruik",
    }


def _short(text: str, limit: int = 150) -> str:
    text = " ".join(text.split())
    first = text.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def _csv(entries: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        w.writerow([
            e["id"], e["naam"], e["doel_en_impact"]["doel"], e["wettelijke_basis"], e["link_wettelijke_basis"],
            "; ".join(g["bron"] for g in e["gegevens"]),
            "; ".join(f"{g['bron']}.{v['veld']}" for g in e["gegevens"] for v in g["velden"]),
            "; ".join(e["uitvoer"]["soorten"]), "; ".join(e["uitvoer"]["niveaus"]), e["uitvoer"]["minimale_celgrootte"],
            e["eenheid"], e["afdeling"], (e["goedkeuring"] or {}).get("door", ""), (e["goedkeuring"] or {}).get("op", ""),
            e["versie"], f"{e['impacttoetsen'][0]['id']} v{e['impacttoetsen'][0]['versie']}",
        ])
    return out.getvalue()


def loaded(sources, dpia: DpiaRules) -> list[dict]:
    """What every run loads of each source, whichever selections run: its link columns and every
    field some DPIA purpose allows (pipelines.ingest.loaded_columns), and what is kept of each."""
    from pipelines.ingest import loaded_columns

    out = []
    for name, src in sources.sources.items():
        cols = loaded_columns(name, src, dpia.allowed_fields(name))
        vault = [{"veld": f"{k} ({h})", "bewaard": "alleen in de versleutelde identiteitskluis, en alleen als een "
                  "selectie om een signaallijst vraagt (privacy/vault.py); nooit in het datapakhuis"}
                 for k, h in src.identity.items()]
        out.append({"bron": name, "titel": src.title,
                    "ingelezen": [{"veld": c, "bewaard": kept} for c, kept in cols if kept] + vault,
                    "niet_ingelezen": [c for c, kept in cols if not kept]})
    return out


def standard_version(config_dir: Path, domains: Domains) -> str:
    """The version of the standard tables: SHA-256 over dpia.yaml, domains.yaml and each domain's SQL."""
    h = hashlib.sha256((Path(config_dir) / "dpia.yaml").read_bytes())
    for p in domains.files():
        h.update(p.read_bytes())
    return h.hexdigest()


def write_register(out: Path, selections: list[LoadedSelection], dpia: DpiaRules, domains: Domains,
                   standard_version: str = "", sources=None, lookback: int = 3) -> list[Path]:
    """The register of the standard tables and every selection; `domains`: the problem domains of
    the standard tables; `standard_version`: a hash of what defines them (standard_version());
    `sources` (sources.yaml): adds what every run loads."""
    cat = catalogue_of(sources) if sources else None
    monitor = monitor_entry(dpia, standard_version, sources)
    entries = [standard_tables_entry(dpia, standard_version, domains, lookback, cat)] + (
        [monitor] if monitor else []) + [entry(s, dpia) for s in sorted(selections, key=lambda s: s.selection.id)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "algoritmeregister").mkdir(exist_ok=True)
    written = []
    for e in entries:
        p = out / "algoritmeregister" / f"{e['id']}.json"
        p.write_text(json.dumps(e, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(p)
    (out / "register.csv").write_text(_csv(entries), encoding="utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(
        resources.files("pipelines.select").joinpath("templates", "register.html.j2").read_text(encoding="utf-8"))
    purposes = {k: p for k, p in dpia.purposes.items()}
    (out / "register.html").write_text(template.render(entries=entries, dpia=dpia, purposes=purposes,
                                                       rulebook=rulebook_table(dpia.rulebook),
                                                       loaded=loaded(sources, dpia) if sources else []),
                                       encoding="utf-8")
    return [out / "register.html", out / "register.csv", *written]
