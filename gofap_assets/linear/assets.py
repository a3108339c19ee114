"""The Linear assets: teams, users and projects, and each team's issues as a partition."""

from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from gofap_assets.github.assets import SyncConfig
from gofap_assets.ingest import PartitionOutcome
from gofap_assets.lib.runner import live_row_count, run_partitions
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.partitions import sync_team_partition_keys, team_partitions
from gofap_assets.linear.resources import LinearResource
from gofap_assets.linear.sync import sync_projects, sync_team_issues, sync_teams, sync_users
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource

SERVICE = "linear"
_KINDS = {"linear", "sql"}


def _overlap(linear: LinearResource) -> timedelta:
    return timedelta(seconds=linear.cursor_overlap_seconds)


def _api_metadata(client: LinearClient, before: dict[str, int | None]) -> dict[str, object]:
    """Requests made since `before`, and the rate-limit headers Linear sent at run time."""
    after = client.http.stats.snapshot()
    return {
        "requests": int(after["requests"] or 0) - int(before["requests"] or 0),
        "retries": int(after["retries"] or 0) - int(before["retries"] or 0),
        "rate_limit_waits": int(after["rate_limit_waits"] or 0)
        - int(before["rate_limit_waits"] or 0),
        "rate_limit_remaining": after["rate_limit_remaining"]
        if after["rate_limit_remaining"] is not None else -1,
        "complexity_halvings": client.complexity_halvings,
        **client.rate_limits.as_metadata(),
    }


def _listing_asset(
    context: dg.AssetExecutionContext, linear: LinearResource, store: Warehouse,
    sync: Callable[[LinearClient], PartitionOutcome], extra: Callable[[], dict[str, object]],
) -> dg.MaterializeResult:
    """Run one unpartitioned listing and record it in `sync_status`, success or failure."""
    client = linear.client
    before = client.http.stats.snapshot()
    try:
        client.verify_workspace()
        outcome = sync(client)
    except Exception as exc:
        store.record_service_run(SERVICE, items=0, error=str(exc))
        raise
    counts = outcome.counts
    store.record_service_run(SERVICE, items=counts.written, error=None)
    context.log.info(f"{outcome.data_type}: {counts.inserted} new, {counts.updated} updated, "
                     f"{counts.unchanged} unchanged, {counts.quarantined} quarantined, "
                     f"{counts.deleted} marked deleted")
    return dg.MaterializeResult(metadata={
        **counts.as_metadata(),
        "dagster/row_count": live_row_count(store, SERVICE, outcome.data_type),
        **extra(),
        **_api_metadata(client, before),
    })


@dg.asset(
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Every team of the Linear workspace, archived ones included. Keeps the team "
    "partitions of `linear_issues` in step with the listing.",
)
def linear_teams(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    store = warehouse.warehouse
    changes: dict[str, object] = {}

    def sync(client: LinearClient) -> PartitionOutcome:
        listing = sync_teams(client, store, full=config.full)
        added, removed = sync_team_partition_keys(context.instance, listing.keys,
                                                  complete=listing.outcome.complete)
        if added or removed:
            context.log.info(f"team partitions: {len(added)} added, {len(removed)} removed")
        changes.update(teams_listed=len(listing.keys), partitions_added=len(added),
                       partitions_removed=len(removed))
        return listing.outcome

    return _listing_asset(context, linear, store, sync, lambda: changes)


@dg.asset(
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Every user of the Linear workspace, disabled and archived ones included, read "
    "incrementally by `updatedAt`.",
)
def linear_users(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    store = warehouse.warehouse
    return _listing_asset(
        context, linear, store,
        lambda client: sync_users(client, store, full=config.full, overlap=_overlap(linear)),
        dict)


@dg.asset(
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Every project of the Linear workspace, archived and trashed ones included, "
    "read incrementally by `updatedAt`.",
)
def linear_projects(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    store = warehouse.warehouse
    return _listing_asset(
        context, linear, store,
        lambda client: sync_projects(client, store, full=config.full, overlap=_overlap(linear)),
        dict)


@dg.asset(
    partitions_def=team_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[linear_teams],
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Issues of each team (archived and trashed ones included), read incrementally "
    "by `updatedAt`; an issue that moves team follows it. A full sync marks vanished issues.",
)
def linear_issues(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    client, store = linear.client, warehouse.warehouse
    before = client.http.stats.snapshot()
    try:
        client.verify_workspace()
    except Exception as exc:
        store.record_service_run(SERVICE, items=0, error=str(exc))
        raise
    try:
        result = run_partitions(
            context, service=SERVICE, data_type="issue", keys=context.partition_keys,
            work=lambda key: sync_team_issues(client, store, key, full=config.full,
                                              overlap=_overlap(linear)),
            warehouse=store, stats=client.http.stats, concurrency=linear.concurrency)
    except dg.Failure as failure:
        raise dg.Failure(description=failure.description,
                         metadata={**failure.metadata, **client.rate_limits.as_metadata()},
                         ) from None
    api = _api_metadata(client, before)
    return dg.MaterializeResult(metadata={
        **(result.metadata or {}),
        "rate_limit_waits": api["rate_limit_waits"],
        "complexity_halvings": api["complexity_halvings"],
        **client.rate_limits.as_metadata(),
    })


linear_assets = [linear_teams, linear_users, linear_projects, linear_issues]
