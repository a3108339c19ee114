"""A GitHub App's installation token revoked mid-sync, against a stricter GitHub, over real
sockets with four threads in flight: one renewal for all of them, and a clear stop (not a
stream of new tokens) when the freshly minted one is refused too."""

from pathlib import Path

import pytest

from gofap_assets.http import AuthenticationError
from gofap_assets.sandbox.github import GitHubApp
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.github.test_budget import TOKENS, app_client, identity_for, serving
from gofap_assets_tests.reliability.harness import (
    Sleeps,
    direct_sync,
    github_differences,
    small_world,
)

CONCURRENCY = 4


def test_a_revoked_token_is_renewed_once_for_every_thread(tmp_path: Path) -> None:
    world = small_world(81, repos=4)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        recorder.hooks[8] = identity.expire_all  # revoked while several requests are out
        client = app_client(server, world, identity, Sleeps(), org=world.org)
        assert direct_sync(client, store, concurrency=CONCURRENCY) == []
        client.close()
    store.dispose()
    assert len(identity.minted) == 2, "one renewal, shared by every thread"
    assert 1 <= recorder.statuses(401) <= CONCURRENCY, "only the requests already in flight"
    assert github_differences(url, world) == {}


def test_a_freshly_minted_token_refused_stops_with_a_clear_error(tmp_path: Path) -> None:
    world = small_world(82, repos=4)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        recorder.hooks[8] = identity.refuse_all  # suspended: new tokens are refused as well
        client = app_client(server, world, identity, Sleeps(), org=world.org)
        errors = direct_sync(client, store, concurrency=CONCURRENCY)
        sent = len(recorder.seen)
        with pytest.raises(AuthenticationError, match="freshly minted installation token"):
            client.http.request("GET", f"repos/{world.org}/anything")
        assert len(recorder.seen) == sent, "no request after the stop"
        client.close()
        written = store.live_count("github")
    store.dispose()
    assert errors and all("freshly minted installation token" in e or "rejected" in e
                          for e in errors), errors
    assert any("installation may be suspended" in e for e in errors), errors
    assert len(identity.minted) == 2, "one renewal, then a stop: no stream of new tokens"
    # Each thread in flight meets at most one refusal on the revoked token and one on the fresh
    # one (sent before the first answer to it came back); then every thread stops.
    assert recorder.statuses(401) <= 2 * CONCURRENCY, "a thread went on after the stop"
    assert written > 0, "what was imported before the revocation is kept"
    assert all(m.token not in " ".join(errors) for m in identity.minted)
