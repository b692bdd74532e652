"""Many gemeenten: the region file (`region.yaml`), the collection of release folders, and the
plain logic of the regional flow (retries, the summary, the exit code). The Prefect flow
that uses them is pipelines/region_flow.py; tests call these functions without Prefect.

A regional bureau lists its gemeenten in `region.yaml`, each with its own settings file
(so its own sources, work directory and pseudonym key) and the work pool (and queue) of
the machine that holds its data. The regional flow starts one release flow run per
gemeente through that gemeente's deployment, so the run happens on a worker of that
machine, and source data never leaves it; only the published release folder is copied
to the region's `collect_dir` (by the worker, after publishing).

```yaml
region: drechtsteden                 # a name: deployments, flow runs and the collection carry it
collect_dir: /srv/regio/releases     # release folders land in <collect_dir>/<period>/<release-id>/
concurrency: 4                       # gemeenten in flight at once (each machine's worker has its own --limit)
retries: 2                           # attempts after a transient failure (busy work directory, lost connection, crash)
retry_delay_seconds: 60
timeout_minutes: 240                 # a gemeente not finished by then counts as failed
pool: regio                          # the work pool where the scheduled regional flow itself runs
schedule: {cron: "0 2 3 * *", timezone: Europe/Amsterdam}   # monthly; the period is the last complete month
gemeenten:
  - gemeente: GM0505
    settings: /data/dordrecht/gemeente.yaml   # as the machine that holds the data sees it
    pool: machine-a
  - gemeente: GM0590
    settings: /data/papendrecht/gemeente.yaml
    pool: machine-b
    queue: default
```

Relative paths are relative to region.yaml's folder (for gemeenten on other machines: the
same layout there, or absolute paths).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from pipelines.configfile import ConfigError, Problem, Strict, file_sha256, parse_model, read_yaml
from pipelines.outcomes import Outcome
from pipelines.periods import TIMEZONE
from pipelines.settings import GEMEENTE

DEFAULT_CRON = "0 2 3 * *"  # 02:00 on the 3rd: the month's extracts have had two days to arrive
RELEASE_FLOW = "wijksignaal-release"
REGION_FLOW = "wijksignaal-region"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
POOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _pool(v: str) -> str:
    if not POOL.match(v):
        raise ValueError("must be letters, digits, '.', '_' or '-' (a Prefect work pool or queue name)")
    return v


class RegionGemeente(Strict):
    """One gemeente of the region: its settings and the machine (work pool) that holds its data."""

    gemeente: str = Field(description="CBS gemeentecode, GM + 4 digits")
    settings: str = Field(description="its gemeente.yaml as the machine that holds its data sees it; relative "
                                      "paths are relative to region.yaml")
    pool: str = Field(description="the work pool of the machine that holds its data")
    queue: str | None = Field(default=None, description="a work queue of that pool (default: the pool's default)")

    @field_validator("gemeente")
    @classmethod
    def _gemeente(cls, v: str) -> str:
        from pipelines import geography

        if not GEMEENTE.match(v):
            raise ValueError("must be GM followed by 4 digits (e.g. GM0505)")
        if not geography.known(v):
            raise ValueError(f"'{v}' is not a gemeente of the CBS indeling ({geography.BUURTEN_CSV.name}, "
                             f"{geography.gemeenten()} gemeenten)")
        return v

    @field_validator("pool", "queue")
    @classmethod
    def _pools(cls, v: str | None) -> str | None:
        return v if v is None else _pool(v)


def check_cron(value: str) -> None:
    """ValueError unless `value` is a five-field cron expression that fires (Prefect's own parser)."""
    from prefect.server.schemas.schedules import CronSchedule
    from prefect.utilities.asyncutils import run_coro_as_sync

    try:
        if len(value.split()) != 5:
            raise ValueError
        if not run_coro_as_sync(CronSchedule(cron=value).get_dates(n=1)):
            raise ValueError
    except Exception:
        raise ValueError(f"'{value}' is not a cron schedule that fires (five fields: minute hour day month weekday, "
                         f"e.g. '{DEFAULT_CRON}': 02:00 on the 3rd of every month)") from None


class RegionSchedule(Strict):
    cron: str = Field(default=DEFAULT_CRON, description="when the monthly run starts (cron, five fields)")
    timezone: str = Field(default=TIMEZONE, description="the cron's clock (IANA name)")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        check_cron(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from zoneinfo import available_timezones

        if v not in available_timezones():
            raise ValueError(f"'{v}' is not a time zone (IANA name, e.g. {TIMEZONE})")
        return v


class Region(Strict):
    """A region file: the gemeenten a regional bureau runs every month."""

    region: str = Field(description="a name: lower-case letters, digits and '-'")
    collect_dir: str = Field(description="where the release folders are collected: <collect_dir>/<period>/<release-id>/")
    concurrency: int = Field(default=4, ge=1, le=64, description="gemeenten in flight at once")
    retries: int = Field(default=2, ge=0, le=10, description="new attempts after a transient failure")
    retry_delay_seconds: int = Field(default=60, ge=0, le=3600)
    timeout_minutes: int = Field(default=240, ge=1, le=1440,
                                 description="a gemeente not finished within this time counts as failed")
    pool: str = Field(default="wijksignaal-region", description="the work pool where the scheduled regional flow runs")
    schedule: RegionSchedule | None = Field(default_factory=RegionSchedule,
                                            description="the monthly schedule; null: none (run it by hand)")
    gemeenten: list[RegionGemeente] = Field(min_length=1)

    @field_validator("region")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError("must be lower-case letters, digits and '-' (at most 63), e.g. drechtsteden")
        return v

    @field_validator("pool")
    @classmethod
    def _pools(cls, v: str) -> str:
        return _pool(v)


@dataclass(frozen=True)
class LoadedRegion:
    region: Region
    path: Path

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base / p).resolve()

    @property
    def collect_dir(self) -> Path:
        return self.resolve(self.region.collect_dir)

    def settings(self, g: RegionGemeente) -> Path:
        return self.resolve(g.settings)


def load_region(path: Path | str) -> LoadedRegion:
    """Read and check a region file; ConfigError lists every problem with file and line."""
    path = Path(path).resolve()
    doc = read_yaml(path)
    region = parse_model(Region, doc)
    loaded = LoadedRegion(region, path)
    problems, first, settings = [], {}, {}
    for i, g in enumerate(region.gemeenten):
        if g.gemeente in first:
            problems.append(Problem(str(path), doc.line_of(("gemeenten", i, "gemeente")),
                                    f"gemeenten.{i}.gemeente: {g.gemeente} is listed twice (also gemeenten.{first[g.gemeente]})"))
        first.setdefault(g.gemeente, i)
        s = str(loaded.settings(g))
        if s in settings:
            problems.append(Problem(str(path), doc.line_of(("gemeenten", i, "settings")),
                                    f"gemeenten.{i}.settings: {g.settings} is also the settings of "
                                    f"{region.gemeenten[settings[s]].gemeente} (gemeenten.{settings[s]}); each "
                                    "gemeente needs its own"))
        settings.setdefault(s, i)
    if problems:
        raise ConfigError(problems)
    return loaded


def deployment_name(gemeente: str) -> str:
    """The deployment of a gemeente's release flow: `wijksignaal-release/<gemeente>`."""
    return gemeente


def release_deployment(gemeente: str) -> str:
    return f"{RELEASE_FLOW}/{deployment_name(gemeente)}"


# --- the collection --------------------------------------------------------------------------


class CollectRefused(Exception):
    """A release folder could not be collected as published."""


class NotCollected(Exception):
    """A release was published in its work directory but could not be copied to the collection."""

    def __init__(self, release_id: str, into: str, cause: BaseException):
        self.release_id = release_id
        if isinstance(cause, CollectRefused):
            why = str(cause)
        elif isinstance(cause, OSError) and cause.strerror:  # a path and the system's words
            why = f"{cause.filename}: {cause.strerror}" if cause.filename else cause.strerror
        else:
            why = f"{type(cause).__name__}"
        super().__init__(f"published {release_id}, but not collected into {into}: {why}")



def collect_release(folder: Path, into: Path) -> Path:
    """Copy a published release folder to `into/<release-id>/`: exactly the files its ledger
    entry (`ledger-entry.json`) lists, each checked against the hash recorded there, and the
    entry itself; nothing else from the work directory. Staged as a hidden folder and renamed
    into place, so the collection never holds half a release; readable by all (0644, folders
    0755), like the publication register. Collecting the same release again changes nothing;
    a different folder under the same id is refused."""
    from privacy.ledger import ENTRY

    folder, into = Path(folder), Path(into)
    entry = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
    rid, files = entry["release_id"], dict(entry["files"])
    if not re.fullmatch(r"GM\d{4}-\d{4}-\d{2}-[0-9a-f]{10}", rid) or folder.name != rid:
        raise CollectRefused(f"{folder}: not a release folder (its ledger entry names release {rid})")
    names = sorted(files) + [ENTRY]
    target = into / rid
    if target.exists():
        if sorted(p.name for p in target.iterdir()) == sorted(names) and all(
                file_sha256(target / n) == h for n, h in files.items()) and (target / ENTRY).read_bytes() == (
                folder / ENTRY).read_bytes():
            return target
        raise CollectRefused(f"{target}: already collected with other contents; the release's own folder is "
                             f"{folder}")
    into.mkdir(parents=True, exist_ok=True)
    os.chmod(into, 0o755)
    staging = into / f".{rid}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    os.chmod(staging, 0o755)
    try:
        for name in names:
            data = (folder / name).read_bytes()
            if name != ENTRY and hashlib.sha256(data).hexdigest() != files[name]:
                raise CollectRefused(f"{folder / name}: differs from the hash in its ledger entry; not collected "
                                     f"(see `wijksignaal ledger verify`)")
            dst = staging / name
            with dst.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(dst, 0o644)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


# --- the regional flow's logic -----------------------------------------------------------------


@dataclass(frozen=True)
class GemeenteResult:
    gemeente: str
    name: str
    attempts: tuple[Outcome, ...]

    @property
    def outcome(self) -> Outcome:
        return self.attempts[-1]


def supervise(launch: Callable[[int], Outcome], retries: int, delay: float,
              sleep: Callable[[float], None] = time.sleep,
              on_retry: Callable[[int, Outcome], None] = lambda attempt, outcome: None) -> tuple[Outcome, ...]:
    """Run one gemeente: `launch(attempt)` starts a flow run and returns its outcome. A transient
    outcome (busy work directory, lost connection, crash) is tried again after `delay` seconds,
    at most `retries` times; anything else (published, a data or configuration problem, a bug)
    ends it. Returns every attempt's outcome, the last one counts."""
    attempts = []
    for attempt in range(1, retries + 2):
        outcome = launch(attempt)
        attempts.append(outcome)
        if not outcome.retry or attempt > retries:
            break
        on_retry(attempt, outcome)
        sleep(delay)
    return tuple(attempts)


def exit_code(results: list[GemeenteResult]) -> int:
    """0 every gemeente published; 3 all published, some with quality-gate warnings; 1 one or
    more did not publish."""
    from pipelines.outcomes import WARNINGS

    if any(not r.outcome.published for r in results):
        return 1
    return 3 if any(r.outcome.kind == WARNINGS for r in results) else 0


def lines(results: list[GemeenteResult]) -> tuple[list[str], list[str]]:
    """(stdout lines, stderr lines) for `wijksignaal region`: per gemeente what it published;
    per failed gemeente one `error:` line per problem; per warning a `warning:` line."""
    from pipelines.outcomes import UNCOLLECTED, WARNINGS
    from pipelines.pipeline import is_lists_line

    out, err = [], []
    for r in results:
        o = r.outcome
        tried = f" (after {len(r.attempts)} attempts)" if len(r.attempts) > 1 else ""
        who = f"{r.gemeente} {r.name}"
        if o.kind == UNCOLLECTED:
            out.append(f"{who}: published {o.release_id}, not collected{tried}")
            err.extend(f"error: {who}: {line}" for line in o.lines)
        elif o.published:
            out.append(f"{who}: published {o.release_id}{tried}")
            if o.kind == WARNINGS:
                err.extend(f"warning: {who}: {line}" for line in o.lines[1:])
        else:
            out.append(f"{who}: failed, nothing published{tried}")
            # a refused release's lists made all the same (pipeline.RefusedListsMade) are what was done, not an error
            err.extend(f"{who}: {line}" if is_lists_line(line) else f"error: {who}: {line}" for line in o.lines)
    return out, err


def summary(region: str, period: str, results: list[GemeenteResult]) -> dict:
    """The regional run's record (counts and states only; no time stamps): `region.json`."""
    return {
        "format": "wijksignaal-region/1",
        "region": region,
        "period": period,
        "gemeenten": [
            {"gemeente": r.gemeente, "name": r.name, "outcome": r.outcome.kind, "release_id": r.outcome.release_id,
             "attempts": len(r.attempts), "message": list(r.outcome.lines)}
            for r in results
        ],
        "published": sum(r.outcome.published for r in results),
        "failed": sum(not r.outcome.published for r in results),
    }


def markdown(region: str, period: str, results: list[GemeenteResult]) -> str:
    """The regional run's artifact in the Prefect UI: a row per gemeente (state and release only)."""
    rows = "\n".join(
        f"| {r.gemeente} | {r.name} | {r.outcome.kind} | {r.outcome.release_id or ''} | {len(r.attempts)} | "
        f"{(r.outcome.lines[0] if r.outcome.lines else '').replace('|', '/')} |" for r in results)
    s = summary(region, period, results)
    return (f"# Region {region}, {period}\n\nPublished: {s['published']}, failed: {s['failed']}.\n\n"
            f"| gemeente | name | outcome | release | attempts | message |\n|---|---|---|---|---|---|\n{rows}\n")


def write_summary(collect_dir: Path, region: str, period: str, results: list[GemeenteResult]) -> Path:
    folder = Path(collect_dir) / period
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"region-{region}.json"
    tmp = folder / f".{path.name}.partial"
    tmp.write_text(json.dumps(summary(region, period, results), indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path
