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

The withheld counts are not lost: the run record `records/<release-id>.json` in the work
directory (owner only, never copied to the publication register) holds the full audit,
audit.json's sha256 and this rule's id; the privacy officer reads it on the machine.
"""

from __future__ import annotations

import copy
from typing import Any

RULE = "C1"
RULE_TEXT = ("audit.json counts no records or households that the tables count, and states nothing about "
             "the hidden values of suppressed cells; the exact counts are in the run record")
RECORDS = "records"

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
    ("monitor.households_with_a_case", "households beside the monitor's households with a signal"),
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
    ("disclosure.audit.settled_by_checked_witnesses", "small cells and atoms settled without an LP: with "
                                                      "lps_solved, how many are small"),
    ("disclosure.audit.lps_solved", "small cells and atoms settled by an LP: with the above, how many are small"),
)


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
    public["counts"] = {
        "rule": f"{RULE}: {RULE_TEXT}",
        "withheld": [{"path": p, "why": why[p]} for p in removed],
        "record": f"{RECORDS}/{record.get('release_id', '<release-id>')}.json in the work directory",
    }
    return public


__all__ = ["RECORDS", "RULE", "RULE_TEXT", "WITHHELD", "withhold"]
