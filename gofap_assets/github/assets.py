"""The GitHub assets: the repository listing, and each repository's issues, pull requests,
commits, comments, reviews, labels, milestones and releases."""

from collections.abc import Callable

import dagster as dg

from gofap_assets.github.client import GitHubClient
from gofap_assets.github.partitions import repository_partitions
from gofap_assets.github.resources import GitHubResource
from gofap_assets.github.sync import (
    COMMITS,
    ISSUE_COMMENTS,
    ISSUES,
    LABELS,
    MILESTONES,
    PULL_REQUESTS,
    RELEASES,
    REVIEW_COMMENTS,
    REVIEWS_DATA_TYPE,
    Endpoint,
    sync_pull_request_reviews,
    sync_repositories,
    sync_repository_endpoint,
)
from gofap_assets.ingest import PartitionOutcome
from gofap_assets.lib.partitions import SyncConfig, sync_partition_keys
from gofap_assets.lib.runner import run_listing, run_partitions
from gofap_assets.warehouse import Warehouse
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


RepositoryWork = Callable[[GitHubClient, Warehouse, str, bool], PartitionOutcome]
"""Sync one repository's listing: (client, warehouse, repository, full)."""


def _endpoint_work(endpoint: Endpoint) -> RepositoryWork:
    return lambda client, store, repo, full: sync_repository_endpoint(client, store, endpoint,
                                                                      repo, full=full)


def _repository_asset(name: str, data_type: str, work: RepositoryWork,
                      description: str) -> dg.AssetsDefinition:
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
            context, service=SERVICE, data_type=data_type, keys=context.partition_keys,
            work=lambda repo: work(client, store, repo, config.full),
            warehouse=store, stats=client.http.stats, concurrency=github.concurrency)

    return _asset


def _listing_asset(name: str, endpoint: Endpoint, description: str) -> dg.AssetsDefinition:
    return _repository_asset(name, endpoint.data_type, _endpoint_work(endpoint), description)


github_issues = _listing_asset(
    "github_issues", ISSUES,
    "Issues of each repository (state=all; pull requests in the listing are left out), "
    "read incrementally with `since`.")
github_pull_requests = _listing_asset(
    "github_pull_requests", PULL_REQUESTS,
    "Pull requests of each repository, newest update first, read until the last sync's cursor.")
github_commits = _listing_asset(
    "github_commits", COMMITS,
    "Commits of each repository's default branch, read incrementally with `since`; an empty "
    "repository is zero commits, not a failure.")
github_issue_comments = _listing_asset(
    "github_issue_comments", ISSUE_COMMENTS,
    "Conversation comments on the issues and pull requests of each repository, from the "
    "repository-wide listing, read incrementally with `since`.")
github_review_comments = _listing_asset(
    "github_review_comments", REVIEW_COMMENTS,
    "Review comments on the diffs of each repository's pull requests, from the repository-wide "
    "listing, read incrementally with `since`.")
github_pull_request_reviews = _repository_asset(
    "github_pull_request_reviews", REVIEWS_DATA_TYPE,
    lambda client, store, repo, full: sync_pull_request_reviews(client, store, repo, full=full),
    "Reviews of each repository's pull requests, read only for the pull requests whose row "
    "changed since the last sync (there is no repository-wide listing): no request at all "
    "while nothing changed. Not a Dagster dependency of github_pull_requests, so that one "
    "failing repository there does not stop every review; `gofap-import sync` runs it after.")
github_labels = _listing_asset(
    "github_labels", LABELS,
    "Labels of each repository; the whole listing, answered 304 while unchanged.")
github_milestones = _listing_asset(
    "github_milestones", MILESTONES,
    "Milestones of each repository, open and closed (state=all); answered 304 while unchanged.")
github_releases = _listing_asset(
    "github_releases", RELEASES,
    "Releases of each repository, drafts included where the credential has push access; "
    "answered 304 while unchanged.")

github_assets = [github_repositories, github_issues, github_pull_requests, github_commits,
                 github_issue_comments, github_pull_request_reviews, github_review_comments,
                 github_labels, github_milestones, github_releases]
