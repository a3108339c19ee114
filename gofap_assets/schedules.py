"""Per-service sync jobs and the schedules that run them at each service's interval.

The schedules tick every few minutes and decide from the warehouse's `sync_status` whether their
service is due, so `gofap-import set-interval` and `configure-service` need no redeploy. A due
tick requests one run for the listing assets and one run per range of at most
`MAX_PARTITIONS_PER_RUN` partitions, each a single-run backfill of the partitioned assets.
"""

from datetime import datetime

import dagster as dg

from gofap_assets.lib.scheduling import (
    PARTITIONED_DATA_TYPES,
    SERVICE_TAG,
    listing_keys,
    partition_ranges,
    partitioned_keys,
    range_tags,
    runs_in_flight,
    service_state,
    utcnow,
)
from gofap_assets.sync_runner import PLANS, TRIGGER_TAG, sync_job_name
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource

TICK_CRON = "*/5 * * * *"
"""How often a schedule looks at `sync_status`; the service's interval decides when it syncs."""
HEALTH_CHECKS_CRON = "*/30 * * * *"


SYNC_JOBS = {
    service: dg.define_asset_job(
        name=sync_job_name(service),
        selection=dg.AssetSelection.assets(*plan.listing_assets, *plan.every_partitioned),
        description=f"Sync {service}: the listing assets, then the per-partition assets.",
        tags={SERVICE_TAG: service},
    )
    for service, plan in PLANS.items()
}
github_sync_job = SYNC_JOBS["github"]
linear_sync_job = SYNC_JOBS["linear"]

health_checks_job = dg.define_asset_job(
    name="health_checks_job",
    selection=dg.AssetSelection.checks_for_assets(
        *[name for plan in PLANS.values()
          for name in (*plan.listing_assets, *plan.every_partitioned)]),
    executor_def=dg.in_process_executor,
    description="Every asset check, without syncing: freshness only means something when it is "
    "also judged between syncs. The checks are SQL queries, so one process runs them all.",
)


def due_deferrals(warehouse: Warehouse, service: str,
                  now: datetime) -> tuple[bool, set[str]] | None:
    """What the rate-limit budget deferred and may go on by `now`: (the listing?, partition
    keys), or None when nothing is due."""
    if not warehouse.schema_ready():
        return None
    partitioned = PARTITIONED_DATA_TYPES[service]
    listing, keys = False, set()
    for (data_type, key), until in warehouse.deferred_partitions(service).items():
        if until > now:
            continue
        if data_type in partitioned:
            keys.add(key)
        else:
            listing = True
    return (listing, keys) if listing or keys else None


def sync_tick(context: dg.ScheduleEvaluationContext, service: str,
              warehouse: Warehouse) -> dg.SkipReason | list[dg.RunRequest]:
    """The run requests for one tick of `service`'s schedule, or why there are none."""
    now: datetime = context.scheduled_execution_time or utcnow()
    state = service_state(warehouse, service)
    reason = state.skip_reason(now)
    due = due_deferrals(warehouse, service, now) if state.inactive_reason() is None else None
    if reason is not None and due is None:
        return dg.SkipReason(reason)
    in_flight = runs_in_flight(context.instance, service, now)
    if in_flight:
        return dg.SkipReason(f"{service}: {in_flight} earlier sync run(s) still queued or "
                             "running; the next tick tries again")
    plan = PLANS[service]
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    tags = {SERVICE_TAG: service, TRIGGER_TAG: "schedule"}
    listing_due, deferred = due if due is not None else (False, set())
    requests = []
    if reason is None or listing_due:
        requests.append(dg.RunRequest(run_key=f"{service}-{stamp}-listing",
                                      asset_selection=listing_keys(plan), tags=tags))
    keys = context.instance.get_dynamic_partitions(plan.partitions)
    # What a spent budget deferred goes first; the rest only when the interval is up.
    ranges = list(partition_ranges(keys, deferred)) if deferred else []
    if reason is None:
        ranges += partition_ranges(keys, set(keys) - deferred) if deferred else \
            partition_ranges(keys)
    for number, (first, last) in enumerate(ranges):
        requests.append(dg.RunRequest(
            run_key=f"{service}-{stamp}-partitions-{number}",
            asset_selection=partitioned_keys(plan),
            tags={**tags, **range_tags(first, last)}))
    return requests


@dg.schedule(
    name="github_sync_schedule",
    job=github_sync_job,
    cron_schedule=TICK_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Syncs GitHub when its interval has elapsed (sync_status, else "
    "SYNC_INTERVAL_MINUTES) and it is configured and enabled.",
)
def github_sync_schedule(context: dg.ScheduleEvaluationContext,
                         warehouse: WarehouseResource) -> dg.SkipReason | list[dg.RunRequest]:
    return sync_tick(context, "github", warehouse.warehouse)


@dg.schedule(
    name="linear_sync_schedule",
    job=linear_sync_job,
    cron_schedule=TICK_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Syncs Linear when its interval has elapsed (sync_status, else "
    "SYNC_INTERVAL_MINUTES) and it is configured and enabled.",
)
def linear_sync_schedule(context: dg.ScheduleEvaluationContext,
                         warehouse: WarehouseResource) -> dg.SkipReason | list[dg.RunRequest]:
    return sync_tick(context, "linear", warehouse.warehouse)


health_checks_schedule = dg.ScheduleDefinition(
    name="health_checks_schedule",
    job=health_checks_job,
    cron_schedule=HEALTH_CHECKS_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Judges freshness, success rate and connection health between syncs.",
)

jobs = [github_sync_job, linear_sync_job, health_checks_job]
schedules = [github_sync_schedule, linear_sync_schedule, health_checks_schedule]
