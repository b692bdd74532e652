import json

import pytest

from privacy import ledger


def _release(i):
    return {"release_id": f"GM0001-2026-0{i}-x", "gemeente": "GM0001", "period": f"2026-0{i}", "files": {},
            "dpia": {"id": "D", "version": "1"}, "selections": []}


def test_chain_verifies_and_detects_a_changed_entry(tmp_path):
    path = tmp_path / "ledger.jsonl"
    for i in (1, 2, 3):
        ledger.append(path, _release(i))
    assert ledger.verify(path) == []
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["period"] = "2026-09"
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    assert ledger.verify(path) == [f"{path}: line 2 (GM0001-2026-02-x): edited: its content does not match its "
                                   "entry_sha256"]


def test_removed_entry_breaks_the_chain(tmp_path):
    path = tmp_path / "ledger.jsonl"
    for i in (1, 2, 3):
        ledger.append(path, _release(i))
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[2] + "\n")
    assert ledger.verify(path) == [f"{path}: line 2 (GM0001-2026-03-x): its previous_sha256 matches no entry: the "
                                   "entry before it was removed or changed"]


def test_a_torn_last_line_is_dropped_only_when_it_is_the_start_of_a_staged_entry(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger.append(path, _release(1))
    intact = path.read_bytes()
    staged, other = ledger.new_entry(path, _release(2)), ledger.new_entry(path, _release(3))
    with path.open("ab") as fh:
        fh.write(ledger.line(staged)[:40])
    assert ledger.entries(path) == [json.loads(intact)]  # the complete line still reads
    assert not ledger.repair_torn_tail(path, [other])  # not the start of this entry: someone else's bytes, kept
    assert ledger.verify(path) == [f"{path}: line 2: torn: the last line is incomplete (an interrupted write)"]
    assert ledger.repair_torn_tail(path, [staged])
    assert path.read_bytes() == intact and ledger.verify(path) == []


def test_no_entry_is_appended_after_a_torn_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger.append(path, _release(1))
    with path.open("ab") as fh:
        fh.write(b'{"release_id": "GM00')
    with pytest.raises(ledger.LedgerError) as e:
        ledger.append(path, _release(2))
    assert str(e.value) == (f"{path}: line 2: torn: the last line is incomplete (an interrupted write); no entry can "
                            "follow it")
