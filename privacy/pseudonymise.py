"""Pseudonymisation at ingest: keyed HMAC-SHA256 over the normalised identifier.

What a privacy officer should know:

* The pseudonym of a BSN is ``HMAC-SHA256(key, normalised BSN)``, hex-encoded, first
  32 hex digits (128 bits; collision chance for 18 M persons is about 1e-24).
  Household and signal identifiers are pseudonymised the same way, with a
  domain prefix (``hh:``, ``vs:``) so equal numbers in different domains never link.
* Normalisation: surrounding spaces removed, left-padded with zeros to 9 digits
  (exports that dropped the leading zero still link).
* The key is 32 random bytes in a key file created on first use with mode 0600.
  It must lie outside the repository and outside the work directory (which holds
  the warehouse); the pipeline refuses to run otherwise. The key never enters the
  warehouse, logs, flow parameters or outputs: SQL receives only the derived
  HMAC pads, as bound parameters, in memory.
* The HMAC is computed inside DuckDB (``sha256`` on the standard ipad/opad
  construction, RFC 2104); `hmac_python` is the reference the tests compare against.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

KEY_BYTES = 32
BLOCK = 64  # SHA-256 block size
PSEUDONYM_HEX = 32


class KeyFileError(Exception):
    pass


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def load_or_create_key(key_file: Path, forbidden: list[Path]) -> bytes:
    """Read the key file, creating it (0600, in a 0700 folder) when missing."""
    key_file = Path(key_file).expanduser()
    for folder in forbidden:
        if _inside(key_file, folder):
            raise KeyFileError(
                f"key file {key_file} lies inside {folder}: keep the pseudonymisation key "
                "outside the repository and the work directory"
            )
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
    mode = key_file.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(f"key file {key_file} is readable by others (mode {mode:o}); run: chmod 600 {key_file}")
    key = key_file.read_bytes()
    if len(key) < KEY_BYTES:
        raise KeyFileError(f"key file {key_file} holds {len(key)} bytes; expected at least {KEY_BYTES}")
    return key


@dataclass(frozen=True)
class Pads:
    """The HMAC inner and outer pads derived from the key; what SQL receives."""

    inner: bytes
    outer: bytes

    def __repr__(self) -> str:  # never print key material
        return "Pads(<secret>)"


def pads(key: bytes) -> Pads:
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return Pads(bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key))


def hmac_python(key: bytes, message: str) -> str:
    """Reference implementation: the pseudonym of an already normalised message."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def install_sql_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Create the TEMP macro `pseudonym(x, ipad, opad)` on a DuckDB connection."""
    con.execute(resources.files("privacy").joinpath("sql/pseudonym_macro.sql").read_text(encoding="utf-8"))


def uuid_of(hex_pseudonym: str) -> str:
    """The UUID form the warehouse stores for a 32-hex pseudonym."""
    h = hex_pseudonym
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
