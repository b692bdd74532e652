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
