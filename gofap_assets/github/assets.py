"""The GitHub assets: the repository listing, and per-repository issues, pulls and commits."""

import dagster as dg

from gofap_assets.github.partitions import repository_partitions
from gofap_assets.github.resources import GitHubResource
from gofap_assets.github.sync import (
    COMMITS,
    ISSUES,
    PULL_REQUESTS,
    Endpoint,
    sync_repositories,
    sync_repository_endpoint,
)
from gofap_assets.ingest import PartitionOutcome
from gofap_assets.lib.partitions import SyncConfig, sync_partition_keys
from gofap_assets.lib.runner import run_listing, run_partitions
from gofap_assets.warehouse.resource import WarehouseResource

SERVICE = "github"


@dg.asset(
    group_name="github",
    kinds={"github", "sql"},
    pool="github",
    description="Every repository of GITHUB_ORG (or the token owner's). Keeps the repository "
    "partitions of the other GitHub assets in step with the listing.",
)
def github_repositories(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    github: GitHubResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    client, store = github.client, warehouse.warehouse
    changes: dict[str, object] = {}

    def work() -> PartitionOutcome:
        listing = sync_repositories(client, store, full=config.full)
        added, removed = sync_partition_keys(context.instance, repository_partitions,
                                             listing.names, complete=listing.outcome.complete)
        if added or removed:
            context.log.info(f"repository partitions: {len(added)} added, {len(removed)} "
                             "removed")
        changes.update(repositories_listed=len(listing.names), partitions_added=len(added),
                       partitions_removed=len(removed))
        return listing.outcome

    return run_listing(context, service=SERVICE, work=work, warehouse=store,
                       stats=client.http.stats, extra=lambda: changes,
                       deferred_listing=("repository", client.org or "*"))


def _repository_asset(name: str, endpoint: Endpoint, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        partitions_def=repository_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[github_repositories],
        group_name="github",
        kinds={"github", "sql"},
        pool="github",
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        github: GitHubResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        client, store = github.client, warehouse.warehouse
        return run_partitions(
            context, service=SERVICE, data_type=endpoint.data_type,
            keys=context.partition_keys,
            work=lambda repo: sync_repository_endpoint(client, store, endpoint, repo,
                                                       full=config.full),
            warehouse=store, stats=client.http.stats, concurrency=github.concurrency)

    return _asset


github_issues = _repository_asset(
    "github_issues", ISSUES,
    "Issues of each repository (state=all; pull requests in the listing are left out), "
    "read incrementally with `since`.")
github_pull_requests = _repository_asset(
    "github_pull_requests", PULL_REQUESTS,
    "Pull requests of each repository, newest update first, read until the last sync's cursor.")
github_commits = _repository_asset(
    "github_commits", COMMITS,
    "Commits of each repository's default branch, read incrementally with `since`; an empty "
    "repository is zero commits, not a failure.")

github_assets = [github_repositories, github_issues, github_pull_requests, github_commits]
