"""The shared HTTP layer: each retry and rate-limit rule, conditional requests, redaction."""

import logging
import time

import httpx
import pytest
import respx

from gofap_assets.github.client import GitHubClient, github_rate_limit
from gofap_assets.http import (
    ApiClient,
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    RateLimitedError,
    RetriesExhaustedError,
)
from gofap_assets.logs import configure_logging

BASE = "https://api.example.test"
TOKEN = "ghp_supersecrettokenvalue123"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client(sleeps: Sleeps, **kwargs: object) -> ApiClient:
    options: dict[str, object] = {"max_retries": 3, "backoff_base": 0.1, "sleep": sleeps,
                                  "secrets": (TOKEN,),
                                  "headers": {"Authorization": f"Bearer {TOKEN}"}}
    options.update(kwargs)
    return ApiClient("GitHub", BASE, **options)  # type: ignore[arg-type]


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_growing_jittered_backoff(sleeps: Sleeps,
                                                                 status: int) -> None:
    route = respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.Response(status), httpx.Response(status), httpx.Response(200, json={"ok": 1})])
    response = client(sleeps).request("GET", "thing")
    assert response.data == {"ok": 1}
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2


@respx.mock
def test_timeouts_and_dropped_connections_are_retried(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed connection"),
        httpx.ConnectError("refused"), httpx.Response(200, json=[1])])
    api = client(sleeps)
    assert api.request("GET", "thing").data == [1]
    assert api.stats.snapshot()["retries"] == 3


@respx.mock
def test_retries_run_out_with_a_clear_error(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(return_value=httpx.Response(503))
    with pytest.raises(RetriesExhaustedError, match=r"GitHub 503: HTTP 503 persisted after 3"):
        client(sleeps).request("GET", "thing")
    assert len(sleeps) == 3


@respx.mock
def test_malformed_json_is_retried_then_named(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(return_value=httpx.Response(200, text='[{"id": 1'))
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        client(sleeps, max_retries=1).request("GET", "thing")


@respx.mock
def test_429_honours_retry_after(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.Response(429, headers={"retry-after": "7"}), httpx.Response(200, json={})])
    client(sleeps).request("GET", "thing")
    assert sleeps == [7.0]


@respx.mock
def test_github_primary_limit_waits_until_reset(sleeps: Sleeps) -> None:
    reset = int(time.time()) + 30
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.Response(403, headers={"x-ratelimit-remaining": "0",
                                     "x-ratelimit-reset": str(reset)},
                       json={"message": "API rate limit exceeded for user."}),
        httpx.Response(200, json={}, headers={"x-ratelimit-remaining": "4999"})])
    api = client(sleeps, rate_limit_rule=github_rate_limit,
                 remaining_header="x-ratelimit-remaining")
    api.request("GET", "thing")
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 32
    assert api.stats.snapshot()["rate_limit_waits"] == 1
    assert api.stats.snapshot()["rate_limit_remaining"] == 4999


@respx.mock
@pytest.mark.parametrize("status", [403, 429])
def test_github_secondary_limit_honours_retry_after(sleeps: Sleeps, status: int) -> None:
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.Response(status, headers={"retry-after": "3", "x-ratelimit-remaining": "4000"},
                       json={"message": "You have exceeded a secondary rate limit."}),
        httpx.Response(200, json={})])
    client(sleeps, rate_limit_rule=github_rate_limit).request("GET", "thing")
    assert sleeps == [3.0]


@respx.mock
def test_github_secondary_limit_without_retry_after_waits_a_minute(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.Response(403, json={"message": "You have exceeded a secondary rate limit."}),
        httpx.Response(200, json={})])
    client(sleeps, rate_limit_rule=github_rate_limit).request("GET", "thing")
    assert sleeps == [60.0]


@respx.mock
def test_a_permission_403_is_not_a_rate_limit(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(return_value=httpx.Response(
        403, json={"message": "Repository access blocked", "block": {"reason": "tos"}}))
    with pytest.raises(ApiError, match="GitHub 403: Repository access blocked") as info:
        client(sleeps, rate_limit_rule=github_rate_limit).request("GET", "thing")
    assert info.value.status == 403 and sleeps == []


@respx.mock
def test_a_reset_too_far_away_gives_up_with_the_setting_named(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(return_value=httpx.Response(
        403, headers={"x-ratelimit-remaining": "0",
                      "x-ratelimit-reset": str(int(time.time()) + 3600)}))
    with pytest.raises(RateLimitedError, match="GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS"):
        client(sleeps, rate_limit_rule=github_rate_limit,
               max_rate_limit_wait=60).request("GET", "thing")
    assert sleeps == []


@respx.mock
def test_etag_is_sent_and_a_304_is_counted_without_a_body(sleeps: Sleeps) -> None:
    route = respx.get(f"{BASE}/list").mock(side_effect=[
        httpx.Response(200, json=[1, 2], headers={"etag": '"abc"'}),
        httpx.Response(304, headers={"etag": '"abc"'})])
    api = client(sleeps)
    first = api.request("GET", "list")
    second = api.request("GET", "list", etag=first.etag)
    assert first.etag == '"abc"' and first.data == [1, 2]
    assert route.calls[1].request.headers["if-none-match"] == '"abc"'
    assert second.not_modified and second.data is None
    assert api.stats.snapshot()["not_modified"] == 1


@respx.mock
def test_link_header_is_parsed_as_given(sleeps: Sleeps) -> None:
    nxt = "https://api.example.test/repositories/42/issues?page=2&per_page=100"
    respx.get(f"{BASE}/repos/a/b/issues").mock(return_value=httpx.Response(
        200, json=[], headers={"link": f'<{nxt}>; rel="next", <{nxt}>; rel="last"'}))
    assert client(sleeps).request("GET", "repos/a/b/issues").links["next"] == nxt


@respx.mock
def test_401_names_the_service_and_the_variable_but_never_the_token(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/user").mock(return_value=httpx.Response(
        401, json={"message": f"Bad credentials for {TOKEN}"}))
    gh = GitHubClient.create(token=TOKEN, api_url=BASE)
    with pytest.raises(AuthenticationError) as info:
        gh.viewer()
    message = str(info.value)
    assert "GitHub 401" in message and "GITHUB_TOKEN" in message
    assert TOKEN not in message


@respx.mock
def test_secrets_never_reach_log_lines(sleeps: Sleeps, tmp_path, capsys) -> None:
    log_file = tmp_path / "gofap.log"
    configure_logging("DEBUG", log_file)
    respx.get(f"{BASE}/thing").mock(side_effect=[
        httpx.ConnectError(f"could not connect with {TOKEN}"), httpx.Response(200, json={})])
    client(sleeps).request("GET", "thing")
    logging.getLogger("gofap.test").error("token was %s", TOKEN)
    logged = log_file.read_text() + capsys.readouterr().err
    assert "could not connect" in logged and "token was ***" in logged
    assert TOKEN not in logged
    configure_logging("INFO")


@respx.mock
def test_other_4xx_are_errors_not_retries(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/thing").mock(return_value=httpx.Response(
        422, json={"message": "Validation Failed"}))
    with pytest.raises(ApiError, match="422: Validation Failed"):
        client(sleeps).request("GET", "thing")
    assert sleeps == []


@respx.mock
def test_accepted_statuses_are_returned_for_the_caller_to_interpret(sleeps: Sleeps) -> None:
    respx.get(f"{BASE}/repos/a/b/commits").mock(return_value=httpx.Response(
        409, json={"message": "Git Repository is empty."}))
    response = client(sleeps).request("GET", "repos/a/b/commits",
                                      accept_statuses=frozenset({409}))
    assert response.status == 409
