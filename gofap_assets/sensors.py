"""Sensors: first syncs of newly discovered partitions, and recording of failed runs.

Removed repositories and teams need no sensor: the listing assets delete their partition keys
after a complete listing, and their warehouse rows are kept.
"""

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from gofap_assets.lib.scheduling import (
    SERVICE_TAG,
    failures_recorded_since,
    never_synced,
    partition_ranges,
    partitioned_keys,
    range_tags,
    service_of_asset,
    service_state,
)
from gofap_assets.logs import redact
from gofap_assets.schedules import SYNC_JOBS
from gofap_assets.sync_runner import PLANS, TRIGGER_TAG
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.webhooks.sensor import webhook_sensor

DISCOVERY_INTERVAL_SECONDS = 60


def discovery_tick(context: dg.SensorEvaluationContext, service: str,
                   warehouse: Warehouse) -> dg.SensorResult | dg.SkipReason:
    """First-sync runs for partitions no partitioned asset has tried yet, each requested once.

    The cursor holds the keys already requested that have not been tried yet, so it stays as
    small as the work in flight rather than growing with every repository ever seen.
    """
    state = service_state(warehouse, service)
    reason = state.inactive_reason()
    if reason is not None:
        return dg.SkipReason(f"{reason}. {state.settings_summary()}")
    plan = PLANS[service]
    keys = context.instance.get_dynamic_partitions(plan.partitions)
    fresh = never_synced(warehouse, service, keys)
    pending = set(json.loads(context.cursor)) & fresh if context.cursor else set()
    wanted = fresh - pending
    if not wanted:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"no new {plan.partitions} partitions ({len(keys)} known, {len(pending)} first "
            "syncs requested and not yet tried)"), cursor=json.dumps(sorted(pending)))
    requests = [
        dg.RunRequest(run_key=f"{service}-first-sync-{first}-{last}",
                      asset_selection=partitioned_keys(plan),
                      tags={SERVICE_TAG: service, TRIGGER_TAG: "sensor",
                            **range_tags(first, last)})
        for first, last in partition_ranges(keys, wanted)]
    context.log.info(f"{service}: first sync of {len(wanted)} new partitions in "
                     f"{len(requests)} runs")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(pending | wanted)))


@dg.sensor(
    name="github_partition_discovery_sensor",
    job=SYNC_JOBS["github"],
    minimum_interval_seconds=DISCOVERY_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the first sync of repositories the listing has just discovered, "
    "without waiting for the next scheduled sync.",
)
def github_partition_discovery_sensor(context: dg.SensorEvaluationContext,
                                      warehouse: WarehouseResource
                                      ) -> dg.SensorResult | dg.SkipReason:
    return discovery_tick(context, "github", warehouse.warehouse)


@dg.sensor(
    name="linear_partition_discovery_sensor",
    job=SYNC_JOBS["linear"],
    minimum_interval_seconds=DISCOVERY_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the first sync of Linear teams the listing has just discovered, "
    "without waiting for the next scheduled sync.",
)
def linear_partition_discovery_sensor(context: dg.SensorEvaluationContext,
                                      warehouse: WarehouseResource
                                      ) -> dg.SensorResult | dg.SkipReason:
    return discovery_tick(context, "linear", warehouse.warehouse)


def _root_message(error: Any) -> str:
    """The message of the exception the user's code raised, not of Dagster's wrapper around it."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def _failed_services(context: dg.RunFailureSensorContext) -> dict[str, list[str]]:
    """The services whose sync steps failed, with each failure's message.

    A failed check step is not a failed sync (its result is shown on the asset), so only asset
    steps count; a run that failed before any step ran is charged to the assets it selected.
    """
    failures: dict[str, list[str]] = {}
    for event in context.get_step_failure_events():
        service = service_of_asset(event.step_key or "")
        if service is None:
            continue
        data = event.step_failure_data
        user = data.user_failure_data if data else None
        message = (user.description if user and user.description else
                   _root_message(data.error) if data and data.error else "failed")
        failures.setdefault(service, []).append(f"{event.step_key}: {message}")
    if failures or context.get_step_failure_events():
        return failures
    run = context.dagster_run
    selected = {key.to_user_string() for key in run.asset_selection or ()}
    services = {s for s in map(service_of_asset, selected) if s}
    if not services and run.tags.get(SERVICE_TAG) in PLANS:
        services = {run.tags[SERVICE_TAG]}
    message = context.failure_event.message or "run failed"
    return {service: [message] for service in services}


def _run_start(context: dg.RunFailureSensorContext) -> datetime | None:
    record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    if record is None:
        return None
    if record.start_time:
        return datetime.fromtimestamp(record.start_time, UTC)
    return record.create_timestamp


@dg.run_failure_sensor(
    name="sync_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records a failed sync run in sync_status, unless its asset already did, so "
    "`gofap-import status` and the success-rate check see every failure exactly once.",
)
def sync_failure_sensor(context: dg.RunFailureSensorContext,
                        warehouse: WarehouseResource) -> None:
    store = warehouse.warehouse
    run_id = context.dagster_run.run_id
    started = _run_start(context)
    for service, messages in _failed_services(context).items():
        if started is not None and failures_recorded_since(store, service, started) >= len(
                messages):
            context.log.info(f"{service}: run {run_id} failure already recorded by its assets")
            continue
        error = redact(f"run {run_id} failed: " + "; ".join(messages))
        store.record_service_run(service, items=0, error=error)
        context.log.info(f"{service}: recorded failure of run {run_id}")


sensors = [github_partition_discovery_sensor, linear_partition_discovery_sensor,
           sync_failure_sensor, webhook_sensor]
