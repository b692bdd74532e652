"""Rule C1: what audit.json may count.

A release's tables are protected against an attacker who holds every published number
(privacy/README.md, 3). audit.json is published with them, so every number in it is one the
attacker holds. The protection models the cells of the tables; it does not model counts of
*records*. Such counts relate to the cells all the same: a monthly DDAS delivery of R signals
for the T households of `monitor:signalen totaal` has R - T extra signals, so the suppressed
`meervoudig` (households with two or more) lies between 1 and R - T (found on Hengelo at
scale 1.0 by an outsider's linear program: 1 to 9 in June 2026). The same holds for rows
read, loaded or checked per source, the bytes of a file (about 400 per signal), the rows
retention deleted per month of an extract (a month's signals, two years on), the number of
households with a case beside the monitor's households with a signal, and the sum of the
values hidden as secondary suppressions.

So audit.json counts only what is not a count of the records or households that the tables
count, and is not a statement about the hidden values of the cells:

* kept: the hash of every input file; for every source whether its rows add up
  (`holds`: read = loaded + quarantined), the rows quarantined and unlinked per rule and
  reason (rows no table counts), every rule's outcome; cells published and suppressed
  per table (tables.csv shows them); the terms of retention and which places and months
  it deleted from;
* withheld (the list `WITHHELD`, each with its reason): the exact counts above, and the
  number of suppressed cells below the threshold (primary) or not (secondary), which
  tells how many of the hidden values are small, the solvers' counts per small cell
  (LPs solved, witnesses checked), which add up to the same, and the size of the audit's
  model (atoms, parts, relations, components, the largest household), which counts groups of
  the households the tables count (an outsider's attack, 2026-12-04, turned none of them into
  a bound; they are withheld because nothing models them).

Where a source's quarantined-share gate warns, its rows quarantined are withheld too (`WARNED`):
the warning says the quarantined rows are more than the threshold's share of the rows read, so
the rows quarantined divided by the threshold bound the rows read from above, and with them, as
above, `meervoudig` (one monthly file of 500 signals, 5 quarantined, a 1 % threshold: fewer than
500 rows). The warning's message states no count.

`counts.version` is the SHA-256 (first 12 hex digits) of the two lists: an audit.json made under
another version of this rule says so.

The withheld counts are not lost: the run record `records/<release-id>.<sha>.json` in the work
directory (`<sha>`: the first 16 hex digits of the SHA-256 of the audit.json it was published as;
mode 0600 in a 0700 folder; never in a release folder or the publication register) holds the full
audit, audit.json's SHA-256 and this rule's id; the privacy officer reads it on the machine. A
record is written before its release's commit point, so a release never lacks one; a crash before
that point leaves a record that no ledger entry names, which the next run removes. `rebuild` gives
audit.json's bytes back from a record: `ledger verify` checks that each release's audit.json is
its record with exactly the counts this rule withholds (`check_records`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

RULE = "C1"
RULE_TEXT = ("audit.json counts no records or households that the tables count, and states nothing about "
             "the hidden values of suppressed cells; the exact counts are in the run record")
RECORDS = "records"  # the folder of the run records, in the work directory

# (path, why withheld). A path is dot-separated keys; `*` is every key of a mapping, `[]`
# every item of a list; the last key is removed.
WITHHELD: tuple[tuple[str, str], ...] = (
    ("inputs.[].rows", "records of a file: a monthly delivery's signals less the monitor's households bound "
                       "meervoudig"),
    ("inputs.[].bytes", "bytes grow with the records of a file"),
    ("row_accounting.*.rows_read", "records read per source"),
    ("row_accounting.*.rows_loaded", "records loaded per source"),
    ("data_quality.*.rules.[].rows_checked", "records checked per rule: the records read"),
    ("linking.households", "households: the tables count them"),
    ("linking.households_in_several_buurten", "households: a small group no table protects"),
    ("linking.unlinked_rows.*.linked_by_address", "records that the tables count"),
    ("retention.extract_rows.[].rows", "records of a month deleted: that month's signals"),
    ("retention.extract_rows_deleted", "records deleted: their sum"),
    ("monitor.households_with_a_case", "households with a case: the monitor's cell signalen totaal of all its "
                                       "gemeenten together, beside the cells the protection may hide"),
    ("disclosure.primary", "how many suppressed cells are small"),
    ("disclosure.secondary_suppression.cells", "how many suppressed cells are not small"),
    ("disclosure.secondary_suppression.suppressed_value", "the sum of the hidden values of the secondary cells"),
    ("disclosure.audit.suppressed_unsafe_cells_audited", "how many suppressed cells are small"),
    ("disclosure.audit.small_atoms_audited", "how many atoms are small"),
    ("disclosure.group_disclosure.cells", "how many suppressed cells are zeros"),
    ("disclosure.relations.count", "relations: they grow with the atoms"),
    ("disclosure.relations.atoms.households", "non-empty household atoms: groups of households the tables count"),
    ("disclosure.relations.atoms.persons", "person atoms: groups of persons the tables count"),
    ("disclosure.relations.atoms.possible_households_for_group_zeros", "atoms that may hold households"),
    ("disclosure.relations.atoms.person_groups_of_several_parts", "groups of households"),
    ("disclosure.relations.atoms.member_bounds", "bounds per group of households"),
    ("disclosure.relations.atoms.largest_household", "the persons of one household (the audit assumes the attacker "
                                                     "knows it; no reader needs to)"),
    ("disclosure.relations.atoms.parts.atoms", "parts: groups of households split by earlier months' facts"),
    ("disclosure.relations.atoms.parts.groups", "groups of households"),
    ("disclosure.audit.components", "components of the hidden cells and atoms: they grow with the atoms"),
    ("disclosure.secondary_suppression.protection_lps", "LPs solved per small cell: how many are small"),
    ("disclosure.secondary_suppression.cut_rounds", "the solver's rounds: they grow with the small cells"),
    ("disclosure.secondary_suppression.fix_rounds", "the audit-and-fix rounds: they grow with the small cells"),
    ("disclosure.secondary_suppression.components_without_cut_loop_result", "components: they grow with the "
                                                                            "small cells"),
    ("disclosure.audit.settled_by_checked_witnesses", "small cells and atoms settled without an LP: with "
                                                      "lps_solved, how many are small"),
    ("disclosure.audit.lps_solved", "small cells and atoms settled by an LP: with the above, how many are small"),
)


QUARANTINE_SHARE = "quarantined-share"  # the gate whose warning bounds the rows read (pipelines/ingest/gates.py)
WARNED: tuple[tuple[str, str], ...] = (  # `{source}`: each source whose quarantined-share gate warned
    ("row_accounting.{source}.rows_quarantined", "with the warning's threshold, they bound the records read"),
    ("row_accounting.{source}.quarantined_by_rule", "their sum: the rows quarantined"),
    ("data_quality.{source}.rules.[].rows_failed", "their sum: the rows quarantined"),
)
VERSION = hashlib.sha256(json.dumps([WITHHELD, WARNED]).encode("utf-8")).hexdigest()[:12]


def _remove(node: Any, parts: list[str], path: str, removed: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "[]":
        if isinstance(node, list):
            for item in node:
                _remove(item, rest, path, removed)
        return
    if not isinstance(node, dict):
        return
    keys = list(node) if head == "*" else [head] if head in node else []
    for k in keys:
        if rest:
            _remove(node[k], rest, path, removed)
        else:
            del node[k]
            if path not in removed:
                removed.append(path)


def withhold(record: dict[str, Any]) -> dict[str, Any]:
    """audit.json from the full record: a copy without the `WITHHELD` counts, with a `counts`
    section that names the rule, what was withheld here and where the record is."""
    public = copy.deepcopy(record)
    removed: list[str] = []
    for path, _ in WITHHELD:
        _remove(public, path.split("."), path, removed)
    why = dict(WITHHELD)
    warned = sorted({str(w["source"]) for w in record.get("quality_gates", {}).get("warnings", [])
                     if isinstance(w, dict) and w.get("gate") == QUARANTINE_SHARE and w.get("source")})
    for source in warned:
        for template, reason in WARNED:
            path = template.format(source=source)
            why[path] = reason
            _remove(public, path.split("."), path, removed)
    public["counts"] = {
        "rule": f"{RULE}: {RULE_TEXT}",
        "version": VERSION,
        "withheld": [{"path": p, "why": why[p]} for p in removed],
        "record": f"{RECORDS}/{record.get('release_id', '<release-id>')}.<sha>.json in the work directory (<sha>: "
                  "the first 16 hex digits of this file's SHA-256)",
    }
    return public


def record_name(release_id: str, audit_sha256: str) -> str:
    """The file name of a release's run record: its id and the first 16 hex digits of its audit.json's SHA-256."""
    return f"{release_id}.{audit_sha256[:16]}.json"


def rebuild(record: dict[str, Any], counts: dict[str, Any] | None = None) -> bytes:
    """audit.json's bytes from a run record: the record without what publishing added (`published_as`;
    `leak_scan`, which audit.json holds after `counts`), with the counts of this rule withheld; with
    `counts` (an audit.json's section, made under another version of this rule), the paths it lists."""
    body = {k: v for k, v in record.items() if k != "published_as"}
    leak = body.pop("leak_scan", None)
    if counts is None:
        public = withhold(body)
    else:
        public = copy.deepcopy(body)
        for path in (str(w.get("path", "")) for w in counts.get("withheld", [])):
            _remove(public, path.split("."), path, [])
        public["counts"] = counts
    if leak is not None:
        public["leak_scan"] = leak
    return (json.dumps(public, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def check_records(records: Path, releases: Path, newest: dict[str, dict[str, Any]]) -> list[str]:
    """Problems of the run records (one line each): for each release the ledger records (`newest`: release id
    -> its last entry) whose audit.json follows this rule (it has a `counts` section), its record must exist,
    be readable by its owner only, name that audit.json's SHA-256, and rebuild it byte for byte: under
    this version of the rule with exactly its counts withheld; under an earlier one (`counts.version`
    differs), with the paths its `counts` lists (a release keeps the rule it was published under)."""
    problems = []
    for rid, entry in sorted(newest.items()):
        sha = str(entry.get("files", {}).get("audit.json", ""))
        path = records / record_name(rid, sha)
        try:
            counts = json.loads((releases / rid / "audit.json").read_text(encoding="utf-8")).get("counts")
        except (OSError, ValueError, AttributeError):
            continue  # a missing or edited audit.json is the ledger's to report
        if not isinstance(counts, dict):
            continue  # published before this rule
        if not path.exists():
            problems.append(f"{path}: missing: the run record of release {rid} (rule {RULE})")
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            problems.append(f"{path}: readable by others than its owner (mode {mode:o})")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            problems.append(f"{path}: not a run record (not valid JSON)")
            continue
        if record.get("published_as", {}).get("sha256") != sha:
            problems.append(f"{path}: names another audit.json than the ledger records for release {rid}")
        elif hashlib.sha256(rebuild(record, None if counts.get("version") == VERSION else counts)).hexdigest() != sha:
            problems.append(f"{path}: does not rebuild the audit.json of release {rid}: the two differ beyond "
                            f"the counts rule {RULE} withholds (version {counts.get('version', 'before versions')})")
    return problems


__all__ = ["check_records", "rebuild", "record_name", "QUARANTINE_SHARE", "RECORDS", "RULE", "RULE_TEXT", "VERSION", "WARNED", "WITHHELD", "withhold"]
