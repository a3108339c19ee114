"""The floor: the least work that syncs the sandbox into SQLite, as a yardstick for the importer.

One sequential loop: follow the pages (GitHub's `Link` header, Linear's `endCursor`), parse each
page, and upsert its rows into an `imported_data` table of the same columns with one
`executemany` and one commit per page. No validation, no change detection, no cursors, no
retries, no orchestration. It needs only httpx and the standard library (and, for Linear, the
importer's GraphQL documents, so that both ask for the same fields); the harness runs it as its
own process and measures its memory alone.

    python bench/floor.py github --db floor.db      # environment as for gofap-import
    python bench/floor.py linear --db floor.db
    python bench/floor.py github --drain            # fetch only: the sandbox's own ceiling
    python bench/floor.py github --db floor.db --etags etags.json   # again: only what changed

The last line of output is ``BENCH_RESULT {json}`` with what it did.
"""

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

SCHEMA = """
CREATE TABLE IF NOT EXISTS imported_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL, data_type TEXT NOT NULL, external_id TEXT NOT NULL,
    parent_key TEXT, title TEXT, description TEXT, state TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    external_created_at TEXT, external_updated_at TEXT,
    raw_data TEXT NOT NULL, processed_data TEXT NOT NULL,
    UNIQUE (source, data_type, external_id)
)
"""
COLUMNS = ("source", "data_type", "external_id", "parent_key", "title", "description", "state",
           "created_at", "updated_at", "external_created_at", "external_updated_at", "raw_data",
           "processed_data")
UPSERT = (
    f"INSERT INTO imported_data ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (source, data_type, external_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[3:] if c != "created_at")
)

Row = tuple[Any, ...]


class Sink:
    """Counts pages and rows; writes them unless draining."""

    def __init__(self, db: str | None, etags: dict[str, str] | None = None) -> None:
        self.requests = self.rows = self.items = self.not_modified = 0
        self.etags = etags
        self.conn = None
        if db:
            self.conn = sqlite3.connect(db, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(SCHEMA)

    def write(self, rows: list[Row]) -> None:
        if self.conn is None or not rows:
            return
        self.rows += len(rows)
        self.conn.execute("BEGIN")
        self.conn.executemany(UPSERT, rows)
        self.conn.execute("COMMIT")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _row(source: str, data_type: str, external_id: str, parent: str | None,
         title: str | None, description: str | None, state: str | None, created: str | None,
         updated: str | None, raw: Any, processed: dict[str, Any]) -> Row:
    now = _now()
    return (source, data_type, external_id, parent, title, description, state, now, now,
            created, updated, json.dumps(raw, ensure_ascii=False),
            json.dumps(processed, ensure_ascii=False))


# -- GitHub --------------------------------------------------------------------------------


def github_pages(client: httpx.Client, path: str, params: dict[str, str],
                 sink: Sink, *, parse: bool = True, conditional: bool = True) -> Iterator[Any]:
    """Each page's JSON (None when not parsing), following `next` links until there is none.

    With `sink.etags`, a listing whose first page answers 304 to its last ETag is skipped whole:
    the least a no-change sync can do.
    """
    url: str | None = path
    query: dict[str, str] | None = params
    etags = sink.etags if conditional else None
    headers = {"If-None-Match": etags[path]} if etags is not None and path in etags else {}
    while url:
        response = client.get(url, params=query, headers=headers)
        sink.requests += 1
        if response.status_code == 304:
            sink.not_modified += 1
            return
        if response.status_code in (403, 404, 409, 410, 451):
            return  # empty, disabled or blocked: nothing to list
        response.raise_for_status()
        if headers or (etags is not None and path not in etags):
            if response.headers.get("etag"):
                etags[path] = response.headers["etag"]  # type: ignore[index]
            headers = {}
        yield response.json() if parse else None
        url, query = response.links.get("next", {}).get("url"), None


def github_repo_rows(client: httpx.Client, full_name: str, sink: Sink, parse: bool) -> None:
    listing = {"state": "all", "per_page": "100"}
    for page in github_pages(client, f"repos/{full_name}/issues", listing, sink, parse=parse):
        if page is None:
            continue
        sink.items += len(page)
        sink.write([_row("github", "issue", str(i["id"]), full_name, i["title"], i.get("body"),
                         i["state"], i["created_at"], i["updated_at"], i,
                         {"number": i["number"], "state": i["state"]})
                    for i in page if "pull_request" not in i])
    for page in github_pages(client, f"repos/{full_name}/pulls", listing, sink, parse=parse):
        if page is None:
            continue
        sink.items += len(page)
        sink.write([_row("github", "pull_request", str(p["id"]), full_name, p["title"],
                         p.get("body"), "merged" if p.get("merged_at") else p["state"],
                         p["created_at"], p["updated_at"], p,
                         {"number": p["number"], "merged_at": p.get("merged_at")})
                    for p in page])
    for page in github_pages(client, f"repos/{full_name}/commits", {"per_page": "100"}, sink,
                             parse=parse):
        if page is None:
            continue
        sink.items += len(page)
        sink.write([_row("github", "commit", f"{full_name}@{c['sha']}", full_name,
                         c["commit"]["message"].split("\n", 1)[0], c["commit"]["message"], None,
                         c["commit"]["author"]["date"], c["commit"]["committer"]["date"], c,
                         {"sha": c["sha"]})
                    for c in page])


def sync_github(sink: Sink, *, parse: bool, threads: int) -> None:
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/") + "/"
    headers = {"Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
               "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    org = os.environ["GITHUB_ORG"]
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        names = []
        for page in github_pages(client, f"orgs/{org}/repos",
                                 {"type": "all", "per_page": "100"}, sink,
                                 conditional=False):  # the names are needed every time
            sink.items += len(page)
            names += [r["full_name"] for r in page]
            sink.write([_row("github", "repository", str(r["id"]), org, r["full_name"],
                             r.get("description"), "archived" if r["archived"] else "active",
                             r["created_at"], r["updated_at"], r, {"name": r["name"]})
                        for r in page])
        if threads <= 1:
            for name in names:
                github_repo_rows(client, name, sink, parse)
        else:  # draining only: many connections, to find what the sandbox can serve
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda n: github_repo_rows(client, n, sink, parse), names))


# -- Linear --------------------------------------------------------------------------------



def _linear_listing(data_type: str) -> tuple[str, str]:
    """The importer's own GraphQL document for a listing (so both ask for the same fields and
    the sandbox does the same work), and the root field holding the page."""
    from gofap_assets.linear import queries

    listing = {"team": queries.TEAMS, "user": queries.USERS, "project": queries.PROJECTS,
               "issue": queries.ISSUES}[data_type]
    return listing.document, listing.field


def linear_nodes(client: httpx.Client, data_type: str, sink: Sink,
                 query_filter: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
    document, field = _linear_listing(data_type)
    after = None
    while True:
        response = client.post("", json={"query": document, "variables": {
            "first": 250, "after": after, "filter": query_filter}})
        sink.requests += 1
        response.raise_for_status()
        body = response.json()
        if body.get("errors") and not body.get("data"):
            raise RuntimeError(f"Linear answered errors: {body['errors'][:1]}")
        connection = body["data"][field]
        yield connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def sync_linear(sink: Sink) -> None:
    url = os.environ.get("LINEAR_API_URL", "https://api.linear.app/graphql")
    headers = {"Authorization": os.environ["LINEAR_API_KEY"]}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        keys = []
        for data_type in ("team", "user", "project"):
            for nodes in linear_nodes(client, data_type, sink):
                sink.items += len(nodes)
                if data_type == "team":
                    keys += [n["key"] for n in nodes]
                sink.write([_row("linear", data_type, n["id"], n.get("key"),
                                 n.get("name"), n.get("description") or n.get("email"),
                                 n.get("state"), n["createdAt"], n["updatedAt"], n, {})
                            for n in nodes])
        for key in keys:
            for nodes in linear_nodes(client, "issue", sink, {"team": {"key": {"eq": key}}}):
                sink.items += len(nodes)
                sink.write([_row("linear", "issue", n["id"], key, n["title"],
                                 n.get("description"), (n.get("state") or {}).get("name"),
                                 n["createdAt"], n["updatedAt"], n,
                                 {"identifier": n["identifier"], "priority": n["priority"]})
                            for n in nodes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("service", choices=("github", "linear"))
    parser.add_argument("--db", help="SQLite file to upsert into")
    parser.add_argument("--drain", action="store_true",
                        help="fetch every page without parsing or writing (GitHub)")
    parser.add_argument("--threads", type=int, default=1, help="concurrent repositories "
                        "when draining")
    parser.add_argument("--etags", help="JSON file of each GitHub listing's last ETag: sent "
                        "as If-None-Match, updated afterwards (a no-change sync)")
    args = parser.parse_args(argv)
    if not args.drain and not args.db:
        parser.error("--db is required unless --drain")
    started = time.perf_counter()
    etags = None
    if args.etags:
        etags = json.loads(Path(args.etags).read_text()) if Path(args.etags).exists() else {}
    sink = Sink(None if args.drain else args.db, etags)
    if args.service == "github":
        sync_github(sink, parse=not args.drain, threads=args.threads if args.drain else 1)
    else:
        sync_linear(sink)
    if args.etags:
        Path(args.etags).write_text(json.dumps(etags))
    result = {"seconds": round(time.perf_counter() - started, 3), "requests": sink.requests,
              "items": sink.items, "rows_written": sink.rows, "not_modified": sink.not_modified}
    print("BENCH_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
