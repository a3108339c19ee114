"""A thin retrying layer over httpx shared by the GitHub and Linear clients.

Everything that is about HTTP rather than about one API lives here: timeouts, exponential backoff
with jitter on 5xx/timeouts/dropped connections/truncated bodies, waiting out rate limits that an
API-specific rule recognises, conditional requests (ETag / 304), request accounting, and
redaction of secrets from every error.
"""

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gofap_assets.http.credentials import BudgetHeaders, Credential, CredentialPool
from gofap_assets.http.errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    RateLimitedError,
    RetriesExhaustedError,
)
from gofap_assets.lib import jsonbody
from gofap_assets.logs import get_logger, redact, register_secret

log = get_logger("http")

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.TransportError)


@dataclass(frozen=True)
class RateLimitWait:
    """An API-specific rule's verdict: this response is a rate limit; retry after `seconds`."""

    seconds: float
    reason: str


RateLimitRule = Callable[[httpx.Response], RateLimitWait | None]


@dataclass
class RequestStats:
    """What one client has cost so far; thread-safe, reported as materialization metadata."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_remaining: int | None = None
    credentials: Callable[[], list[dict[str, object]]] = field(default=list, repr=False)
    """Per-credential accounting of the client's pool (masked names), for metadata."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def observe_remaining(self, remaining: int) -> None:
        with self._lock:
            self.rate_limit_remaining = remaining

    def snapshot(self) -> dict[str, int | None]:
        with self._lock:
            return {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "retries": self.retries,
                "rate_limit_waits": self.rate_limit_waits,
                "rate_limit_remaining": self.rate_limit_remaining,
            }


@dataclass(frozen=True)
class ApiResponse:
    """A successful (2xx or 304) answer with its JSON already parsed."""

    status: int
    url: str
    headers: httpx.Headers
    data: Any
    links: Mapping[str, str]
    """Link-header targets by rel (`next`, `last`, ...): follow these as given."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")


BudgetProbe = Callable[["ApiClient", Credential], None]
"""Learns one credential's budget afresh (GitHub: `GET /rate_limit`, which costs nothing)."""


class ApiClient:
    """One service's HTTP session. Safe to share between threads.

    With `credentials`, every request goes out on the pool's choice (see `CredentialPool`);
    without, `headers` carry the authentication as given.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        credentials: tuple[Credential, ...] = (),
        budget_headers: BudgetHeaders | None = None,
        rate_limit_reserve: int = 0,
        budget_probe: BudgetProbe | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_rate_limit_wait: float = 900.0,
        rate_limit_rule: RateLimitRule | None = None,
        remaining_header: str | None = None,
        auth_hint: str = "check the credential",
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for secret in secrets:
            register_secret(secret)
        self.service = service
        self.stats = RequestStats()
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_rate_limit_wait = max_rate_limit_wait
        self._rate_limit_rule = rate_limit_rule
        self._remaining_header = remaining_header
        self._auth_hint = auth_hint
        self._sleep = sleep
        self._random = random.Random()
        self.pool = CredentialPool(
            service, credentials, headers=budget_headers, reserve=rate_limit_reserve,
            max_wait=max_rate_limit_wait, hint=auth_hint, sleep=sleep,
            on_wait=lambda: self.stats.add(rate_limit_waits=1)) if credentials else None
        self._budget_probe = budget_probe
        if self.pool is not None and budget_probe is not None:
            self.pool.probe = lambda credential: budget_probe(self, credential)
        self.stats.credentials = self.account
        self._probed = not (self.pool is not None and budget_probe is not None
                            and (len(self.pool) > 1 or rate_limit_reserve > 0))
        self._probe_lock = threading.Lock()
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=True,
            transport=transport,
            limits=limits,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        etag: str | None = None,
        accept_statuses: frozenset[int] = frozenset(),
        authorization: str | None = None,
    ) -> ApiResponse:
        """Send one logical request, retrying what is transient, and parse its JSON.

        `url` is relative to the base URL or absolute (a `Link` target). Statuses in
        `accept_statuses` are returned rather than raised, for callers that give them a meaning
        (GitHub's 409 on an empty repository). A 304 answer to `etag` returns `data=None`.
        `authorization` bypasses the credential pool (a GitHub App's JWT requests).
        """
        headers = {"If-None-Match": etag} if etag else {}
        url = url.lstrip("/") if not url.startswith(("http://", "https://")) else url
        if authorization is None and not self._probed:
            self.learn_budgets()
        attempt = 0
        rate_limit_waits = 0
        renewed = False
        while True:
            credential = self._authorize(headers, authorization)
            try:
                try:
                    response = self._http.request(method, url, params=params, json=json_body,
                                                  headers=headers)
                except BaseException:
                    self._release(credential, None)
                    if credential is not None:
                        credential.abandoned(headers["Authorization"])
                    raise
                self._release(credential, response)
                self.stats.add(requests=1)
                self._observe(response)
                if credential is not None and response.status_code != 401:
                    credential.accepted(headers["Authorization"])
                wait = self._rate_limit_rule(response) if self._rate_limit_rule else None
                if wait is not None:
                    rate_limit_waits += 1
                    self._rate_limited(wait, rate_limit_waits, response, credential)
                    continue
                if response.status_code == 401 and credential is not None:
                    assert self.pool is not None
                    try:  # asked even after one renewal: it tells a fresh secret refused
                        retry = credential.renew(headers["Authorization"]) and not renewed
                    except AuthenticationError as exc:
                        self.pool.reject(credential, str(exc))
                        raise
                    if retry:
                        renewed = True
                        continue
                    error = self._error(response, credential)
                    self.pool.reject(credential, str(error))
                    raise error
                if response.status_code in RETRYABLE_STATUSES or response.status_code == 429:
                    raise _Transient(f"HTTP {response.status_code}", response)
                if response.status_code == 304:
                    self.stats.add(not_modified=1)
                    return self._answer(response, None)
                if response.status_code >= 400 and response.status_code not in accept_statuses:
                    raise self._error(response, credential)
                return self._answer(response, self._parse(response))
            except (_Transient, *TRANSIENT_ERRORS, _MalformedBody) as exc:
                attempt += 1
                if attempt > self._max_retries:
                    raise self._exhausted(exc, url) from None
                delay = self._backoff(attempt, exc)
                self.stats.add(retries=1)
                log.warning("%s: %s on %s; retry %d/%d in %.2fs", self.service,
                            _describe(exc), _path(url), attempt, self._max_retries, delay)
                self._sleep(delay)

    def _authorize(self, headers: dict[str, str], authorization: str | None) -> Credential | None:
        """Put this attempt's `Authorization` in `headers`; the pool's credential, if any."""
        if authorization is not None:
            headers["Authorization"] = authorization
            return None
        if self.pool is None:
            return None
        credential = self.pool.acquire()
        try:
            headers["Authorization"] = credential.authorization()
        except BaseException:
            self.pool.release(credential, None, None)
            raise
        return credential

    def _release(self, credential: Credential | None, response: httpx.Response | None) -> None:
        if credential is not None and self.pool is not None:
            self.pool.release(credential, response.headers if response is not None else None,
                              response.status_code if response is not None else None)

    def learn_budgets(self, *, force: bool = False) -> None:
        """Each credential's budget as it is now, never remembered from an earlier run: once per
        client (a run) before its first request where there is a choice to make (several
        credentials, or a reserve to keep), or on demand with `force`."""
        with self._probe_lock:
            if self._probed and not force:
                return
            if self.pool is None or self._budget_probe is None:
                self._probed = True
                return
            for credential in self.pool.credentials:
                try:
                    self._budget_probe(self, credential)
                except AuthenticationError as exc:
                    self.pool.reject(credential, str(exc))
            self._probed = True

    def account(self) -> list[dict[str, object]]:
        """Per-credential accounting (masked names), for metadata and `test-connections`."""
        return self.pool.accounting() if self.pool is not None else []

    def _parse(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return jsonbody.loads(response.content)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32 at all
            raise _MalformedBody(exc) from None

    def _answer(self, response: httpx.Response, data: Any) -> ApiResponse:
        links = {rel: link["url"] for rel, link in response.links.items() if "url" in link}
        return ApiResponse(status=response.status_code, url=str(response.url),
                           headers=response.headers, data=data, links=links)

    def _observe(self, response: httpx.Response) -> None:
        if self._remaining_header:
            value = response.headers.get(self._remaining_header)
            if value is not None and value.isdigit():
                self.stats.observe_remaining(int(value))

    def _rate_limited(self, wait: RateLimitWait, count: int, response: httpx.Response,
                      credential: Credential | None) -> None:
        """A pooled credential sits out and the pool picks again; otherwise wait here."""
        if credential is None or self.pool is None:
            self._wait_for_rate_limit(wait, count, response)
            return
        if count > max(self._max_retries, 1) + 2 + len(self.pool):
            raise RateLimitedError(
                self.service, f"{wait.reason}; still rate-limited after {count} answers",
                status=response.status_code, url=_path(str(response.url)))
        log.warning("%s: %s on %s; it sits out %.1fs", self.service, wait.reason,
                    credential.name, max(0.0, wait.seconds))
        self.pool.pause(credential, wait.seconds)

    def _wait_for_rate_limit(self, wait: RateLimitWait, count: int,
                             response: httpx.Response) -> None:
        seconds = max(0.0, wait.seconds)
        if seconds > self._max_rate_limit_wait or count > max(self._max_retries, 1) + 2:
            raise RateLimitedError(
                self.service,
                f"{wait.reason}; would wait {seconds:.0f}s (limit "
                f"{self._max_rate_limit_wait:.0f}s, GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS) after "
                f"{count} rate-limited answers",
                status=response.status_code, url=_path(str(response.url)))
        self.stats.add(rate_limit_waits=1)
        log.warning("%s: %s; waiting %.1fs", self.service, wait.reason, seconds)
        self._sleep(seconds)

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        retry_after = _retry_after(exc.response) if isinstance(exc, _Transient) else None
        if retry_after is not None:
            return min(retry_after, self._max_rate_limit_wait)
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _error(self, response: httpx.Response,
               credential: Credential | None = None) -> ApiError:
        message = _error_message(response)
        url = _path(str(response.url))
        if response.status_code == 401:
            hint = (self.pool.hint_for(credential) if self.pool is not None and credential
                    else self._auth_hint)
            return AuthenticationError(
                self.service, f"rejected the credential: {message}; {hint}",
                status=401, url=url)
        return ApiError(self.service, message, status=response.status_code, url=url)

    def _exhausted(self, exc: BaseException, url: str) -> ApiError:
        if isinstance(exc, _MalformedBody):
            return MalformedResponseError(
                self.service, f"answered with a body that is not valid JSON ({exc}) "
                f"{self._max_retries + 1} times", url=_path(url))
        status = exc.response.status_code if isinstance(exc, _Transient) else None
        return RetriesExhaustedError(
            self.service, f"{_describe(exc)} persisted after {self._max_retries} retries "
            "(MAX_RETRIES)", status=status, url=_path(url))


class _Transient(Exception):
    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


class _MalformedBody(Exception):
    """A 2xx body that does not parse as JSON: usually truncated in transit, so retried."""

    def __init__(self, cause: ValueError) -> None:
        reason = cause.msg if isinstance(cause, json.JSONDecodeError) else type(cause).__name__
        super().__init__(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, _MalformedBody):
        return "malformed JSON body"
    return redact(str(exc) or type(exc).__name__)


def _path(url: str) -> str:
    """The URL without its query string: short, and never carrying a credential."""
    return redact(url.split("?", 1)[0])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:200] or response.reason_phrase)
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return redact(body["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return redact(str(errors[0].get("message", errors[0])))
    return redact(json.dumps(body)[:200])
