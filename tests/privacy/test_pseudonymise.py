import os
import stat

import duckdb
import pytest

from pipelines.settings import REPO_ROOT
from privacy.pseudonymise import KeyFileError, hmac_python, install_sql_macro, load_or_create_key, pads, uuid_of


def test_sql_hmac_equals_python_hmac():
    key = bytes(range(32))
    con = duckdb.connect()
    install_sql_macro(con)
    p = pads(key)
    for bsn in ["123456782", "012345672", "999999990"]:
        got = con.execute("SELECT pseudonym(?, ?, ?)::VARCHAR", [bsn, p.inner, p.outer]).fetchone()[0]
        assert got == uuid_of(hmac_python(key, bsn))


def test_other_key_other_pseudonym():
    assert hmac_python(b"a" * 32, "123456782") != hmac_python(b"b" * 32, "123456782")


def test_key_file_is_created_with_mode_0600(tmp_path):
    path = tmp_path / "keys" / "k.key"
    key = load_or_create_key(path, forbidden=[REPO_ROOT])
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path, forbidden=[REPO_ROOT]) == key  # same key next time


def test_key_inside_the_repository_is_refused():
    with pytest.raises(KeyFileError, match="keep the pseudonymisation key outside the repository"):
        load_or_create_key(REPO_ROOT / "config" / "x.key", forbidden=[REPO_ROOT])
    assert not (REPO_ROOT / "config" / "x.key").exists()


def test_key_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "k.key"
    path.write_bytes(b"x" * 32)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_or_create_key(path, forbidden=[])


def test_pads_never_print_key_material():
    assert repr(pads(b"secret-key-material-32-bytes!!!!")) == "Pads(<secret>)"
