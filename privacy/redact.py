"""Mask numbers that could identify a person in the names of source files.

A supplier may name an extract after the person or address it concerns
(``dossier_123456782.csv``, ``signalen_0164010000000042.json``). Such a name reaches
error messages, the quarantine file (its ``file`` column), the quality files and
``audit.json``; `mask_file_name` is applied to every file name and path shown there.

The rule, for a privacy officer to check:

* every run of **9 or more digits** is masked, whatever it is: a BSN (with or without a
  valid 11-proef: a BSN off by one digit still points at a person), a BAG id (16 digits,
  an address), an account or phone number;
* a run of **exactly 8 digits** is masked too (a BSN that lost its leading zero in a
  spreadsheet), unless it reads as a calendar date ``YYYYMMDD`` between 1900 and 2099:
  extract dates in file names (``brp_20261031.csv``) stay readable;
* runs of up to 7 digits (``2026``, ``0164``, ``10``) are kept.

Digits are any Unicode decimal digits (a BSN in full-width digits is masked as well).
Each masked digit becomes one ``•``, so the shape of the name stays recognisable; two
names that differ only in a masked number therefore look the same (the audit's sha256
per file still tells the files apart). Nothing of the masked number is kept: no hash,
no checksum, no length beyond the dots.
"""

from __future__ import annotations

import re
from datetime import date

MASK = "•"
_DIGIT_RUN = re.compile(r"\d{8,}")


def _is_date(run: str) -> bool:
    """An 8-digit run that is a real calendar date YYYYMMDD in 1900-2099."""
    if not run.isascii():
        return False
    year, month, day = int(run[:4]), int(run[4:6]), int(run[6:])
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _mask(match: re.Match[str]) -> str:
    run: str = match.group(0)
    if len(run) == 8 and _is_date(run):
        return run
    return MASK * len(run)


def mask_file_name(name: str) -> str:
    """`name` (a file name or a whole path) with every BSN-like digit run masked."""
    return _DIGIT_RUN.sub(_mask, str(name))
