"""The field catalogue: every field a selection may name, per source, and nothing else.

This is the whitelist between user text and SQL. A field name in a selection must be a
key here; it maps to a fixed SQL expression over the warehouse table of its source.
The DPIA rules (config/dpia.yaml) allow fields by these same names, and `explain` and
the register show the Dutch descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["bool", "int", "number", "text"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    sql: str  # expression over alias t; `{year}` is replaced by a bound parameter
    description: str
    values: tuple[str, ...] = ()  # code list for text fields, when closed
    labels: tuple[tuple[str, str], ...] = ()  # code -> its meaning, for codes that are numbers

    def label(self, code: str) -> str:
        """'01 (Hulp bij het huishouden)' for a labelled code, else the code."""
        meaning = dict(self.labels).get(code)
        return f"{code} ({meaning})" if meaning else code


@dataclass(frozen=True)
class SourceFields:
    name: str
    table: str
    description: str
    person_column: str  # column holding the person pseudonym
    fields: dict[str, Field]
    # implicit fields read by time rules (DPIA must allow them too)
    period_fields: tuple[str, ...] = ()  # read by `active` / `duration_months`
    window_field: str | None = None  # read by `within_months`


SIGNAALPARTNERS = ("Energie", "Huur", "Hypotheek", "CAK Zorgverzekeringen", "Zorg", "Water", "DUO",
                   "Belastingdienst", "CAK Eigen bijdrage", "Overige", "Dienst Toeslagen")
REGELINGEN = ("Participatiewet", "IOAW", "IOAZ", "Bbz")
# iStandaarden codelijst WMO022 (ProductcategoriePgb), the iWmo product categories
WMO_CATEGORY_LABELS = (
    ("01", "Hulp bij het huishouden"), ("02", "Begeleiding"), ("03", "Persoonlijke verzorging"),
    ("04", "Kortdurend verblijf"), ("05", "Woondiensten"),
    ("06", "Overige ondersteuning gericht op het individu of huishouden/gezin"), ("07", "Dagbesteding"),
    ("08", "Vervoerdiensten"), ("09", "Overige groepsgerichte ondersteuning"), ("10", "Overige maatwerk arrangementen"),
    ("11", "Rolstoelen"), ("12", "Vervoervoorzieningen"), ("13", "Woonvoorzieningen"), ("14", "Overige hulpmiddelen"),
    ("15", "Beschermd wonen"), ("16", "Opvang"), ("17", "Spoedopvang"), ("18", "Overige beschermd wonen en opvang"),
)
WMO_CATEGORIES = tuple(code for code, _ in WMO_CATEGORY_LABELS)


def _f(name, kind, sql, description, values=(), labels=()):
    return name, Field(name, kind, sql, description, tuple(values), tuple(labels))


SOURCES: dict[str, SourceFields] = {
    "brp": SourceFields(
        "brp", "persons", "BRP: ingezetenen met hun huishouden (adres) en geboortejaar", "pid",
        dict([
            _f("leeftijd", "int", '({year} - t."geboortejaar")', "leeftijd in jaren: het jaar van de peilmaand min het geboortejaar (het datapakhuis kent alleen het geboortejaar; wie later in het jaar jarig wordt, telt al mee)"),
        ]),
    ),
    "huishouden": SourceFields(
        "huishouden", "households", "BRP: samenstelling van het huishouden", "",
        dict([
            _f("aantal_personen", "int", 'h."n_personen"', "aantal personen in het huishouden"),
            _f("aantal_minderjarigen", "int", 'h."n_minderjarigen"', "aantal personen jonger dan 18 jaar (jaar van de peilmaand min geboortejaar)"),
            _f("aantal_75plus", "int", 'h."n_75plus"', "aantal personen van 75 jaar of ouder (jaar van de peilmaand min geboortejaar)"),
        ]),
    ),
    "uitkeringen": SourceFields(
        "uitkeringen", "uitkeringen", "Uitkeringen (Participatiewet, IOAW, IOAZ, Bbz)", "pid",
        dict([
            _f("regeling", "text", 't."regeling"', "de regeling van de uitkering", REGELINGEN),
            _f("inhouding", "bool", 't."inhouding"', "er vindt een inhouding op de uitkering plaats"),
            _f("inhouding_bedrag", "number", 't."inhouding_bedrag"', "bedrag van de inhouding in euro"),
            _f("budgetbeheer", "bool", 't."budgetbeheer"', "de uitkeringsgerechtigde heeft budgetbeheer"),
        ]),
        period_fields=("ingangsdatum", "einddatum"),
    ),
    "vroegsignalen": SourceFields(
        "vroegsignalen", "vroegsignalen", "Vroegsignalen van betalingsachterstanden (Wgs, DDAS)", "pid",
        dict([
            _f("signaalpartner", "text", 't."signaalpartner"', "soort signaalpartner (DDAS)", SIGNAALPARTNERS),
            _f("bedrag", "int", 't."bedrag"', "bedrag van de achterstand in hele euro"),
            _f("crisissignaal", "bool", 't."crisissignaal"', "de signaalpartner meldt een crisis"),
        ]),
        window_field="signaaldatum",
    ),
    "wmo": SourceFields(
        "wmo", "wmo", "Wmo-voorzieningen (iWmo)", "pid",
        dict([
            _f("productcategorie", "text", 't."productcategorie"', "iWmo-productcategorie (codelijst WMO022)",
               WMO_CATEGORIES, WMO_CATEGORY_LABELS),
            _f("productcode", "text", 't."productcode"', "iWmo-productcode"),
        ]),
        period_fields=("ingangsdatum", "einddatum"),
    ),
}

# which warehouse source a catalogue source reads (for the DPIA: `huishouden` is BRP data)
DPIA_SOURCE = {"brp": "brp", "huishouden": "brp", "uitkeringen": "uitkeringen", "vroegsignalen": "vroegsignalen",
               "wmo": "wmo"}
