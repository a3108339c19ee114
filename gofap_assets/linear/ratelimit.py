"""Linear's rate limits: the rule that makes the shared HTTP layer wait, and the header readings.

Linear signals a limit with a `RATELIMITED` GraphQL error on HTTP 400 (sometimes 429), and
announces its buckets in `X-RateLimit-*` headers whose resets are epoch *milliseconds*.
"""

import json
import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from gofap_assets.http import RateLimitWait
from gofap_assets.linear.errors import parse_errors

DEFAULT_WAIT_SECONDS = 10.0
"""Without any header: Linear's buckets leak continuously, so a short wait usually suffices."""
MIN_WAIT_SECONDS = 0.25
"""A reset already in the past (clock skew) still gets a moment before the retry."""

_BUCKETS = (
    ("requests", "x-ratelimit-requests-remaining", "x-ratelimit-requests-reset"),
    ("complexity", "x-ratelimit-complexity-remaining", "x-ratelimit-complexity-reset"),
    ("endpoint", "x-ratelimit-endpoint-requests-remaining", "x-ratelimit-endpoint-requests-reset"),
)
_MENTIONS_LIMIT = re.compile(rb"rate\s*limit", re.IGNORECASE)


def linear_rate_limit(response: httpx.Response) -> RateLimitWait | None:
    """The `rate_limit_rule` for Linear's ApiClient: a RATELIMITED answer on any status, or 429."""
    if response.status_code != 429 and not _carries_ratelimited_error(response):
        return None
    return rate_limit_wait(response.headers, time.time())


def _carries_ratelimited_error(response: httpx.Response) -> bool:
    content = response.content
    if response.status_code < 400 and b'"errors"' not in content:
        return False  # the cheap test first: most answers are large, healthy 200s
    if not _MENTIONS_LIMIT.search(content):
        return False
    try:
        payload = json.loads(content)
    except ValueError:
        return False
    return any(error.rate_limited for error in parse_errors(payload))


def rate_limit_wait(headers: Mapping[str, str], now: float) -> RateLimitWait:
    """How long to wait: `retry-after`, else the reset of an exhausted bucket, else a default."""
    retry_after = _number(headers.get("retry-after"))
    if retry_after is not None:
        return RateLimitWait(max(0.0, retry_after), f"Linear RATELIMITED (retry-after "
                             f"{retry_after:g}s)")
    resets: list[tuple[float, str]] = []
    exhausted: list[tuple[float, str]] = []
    for label, remaining_header, reset_header in _BUCKETS:
        reset = epoch_seconds(headers.get(reset_header))
        if reset is None:
            continue
        resets.append((reset, label))
        remaining = _number(headers.get(remaining_header))
        if remaining is not None and remaining <= 0:
            exhausted.append((reset, label))
    if not resets:
        return RateLimitWait(DEFAULT_WAIT_SECONDS, "Linear RATELIMITED without reset headers")
    reset, label = max(exhausted) if exhausted else min(resets)
    until = datetime.fromtimestamp(reset, UTC).strftime("%H:%M:%SZ")
    return RateLimitWait(max(MIN_WAIT_SECONDS, reset - now),
                         f"Linear RATELIMITED ({label} bucket) until {until}")


def epoch_seconds(value: str | None) -> float | None:
    """Linear's resets are epoch milliseconds; a value that is plainly seconds is taken as such."""
    number = _number(value)
    if number is None:
        return None
    return number / 1000 if number > 100_000_000_000 else number


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


_READINGS = {
    "rate_limit_requests_limit": "x-ratelimit-requests-limit",
    "rate_limit_requests_remaining": "x-ratelimit-requests-remaining",
    "rate_limit_complexity_limit": "x-ratelimit-complexity-limit",
    "rate_limit_complexity_remaining": "x-ratelimit-complexity-remaining",
}
_RESETS = {
    "rate_limit_requests_reset": "x-ratelimit-requests-reset",
    "rate_limit_complexity_reset": "x-ratelimit-complexity-reset",
}


class RateLimitReadings:
    """The latest rate-limit and complexity headers seen, for materialization metadata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}
        self._resets: dict[str, float] = {}
        self._max_complexity: int | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        with self._lock:
            for key, header in _READINGS.items():
                value = _number(headers.get(header))
                if value is not None:
                    self._values[key] = int(value)
            for key, header in _RESETS.items():
                reset = epoch_seconds(headers.get(header))
                if reset is not None:
                    self._resets[key] = reset
            cost = _number(headers.get("x-complexity"))
            if cost is not None:
                self._max_complexity = max(self._max_complexity or 0, int(cost + 0.999))

    def as_metadata(self) -> dict[str, int | str]:
        """Only what the server told us: absent headers leave their keys out."""
        with self._lock:
            metadata: dict[str, int | str] = dict(self._values)
            for key, reset in self._resets.items():
                metadata[key] = datetime.fromtimestamp(reset, UTC).isoformat().replace(
                    "+00:00", "Z")
            if self._max_complexity is not None:
                metadata["query_complexity_max"] = self._max_complexity
            return metadata
