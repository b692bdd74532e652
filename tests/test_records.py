"""Issue 11, "records a privacy officer reads are all true": approvals, what is exact, file
modes, the licence."""

import json
import stat
import tomllib

import pytest

from pipelines.settings import REPO_ROOT


def test_audit_says_who_approved_each_selection(release):
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    for entry in audit["rules"]["selections"]:
        assert entry["approval"]["by"] and entry["approval"]["date"] >= "2026-01-01", entry["id"]
        assert entry["owner"]
    assert audit["disclosure"]["additive_after_protection"] == (
        "suppressed cells are empty; published cells are exact counts")


def test_every_file_of_the_work_directory_is_its_owners_only(release):
    work = release["work"]
    loose = [(str(p.relative_to(work)), oct(stat.S_IMODE(p.stat().st_mode)))
             for p in [work, *work.rglob("*")] if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
    assert (work / "warehouse.duckdb").exists()


def test_the_licence_pyproject_names_is_in_the_repository():
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == {"text": "EUPL-1.2"}
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")


def test_the_registers_copy_is_readable_by_all(sources, key_file, tmp_path):
    from conftest import write_settings

    from pipelines.pipeline import run_all

    register = tmp_path / "published"
    rel = run_all(write_settings(tmp_path / "run", sources, key_file, published_dir=register))
    copy = register / rel.release_id
    assert stat.S_IMODE(register.stat().st_mode) == stat.S_IMODE(copy.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in copy.iterdir()} == {0o644}
    assert stat.S_IMODE(rel.folder.stat().st_mode) == 0o700  # the work directory's own stays private


def test_a_key_inside_the_publication_register_is_refused(sources, tmp_path):
    from conftest import write_settings

    from pipelines.pipeline import prepare
    from privacy.pseudonymise import KeyFileError

    register = tmp_path / "published"
    run = prepare(write_settings(tmp_path / "run", sources, register / "pseudonym.key", published_dir=register))
    with pytest.raises(KeyFileError):
        run.key()
    assert not (register / "pseudonym.key").exists()


def test_contract_rules_on_columns_that_are_not_loaded_are_listed_as_not_run(release):
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    rules = {r["rule"]: r for r in audit["data_quality"]["wmo"]["rules"]}
    assert rules["productcode-formaat"]["success"] is None
    assert rules["productcode-formaat"]["skipped"] == ("not run: it reads a column that is not loaded (productcode: "
                                                       "no DPIA purpose allows it)")
