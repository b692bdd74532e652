import json

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
