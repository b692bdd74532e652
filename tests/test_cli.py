"""The command line: exit codes and exact messages."""

from pathlib import Path

from conftest import write_settings
from pipelines.cli import main


def test_check_passes_on_the_shipped_configuration(capsys):
    assert main(["check"]) == 0
    assert capsys.readouterr().out == ("OK: 5 selection(s) valid under DPIA-WIJKSIGNAAL-2026-01 version 1.1; "
                                       "5 purpose(s); sources and contracts valid\n")


def test_check_lists_every_problem_and_fails(tmp_path, capsys):
    (tmp_path / "a-sel.yaml").write_text(
        "id: a-sel\ntitle: A\ndescription: d\npurpose: geheim\nowner: o\noutputs: [buurt_tables]\n"
        "criteria: {source: wmo}\n", encoding="utf-8")
    (tmp_path / "b-sel.yaml").write_text("id: b-sel\nkleur: rood\n", encoding="utf-8")
    assert main(["check", "--selections", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{tmp_path}/a-sel.yaml:1: the selection has no approval (by whom, when); it may not run"
    assert err[1] == (f"{tmp_path}/a-sel.yaml:4: purpose 'geheim' is not in the DPIA rules; known purposes: "
                      "kinderen-en-armoede, ouderen-zorg-en-geldzorgen, stapelingsmonitor, vroeg-eropaf, "
                      "vroegsignalering-inhoudingen")
    assert any(line.startswith(f"{tmp_path}/b-sel.yaml:2: kleur: unknown key 'kleur'; allowed: approval, criteria")
               for line in err)
    assert f"{tmp_path}/b-sel.yaml:1: title: required key is missing" in err
    assert err[-1] == f"{len(err) - 1} problem(s) found"


def test_explain_shows_purpose_legal_basis_reads_and_sql(capsys):
    assert main(["explain", "inhouding-zonder-budgetbeheer"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Inhouding op de uitkering zonder budgetbeheer (inhouding-zonder-budgetbeheer, version ")
    assert "Purpose:      vroegsignalering-inhoudingen: Vroegsignalering bij inhoudingen op de uitkering" in out
    assert "Legal basis:  Art. 6 lid 1 sub e AVG met art. 2 en art. 3a Wet gemeentelijke" in out
    assert "Reads:        uitkeringen: budgetbeheer, einddatum, ingangsdatum, inhouding" in out
    assert "        waarbij inhouding is ja\n        waarbij budgetbeheer is nee\n" in out
    assert 'FROM "uitkeringen" t JOIN persons pp ON pp.pid = t.pid WHERE (t."inhouding" = ?)' in out
    assert "Parameters:   ['True', 'False', '2026-10-31', '2026-10-01', '1', 'True', '2026-10-31', '2026-10-01', '1']" in out


def test_explain_unknown_selection(capsys):
    assert main(["explain", "bestaat-niet"]) == 1
    assert capsys.readouterr().err.startswith("error: no selection 'bestaat-niet' in ")


def test_run_with_invalid_settings_names_file_and_line(tmp_path, capsys):
    p = tmp_path / "gemeente.yaml"
    p.write_text("gemeente: GM0164\nperiod: 2026-13\nsources_dir: s\nwork_dir: w\n", encoding="utf-8")
    assert main(["run", "--config", str(p)]) == 1
    assert capsys.readouterr().err == f"error: {p}:2: period: Value error, must be YYYY-MM, e.g. 2026-10\n"


def test_synth_writes_the_extracts(tmp_path, capsys):
    assert main(["synth", "--gemeente", "GM0003", "--out", str(tmp_path), "--scale", "0.2"]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    assert {p.name for p in tmp_path.iterdir()} >= {"brp.csv", "uitkeringen.csv", "wmo.csv", "vroegsignalen_2026-10.json"}


def test_usage_error_exits_2(capsys):
    try:
        main(["frobnicate"])
    except SystemExit as e:
        assert e.code == 2


def test_run_through_prefect_with_a_missing_file_publishes_nothing(prefect_server, sources_copy, key_file, tmp_path,
                                                                   capsys):
    (sources_copy / "wmo.csv").unlink()
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    assert main(["run", "--config", str(settings)]) == 1
    err = capsys.readouterr().err
    assert f"error: source 'wmo', file {sources_copy}/wmo.csv: file not found\nnothing was published\n" in err
    assert not (tmp_path / "run" / "work" / "releases").exists()


def test_demo_runs_end_to_end_through_prefect(prefect_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the demo's key goes to ~/.config/wijksignaal
    assert main(["demo", "--work", str(tmp_path / "demo"), "--gemeente", "GM0003", "--scale", "0.5",
                 "--periods", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo release GM0003-2026-10-")
    folder = Path(out.split("open ")[1].strip()).parent
    assert sorted(p.name[:14] for p in folder.parent.iterdir()) == ["GM0003-2026-09", "GM0003-2026-10"]
    assert {p.name for p in folder.iterdir()} == {"tables.csv", "tables.xlsx", "audit.json", "report.html",
                                                  "ledger-entry.json"}
    assert (tmp_path / "home" / ".config" / "wijksignaal" / "pseudonym.key").exists()
