"""The regional flow: one release flow run per gemeente of a region.yaml, through each
gemeente's deployment (so on a worker of the machine that holds its data), at most
`concurrency` at a time. A gemeente's failure does not stop the others; a transient one
(busy work directory, lost connection, crashed run) is tried again, a data or configuration
problem is not (pipelines/outcomes.py, region.supervise). Each gemeente is a task (named
after it) with its flow runs nested under it; the region's artifact lists every gemeente's
outcome. The logic is in pipelines/region.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Completed, Failed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipelines import geography, outcomes  # noqa: E402
from pipelines.outcomes import Outcome  # noqa: E402
from pipelines.periods import TIMEZONE, scheduled_period  # noqa: E402
from pipelines.region import (
    REGION_FLOW,
    GemeenteResult,
    exit_code,
    load_region,
    markdown,
    release_deployment,
    supervise,
    write_summary,  # noqa: E402
)

POLL_SECONDS = 2  # how often the regional flow asks the server whether a gemeente's run has ended


def _launch(gemeente: str, pool: str, queue: str | None, parameters: dict, tags: list[str], timeout_minutes: int
            ) -> Outcome:
    """Start one release flow run through the gemeente's deployment and wait for its end."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    name = release_deployment(gemeente)
    try:
        with get_client(sync_client=True) as client:
            d = client.read_deployment_by_name(name)
        if d.work_pool_name != pool or (queue and d.work_queue_name != queue):
            return Outcome(outcomes.PROBLEM, (
                f"deployment {name} sends its runs to pool {d.work_pool_name}, queue {d.work_queue_name}; region.yaml "
                f"says pool {pool}" + (f", queue {queue}" if queue else "") + ": run `wijksignaal deploy --region`",))
        run = run_deployment(name, parameters=parameters, tags=tags, timeout=timeout_minutes * 60,
                             poll_interval=POLL_SECONDS)
    except ObjectNotFound:
        return Outcome(outcomes.PROBLEM, (f"no deployment {name} on the server: run `wijksignaal deploy --region`",))
    except Exception as exc:  # a lost connection is transient; anything else a clean internal error
        return outcomes.failure(exc)
    state = run.state
    if state is None or not state.is_final():
        _cancel_if_not_started(run)
        where = f"pool {pool}" + (f", queue {queue}" if queue else "")
        return Outcome(outcomes.PROBLEM, (
            f"not finished within {timeout_minutes} minutes (flow run {run.name}, state "
            f"{state.name if state else 'unknown'}): is a worker running for {where}?",), None, str(run.id))
    return outcomes.from_state(state.type.value, state.name, state.message, str(run.id))


def _cancel_if_not_started(run) -> None:
    """A run that never started is cancelled, so that a worker does not start it later unwatched."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    if run.state is not None and (run.state.is_scheduled() or run.state.is_pending()):
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run.id, Cancelled(message="not started within the regional run's timeout"),
                                      force=True)


@task(name="gemeente", task_run_name="{gemeente}", cache_policy=NO_CACHE)
def gemeente_task(gemeente: str, settings_file: str, pool: str, queue: str | None, period: str, collect_dir: str,
                  region: str, retries: int, retry_delay_seconds: int, timeout_minutes: int):
    logger = get_run_logger()
    parameters = {"settings_file": settings_file, "period": period, "collect_dir": collect_dir,
                  "expect_gemeente": gemeente}

    def on_retry(attempt: int, outcome: Outcome) -> None:
        logger.warning("%s: %s; trying again in %d s (attempt %d of %d)", gemeente, outcome.lines[0],
                       retry_delay_seconds, attempt + 1, retries + 1)

    attempts = supervise(lambda attempt: _launch(gemeente, pool, queue, parameters, [f"region:{region}"],
                                                 timeout_minutes),
                         retries, retry_delay_seconds, on_retry=on_retry)
    result = GemeenteResult(gemeente, geography.gemeente_name(gemeente), attempts)
    if result.outcome.published:
        return Completed(name=outcomes.STATE_NAMES[result.outcome.kind], message=result.outcome.message, data=result)
    return Failed(message=result.outcome.message, data=result)


def _region_run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    try:
        name = load_region(p["region_file"]).region.region
    except Exception:  # the flow reports a bad file
        name = "region"
    return f"{name}-{p.get('period') or scheduled_period()}"


def _warn_about_idle_pools(loaded, logger) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkerFilter, WorkerFilterStatus
    from prefect.exceptions import ObjectNotFound

    pools: dict[str, list[str]] = {}
    for g in loaded.region.gemeenten:
        pools.setdefault(g.pool, []).append(g.gemeente)
    with get_client(sync_client=True) as client:
        for pool, gemeenten in pools.items():
            try:
                online = client.read_workers_for_work_pool(
                    pool, worker_filter=WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"])), limit=1, offset=0)
            except ObjectNotFound:  # the pool is missing: each gemeente reports its deployment
                continue
            if not online:
                logger.warning("no worker is online for pool %s (%s): their runs wait for one, at most %d minutes",
                               pool, ", ".join(gemeenten), loaded.region.timeout_minutes)


@flow(name=REGION_FLOW, flow_run_name=_region_run_name, log_prints=False)
def region_flow(region_file: str, period: str | None = None):
    """Every gemeente of `region_file` for `period` (YYYY-MM; without it, the last complete
    month before this run's scheduled start, in the schedule's time zone)."""
    logger = get_run_logger()
    loaded = load_region(region_file)
    r = loaded.region
    period = period or scheduled_period(r.schedule.timezone if r.schedule else TIMEZONE)
    _warn_about_idle_pools(loaded, logger)
    collect = str(loaded.collect_dir)
    results: list[GemeenteResult] = []
    with ThreadPoolTaskRunner(max_workers=r.concurrency) as runner:
        futures = [runner.submit(gemeente_task, {
            "gemeente": g.gemeente, "settings_file": str(loaded.settings(g)), "pool": g.pool, "queue": g.queue,
            "period": period, "collect_dir": collect, "region": r.region, "retries": r.retries,
            "retry_delay_seconds": r.retry_delay_seconds, "timeout_minutes": r.timeout_minutes})
            for g in r.gemeenten]
        for g, future in zip(r.gemeenten, futures):
            future.wait()
            value = future.state.result(raise_on_failure=False)
            if not isinstance(value, GemeenteResult):  # the task itself failed (a bug): say so, without its text
                value = GemeenteResult(g.gemeente, geography.gemeente_name(g.gemeente),
                                       (outcomes.failure(value) if isinstance(value, BaseException) else
                                        Outcome(outcomes.INTERNAL, ("internal error in the regional flow",)),))
            results.append(value)
    try:
        write_summary(loaded.collect_dir, r.region, period, results)
    except OSError as exc:
        logger.warning("could not write the region's summary in %s: %s", collect, exc.strerror)
    create_markdown_artifact(key=f"region-{r.region}", markdown=markdown(r.region, period, results),
                             description="wijksignaal regional run (states and release ids only)")
    failed = [x for x in results if not x.outcome.published]
    summary = {"region": r.region, "period": period, "results": results, "exit_code": exit_code(results)}
    message = f"{len(results) - len(failed)} of {len(results)} gemeenten published"
    if failed:
        return Failed(message=f"{message}; failed: {', '.join(x.gemeente for x in failed)}", data=summary)
    name = "Warnings" if summary["exit_code"] == 3 else "Completed"
    return Completed(name=name, message=message, data=summary)

