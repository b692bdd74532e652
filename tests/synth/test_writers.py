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
