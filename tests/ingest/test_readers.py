import re

import pytest

from pipelines.ingest.readers import SourceFileError, read_source
from pipelines.settings import CONFIG_DIR, load_sources

SOURCES = load_sources(CONFIG_DIR).sources


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(SourceFileError) as e:
        read_source("brp", SOURCES["brp"], tmp_path)
    assert str(e.value) == f"source 'brp', file {tmp_path / 'brp.csv'}: file not found"


def test_wrong_encoding_is_a_file_error(sources_copy):
    path = sources_copy / "uitkeringen.csv"
    path.write_bytes(path.read_bytes().replace(b"Participatiewet", b"Participatiewet\x81", 1))
    with pytest.raises(SourceFileError) as e:
        read_source("uitkeringen", SOURCES["uitkeringen"], sources_copy)
    assert "cannot be decoded as cp1252" in str(e.value) and "uitkeringen.csv" in str(e.value)


def test_utf8_export_where_cp1252_is_configured_is_caught(sources_copy):
    path = sources_copy / "uitkeringen.csv"
    path.write_bytes(path.read_bytes().decode("cp1252").encode("utf-8"))
    with pytest.raises(SourceFileError) as e:
        read_source("uitkeringen", SOURCES["uitkeringen"], sources_copy)
    assert "missing column(s) 'Bedrag inhouding (€)'" in str(e.value)
    assert "the header looks UTF-8 encoded, sources.yaml says cp1252" in str(e.value)


def test_wrong_columns_are_named(sources_copy):
    path = sources_copy / "wmo.csv"
    text = path.read_text(encoding="utf-8").replace("Productcode", "Product", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("wmo", SOURCES["wmo"], sources_copy)
    assert "missing column(s) 'Productcode'" in str(e.value)


def test_invalid_json_is_a_file_error(sources_copy):
    (sources_copy / "vroegsignalen_2026-10.json").write_text('{"leveringen": [', encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert "vroegsignalen_2026-10.json" in str(e.value) and "is not valid JSON" in str(e.value)


def test_a_line_with_too_many_fields_is_rejected_with_its_row(sources_copy):
    path = sources_copy / "wmo.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].rstrip("\n") + ",extra\n"  # data row 5
    path.write_text("".join(lines), encoding="utf-8")
    raw = read_source("wmo", SOURCES["wmo"], sources_copy)
    assert [(r.row, r.rule) for r in raw.rejected] == [(5, "csv-structure")]
    assert raw.rows_read == len(lines) - 1
    assert 5 not in raw.table["_row"].to_pylist() and 6 in raw.table["_row"].to_pylist()


def test_unmapped_columns_such_as_names_are_never_read(sources):
    raw = read_source("brp", SOURCES["brp"], sources)
    assert "Geslachtsnaam" not in raw.table.column_names
    assert set(raw.table.column_names) == {"bsn", "huishouden_id", "geboortedatum", "buurtcode", "postcode", "huisnummer",
                                           "_row", "_file", "_rid"}


def test_a_file_without_its_header_line_is_refused_without_quoting_the_data_row(sources_copy):
    """Issue 11: the first data row (BSN, names, birth date, postcode) must never appear in a message."""
    path = sources_copy / "brp.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[1:]), encoding="utf-8")
    first = [v.strip("\"") for v in lines[1].rstrip("\n").split(",")]
    with pytest.raises(SourceFileError) as e:
        read_source("brp", SOURCES["brp"], sources_copy)
    message = str(e.value).replace(str(path), "")  # the temporary folder's name holds digits of its own
    assert "the first line holds no column names" in message and "its values are not shown" in message
    assert not [v for v in first if v and re.search(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])", message)]


# -- issue 11: reading safely ------------------------------------------------------------------------------------

BSN = "123456782"  # passes the 11-proef


def _lines(path, encoding="utf-8"):
    return path.read_text(encoding=encoding).splitlines(keepends=True)


def test_an_unrecognised_header_is_described_by_counts_and_expected_names_only(sources_copy):
    path = sources_copy / "brp.csv"
    lines = _lines(path)
    lines[0] = lines[0].replace('"BSN"', '"Burgerservicenummer"').replace('"Geslachtsnaam"', '"Jansen"')
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("brp", SOURCES["brp"], sources_copy)
    assert str(e.value) == (f"source 'brp', file {path}: missing column(s) 'BSN' (the header has 10 fields; 5 of the "
                            "6 expected names were found: 'Huishoudnummer', 'Geboortedatum', 'Buurtcode', 'Postcode', "
                            "'Huisnummer')")
    assert "Jansen" not in str(e.value) and "Burgerservicenummer" not in str(e.value)


def test_a_header_name_in_other_capitals_is_pointed_out(sources_copy):
    path = sources_copy / "wmo.csv"
    path.write_text(path.read_text(encoding="utf-8").replace('"BSN"', '"bsn"', 1), encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("wmo", SOURCES["wmo"], sources_copy)
    assert str(e.value).endswith("(the header has 5 fields; 4 of the 5 expected names were found: 'Productcategorie', "
                                 "'Productcode', 'Ingangsdatum', 'Einddatum'); 'BSN' is there with other capitals")


def test_a_utf8_bom_in_a_cp1252_file_is_named(sources_copy):
    path = sources_copy / "uitkeringen.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(SourceFileError) as e:
        read_source("uitkeringen", SOURCES["uitkeringen"], sources_copy)
    assert str(e.value) == (f"source 'uitkeringen', file {path}: starts with a UTF-8 byte-order mark: the file is "
                            "UTF-8, sources.yaml says cp1252; check the encoding in sources.yaml")


@pytest.mark.parametrize("where", ["end", "middle"])
def test_a_bare_cr_refuses_the_file_naming_its_line(sources_copy, where):
    from pipelines.ingest.readers import preflight

    path = sources_copy / "wmo.csv"
    lines = _lines(path)
    lines[6] = lines[6].rstrip("\n") + "\r" if where == "end" else lines[6].replace(",", ",\r", 1)
    path.write_text("".join(lines), encoding="utf-8")
    message = (f"source 'wmo', file {path}: line 7 (data row 6) holds a carriage return without a line feed (a bare "
               "CR, the classic Mac OS line ending): the CSV reader would start a new row there and every later row "
               "number would be wrong. Lines must end in LF or CRLF: convert the file's line endings, or ask the "
               "supplier for a new extract")
    for check in (read_source, preflight):
        with pytest.raises(SourceFileError) as e:
            check("wmo", SOURCES["wmo"], sources_copy)
        assert str(e.value) == message


def test_crlf_line_endings_are_fine(sources):
    assert b"\r\n" in (sources / "uitkeringen.csv").read_bytes()  # the synthetic export is CRLF
    assert read_source("uitkeringen", SOURCES["uitkeringen"], sources).rejected == []


def test_blank_lines_keep_the_line_numbers_of_later_rows(sources_copy):
    path = sources_copy / "wmo.csv"
    lines = _lines(path)
    lines[10] = lines[10].rstrip("\n") + ",extra\n"  # line 11, data row 10
    lines[3:3] = ["\n", "\r\n"]  # two empty lines before it: now line 13, data row 12
    path.write_text("".join(lines), encoding="utf-8")
    raw = read_source("wmo", SOURCES["wmo"], sources_copy)
    assert [(r.row, r.rule) for r in raw.rejected] == [(12, "csv-structure")]
    rows = raw.table["_row"].to_pylist()
    assert 3 not in rows and 4 not in rows and 12 not in rows and rows[:4] == [1, 2, 5, 6]
    assert raw.rows_read == len(lines) - 3  # header and the two empty lines are no rows


def test_a_quoted_field_over_a_line_end_refuses_the_file(sources_copy):
    path = sources_copy / "wmo.csv"
    lines = _lines(path)
    lines[6] = lines[6].replace('"0', '"\n0', 1)  # a line break inside the quotes of line 7
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("wmo", SOURCES["wmo"], sources_copy)
    n = len(lines) - 1
    assert str(e.value) == (
        f"source 'wmo', file {path}: line 7 starts a quoted field that runs over the end of the line (a line break "
        "inside quotes, or a quote that is never closed and swallows the lines after it): "
        f"{n + 1} non-empty lines after the header gave {n} rows, so rows would no longer be lines and some could be "
        "lost unseen. Remove the line break or close the quote")


def test_arrow_parse_errors_are_reduced_to_what_they_say_about_the_file():
    from pipelines.ingest.readers import _arrow_problem

    assert _arrow_problem(f"CSV parse error: Expected 7 columns, got 8: {BSN},Jansen,1980-01-01") == \
        "a row has 8 fields where the header has 7"
    assert _arrow_problem(f"CSV parser got out of sync with chunker. {BSN}") == \
        "a quoted field runs over a line end (a line break inside quotes, or a quote never closed)"
    assert BSN not in _arrow_problem(f"In CSV column #0: Row #2: CSV conversion error: invalid value '{BSN}'")


def test_a_bsn_in_a_file_name_is_masked_in_messages_quarantine_and_file_list(sources_copy, tmp_path):
    import json

    import duckdb

    from pipelines.ingest import ingest_source, write_quarantine
    from privacy.pseudonymise import pads

    named = sources_copy / f"vroegsignalen_{BSN}.json"
    (sources_copy / "vroegsignalen_2026-10.json").rename(named)
    doc = json.loads(named.read_text(encoding="utf-8"))
    doc["leveringen"][0]["vroegsignalen"][0]["signaalpartner"]["type"] = "Telefoon"  # a schema rejection
    doc["leveringen"][0]["vroegsignalen"][1]["client"]["Burgerservicenummer"] = "123456789"  # fails the 11-proef
    named.write_text(json.dumps(doc), encoding="utf-8")
    account, records = ingest_source(duckdb.connect(), "vroegsignalen", SOURCES["vroegsignalen"], sources_copy,
                                     CONFIG_DIR, pads(b"k" * 32), {"buurten": []})
    assert {r["file"] for r in records} == {"vroegsignalen_•••••••••.json"}
    assert {r["rule"] for r in records} == {"ddas-schema", "bsn-elfproef"}
    assert "vroegsignalen_•••••••••.json" in [f["name"] for f in account.files]
    write_quarantine(tmp_path / "q.csv", records)
    assert BSN.encode() not in (tmp_path / "q.csv").read_bytes()
    assert BSN not in json.dumps(account.as_dict())
    named.write_text('{"leveringen": [', encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {sources_copy}/vroegsignalen_•••••••••.json: is not valid "
                            "JSON (line 1, column 17: Expecting value)")


@pytest.mark.parametrize("pattern, why", [("../../etc/passwd", "it has a '..' component"),
                                          ("/etc/passwd", "it is an absolute path"),
                                          ("sub/../../wmo.csv", "it has a '..' component")])
def test_a_source_path_outside_the_sources_folder_is_refused_before_opening(sources_copy, pattern, why):
    source = SOURCES["wmo"].model_construct(**{**dict(SOURCES["wmo"]), "file": pattern})  # past the settings check
    with pytest.raises(SourceFileError) as e:
        read_source("wmo", source, sources_copy)
    assert str(e.value) == (f"source 'wmo', file {pattern}: refused: the 'file' sources.yaml gives this source: {why}; "
                            "source files must lie inside the sources folder")


def test_a_symbolic_link_out_of_the_sources_folder_is_refused_without_reading_it(sources_copy, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text(f"{BSN},Jansen\n", encoding="utf-8")
    (sources_copy / "wmo.csv").unlink()
    (sources_copy / "wmo.csv").symlink_to(outside)
    with pytest.raises(SourceFileError) as e:
        read_source("wmo", SOURCES["wmo"], sources_copy)
    assert str(e.value) == (f"source 'wmo', file {sources_copy / 'wmo.csv'}: refused: it is a symbolic link (or lies "
                            f"under one) that leads out of the sources folder {sources_copy.resolve()}; source files "
                            "must lie inside it")
    assert BSN not in str(e.value) and "Jansen" not in str(e.value)


def test_a_symbolic_link_inside_the_sources_folder_is_fine(sources_copy):
    (sources_copy / "extracts").mkdir()
    (sources_copy / "wmo.csv").rename(sources_copy / "extracts" / "wmo-2026-10.csv")
    (sources_copy / "wmo.csv").symlink_to(sources_copy / "extracts" / "wmo-2026-10.csv")
    assert read_source("wmo", SOURCES["wmo"], sources_copy).rows_read > 0


@pytest.mark.parametrize("pattern, message", [
    ("../../etc/passwd", "must not contain '..': source files lie inside the sources folder"),
    ("/etc/passwd", "must be relative to the sources folder, not an absolute path"),
])
def test_sources_yaml_refuses_a_path_out_of_the_sources_folder(tmp_path, pattern, message):
    import shutil

    from pipelines.configfile import ConfigError

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("reference"))
    text = (config / "sources.yaml").read_text(encoding="utf-8")
    (config / "sources.yaml").write_text(text.replace("file: wmo.csv", f"file: {pattern}"), encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip() == "file: wmo.csv")
    with pytest.raises(ConfigError) as e:
        load_sources(config)
    assert [str(p) for p in e.value.problems] == [f"{config / 'sources.yaml'}:{line}: sources.wmo.file: Value error, {message}"]


def test_an_unreadable_file_is_named_masked_without_the_os_message(sources_copy, monkeypatch):
    import pipelines.ingest.readers as readers

    named = sources_copy / f"vroegsignalen_{BSN}.json"
    (sources_copy / "vroegsignalen_2026-10.json").rename(named)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))  # the OS puts the path in its text

    monkeypatch.setattr(readers, "_scan", denied)
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {sources_copy}/vroegsignalen_•••••••••.json: cannot be "
                            "read: Permission denied")


def test_a_source_read_in_batches_gives_the_rows_and_row_numbers_of_the_whole_read(sources_copy):
    """stream_csv (the identity vault's second reading of the BRP) numbers rows as read_source
    does, across batches, with blank lines and a malformed line in the file."""
    from pipelines.ingest.readers import stream_csv

    path = sources_copy / "wmo.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].rstrip("\n") + ",extra\n"  # data row 5: rejected
    lines[9:9] = ["\n", "\n"]  # data rows 9 and 10: blank
    path.write_text("".join(lines), encoding="utf-8")
    whole = read_source("wmo", SOURCES["wmo"], sources_copy)
    batches = list(stream_csv("wmo", SOURCES["wmo"], sources_copy, batch_rows=7, block_bytes=2048))
    firsts = [first for _, _, first in batches]
    assert len(batches) > 3 and firsts == [0, *(f + b.num_rows for _, b, f in batches[:-1])]
    info = batches[0][0]
    rows = [int(info.rows[first + i]) for _, b, first in batches for i in range(b.num_rows)]
    assert rows == whole.table["_row"].to_pylist() and 5 not in rows and 9 not in rows and 11 in rows
    assert info.rejected == whole.rejected
    columns = list(SOURCES["wmo"].columns)
    assert [r for _, b, _ in batches for r in b.select(columns).to_pylist()] == whole.table.select(columns).to_pylist()


def test_a_file_with_a_malformed_line_is_read_again_when_read_in_batches(sources_copy):
    """Read with threads, a malformed record has no number: the file's batches so far are void
    (superseded) and it is read again in one thread, from record 0."""
    from pipelines.ingest.readers import stream_csv

    path = sources_copy / "wmo.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[-3] = lines[-3].rstrip("\n") + ",extra\n"  # near the end: after some batches were given
    path.write_text("".join(lines), encoding="utf-8")
    batches = list(stream_csv("wmo", SOURCES["wmo"], sources_copy, batch_rows=1, block_bytes=2048))
    void = [b for info, b, _ in batches if info.superseded]
    kept = [(info, b, first) for info, b, first in batches if not info.superseded]
    assert void and kept[0][2] == 0 and len({id(info) for info, _, _ in kept}) == 1
    whole = read_source("wmo", SOURCES["wmo"], sources_copy)
    assert sum(b.num_rows for _, b, _ in kept) == whole.table.num_rows
    assert kept[0][0].rejected == whole.rejected == [whole.rejected[0]] and whole.rejected[0].row == len(lines) - 3


def test_ddas_files_read_in_two_processes_give_what_one_process_gives(sources_copy, monkeypatch):
    import json
    import multiprocessing.pool

    import pipelines.ingest.readers as readers

    path = sources_copy / "vroegsignalen_2026-08.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["leveringen"][0]["vroegsignalen"][0]["signaalpartner"]["type"] = "Telefoon"  # a rejected row
    path.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setattr(readers, "READ_WORKERS", 1)
    one = read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    monkeypatch.setattr(readers, "READ_WORKERS", 2)
    monkeypatch.setattr(readers, "PARALLEL_BYTES", 0)
    calls = []
    imap = multiprocessing.pool.Pool.imap
    monkeypatch.setattr(multiprocessing.pool.Pool, "imap", lambda pool, *a, **k: calls.append(a) or imap(pool, *a, **k))
    two = read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert len(calls) == 1 and len(calls[0][1]) == 12  # the twelve files went to the forked processes
    assert len(one.files) == 12 and one.rejected
    assert two.table.equals(one.table) and two.files == one.files and two.rejected == one.rejected


def test_ddas_files_read_in_two_processes_stop_at_the_first_bad_file_with_its_own_message(sources_copy, monkeypatch):
    import pipelines.ingest.readers as readers

    monkeypatch.setattr(readers, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(readers, "READ_WORKERS", 2)
    (sources_copy / "vroegsignalen_2026-03.json").write_text('{"leveringen": [', encoding="utf-8")
    (sources_copy / "vroegsignalen_2026-09.json").write_text("[]", encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {sources_copy}/vroegsignalen_2026-03.json: is not valid "
                            "JSON (line 1, column 17: Expecting value)")
    assert e.value.problem == "is not valid JSON (line 1, column 17: Expecting value)"


def test_an_error_a_reading_process_cannot_send_back_is_named_by_its_kind(sources_copy, monkeypatch):
    import pipelines.ingest.readers as readers

    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(f"{a} {b}")

    def broken(name, path, source):
        raise Odd("a value", "another")

    monkeypatch.setattr(readers, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(readers, "READ_WORKERS", 2)
    monkeypatch.setattr(readers, "_read_file", broken)
    with pytest.raises(RuntimeError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {sources_copy}/vroegsignalen_2025-11.json: reading it "
                            "failed (Odd)")
