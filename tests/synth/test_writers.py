import hashlib
import json

import jsonschema
import pandas as pd

from pipelines.settings import REFERENCE_DIR
from pipelines.synth import synthesize

SCHEMA = json.loads((REFERENCE_DIR / "ddas" / "json_schema_Uitwisselmodel.json").read_text(encoding="utf-8"))


def test_vroegsignalen_validate_against_the_ddas_schema(sources):
    files = sorted(sources.glob("vroegsignalen_*.json"))
    assert len(files) == 12
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    n = 0
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(doc))
        assert errors == [], f"{f.name}: {errors[0].message if errors else ''}"
        n += sum(len(lev["vroegsignalen"]) for lev in doc["leveringen"])
    assert n > 500


def test_the_reference_examples_validate_too():
    # guards the validator set-up above: the DDAS project's own examples must pass
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for name in ("enkelvoudigVoorbeeld.json", "meervoudigVoorbeeld.json"):
        doc = json.loads((REFERENCE_DIR / "ddas" / name).read_text(encoding="utf-8"))
        assert list(validator.iter_errors(doc)) == []


def test_uitkeringen_export_is_cp1252_semicolon_decimal_comma(sources):
    raw = (sources / "uitkeringen.csv").read_bytes()
    assert "Bedrag inhouding (€)".encode("cp1252") in raw
    df = pd.read_csv(sources / "uitkeringen.csv", sep=";", encoding="cp1252", dtype=str)
    amounts = df["Bedrag inhouding (€)"].dropna()
    assert amounts.str.fullmatch(r"\d+,\d{2}").all()
    assert df.Ingangsdatum.str.fullmatch(r"\d{2}-\d{2}-\d{4}").all()
    assert set(df.Inhouding) == {"Ja", "Nee"}


def test_same_seed_gives_byte_identical_extracts(tmp_path):
    a = synthesize(tmp_path / "a", gemeente="GM0164", seed=11, scale=0.1)
    synthesize(tmp_path / "b", gemeente="GM0164", seed=11, scale=0.1)
    for name in a["files"]:
        ha = hashlib.sha256((tmp_path / "a" / name).read_bytes()).hexdigest()
        hb = hashlib.sha256((tmp_path / "b" / name).read_bytes()).hexdigest()
        assert ha == hb, name


BRP_HEADER = ["BSN", "Voornamen", "Geslachtsnaam", "Geboortedatum", "Huishoudnummer", "Straatnaam", "Postcode",
              "Huisnummer", "Woonplaats", "Buurtcode"]


def test_the_brp_extract_holds_names_and_the_address(sources):
    """What the identity vault is filled from; the DDAS deliveries name the same street for the same address."""
    import csv

    from pipelines.synth.writers import STREETS

    with (sources / "brp.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == BRP_HEADER
    assert all(r["Voornamen"] and r["Geslachtsnaam"] for r in rows)
    assert {r["Woonplaats"] for r in rows} == {"Hengelo"}
    assert {r["Straatnaam"] for r in rows} <= set(STREETS) and len({r["Straatnaam"] for r in rows}) > 5
    assert len({r["Voornamen"] for r in rows}) > 100  # one or two first names, varied
    street = {(r["Postcode"], r["Huisnummer"]): r["Straatnaam"] for r in rows}
    signals = [vs["client"] for f in sorted(sources.glob("vroegsignalen_*.json"))
               for lev in json.loads(f.read_text(encoding="utf-8"))["leveringen"] for vs in lev["vroegsignalen"]]
    assert signals and all(street[(c["Postcode"], c["Huisnummer"])] == c["Straatnaam"] for c in signals)


# sha256 of each extract for GM0164, seed 11, scale 0.1, 2 months, as written before the BRP extract got names
# and addresses: adding those columns drew nothing from the generator, so every other file kept its bytes
UNCHANGED = {
    "uitkeringen.csv": "19ceff7a8e0b41c6f2d81848ec64d3e3afc6501863dd7d464e4ca561157539a8",
    "vroegsignalen_2026-09.json": "ee174adb3a1d96b367ffdde9b7cd6842c453b3c6a324e2298e7c356ddc4b13c7",
    "vroegsignalen_2026-10.json": "974fbd86af867c09c69866f709f5f8bde97863af91da1f77fca5901436e70260",
    "wmo.csv": "365b46bccd4968982f1974a1896d41603157982dfcd45d10cd4d087bf7d46a95",
    "synth_manifest.json": "f67a600c7eee46efaf060035640f475b5fb140aa4021bfe8f12eb00f7059f1c1",
}
# and of the BRP extract's earlier columns, row by row
BRP_EARLIER_COLUMNS = "55f79b74d0feb2dce6f4529848cc03fb5a0bf10add167bdba84c770f72676cd7"


def test_the_other_extracts_and_the_earlier_brp_columns_are_unchanged(tmp_path):
    import csv

    synthesize(tmp_path, gemeente="GM0164", seed=11, scale=0.1, months=2)
    got = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in UNCHANGED}
    assert got == UNCHANGED
    earlier = [c for c in BRP_HEADER if c not in ("Voornamen", "Straatnaam", "Woonplaats")]
    with (tmp_path / "brp.csv").open(encoding="utf-8", newline="") as fh:
        rows = [[r[c] for c in earlier] for r in csv.DictReader(fh)]
    assert hashlib.sha256("\n".join(",".join(r) for r in rows).encode()).hexdigest() == BRP_EARLIER_COLUMNS


def test_v12_months_validate_against_the_v12_schema_and_the_v09_months_stay_as_they_were(tmp_path):
    v12 = json.loads((REFERENCE_DIR / "ddas" / "v1.2" / "json_schema_Uitwisselmodel.json").read_text(encoding="utf-8"))
    synthesize(tmp_path / "plain", gemeente="GM0164", scale=0.25, months=3)
    m = synthesize(tmp_path / "mix", gemeente="GM0164", scale=0.25, months=3, ddas_v12_from="2026-10")
    assert m["ddas_v12_from"] == "2026-10" and m["address_share"] == 0.3
    validator = jsonschema.Draft202012Validator(v12, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    doc = json.loads((tmp_path / "mix" / "vroegsignalen_2026-10.json").read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(doc))
    clients = [s["client"] for lev in doc["leveringen"] for s in lev["vroegsignalen"]]
    by_address = [c for c in clients if "postcode" in c]
    assert all(set(c) == {"postcode", "huisnummer"} for c in by_address)  # no names, no street
    assert all(set(c) == {"burgerservicenummer"} for c in clients if "postcode" not in c)
    assert 0.2 < len(by_address) / len(clients) < 0.4, (len(by_address), len(clients))
    for name in ("brp.csv", "vroegsignalen_2026-08.json", "vroegsignalen_2026-09.json"):  # before: v0.9, unchanged
        assert (tmp_path / "mix" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name
