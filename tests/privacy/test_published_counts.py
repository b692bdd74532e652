"""Rule C1 (privacy/published_counts.py): audit.json counts no records the tables count."""

import json

from privacy.published_counts import RULE, WITHHELD, withhold


def _record() -> dict:
    return {
        "release_id": "GM0164-2026-06-abc",
        "inputs": [{"source": "vroegsignalen", "name": "ddas_2026-06.json", "sha256": "a" * 64, "bytes": 210118,
                    "rows": 506, "period_end": "2026-06-30"}],
        "row_accounting": {"vroegsignalen": {"rows_read": 506, "rows_loaded": 506, "rows_quarantined": 0,
                                             "holds": True, "quarantined_by_rule": {}}},
        "data_quality": {"vroegsignalen": {"rules": [{"rule": "id-uniek", "rows_checked": 506, "rows_failed": 0}]}},
        "linking": {"households": 58025, "households_in_several_buurten": 2,
                    "unlinked_rows": {"vroegsignalen": {"no_person_with_bsn": 3, "linked_by_address": 4}}},
        "retention": {"extract_rows": [{"place": "warehouse:vroegsignalen", "period": "2024-05", "rows": 481}],
                      "extract_rows_deleted": 481},
        "monitor": {"households_with_a_case": 497, "facts_sha256": "b" * 64},
        "disclosure": {"cells": 10, "published": 6, "suppressed": 4, "primary": 3,
                       "relations": {"count": 31, "kinds": ["atom"],
                                     "atoms": {"households": 593, "persons": 52, "largest_household": 5,
                                               "possible_households_for_group_zeros": 0, "member_bounds": 68,
                                               "person_groups_of_several_parts": 1, "floor": 0.0, "rule": "r",
                                               "parts": {"atoms": 466, "groups": 108, "rule": "p"}}},
                       "secondary_suppression": {"cells": 1, "suppressed_value": 14, "protection_lps": 7,
                                                 "cut_rounds": 3, "fix_rounds": 0,
                                                 "components_without_cut_loop_result": 0},
                       "audit": {"suppressed_unsafe_cells_audited": 3, "small_atoms_audited": 5, "passed": True,
                                 "settled_by_checked_witnesses": 6, "lps_solved": 2, "components": 22},
                       "group_disclosure": {"cells": 0, "applied": False}},
    }


def test_the_published_audit_keeps_hashes_identities_of_accounting_and_what_no_table_counts():
    public = withhold(_record())
    assert public["inputs"] == [{"source": "vroegsignalen", "name": "ddas_2026-06.json", "sha256": "a" * 64,
                                 "period_end": "2026-06-30"}]
    assert public["row_accounting"] == {"vroegsignalen": {"rows_quarantined": 0, "holds": True,
                                                          "quarantined_by_rule": {}}}
    assert public["data_quality"]["vroegsignalen"]["rules"] == [{"rule": "id-uniek", "rows_failed": 0}]
    assert public["linking"] == {"unlinked_rows": {"vroegsignalen": {"no_person_with_bsn": 3}}}
    assert public["retention"] == {"extract_rows": [{"place": "warehouse:vroegsignalen", "period": "2024-05"}]}
    assert public["monitor"] == {"facts_sha256": "b" * 64}
    assert public["disclosure"] == {"cells": 10, "published": 6, "suppressed": 4, "secondary_suppression": {},
                                    "relations": {"kinds": ["atom"], "atoms": {"floor": 0.0, "rule": "r",
                                                                               "parts": {"rule": "p"}}},
                                    "audit": {"passed": True}, "group_disclosure": {"applied": False}}
    assert public["counts"]["rule"].startswith(f"{RULE}: ")
    assert public["counts"]["record"] == ("records/GM0164-2026-06-abc.<sha>.json in the work directory (<sha>: the "
                                          "first 16 hex digits of this file's SHA-256)")
    assert [w["path"] for w in public["counts"]["withheld"]] == [p for p, _ in WITHHELD]


def test_no_number_of_the_month_s_signals_is_left_for_the_attacker():
    """The outsider's relation: a delivery's rows less the monitor's households bound meervoudig.
    No number an attacker could take for the rows (506), the bytes or the households with a case
    remains anywhere in what is published."""
    record = _record()
    public = json.dumps(withhold(record))
    for secret in ("506", "210118", "481", "497", "58025", "14", "593", "466", "108", "68"):
        assert secret not in public, secret
    assert record["inputs"][0]["rows"] == 506  # the record itself is not changed


def test_only_present_paths_are_listed_as_withheld():
    public = withhold({"release_id": "x", "inputs": [{"source": "brp", "sha256": "c" * 64, "rows": 9}]})
    assert [w["path"] for w in public["counts"]["withheld"]] == ["inputs.[].rows"]


def test_where_the_quarantined_share_gate_warns_the_rows_quarantined_are_withheld_too():
    """5 of 500 rows quarantined and a 1 % warning: the published warning alone says fewer than 500 rows
    were read; with the rows quarantined beside it, the rows read are bounded and so is meervoudig."""
    from privacy.published_counts import VERSION, WARNED

    record = _record()
    record["row_accounting"]["wmo"] = {"rows_read": 900, "rows_loaded": 900, "rows_quarantined": 0, "holds": True,
                                       "quarantined_by_rule": {}}
    record["row_accounting"]["vroegsignalen"].update(rows_quarantined=5, quarantined_by_rule={"id-uniek": 5})
    record["data_quality"]["vroegsignalen"]["rules"][0]["rows_failed"] = 5
    record["quality_gates"] = {"warnings": [{"gate": "quarantined-share", "source": "vroegsignalen",
                                             "level": "warning", "message": "m"}]}
    public = withhold(record)
    assert public["row_accounting"] == {"vroegsignalen": {"holds": True},
                                        "wmo": {"rows_quarantined": 0, "holds": True, "quarantined_by_rule": {}}}
    assert public["data_quality"]["vroegsignalen"]["rules"] == [{"rule": "id-uniek"}]
    paths = [w["path"] for w in public["counts"]["withheld"]]
    assert paths[-len(WARNED):] == [t.format(source="vroegsignalen") for t, _ in WARNED]
    assert public["counts"]["version"] == VERSION and len(VERSION) == 12
    assert withhold(_record())["row_accounting"]["vroegsignalen"]["rows_quarantined"] == 0  # no warning: kept


def test_a_release_keeps_the_version_of_the_rule_it_was_published_under(tmp_path):
    """An audit.json made when the rule withheld less rebuilds from its record with the paths its own
    `counts` lists; `ledger verify` does not hold it to today's list (a later version must not stop
    every work directory from publishing), but does hold it to its own."""
    import hashlib

    from privacy.published_counts import check_records, rebuild, record_name

    record = {**_record(), "leak_scan": {"hits": {}}}
    older = {"rule": "C1: ...", "withheld": [{"path": "inputs.[].rows", "why": "records of a file"}],
             "record": "records/x.json in the work directory"}
    data = rebuild(record, older)
    sha = hashlib.sha256(data).hexdigest()
    rid = record["release_id"]
    (tmp_path / "releases" / rid).mkdir(parents=True)
    (tmp_path / "releases" / rid / "audit.json").write_bytes(data)
    (tmp_path / "records").mkdir(mode=0o700)
    path = tmp_path / "records" / record_name(rid, sha)
    path.write_text(json.dumps({**record, "published_as": {"sha256": sha}}), encoding="utf-8")
    path.chmod(0o600)
    newest = {rid: {"files": {"audit.json": sha}}}
    assert json.loads(data)["linking"]["households"] == 58025  # that version published it
    assert check_records(tmp_path / "records", tmp_path / "releases", newest) == []
    record["linking"]["households"] = 58026  # the record no longer what was published
    path.write_text(json.dumps({**record, "published_as": {"sha256": sha}}), encoding="utf-8")
    assert check_records(tmp_path / "records", tmp_path / "releases", newest) == [
        f"{path}: does not rebuild the audit.json of release {rid}: the two differ beyond the counts rule C1 "
        "withholds (version before versions)"]
