"""Linear's rate-limit rule: what counts as RATELIMITED and how long to wait."""

import json

import httpx

from gofap_assets.linear.ratelimit import (
    DEFAULT_WAIT_SECONDS,
    linear_rate_limit,
    rate_limit_wait,
)

NOW = 1_780_000_000.0
RATELIMITED = {"errors": [{"message": "Rate limit exceeded",
                           "extensions": {"code": "RATELIMITED"}}]}


def response(status: int, payload: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(payload).encode(), headers=headers)


def test_ratelimited_is_recognised_on_any_status() -> None:
    for status in (200, 400, 429):
        assert linear_rate_limit(response(status, RATELIMITED)) is not None
    assert linear_rate_limit(httpx.Response(429)) is not None


def test_other_answers_are_not_rate_limits() -> None:
    healthy = {"data": {"issues": {"nodes": [{"title": "rate limit the \"errors\" endpoint"}]}}}
    assert linear_rate_limit(response(200, healthy)) is None
    invalid = {"errors": [{"message": "rate limit must be positive",
                           "extensions": {"code": "INPUT_ERROR"}}]}
    assert linear_rate_limit(response(400, invalid)) is None
    assert linear_rate_limit(httpx.Response(400, text="<html>rate limit</html>")) is None


def test_the_reset_of_the_exhausted_bucket_is_used_in_milliseconds() -> None:
    wait = rate_limit_wait({
        "x-ratelimit-requests-remaining": "100",
        "x-ratelimit-requests-reset": str(int((NOW + 5) * 1000)),
        "x-ratelimit-complexity-remaining": "0",
        "x-ratelimit-complexity-reset": str(int((NOW + 90) * 1000)),
    }, NOW)
    assert wait.seconds == 90 and "complexity" in wait.reason


def test_retry_after_wins_and_missing_headers_fall_back_to_a_default() -> None:
    assert rate_limit_wait({"retry-after": "3", "x-ratelimit-requests-reset": "1"}, NOW) \
        .seconds == 3
    assert rate_limit_wait({}, NOW).seconds == DEFAULT_WAIT_SECONDS
    past = rate_limit_wait({"x-ratelimit-requests-reset": str(int((NOW - 60) * 1000))}, NOW)
    assert 0 < past.seconds < 1
