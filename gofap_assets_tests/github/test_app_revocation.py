"""A GitHub App's installation token revoked mid-sync, against a stricter GitHub, over real
sockets with four threads in flight: one renewal for all of them, and a clear stop (not a
stream of new tokens) when the freshly minted one is refused too."""

import threading
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
    # The requests in flight on the revoked token, and one on the fresh token: the other threads
    # wait for that one's answer before sending on a token nothing has accepted yet.
    assert recorder.statuses(401) <= CONCURRENCY + 1, "one refusal of the fresh token, not one each"
    assert written > 0, "what was imported before the revocation is kept"
    assert all(m.token not in " ".join(errors) for m in identity.minted)


def test_threads_wait_for_the_first_answer_to_a_token_minted_after_a_401() -> None:
    """Until an answer accepts the fresh token (or refuses it), only one request is out on it."""
    world = small_world(83, repos=1)
    identity = identity_for(world)
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, _recorder):
        client = app_client(server, world, identity, Sleeps(), org=world.org)
        app = client.app
        assert app is not None
        revoked = app.authorization()
        assert app.renew(revoked)  # a 401: one renewal
        fresh = app.authorization()  # this request proves the fresh token
        assert fresh != revoked

        def waiter(answers: list[object], done: threading.Event) -> threading.Thread:
            def run() -> None:
                try:
                    answers.append(app.authorization())
                except AuthenticationError as exc:
                    answers.append(exc)
                done.set()
            thread = threading.Thread(target=run)
            thread.start()
            return thread

        answers: list[object] = []
        done = threading.Event()
        thread = waiter(answers, done)
        assert not done.wait(0.5), "a second request went out on a token nothing accepted"
        app.accepted(fresh)
        assert done.wait(10) and answers == [fresh]
        thread.join()

        assert app.renew(fresh)  # revoked again later: renewed once more, then refused
        proving = app.authorization()
        answers, done = [], threading.Event()
        thread = waiter(answers, done)
        assert not done.wait(0.5)
        with pytest.raises(AuthenticationError, match="freshly minted installation token"):
            app.renew(proving)
        assert done.wait(10) and isinstance(answers[0], AuthenticationError)
        thread.join()
        client.close()
    assert len(identity.minted) == 3
