"""`wijksignaal`: the command line. Exit codes: 0 done, 1 a problem in data or
configuration (message on stderr, nothing published), 2 wrong usage, 75 the work
directory is busy (another run holds it)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .configfile import ConfigError
from .settings import CONFIG_DIR, SELECTIONS_DIR

log = logging.getLogger("wijksignaal")


def _logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("wijksignaal")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def cmd_synth(args) -> int:
    from .synth import synthesize

    m = synthesize(Path(args.out), gemeente=args.gemeente, period=args.period, seed=args.seed, scale=args.scale,
                   months=args.months)
    print(f"wrote {m['households']} households, {m['persons']} persons, {m['vroegsignalen']} vroegsignalen "
          f"for {m['gemeente']} to {args.out}")
    return 0


def _run_flow(settings_file: Path, period: str | None, sources: str | None, work: str | None) -> dict:
    from .pipeline import exclusive, prepare

    run = prepare(settings_file, {"period": period, "sources_dir": sources, "work_dir": work})
    with exclusive(run):  # a busy work directory or a broken ledger stops the run before Prefect starts
        from .flow import release_flow

        return release_flow(str(settings_file.resolve()), period or run.settings.period, sources, work)


def cmd_run(args) -> int:
    result = _run_flow(Path(args.config), args.period, args.sources, args.work)
    print(f"published {result['release_id']}\n  {result['folder']}/tables.csv\n  {result['folder']}/audit.json\n"
          f"  {result['folder']}/report.html")
    return 0


DEMO_SETTINGS = """\
# Written by `wijksignaal demo`: municipality settings for the synthetic demo gemeente.
gemeente: {gemeente}
period: "{period}"
sources_dir: sources
work_dir: .
config_dir: {config}
selections_dir: {selections}
"""


def _months_before(period: str, n: int) -> list[str]:
    """The n monthly periods ending at `period`, oldest first."""
    import pandas as pd

    return list(pd.period_range(end=period, periods=n, freq="M").strftime("%Y-%m"))


def cmd_demo(args) -> int:
    from .synth import synthesize

    work = Path(args.work).resolve()
    (work / "sources").mkdir(parents=True, exist_ok=True)
    synthesize(work / "sources", gemeente=args.gemeente, period=args.period, seed=args.seed, scale=args.scale)
    settings = work / "gemeente.yaml"
    settings.write_text(DEMO_SETTINGS.format(gemeente=args.gemeente, period=args.period, config=CONFIG_DIR,
                                             selections=SELECTIONS_DIR), encoding="utf-8")
    for period in _months_before(args.period, args.periods):  # earlier periods first: the report's trends
        result = _run_flow(settings, period, None, None)
    print(f"demo release {result['release_id']}\n  open {result['folder']}/report.html")
    return 0


def cmd_check(args) -> int:
    from .ingest.contracts import build_expectations
    from .selections import load_dpia, load_selections
    from .settings import load_contract, load_sources

    config_dir, problems = Path(args.config_dir), []
    selections, dpia = [], None
    try:
        sources = load_sources(config_dir)
        for name, src in sources.sources.items():
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
        selections = load_selections(Path(args.selections), dpia)
    except ConfigError as exc:
        problems.extend(str(p) for p in exc.problems)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"OK: {len(selections)} selection(s) valid under {dpia.dpia.id} version {dpia.dpia.version}; "
          f"{len(dpia.purposes)} purpose(s); sources and contracts valid")
    return 0


def cmd_explain(args) -> int:
    from .explain import explain
    from .selections import load_dpia, load_selection

    dpia = load_dpia(Path(args.config_dir))
    path = Path(args.selections) / f"{args.selection}.yaml"
    if not path.exists():
        print(f"error: no selection '{args.selection}' in {args.selections}", file=sys.stderr)
        return 1
    print(explain(load_selection(path, dpia), dpia, args.period))
    return 0


def cmd_register(args) -> int:
    from .register import write_register
    from .selections import load_dpia, load_selections

    dpia = load_dpia(Path(args.config_dir))
    written = write_register(Path(args.out), load_selections(Path(args.selections), dpia), dpia)
    print(f"wrote the register of {len(written) - 2} selection(s):")
    for p in written[:2]:
        print(f"  {p}")
    print(f"  {Path(args.out) / 'algoritmeregister'}/<id>.json")
    return 0


def cmd_ledger_verify(args) -> int:
    from privacy import ledger

    from .publish import recover
    from .settings import load_settings, resolve
    from .workdir import exclusive

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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wijksignaal", description=__doc__.split("\n")[0])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write a synthetic gemeente (or the whole country) as source extracts")
    s.add_argument("--gemeente", default="GM0164", help="CBS gemeentecode (default GM0164 Hengelo) or NL")
    s.add_argument("--out", required=True, help="directory for the extracts")
    s.add_argument("--period", default="2026-10")
    s.add_argument("--seed", type=int, default=20261001)
    s.add_argument("--scale", type=float, default=1.0, help="households per buurt x scale")
    s.add_argument("--months", type=int, default=12, help="months of vroegsignalen history")
    s.set_defaults(func=cmd_synth)

    r = sub.add_parser("run", help="run the flow on configured sources and publish a release")
    r.add_argument("--config", required=True, help="municipality settings file (see config/gemeente.yaml)")
    r.add_argument("--period", help="reference period YYYY-MM (overrides the settings)")
    r.add_argument("--sources", help="directory with the source extracts (overrides the settings)")
    r.add_argument("--work", help="work directory (overrides the settings)")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="synth + run in a work directory, for a first look")
    d.add_argument("--work", default="work/demo")
    d.add_argument("--gemeente", default="GM0164")
    d.add_argument("--period", default="2026-10")
    d.add_argument("--seed", type=int, default=20261001)
    d.add_argument("--scale", type=float, default=1.0)
    d.add_argument("--periods", type=int, default=6, help="monthly releases up to --period, for the trends")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("check", help="validate selections, DPIA rules, sources and contracts without data")
    c.add_argument("--config-dir", default=str(CONFIG_DIR))
    c.add_argument("--selections", default=str(SELECTIONS_DIR))
    c.set_defaults(func=cmd_check)

    e = sub.add_parser("explain", help="what a selection means, reads, may do, and its SQL")
    e.add_argument("selection", help="selection id")
    e.add_argument("--period", default="2026-10", help="reference period the SQL is shown for")
    e.add_argument("--config-dir", default=str(CONFIG_DIR))
    e.add_argument("--selections", default=str(SELECTIONS_DIR))
    e.set_defaults(func=cmd_explain)

    g = sub.add_parser("register", help="the privacy officer's overview (HTML, CSV) and Algoritmeregister exports")
    g.add_argument("--out", default="work/register")
    g.add_argument("--config-dir", default=str(CONFIG_DIR))
    g.add_argument("--selections", default=str(SELECTIONS_DIR))
    g.set_defaults(func=cmd_register)

    lv = sub.add_parser("ledger", help="the release ledger").add_subparsers(dest="ledger_command", required=True)
    v = lv.add_parser("verify", help="check the ledger and the release folders; finish an interrupted publication")
    where = v.add_mutually_exclusive_group(required=True)
    where.add_argument("--work", help="work directory")
    where.add_argument("--config", help="municipality settings file (its work directory and publication register)")
    v.set_defaults(func=cmd_ledger_verify)
    return p


def main(argv: list[str] | None = None) -> int:
    from privacy.pseudonymise import KeyFileError
    from privacy.secondary import ProtectionFailed

    from .ingest import AccountingError
    from .ingest.contracts import ContractError
    from .ingest.readers import SourceFileError
    from .publish import PublishRefused
    from .workdir import WorkDirBusy

    args = parser().parse_args(argv)
    _logging(args.verbose)
    try:
        return args.func(args)
    except WorkDirBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 75
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except (SourceFileError, KeyFileError, AccountingError, ContractError, PublishRefused, ProtectionFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was published", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
