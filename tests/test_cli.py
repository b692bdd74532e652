"""The command line: exit codes and exact messages."""

from pathlib import Path

import pytest
from conftest import write_settings

from pipelines.cli import main
from pipelines.settings import SELECTIONS_DIR


def test_check_passes_on_the_shipped_configuration(capsys):
    assert main(["check"]) == 0
    assert capsys.readouterr().out == ("OK: 5 selection(s) valid under DPIA-WIJKSIGNAAL-2026-01 version 1.3, with 1 "
                                       "signal list(s) and their public count; "
                                       "6 purpose(s); sources, contracts and domains valid\n")


def test_check_lists_every_problem_and_fails(tmp_path, capsys):
    (tmp_path / "a-sel.yaml").write_text(
        "id: a-sel\ntitle: A\ndescription: d\npurpose: geheim\nowner: o\noutputs: [buurt_tables]\n"
        "criteria: {source: wmo}\n", encoding="utf-8")
    (tmp_path / "b-sel.yaml").write_text("id: b-sel\nkleur: rood\n", encoding="utf-8")
    assert main(["check", "--selections", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"{tmp_path}/a-sel.yaml:4: DPIA rule D1 (doel): purpose 'geheim' is not in the DPIA rules; "
                      "known purposes: kinderen-en-armoede, monitor-vroegsignalering, ouderen-zorg-en-geldzorgen, stapelingsmonitor, "
                      "vroeg-eropaf, vroegsignalering-inhoudingen")
    assert err[1] == (f"{tmp_path}/a-sel.yaml:1: DPIA rule D2 (goedkeuring): the selection has no approval (by whom, "
                      "when); it may not run")
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


@pytest.mark.parametrize("settings, problem", [
    ("gemeente: GM0164\nperiod: 2026-13\n", "2: period: Value error, must be YYYY-MM, e.g. 2026-10"),
    ("period: '2026-10'\ngemeente: GM9999\n",  # issue 11: a traceback before
     "2: gemeente: 'GM9999' is not a gemeente of the CBS indeling (cbs_buurten_2014.csv, 403 gemeenten)"),
])
def test_run_with_invalid_settings_names_file_and_line(tmp_path, capsys, settings, problem):
    p = tmp_path / "gemeente.yaml"
    p.write_text(settings + "sources_dir: s\nwork_dir: w\n", encoding="utf-8")
    assert main(["run", "--config", str(p)]) == 1
    assert capsys.readouterr().err == f"error: {p}:{problem}\nnothing was published\n"


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


# -- issue 11: every failure one clean line with a documented exit code ------------------------

def test_a_bad_period_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--config", "x.yaml", "--period", "2026-13"])
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "wijksignaal run: error: argument --period: '2026-13' is not a month: use YYYY-MM with a month 01-12, "
        "e.g. 2026-10")


def _selection_copy(tmp_path, name="inhouding-zonder-budgetbeheer"):
    folder = tmp_path / "selections"
    folder.mkdir()
    text = (SELECTIONS_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    return folder, folder / f"{name}.yaml", text


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(tmp_path, capsys):
    folder, path, text = _selection_copy(tmp_path)
    bomb = "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9) if i else 'lol'}]\n" for i in range(9))
    path.write_text(bomb + text, encoding="utf-8")
    assert len(bomb) < 500
    assert main(["check", "--selections", str(folder)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{path}: expands to more than 100,000 YAML nodes (through its aliases); refused")


def test_deeply_nested_criteria_are_refused_with_their_line(tmp_path, capsys):
    folder, path, text = _selection_copy(tmp_path)
    head, _, _ = text.partition("criteria:")
    nested = "criteria:\n" + "".join("  " * i + "  not:\n" for i in range(12)) + "  " * 12 + \
        "  source: uitkeringen\n"
    path.write_text(head + nested, encoding="utf-8")
    line = head.count("\n") + 1 + 12  # the innermost group
    assert main(["check", "--selections", str(folder)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{path}:{line}: criteria: groups (all/any/not) nested 12 levels deep; at most 8 are allowed")


def test_an_unknown_key_says_did_you_mean_with_the_yaml_names(tmp_path, capsys):
    folder, path, text = _selection_copy(tmp_path)
    path.write_text(text.replace("criteria:\n  all:", "criteria:\n  alle:"), encoding="utf-8")
    assert main(["check", "--selections", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "criteria.alle: unknown key 'alle'; did you mean 'all'? allowed: active, all, any, count, distinct, " \
           "duration_months, field, not, op, source, value, where, within_months" in err.replace("?; allowed", "? allowed")


def test_an_internal_error_is_one_line_without_its_text(monkeypatch, capsys):
    import pipelines.cli as cli

    def boom(args):
        raise ValueError("123456782 Jansen")  # as a library's message might quote a value

    monkeypatch.setattr(cli, "cmd_synth", boom)
    assert main(["synth", "--out", "x"]) == 70
    err = capsys.readouterr().err
    assert err == ("error: internal error (ValueError); nothing was published. Run again with -v for the traceback "
                   "and report it\n")


def test_init_writes_a_folder_to_adapt_and_check_reads_its_real_sources(sources, tmp_path, capsys):
    import shutil

    target = tmp_path / "gm"
    assert main(["init", str(target), "--gemeente", "GM0164"]) == 0
    assert {p.name for p in target.iterdir()} == {"gemeente.yaml", "config", "selections", "sources"}
    for f in sources.iterdir():
        shutil.copy(f, target / "sources")
    (target / "sources" / "wmo.csv").write_text("BSN,Productcategorie,Productcode,Ingangsdatum,Einddatum\n",
                                                 encoding="utf-8")
    capsys.readouterr()
    assert main(["check", "--config", str(target / "gemeente.yaml")]) == 1
    out = capsys.readouterr()
    assert "  quality gate empty-source (error): source 'wmo' (wmo.csv): no row could be loaded (the file(s) hold " \
           "no rows); its tables would say there is no wmo anywhere" in out.out.splitlines()
    assert out.err == "1 quality gate(s) would refuse the run\n"
    assert not (target / "work").exists()  # nothing loaded
    assert main(["init", str(target), "--gemeente", "GM0164"]) == 1


def test_through_prefect_a_gate_error_is_one_line_and_warnings_exit_3(prefect_server, sources_copy, key_file,
                                                                      tmp_path, capfd):
    wmo = sources_copy / "wmo.csv"
    full = wmo.read_text(encoding="utf-8")
    wmo.write_text(full.splitlines(keepends=True)[0], encoding="utf-8")
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    capfd.readouterr()
    assert main(["run", "--config", str(settings)]) == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "prefect" not in err.lower()
    assert err.endswith("error: quality gate empty-source (error): source 'wmo' (wmo.csv): no row could be loaded "
                        "(the file(s) hold no rows); its tables would say there is no wmo anywhere\n"
                        "nothing was published\n")
    assert not (tmp_path / "run" / "work" / "releases").exists()

    wmo.write_text(full, encoding="utf-8")
    uitkeringen = sources_copy / "uitkeringen.csv"
    uitkeringen.write_bytes(uitkeringen.read_bytes().replace(b";Ja\r\n", b";Nee\r\n").replace(b";Ja\n", b";Nee\n"))
    assert main(["run", "--config", str(settings)]) == 3
    out = capfd.readouterr()
    assert out.out.startswith("published GM0164-2026-10-")
    assert out.err.endswith("warning: quality gate unmatched-value: source 'uitkeringen', column 'budgetbeheer': no "
                            "loaded row holds 'Ja' (sources.yaml values); check how the export writes it\n")
