"""GOFAP_GITHUB_RATE_LIMIT_RESERVE against a stricter GitHub, over real sockets with six threads:
requests in flight count against the reserve before they are sent, and a budget whose window
has ended by our clock (GitHub's clock a little behind) is read before anything is spent, so
the reserve is never crossed, even by one."""

import time
from pathlib import Path

from gofap_assets.github.client import GitHubClient
from gofap_assets.sandbox.github import GitHubApp
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.github.test_budget import TOKENS
from gofap_assets_tests.reliability.harness import direct_sync, github_differences, small_world

RESERVE = 10


def test_the_reserve_is_never_crossed_across_late_rolling_windows(tmp_path: Path) -> None:
    world = small_world(40, repos=4)
    app = GitHubApp(world, token=TOKENS[0], rate_limit=RESERVE + 16, rate_limit_window=2.0)
    budget = app.budget(TOKENS[0])
    budget.late = 1.5  # each window rolls 1.5 s after the reset it announced
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with SandboxServer({"/github": app}, latency_ms=20) as server:
        client = GitHubClient.create(token=TOKENS[0], api_url=f"{server.url}/github",
                                     org=world.org, sleep=time.sleep, timeout=10,
                                     rate_limit_reserve=RESERVE)
        failures = direct_sync(client, store, concurrency=6)
        waits = client.http.stats.snapshot()["rate_limit_waits"]
        client.close()
    store.dispose()
    assert failures == []
    assert waits >= 2, "the sync needed several windows"
    assert budget.lowest >= RESERVE, f"the reserve was crossed: {budget.lowest} left"
    assert github_differences(url, world) == {}
