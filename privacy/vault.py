"""The identity vault (identiteitskluis): the only place names and addresses are kept.

What a privacy officer should know:

* The warehouse holds pseudonyms only (``pseudonymise.py``). A signal list for a wijkteam
  needs the name and address of the households it names; those come from the vault, a
  separate DuckDB file encrypted with AES (DuckDB's database encryption, written through
  OpenSSL from the ``httpfs`` extension), never from the warehouse.
* One table, ``personen``: per person the pseudonyms ``pid`` (of the BSN) and ``hid`` (of the
  household), and ``voornamen, geslachtsnaam, straat, huisnummer, postcode, woonplaats``.
  No BSN, no birth date, nothing else. Whom it holds is its writer's choice: a run holds the
  persons of the households with a vroegsignaal in the month only, the ones its signal lists
  can show (pipelines/ingest/identities.py, after link), not the whole BRP.
* The vault key is its own 32 random bytes (64 hex digits) in its own key file, mode 0600 in a
  0700 folder, outside the repository and the work directory, and never the pseudonymisation
  key's file. Without it the vault's bytes are unreadable; a wrong key is refused.
* The vault is written whole each time: into a new encrypted file next to it, made durable
  (fsync) and then renamed over the old one, so a crash leaves either the old vault or the new
  one, never half of one. Nothing is written unencrypted on the way: the records go straight
  into the encrypted database, and DuckDB may not spill to temporary files.
* The vault opens only for a purpose whose DPIA ``allowed_outputs`` include ``signal_list``.
  Every attempt is one line in the access log (fsync'd): UTC time, purpose, selection, the
  action (``opened``, ``refused``, ``failed``, and ``closed`` with the number of lookups and of
  records read). The log never holds a pseudonym, a name or an address.
* While open, the connection has file access switched off: nothing in the vault can be
  copied to another file through it. Lookups bind the wanted pseudonyms as a registered Arrow
  table, never as SQL text.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import secrets
import socket
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import duckdb
import pyarrow as pa

from .ledger import append_durable, fsync_dir
from .pseudonymise import KeyFileError, _inside

VAULT_KEY_BYTES = 32
FIELDS = ("voornamen", "geslachtsnaam", "straat", "huisnummer", "postcode", "woonplaats")
COLUMNS = ("pid", "hid", *FIELDS)
SIGNAL_LIST = "signal_list"
HEX_KEY = re.compile(r"[0-9a-f]{64}")


class VaultError(Exception):
    """A vault problem, in one line that names the file and the rule (never a key, name or address)."""


class VaultKeyError(VaultError, KeyFileError):
    """The vault key file breaks a rule (where it lies, who may read it, what it holds)."""


class VaultRefused(VaultError):
    """The purpose may not see names and addresses: the vault is not opened."""


class VaultBusy(VaultError):
    """Another process is writing the vault."""


# -- the key --------------------------------------------------------------------------------------------------------


def _check_key_place(path: Path, pseudonym_key_file: Path, forbidden: Sequence[Path]) -> None:
    same = path.resolve() == Path(pseudonym_key_file).expanduser().resolve()
    if not same and path.exists() and Path(pseudonym_key_file).expanduser().exists():
        same = os.path.samefile(path, Path(pseudonym_key_file).expanduser())
    if same:
        raise VaultKeyError(f"vault key file {path} is the pseudonymisation key file: the vault needs a key of its own")
    for folder in forbidden:
        if _inside(path, folder):
            raise VaultKeyError(f"vault key file {path} lies inside {folder}: keep the vault key outside the "
                                "repository and the work directory")


def read_vault_key(path: Path, *, pseudonym_key_file: Path, forbidden: Sequence[Path]) -> bytes:
    """The vault key (32 bytes) from its key file; the file must exist.

    `forbidden`: the folders the key may not lie in (the repository root, the work directory,
    and any other the caller names)."""
    path = Path(path).expanduser()
    _check_key_place(path, pseudonym_key_file, forbidden)
    if not path.is_file():
        raise VaultKeyError(f"vault key file {path} does not exist: without it the vault cannot be opened")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise VaultKeyError(f"vault key file {path} has mode {mode:o}, wider than 600; run: chmod 600 {path}")
    text = path.read_bytes().decode("ascii", errors="replace").strip()
    if not HEX_KEY.fullmatch(text):
        raise VaultKeyError(f"vault key file {path} does not hold one key of 64 hexadecimal digits (0-9, a-f)")
    return bytes.fromhex(text)


def ensure_vault_key(path: Path, *, pseudonym_key_file: Path, forbidden: Sequence[Path]) -> bytes:
    """The vault key, creating its file (64 random hex digits, 0600, in a 0700 folder) when missing.

    The place is checked before anything is created: never the pseudonymisation key's file,
    never inside a folder of `forbidden` (the repository root, the work directory)."""
    path = Path(path).expanduser()
    _check_key_place(path, pseudonym_key_file, forbidden)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(VAULT_KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return read_vault_key(path, pseudonym_key_file=pseudonym_key_file, forbidden=forbidden)


# -- DuckDB with encryption -----------------------------------------------------------------------------------------


def _sql(name: str) -> str:
    return resources.files("privacy").joinpath(f"sql/{name}").read_text(encoding="utf-8")


def _literal(path: Path) -> str:
    """A file path as an SQL string literal (ATTACH and LOAD take no parameter for it)."""
    return "'" + str(path).replace("'", "''") + "'"


def httpfs_extension() -> Path:
    """The httpfs extension file of the pip package `duckdb-extension-httpfs` for this DuckDB version.

    DuckDB writes encrypted files only with OpenSSL, which this extension brings."""
    version = duckdb.__version__
    try:
        shipped = metadata.version("duckdb-extension-httpfs")
        path = Path(str(resources.files("duckdb_extension_httpfs").joinpath(
            f"extensions/v{version}/httpfs.duckdb_extension")))
    except (metadata.PackageNotFoundError, ModuleNotFoundError):
        raise VaultError("vault: the package duckdb-extension-httpfs is not installed; DuckDB writes encrypted "
                         f"files only with it (pip install 'duckdb-extension-httpfs=={version}')") from None
    if not path.is_file():
        raise VaultError(f"vault: duckdb-extension-httpfs {shipped} does not fit DuckDB {version}; install the same "
                         f"version of both (pip install 'duckdb=={shipped}' or 'duckdb-extension-httpfs=={version}')")
    return path


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that encrypts with OpenSSL and never spills to a temporary file."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"LOAD {_literal(httpfs_extension())}")
        con.execute("SET temp_directory = ''")  # no spilling: no temporary file, encrypted or not
        con.execute("SET temp_file_encryption = true")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
    except BaseException:
        con.close()
        raise
    return con


def _key_text(key: bytes | None, path: Path) -> str:
    if not key:
        raise VaultError(f"vault: no key given for {path}; the vault is encrypted and opens only with its key")
    if not isinstance(key, bytes) or len(key) != VAULT_KEY_BYTES:
        raise VaultError(f"vault: the key for {path} is not {VAULT_KEY_BYTES} bytes; use read_vault_key")
    return key.hex()


def _attach(con: duckdb.DuckDBPyConnection, path: Path, key: bytes | None, *, read_only: bool) -> None:
    """ATTACH the vault as `vault`, the key bound as a parameter (it never is SQL text)."""
    hexkey = _key_text(key, path)
    options = "ENCRYPTION_KEY ?, READ_ONLY" if read_only else "ENCRYPTION_KEY ?"
    try:
        con.execute(f"ATTACH {_literal(path)} AS vault ({options})", [hexkey])
    except duckdb.InvalidInputException as exc:
        if "encryption key" in str(exc).lower():
            raise VaultError(f"vault: the key does not open {path} (wrong key)") from None
        raise VaultError(f"vault: {path} cannot be opened ({type(exc).__name__})") from None
    except duckdb.CatalogException as exc:
        if "not encrypted" in str(exc):
            raise VaultError(f"vault: {path} is not encrypted; a vault must be (write it with write_vault)") from None
        raise VaultError(f"vault: {path} cannot be opened ({type(exc).__name__})") from None
    except duckdb.IOException:
        raise VaultError(f"vault: {path} is not a DuckDB database file") from None
    encrypted = con.execute("SELECT encrypted FROM duckdb_databases() WHERE database_name = 'vault'").fetchone()
    if not encrypted or encrypted[0] is not True:
        con.execute("DETACH vault")
        raise VaultError(f"vault: {path} is not encrypted; a vault must be")


# -- writing --------------------------------------------------------------------------------------------------------




def _unlink(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _check_records(con: duckdb.DuckDBPyConnection, records: pa.Table, path: Path) -> None:
    names = list(records.column_names)
    missing = [c for c in COLUMNS if c not in names]
    extra = [c for c in names if c not in COLUMNS]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"column(s) {', '.join(extra)} the vault does not hold"] if extra else [])
        raise VaultError(f"vault: records for {path}: {'; '.join(parts)}; expected {', '.join(COLUMNS)}")
    row = con.execute(_sql("vault_check.sql")).fetchone()
    assert row is not None
    bad_pid, bad_hid, duplicate = row
    if bad_pid is not None:
        raise VaultError(f"vault: records for {path}, row {bad_pid}: pid is not a pseudonym (a UUID)")
    if bad_hid is not None:
        raise VaultError(f"vault: records for {path}, row {bad_hid}: hid is not a pseudonym (a UUID)")
    if duplicate is not None:
        raise VaultError(f"vault: records for {path}, row {duplicate}: the same pid as an earlier row")


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    """Write the registered records into the attached, encrypted vault (one step, so tests can break it)."""
    con.execute(_sql("vault_write.sql"))


def write_vault(path: Path, key: bytes, records: pa.Table) -> int:
    """Write `records` as the whole vault at `path`; return the number of records written.

    `records`: the columns `pid, hid` (pseudonyms, as the warehouse holds them) and
    `voornamen, geslachtsnaam, straat, huisnummer, postcode, woonplaats` (text; a house number
    may carry a toevoeging). One record per pid. The new vault is written encrypted into
    `.<name>.new` beside `path`, checkpointed, fsync'd and renamed over `path`: a crash leaves
    the old vault or the new one."""
    path = Path(path).resolve()
    _key_text(key, path)
    if not path.parent.is_dir():
        raise VaultError(f"vault: the folder {path.parent} does not exist")
    new = path.with_name(f".{path.name}.new")
    new_wal = new.with_name(new.name + ".wal")
    lock = os.open(path.with_name(f".{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaultBusy(f"vault: another process is writing {path}; try again later") from None
        _unlink(new, new_wal)  # left by a crashed write: encrypted, and not the vault
        con = _connect()
        try:
            con.register("vault_records", records.append_column("_row", pa.array(range(1, records.num_rows + 1),
                                                                                 type=pa.int64())))
            _check_records(con, records, path)
            _attach(con, new, key, read_only=False)
            con.execute("SET enable_external_access = false")
            _fill(con)
            written = con.execute("SELECT count(*) FROM vault.personen").fetchone()
            con.execute("CHECKPOINT vault")
            con.execute("DETACH vault")
            con.close()
            if new_wal.exists():
                raise VaultError(f"vault: {new} kept a write-ahead log after its checkpoint; the vault is not replaced")
            os.chmod(new, 0o600)
            fsync_dir(new)  # (opens read-only and fsyncs: a file as well as a folder)
            _unlink(path.with_name(path.name + ".wal"))  # the old vault's (it is replaced whole)
            os.replace(new, path)
            fsync_dir(path.parent)
        except BaseException:
            con.close()
            _unlink(new, new_wal)
            raise
    finally:
        os.close(lock)
    assert written is not None
    return int(written[0])


# -- reading --------------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def who() -> dict[str, str]:
    """The operating-system account and machine that act on the vault, for its access log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        user = f"uid {os.getuid()}"
    return {"user": user, "host": socket.gethostname()}


def log_access(access_log: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line to the access log and make it durable (fsync) before going on."""
    access_log = Path(access_log)
    line = (json.dumps({"time": _now(), **entry}, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        append_durable(access_log.resolve(), line, 0o600)
    except OSError as exc:
        raise VaultError(f"vault: cannot write the access log {access_log} ({exc.strerror}); "
                         "the vault is not used without it") from None


class Vault:
    """An opened vault: `lookup` by pseudonyms; `close` (or the end of a `with` block) logs what was read."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, access_log: Path, entry: dict[str, Any]) -> None:
        self._con: duckdb.DuckDBPyConnection | None = con
        self.path = path
        self._log = access_log
        self._entry = entry
        self.lookups = 0
        self.records_read = 0

    def lookup(self, *, pids: Iterable[str] | None = None, hids: Iterable[str] | None = None) -> pa.Table:
        """The records of the given persons (`pids`) or households (`hids`), ordered by hid and pid.

        pid and hid come back as text (the UUID form the warehouse shows). A key that is not a
        pseudonym is refused by its position, not its value."""
        if self._con is None:
            raise VaultError(f"vault: {self.path} is closed")
        if (pids is None) == (hids is None):
            raise VaultError("vault: lookup takes either pids or hids")
        by: Literal["pid", "hid"] = "pid" if pids is not None else "hid"
        wanted = pids if pids is not None else hids
        assert wanted is not None
        keys = wanted if isinstance(wanted, (pa.Array, pa.ChunkedArray)) else pa.array(list(wanted), type=pa.string())
        table = pa.table({"_n": pa.array(range(1, len(keys) + 1), type=pa.int64()), "k": keys})
        con = self._con
        con.register("vault_keys", table)
        try:
            bad = con.execute(_sql("vault_keys_check.sql")).fetchone()
            if bad is not None and bad[0] is not None:
                raise VaultError(f"vault: lookup by {by}: key {bad[0]} is not a pseudonym (a UUID)")
            result = con.execute(_sql(f"vault_lookup_{by}.sql")).fetch_arrow_table()
        finally:
            con.unregister("vault_keys")
        self.lookups += 1
        self.records_read += result.num_rows
        return result

    def close(self) -> None:
        """Close the vault and log how many lookups were made and records read (once)."""
        if self._con is None:
            return
        con, self._con = self._con, None
        con.close()
        log_access(self._log, {**self._entry, "action": "closed", "lookups": self.lookups,
                               "records_read": self.records_read})

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_vault(path: Path, key: bytes | None, *, purpose_id: str, purpose_outputs: Iterable[str], selection: str,
               access_log: Path, context: dict[str, str] | None = None) -> Vault:
    """Open the vault for one selection of one purpose, read only; log the attempt first.
    `context`: what else the log line should say of the opening (the period, the selection's
    version, the DPIA's id and version); never an identity.

    Refused (VaultRefused) unless the purpose's DPIA `allowed_outputs` include `signal_list`.
    A missing or wrong key, or a file that is not an encrypted vault, is a VaultError; each of
    these is logged as `failed`, a refusal as `refused`, an opening as `opened`."""
    path = Path(path).resolve()
    entry: dict[str, Any] = {"session": uuid.uuid4().hex[:12], **who(), "vault": str(path), "purpose": purpose_id,
                             "selection": selection, **(context or {})}
    if SIGNAL_LIST not in set(purpose_outputs):
        reason = f"purpose '{purpose_id}' does not allow output {SIGNAL_LIST}"
        log_access(access_log, {**entry, "action": "refused", "reason": reason})
        raise VaultRefused(f"vault: {reason}; the vault is not opened")
    con: duckdb.DuckDBPyConnection | None = None
    try:
        if not path.is_file():
            raise VaultError(f"vault: {path} does not exist")
        _key_text(key, path)
        con = _connect()
        _attach(con, path, key, read_only=True)
        con.execute("SET enable_external_access = false")  # nothing leaves the vault through this connection
    except VaultError as exc:
        if con is not None:
            con.close()
        log_access(access_log, {**entry, "action": "failed", "reason": str(exc).removeprefix("vault: ")})
        raise
    except BaseException:
        if con is not None:
            con.close()
        raise
    try:
        log_access(access_log, {**entry, "action": "opened"})
    except BaseException:
        con.close()
        raise
    return Vault(con, path, Path(access_log), entry)
