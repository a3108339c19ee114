"""The importer's GitHub sync without Dagster: the same functions, called in a thread pool.

What `gofap-import sync --service github` does, minus the orchestration: list the repositories,
then for each listing (issues, pull requests, commits) run `sync_repository_endpoint` over every
repository with `GOFAP_CONCURRENCY` threads, as the partitioned assets do. The harness compares
the two to price the Dagster path. Environment as for gofap-import.

The last line of output is ``BENCH_RESULT {json}``.
"""

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="re-read everything")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from gofap_assets.config import Settings
    from gofap_assets.github.client import GitHubClient
    from gofap_assets.github.sync import (
        COMMITS,
        ISSUES,
        PULL_REQUESTS,
        Endpoint,
        sync_repositories,
        sync_repository_endpoint,
    )
    from gofap_assets.warehouse import Warehouse

    settings = Settings.from_env()
    assert settings.github_token is not None, "GITHUB_TOKEN is not set"
    warehouse = Warehouse(settings.database_url)
    if not warehouse.schema_ready():
        warehouse.create_schema()
    client = GitHubClient.create(
        token=settings.github_token.get_secret_value(), api_url=settings.github_api_url,
        org=settings.github_org, timeout=settings.timeout_seconds,
        max_retries=settings.max_retries, max_connections=max(settings.concurrency * 2, 4))
    imported = time.perf_counter()
    listing = sync_repositories(client, warehouse, full=args.full)
    written, failed = listing.outcome.counts.written, 0

    def work(endpoint: Endpoint, repo: str) -> int | None:
        try:
            return sync_repository_endpoint(client, warehouse, endpoint, repo,
                                            full=args.full).counts.written
        except Exception:  # as the Dagster path does: one repository never stops the rest
            return None

    with ThreadPoolExecutor(settings.concurrency) as pool:
        for endpoint in (ISSUES, PULL_REQUESTS, COMMITS):
            for count in pool.map(lambda repo, e=endpoint: work(e, repo), listing.names):
                written += count or 0
                failed += count is None
    client.close()
    warehouse.dispose()
    finished = time.perf_counter()
    print("BENCH_RESULT " + json.dumps({
        "seconds": round(finished - started, 3), "sync_seconds": round(finished - imported, 3),
        "partitions": len(listing.names), "rows_written": written, "failed": failed,
        "requests": client.http.stats.requests}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
