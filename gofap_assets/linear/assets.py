"""The Linear assets: teams, users, projects and labels, and each team's issues, comments,
cycles and workflow states as a partition."""

from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from gofap_assets.ingest import PartitionOutcome
from gofap_assets.lib.partitions import SyncConfig, sync_partition_keys
from gofap_assets.lib.runner import run_listing, run_partitions
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.partitions import team_partitions
from gofap_assets.linear.resources import LinearResource
from gofap_assets.linear.sync import (
    sync_labels,
    sync_projects,
    sync_team_comments,
    sync_team_cycles,
    sync_team_issues,
    sync_team_workflow_states,
    sync_teams,
    sync_users,
)
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource

SERVICE = "linear"
_KINDS = {"linear", "sql"}


def _overlap(linear: LinearResource) -> timedelta:
    return timedelta(seconds=linear.cursor_overlap_seconds)


def _api_metadata(client: LinearClient) -> dict[str, object]:
    """Linear's own rate-limit and complexity readings, beside the shared request counts."""
    return {"complexity_halvings": client.complexity_halvings,
            **client.rate_limits.as_metadata()}


def _listing_asset(
    context: dg.AssetExecutionContext, linear: LinearResource, store: Warehouse,
    sync: Callable[[LinearClient], PartitionOutcome], extra: Callable[[], dict[str, object]],
) -> dg.MaterializeResult:
    client = linear.client

    def work() -> PartitionOutcome:
        client.verify_workspace()
        return sync(client)

    return run_listing(context, service=SERVICE, work=work, warehouse=store,
                       stats=client.http.stats, extra=lambda: {**extra(), **_api_metadata(client)})


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
        added, removed = sync_partition_keys(context.instance, team_partitions, listing.keys,
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
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Every issue label of the Linear workspace, workspace-wide and team labels, "
    "archived ones included, read incrementally by `updatedAt`.",
)
def linear_labels(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    store = warehouse.warehouse
    return _listing_asset(
        context, linear, store,
        lambda client: sync_labels(client, store, full=config.full, overlap=_overlap(linear)),
        dict)


def _team_asset(context: dg.AssetExecutionContext, linear: LinearResource,
                warehouse: WarehouseResource, data_type: str,
                sync: Callable[[LinearClient, Warehouse, str], PartitionOutcome]
                ) -> dg.MaterializeResult:
    """Run `sync` for every team partition of the run, each failing on its own."""
    client, store = linear.client, warehouse.warehouse
    try:
        client.verify_workspace()
    except Exception as exc:
        store.record_service_run(SERVICE, items=0, error=str(exc))
        raise
    return run_partitions(
        context, service=SERVICE, data_type=data_type, keys=context.partition_keys,
        work=lambda key: sync(client, store, key), warehouse=store, stats=client.http.stats,
        concurrency=linear.concurrency, extra=lambda: _api_metadata(client))


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
    return _team_asset(context, linear, warehouse, "issue", lambda client, store, key:
                       sync_team_issues(client, store, key, full=config.full,
                                        overlap=_overlap(linear)))


@dg.asset(
    partitions_def=team_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[linear_teams],
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Comments on each team's issues, read incrementally by `updatedAt` (and when "
    "their issue changed, so a comment follows its issue to another team). A sync runs them "
    "after the issues.",
)
def linear_comments(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    return _team_asset(context, linear, warehouse, "comment", lambda client, store, key:
                       sync_team_comments(client, store, key, full=config.full,
                                          overlap=_overlap(linear)))


@dg.asset(
    partitions_def=team_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[linear_teams],
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Each team's cycles, read whole every sync: whether a cycle is active, "
    "upcoming or completed follows the clock, not `updatedAt`.",
)
def linear_cycles(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    return _team_asset(context, linear, warehouse, "cycle", lambda client, store, key:
                       sync_team_cycles(client, store, key, full=config.full))


@dg.asset(
    partitions_def=team_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[linear_teams],
    group_name="linear",
    kinds=_KINDS,
    pool="linear",
    description="Each team's workflow states (the columns issues move between), read whole "
    "every sync: a team has a handful.",
)
def linear_workflow_states(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    linear: LinearResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    return _team_asset(context, linear, warehouse, "workflow_state", lambda client, store, key:
                       sync_team_workflow_states(client, store, key, full=config.full))


linear_assets = [linear_teams, linear_users, linear_projects, linear_labels, linear_issues,
                 linear_comments, linear_cycles, linear_workflow_states]
