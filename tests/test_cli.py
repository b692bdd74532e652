"""The command line: exit codes and exact messages."""

from pathlib import Path

import pytest
from conftest import write_settings

from pipelines.cli import main
from pipelines.settings import SELECTIONS_DIR
from privacy.leakscan import nine_digit_numbers


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
def test_run_with_invalid_settings_names_file_and_line(tmp_path, capsys, monkeypatch, settings, problem):
    from pipelines import tempserver

    monkeypatch.setattr(tempserver, "_STATE", {})
    p = tmp_path / "gemeente.yaml"
    p.write_text(settings + "sources_dir: s\nwork_dir: w\n", encoding="utf-8")
    assert main(["run", "--config", str(p)]) == 1
    assert capsys.readouterr().err == f"error: {p}:{problem}\nnothing was published\n"
    assert not tempserver.started()  # no Prefect server was started for it (its exit would wait for it)


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


def test_flow_runs_on_the_temporary_server_send_no_heartbeats_nor_logs_and_against_a_server_as_configured(
        monkeypatch):
    """Prefect's heartbeat thread held up the end of every flow run by up to a second, its log thread
    took CPU from the run; on the temporary server, which dies with the process, nothing reads them."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from pipelines import tempserver

    monkeypatch.setattr(tempserver, "_STATE", {})  # none started: the flow's client starts Prefect's own
    with temporary_settings(updates={PREFECT_API_URL: None}), tempserver.settings():
        assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().logging.to_api.enabled is False
        assert get_current_settings().api.url is None
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        configured = get_current_settings().flows.heartbeat_frequency
        with tempserver.settings():
            assert get_current_settings().flows.heartbeat_frequency == configured is not None
            assert get_current_settings().logging.to_api.enabled is True
            assert get_current_settings().api.url == "http://127.0.0.1:4200/api"


def test_the_temporary_server_the_command_line_starts_is_prefects_and_stops_with_it(monkeypatch):
    """tempserver.py starts Prefect's server app itself, before the run imports Prefect; flow runs
    are pointed at it, and it is stopped at the end. With a server configured none is started."""
    import urllib.request

    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from pipelines import tempserver

    monkeypatch.setattr(tempserver, "_STATE", {})
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    tempserver.start()
    assert not tempserver.started()
    monkeypatch.delenv("PREFECT_API_URL")
    with temporary_settings(updates={PREFECT_API_URL: None}):
        tempserver.start()
        assert tempserver.started()
        process = tempserver._STATE["process"]
        try:
            with tempserver.settings():
                url = get_current_settings().api.url
                assert url == tempserver.api_url() and url.startswith("http://127.0.0.1:")
                assert get_current_settings().flows.heartbeat_frequency is None
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    assert response.status == 200
                with urllib.request.urlopen(f"{url}/admin/version", timeout=5) as response:
                    import prefect

                    assert response.read().decode().strip('"') == prefect.__version__.split("+")[0]
        finally:
            tempserver.stop()
        assert process.poll() is not None and not tempserver.started()


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


def test_a_refused_run_prints_the_refusal_as_an_error_and_the_lists_made_as_what_was_done(
        prefect_server, sources, key_file, tmp_path, capfd, monkeypatch):
    import pipelines.pipeline as pipeline
    from privacy.secondary import ProtectionFailed

    def refuse(*args, **kwargs):
        raise ProtectionFailed("2 small cell(s) are already shown to be below the threshold")

    monkeypatch.setattr(pipeline, "protect", refuse)
    settings = write_settings(tmp_path / "run", sources, key_file)
    capfd.readouterr()
    assert main(["run", "--config", str(settings)]) == 1
    assert capfd.readouterr().err.endswith(
        "error: 2 small cell(s) are already shown to be below the threshold\n"
        "the signal lists of 2026-10 were made all the same (outreach/2026-10 in the work directory): "
        "verse-achterstand-zorg-energie: 35 case(s) on 4 list(s)\n"
        "nothing was published\n")


# -- delivery and feedback (pipelines/monitor/delivery.py, feedback.py) ------------------------------------------


@pytest.fixture
def outcomes_work(release, sources, key_file, tmp_path):
    """A copy of the session release's work directory with outcomes imported for three cases:
    picked up with two contact attempts, "Niet opgepakt: andere reden", and one left open."""
    import json
    import shutil

    import duckdb

    from pipelines.monitor.intake import import_files
    from privacy.pseudonymise import hmac_python, uuid_of

    shutil.copytree(release["work"], tmp_path / "work", ignore=shutil.ignore_patterns(".lock"))
    settings = write_settings(tmp_path, sources, key_file)
    work = tmp_path / "work"
    key = key_file.read_bytes()
    con = duckdb.connect(str(work / "warehouse.duckdb"))
    try:
        case_of = dict(con.execute("SELECT CAST(sid AS VARCHAR), CAST(case_id AS VARCHAR) FROM case_signals "
                                   "WHERE period = '2026-10'").fetchall())
        ids: dict[str, list[str]] = {}
        for f in sorted(sources.glob("vroegsignalen_*.json")):
            for lev in json.loads(f.read_text(encoding="utf-8"))["leveringen"]:
                for s in lev["vroegsignalen"]:
                    case = case_of.get(uuid_of(hmac_python(key, "vs:" + s["ID"])))
                    if case:
                        ids.setdefault(case, []).append(s["ID"])
        cases = sorted(ids.values(), key=lambda v: (-len(v), v))
        base = {"startdatumMatchingperiode": "2026-10-01", "einddatumMatchingperiode": "2026-10-31"}
        zaken = [{"resultaat": "Vervolghulp en/of verwijzing financieel", **base, "datumOpgepakt": "2026-11-05",
                  "vroegsignalen": [{"ID": i} for i in cases[0]],
                  "contactpogingen": [{"soort": "Brief", "bereikt": False, "datum": "2026-11-05", "dagdeel": "Ochtend"},
                                      {"soort": "Huisbezoek", "bereikt": True, "datum": "2026-11-09"}]},
                 {"resultaat": "Niet opgepakt: andere reden", **base, "vroegsignalen": [{"ID": i} for i in cases[1]]}]
        doc = {"codeGegevensleverancier": "TEST", "startdatumLevering": "2026-10-01",
               "einddatumLevering": "2026-10-31", "aanleverdatumEnTijd": "2026-11-20T08:00:00Z",
               "leveringen": [{"teller": 1, "gemeentecode": "0164", "aanleverendeOrganisatie": {"naam": "Test"},
                               "vroegsignaalzaken": zaken}]}
        (tmp_path / "zaken.json").write_text(json.dumps(doc), encoding="utf-8")
        (r,) = import_files(con, work, [tmp_path / "zaken.json"], key)
        assert (r.imported, r.quarantined) == (2, 0)
        signals = con.execute("SELECT count(*) FROM vroegsignalen WHERE signaaldatum BETWEEN '2026-10-01' AND "
                              "'2026-10-31'").fetchone()[0]
        n_cases = con.execute("SELECT count(DISTINCT case_id) FROM case_signals WHERE period = '2026-10'").fetchone()[0]
    finally:
        con.close()
    return {"work": work, "settings": settings, "cases": cases, "signals": signals, "n_cases": n_cases}


def test_delivery_writes_the_months_ddas_file_again_with_the_same_bytes(outcomes_work, sources, capsys):
    import json

    from pipelines.ingest import ddas

    w = outcomes_work
    path = w["work"] / "levering" / "2026-10" / "ddas-v1.2-GM0164-2026-10.json"
    assert main(["delivery", "--config", str(w["settings"])]) == 0
    doc = json.loads(path.read_text(encoding="utf-8"))
    found = ddas.schema("1.2").check(doc)
    assert (found.file, found.signals) == ([], {})
    lev = doc["leveringen"][0]
    statuses: dict[str, int] = {}
    for s in lev["vroegsignalen"]:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    assert statuses["Opgepakt"] == len(w["cases"][0]) and statuses["Niet opgepakt: andere reden"] == len(w["cases"][1])
    shown = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    assert capsys.readouterr().out == (
        f"DDAS v1.2 delivery of GM0164 for 2026-10, valid against the v1.2 schema: {w['signals']} vroegsignalen "
        f"({shown}), {w['n_cases']} vroegsignaalzaken (1 picked up, 2 with an end result)\n  {path}\n"
        "not sent: the transport (Digikoppeling, PKIoverheid, JAdES signing) is outside wijksignaal\n")
    (picked,) = [z for z in lev["vroegsignaalzaken"] if "datumOpgepakt" in z]
    assert (picked["resultaat"], picked["datumOpgepakt"], picked["contactpogingen"]) == (
        "Vervolghulp en/of verwijzing financieel", "2026-11-05",
        [{"soort": "Brief", "bereikt": False, "datum": "2026-11-05", "dagdeel": "Ochtend"},
         {"soort": "Huisbezoek", "bereikt": True, "datum": "2026-11-09"}])
    assert sorted(s["ID"] for s in picked["vroegsignalen"]) == sorted(w["cases"][0])
    first = path.read_bytes()
    assert main(["delivery", "--config", str(w["settings"]), "--period", "2026-10"]) == 0
    assert path.read_bytes() == first
    # personal data: each client by BSN alone (the v0.9 sources give one), no name, birth date or street
    assert {tuple(s["client"]) for s in lev["vroegsignalen"]} == {("burgerservicenummer",)}
    v09 = [s["client"] for f in sorted(sources.glob("vroegsignalen_*.json"))
           for le in json.loads(f.read_text(encoding="utf-8"))["leveringen"] for s in le["vroegsignalen"]]
    for value in {c[k] for c in v09[:200] for k in ("Achternaam", "Straatnaam", "Geboortedatum")}:
        assert value.encode() not in first
    log = [json.loads(x) for x in (w["work"] / "toegang.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["action"], e["purpose"], e["output"], e["period"]) for e in log[-2:]] == \
        [("reading", "vroeg-eropaf", "ddas_delivery", "2026-10"), ("read", "vroeg-eropaf", "ddas_delivery", "2026-10")]
    assert log[-1]["signals"] == w["signals"] and not any(i.encode() in (w["work"] / "toegang.jsonl").read_bytes()
                                                          for i in w["cases"][0])


def test_feedback_tells_each_partner_only_picked_up_or_not(outcomes_work, source_bsns, capsys):
    import json

    w = outcomes_work
    assert main(["feedback", "--config", str(w["settings"])]) == 0
    out = capsys.readouterr().out
    folder = w["work"] / "terugkoppeling" / "2026-10"
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.iterdir())}
    answers = {s["ID"]: s for d in docs.values() for s in d["signalen"]}
    assert len(answers) == w["signals"]
    assert {answers[i]["opgepakt"] for i in w["cases"][0]} == {"ja"}
    assert {answers[i]["opgepakt"] for i in w["cases"][1]} == {"nee"}
    assert {k for s in answers.values() for k in s} == {"ID", "opgepakt"}  # no result here is told back
    lines = [f"  {d['signaalpartner']}: {len(d['signalen'])} signal(s): {folder / name}"
             for name, d in sorted(docs.items(), key=lambda kv: kv[1]["signaalpartner"])]
    n_ja, n_nee = len(w["cases"][0]), len(w["cases"][1])
    assert out == (f"feedback for 2026-10: {w['signals']} signal(s) of {len(docs)} signal partner(s): picked up "
                   f"{n_ja} ja, {n_nee} nee, {w['signals'] - n_ja - n_nee} nog niet; 0 with the end result the DDAS "
                   "definitions tell back\n" + "\n".join(lines) + "\n")
    blob = b"".join(p.read_bytes() for p in sorted(folder.iterdir()))
    for text in ("Niet opgepakt", "andere reden", "Vervolghulp", "Huisbezoek", "2026-11-05"):
        assert text.encode() not in blob
    assert not nine_digit_numbers(blob.decode("utf-8")) & source_bsns


def test_delivery_and_feedback_are_refused_without_a_dpia_purpose_for_them(sources, key_file, tmp_path, capsys):
    import json
    import shutil

    from pipelines.settings import CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("reference"))
    dpia = config / "dpia.yaml"
    dpia.write_text(dpia.read_text(encoding="utf-8").replace(", ddas_delivery, partner_feedback]", "]"),
                    encoding="utf-8")
    settings = write_settings(tmp_path, sources, key_file, config_dir=config)
    for verb, output in (("delivery", "ddas_delivery"), ("feedback", "partner_feedback")):
        assert main([verb, "--config", str(settings)]) == 1
        assert capsys.readouterr().err == (
            f"error: no DPIA purpose allows output {output} (config/dpia.yaml, allowed_outputs): the signal IDs are "
            f"read again from the source files only under such a purpose\nno {verb} was written\n")
        last = json.loads((tmp_path / "work" / "toegang.jsonl").read_text(encoding="utf-8").splitlines()[-1])
        assert (last["action"], last["output"], last["purpose"]) == ("refused", output, None)
    assert not (tmp_path / "work" / "levering").exists() and not (tmp_path / "work" / "terugkoppeling").exists()


def test_delivery_and_feedback_without_a_warehouse_usage_and_busy(sources, key_file, tmp_path, capsys):
    import fcntl
    import json
    import os

    from pipelines.workdir import describe

    settings = write_settings(tmp_path, sources, key_file)
    warehouse = (tmp_path / "work" / "warehouse.duckdb").resolve()
    for verb in ("delivery", "feedback"):
        assert main([verb, "--config", str(settings)]) == 1
        assert capsys.readouterr().err == (f"error: {warehouse}: no warehouse: run wijksignaal run first\n"
                                           f"no {verb} was written\n")
        for argv in ([verb], [verb, "--config", str(settings), "--period", "2026-13"]):
            with pytest.raises(SystemExit) as usage:
                main(argv)
            assert usage.value.code == 2
        capsys.readouterr()
        info = {"pid": 1, "host": "h", "command": "run", "period": "2026-10", "since": "2026-11-01T00:00:00Z"}
        fd = os.open(tmp_path / "work" / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.write(fd, json.dumps(info).encode())
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert main([verb, "--config", str(settings)]) == 75
        finally:
            os.close(fd)
        assert capsys.readouterr().err == (f"error: work directory {(tmp_path / 'work').resolve()} is in use by "
                                           f"another wijksignaal {describe(info)}; try again when it has finished\n")


@pytest.mark.parametrize("argv", [["-v", "check"], ["check", "-v"], ["ledger", "-v", "verify", "--work", "w"],
                                  ["ledger", "verify", "--work", "w", "--verbose"]])
def test_verbose_before_or_after_the_verb(argv):
    """The messages say `wijksignaal run --config <its settings> -v`: -v works after the verb too."""
    from pipelines.cli import parser

    assert parser().parse_args(argv).verbose is True
    assert parser().parse_args([a for a in argv if a not in ("-v", "--verbose")]).verbose is False


def test_check_names_every_source_file_that_cannot_be_read(sources_copy, key_file, tmp_path, capsys):
    """`check --config` (and a run's preflight) names every unreadable file, not only the first."""
    (sources_copy / "wmo.csv").unlink()
    brp = sources_copy / "brp.csv"
    brp.write_bytes(brp.read_bytes().replace(b"Buurtcode", b"Wijk", 1))
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    assert main(["check", "--config", str(settings)]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: source 'brp', file {brp}: missing column(s) 'Buurtcode' (the header has")
    assert lines[1] == f"error: source 'wmo', file {sources_copy}/wmo.csv: file not found"


def test_check_config_counts_the_selections_as_check_does(sources, key_file, tmp_path, capsys):
    settings = write_settings(tmp_path / "run", sources, key_file)
    assert main(["check", "--config", str(settings), "--sample", "100"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "OK: configuration valid; 5 selection(s), with 1 signal list(s) and their public count; source files readable")
