"""The GitHub API client as a Dagster resource."""

import httpx
from pydantic import Field

from gofap_assets.config import ServiceNotConfigured
from gofap_assets.github.client import GitHubClient
from gofap_assets.lib.resources import ApiClientResource


class GitHubResource(ApiClientResource):
    """GitHub REST access for one token; the httpx client lives for one run."""

    token: str | None = Field(default=None, description="Personal access token (GITHUB_TOKEN)")
    org: str | None = Field(default=None, description="Organization to sync (GITHUB_ORG); "
                            "unset: the token owner's repositories")
    api_url: str = "https://api.github.com"

    @property
    def configured(self) -> bool:
        return bool(self.token)

    def build_client(self, transport: httpx.BaseTransport | None = None) -> GitHubClient:
        if not self.token:
            raise ServiceNotConfigured("GitHub is not configured: set GITHUB_TOKEN")
        return GitHubClient.create(
            token=self.token, api_url=self.api_url, org=self.org,
            timeout=self.timeout_seconds, max_retries=self.max_retries,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
            max_connections=self.max_connections, transport=transport)

    @property
    def client(self) -> GitHubClient:
        return self._open_client()
