"""The identity vault: encrypted at rest, opened only for signal lists, every opening logged."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import privacy.vault as vault_module
from pipelines.settings import REPO_ROOT
from privacy.pseudonymise import hmac_python, uuid_of
from privacy.vault import (
    VaultError,
    VaultKeyError,
    VaultRefused,
    ensure_vault_key,
    open_vault,
    read_vault_key,
    write_vault,
)

PSEUDONYM_KEY = bytes(range(32))
BSNS = ["123456782", "111222333", "012345672", "999999990", "100000009"]
HOUSEHOLDS = ["0164010000000001", "0164010000000001", "0164010000000002", "0164010000000003", "0164010000000003"]
PIDS = [uuid_of(hmac_python(PSEUDONYM_KEY, b)) for b in BSNS]
HIDS = [uuid_of(hmac_python(PSEUDONYM_KEY, "hh:" + h)) for h in HOUSEHOLDS]
PEOPLE = {
    "voornamen": ["Wilhelmina Johanna", "Gerardus", "Ayşe", "Piotr", "Fenna"],
    "geslachtsnaam": ["Zwanenburg-Oosterhout", "Zwanenburg-Oosterhout", "Öztürkoğlu", "Wiśniewski-Kowal",
                      "Brinkhorstmaat"],
    "straat": ["Vlinderstraat", "Vlinderstraat", "Prinses Irenestraat", "Goudsbloemhof", "Goudsbloemhof"],
    "huisnummer": ["17", "17", "203-bis", "4A", "4A"],
    "postcode": ["7555ZQ", "7555ZQ", "7551XK", "7556QW", "7556QW"],
    "woonplaats": ["Hengelo", "Hengelo", "Hengelo", "Beckum", "Beckum"],
}
WORDS = sorted({v for values in PEOPLE.values() for v in values if len(v) >= 4})


def records(**change: list[str]) -> pa.Table:
    return pa.table({"pid": PIDS, "hid": HIDS, **PEOPLE, **change})


@pytest.fixture
def keys(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "keys"
    return {"pseudonym": folder / "pseudonym.key", "vault": folder / "vault.key"}


@pytest.fixture
def key(keys, tmp_path) -> bytes:
    return ensure_vault_key(keys["vault"], pseudonym_key_file=keys["pseudonym"], forbidden=[REPO_ROOT, tmp_path / "work"])


@pytest.fixture
def work(tmp_path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def opener(path: Path, key: bytes | None, log: Path, outputs=("buurt_tables", "signal_list")):
    return open_vault(path, key, purpose_id="schulden_vroeg", purpose_outputs=list(outputs),
                      selection="selections/schulden_signaallijst.yaml", access_log=log)


def found(raw: bytes, words) -> list[str]:
    return [w for w in words if w.encode("utf-8") in raw]


def all_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def log_lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


# -- encryption at rest --------------------------------------------------------------------------------------------


def test_a_plain_duckdb_file_shows_the_words_so_the_scan_below_can_fail(work):
    con = duckdb.connect(str(work / "plain.duckdb"))
    con.register("r", records())
    con.execute("CREATE TABLE t AS SELECT * FROM r")
    con.close()
    assert found((work / "plain.duckdb").read_bytes(), WORDS) == WORDS


def test_the_vault_file_and_its_write_ahead_log_hold_no_name_street_or_postcode(work, key, monkeypatch):
    seen: dict[str, bytes] = {}
    fill = vault_module._fill

    def fill_and_look(con):  # the files as they are while the records are being written (the .wal among them)
        fill(con)
        con.execute("CREATE TABLE vault.extra AS SELECT 1 AS x")  # a write after the table: lands in the WAL
        seen.update(all_bytes(work))

    monkeypatch.setattr(vault_module, "_fill", fill_and_look)
    assert write_vault(work / "vault.duckdb", key, records()) == 5
    assert ".vault.duckdb.new" in seen and ".vault.duckdb.new.wal" in seen
    seen.update({f"after {k}": v for k, v in all_bytes(work).items()})
    assert "after vault.duckdb" in seen and not any(k.endswith((".wal", ".new")) for k in all_bytes(work))
    for name, raw in seen.items():
        assert found(raw, WORDS + PIDS + HIDS) == [], name
    assert stat.S_IMODE(os.stat(work / "vault.duckdb").st_mode) == 0o600


def test_the_vault_gives_back_what_was_written(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    with opener(work / "vault.duckdb", key, tmp_path / "access.log") as v:
        by_person = v.lookup(pids=[PIDS[2], PIDS[0]])
        by_household = v.lookup(hids=[HIDS[3]])
        nobody = v.lookup(pids=[uuid_of(hmac_python(PSEUDONYM_KEY, "222222220"))])
    assert by_person.column_names == ["pid", "hid", "voornamen", "geslachtsnaam", "straat", "huisnummer", "postcode",
                                      "woonplaats"]
    assert sorted(r["geslachtsnaam"] for r in by_person.to_pylist()) == ["Zwanenburg-Oosterhout", "Öztürkoğlu"]
    assert {r["pid"]: r["huisnummer"] for r in by_person.to_pylist()} == {PIDS[0]: "17", PIDS[2]: "203-bis"}
    assert sorted(r["voornamen"] for r in by_household.to_pylist()) == ["Fenna", "Piotr"]
    assert nobody.num_rows == 0


def test_writing_again_replaces_the_vault_whole(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    write_vault(work / "vault.duckdb", key, records().slice(0, 2))
    with opener(work / "vault.duckdb", key, tmp_path / "access.log") as v:
        assert v.lookup(pids=PIDS).num_rows == 2


# -- the key -------------------------------------------------------------------------------------------------------


def test_the_vault_does_not_open_without_its_key_or_with_another(work, key, keys, tmp_path):
    path, log = work / "vault.duckdb", tmp_path / "access.log"
    write_vault(path, key, records())
    other = bytes(32)
    with pytest.raises(VaultError) as wrong:
        opener(path, other, log)
    assert str(wrong.value) == f"vault: the key does not open {path} (wrong key)"
    with pytest.raises(VaultError) as missing:
        opener(path, None, log)
    assert str(missing.value) == f"vault: no key given for {path}; the vault is encrypted and opens only with its key"
    for e in (wrong.value, missing.value):
        assert "\n" not in str(e) and key.hex() not in str(e) and other.hex() not in str(e)
    keys["vault"].unlink()
    with pytest.raises(VaultKeyError, match="does not exist: without it the vault cannot be opened"):
        read_vault_key(keys["vault"], pseudonym_key_file=keys["pseudonym"], forbidden=[])
    assert [(e["action"], e["reason"]) for e in log_lines(log)] == [
        ("failed", f"the key does not open {path} (wrong key)"),
        ("failed", f"no key given for {path}; the vault is encrypted and opens only with its key")]


def test_the_vault_key_file_is_created_0600_in_a_0700_folder(keys, key):
    assert len(key) == 32
    assert stat.S_IMODE(os.stat(keys["vault"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys["vault"].parent).st_mode) == 0o700
    assert keys["vault"].read_text(encoding="ascii") == key.hex() + "\n"
    assert ensure_vault_key(keys["vault"], pseudonym_key_file=keys["pseudonym"], forbidden=[]) == key  # kept


def test_the_pseudonymisation_key_file_is_refused_as_vault_key(keys):
    with pytest.raises(VaultKeyError) as e:
        ensure_vault_key(keys["pseudonym"], pseudonym_key_file=keys["pseudonym"], forbidden=[])
    assert str(e.value) == (f"vault key file {keys['pseudonym']} is the pseudonymisation key file: the vault needs a "
                            "key of its own")
    assert not keys["pseudonym"].exists()  # refused before anything was created
    keys["pseudonym"].parent.mkdir(mode=0o700)
    keys["pseudonym"].write_bytes(os.urandom(32))
    keys["pseudonym"].chmod(0o600)
    (keys["pseudonym"].parent / "link.key").symlink_to(keys["pseudonym"])
    with pytest.raises(VaultKeyError, match="is the pseudonymisation key file"):
        read_vault_key(keys["pseudonym"].parent / "link.key", pseudonym_key_file=keys["pseudonym"], forbidden=[])


def test_a_vault_key_inside_the_work_directory_or_the_repository_is_refused(work, keys):
    for folder in (work, REPO_ROOT):
        path = folder / "keys" / "vault.key"
        with pytest.raises(VaultKeyError) as e:
            ensure_vault_key(path, pseudonym_key_file=keys["pseudonym"], forbidden=[REPO_ROOT, work])
        assert str(e.value) == (f"vault key file {path} lies inside {folder}: keep the vault key outside the "
                                "repository and the work directory")
        assert not path.parent.exists()


def test_a_vault_key_readable_by_others_or_not_hex_is_refused(keys, key):
    keys["vault"].chmod(0o644)
    with pytest.raises(VaultKeyError) as e:
        read_vault_key(keys["vault"], pseudonym_key_file=keys["pseudonym"], forbidden=[])
    assert str(e.value) == f"vault key file {keys['vault']} has mode 644, wider than 600; run: chmod 600 {keys['vault']}"
    keys["vault"].chmod(0o600)
    keys["vault"].write_bytes(os.urandom(32))  # raw bytes, as a pseudonymisation key file holds
    with pytest.raises(VaultKeyError) as e:
        read_vault_key(keys["vault"], pseudonym_key_file=keys["pseudonym"], forbidden=[])
    assert str(e.value) == f"vault key file {keys['vault']} does not hold one key of 64 hexadecimal digits (0-9, a-f)"


# -- who may open it, and the log ----------------------------------------------------------------------------------


def test_a_purpose_without_signal_list_is_refused_and_the_refusal_logged(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    log = tmp_path / "access.log"
    with pytest.raises(VaultRefused) as e:
        opener(work / "vault.duckdb", key, log, outputs=["buurt_tables"])
    assert str(e.value) == "vault: purpose 'schulden_vroeg' does not allow output signal_list; the vault is not opened"
    [line] = log_lines(log)
    assert line["action"] == "refused" and line["purpose"] == "schulden_vroeg"
    assert line["selection"] == "selections/schulden_signaallijst.yaml"
    assert line["reason"] == "purpose 'schulden_vroeg' does not allow output signal_list"


def test_the_access_log_counts_what_was_read_and_holds_no_pseudonym_name_or_address(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    log = tmp_path / "access.log"
    v = opener(work / "vault.duckdb", key, log)
    assert [e["action"] for e in log_lines(log)] == ["opened"]  # logged before anything is read
    v.lookup(pids=[PIDS[0], PIDS[2], PIDS[2]])
    v.lookup(hids=[HIDS[0], HIDS[3]])
    v.close()
    v.close()  # once
    opened, closed = log_lines(log)
    assert opened["action"] == "opened" and closed["action"] == "closed"
    assert (closed["lookups"], closed["records_read"]) == (2, 2 + 4)
    assert opened["session"] == closed["session"] and opened["time"].endswith("Z")
    assert set(opened) == {"time", "session", "user", "host", "vault", "purpose", "selection", "action"}
    raw = log.read_bytes()
    hexes = [p.replace("-", "") for p in PIDS + HIDS]
    assert found(raw, WORDS + PIDS + HIDS + hexes + BSNS + HOUSEHOLDS) == []
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_without_its_access_log_the_vault_is_not_opened(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    log = tmp_path / "no such folder" / "access.log"
    with pytest.raises(VaultError) as e:
        opener(work / "vault.duckdb", key, log)
    assert str(e.value) == (f"vault: cannot write the access log {log} (No such file or directory); the vault is not "
                            "used without it")


def test_an_opened_vault_cannot_copy_itself_to_a_file(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    with opener(work / "vault.duckdb", key, tmp_path / "access.log") as v:
        assert v._con is not None
        with pytest.raises(duckdb.PermissionException):
            v._con.execute(f"COPY vault.personen TO '{tmp_path / 'out.csv'}'")
    assert not (tmp_path / "out.csv").exists()


def test_a_lookup_key_that_is_no_pseudonym_is_refused_by_position(work, key, tmp_path):
    write_vault(work / "vault.duckdb", key, records())
    with opener(work / "vault.duckdb", key, tmp_path / "access.log") as v:
        with pytest.raises(VaultError) as e:
            v.lookup(pids=[PIDS[0], "x' OR 1=1 --"])
        assert str(e.value) == "vault: lookup by pid: key 2 is not a pseudonym (a UUID)"
        with pytest.raises(VaultError, match="either pids or hids"):
            v.lookup()
    with pytest.raises(VaultError, match="is closed"):
        v.lookup(pids=PIDS)


# -- writing safely ------------------------------------------------------------------------------------------------


def test_a_crash_while_writing_leaves_the_old_vault(work, key, tmp_path, monkeypatch):
    path = work / "vault.duckdb"
    write_vault(path, key, records())
    before = path.read_bytes()
    fill = vault_module._fill

    def fill_then_crash(con):
        fill(con)
        raise RuntimeError("power cut")

    monkeypatch.setattr(vault_module, "_fill", fill_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        write_vault(path, key, records().slice(0, 1))
    assert path.read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == [".vault.duckdb.lock", "vault.duckdb"]
    with opener(path, key, tmp_path / "access.log") as v:
        assert v.lookup(pids=PIDS).num_rows == 5


def test_records_that_break_a_rule_are_refused_by_row_and_the_old_vault_kept(work, key):
    path = work / "vault.duckdb"
    write_vault(path, key, records())
    before = path.read_bytes()
    bad = records(pid=[PIDS[0], PIDS[1], "Zwanenburg", PIDS[3], PIDS[4]])
    with pytest.raises(VaultError) as e:
        write_vault(path, key, bad)
    assert str(e.value) == f"vault: records for {path}, row 3: pid is not a pseudonym (a UUID)"
    with pytest.raises(VaultError) as e:
        write_vault(path, key, records(pid=[PIDS[0], PIDS[1], PIDS[2], PIDS[1], PIDS[4]]))
    assert str(e.value) == f"vault: records for {path}, row 4: the same pid as an earlier row"
    with pytest.raises(VaultError) as e:
        write_vault(path, key, records().append_column("geboortedatum", pa.array(["1970-01-01"] * 5)))
    assert str(e.value) == (f"vault: records for {path}: column(s) geboortedatum the vault does not hold; expected "
                            "pid, hid, voornamen, geslachtsnaam, straat, huisnummer, postcode, woonplaats")
    assert path.read_bytes() == before


def test_a_file_that_is_not_an_encrypted_vault_is_refused(work, key, tmp_path):
    plain = work / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    with pytest.raises(VaultError) as e:
        opener(plain, key, tmp_path / "access.log")
    assert str(e.value) == f"vault: {plain} is not encrypted; a vault must be (write it with write_vault)"
    with pytest.raises(VaultError) as e:
        opener(work / "none.duckdb", key, tmp_path / "access.log")
    assert str(e.value) == f"vault: {work / 'none.duckdb'} does not exist"


def test_an_httpfs_package_of_another_duckdb_version_is_named(monkeypatch):
    monkeypatch.setattr(vault_module.duckdb, "__version__", "1.5.99")
    with pytest.raises(VaultError, match=r"does not fit DuckDB 1\.5\.99; install the same version of both"):
        vault_module.httpfs_extension()
