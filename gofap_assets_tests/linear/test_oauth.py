"""Linear with an OAuth access token: sent as `Bearer`, the same RATELIMITED handling, and the
same stop-and-defer rule when the wait would be too long."""

import time
from pathlib import Path

import httpx
import pytest
import respx

from gofap_assets.cli.main import main
from gofap_assets.config import ConfigError, Settings
from gofap_assets.http import BudgetExhaustedError
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.queries import ORGANIZATION
from gofap_assets.sandbox.linear import LinearApp
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets_tests.reliability.harness import apply_env, linear_differences, linear_world

API = "https://linear.example.test/graphql"
OAUTH = "lin_oauth_0a1b2c3d4e5f60718293a4b5c6d7e8f9sandbox"
ORG = {"data": {"organization": {"id": "o-1", "name": "GOFAP", "urlKey": "gofap"}}}
RATELIMITED = {"errors": [{"message": "Rate limit exceeded",
                           "extensions": {"code": "RATELIMITED", "type": "ratelimited"}}]}


@respx.mock
def test_the_oauth_token_is_sent_as_bearer_and_a_short_limit_is_waited_for() -> None:
    waits: list[float] = []
    route = respx.post(API).mock(side_effect=[
        httpx.Response(400, json=RATELIMITED, headers={"retry-after": "5"}),
        httpx.Response(200, json=ORG)])
    client = LinearClient.create(oauth_token=OAUTH, api_url=API, sleep=waits.append)
    client.query(ORGANIZATION)
    assert route.calls[0].request.headers["authorization"] == f"Bearer {OAUTH}"
    assert waits == [5.0]


@respx.mock
def test_a_limit_longer_than_the_wait_stops_with_the_budget_error() -> None:
    reset_ms = int((time.time() + 3600) * 1000)
    respx.post(API).mock(return_value=httpx.Response(400, json=RATELIMITED, headers={
        "x-ratelimit-requests-remaining": "0", "x-ratelimit-requests-reset": str(reset_ms)}))
    waits: list[float] = []
    client = LinearClient.create(oauth_token=OAUTH, api_url=API, sleep=waits.append,
                                 max_rate_limit_wait=900)
    with pytest.raises(BudgetExhaustedError) as info:
        client.query(ORGANIZATION)
    assert abs(info.value.until.timestamp() - reset_ms / 1000) < 5 and waits == []
    assert OAUTH not in str(info.value)


@respx.mock
def test_a_rejected_oauth_token_names_its_variable() -> None:
    respx.post(API).mock(return_value=httpx.Response(400, json={"errors": [{
        "message": "Authentication required, not authenticated",
        "extensions": {"code": "AUTHENTICATION_ERROR", "type": "authentication error"}}]}))
    client = LinearClient.create(oauth_token=OAUTH, api_url=API)
    with pytest.raises(Exception, match="LINEAR_OAUTH_TOKEN") as info:
        client.query(ORGANIZATION)
    assert OAUTH not in str(info.value)


def test_a_key_and_a_token_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="LINEAR_API_KEY and LINEAR_OAUTH_TOKEN"):
        Settings.from_env({"LINEAR_API_KEY": "lin_api_x", "LINEAR_OAUTH_TOKEN": OAUTH})
    settings = Settings.from_env({"LINEAR_OAUTH_TOKEN": OAUTH})
    assert settings.linear_enabled and "OAuth" in settings.linear_credentials


def test_a_sync_with_an_oauth_token_reaches_the_ground_truth(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    world = linear_world(61)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    app = LinearApp(world, api_key="lin_api_not_this_one_0000", oauth_token=OAUTH)
    with SandboxServer({"/linear": app}) as server:
        apply_env(monkeypatch, {"LINEAR_API_URL": f"{server.url}/linear/graphql",
                                "LINEAR_OAUTH_TOKEN": OAUTH, "DATABASE_URL": url})
        assert main(["test-connections"]) == 0
        assert main(["sync", "--service", "linear"]) == 0
    out, err = capfd.readouterr()
    assert "an OAuth access token (Bearer)" in out
    assert linear_differences(url, world) == {}
    assert OAUTH not in out + err
