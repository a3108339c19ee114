"""A listing the budget interrupted, resumed, over real sockets: it goes on from its saved page,
every listing the budget stopped before it began keeps its ETag, and once the resumed listing
completes its first page is asked with If-None-Match again (a 304 on a sync that changes
nothing)."""

from pathlib import Path

from gofap_assets.github.client import GitHubClient
from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.github.test_budget import TOKENS
from gofap_assets_tests.reliability.harness import Sleeps, direct_sync, github_differences

Seen = tuple[str, dict[str, list[str]], bool, int]
"""(path, query, sent If-None-Match, status)"""


class Watcher:
    """The emulator, recording each request; can spend the budget before a chosen request."""

    def __init__(self, inner: GitHubApp) -> None:
        self.inner, self.world = inner, inner.world
        self.seen: list[Seen] = []
        self.spend_before: tuple[str, str] | None = None
        """(path suffix, page): spend the whole budget just before that request, once."""

    def handle(self, request: Request) -> Response:
        if self.spend_before is not None:
            suffix, page = self.spend_before
            if request.path.endswith(suffix) and request.query.get("page") == [page]:
                self.spend_before = None
                budget = self.inner.budget(TOKENS[0])
                budget.used = budget.limit
        response = self.inner.handle(request)
        self.seen.append((request.path, dict(request.query),
                          "if-none-match" in request.headers, response.status))
        return response


def _listings(seen: list[Seen]) -> dict[str, list[Seen]]:
    """Requests per repository listing (path), in order."""
    found: dict[str, list[Seen]] = {}
    for entry in seen:
        if entry[0].startswith("/repos/") and entry[0].count("/") >= 4:
            found.setdefault(entry[0], []).append(entry)
    return found


def test_a_resumed_listing_goes_on_and_every_listing_keeps_its_etag(tmp_path: Path) -> None:
    world = GitHubWorld(91, repos=1, issues_per_repo=1500, commits_per_repo=5,
                        vanished_repo=False)
    app = GitHubApp(world, token=TOKENS[0], rate_limit=1_000_000)
    watcher = Watcher(app)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with SandboxServer({"/github": watcher}) as server:
        def sync() -> list[str]:
            client = GitHubClient.create(token=TOKENS[0], api_url=f"{server.url}/github",
                                         org=world.org, sleep=Sleeps(), timeout=10)
            try:
                return direct_sync(client, store, concurrency=1)
            finally:
                client.close()

        assert sync() == []
        start = len(watcher.seen)
        assert sync() == []  # every listing settled: a 304 where the API has an ETag
        with_etags = {path for path, seen in _listings(watcher.seen[start:]).items()
                      if seen[0][3] == 304}
        world.mutate(0.7, seed=2)  # enough pull requests change to fill two pages
        watcher.spend_before = ("/pulls", "2")
        start = len(watcher.seen)
        failures = sync()
        interrupted = _listings(watcher.seen[start:])
        assert failures and watcher.spend_before is None, "the budget ran out on pulls page 2"
        pulls = next(p for p in interrupted if p.endswith("/pulls"))

        budget = app.budget(TOKENS[0])
        budget.used = 0  # the hour is over
        start = len(watcher.seen)
        assert sync() == []
        resumed = _listings(watcher.seen[start:])

        start = len(watcher.seen)
        assert sync() == []
        settled = _listings(watcher.seen[start:])
    store.dispose()
    assert github_differences(url, world, ignore_deleted=True) == {}

    assert resumed[pulls][0][1].get("page") == ["2"], "resumed from its saved page"
    never_begun = [path for path in resumed if path not in interrupted and path in with_etags]
    assert never_begun, "the budget stopped some listings before their first request"
    for path in never_begun:
        assert resumed[path][0][2], f"{path} lost its ETag to the deferral"
    assert settled[pulls][0][2] and settled[pulls][0][3] == 304, \
        "the resumed listing's first-page ETag was kept when it completed"
    assert len(settled[pulls]) == 1
