"""Issue 11: DDAS files are checked against the JSON Schema of the DDAS version they follow."""

import copy
import itertools
import json
import shutil

import duckdb
import jsonschema
import pytest

from pipelines.geography import buurten
from pipelines.ingest import ddas, ingest_source, write_quarantine
from pipelines.ingest.readers import SourceFileError, read_source
from pipelines.settings import CONFIG_DIR, REFERENCE_DIR, load_sources
from privacy.pseudonymise import pads

SOURCES = load_sources(CONFIG_DIR).sources
DDAS = REFERENCE_DIR / "ddas"
BSN = "123456782"  # passes the 11-proef


def read(folder):
    return read_source("vroegsignalen", SOURCES["vroegsignalen"], folder)


def one_file(sources_copy, change):
    """Keep one month's file, changed by `change(doc)`."""
    path = sources_copy / "vroegsignalen_2026-10.json"
    for other in sources_copy.glob("vroegsignalen_*.json"):
        if other != path:
            other.unlink()
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def first(doc, j=0):
    return doc["leveringen"][0]["vroegsignalen"][j]


def test_a_signal_breaking_the_schema_is_a_rejected_row_without_its_values(sources_copy):
    def change(doc):
        first(doc, 0)["signaalpartner"]["type"] = "Telefoon"
        first(doc, 1)["client"]["Burgerservicenummer"] = int(BSN)  # a number where the schema wants a string
        first(doc, 2)[BSN] = "x"  # a property named by a BSN
        first(doc, 2)["startdatum_matchtingperiode"] = "2026-10-01"  # a DDAS name in the wrong place
        doc["leveringen"][0]["vroegsignalen"][3] = BSN  # not an object at all
        first(doc, 4)["client"]["Geboortedatum"] = "1980-02-30"
    one_file(sources_copy, change)
    raw = read(sources_copy)
    v = "does not follow the DDAS v0.9 schema: leveringen[0].vroegsignalen"
    assert [(r.file, r.row, r.rule, r.message) for r in raw.rejected] == [
        ("vroegsignalen_2026-10.json", 1, "ddas-schema",
         f"{v}[0].signaalpartner.type: enum: not one of the 11 values the schema allows"),
        ("vroegsignalen_2026-10.json", 2, "ddas-schema",
         f"{v}[1].client.Burgerservicenummer: type: expected string, found integer"),
        ("vroegsignalen_2026-10.json", 3, "ddas-schema",
         f"{v}[2]: additionalProperties: 2 properties the schema does not define: 'startdatum_matchtingperiode' "
         "and 1 whose name is not shown (not a DDAS field name: possibly data)"),
        ("vroegsignalen_2026-10.json", 4, "ddas-schema", f"{v}[3]: type: expected object, found string"),
        ("vroegsignalen_2026-10.json", 5, "ddas-schema",
         f"{v}[4].client.Geboortedatum: format: not a valid date (YYYY-MM-DD)"),
    ]
    assert 1 not in raw.table["_row"].to_pylist() and 6 in raw.table["_row"].to_pylist()
    assert not any(BSN in r.message or "Telefoon" in r.message or "1980" in r.message for r in raw.rejected)


def test_the_quarantine_file_holds_no_value_of_a_rejected_signal(sources_copy, tmp_path):
    def change(doc):
        first(doc, 0)["client"]["Burgerservicenummer"] = int(BSN)
        first(doc, 1)[BSN] = BSN
    one_file(sources_copy, change)
    account, records = ingest_source(duckdb.connect(), "vroegsignalen", SOURCES["vroegsignalen"], sources_copy,
                                     CONFIG_DIR, pads(b"k" * 32), {"buurten": buurten("GM0164").buurtcode.tolist()})
    assert account.quarantined_by_rule == {"ddas-schema": 2}
    write_quarantine(tmp_path / "q.csv", records)
    assert BSN.encode() not in (tmp_path / "q.csv").read_bytes()


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("aanleverdatumEnTijd"), "(top level): required: required property 'aanleverdatumEnTijd' missing"),
    (lambda d: d.update(aanleverdatumEnTijd="1-11-2026 06:00"), "aanleverdatumEnTijd: format: not a valid date-time"),
    (lambda d: d["leveringen"][0].update(teller="1"), "leveringen[0].teller: type: expected integer, found string"),
    (lambda d: d["leveringen"][0].update(vroegsignalen={"a": 1}),
     "leveringen[0].vroegsignalen: type: expected array, found object"),
    (lambda d: d.update({BSN: BSN}), "(top level): additionalProperties: 1 property the schema does not define: "
                                     "1 whose name is not shown (not a DDAS field name: possibly data)"),
    (lambda d: d["leveringen"].append(copy.deepcopy(d["leveringen"][0])),
     "leveringen: uniqueItems: holds the same item more than once"),
])
def test_a_problem_outside_the_signals_refuses_the_file(sources_copy, change, problem):
    path = one_file(sources_copy, change)
    with pytest.raises(SourceFileError) as e:
        read(sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {path}: does not follow the DDAS v0.9 schema "
                            f"(1 problem(s) outside the signals): {problem}")
    assert BSN not in str(e.value)


def test_leveringen_that_differ_only_in_their_signals_are_not_duplicates(sources_copy):
    def change(doc):
        twin = copy.deepcopy(doc["leveringen"][0])
        twin["vroegsignalen"] = twin["vroegsignalen"][:1]
        doc["leveringen"].append(twin)
    one_file(sources_copy, change)
    assert read(sources_copy).rejected == []


def test_a_v12_file_is_recognised_checked_and_refused_when_the_declaration_maps_no_v12_paths(sources_copy):
    for p in sources_copy.glob("vroegsignalen_*.json"):
        p.unlink()
    shutil.copy(DDAS / "v1.2" / "uitgebreidVoorbeeld.json", sources_copy / "vroegsignalen_2025-01.json")
    only_v09 = SOURCES["vroegsignalen"].model_copy(update={"columns_by_version": {}})
    assert only_v09.read_versions == ("0.9",) and SOURCES["vroegsignalen"].read_versions == ("0.9", "1.2")
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", only_v09, sources_copy)
    assert str(e.value) == (
        f"source 'vroegsignalen', file {sources_copy / 'vroegsignalen_2025-01.json'}: follows DDAS v1.2 (recognised "
        "by its field leveringen[0].aanleverendeOrganisatie; checked against the v1.2 schema: 17 signal(s), all "
        "following the schema). DDAS v1.2 is recognised but not read: sources.yaml maps no field paths of v1.2 "
        "(columns_by_version) to the vroegsignalen columns; deliver DDAS v0.9, or add them")


def test_a_v12_path_the_schema_does_not_have_is_refused(sources_copy):
    for p in sources_copy.glob("vroegsignalen_*.json"):
        p.unlink()
    shutil.copy(DDAS / "v1.2" / "enkelvoudigVoorbeeld.json", sources_copy / "vroegsignalen_2025-01.json")
    source = SOURCES["vroegsignalen"]
    typo = source.model_copy(update={"columns_by_version": {"1.2": {**source.columns_by_version["1.2"],
                                                                    "bsn": "client.Burgerservicenummer"}}})
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", typo, sources_copy)
    assert str(e.value).endswith("follows DDAS v1.2, but sources.yaml maps column(s) to field paths that the v1.2 "
                                 "schema's vroegsignaal does not have: bsn ('client.Burgerservicenummer')")


def test_a_file_mixing_versions_is_refused(sources_copy):
    def change(doc):
        twin = copy.deepcopy(doc["leveringen"][0])
        twin["teller"] = 2
        twin["aanleverendeOrganisatie"] = twin.pop("aanleverende_organisatie")
        doc["leveringen"].append(twin)
    path = one_file(sources_copy, change)
    with pytest.raises(SourceFileError) as e:
        read(sources_copy)
    assert str(e.value) == (
        f"source 'vroegsignalen', file {path}: is not a DDAS file wijksignaal can read: mixes field names of DDAS "
        "versions (v0.9 at leveringen[0].aanleverende_organisatie; v1.2 at leveringen[1].aanleverendeOrganisatie): "
        "a file follows one version")


def test_the_reference_v09_examples_are_read_and_quarantined_whole(tmp_path):
    """Their BSNs (123456789, ...) fail the 11-proef: every signal is quarantined, none lost."""
    for name in ("enkelvoudigVoorbeeld.json", "meervoudigVoorbeeld.json"):
        shutil.copy(DDAS / name, tmp_path / f"vroegsignalen_{name}")
    account, records = ingest_source(duckdb.connect(), "vroegsignalen", SOURCES["vroegsignalen"], tmp_path,
                                     CONFIG_DIR, pads(b"k" * 32), {"buurten": []})
    assert account.rows_read == 5 and account.rows_loaded == 0 and account.rows_quarantined == 5
    # the two examples also reuse signal IDs (id-uniek): a delivery read twice would look the same
    assert {r["rule"] for r in records} == {"bsn-elfproef", "id-uniek"}


@pytest.mark.parametrize("version, files", [
    ("0.9", ["enkelvoudigVoorbeeld.json", "meervoudigVoorbeeld.json"]),
    ("1.2", ["v1.2/enkelvoudigVoorbeeld.json", "v1.2/meervoudigVoorbeeld.json", "v1.2/uitgebreidVoorbeeld.json"]),
])
def test_the_versions_are_told_apart_by_their_field_names(version, files):
    for f in files:
        doc = json.loads((DDAS / f).read_text(encoding="utf-8"))
        assert ddas.detect_version(doc)[0] == version
        assert ddas.schema(version).check(doc).file == [] and ddas.schema(version).check(doc).signals == {}


# -- the fast check gives jsonschema's verdict -------------------------------------------------------------------

ODD = [None, 0, 1, 1.0, 1.5, True, "", "x", "2026-02-30", "2026-10-31", "20261031", "Zorg", BSN, "12345678",
       [], {}, {"type": "Zorg"}]


def _paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, path + (k,))


def _set(obj, path, value):
    out = copy.deepcopy(obj)
    if not path:
        return value
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


def _drop(obj, path):
    out = copy.deepcopy(obj)
    node = out
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]
    return out


def _mutants(signal):
    for path in _paths(signal):
        yield from (_set(signal, path, v) for v in ODD)
        if path:
            yield _drop(signal, path)
        node = signal
        for p in path:
            node = node[p]
        if isinstance(node, dict):
            for extra in ("Burgerservicenummer", "burgerservicenummer", "postcode", "huisnummer", BSN):
                yield _set(signal, path + (extra,), "1234AB")


def _signals(files):
    return [s for f in files for lev in json.loads((DDAS / f).read_text(encoding="utf-8"))["leveringen"]
            for s in lev["vroegsignalen"]]


@pytest.mark.parametrize("version, files", [
    ("0.9", ["enkelvoudigVoorbeeld.json", "meervoudigVoorbeeld.json"]),
    ("1.2", ["v1.2/enkelvoudigVoorbeeld.json", "v1.2/meervoudigVoorbeeld.json"]),
])
def test_the_fast_check_agrees_with_jsonschema_on_every_mutant(version, files):
    schema = ddas.schema(version)
    raw = json.loads(ddas.SCHEMA_FILES[version].read_text(encoding="utf-8"))
    item = raw["properties"]["leveringen"]["items"]["properties"]["vroegsignalen"]["items"]
    reference = jsonschema.Draft202012Validator({**item, "$defs": raw["$defs"]},
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    n = invalid = 0
    for signal in _signals(files):
        for m in itertools.chain([signal], _mutants(signal)):
            assert schema.fast(m) == reference.is_valid(m), json.dumps(m)[:200]
            n += 1
            invalid += not reference.is_valid(m)
    assert n > 1000 and 0 < invalid < n
