"""The outreach stage: the signal lists a wijkteam receives (Wgs vroegsignalering).

For every selection that asks for `signal_list` (the DPIA rules have already refused those
whose purpose does not allow it, rule D5): the month's signals are matched into cases (one
per address: cases.py) and triaged (triage.py: team, action, priority, deadline, expiry);
the cases of the selection's households are listed per team, with names and address from
the identity vault (privacy/vault.py), opened for that selection and purpose only, every
opening logged. A list names the persons of the case's signals, their address, the reasons
in plain Dutch (which triage rules hold, which partners, amounts and dates), the action and
the deadline, and leaves columns for the team to fill in (DDAS v1.2 contact kinds and end
results, as drop-downs), read back by the outcomes stage. No BSN is on a list.

Lists are written to `<work>/outreach/<period>/<selection>/` (folders 0700, files 0600),
never into the public release: a printable HTML page and an XLSX per team.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import logging
import os
from dataclasses import asdict
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pandas as pd
import xlsxwriter

from pipelines.outreach.sql import sql, statements
from pipelines.settings import REFERENCE_DIR
from privacy.ledger import write_all

log = logging.getLogger("wijksignaal.outreach")

SIGNAL_LIST = "signal_list"
ACTION_NL = {"brief": "brief", "telefoon": "telefoon", "huisbezoek": "huisbezoek", "geen_actie": "geen actie"}
FILL_IN = ["datum_opgepakt", "contactsoort", "contactdatum", "bereikt", "resultaat", "toelichting"]


def ddas_choices(schema_file: Path) -> dict[str, list[str]]:
    """The drop-down values of the fill-in columns: DDAS v1.2's contact kinds and end results."""
    defs = json.loads(schema_file.read_text(encoding="utf-8"))["$defs"]
    return {"contactsoort": list(defs["EnumContactsoort"]["enum"]), "resultaat": list(defs["EnumEindresultaat"]["enum"]),
            "bereikt": ["ja", "nee"]}


def selected_cases(con: duckdb.DuckDBPyConnection, period: str, members_sql: str, params: list) -> pd.DataFrame:
    """The month's triaged cases of the selection's households (`members_sql`: their hids)."""
    return con.execute(sql("list_cases").replace("{members}", members_sql), [*params, period]).df()


def record_listed(con: duckdb.DuckDBPyConnection, period: str, selection: str, case_ids: list[str]) -> None:
    """Which cases are on the selection's lists this month (case_lists: the monitor's "op een signaallijst")."""
    con.register("listed", pd.DataFrame({"case_id": pd.Series(case_ids, dtype=object)}))
    try:
        for statement, values in statements("case_lists_record", {"period": period, "selection": selection}):
            con.execute(statement, values)
    finally:
        con.unregister("listed")


def signals_of(con: duckdb.DuckDBPyConnection, period: str, case_ids: list[str]) -> pd.DataFrame:
    con.register("listed_cases", pd.DataFrame({"case_id": case_ids}))
    try:
        return con.execute(sql("list_signals"), [period]).df()
    finally:
        con.unregister("listed_cases")


def _name(person: dict | None) -> str:
    if not person:
        return "(niet in de identiteitskluis)"
    return " ".join(p for p in (person.get("voornamen"), person.get("geslachtsnaam")) if p) or "(naam niet op de lijst)"


def _address(record: dict | None) -> tuple[str, str]:
    if not record:
        return "(adres niet in de identiteitskluis)", ""
    return (f"{record.get('straat') or ''} {record.get('huisnummer') or ''}".strip(),
            f"{record.get('postcode') or ''} {record.get('woonplaats') or ''}".strip())


def allowed_only(records: list[dict], fields: list[str]) -> list[dict]:
    """The vault's records reduced to what the purpose lets a list show (DPIA signal_list_fields)."""
    keep = {"pid", "hid", *fields}
    return [{k: v for k, v in r.items() if k in keep} for r in records]


def reference(key: bytes, case_id: str) -> str:
    """The case's reference on a list: keyed with the vault's key (HMAC-SHA256, 10 hex), so that
    the list cannot be joined to the warehouse's case ids without it; the outcomes read-back
    computes it again to find the case."""
    return hmac.new(key, f"zaak:{case_id}".encode(), hashlib.sha256).hexdigest()[:10]


def _euro(amount: Any) -> str:
    return "onbekend" if amount is None or pd.isna(amount) else f"€ {int(amount):,}".replace(",", ".")


def _date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d-%m-%Y")


def build_cases(cases: pd.DataFrame, signals: pd.DataFrame, persons: dict[str, dict], homes: dict[str, dict],
                rule_text: dict[str, str], defaults: set[str], ref) -> list[dict]:
    """`defaults`: the triage rules without conditions (they hold for every case: a reason only
    where they decided); `ref`: case id -> its reference on the list."""
    """One dict per case, as the list shows it (sorted: priority, deadline, address)."""
    by_case: dict[str, list[dict]] = {}
    for s in signals.to_dict("records"):
        by_case.setdefault(str(s["case_id"]), []).append(s)
    out = []
    for c in cases.to_dict("records"):
        cid = str(c["case_id"])
        sigs = sorted(by_case.get(cid, []), key=lambda s: (pd.Timestamp(s["signaaldatum"]), s["signaalpartner"]))
        street, town = _address(homes.get(str(c["hid"])))
        names = sorted({_name(persons.get(str(s["pid"]))) for s in sigs if s["pid"] is not None and not pd.isna(s["pid"])})
        reasons = [rule_text.get(r, r) for r in c["rules_fired"] if r not in defaults or r == c["rule"]]
        out.append({
            "zaak": ref(cid), "team": c["team"], "actie": ACTION_NL.get(c["action"], c["action"]),
            "prioriteit": int(c["priority"]), "termijn": _date(c["deadline"]), "loopt_tot": _date(c["expires"]),
            "namen": "; ".join(names) or "(onbekend)", "adres": street, "plaats": town, "buurt": c["buurtcode"],
            "redenen": reasons, "regel": c["rule"],
            "signalen": [{"partner": s["signaalpartner"], "bedrag": _euro(s["bedrag"]), "datum": _date(s["signaaldatum"]),
                          "crisis": bool(s["crisissignaal"]), "herhaald": bool(s["herhaalde_melding"])} for s in sigs],
            "kenmerken": [k for k, v in (("meervoudig", c["meervoudig"]), ("opeenvolgend", c["opeenvolgend"]),
                                        ("crisis", c["crisis"]), ("herhaalde melding", c["herhaalde_melding"])) if v],
            "_sort": (int(c["priority"]), str(c["deadline"]), street),
        })
    return sorted(out, key=lambda x: x["_sort"])


def notice_lines(context: dict) -> list[str]:
    """What a list says of itself: who may see it, under which basis and DPIA, until when."""
    sel = context["selection"]
    return [
        "Vertrouwelijk: persoonsgegevens voor vroegsignalering van schulden (Wgs art. 3a).",
        f"Alleen voor {context['team']}; niet doorsturen. Geen burgerservicenummer op deze lijst.",
        f"Doel: {sel['purpose_title']} ({sel['purpose']}). Grondslag: {sel['legal_basis']} {sel['link']}",
        f"DPIA: {sel['dpia']}. Selectie: {sel['title']} ({sel['id']}), goedgekeurd door {sel['approval']}.",
        "Bewaren: een zaak niet langer dan tot de datum in 'loopt tot'; daarna deze lijst verwijderen. De "
        "ingevulde kolommen (opgepakt, contact, resultaat) worden teruggelezen voor de monitor en de DDAS-levering.",
    ]


def write_html(path: Path, context: dict) -> None:
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files("pipelines.outreach").joinpath("templates", "list.html.j2")
                               .read_text(encoding="utf-8"))
    _write(path, template.render(**context).encode("utf-8"))


def workbook(context: dict, choices: dict[str, list[str]]) -> bytes:
    """The list as XLSX: one row per case, the fill-in columns with drop-downs (a hidden sheet
    holds the DDAS v1.2 values). The creation date is the period's first day: same list, same bytes."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    wb.set_properties({"title": context["title"], "created": datetime.fromisoformat(context["period"] + "-01"),
                       "author": "wijksignaal"})
    head = wb.add_format({"bold": True, "bg_color": "#DDDDDD", "text_wrap": True, "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    fill = wb.add_format({"bg_color": "#FFF7D6", "valign": "top"})
    ws = wb.add_worksheet("Lijst")
    notice = wb.add_worksheet("Vertrouwelijk")
    for row, line in enumerate(notice_lines(context)):
        notice.write(row, 0, line, head if row == 0 else None)
    notice.set_column(0, 0, 120)
    ws.set_header("&L&\"Calibri,Bold\"Vertrouwelijk: signaallijst vroegsignalering (Wgs art. 3a)&R" + context["team"])
    lists = wb.add_worksheet("Keuzelijsten")
    for col, (key, values) in enumerate(choices.items()):
        lists.write(0, col, key, head)
        for row, v in enumerate(values, start=1):
            lists.write(row, col, v)
    lists.hide()
    columns = ["zaak", "prioriteit", "actie", "termijn", "namen", "adres", "plaats", "buurt", "redenen", "signalen",
               "loopt_tot", *FILL_IN]
    widths = {"namen": 28, "adres": 24, "plaats": 20, "redenen": 50, "signalen": 44, "resultaat": 36, "toelichting": 40}
    for col, name in enumerate(columns):
        ws.write(0, col, name.replace("_", " "), head)
        ws.set_column(col, col, widths.get(name, 13))
    for row, c in enumerate(context["cases"], start=1):
        values = {**c, "redenen": "\n".join(c["redenen"]),
                  "signalen": "\n".join(f"{s['datum']} {s['partner']} {s['bedrag']}" + (" (crisis)" if s["crisis"] else "")
                                        + (" (herhaald)" if s["herhaald"] else "") for s in c["signalen"])}
        for col, name in enumerate(columns):
            if name in FILL_IN:
                ws.write_blank(row, col, None, fill)
            else:
                ws.write(row, col, values[name], wrap)
    last = max(len(context["cases"]), 1)
    for name, values in choices.items():
        col = columns.index(name)
        letter = chr(ord("A") + list(choices).index(name))
        ws.data_validation(1, col, last, col, {"validate": "list", "source": f"=Keuzelijsten!${letter}$2:${letter}$"
                                                                              f"{len(values) + 1}"})
    for name in ("datum_opgepakt", "contactdatum"):
        col = columns.index(name)
        ws.data_validation(1, col, last, col, {"validate": "date", "criteria": ">=",
                                               "value": datetime.fromisoformat(context["period"] + "-01"),
                                               "input_message": "dd-mm-jjjj"})
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, last, len(columns) - 1)
    wb.close()
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    """Written owner-only (0600) in an owner-only folder (0700), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.chmod(0o600)


NO_LISTS = "no signal lists for "  # how the reason begins when the stage makes none (pipeline.is_lists_line)
KEPT = ".ingevuld"  # `<team>.ingevuld.xlsx`: a list filled in where it was made, kept when the lists are made again


def filled_in(path: Path) -> bool:
    """Whether a list's fill-in columns hold anything (read with openpyxl, in memory only: its names and
    addresses go nowhere)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # not a workbook we can read: keep it rather than lose what it may hold
        return True
    try:
        ws = wb["Lijst"] if "Lijst" in wb.sheetnames else None
        if ws is None:
            return True
        rows = ws.iter_rows(values_only=True)
        head = [str(h or "").replace(" ", "_") for h in next(rows, ())]
        cols = [i for i, h in enumerate(head) if h in FILL_IN]
        return any(any(r[i] not in (None, "") for i in cols if i < len(r)) for r in rows)
    finally:
        wb.close()


def _keep(path: Path) -> Path:
    """A filled-in list moved aside under a name no later list takes (`<team>.ingevuld[-N].xlsx`)."""
    n, target = 1, path.with_name(f"{path.stem}{KEPT}.xlsx")
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}{KEPT}-{n}.xlsx")
    path.rename(target)
    return target


def write_lists(folder: Path, period: str, gemeente: str, selection: dict, teams: dict[str, str], cases: list[dict],
                choices: dict[str, list[str]]) -> list[Path]:
    """Per team with cases, `<team>.html` and `<team>.xlsx` in `folder`, replacing the lists made before;
    a list that was filled in where it lies is kept (`<team>.ingevuld.xlsx`), never overwritten."""
    if folder.exists():
        for p in folder.iterdir():
            if KEPT in p.name:
                continue
            if p.suffix == ".xlsx" and filled_in(p):
                log.warning("outreach: %s was filled in where it was made: kept as %s (import it with wijksignaal "
                            "outcomes; fill in a copy next time)", p.name, _keep(p).name)
                continue
            p.unlink()
    written = []
    for team in sorted({c["team"] for c in cases}):
        context = {"title": f"Signaallijst {teams.get(team, team)} – {period}", "period": period, "gemeente": gemeente,
                   "team": teams.get(team, team), "selection": selection,
                   "cases": [c for c in cases if c["team"] == team], "choices": choices}
        context["notice"] = notice_lines(context)
        html, xlsx = folder / f"{team}.html", folder / f"{team}.xlsx"
        write_html(html, context)
        _write(xlsx, workbook(context, choices))
        written += [html, xlsx]
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return written


def _teams_for(run: Any, con: duckdb.DuckDBPyConnection):
    """The gemeente's wijkteams (teams.yaml). A teams.yaml made for another gemeente (the shipped
    one is Hengelo's) gives one list for the whole gemeente, and says so."""
    from pipelines.outreach.triage import LoadedTeams, Team, Teams, load_teams

    loaded = load_teams(run.config_dir / "teams.yaml")
    gemeente = run.settings.gemeente
    if loaded.teams.gemeente == gemeente:
        return loaded, None
    if gemeente == "NL":  # the country in one run (a benchmark): one list per gemeente
        by: dict[str, list[str]] = {}
        for gm, wijk in con.execute("SELECT DISTINCT gemeentecode, wijkcode FROM buurten ORDER BY 1, 2").fetchall():
            by.setdefault(gm, []).append(wijk)
        teams = Teams(gemeente="NL", teams={gm.lower(): Team(name=f"Vroegsignalering {gm}", wijken=w)
                                             for gm, w in by.items()})
        note = "the country run (gemeente NL): one list per gemeente, team = gemeente"
        return LoadedTeams(teams, loaded.path, loaded.version, loaded.doc), note
    wijken = [w for (w,) in con.execute("SELECT DISTINCT wijkcode FROM buurten WHERE gemeentecode = ? ORDER BY 1",
                                        [gemeente]).fetchall()]
    teams = Teams(gemeente=gemeente, teams={"gemeente": Team(name=f"Vroegsignalering {gemeente}", wijken=wijken)})
    note = (f"{loaded.path}: teams of {loaded.teams.gemeente}, not of {gemeente}: every case of {gemeente} is on one "
            "list (team 'gemeente'); give the gemeente's own teams.yaml to split the lists per wijkteam")
    return LoadedTeams(teams, loaded.path, loaded.version, loaded.doc), note


def newest_matched(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest month whose cases are matched in this warehouse, if any."""
    try:
        return con.execute("SELECT max(period) FROM case_matching").fetchone()[0]  # type: ignore[index]
    except duckdb.CatalogException:
        return None


def run_outreach(run: Any) -> dict:
    """The outreach stage of a run (pipeline.stage_outreach): match, triage, list. Returns counts
    only (a Prefect task result; no identity, no pseudonym)."""
    from pipelines.outreach.cases import match_cases
    from pipelines.outreach.deadlines import load_terms
    from pipelines.outreach.triage import load_triage, triage_cases
    from privacy.vault import open_vault

    wanted = [s for s in run.selections if SIGNAL_LIST in s.selection.outputs]
    if not wanted:
        return {"lists": [], "reason": "no selection asks for signal_list"}
    con = run.connect()
    try:
        terms = load_terms(run.config_dir / "terms.yaml")
        triage = load_triage(run.config_dir / "triage.yaml", terms)
        teams, note = _teams_for(run, con)
        if note:
            log.warning("%s", note)
        later = newest_matched(con)
        if later is not None and later > run.period:
            why = (f"{NO_LISTS}{run.period}: the cases of {later} are matched already, and the lists of a "
                   "month are made while it is the newest (matching an earlier month again would change the cases "
                   "later lists were built on)")
            log.warning("%s", why)
            return {"period": run.period, "lists": [], "reason": why}
        matching = match_cases(con, run.period)
        triaged = triage_cases(con, run.period, triage, teams, terms)
        rule_text = {r.id: " ".join(r.description.split()) for r in triage.triage.rules}
        defaults = {r.id for r in triage.triage.rules if r.when.is_empty()}
        team_names = {k: t.name for k, t in teams.teams.teams.items()}
        choices = ddas_choices(REFERENCE_DIR / "ddas" / "v1.2" / "json_schema_Uitwisselmodel.json")
        out = []
        for loaded in sorted(wanted, key=lambda s: s.selection.id):
            sel = loaded.selection
            base, where, params, _ = loaded.from_where(run.period)
            members = f"SELECT DISTINCT h.hid FROM {base} WHERE {where}"  # a person selection: their households
            cases = selected_cases(con, run.period, members, params)
            case_ids = [str(c) for c in cases.case_id]
            record_listed(con, run.period, sel.id, case_ids)
            signals = signals_of(con, run.period, case_ids)
            purpose = run.dpia.purposes[sel.purpose]
            key = run.vault_key(create=False)
            context = {"period": run.period, "selection_version": loaded.version[:12],
                       "dpia": f"{run.dpia.dpia.id} {run.dpia.dpia.version}",
                       "fields": ", ".join(purpose.signal_list_fields)}
            with open_vault(run.vault_file, key, purpose_id=sel.purpose, purpose_outputs=purpose.allowed_outputs,
                            selection=sel.id, access_log=run.vault_log, context=context) as vault:
                pids = sorted({str(p) for p in signals.pid if p is not None and not pd.isna(p)})
                shown = purpose.signal_list_fields
                persons = {r["pid"]: r for r in allowed_only(vault.lookup(pids=pids).to_pylist(), shown)} if pids else {}
                hids = sorted({str(h) for h in cases.hid})
                homes: dict[str, dict] = {}
                for r in (allowed_only(vault.lookup(hids=hids).to_pylist(), shown) if hids else []):
                    homes.setdefault(r["hid"], r)
            rows = build_cases(cases, signals, persons, homes, rule_text, defaults,
                               functools.partial(reference, key))
            folder = run.work_dir / "outreach" / run.period / sel.id
            about = {"id": sel.id, "title": sel.title, "purpose": sel.purpose, "purpose_title": purpose.title,
                     "legal_basis": " ".join(purpose.legal_basis.text.split()), "link": purpose.legal_basis.link,
                     "dpia": f"{run.dpia.dpia.id} versie {run.dpia.dpia.version}",
                     "approval": f"{sel.approval.by}, {sel.approval.date}" if sel.approval else "geen"}
            files = write_lists(folder, run.period, run.settings.gemeente, about, team_names, rows, choices)
            by_team: dict[str, int] = {}
            for r in rows:
                by_team[r["team"]] = by_team.get(r["team"], 0) + 1
            out.append({"selection": sel.id, "purpose": sel.purpose, "cases": len(rows), "by_team": dict(sorted(by_team.items())),
                        "files": [str(f.relative_to(run.work_dir)) for f in files]})
            log.info("outreach: %s: %d case(s) on %d list(s)", sel.id, len(rows), len(files) // 2)
        summary = {"period": run.period, "matching": asdict(matching), "triage": {"cases": triaged.cases, "by_action": triaged.by_action,
                                               "by_team": triaged.by_team, "by_rule": triaged.by_rule},
                   "teams": {"file": teams.path.name, "note": note, "used": sorted(team_names)}, "lists": out}
        _write(run.work_dir / "outreach" / run.period / "summary.json",
               (json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
        return summary
    finally:
        con.close()
