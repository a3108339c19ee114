"""The Linear assets: teams, users, projects and labels, and each team's issues, comments,
cycles and workflow states as a partition."""

from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from gofap_assets.http import BudgetExhaustedError
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


WorkspaceSync = Callable[..., PartitionOutcome]
"""`sync_users`-like: (client, warehouse, *, full, overlap) -> outcome."""
TeamSync = Callable[[LinearClient, Warehouse, str, bool, timedelta], PartitionOutcome]
"""(client, warehouse, team key, full, overlap) -> that team's outcome."""


def _workspace_asset(name: str, description: str, sync: WorkspaceSync) -> dg.AssetsDefinition:
    """An unpartitioned workspace-wide listing, read incrementally by `updatedAt`."""

    @dg.asset(name=name, group_name="linear", kinds=_KINDS, pool="linear",
              description=description)
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        linear: LinearResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        store = warehouse.warehouse
        return _listing_asset(
            context, linear, store,
            lambda client: sync(client, store, full=config.full, overlap=_overlap(linear)),
            dict)

    return _asset


def _team_asset(name: str, data_type: str, description: str,
                sync: TeamSync) -> dg.AssetsDefinition:
    """A listing per team partition, each team failing on its own; one run for many teams."""

    @dg.asset(
        name=name,
        partitions_def=team_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[linear_teams],
        group_name="linear",
        kinds=_KINDS,
        pool="linear",
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        linear: LinearResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        client, store = linear.client, warehouse.warehouse
        try:
            client.verify_workspace()
        except BudgetExhaustedError:
            pass  # not a failure: each partition's own check below defers it, as a listing would
        except Exception as exc:
            store.record_service_run(SERVICE, items=0, error=str(exc))
            raise
        overlap = _overlap(linear)

        def work(key: str) -> PartitionOutcome:
            client.verify_workspace()  # once per client; the spent credential answers at once
            return sync(client, store, key, config.full, overlap)

        return run_partitions(
            context, service=SERVICE, data_type=data_type, keys=context.partition_keys,
            work=work, warehouse=store, stats=client.http.stats,
            concurrency=linear.concurrency, extra=lambda: _api_metadata(client))

    return _asset


linear_users = _workspace_asset(
    "linear_users",
    "Every user of the Linear workspace, disabled and archived ones included, read "
    "incrementally by `updatedAt`.", sync_users)
linear_projects = _workspace_asset(
    "linear_projects",
    "Every project of the Linear workspace, archived and trashed ones included, read "
    "incrementally by `updatedAt`.", sync_projects)
linear_labels = _workspace_asset(
    "linear_labels",
    "Every issue label of the Linear workspace, workspace-wide and team labels, archived ones "
    "included, read incrementally by `updatedAt`.", sync_labels)

linear_issues = _team_asset(
    "linear_issues", "issue",
    "Issues of each team (archived and trashed ones included), read incrementally by "
    "`updatedAt`; an issue that moves team follows it. A full sync marks vanished issues.",
    lambda client, store, key, full, overlap: sync_team_issues(client, store, key, full=full,
                                                               overlap=overlap))
linear_comments = _team_asset(
    "linear_comments", "comment",
    "Comments on each team's issues, read incrementally by `updatedAt` (and when their issue "
    "changed, so a comment follows its issue to another team). A sync runs them after the "
    "issues.",
    lambda client, store, key, full, overlap: sync_team_comments(client, store, key, full=full,
                                                                 overlap=overlap))
linear_cycles = _team_asset(
    "linear_cycles", "cycle",
    "Each team's cycles, read whole every sync: whether a cycle is active, upcoming or "
    "completed follows the clock, not `updatedAt`.",
    lambda client, store, key, full, _unused: sync_team_cycles(client, store, key, full=full))
linear_workflow_states = _team_asset(
    "linear_workflow_states", "workflow_state",
    "Each team's workflow states (the columns issues move between), read whole every sync: a "
    "team has a handful.",
    lambda client, store, key, full, _unused: sync_team_workflow_states(client, store, key,
                                                                         full=full))


linear_assets = [linear_teams, linear_users, linear_projects, linear_labels, linear_issues,
                 linear_comments, linear_cycles, linear_workflow_states]
