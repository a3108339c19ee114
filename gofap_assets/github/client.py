"""GitHub's REST API over the shared HTTP layer: auth, rate-limit rules and Link pagination."""

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from gofap_assets.http import ApiClient, ApiResponse, RateLimitWait

SERVICE = "GitHub"
API_VERSION = "2022-11-28"
PER_PAGE = 100


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

    @classmethod
    def create(cls, *, token: str, api_url: str, org: str | None = None, timeout: float = 30.0,
               max_retries: int = 3, max_rate_limit_wait: float = 900.0,
               max_connections: int = 16, backoff_base: float = 0.5,
               transport: httpx.BaseTransport | None = None,
               sleep: Callable[[float], None] = time.sleep) -> "GitHubClient":
        http = ApiClient(
            SERVICE, api_url,
            headers={"Authorization": f"Bearer {token}",
                     "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION,
                     "User-Agent": "gofap-data-import"},
            secrets=(token,), timeout=timeout, max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait, rate_limit_rule=github_rate_limit,
            remaining_header="x-ratelimit-remaining",
            auth_hint="check GITHUB_TOKEN (needs the repo and read:org scopes)",
            transport=transport, max_connections=max_connections, backoff_base=backoff_base,
            sleep=sleep)
        return cls(http, org)

    def close(self) -> None:
        self.http.close()

    def viewer(self) -> dict[str, Any]:
        return self.http.request("GET", "user").data

    def rate_limit(self) -> dict[str, Any]:
        return self.http.request("GET", "rate_limit").data

    def repository_listing(self) -> tuple[str, dict[str, str]]:
        if self.org:
            return f"orgs/{self.org}/repos", {"type": "all", "sort": "full_name",
                                              "direction": "asc", "per_page": str(PER_PAGE)}
        return "user/repos", {"affiliation": "owner,collaborator,organization_member",
                              "sort": "full_name", "direction": "asc",
                              "per_page": str(PER_PAGE)}

    def pages(self, path: str, params: Mapping[str, str], *, etag: str | None = None,
              accept_statuses: frozenset[int] = frozenset()) -> Iterator[ApiResponse]:
        """The first page (conditional on `etag`), then each `next` Link exactly as given."""
        response = self.http.request("GET", path, params=params, etag=etag,
                                     accept_statuses=accept_statuses)
        yield response
        while response.status == 200 and (next_url := response.links.get("next")):
            response = self.http.request("GET", next_url, accept_statuses=accept_statuses)
            yield response
