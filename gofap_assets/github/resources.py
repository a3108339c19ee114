"""The GitHub API client as a Dagster resource."""

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from gofap_assets.config import ServiceNotConfigured
from gofap_assets.github.client import GitHubClient


class GitHubResource(dg.ConfigurableResource):
    """GitHub REST access for one token; the httpx client lives for one run."""

    token: str | None = Field(default=None, description="Personal access token (GITHUB_TOKEN)")
    org: str | None = Field(default=None, description="Organization to sync (GITHUB_ORG); "
                            "unset: the token owner's repositories")
    api_url: str = "https://api.github.com"
    max_retries: int = 3
    timeout_seconds: float = 30.0
    concurrency: int = Field(default=4, description="Repositories read at once within a run")
    max_rate_limit_wait_seconds: float = 900.0

    _client: GitHubClient | None = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.token)

    def build_client(self, transport: httpx.BaseTransport | None = None) -> GitHubClient:
        """A new client; `transport` is the seam tests use to stand in for the network."""
        if not self.token:
            raise ServiceNotConfigured("GitHub is not configured: set GITHUB_TOKEN")
        return GitHubClient.create(
            token=self.token, api_url=self.api_url, org=self.org,
            timeout=self.timeout_seconds, max_retries=self.max_retries,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
            max_connections=max(self.concurrency * 2, 4), transport=transport)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.configured:
            self._client = self.build_client()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> GitHubClient:
        if self._client is None:
            self._client = self.build_client()
        return self._client
