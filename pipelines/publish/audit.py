"""audit.json: assembled where the release is. Every line of it states what this run did, under
which rules, with which inputs (no personal data: counts, hashes, rule ids, definitions)."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version as pkg_version
from typing import TYPE_CHECKING

from pipelines import geography
from pipelines.configfile import file_sha256
from pipelines.link.domains import Domains
from pipelines.periods import period_bounds
from pipelines.publish import release_id
from pipelines.retention import audit_section
from pipelines.tabulate import STAPELING, category_order, category_tree
from privacy.rules import rulebook_table

if TYPE_CHECKING:
    from pipelines.pipeline import Run


def table_descriptions(domains: Domains) -> dict[str, str]:
    """audit.json's descriptions of the standard tables."""
    return {
        "stapeling": f"households by number of problem domains ({', '.join(domains.ids)}): "
                     f"{', '.join(STAPELING)} (2+ = 2 + 3+)",
        "combinaties": "households by combination of problem domains; totaal = households with at least one domain",
    }


def rules_of(run: Run) -> dict:
    cfg = run.config_dir
    return {
        "dpia": {"id": run.dpia.dpia.id, "version": run.dpia.dpia.version, "sha256": file_sha256(cfg / "dpia.yaml"),
                 "approval": {"by": run.dpia.dpia.approval.by, "date": str(run.dpia.dpia.approval.date)},
                 "rulebook": rulebook_table(run.dpia.rulebook),
                 "rule_modules": {m: file_sha256(cfg / m) for m in run.dpia.rule_modules}},
        "sources_yaml_sha256": file_sha256(cfg / "sources.yaml"),
        "contracts": {s: file_sha256(cfg / run.sources.sources[s].contract) for s in run.source_ids},
        "domains": run.domains.audit_rules(run.settings.achterstand_lookback_months),
        "selections": [
            {"id": s.selection.id, "title": s.selection.title, "version": s.version, "purpose": s.selection.purpose,
             "owner": s.selection.owner,
             "approval": {"by": s.selection.approval.by, "date": str(s.selection.approval.date)},
             "threshold": run.dpia.threshold(s.selection.purpose, s.selection.min_cell_size),
             "dpia_rules_passed": [r.id for r in run.dpia.rulebook],
             "definition": s.selection.model_dump(mode="json", by_alias=True, exclude_none=True)}
            for s in sorted(run.selections, key=lambda s: s.selection.id)
        ],
    }


def _inputs(accounts: dict[str, dict]) -> list[dict]:
    return [dict(source=s, **f) for s, a in accounts.items() for f in a["files"]]


def base_fingerprint(run: Run, accounts: dict[str, dict], rules: dict | None = None, monitor: dict | None = None,
                     earlier_months: list | None = None) -> str:
    """A hash of everything that shapes a release except the earlier releases it is protected
    against: inputs, rules, settings, software, the monitor's facts (`monitor`: its summary,
    monitor/indicators.py) when it has one, and the earlier months' releases its audit.json lists
    (`earlier_months`: protect.earlier_months)."""
    fingerprint = {"inputs": [(i["source"], i["name"], i["sha256"]) for i in _inputs(accounts)],
                   "rules": rules or rules_of(run),
                   "settings": {"gemeente": run.settings.gemeente, "period": run.period,
                                "lookback": run.settings.achterstand_lookback_months},
                   "software": pkg_version("wijksignaal")}
    if monitor is not None:
        fingerprint["monitor"] = monitor["facts_sha256"]
        if monitor.get("earlier_months"):  # what the audit took as known of earlier months (Across months)
            fingerprint["monitor_earlier_months"] = monitor["earlier_months"]
    if earlier_months:
        fingerprint["earlier_months"] = earlier_months
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode("utf-8")).hexdigest()


def this_release_id(run: Run, base: str, protected_against: list[str]) -> str:
    """The id of the release: a hash of its base fingerprint and of the earlier releases it was
    protected against, so anything that shapes its tables changes it."""
    return release_id(run.settings.gemeente, run.period, {"base": base, "protected_against": sorted(protected_against)})


def quality_gates(run: Run, accounts: dict[str, dict]) -> dict:
    """audit.json's `quality_gates`: the gates of every source and the warnings they gave (a gate
    at level error stops the run before anything is published, so none appears here)."""
    warnings = [g for a in accounts.values() for g in a.get("gates", [])]
    return {
        "rule": "error: the run is refused; warning: published with the warning here, in the report and exit code 3",
        "gates": {s: run.gates(s).model_dump(mode="json") for s in accounts},
        "warnings": warnings,
        "passed": not warnings,
    }


def monitor_section(run: Run, monitor: dict, release_id: str) -> tuple[dict, dict]:
    """(audit.json `monitor`, the `tables` entries of the monitor tables); `fixed_by`: the release
    whose stored facts the monitor is (this one, when it publishes the month's monitor first)."""
    from pipelines.monitor.indicators import ACCEPTED, PARTITIONS, TABLES, indicators, partner_types

    found = indicators(partner_types(run.sources))
    tables = {}
    for table, description in TABLES.items():
        mine = [i for i in found if i.table == table]
        cats = [i.category for i in mine]
        tables[table] = {"description": description, "categories": cats, "unit": "huishoudens",
                         "levels": monitor["levels"],
                         "category_descriptions": {i.category: i.description for i in mine},
                         "sums": {"totaal": [c for c in cats if c != "totaal"]} if table in PARTITIONS else {}}
    section = {**{k: v for k, v in monitor.items() if k != "frozen_by"}, "fixed_by": monitor["frozen_by"] or release_id,
               "accepted_help": list(ACCEPTED),
               "rule": "the first release of a month that publishes its monitor stores the households' monitor facts "
                       "(monitor_snapshots, pseudonyms only); every later release of the month tabulates the monitor "
                       "from them, so its cells equal the published ones and no difference of two releases counts "
                       "the households whose outcome changed in between",
               "across_months": "the monitor cells that earlier months published (earlier_months) are known to the "
                                "audit as sums of this month's atoms, split by those months' facts (their monitor "
                                "snapshots); what is protected is every group of this month's definitions. Not "
                                "modelled: what an earlier month's other tables tell about its suppressed monitor "
                                "cells, and the earlier months' other tables themselves (README, Monitor "
                                "vroegsignalering, Across months)",
               "sources": ["cases, case_triage (outreach: one case per address, Wgs art. 3a)",
                           "case_outcomes, case_contacts (wijksignaal outcomes: signal lists and DDAS v1.2 "
                           "vroegsignaalzaken)"]}
    return section, tables


def build_audit(run: Run, accounts: dict[str, dict], linking: dict, protection: dict,
                retention: dict | None = None, monitor: dict | None = None) -> dict:
    b = run.buurten()
    the_rules = rules_of(run)
    accounting = {
        s: {"rows_read": a["rows_read"], "rows_loaded": a["rows_loaded"], "rows_quarantined": a["rows_quarantined"],
            "holds": a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"],
            "quarantined_by_rule": a["quarantined_by_rule"], "columns_not_read": a["columns_not_read"]}
        for s, a in accounts.items()
    }
    inputs = _inputs(accounts)
    bounds = period_bounds(run.period, run.settings.achterstand_lookback_months)
    synthetic = (run.sources_dir / "synth_manifest.json").exists()
    gemeente = run.settings.gemeente
    # the same base protect.protect matched earlier releases by: with the earlier months it lists
    base = base_fingerprint(run, accounts, the_rules, monitor,
                            protection["earlier_releases"].get("earlier_months", {}).get("months"))
    against = protection["earlier_releases"]["releases"]
    rid = this_release_id(run, base, against)
    section, monitor_tables = monitor_section(run, monitor, rid) if monitor is not None else (None, {})
    return {
        "format": "wijksignaal-audit/1",
        "release_id": rid,
        "fingerprint": {"base": base, "protected_against": against,
                        "rule": "release_id = gemeente-period-hash(base, protected_against); base = hash(inputs, rules, "
                                "settings, software, the monitor's facts and the earlier months' releases listed in "
                                "disclosure.earlier_releases.earlier_months)"},
        "gemeente": {"code": gemeente, "name": geography.gemeente_name(gemeente), "buurten": int(len(b)),
                     "wijken": int(b.wijkcode.nunique())},
        "period": run.period,
        "synthetic": synthetic,
        "software": {p: pkg_version(p) for p in ("wijksignaal", "duckdb", "great_expectations", "prefect", "pandas")},
        "inputs": inputs,
        "rules": the_rules,
        "row_accounting": accounting,
        "data_quality": {s: a["contract"] for s, a in accounts.items()},
        "quality_gates": quality_gates(run, accounts),
        "linking": {k: v for k, v in linking.items() if k != "seconds"},
        "definitions": {
            "unit": "huishouden (BRP household / address)",
            "period_end": str(bounds["period_end"]),
            **run.domains.definitions(bounds, run.settings.achterstand_lookback_months),
            "achterstand_lookback_months": run.settings.achterstand_lookback_months,
        },
        "tables": {
            **{t: {"description": d, "categories": list(category_order(t, run.domains.ids)),
                   "sums": category_tree(t, run.domains.ids)}
               for t, d in table_descriptions(run.domains).items()},
            **{f"selectie:{s.selection.id}": {"description": s.selection.title, "categories": ["totaal"],
                                              "explanation": " ".join(s.selection.description.split()),
                                              "unit": "personen" if s.selection.unit == "persoon" else "huishoudens"}
               for s in sorted(run.selections, key=lambda s: s.selection.id)},
            **monitor_tables,
        },
        **({"monitor": section} if section is not None else {}),
        "disclosure": protection,
        **({"retention": audit_section(retention)} if retention is not None else {}),
    }
