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
    assert set(raw.table.column_names) == {"bsn", "huishouden_id", "geboortedatum", "buurtcode", "_row", "_file", "_rid"}


def test_a_file_without_its_header_line_is_refused_without_quoting_the_data_row(sources_copy):
    """Issue 11: the first data row (BSN, names, birth date, postcode) must never appear in a message."""
    path = sources_copy / "brp.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[1:]), encoding="utf-8")
    first = [v.strip("\"") for v in lines[1].rstrip("\n").split(",")]
    with pytest.raises(SourceFileError) as e:
        read_source("brp", SOURCES["brp"], sources_copy)
    message = str(e.value)
    assert "the first line holds no column names" in message and "its values are not shown" in message
    assert not [v for v in first if v and v in message]
