"""The peer: dlt's `rest_api` source over the same four GitHub listings, into SQLite.

Repositories, issues (incremental on `updated_at` through `since`), pull requests and commits of
one organization; merge write disposition on each listing's primary key; dlt's `sqlalchemy`
destination on a SQLite file. Nested objects stay JSON columns (`max_table_nesting=0`), so dlt
writes one row per entity like the importer rather than also unnesting labels and assignees.
Run as its own process by the harness, with the importer's environment variables:

    python bench/dlt_peer.py --db dlt.db --pipelines-dir /tmp/dlt

The last line of output is ``BENCH_RESULT {json}``.
"""

import argparse
import json
import os
import sys
import time

TABLES = ("repositories", "issues", "pulls", "commits")


def github_config(api_url: str, token: str, org: str) -> dict:
    """The `rest_api` configuration: what a dlt user would write for these listings."""
    per_repo = {"type": "resolve", "resource": "repositories", "field": "name"}
    gone = [{"status_code": status, "action": "ignore"} for status in (403, 404, 451)]
    return {
        "client": {
            "base_url": api_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": token},
            "headers": {"Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"},
            "paginator": "header_link",
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            "max_table_nesting": 0,
            "endpoint": {"params": {"per_page": 100}},
        },
        "resources": [
            {"name": "repositories",
             "endpoint": {"path": f"orgs/{org}/repos", "params": {"type": "all"}}},
            {"name": "issues",
             "endpoint": {
                 "path": f"repos/{org}/{{repo}}/issues",
                 "params": {
                     "repo": per_repo, "state": "all", "sort": "updated", "direction": "desc",
                     "since": {"type": "incremental", "cursor_path": "updated_at",
                               "initial_value": "1970-01-02T00:00:00Z"},
                 },
                 "response_actions": [{"status_code": 410, "action": "ignore"}, *gone],
             },
             # The issues listing includes pull requests; they are not issues.
             "processing_steps": [{"filter": lambda item: "pull_request" not in item}]},
            {"name": "pulls",
             "endpoint": {"path": f"repos/{org}/{{repo}}/pulls",
                          "params": {"repo": per_repo, "state": "all"},
                          "response_actions": gone}},
            {"name": "commits",
             "primary_key": "sha",
             "endpoint": {"path": f"repos/{org}/{{repo}}/commits",
                          "params": {"repo": per_repo},
                          "response_actions": [{"status_code": 409, "action": "ignore"},
                                               *gone]}},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="SQLite file of the destination")
    parser.add_argument("--pipelines-dir", required=True, help="dlt's working directory")
    args = parser.parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    started = time.perf_counter()
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(github_config(os.environ["GITHUB_API_URL"],
                                           os.environ["GITHUB_TOKEN"], os.environ["GITHUB_ORG"]))
    pipeline = dlt.pipeline(
        pipeline_name="bench_github",
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{args.db}"),
        dataset_name="github", pipelines_dir=args.pipelines_dir, progress="log"
        if os.environ.get("BENCH_DLT_PROGRESS") else None)
    pipeline.run(source)
    rows = {}
    with pipeline.sql_client() as client:
        for table in TABLES:
            try:
                rows[table] = client.execute_sql(
                    f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")[0][0]
            except Exception:  # a listing with no rows has no table
                rows[table] = 0
    result = {"seconds": round(time.perf_counter() - started, 3), "rows": rows,
              "rows_written": sum(rows.values())}
    print("BENCH_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
