"""The identity vault's records, read after link: only the households with a vroegsignaal in the
month, never a row the contract quarantined, and no identity anywhere but the vault."""

from __future__ import annotations

import csv
import json
import re

import duckdb
import pytest
from conftest import ingest_and_link, write_settings

from pipelines.pipeline import prepare, stage_ingest, stage_link
from privacy.pseudonymise import hmac_python, uuid_of
from privacy.vault import open_vault

TWIN, BROKEN = "Quarantainus", "Quarantaina"


def _wanted(run) -> tuple[set[str], int]:
    """The warehouse's persons of the households with a vroegsignaal in 2026-10, and all its persons."""
    con = duckdb.connect(str(run.warehouse), read_only=True)
    try:
        wanted = {p for (p,) in con.execute(
            "WITH h AS (SELECT p.hid FROM vroegsignalen v JOIN persons p USING (pid) WHERE v.signaaldatum BETWEEN "
            "'2026-10-01' AND '2026-10-31' UNION SELECT hid FROM vroegsignalen WHERE signaaldatum BETWEEN "
            "'2026-10-01' AND '2026-10-31' AND hid IS NOT NULL) "
            "SELECT DISTINCT CAST(pid AS VARCHAR) FROM persons WHERE hid IN (SELECT hid FROM h)").fetchall()}
        everyone = con.execute("SELECT count(*) FROM persons").fetchone()[0]
    finally:
        con.close()
    return wanted, everyone


def _vault(run, pids):
    purpose = next(p for p in run.dpia.purposes.values() if "signal_list" in p.allowed_outputs)
    with open_vault(run.vault_file, run.vault_key(create=False), purpose_id="test", selection="test",
                    purpose_outputs=purpose.allowed_outputs, access_log=run.vault_log) as v:
        return {r["pid"]: r for r in v.lookup(pids=sorted(pids)).to_pylist()}


@pytest.fixture
def ran(sources_copy, key_file, tmp_path):
    """One run (ingest and link) on the session's sources, then the BRP changed: a twin row of a
    person with a signal (a BSN with a space before it: quarantined, yet it normalises to the same
    pseudonym) put before the person's own row, and another such person's birth date broken."""
    settings = write_settings(tmp_path / "r", sources_copy, key_file)
    run = ingest_and_link(settings)
    wanted, _ = _wanted(run)
    key = run.key()
    brp = sources_copy / "brp.csv"
    with brp.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}
    hits = [i for i, r in enumerate(rows[1:], 1) if uuid_of(hmac_python(key, r[col["BSN"]].zfill(9))) in wanted]
    twin_of, broken = rows[hits[0]], rows[hits[-1]]
    assert twin_of[col["Huishoudnummer"]] != broken[col["Huishoudnummer"]]
    twin = list(twin_of)
    twin[col["BSN"]], twin[col["Voornamen"]] = " " + twin_of[col["BSN"]], TWIN
    broken[col["Geboortedatum"]], broken[col["Voornamen"]] = "1980-02-30", BROKEN
    rows.insert(hits[0], twin)
    with brp.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(rows)
    run = ingest_and_link(settings)
    return {"run": run, "key": key, "twin_of": twin_of, "broken": broken, "col": col}


def test_the_vault_holds_the_persons_of_the_households_with_a_signal_and_no_quarantined_row(ran):
    run, key, col = ran["run"], ran["key"], ran["col"]
    wanted, everyone = _wanted(run)
    pid = {name: uuid_of(hmac_python(key, ran[name][col["BSN"]].zfill(9))) for name in ("twin_of", "broken")}
    assert pid["twin_of"] in wanted and pid["broken"] not in wanted  # the broken row was quarantined
    with (run.work_dir / "quarantine" / "2026-10" / "brp.csv").open(encoding="utf-8") as fh:
        assert {r["rule"] for r in csv.DictReader(fh)} == {"bsn-elfproef", "geboortedatum-geldig"}
    everyone_vault = _vault(run, wanted | {pid["broken"]})
    assert set(everyone_vault) == wanted and 0 < len(wanted) < everyone / 20
    assert everyone_vault[pid["twin_of"]]["voornamen"] == ran["twin_of"][col["Voornamen"]]  # its own row, not the twin
    assert not [r for r in everyone_vault.values() if r["voornamen"] in (TWIN, BROKEN)]
    written = [json.loads(x) for x in run.vault_log.read_text(encoding="utf-8").splitlines()
               if json.loads(x)["action"] == "written"]
    assert [w["records"] for w in written][-1] == len(wanted)
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", json.dumps(written))  # no pseudonym in the log


def test_no_name_of_the_brp_is_read_at_ingest(ran, monkeypatch):
    """Ingest reads the BRP without its identity columns; only the vault's reading asks for them."""
    import pipelines.ingest as ingest

    asked = []
    real = ingest.read_source
    monkeypatch.setattr(ingest, "read_source", lambda name, source, d: asked.append(dict(source.columns)) or real(
        name, source, d))
    stage_ingest(ran["run"], "brp")
    assert asked and "Voornamen" not in asked[0].values() and "Straatnaam" not in asked[0].values()


def test_a_month_without_signals_empties_the_vault(ran):
    run = prepare(ran["run"].base / "gemeente.yaml", {"period": "2031-01"})  # no ingest of that month needed
    assert run.signal_lists
    stage_link(run)
    assert _vault(run, _wanted(ran["run"])[0]) == {}
    last = [x for x in map(json.loads, run.vault_log.read_text(encoding="utf-8").splitlines())
            if x["action"] == "written"][-1]
    assert (last["action"], last["records"], last["households"], last["period"]) == ("written", 0, 0, "2031-01")


def test_reading_ahead_gives_every_item_in_order_and_the_reader_s_error():
    from pipelines.ingest.identities import read_ahead

    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("unreadable")

    got = []
    with pytest.raises(ValueError, match="unreadable"):
        for x in read_ahead(broken()):
            got.append(x)
    assert got == [1]
    made = []

    def endless():
        while True:
            made.append(1)
            yield len(made)

    for x in read_ahead(endless()):
        if x == 3:
            break  # the reader thread stops too (the generator is closed, the thread joined)
    assert len(made) <= 5
