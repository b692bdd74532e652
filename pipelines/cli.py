"""`wijksignaal`: the command line.

Exit codes (README): 0 done; 1 a problem in data or configuration (one line per problem on
stderr naming file and line or row; nothing published); 2 wrong usage; 3 published, with
quality-gate warnings (in audit.json and the report); 70 an internal error (a bug: the
message names only its type; -v shows the traceback); 75 the work directory is busy.
Without -v no traceback is printed: exception texts are ours and never carry data values.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from pipelines import failures
from pipelines.configfile import ConfigError, Problem
from pipelines.settings import CONFIG_DIR, SELECTIONS_DIR

log = logging.getLogger("wijksignaal")

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_WARNINGS, EXIT_INTERNAL, EXIT_BUSY = 0, 1, 2, 3, 70, 75


def _logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("wijksignaal")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def cmd_synth(args) -> int:
    from pipelines.synth import synthesize

    m = synthesize(Path(args.out), gemeente=args.gemeente, period=args.period, seed=args.seed, scale=args.scale,
                   months=args.months, ddas_v12_from=args.ddas_v12_from, address_share=args.address_share)
    print(f"wrote {m['households']} households, {m['persons']} persons, {m['vroegsignalen']} vroegsignalen "
          f"for {m['gemeente']} to {args.out}")
    return 0


def _run_flow(settings_file: Path, period: str | None, sources: str | None, work: str | None,
              monitor: bool = False) -> dict:
    """Configuration and source files are checked here, before Prefect's server starts: a run
    that cannot succeed (a busy work directory, a broken ledger, a bad file) stops in a second
    with one clean message, not after the server's start-up and its tracebacks (and not waiting
    at exit for a server started in vain). Then the server starts (tempserver.py) while the flow's
    modules are imported."""
    from pipelines import tempserver
    from pipelines.pipeline import check_monitor, exclusive, prepare, stage_preflight

    run = prepare(settings_file, {"period": period, "sources_dir": sources, "work_dir": work,
                                  "monitor": True if monitor else None})
    with exclusive(run):
        stage_preflight(run)
        if monitor:
            check_monitor(run)
        tempserver.start()
        from pipelines.flow import release_flow

        _quiet_prefect_console()
        with tempserver.settings():
            return release_flow(str(settings_file.resolve()), period or run.settings.period, sources, work,
                                monitor=monitor)


def _quiet_prefect_console() -> None:
    """Without -v, Prefect's own console output (server start-up, task states, the traceback of
    a failed task) stays off the terminal: the run's log lines are ours, a failure is one line.
    Prefect's API logs (the UI) are untouched."""
    if log.getEffectiveLevel() <= logging.DEBUG:
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *(x for x in logging.Logger.manager.loggerDict.values()
                                          if isinstance(x, logging.Logger))]:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)


def _warnings(result: dict) -> int:
    """Print the quality-gate warnings of a published release; its exit code."""
    import json

    audit = json.loads((Path(result["folder"]) / "audit.json").read_text(encoding="utf-8"))
    warnings = audit.get("quality_gates", {}).get("warnings", [])
    for w in warnings:
        print(f"warning: quality gate {w['gate']}: {w['message']}", file=sys.stderr)
    return EXIT_WARNINGS if warnings else EXIT_OK


def cmd_run(args) -> int:
    result = _run_flow(Path(args.config), args.period, args.sources, args.work, args.monitor)
    print(f"published {result['release_id']}\n  {result['folder']}/tables.csv\n  {result['folder']}/tables.xlsx\n"
          f"  {result['folder']}/audit.json\n  {result['folder']}/report.html")
    return _warnings(result)


DEMO_SETTINGS = """\
# Written by `wijksignaal demo`: municipality settings for the synthetic demo gemeente.
gemeente: {gemeente}
period: "{period}"
sources_dir: sources
work_dir: .
config_dir: {config}
selections_dir: {selections}
"""


def cmd_demo(args) -> int:
    from pipelines import tempserver

    tempserver.start()  # first: its start-up overlaps the synthesis and the imports
    from pipelines.periods import months_ending
    from pipelines.synth import synthesize

    work = Path(args.work).resolve()
    (work / "sources").mkdir(parents=True, exist_ok=True)
    synthesize(work / "sources", gemeente=args.gemeente, period=args.period, seed=args.seed, scale=args.scale)
    settings = work / "gemeente.yaml"
    settings.write_text(DEMO_SETTINGS.format(gemeente=args.gemeente, period=args.period, config=CONFIG_DIR,
                                             selections=SELECTIONS_DIR), encoding="utf-8")
    for period in months_ending(args.period, args.periods):  # earlier periods first: the report's trends
        result = _run_flow(settings, period, None, None)
    print(f"demo release {result['release_id']}\n  open {result['folder']}/report.html")
    return _warnings(result)


def _check_config(args) -> int:
    """check --config: the configuration as a run sees it, and the real source files."""
    from pipelines.pipeline import check_source, prepare, stage_preflight

    run = prepare(Path(args.config))
    stage_preflight(run)
    errors = 0
    for source in run.source_ids:
        r = check_source(run, source, args.sample)
        files = r["files"] if len(r["files"]) <= 3 else [f"{len(r['files'])} files ({r['files'][0]} … {r['files'][-1]})"]
        print(f"{source}: {', '.join(files)}: {r['rows']:,} rows; {r['checked']:,} checked, "
              f"{r['quarantined']:,} would be quarantined")
        for rule, n in r["by_rule"].items():
            print(f"  rule {rule}: {n:,} row(s)")
        if r["columns_not_read"]:
            print(f"  not loaded (no DPIA purpose allows them): {', '.join(r['columns_not_read'])}")
        for g in r["gates"]:
            print(f"  {g}")
            errors += g.level == "error"
    if errors:
        print(f"{errors} quality gate(s) would refuse the run", file=sys.stderr)
        return EXIT_PROBLEM
    from pipelines.select.selections import LIST_SUFFIX

    lists = sum(s.selection.id.endswith(LIST_SUFFIX) for s in run.selections)
    print(f"OK: configuration valid; {len(run.selections) - lists} selection(s)"
          f"{f', with {lists} signal list(s) and their public count' if lists else ''}; source files readable")
    return EXIT_OK


INIT_SETTINGS = """\
# Municipality settings, written by `wijksignaal init`: adapt, then
#   wijksignaal check --config {name}/gemeente.yaml     (configuration and source files, no data loaded)
#   wijksignaal run --config {name}/gemeente.yaml
# Paths are relative to this file.
gemeente: {gemeente}            # CBS gemeentecode ({gemeente_name})
period: "{period}"           # reference period YYYY-MM (or --period on the command line)
sources_dir: sources         # the monthly extracts: brp.csv, uitkeringen.csv, vroegsignalen_*.json, wmo.csv
work_dir: work               # warehouse, quarantine, quality results, releases, ledger
config_dir: config           # sources.yaml (file names, columns, values), dpia.yaml, contracts/ (rules, gates)
selections_dir: selections   # one YAML file per selection
published_dir: published     # the publication register: the folder releases go out from
# key_file: ~/.config/wijksignaal/pseudonym.key   # created on first use; never inside this folder
# vault_key_file: ~/.config/wijksignaal/pseudonym.vault.key   # the identity vault's own key (names and addresses for
#                            signal lists); created on first use; never the key above, never inside this folder
# achterstand_lookback_months: 3
# validation_chunk_rows: 2000000   # rows per Great Expectations validation (memory against speed; at least 10000)
# quality_gates:             # change a source's gates (see config/contracts/<source>.yaml)
#   wmo:
#     quarantined_share: {{warning_above: 0.02, error_above: 0.2}}
"""


def cmd_init(args) -> int:
    """A folder for a data team's own extracts: settings and a copy of the configuration to adapt."""
    import shutil

    from pipelines import geography

    target = Path(args.dir)
    if target.exists() and any(target.iterdir()):
        raise ConfigError([Problem(str(target), None, "folder is not empty; init writes only into a new or "
                                   "empty folder")])
    (target / "sources").mkdir(parents=True, exist_ok=True)
    shutil.copytree(CONFIG_DIR, target / "config", ignore=shutil.ignore_patterns("reference", "gemeente.yaml"))
    shutil.copytree(SELECTIONS_DIR, target / "selections")
    (target / "gemeente.yaml").write_text(INIT_SETTINGS.format(
        name=target, gemeente=args.gemeente, gemeente_name=geography.gemeente_name(args.gemeente),
        period=args.period), encoding="utf-8")
    print(f"wrote {target}/gemeente.yaml, {target}/config/ and {target}/selections/ to adapt;\n"
          f"put the extracts in {target}/sources/, then: wijksignaal check --config {target}/gemeente.yaml")
    return EXIT_OK


def cmd_check(args) -> int:
    if args.config:
        return _check_config(args)
    from pipelines.ingest.contracts import build_expectations
    from pipelines.link.domains import load_domains
    from pipelines.select.catalogue import catalogue_of
    from pipelines.select.selections import LIST_SUFFIX, load_dpia, load_selections
    from pipelines.settings import load_contract, load_sources

    config_dir, problems = Path(args.config_dir), []
    selections, dpia, sources = [], None, None
    try:
        sources = load_sources(config_dir)
        for src in sources.sources.values():
            try:
                build_expectations(load_contract(config_dir, src), src, {"buurten": ["BU00000000"]})
            except ConfigError as exc:
                problems.extend(str(p) for p in exc.problems)
            except Exception as exc:  # ContractError
                problems.append(f"{config_dir / src.contract}: {exc}")
    except ConfigError as exc:
        problems.extend(str(p) for p in exc.problems)
    try:
        dpia = load_dpia(config_dir)
        selections = load_selections(Path(args.selections), dpia, catalogue_of(sources) if sources else None)
    except ConfigError as exc:
        problems.extend(str(p) for p in exc.problems)
    try:
        load_domains(config_dir, dpia)
    except ConfigError as exc:
        problems.extend(str(p) for p in exc.problems)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    lists = sum(s.selection.id.endswith(LIST_SUFFIX) for s in selections)
    print(f"OK: {len(selections) - lists} selection(s) valid under {dpia.dpia.id} version {dpia.dpia.version}"
          f"{f', with {lists} signal list(s) and their public count' if lists else ''}; "
          f"{len(dpia.purposes)} purpose(s); sources, contracts and domains valid")
    return 0


def cmd_explain(args) -> int:
    from pipelines.select.explain import explain
    from pipelines.select.selections import load_dpia, load_selection

    dpia = load_dpia(Path(args.config_dir))
    path = Path(args.selections) / f"{args.selection}.yaml"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,80}", args.selection) or not path.exists():
        print(f"error: no selection '{args.selection}' in {args.selections}", file=sys.stderr)
        return 1
    from pipelines.select.catalogue import catalogue_of
    from pipelines.settings import load_sources

    print(explain(load_selection(path, dpia, catalogue_of(load_sources(Path(args.config_dir)))), dpia, args.period))
    return 0


def cmd_register(args) -> int:
    from pipelines.link.domains import load_domains
    from pipelines.select.register import standard_version, write_register
    from pipelines.select.selections import load_dpia, load_selections

    config_dir, selections_dir, lookback = Path(args.config_dir), Path(args.selections), 3
    if args.config:  # the register of that gemeente's own configuration and settings
        from pipelines.pipeline import prepare

        run = prepare(Path(args.config))
        config_dir, selections_dir = run.config_dir, run.path("selections_dir")
        lookback = run.settings.achterstand_lookback_months
    from pipelines.select.catalogue import catalogue_of
    from pipelines.settings import load_sources

    dpia = load_dpia(config_dir)
    domains = load_domains(config_dir, dpia)
    sources = load_sources(config_dir)
    written = write_register(Path(args.out), load_selections(selections_dir, dpia, catalogue_of(sources)), dpia,
                             domains, standard_version(config_dir, domains), sources, lookback)
    monitor = " and the monitor" if dpia.monitor_purpose else ""
    print(f"wrote the register of the standard tables{monitor} and {len(written) - 3 - bool(monitor)} selection(s) "
          "(signal-list counts included):")
    for p in written[:2]:
        print(f"  {p}")
    print(f"  {Path(args.out) / 'algoritmeregister'}/<id>.json")
    return 0


def cmd_ledger_verify(args) -> int:
    from pipelines.publish import recover
    from pipelines.settings import load_settings, resolve
    from pipelines.workdir import exclusive
    from privacy import ledger

    if args.config:
        settings, base = load_settings(args.config)
        work = resolve(base, settings.work_dir)
        register = resolve(base, settings.published_dir) if settings.published_dir else None
    else:
        work, register = Path(args.work).resolve(), None
    if not work.is_dir():
        print(f"error: {work}: no such work directory", file=sys.stderr)
        return 1
    with exclusive(work, "ledger verify"):
        recover(work, register)  # finishes or undoes an interrupted publication (logged), as a run would
        problems = ledger.verify(work, registers=[register] if register is not None else [])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    releases = work / "releases"
    folders = [p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")] if releases.is_dir() else []
    n = len(ledger.entries(work))
    print(f"ledger intact: {n} {'entry' if n == 1 else 'entries'}, {len(folders)} release folder(s) match it")
    return 0


def cmd_outcomes(args) -> int:
    """Outcomes in: the wijkteams' filled-in lists (XLSX) and DDAS v1.2 vroegsignaalzaken (JSON)."""
    from pipelines.monitor.intake import OutcomesError, import_files
    from pipelines.pipeline import prepare
    from pipelines.workdir import exclusive

    run = prepare(Path(args.config))
    files = [Path(f) for f in args.files]
    if not run.warehouse.is_file():
        print(f"error: {run.warehouse}: no warehouse: run the outreach stage (wijksignaal run) first", file=sys.stderr)
        return EXIT_PROBLEM
    with exclusive(run.work_dir, "outcomes"):
        key = run.key() if any(f.suffix.lower() == ".json" for f in files) else None
        list_key = run.vault_key(create=False) if any(f.suffix.lower() == ".xlsx" for f in files) else None
        con = run.connect()
        try:
            results = import_files(con, run.work_dir, files, key, list_key)
        except OutcomesError as exc:
            for line in exc.problems:
                print(f"error: {line}", file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return EXIT_PROBLEM
        finally:
            con.close()
    for r in results:
        print(f"{r.file}: {r.imported} imported, {r.unchanged} unchanged, {r.empty} not filled in, "
              f"{r.quarantined} quarantined")
        for rule, n in r.by_rule.items():
            print(f"  rule {rule}: {n} row(s)")
        for q in r.quarantine:
            print(f"  quarantined to {q}")
    return EXIT_OK


def cmd_delivery(args) -> int:
    """The DDAS v1.2 delivery of the month for the national monitor (pipelines/monitor/delivery.py)."""
    from pipelines.monitor.delivery import DeliveryError, for_run
    from pipelines.pipeline import prepare
    from pipelines.workdir import exclusive

    run = prepare(Path(args.config), {"period": args.period})
    with exclusive(run.work_dir, "delivery", run.period):
        try:
            made, path = for_run(run, run.period)
        except DeliveryError as exc:
            for line in exc.problems:
                print(f"error: {line}", file=sys.stderr)
            print("no delivery was written", file=sys.stderr)
            return EXIT_PROBLEM
    statuses = ", ".join(f"{n} {status}" for status, n in made.by_status.items()) or "none"
    print(f"DDAS v1.2 delivery of {run.settings.gemeente} for {run.period}, valid against the v1.2 schema: "
          f"{made.signals} vroegsignalen ({statuses}), {made.zaken} vroegsignaalzaken ({made.picked_up} picked up, "
          f"{made.with_result} with an end result)\n  {path}\n"
          "not sent: the transport (Digikoppeling, PKIoverheid, JAdES signing) is outside wijksignaal")
    return EXIT_OK


def cmd_feedback(args) -> int:
    """Per signal partner and signal: picked up or not, never why not (pipelines/monitor/feedback.py)."""
    from pipelines.monitor.delivery import DeliveryError
    from pipelines.monitor.feedback import JA, NEE, NOG_NIET, for_run
    from pipelines.pipeline import prepare
    from pipelines.workdir import exclusive

    run = prepare(Path(args.config), {"period": args.period})
    with exclusive(run.work_dir, "feedback", run.period):
        try:
            result = for_run(run, run.period)
        except DeliveryError as exc:
            for line in exc.problems:
                print(f"error: {line}", file=sys.stderr)
            print("no feedback was written", file=sys.stderr)
            return EXIT_PROBLEM
    n = sum(k for _, k in result.files.values())
    answers = ", ".join(f"{result.by_answer.get(a, 0)} {a}" for a in (JA, NEE, NOG_NIET))
    print(f"feedback for {run.period}: {n} signal(s) of {len(result.files)} signal partner(s): picked up {answers}; "
          f"{result.told_back} with the end result the DDAS definitions tell back")
    for partner, (path, k) in result.files.items():
        print(f"  {partner}: {k} signal(s): {path}")
    return EXIT_OK


def cmd_retention(args) -> int:
    """Delete what is past its term (rule R1, privacy/README.md "Bewaartermijnen"); --dry-run only counts."""
    from pipelines.pipeline import exclusive, prepare
    from pipelines.retention import for_run

    run = prepare(Path(args.config), {"period": args.period})
    if not run.work_dir.is_dir():
        print(f"error: {run.work_dir}: no such work directory", file=sys.stderr)
        return EXIT_PROBLEM
    with exclusive(run, "retention"):
        result = for_run(run, dry_run=args.dry_run)
    print(f"retention at {result['reference']} (rule R1, privacy/README.md: Bewaartermijnen):")
    for source, t in result["terms"].items():
        print(f"  {source}: {t['months']} month(s), kept from {t['keep_from']} ({', '.join(t['longest']) or 'no purpose'})")
    verb = "would delete" if args.dry_run else "deleted"
    for what, unit in (("rows", "row(s)"), ("files", "file(s)")):
        grouped: dict[tuple[str, str], list[dict]] = {}
        for e in result[what]:
            grouped.setdefault((e["place"], e["source"]), []).append(e)
        for (place, source), es in grouped.items():
            months = sorted(e["period"] for e in es)
            span = months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"
            print(f"  {verb} {sum(e[what] for e in es)} {unit} of {place} ({source}), {span}")
    print(f"{verb} {result['rows_deleted']} row(s) and {result['files_deleted']} file(s)"
          + ("; dry run: nothing was changed" if args.dry_run else "; the warehouse is compacted"))
    return EXIT_OK


def _server_or_exit() -> int | None:
    """EXIT_PROBLEM (with its message) when no Prefect server answers at PREFECT_API_URL."""
    from pipelines.deploy import ServerUnavailable, api_url

    try:
        api_url()
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    return None


def cmd_deploy(args) -> int:
    """Deployments on the Prefect server at PREFECT_API_URL: one gemeente's (--config), or a region's."""
    from pipelines import deploy

    if args.config:
        from pipelines.pipeline import prepare

        run = prepare(Path(args.config))  # the configuration checked here, on the machine that holds the data
        if run.settings.gemeente == "NL":
            raise ConfigError([Problem(str(Path(args.config).resolve()), None, "gemeente: NL: a deployment runs one "
                                       "gemeente; use a gemeente's own settings")])
        if (code := _server_or_exit()) is not None:
            return code
        done = [deploy.deploy_release(Path(args.config).resolve(), run.settings.gemeente, args.pool, args.queue,
                                      None if args.no_schedule else args.cron, args.timezone)]
    else:
        from pipelines.region import load_region

        loaded = load_region(args.region)
        if (code := _server_or_exit()) is not None:
            return code
        done = deploy.deploy_region(loaded)
    for d in done:
        print(f"deployed {d}")
    return EXIT_OK


def cmd_region(args) -> int:
    """One release flow run per gemeente of region.yaml, on the workers of their machines."""
    from pipelines.region import lines, load_region

    loaded = load_region(args.region)  # a bad region file stops here, before Prefect
    if (code := _server_or_exit()) is not None:
        return code
    from pipelines.region_flow import region_flow

    _quiet_prefect_console()
    state = region_flow(str(loaded.path), args.period, return_state=True)
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    out, err = lines(value["results"])
    for line in out:
        print(line)
    print(f"collected in {loaded.collect_dir / value['period']}")
    for line in err:
        print(line, file=sys.stderr)
    return value["exit_code"]


def cmd_setup(args) -> int:
    """Print the commands for a Prefect server, work pools, workers and deployments (runs nothing)."""
    from pipelines.deploy import setup_commands
    from pipelines.region import load_region

    loaded = load_region(args.region) if args.region else None
    print("\n".join(setup_commands(loaded, args.home, args.host, args.port, args.pool)))
    return EXIT_OK


def _verbose_everywhere(p: argparse.ArgumentParser) -> None:
    """`-v` also after the verb (`wijksignaal run --config x -v`, as the messages suggest), not only before it."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb in action.choices.values():
                verb.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                                  help="tracebacks and debug logs")
                _verbose_everywhere(verb)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wijksignaal", description=__doc__.split("\n")[0])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write a synthetic gemeente (or the whole country) as source extracts")
    s.add_argument("--gemeente", type=gemeente_arg, default="GM0164",
                   help="CBS gemeentecode (default GM0164 Hengelo) or NL")
    s.add_argument("--out", required=True, help="directory for the extracts")
    s.add_argument("--period", type=period_arg, default="2026-10")
    s.add_argument("--seed", type=int, default=20261001)
    s.add_argument("--scale", type=float, default=1.0, help="households per buurt x scale")
    s.add_argument("--months", type=int, default=12, help="months of vroegsignalen history")
    s.add_argument("--ddas-v12-from", type=period_arg, default=None, metavar="YYYY-MM",
                   help="write the vroegsignalen of this month and later as DDAS v1.2 (default: all v0.9)")
    s.add_argument("--address-share", type=share_arg, default=0.3,
                   help="with --ddas-v12-from: share of the v1.2 clients identified by postcode + huisnummer "
                        "instead of BSN (default 0.3)")
    s.set_defaults(func=cmd_synth)

    r = sub.add_parser("run", help="run the flow on configured sources and publish a release")
    r.add_argument("--config", required=True, help="municipality settings file (see config/gemeente.yaml)")
    r.add_argument("--period", type=period_arg, help="reference period YYYY-MM (overrides the settings)")
    r.add_argument("--sources", help="directory with the source extracts (overrides the settings)")
    r.add_argument("--work", help="work directory (overrides the settings)")
    r.add_argument("--monitor", action="store_true",
                   help="publish the month's vroegsignalering monitor (monitor:* tables) from its cases and outcomes; "
                        "fixed from then on: import the month's outcomes first")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="synth + run in a work directory, for a first look")
    d.add_argument("--work", default="work/demo")
    d.add_argument("--gemeente", type=gemeente_arg, default="GM0164")
    d.add_argument("--period", type=period_arg, default="2026-10")
    d.add_argument("--seed", type=int, default=20261001)
    d.add_argument("--scale", type=float, default=1.0)
    d.add_argument("--periods", type=int, default=6, help="monthly releases up to --period, for the trends")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("init", help="a folder with settings and a copy of the configuration, for your own extracts")
    i.add_argument("dir", help="new (or empty) folder")
    i.add_argument("--gemeente", type=gemeente_arg, required=True, help="CBS gemeentecode, e.g. GM0164")
    i.add_argument("--period", type=period_arg, default="2026-10")
    i.set_defaults(func=cmd_init)

    c = sub.add_parser("check", help="validate selections, DPIA rules, sources and contracts without data")
    c.add_argument("--config", help="municipality settings (gemeente.yaml): also read its real source files and "
                                    "check a sample of their rows against the contracts, without Prefect")
    c.add_argument("--sample", type=int, default=10_000, help="rows per source checked with --config")
    c.add_argument("--config-dir", default=str(CONFIG_DIR))
    c.add_argument("--selections", default=str(SELECTIONS_DIR))
    c.set_defaults(func=cmd_check)

    e = sub.add_parser("explain", help="what a selection means, reads, may do, and its SQL")
    e.add_argument("selection", help="selection id")
    e.add_argument("--period", type=period_arg, default="2026-10", help="reference period the SQL is shown for")
    e.add_argument("--config-dir", default=str(CONFIG_DIR))
    e.add_argument("--selections", default=str(SELECTIONS_DIR))
    e.set_defaults(func=cmd_explain)

    g = sub.add_parser("register", help="the privacy officer's overview (HTML, CSV) and Algoritmeregister exports")
    g.add_argument("--out", default="work/register")
    g.add_argument("--config", help="municipality settings (gemeente.yaml): the register of its configuration "
                                    "(config_dir, selections_dir, look-back)")
    g.add_argument("--config-dir", default=str(CONFIG_DIR))
    g.add_argument("--selections", default=str(SELECTIONS_DIR))
    g.set_defaults(func=cmd_register)

    lv = sub.add_parser("ledger", help="the release ledger").add_subparsers(dest="ledger_command", required=True)
    v = lv.add_parser("verify", help="check the ledger and the release folders; finish an interrupted publication")
    where = v.add_mutually_exclusive_group(required=True)
    where.add_argument("--work", help="work directory")
    where.add_argument("--config", help="municipality settings file (its work directory and publication register)")
    v.set_defaults(func=cmd_ledger_verify)
    oc = sub.add_parser("outcomes", help="import what the wijkteams and case systems recorded: filled-in signal "
                                         "lists (.xlsx) and DDAS v1.2 vroegsignaalzaken (.json)")
    oc.add_argument("--config", required=True, help="municipality settings file (its work directory and key)")
    oc.add_argument("files", nargs="+", metavar="FILE", help="a wijkteam's list (.xlsx) or a DDAS v1.2 file (.json)")
    oc.set_defaults(func=cmd_outcomes)

    rt = sub.add_parser("retention", help="delete what is past its retention term (config/dpia.yaml) and compact "
                                          "the warehouse")
    rt.add_argument("--config", required=True, help="municipality settings file (its work directory)")
    rt.add_argument("--period", type=period_arg, help="reference period YYYY-MM (default: the settings' period)")
    rt.add_argument("--dry-run", action="store_true", help="print what would be deleted; delete nothing")
    rt.set_defaults(func=cmd_retention)
    dl = sub.add_parser("delivery", help="the DDAS v1.2 delivery of the month for the national monitor (vroegsignalen "
                                         "and vroegsignaalzaken); the transport is not done by wijksignaal")
    dl.add_argument("--config", required=True, help="municipality settings file (its work directory, sources and key)")
    dl.add_argument("--period", type=period_arg, help="YYYY-MM (default: the settings' period)")
    dl.set_defaults(func=cmd_delivery)

    fb = sub.add_parser("feedback", help="per signal partner, whether each signal of the month was picked up "
                                         "(never why not)")
    fb.add_argument("--config", required=True, help="municipality settings file (its work directory, sources and key)")
    fb.add_argument("--period", type=period_arg, help="YYYY-MM (default: the settings' period)")
    fb.set_defaults(func=cmd_feedback)
    _many_gemeenten_parsers(sub)
    _verbose_everywhere(p)
    return p


def _many_gemeenten_parsers(sub) -> None:
    from pipelines.deploy import DEFAULT_HOME, DEFAULT_POOL, DEFAULT_PORT
    from pipelines.periods import TIMEZONE
    from pipelines.region import DEFAULT_CRON

    dp = sub.add_parser("deploy", help="deployments on the Prefect server (PREFECT_API_URL): a gemeente's release "
                                       "flow with a monthly schedule, or every gemeente of a region")
    which = dp.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", help="a gemeente's settings file, on the machine that holds its data")
    which.add_argument("--region", help="region.yaml: a deployment per gemeente and the regional flow's")
    dp.add_argument("--pool", default=DEFAULT_POOL, help=f"work pool of this machine (--config; default {DEFAULT_POOL})")
    dp.add_argument("--queue", help="work queue in the pool (--config)")
    dp.add_argument("--cron", type=cron_arg, default=DEFAULT_CRON,
                    help=f"monthly schedule (--config; default '{DEFAULT_CRON}': 02:00 on the 3rd)")
    dp.add_argument("--timezone", type=timezone_arg, default=TIMEZONE, help=f"the schedule's clock (default {TIMEZONE})")
    dp.add_argument("--no-schedule", action="store_true", help="no schedule: runs start by hand or from a region")
    dp.set_defaults(func=cmd_deploy)

    rg = sub.add_parser("region", help="run every gemeente of region.yaml on the workers that hold their data")
    rg.add_argument("--region", required=True, help="region.yaml")
    rg.add_argument("--period", type=period_arg, help="YYYY-MM (default: the last complete month, Europe/Amsterdam)")
    rg.set_defaults(func=cmd_region)

    su = sub.add_parser("setup", help="print the commands for a Prefect server, pools, workers and deployments")
    su.add_argument("--region", help="region.yaml: a worker per machine and the region's deployments")
    su.add_argument("--home", default=DEFAULT_HOME, help=f"the server's PREFECT_HOME: its database (default {DEFAULT_HOME})")
    su.add_argument("--host", default="127.0.0.1", help="address the server listens on (0.0.0.0: other machines)")
    su.add_argument("--port", type=int, default=DEFAULT_PORT)
    su.add_argument("--pool", default=DEFAULT_POOL, help="work pool of a single gemeente's machine (without --region)")
    su.set_defaults(func=cmd_setup)


def timezone_arg(value: str) -> str:
    from zoneinfo import available_timezones

    if value not in available_timezones():
        raise argparse.ArgumentTypeError(f"'{value}' is not a time zone (IANA name, e.g. Europe/Amsterdam)")
    return value


def cron_arg(value: str) -> str:
    from pipelines.region import check_cron

    try:
        check_cron(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def period_arg(value: str) -> str:
    from pipelines.settings import PERIOD

    if not PERIOD.match(value):
        raise argparse.ArgumentTypeError(f"'{value}' is not a month: use YYYY-MM with a month 01-12, e.g. 2026-10")
    return value


def share_arg(value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(f"'{value}' is not a share: give a number from 0 to 1, e.g. 0.3")
    return share


def gemeente_arg(value: str) -> str:
    from pipelines import geography

    if value != "NL" and not geography.known(value):
        raise argparse.ArgumentTypeError(f"'{value}' is not a gemeente of the CBS indeling: use GM + 4 digits "
                                         "(e.g. GM0164 Hengelo) or NL")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted: nothing was published by this run", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure is one clean line (tracebacks only with -v)
        if args.verbose:
            raise
        from pipelines.workdir import WorkDirBusy

        cause = failures.cause(exc)
        if isinstance(cause, WorkDirBusy):  # try again later (a scheduler may retry)
            print(f"error: {cause}", file=sys.stderr)
            return EXIT_BUSY
        lines = failures.problems(cause)
        if not lines:
            print(f"error: internal error ({type(exc).__name__}); nothing was published. Run again with -v for "
                  "the traceback and report it", file=sys.stderr)
            return EXIT_INTERNAL
        from pipelines.pipeline import RefusedListsMade, is_lists_line

        lists = isinstance(cause, RefusedListsMade)
        for line in lines:  # the lists made after a refusal are what was done, not an error
            print(line if lists and is_lists_line(line) else f"error: {line}", file=sys.stderr)
        if args.command in ("run", "demo"):
            print("nothing was published", file=sys.stderr)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
