"""Read a source extract into an Arrow table of strings, one row per record.

Every reader returns the canonical columns named in `sources.yaml` (all strings, empty
= null) plus ``_file`` and ``_row`` (CSV: the data row, 1 = first row after the header;
DDAS JSON: the n-th vroegsignaal in the file) and a global ``_rid``.

A file that cannot be read at all raises `SourceFileError` naming the file and what
is wrong; the run stops and nothing is published. A single malformed record (a CSV
line with the wrong number of fields, a vroegsignaal that breaks the DDAS schema) is a
row-level problem: it is returned in `RawSource.rejected` and goes to quarantine.
Columns the mapping does not name (a BRP extract's names, say) are never read.

Reading safely:

* **Paths.** Every file a source's `file` glob matches must lie inside the sources
  folder once symbolic links are resolved; an absolute glob, a ``..`` component or a link
  that leads out is refused before anything is opened.
* **No data in messages.** A message describes a file by counts, positions and the
  names the configuration expects; never by a header field, a row or a value. File
  names and paths in messages, in `Rejected.file`, ``_file`` and `FileInfo.name` pass
  through `privacy.redact.mask_file_name` (a BSN in a file name is masked).
* **Rows are lines.** A CSV data row number is the file's line number minus one (the
  header is line 1), as a text editor or a spreadsheet shows it: blank lines keep their
  number (they are skipped, not rows); a bare carriage return (CR without LF, the classic
  Mac OS line ending) would split a line in two for the CSV parser and shift every later
  number, and a quoted field running over a line end (a line break inside quotes, or a
  quote never closed, which swallows every later line) would merge lines: both refuse
  the file, naming the line.
* **DDAS JSON** is checked against the JSON Schema of the DDAS version it follows
  (`ddas.py`): a signal that breaks it is a rejected row (rule ``ddas-schema``), a
  problem outside the signals refuses the file. Each signal is flattened with the field
  paths sources.yaml declares for the file's own version (`Source.paths`: `columns` for
  v0.9, `columns_by_version` for later ones), so months of v0.9 and v1.2 are read in one
  run; a column a version does not give (a v0.9 file's postcode) is empty. A version the
  declaration maps no paths for is recognised and checked, then refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.ingest import ddas
from pipelines.settings import Source
from privacy.redact import mask_file_name

# columns a reader adds next to the mapped ones, usable by contract rules (see contracts.py)
READER_COLUMNS = {"csv": (), "ddas-json": ("_aanleverdatum",)}
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")


class SourceFileError(Exception):
    """A source file that cannot be read; the message names the source, the file (masked)
    and the problem, never a value from the file."""

    def __init__(self, source: str, file: Path | str, problem: str):
        self.source, self.file, self.problem = source, mask_file_name(str(file)), problem
        super().__init__(f"source '{source}', file {self.file}: {problem}")

    def __reduce__(self):  # from a reading process (read_source) back to the run: the masked name as it is
        return _source_file_error, (self.source, self.file, self.problem)


class SourceFilesError(Exception):
    """Several source files that cannot be read (the preflight checks them all): each one's
    SourceFileError, in order."""

    def __init__(self, errors: list[SourceFileError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} source file(s) cannot be read: " + "; ".join(map(str, self.errors)))

    def __reduce__(self):
        return SourceFilesError, (self.errors,)


def raise_all(errors: list[SourceFileError]) -> None:
    """Raise the one error, or all of them together; nothing when there are none."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SourceFilesError(errors)


def _source_file_error(source: str, masked: str, problem: str) -> SourceFileError:
    error = SourceFileError.__new__(SourceFileError)
    error.source, error.file, error.problem = source, masked, problem
    Exception.__init__(error, f"source '{source}', file {masked}: {problem}")
    return error


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
    # the last day the delivery reports on, where the file says so (DDAS einddatumLevering, ISO)
    period_end: str | None = None


@dataclass
class RawSource:
    source: str
    table: pa.Table
    files: list[FileInfo]
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.rejected)


BARE_CR = re.compile(rb"\r(?=[^\n])")  # a CR followed by something other than LF (a CR at a block's end: see _scan)
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class _Scan:
    sha256: str
    bytes: int
    lines: int  # physical lines, counted by LF (a last line without LF counts too); 0 if not counted
    bare_cr: int | None  # byte offset of the first CR not followed by LF


def _scan(path: Path, digest: bool = True, lines: bool = True) -> _Scan:
    """One pass over the bytes: the file's sha256, its lines and its first bare CR."""
    h = hashlib.sha256() if digest else None
    size = lf = 0
    bare: int | None = None
    prev_cr, last = False, b""
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            if h is not None:
                h.update(block)
            if bare is None:
                if prev_cr and block[:1] != b"\n":
                    bare = size - 1  # the previous block ended in a CR that no LF follows
                elif (i := block.find(b"\r")) != -1 and (m := BARE_CR.search(block, i)):
                    bare = size + m.start()
                prev_cr = block.endswith(b"\r")
            if lines:
                lf += block.count(b"\n")
            size += len(block)
            last = block[-1:]
    if bare is None and prev_cr:
        bare = size - 1  # the file ends in a bare CR
    return _Scan(h.hexdigest() if h is not None else "", size,
                 lf + (1 if size and last != b"\n" else 0) if lines else 0, bare)


def _line_of(path: Path, offset: int) -> int:
    """The line (1 = the first) holding the byte at `offset`."""
    n = 1
    with path.open("rb") as fh:
        while offset > 0:
            block = fh.read(min(1 << 24, offset))
            if not block:
                break
            n += block.count(b"\n")
            offset -= len(block)
    return n


def _refuse_bare_cr(name: str, path: Path, scan: _Scan) -> None:
    if scan.bare_cr is None:
        return
    line = _line_of(path, scan.bare_cr)
    where = "the header line" if line == 1 else f"line {line} (data row {line - 1})"
    raise SourceFileError(
        name, path, f"{where} holds a carriage return without a line feed (a bare CR, the classic Mac OS line "
        "ending): the CSV reader would start a new row there and every later row number would be wrong. Lines "
        "must end in LF or CRLF: convert the file's line endings, or ask the supplier for a new extract")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):  # outside, unresolvable, or a symlink loop
        return False
    return True


def _unsafe_pattern(pattern: str) -> str | None:
    """Why a `file` glob from sources.yaml may not be used, or None (see also settings.Source)."""
    parts = re.split(r"[\\/]+", pattern)
    if not pattern.strip():
        return "the file name is empty"
    if pattern.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", pattern):
        return "it is an absolute path"
    if ".." in parts:
        return "it has a '..' component"
    return None


def source_files(name: str, source: Source, sources_dir: Path) -> list[Path]:
    """The files a source's `file` glob matches, sorted; each one must lie inside the
    sources folder after symbolic links are resolved."""
    why = _unsafe_pattern(source.file)
    if why:
        raise SourceFileError(name, source.file, f"refused: the 'file' sources.yaml gives this source: {why}; "
                              "source files must lie inside the sources folder")
    root = sources_dir.resolve()
    files = []
    for p in sorted(sources_dir.glob(source.file)):
        if not p.is_file():
            continue
        if not _inside(p, root):
            raise SourceFileError(name, p, f"refused: it is a symbolic link (or lies under one) that leads out of "
                                  f"the sources folder {mask_file_name(str(root))}; source files must lie inside it")
        files.append(p)
    if not files:
        raise SourceFileError(name, sources_dir / source.file, "file not found")
    return files


def _read_header(name: str, path: Path, source: Source) -> list[str]:
    with path.open("rb") as fh:
        bom = fh.read(3) == UTF8_BOM
    if bom and source.encoding != "utf-8":
        raise SourceFileError(name, path, f"starts with a UTF-8 byte-order mark: the file is UTF-8, sources.yaml "
                              f"says {source.encoding}; check the encoding in sources.yaml")
    encoding = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    try:
        with path.open("r", encoding=encoding, newline="") as fh:
            line = fh.readline()
    except UnicodeDecodeError as exc:
        raise SourceFileError(name, path, f"cannot be decoded as {source.encoding} (byte {exc.start} of the header); "
                              "check the encoding in sources.yaml") from None
    if not line.strip():
        raise SourceFileError(name, path, "file is empty: no header line")
    try:
        header = next(csv.reader(io.StringIO(line), delimiter=source.delimiter))
    except csv.Error as exc:  # "line contains NUL", "field larger than field limit": no data in them
        raise SourceFileError(name, path, f"the header line cannot be parsed as CSV ({exc})") from None
    return [h.strip() for h in header]


DATA_LIKE = re.compile(r"\d{4}")  # a BSN, a date, a postcode: a header's names hold no such run


def _names(names: list[str]) -> str:
    return ", ".join(repr(c) for c in names)


def _check_columns(name: str, path: Path, source: Source, header: list[str]) -> None:
    """The header names every mapped column once. A message about it describes the header
    by counts and by the names sources.yaml expects: never by its own fields (a data row
    in place of the header would otherwise be quoted)."""
    wanted = list(source.columns.values())
    missing = [c for c in wanted if c not in header]
    if missing:
        if any(DATA_LIKE.search(h) for h in header):  # a data row where the header should be
            raise SourceFileError(
                name, path, f"missing column(s) {_names(missing)}: the first line holds no "
                f"column names ({len(header)} fields, one with a run of 4 or more digits, as in a data row; "
                "its values are not shown). The file needs a header line")
        found = [c for c in wanted if c in header]
        summary = (f"the header has {len(header)} field{'s' if len(header) != 1 else ''}; "
                   + (f"{len(found)} of the {len(wanted)} expected names were found: {_names(found)}" if found
                      else f"none of the {len(wanted)} expected names was found"))
        folded = {h.casefold().strip() for h in header}
        near = [c for c in missing if c.casefold() in folded]
        hint = ""
        if near:
            hint = f"; {_names(near)} {'is' if len(near) == 1 else 'are'} there with other capitals"
        elif any(("â" in h or "Ã" in h) for h in header):
            hint = "; the header looks UTF-8 encoded, sources.yaml says " + source.encoding
        elif len(header) == 1:
            hint = f"; only one column found: is the delimiter '{source.delimiter}'?"
        raise SourceFileError(name, path, f"missing column(s) {_names(missing)} ({summary}){hint}")
    dupes = sorted({h for h in header if header.count(h) > 1 and h in wanted})
    if dupes:
        raise SourceFileError(name, path, f"column(s) {', '.join(dupes)} appear more than once")


def _arrow_problem(msg: str) -> str:
    """What an ArrowInvalid says, without the part that can quote the file (Arrow appends
    the offending row's text to most parse errors)."""
    if msg.startswith("Empty CSV file"):
        return "the file is empty"
    m = re.search(r"Expected (\d+) columns, got (\d+)", msg)
    if m:
        return f"a row has {m.group(2)} fields where the header has {m.group(1)}"
    if "straddling" in msg or "out of sync" in msg or "newline" in msg.lower():
        return "a quoted field runs over a line end (a line break inside quotes, or a quote never closed)"
    return "Arrow's CSV parser gave up (its message is not shown: it can quote the file's data)"


def _multi_line_record(path: Path, source: Source) -> int | None:
    """The line on which the first record spanning more than one line starts (slow: only
    called once the counts show a file holds one)."""
    encoding = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=source.delimiter)
        before = 0
        try:
            for _ in reader:
                if reader.line_num - before > 1:
                    return before + 1
                before = reader.line_num
        except csv.Error:
            return before + 1
    return None


def _blank_rows(path: Path) -> np.ndarray:
    """Data row numbers (line - 1) of the empty lines, which the CSV parser skips."""
    with path.open("rb") as fh:
        return np.array([i - 1 for i, line in enumerate(fh, 1) if line in (b"\n", b"\r\n")], dtype=np.int64)


def _csv_options(source: Source, header: list[str], columns: list[str], threads: bool, on_invalid,
                 block_bytes: int = 1 << 24) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """How every CSV extract is parsed: all strings, and only an empty field is missing (Arrow's
    default also turns "N/A", "NULL", "NA", "#N/A", "nan", ... into null, which would let them pass
    every rule that checks values "when filled in")."""
    return (pacsv.ReadOptions(encoding=source.encoding, use_threads=threads, block_size=block_bytes),
            pacsv.ParseOptions(delimiter=source.delimiter, invalid_row_handler=on_invalid),
            pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, include_columns=columns,
                                 strings_can_be_null=True, null_values=[""]))


def _invalid_collector(invalid: list[tuple[int | None, str]]):
    def on_invalid(row) -> str:
        # row.text holds the raw line (personal data): never kept
        invalid.append((None if row.number is None else row.number - 1,
                        f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    return on_invalid


def _arrow_error(name: str, path: Path, source: Source, exc: Exception) -> SourceFileError:
    if isinstance(exc, UnicodeDecodeError):
        return SourceFileError(name, path, f"cannot be decoded as {source.encoding} (byte offset {exc.start}); "
                               "check the encoding in sources.yaml")
    msg = str(exc)
    if "UTF8" in msg or "UTF-8" in msg:
        return SourceFileError(name, path, f"is not valid {source.encoding}: check the encoding in sources.yaml")
    return SourceFileError(name, path, f"cannot be parsed as CSV: {_arrow_problem(msg)}")


def _row_numbers(name: str, path: Path, source: Source, scan: _Scan, parsed: int,
                 invalid: list[tuple[int | None, str]]) -> tuple[np.ndarray, list[Rejected]]:
    """The data row number (line - 1) of each parsed record, and the rejected ones.

    The parser numbers records and skips empty lines; a row's number here is its line - 1.
    Every line after the header is a record or an empty line, unless a record ran over a line end."""
    rows = np.arange(1, scan.lines, dtype=np.int64)
    records = parsed + len(invalid)
    if records != len(rows):  # empty lines (or worse): find them, slowly, once
        rows = rows[~np.isin(rows, _blank_rows(path))]
    if records != len(rows):
        line = _multi_line_record(path, source)
        where = f"line {line} starts a quoted field" if line else "a quoted field"
        raise SourceFileError(
            name, path, f"{where} that runs over the end of the line (a line break inside quotes, or a quote "
            f"that is never closed and swallows the lines after it): {len(rows)} non-empty lines after the header "
            f"gave {records} rows, so rows would no longer be lines and some could be lost unseen. Remove the line "
            "break or close the quote")
    shown = mask_file_name(path.name)
    rejected = [Rejected(shown, int(rows[r - 1]), "csv-structure", problem) for r, problem in invalid]
    if invalid:
        keep = np.ones(len(rows), dtype=bool)
        keep[np.array([r - 1 for r, _ in invalid], dtype=np.int64)] = False
        rows = rows[keep]
    return rows, rejected


def _read_csv_file(name: str, path: Path, source: Source, scan: _Scan) -> tuple[pa.Table, list[Rejected]]:
    _refuse_bare_cr(name, path, scan)
    header = _read_header(name, path, source)
    _check_columns(name, path, source, header)
    wanted = list(source.columns.values())
    invalid: list[tuple[int | None, str]] = []  # (record number, problem)

    def read(threads: bool) -> pa.Table:
        ro, po, co = _csv_options(source, header, wanted, threads, _invalid_collector(invalid))
        return pacsv.read_csv(path, read_options=ro, parse_options=po, convert_options=co)

    try:
        table = read(threads=True)
        if invalid:  # row numbers are only known single-threaded: read again
            invalid.clear()
            table = read(threads=False)
    except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
        raise _arrow_error(name, path, source, exc) from None
    rows, rejected = _row_numbers(name, path, source, scan, table.num_rows, invalid)
    table = table.rename_columns([{v: k for k, v in source.columns.items()}[c] for c in table.column_names])
    return table.append_column("_row", pa.array(rows)), rejected


@dataclass
class StreamedFile:
    """One file of a source read in batches (`stream_csv`)."""

    name: str  # as `_file` and the quarantine show it (masked)
    parsed: int = 0  # records parsed (rows of the batches); set with `rows` once the last batch is given
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # data row of each parsed record
    rejected: list[Rejected] = field(default_factory=list)
    superseded: bool = False  # its batches so far are void: the file is read again (a new StreamedFile)


def stream_csv(name: str, source: Source, sources_dir: Path, batch_rows: int = 1_000_000,
               block_bytes: int = 1 << 24) -> Iterator[tuple[StreamedFile, pa.Table, int]]:
    """Read a CSV source's files in batches of `batch_rows` records or more (whole blocks of
    `block_bytes` are parsed at a time), in bounded memory, as `read_source` reads them (the same
    files, checks, parsing, columns and row numbers). Yields (file, batch, first) per batch,
    `first` being the batch's first record in its file (0 = the file's first parsed record);
    `file.rows` and `file.rejected` are set once the file's last batch has been yielded: the data
    row of record k is `file.rows[k]`. A file with a malformed record is read again in one thread
    (only then are record numbers known, as in `read_source`): the first reading's StreamedFile is
    marked `superseded` (its batches are void) and the file's batches start again from 0 with a
    new one."""
    for path in source_files(name, source, sources_dir):
        try:
            scan = _scan(path, digest=False)  # its lines (the row numbers) and bare CRs
            _refuse_bare_cr(name, path, scan)
            header = _read_header(name, path, source)
            _check_columns(name, path, source, header)
            names = {v: k for k, v in source.columns.items()}

            def out(pending: list[pa.RecordBatch], names: dict[str, str] = names) -> pa.Table:
                table = pa.Table.from_batches(pending)  # (chunked: not copied)
                return table.rename_columns([names[c] for c in table.column_names])

            for threads in (True, False):
                info = StreamedFile(mask_file_name(path.name))
                invalid: list[tuple[int | None, str]] = []
                ro, po, co = _csv_options(source, header, list(source.columns.values()), threads,
                                          _invalid_collector(invalid), block_bytes)
                first = 0
                try:
                    with pacsv.open_csv(path, read_options=ro, parse_options=po, convert_options=co) as reader:
                        pending: list[pa.RecordBatch] = []
                        size = 0
                        for batch in reader:
                            if threads and invalid:
                                break
                            pending.append(batch)
                            size += batch.num_rows
                            if size >= batch_rows:
                                yield info, out(pending), first
                                first, pending, size = first + size, [], 0
                        if pending and not (threads and invalid):
                            yield info, out(pending), first
                            first += size
                except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
                    raise _arrow_error(name, path, source, exc) from None
                if threads and invalid:  # record numbers are only known single-threaded: read again
                    info.superseded = True
                    continue
                info.parsed = first
                info.rows, info.rejected = _row_numbers(name, path, source, scan, first, invalid)
                break
        except OSError as exc:  # pyarrow's own OSError texts quote the path too
            raise _unopenable(name, path, exc) from None


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


def _delivery_date(doc: dict, source: Source) -> str:
    """The delivery's own creation date (``aanleverdatumEnTijd``, required by every DDAS
    version), as a Dutch calendar date in the source's date format."""
    try:
        stamp = datetime.fromisoformat(str(doc["aanleverdatumEnTijd"]).upper().replace("Z", "+00:00"))
    except ValueError:  # Python's message would quote the value
        raise ValueError("aanleverdatumEnTijd cannot be read as a date and time") from None
    day = stamp.astimezone(DUTCH_TIME).date() if stamp.tzinfo else stamp.date()
    return day.strftime(source.date_format)


def _period_end(doc: dict) -> str | None:
    """The delivery's einddatumLevering as an ISO date (the schema has checked its form), or None."""
    value = doc.get("einddatumLevering")
    try:
        return date.fromisoformat(str(value)[:10]).isoformat() if value else None
    except ValueError:
        return None


def _read_ddas_file(name: str, path: Path, source: Source) -> tuple[pa.Table, list[Rejected], str | None]:
    encoding = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    try:
        doc = json.loads(path.read_bytes().decode(encoding))
    except UnicodeDecodeError:
        raise SourceFileError(name, path, f"is not valid {source.encoding}") from None
    except json.JSONDecodeError as exc:
        raise SourceFileError(name, path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise SourceFileError(name, path, "is nested too deeply to be a DDAS file (arrays or objects within each "
                              "other, hundreds of levels deep)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("leveringen"), list):
        raise SourceFileError(name, path, "is not a DDAS Uitwisselmodel: no 'leveringen' list at the top level")
    try:
        version, why = ddas.detect_version(doc)
    except ddas.DdasError as exc:
        raise SourceFileError(name, path, f"is not a DDAS file wijksignaal can read: {exc}") from None
    try:
        found = ddas.schema(version).check(doc)
    except RecursionError:
        raise SourceFileError(name, path, "is nested too deeply to be checked against the DDAS schema") from None
    if found.file:
        raise SourceFileError(name, path, f"does not follow the DDAS v{version} schema "
                              f"({len(found.file)} problem(s) outside the signals): {ddas.join_problems(found.file)}")
    if version not in source.read_versions:
        total = sum(len(lev.get("vroegsignalen") or []) for lev in doc["leveringen"])
        checked = (f"{total} signal(s), {len(found.signals)} not following the schema" if found.signals
                   else f"{total} signal(s), all following the schema")
        read = " or ".join(f"v{v}" for v in source.read_versions)
        raise SourceFileError(
            name, path, f"follows DDAS v{version} (recognised by its {why}; checked against the v{version} schema: "
            f"{checked}). DDAS v{version} is recognised but not read: sources.yaml maps no field paths of v{version} "
            f"(columns_by_version) to the {name} columns; deliver DDAS {read}, or add them")
    unknown = ddas.unknown_paths(version, source.paths(version))
    if unknown:
        raise SourceFileError(name, path, f"follows DDAS v{version}, but sources.yaml maps column(s) to field paths "
                              f"that the v{version} schema's vroegsignaal does not have: "
                              + ", ".join(f"{c} ({p!r})" for c, p in unknown))
    try:
        delivered = _delivery_date(doc, source)
    except ValueError as exc:
        raise SourceFileError(name, path, str(exc)) from None
    shown = mask_file_name(path.name)
    paths = {k: v.split(".") for k, v in source.paths(version).items()}  # this file's version's paths
    records: list[dict] = []
    rows: list[int] = []
    rejected: list[Rejected] = []
    n = 0
    for i, levering in enumerate(doc["leveringen"]):
        for j, signal in enumerate(levering.get("vroegsignalen") or []):
            n += 1
            problem = found.signals.get((i, j))
            if problem is not None:
                rejected.append(Rejected(shown, n, "ddas-schema", f"does not follow the DDAS v{version} schema: {problem}"))
                continue
            records.append(_flatten_signal(signal, paths))
            rows.append(n)
    schema = pa.schema([(k, pa.string()) for k in source.fields])  # a column this version lacks: null
    table = pa.Table.from_pylist(records, schema=schema) if records else schema.empty_table()
    table = table.append_column("_aanleverdatum", pa.array([delivered] * len(rows), type=pa.string()))
    return table.append_column("_row", pa.array(rows, type=pa.int64())), rejected, _period_end(doc)


def _unopenable(name: str, path: Path, exc: OSError) -> SourceFileError:
    """An OSError's text holds the unmasked path: keep only what went wrong."""
    return SourceFileError(name, path, f"cannot be read: {exc.strerror or type(exc).__name__}")


def preflight(name: str, source: Source, sources_dir: Path) -> list[Path]:
    """Cheap checks of every file of a source before anything is loaded: it exists inside
    the sources folder; its header decodes and names the mapped columns and it has no bare
    CR (CSV: one pass over the bytes); it starts as a JSON object (DDAS)."""
    files = source_files(name, source, sources_dir)
    errors: list[SourceFileError] = []
    for path in files:  # every file checked, every problem named
        try:
            if source.format == "csv":
                _check_columns(name, path, source, _read_header(name, path, source))
                _refuse_bare_cr(name, path, _scan(path, digest=False, lines=False))
            else:
                with path.open("rb") as fh:
                    head = fh.read(64)
                head = (head[3:] if head.startswith(UTF8_BOM) else head).lstrip()
                if not head.startswith(b"{"):
                    raise SourceFileError(name, path, "is not a DDAS Uitwisselmodel: the file does not start with "
                                          "a JSON object")
        except SourceFileError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(_unopenable(name, path, exc))
    raise_all(errors)
    return files


# DDAS files of a source are read in this many forked processes when they hold this many bytes together (the
# country's twelve monthly deliveries, 360 MB: 13.6 s in one process); results come back in file order
READ_WORKERS, PARALLEL_BYTES = min(2, os.cpu_count() or 1), 64 * 2**20


def _read_file(name: str, path: Path, source: Source) -> tuple[_Scan, pa.Table, list[Rejected], str | None]:
    try:
        scan = _scan(path, lines=source.format == "csv")
        period_end = None
        if source.format == "csv":
            table, bad = _read_csv_file(name, path, source, scan)
        else:
            table, bad, period_end = _read_ddas_file(name, path, source)
    except OSError as exc:  # pyarrow's own OSError texts quote the path too
        raise _unopenable(name, path, exc) from None
    return scan, table, bad, period_end


_READING: dict[str, Any] = {}  # the source being read by forked processes (they inherit it): name and Source


def _read_forked(path: Path) -> tuple[_Scan, pa.Table, list[Rejected], str | None]:
    try:
        return _read_file(_READING["name"], path, _READING["source"])
    except SourceFileError:
        raise
    except Exception as exc:  # an error the run could not unpickle would hang the pool: pass on its kind only
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise RuntimeError(f"source '{_READING['name']}', file {mask_file_name(str(path))}: reading it failed "
                               f"({type(exc).__name__})") from None
        raise


def _read_files(name: str, source: Source, paths: list[Path]) -> Iterator[tuple[_Scan, pa.Table, list[Rejected],
                                                                               str | None]]:
    """Each file read, in order. JSON files (parsed and schema-checked in Python, one core each) are read
    two at a time where there is enough of them; the first file that cannot be read raises, as in order."""
    if source.format == "csv" or len(paths) < 2 or READ_WORKERS < 2 \
            or sum(p.stat().st_size for p in paths) < PARALLEL_BYTES:
        yield from (_read_file(name, p, source) for p in paths)
        return
    import multiprocessing as mp

    _READING.update(name=name, source=source)
    try:
        with mp.get_context("fork").Pool(READ_WORKERS) as pool:
            yield from pool.imap(_read_forked, paths)
    finally:
        _READING.clear()


def read_source(name: str, source: Source, sources_dir: Path) -> RawSource:
    tables, rejected, infos = [], [], []
    paths = source_files(name, source, sources_dir)
    for path, (scan, table, bad, period_end) in zip(paths, _read_files(name, source, paths)):
        shown = mask_file_name(path.name)
        table = table.append_column("_file", pa.DictionaryArray.from_arrays(pa.array(np.zeros(table.num_rows, dtype=np.int32)), pa.array([shown])))
        tables.append(table)
        rejected.extend(bad)
        infos.append(FileInfo(shown, scan.sha256, scan.bytes, table.num_rows + len(bad), period_end))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    table = table.append_column("_rid", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    return RawSource(name, table, infos, rejected)
