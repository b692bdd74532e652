"""Read a source extract into an Arrow table of strings, one row per record.

Every reader returns the canonical columns named in `sources.yaml` (all strings, empty
= null) plus ``_file`` and ``_row`` (CSV: the data row, 1 = first row after the header;
DDAS JSON: the n-th vroegsignaal in the file) and a global ``_rid``.

A file that cannot be read at all raises `SourceFileError` naming the file and what
is wrong; the run stops and nothing is published. A single malformed record (a CSV
line with the wrong number of fields, a vroegsignaal that is not an object) is a
row-level problem: it is returned in `RawSource.rejected` and goes to quarantine.
Columns the mapping does not name (a BRP extract's names, say) are never read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..settings import Source


class SourceFileError(Exception):
    def __init__(self, source: str, file: Path | str, problem: str):
        self.source, self.file, self.problem = source, str(file), problem
        super().__init__(f"source '{source}', file {file}: {problem}")


@dataclass(frozen=True)
class Rejected:
    file: str
    row: int | None
    rule: str
    message: str


@dataclass
class FileInfo:
    name: str
    sha256: str
    bytes: int
    rows: int


@dataclass
class RawSource:
    source: str
    table: pa.Table
    files: list[FileInfo]
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.rejected)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def source_files(name: str, source: Source, sources_dir: Path) -> list[Path]:
    files = sorted(p for p in sources_dir.glob(source.file) if p.is_file())
    if not files:
        raise SourceFileError(name, sources_dir / source.file, "file not found")
    return files


def _read_header(name: str, path: Path, source: Source) -> list[str]:
    try:
        with path.open("r", encoding=source.encoding, newline="") as fh:
            line = fh.readline()
    except UnicodeDecodeError as exc:
        raise SourceFileError(name, path, f"cannot be decoded as {source.encoding} (byte {exc.start} of the header); "
                              "check the encoding in sources.yaml") from None
    if not line.strip():
        raise SourceFileError(name, path, "file is empty: no header line")
    header = next(csv.reader(io.StringIO(line), delimiter=source.delimiter))
    return [h.strip().lstrip("\ufeff") for h in header]


DATA_LIKE = re.compile(r"\d{4}")  # a BSN, a date, a postcode: a header's names hold no such run


def _check_columns(name: str, path: Path, source: Source, header: list[str]) -> None:
    wanted = list(source.columns.values())
    missing = [c for c in wanted if c not in header]
    if missing:
        if any(DATA_LIKE.search(h) for h in header):  # a data row where the header should be: never echo it
            raise SourceFileError(
                name, path, f"missing column(s) {', '.join(repr(c) for c in missing)}: the first line holds no "
                f"column names ({len(header)} fields, one with a run of 4 or more digits, as in a data row; "
                "its values are not shown). The file needs a header line")
        hint = ""
        if any(("â" in h or "Ã" in h) for h in header):
            hint = "; the header looks UTF-8 encoded, sources.yaml says " + source.encoding
        elif len(header) == 1 and source.delimiter not in header[0]:
            hint = f"; only one column found: is the delimiter '{source.delimiter}'?"
        raise SourceFileError(
            name, path, f"missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(repr(h) for h in header)}){hint}"
        )
    dupes = sorted({h for h in header if header.count(h) > 1 and h in wanted})
    if dupes:
        raise SourceFileError(name, path, f"column(s) {', '.join(dupes)} appear more than once")


def _read_csv_file(name: str, path: Path, source: Source) -> tuple[pa.Table, list[Rejected]]:
    header = _read_header(name, path, source)
    _check_columns(name, path, source, header)
    wanted = list(source.columns.values())
    rejected: list[Rejected] = []

    def on_invalid(row) -> str:
        # row.text holds the raw line (personal data): never kept
        rejected.append(Rejected(path.name, None if row.number is None else row.number - 1, "csv-structure",
                                 f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=source.encoding, use_threads=threads, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=source.delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, include_columns=wanted, strings_can_be_null=True,
            ),
        )

    try:
        table = read(threads=True)
        if rejected:  # row numbers are only known single-threaded: read again
            rejected.clear()
            table = read(threads=False)
    except UnicodeDecodeError as exc:
        raise SourceFileError(name, path, f"cannot be decoded as {source.encoding} (byte offset {exc.start}); "
                              "check the encoding in sources.yaml") from None
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "UTF8" in msg or "UTF-8" in msg:
            raise SourceFileError(name, path, f"is not valid {source.encoding}: check the encoding in sources.yaml") from None
        raise SourceFileError(name, path, f"cannot be parsed as CSV: {msg.splitlines()[0]}") from None
    # data row numbers, skipping rejected lines (rejected rows carry their own number)
    total = table.num_rows + len(rejected)
    bad = {r.row for r in rejected}
    rows = np.arange(1, total + 1, dtype=np.int64)
    if bad:
        rows = rows[~np.isin(rows, np.array(sorted(bad), dtype=np.int64))]
    table = table.rename_columns([{v: k for k, v in source.columns.items()}[c] for c in table.column_names])
    return table.append_column("_row", pa.array(rows)), rejected


def _flatten_signal(signal: dict, paths: dict[str, list[str]]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for canonical, path in paths.items():
        value = signal
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or isinstance(value, (dict, list)):
            out[canonical] = None
        elif isinstance(value, bool):
            out[canonical] = "true" if value else "false"
        else:
            out[canonical] = str(value)
    return out


def _read_ddas_file(name: str, path: Path, source: Source) -> tuple[pa.Table, list[Rejected]]:
    try:
        doc = json.loads(path.read_bytes().decode(source.encoding))
    except UnicodeDecodeError:
        raise SourceFileError(name, path, f"is not valid {source.encoding}") from None
    except json.JSONDecodeError as exc:
        raise SourceFileError(name, path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("leveringen"), list):
        raise SourceFileError(name, path, "is not a DDAS Uitwisselmodel: no 'leveringen' list at the top level")
    paths = {k: v.split(".") for k, v in source.columns.items()}
    records: list[dict] = []
    rows: list[int] = []
    rejected: list[Rejected] = []
    n = 0
    for i, levering in enumerate(doc["leveringen"]):
        signals = levering.get("vroegsignalen", []) if isinstance(levering, dict) else None
        if not isinstance(signals, list):
            raise SourceFileError(name, path, f"leveringen[{i}].vroegsignalen is not a list")
        for j, signal in enumerate(signals):
            n += 1
            if not isinstance(signal, dict):
                rejected.append(Rejected(path.name, n, "ddas-structure", f"leveringen[{i}].vroegsignalen[{j}] is not an object"))
                continue
            records.append(_flatten_signal(signal, paths))
            rows.append(n)
    schema = pa.schema([(k, pa.string()) for k in source.columns])
    table = pa.Table.from_pylist(records, schema=schema) if records else schema.empty_table()
    return table.append_column("_row", pa.array(rows, type=pa.int64())), rejected


def preflight(name: str, source: Source, sources_dir: Path) -> list[Path]:
    """Cheap checks of every file of a source before anything is loaded: it exists, its
    header decodes and names the mapped columns (CSV), it starts as a JSON object (DDAS)."""
    files = source_files(name, source, sources_dir)
    for path in files:
        if source.format == "csv":
            _check_columns(name, path, source, _read_header(name, path, source))
        else:
            head = path.open("rb").read(64).lstrip()
            if not head.startswith(b"{"):
                raise SourceFileError(name, path, "is not a DDAS Uitwisselmodel: the file does not start with a JSON object")
    return files


def read_source(name: str, source: Source, sources_dir: Path) -> RawSource:
    tables, rejected, infos = [], [], []
    for path in source_files(name, source, sources_dir):
        reader = _read_csv_file if source.format == "csv" else _read_ddas_file
        table, bad = reader(name, path, source)
        table = table.append_column("_file", pa.DictionaryArray.from_arrays(pa.array(np.zeros(table.num_rows, dtype=np.int32)), pa.array([path.name])))
        tables.append(table)
        rejected.extend(bad)
        infos.append(FileInfo(path.name, _sha256(path), path.stat().st_size, table.num_rows + len(bad)))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    table = table.append_column("_rid", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    return RawSource(name, table, infos, rejected)
