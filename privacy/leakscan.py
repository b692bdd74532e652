"""Find numbers that could be BSNs: standalone 9-digit numbers that pass the 11-proef.

Used as a last guard before publishing (a release holding one is refused) and by the
tests on the warehouse, logs and GX output. Validation is python-stdnum's.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from stdnum.nl import bsn

_NINE = re.compile(r"(?<![0-9A-Za-z])[0-9]{9}(?![0-9A-Za-z])")


def nine_digit_numbers(text: str) -> set[str]:
    """The standalone 9-digit numbers of a text. A digit run inside a hex pseudonym
    (...c001550754ab...) is not a number: with a random key one of them equals some BSN
    now and then, by chance, so a scan for known BSNs looks only at these."""
    return set(_NINE.findall(text))


def bsn_like(text: str) -> list[str]:
    return [m for m in _NINE.findall(text) if bsn.is_valid(m)]


def file_text(path: Path) -> str:
    """A file's text; for an XLSX (a zip of XML parts) the text of every part."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", errors="replace") for n in sorted(z.namelist()))
    return path.read_text(encoding="utf-8", errors="replace")


def scan_files(paths: list[Path]) -> dict[str, int]:
    """file name -> number of BSN-like numbers found (only files with hits)."""
    hits = {}
    for p in paths:
        found = bsn_like(file_text(p))
        if found:
            hits[p.name] = len(found)
    return hits
