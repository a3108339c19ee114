"""GitHub's REST API over the shared HTTP layer: auth, rate-limit rules and Link pagination."""

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from gofap_assets.github.app_auth import GitHubAppInstallation
from gofap_assets.http import (
    ApiClient,
    ApiError,
    ApiResponse,
    BudgetHeaders,
    Credential,
    RateLimitWait,
    StaticToken,
)

SERVICE = "GitHub"
API_VERSION = "2022-11-28"
PER_PAGE = 100
BUDGET_HEADERS = BudgetHeaders(remaining="x-ratelimit-remaining", reset="x-ratelimit-reset",
                               limit="x-ratelimit-limit", resource="x-ratelimit-resource")
AUTH_HINT = "check GITHUB_TOKEN (needs the repo and read:org scopes)"


def split_tokens(value: str | None) -> list[str]:
    """GITHUB_TOKEN as a pool: comma-separated, blanks and repeats dropped, order kept."""
    tokens: list[str] = []
    for part in (value or "").split(","):
        token = part.strip()
        if token and token not in tokens:
            tokens.append(token)
    return tokens


def token_credentials(tokens: list[str]) -> list[Credential]:
    """Masked names by position: `token#1`, `token#2`, ..."""
    return [StaticToken(f"token#{number}", token) for number, token in
            enumerate(tokens, start=1)]


def learn_budget(http: ApiClient, credential: Credential) -> None:
    """`GET /rate_limit` on `credential` (free on GitHub): its core budget as of now."""
    try:
        response = http.request("GET", "rate_limit", authorization=credential.authorization())
    except ApiError as exc:
        if exc.status == 401:
            raise
        return  # e.g. 404 where an Enterprise server has rate limiting switched off
    core = (response.data or {}).get("resources", {}).get("core") if isinstance(
        response.data, dict) else None
    if isinstance(core, dict) and isinstance(core.get("remaining"), int):
        reset = core.get("reset")
        limit = core.get("limit")
        assert http.pool is not None
        http.pool.learn(credential, remaining=core["remaining"],
                        reset=float(reset) if isinstance(reset, int | float) else None,
                        limit=limit if isinstance(limit, int) else None, fresh=True)


def github_rate_limit(response: httpx.Response) -> RateLimitWait | None:
    """Tell GitHub's rate-limit answers (403/429) from permission 403s, and how long to wait."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("retry-after", "")
    if retry_after.replace(".", "", 1).isdigit():
        return RateLimitWait(float(retry_after), "secondary rate limit (retry-after)")
    reset_header = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset_header.isdigit():
        reset = int(reset_header)
        until = datetime.fromtimestamp(reset, UTC).strftime("%H:%M:%SZ")
        return RateLimitWait(reset - time.time() + 1, f"primary rate limit exhausted until {until}")
    if "rate limit" in response.text.lower():
        # Secondary limits sometimes come without retry-after: the docs say wait a minute.
        return RateLimitWait(60.0, "secondary rate limit (no retry-after)")
    if response.status_code == 429:
        return RateLimitWait(60.0, "429 Too Many Requests")
    return None


class GitHubClient:
    """The few GitHub endpoints the importer reads, as page iterators."""

    def __init__(self, http: ApiClient, org: str | None = None) -> None:
        self.http = http
        self.org = org
        self.app: GitHubAppInstallation | None = None
        self.app_only = False
        """Only an App: without an org, the installation's repositories are the listing."""

    @classmethod
    def create(cls, *, token: str | None = None, api_url: str, org: str | None = None,
               app: GitHubAppInstallation | None = None, rate_limit_reserve: int = 0,
               timeout: float = 30.0, max_retries: int = 3, max_rate_limit_wait: float = 900.0,
               max_connections: int = 16, backoff_base: float = 0.5,
               transport: httpx.BaseTransport | None = None,
               sleep: Callable[[float], None] = time.sleep) -> "GitHubClient":
        """A client over a pool: the App's installation (if any) and every token of `token`
        (comma-separated)."""
        credentials: list[Credential] = [app] if app is not None else []
        credentials += token_credentials(split_tokens(token))
        if not credentials:
            raise ValueError("GitHub needs GITHUB_TOKEN or a GitHub App")
        http = ApiClient(
            SERVICE, api_url,
            headers={"Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION,
                     "User-Agent": "gofap-data-import"},
            credentials=tuple(credentials), budget_headers=BUDGET_HEADERS,
            rate_limit_reserve=rate_limit_reserve, budget_probe=learn_budget,
            timeout=timeout, max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait, rate_limit_rule=github_rate_limit,
            remaining_header="x-ratelimit-remaining",
            auth_hint=AUTH_HINT if token else "check the GitHub App (GITHUB_APP_*)",
            transport=transport, max_connections=max_connections, backoff_base=backoff_base,
            sleep=sleep)
        if app is not None:
            app.bind(http)
        client = cls(http, org)
        client.app = app
        client.app_only = app is not None and not token
        return client

    def close(self) -> None:
        self.http.close()

    def viewer(self) -> dict[str, Any]:
        return self.http.request("GET", "user").data

    def rate_limit(self) -> dict[str, Any]:
        return self.http.request("GET", "rate_limit").data

    def repository_listing(self) -> tuple[str, dict[str, str]]:
        if not self.org and self.app_only:
            return "installation/repositories", {"per_page": str(PER_PAGE)}
        if self.org:
            return f"orgs/{self.org}/repos", {"type": "all", "sort": "full_name",
                                              "direction": "asc", "per_page": str(PER_PAGE)}
        return "user/repos", {"affiliation": "owner,collaborator,organization_member",
                              "sort": "full_name", "direction": "asc",
                              "per_page": str(PER_PAGE)}

    def pages(self, path: str, params: Mapping[str, str] | None, *, etag: str | None = None,
              accept_statuses: frozenset[int] = frozenset()) -> Iterator[ApiResponse]:
        """The first page (conditional on `etag`), then each `next` Link exactly as given.
        `params=None` keeps the query string of `path` (a link to resume from)."""
        response = self.http.request("GET", path, params=params, etag=etag,
                                     accept_statuses=accept_statuses)
        yield response
        while response.status == 200 and (next_url := response.links.get("next")):
            response = self.http.request("GET", next_url, accept_statuses=accept_statuses)
            yield response
