"""The credential pool's choice rules, through the GitHub client (APIs mocked with respx)."""

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import respx

from gofap_assets.github.client import GitHubClient
from gofap_assets.http import AuthenticationError, BudgetExhaustedError

API = "https://api.example.test"
TOKENS = ["ghp_poolTokenNumberOne000000000000000001", "ghp_poolTokenNumberTwo000000000000000002",
          "ghp_poolTokenNumberThree0000000000000003"]
HOUR = 3600


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def core(remaining: int, reset: float, limit: int = 5000) -> dict[str, object]:
    return {"resources": {"core": {"limit": limit, "remaining": remaining, "used": 0,
                                   "reset": int(reset), "resource": "core"}}}


def budgets(router: respx.MockRouter, **by_token: tuple[int, float]) -> respx.Route:
    """`GET /rate_limit` answers each token's (remaining, reset)."""
    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        remaining, reset = by_token[token]
        return httpx.Response(200, json=core(remaining, reset))
    return router.get(f"{API}/rate_limit").mock(side_effect=answer)


def who(request: httpx.Request) -> int:
    return TOKENS.index(request.headers["authorization"].removeprefix("Bearer ")) + 1


def client(sleeps: Sleeps, tokens: list[str] = TOKENS, *,
           rate_limit_reserve: int = 0) -> GitHubClient:
    return GitHubClient.create(token=",".join(tokens), api_url=API, sleep=sleeps,
                               max_rate_limit_wait=60.0, rate_limit_reserve=rate_limit_reserve)


def ok(remaining: int, reset: float) -> httpx.Response:
    return httpx.Response(200, json={}, headers={"x-ratelimit-remaining": str(remaining),
                                                 "x-ratelimit-reset": str(int(reset)),
                                                 "x-ratelimit-resource": "core"})


@respx.mock
def test_each_request_goes_to_the_credential_with_the_most_budget_left() -> None:
    reset = time.time() + HOUR
    budgets(respx.mock, **{TOKENS[0]: (100, reset), TOKENS[1]: (300, reset),
                           TOKENS[2]: (200, reset)})
    left = {1: 100, 2: 300, 3: 200}

    def answer(request: httpx.Request) -> httpx.Response:
        number = who(request)
        left[number] -= 1
        return ok(left[number], reset)

    route = respx.get(f"{API}/thing").mock(side_effect=answer)
    gh = client(Sleeps())
    for _ in range(250):
        gh.http.request("GET", "thing")
    used = [who(call.request) for call in route.calls]
    assert used[:100] == [2] * 100, "token#2 leads until it is level with token#3"
    assert set(used[100:]) == {2, 3}  # then they take turns, token#1 still the poorest
    assert left[1] == 100 and abs(left[2] - left[3]) <= 1
    account = {row["credential"]: row for row in gh.http.account()}
    assert account["token#1"]["requests"] == 0 and account["token#2"]["requests"] > 100
    assert all(TOKENS[0] not in str(row) for row in account.values())


@respx.mock
def test_an_exhausted_credential_sits_out_until_its_reset_without_waiting() -> None:
    reset = time.time() + HOUR
    budgets(respx.mock, **{TOKENS[0]: (500, reset), TOKENS[1]: (400, reset)})
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(who(request))
        if who(request) == 1 and len(calls) == 3:  # someone else spent token#1's budget
            return httpx.Response(403, json={"message": "API rate limit exceeded"}, headers={
                "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))})
        return ok(450 - len(calls), reset)

    respx.get(f"{API}/thing").mock(side_effect=answer)
    sleeps = Sleeps()
    gh = client(sleeps, TOKENS[:2])
    for _ in range(10):
        gh.http.request("GET", "thing")
    assert sleeps == [], "another credential had budget: no wait"
    assert calls[3:] == [2] * (len(calls) - 3), "token#1 sat out after its 403"
    account = {row["credential"]: row for row in gh.http.account()}
    assert account["token#1"]["remaining"] == 0
    assert account["token#1"]["reset"] == datetime.fromtimestamp(
        int(reset), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@respx.mock
def test_a_secondary_limit_pauses_only_the_credential_it_hit() -> None:
    reset = time.time() + HOUR
    budgets(respx.mock, **{TOKENS[0]: (900, reset), TOKENS[1]: (800, reset)})
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(who(request))
        if len(calls) == 1:
            return httpx.Response(403, headers={"retry-after": "120"},
                                  json={"message": "You have exceeded a secondary rate limit"})
        return ok(700, reset)

    respx.get(f"{API}/thing").mock(side_effect=answer)
    sleeps = Sleeps()
    gh = client(sleeps, TOKENS[:2])
    for _ in range(4):
        gh.http.request("GET", "thing")
    assert calls == [1, 2, 2, 2, 2] and sleeps == []
    assert next(r for r in gh.http.account() if r["credential"] == "token#1")["paused_until"]


@respx.mock
def test_the_reserve_is_never_spent_and_a_far_reset_is_a_budget_error_not_a_wait() -> None:
    reset = time.time() + HOUR
    budgets(respx.mock, **{TOKENS[0]: (13, reset), TOKENS[1]: (12, reset)})
    left = {1: 13, 2: 12}

    def answer(request: httpx.Request) -> httpx.Response:
        left[who(request)] -= 1
        return ok(left[who(request)], reset)

    route = respx.get(f"{API}/thing").mock(side_effect=answer)
    sleeps = Sleeps()
    gh = client(sleeps, TOKENS[:2], rate_limit_reserve=10)
    sent = 0
    with pytest.raises(BudgetExhaustedError) as info:
        for _ in range(20):
            gh.http.request("GET", "thing")
            sent += 1
    assert sent == 5 and route.call_count == 5, "3 + 2 requests above the reserve of 10"
    assert left == {1: 10, 2: 10}
    assert info.value.until == datetime.fromtimestamp(int(reset), UTC)
    assert "GOFAP_GITHUB_RATE_LIMIT_RESERVE" in str(info.value) and sleeps == []


@respx.mock
def test_a_near_reset_is_waited_for_and_the_budget_learnt_again() -> None:
    soon = time.time() + 30
    budgets(respx.mock, **{TOKENS[0]: (0, soon)})
    route = respx.get(f"{API}/thing").mock(return_value=ok(4999, soon + HOUR))
    sleeps = Sleeps()
    gh = client(sleeps, TOKENS[:1], rate_limit_reserve=1)
    gh.http.request("GET", "thing")
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 31
    assert route.call_count == 1
    assert gh.http.stats.snapshot()["rate_limit_waits"] == 1


@respx.mock
def test_budgets_are_learnt_afresh_per_client_never_remembered() -> None:
    reset = time.time() + HOUR
    probe = budgets(respx.mock, **{TOKENS[0]: (0, reset), TOKENS[1]: (50, reset)})
    respx.get(f"{API}/thing").mock(side_effect=lambda r: ok(40, reset))
    first = client(Sleeps(), TOKENS[:2])
    first.http.request("GET", "thing")
    assert probe.call_count == 2
    probe.mock(side_effect=lambda r: httpx.Response(200, json=core(4999, reset + HOUR)))
    second = client(Sleeps(), TOKENS[:2])  # token#1 was rotated or its window reset
    calls = respx.get(f"{API}/other").mock(side_effect=lambda r: ok(4998, reset + HOUR))
    second.http.request("GET", "other")
    assert probe.call_count == 4 and who(calls.calls[0].request) == 1


@respx.mock
def test_a_rejected_token_of_a_pool_is_named_and_dropped() -> None:
    reset = time.time() + HOUR

    def probe(request: httpx.Request) -> httpx.Response:
        if who(request) == 2:
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json=core(100, reset))

    respx.get(f"{API}/rate_limit").mock(side_effect=probe)
    route = respx.get(f"{API}/thing").mock(side_effect=lambda r: ok(99, reset))
    gh = client(Sleeps())
    for _ in range(6):
        gh.http.request("GET", "thing")
    assert {who(call.request) for call in route.calls} == {1, 3}
    rejected = [r["credential"] for r in gh.http.account() if r["rejected"]]
    assert rejected == ["token#2"]


@respx.mock
def test_one_rejected_token_alone_is_a_clear_error() -> None:
    respx.get(f"{API}/thing").mock(return_value=httpx.Response(
        401, json={"message": "Bad credentials"}))
    with pytest.raises(AuthenticationError, match="GITHUB_TOKEN") as info:
        client(Sleeps(), TOKENS[:1]).http.request("GET", "thing")
    assert TOKENS[0] not in str(info.value)


@respx.mock
def test_threads_never_push_a_credential_past_its_reserve() -> None:
    reset = time.time() + HOUR
    budgets(respx.mock, **{TOKENS[0]: (40, reset), TOKENS[1]: (40, reset)})
    lock = threading.Lock()
    left = {1: 40, 2: 40}

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            left[who(request)] -= 1
            remaining = left[who(request)]
        return ok(remaining, reset)

    respx.get(f"{API}/thing").mock(side_effect=answer)
    gh = client(Sleeps(), TOKENS[:2], rate_limit_reserve=15)
    outcomes: list[str] = []

    def worker() -> None:
        for _ in range(10):
            try:
                gh.http.request("GET", "thing")
                outcomes.append("ok")
            except BudgetExhaustedError:
                outcomes.append("deferred")
                return

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 50 and min(left.values()) == 15
