"""Deployments on a real Prefect server: one per gemeente (its release flow, in the work pool of
the machine that holds its data) and one per region (the regional flow, with the monthly
schedule).

Deployments name their flow by module (`pipelines.flow.release_flow`,
`pipelines.region_flow.region_flow`), not by a file to download: a worker runs the
wijksignaal installed on its own machine, and no code or data travels through Prefect.
Parameters are paths and periods (and a gemeente code to check against), never data.
Work pools are of type `process` (a worker runs each flow run as a subprocess) and are
created when missing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from pipelines.periods import TIMEZONE
from pipelines.region import DEFAULT_CRON, REGION_FLOW, RELEASE_FLOW, LoadedRegion, deployment_name

DEFAULT_POOL = "wijksignaal"
DEFAULT_HOME = "~/.wijksignaal/prefect"  # the server's PREFECT_HOME: its SQLite database, prefect.db
DEFAULT_PORT = 4200


class ServerUnavailable(Exception):
    """No Prefect server to talk to (PREFECT_API_URL unset, or nothing answers there)."""


def api_url() -> str:
    """The server's API address; ServerUnavailable when it is not set or does not answer."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ServerUnavailable("PREFECT_API_URL is not set: start a Prefect server and point PREFECT_API_URL at it "
                                "(`wijksignaal setup` prints the commands)")
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise ServerUnavailable(f"no Prefect server answers at {url} (PREFECT_API_URL): start it, or correct the "
                                f"address (`wijksignaal setup` prints the commands)")
    return url


def ensure_pool(name: str, queue: str | None = None) -> bool:
    """Create the work pool (type process) and queue when missing; True when the pool was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    created = False
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(
                    name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="wijksignaal: the machine that holds these gemeenten' data"))
                created = True
            except ObjectAlreadyExists:  # created meanwhile
                pass
        if queue:
            try:
                client.read_work_queue_by_name(queue, work_pool_name=name)
            except ObjectNotFound:
                try:
                    client.create_work_queue(name=queue, work_pool_name=name)
                except ObjectAlreadyExists:
                    pass
    return created


@dataclass(frozen=True)
class Deployed:
    name: str  # flow/deployment
    pool: str
    queue: str | None
    schedule: str | None  # "cron (timezone)"

    def __str__(self) -> str:
        where = f"pool {self.pool}" + (f", queue {self.queue}" if self.queue else "")
        return f"{self.name} ({where}; " + (f"schedule {self.schedule})" if self.schedule else "no schedule)")


def _schedules(cron: str | None, timezone: str) -> list:
    from prefect.schedules import Cron

    return [Cron(cron, timezone=timezone)] if cron else []


def deploy_release(settings_file: Path, gemeente: str, pool: str, queue: str | None = None,
                   cron: str | None = None, timezone: str = TIMEZONE) -> Deployed:
    """The deployment `wijksignaal-release/<gemeente>`: runs of it go to `pool` (and `queue`) and
    take `settings_file` (a path on that machine); with `cron`, a monthly schedule whose runs
    publish the last complete month. Created or updated (a changed pool, queue or schedule
    replaces the old one)."""
    from prefect.deployments.runner import EntrypointType

    from pipelines.flow import release_flow

    ensure_pool(pool, queue)
    d = release_flow.to_deployment(
        name=deployment_name(gemeente), entrypoint_type=EntrypointType.MODULE_PATH, work_pool_name=pool,
        work_queue_name=queue, parameters={"settings_file": str(settings_file), "expect_gemeente": gemeente},
        schedules=_schedules(cron, timezone), tags=["wijksignaal", gemeente],
        description=f"wijksignaal release of {gemeente}: {settings_file} on the machine of pool {pool}")
    d.apply()
    return Deployed(f"{RELEASE_FLOW}/{d.name}", pool, queue, f"{cron} ({timezone})" if cron else None)


def deploy_region(loaded: LoadedRegion) -> list[Deployed]:
    """A deployment per gemeente (no schedule of its own: the region's run starts them) and the
    regional flow's deployment `wijksignaal-region/<region>`, with the region's schedule."""
    from prefect.deployments.runner import EntrypointType

    from pipelines.region_flow import region_flow

    r = loaded.region
    out = [deploy_release(loaded.settings(g), g.gemeente, g.pool, g.queue) for g in r.gemeenten]
    ensure_pool(r.pool)
    cron, tz = (r.schedule.cron, r.schedule.timezone) if r.schedule else (None, TIMEZONE)
    d = region_flow.to_deployment(
        name=r.region, entrypoint_type=EntrypointType.MODULE_PATH, work_pool_name=r.pool,
        parameters={"region_file": str(loaded.path)}, schedules=_schedules(cron, tz),
        tags=["wijksignaal", f"region:{r.region}"],
        description=f"wijksignaal region {r.region}: {len(r.gemeenten)} gemeenten ({loaded.path})")
    d.apply()
    out.append(Deployed(f"{REGION_FLOW}/{r.region}", r.pool, None, f"{cron} ({tz})" if cron else None))
    return out


def setup_commands(loaded: LoadedRegion | None, home: str = DEFAULT_HOME, host: str = "127.0.0.1",
                   port: int = DEFAULT_PORT, pool: str = DEFAULT_POOL) -> list[str]:
    """The shell commands that set up a server, pools, workers and deployments (printed by
    `wijksignaal setup`; nothing is run)."""
    q = shlex.quote
    home = str(Path(home).expanduser())
    api = f"http://{host if host not in ('0.0.0.0', '::') else '<this-machine>'}:{port}/api"
    lines = [
        "# 1. The Prefect server (on the central machine; its database is <home>/prefect.db):",
        f"PREFECT_HOME={q(home)} PREFECT_SERVER_ANALYTICS_ENABLED=false prefect server start --host {host} --port {port}",
        "",
        "# 2. On every machine (server, workers, where you run wijksignaal), point Prefect at it:",
        f"export PREFECT_API_URL={api}",
        "",
    ]
    if loaded is None:
        lines += [
            "# 3. A worker on the machine that holds the gemeente's data (the pool is created by deploy):",
            f"prefect worker start --pool {q(pool)} --type process --limit 2",
            "",
            "# 4. The gemeente's deployment, with the monthly schedule (the period: the last complete month):",
            f"wijksignaal deploy --config gemeente.yaml --pool {q(pool)} --cron {q(DEFAULT_CRON)}",
            "",
            "# 5. A run now (or wait for the schedule):",
            f"prefect deployment run '{RELEASE_FLOW}/<GM....>' --param period=YYYY-MM",
        ]
        return lines
    r = loaded.region
    if len({g.pool for g in r.gemeenten} | {r.pool}) > 1 and host in ("127.0.0.1", "localhost", "::1"):
        lines[2:2] = ["#    (workers on other machines reach a server on 127.0.0.1 only through a tunnel: give "
                      "--host 0.0.0.0, or this machine's address, and let only the region's machines through)"]
    by_pool: dict[str, list[str]] = {}
    for g in r.gemeenten:
        by_pool.setdefault(g.pool, []).append(g.gemeente + (f" (queue {g.queue})" if g.queue else ""))
    lines.append("# 3. A worker on each machine, for the gemeenten whose data it holds (pools are created by deploy):")
    for p, gs in by_pool.items():
        queues = sorted({g.queue for g in r.gemeenten if g.pool == p and g.queue})
        qargs = "".join(f" --work-queue {q(x)}" for x in queues)
        lines.append(f"#    {p}: {', '.join(gs)}")
        lines.append(f"prefect worker start --pool {q(p)} --type process --limit 2{qargs}")
    lines += [
        "#    the central machine, for the regional flow itself:",
        f"prefect worker start --pool {q(r.pool)} --type process --limit 1",
        "",
        "# 4. The deployments (again after changing region.yaml):",
        f"wijksignaal deploy --region {q(str(loaded.path))}",
        "",
        "# 5. A regional run now (or wait for the schedule"
        + (f" {r.schedule.cron}, {r.schedule.timezone}" if r.schedule else "") + "):",
        f"wijksignaal region --region {q(str(loaded.path))} [--period YYYY-MM]",
    ]
    return lines
