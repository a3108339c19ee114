"""The Linear API client as a Dagster resource."""

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from gofap_assets.config import ServiceNotConfigured
from gofap_assets.linear.client import DEFAULT_API_URL, LinearClient
from gofap_assets.linear.queries import MAX_PAGE_SIZE


class LinearResource(dg.ConfigurableResource):
    """Linear GraphQL access for one personal API key; the httpx client lives for one run."""

    api_key: str | None = Field(default=None, description="Personal API key (LINEAR_API_KEY)")
    workspace_id: str | None = Field(
        default=None, description="Expected workspace id or URL key (LINEAR_WORKSPACE_ID); "
        "a key from another workspace is refused")
    api_url: str = DEFAULT_API_URL
    max_retries: int = 3
    timeout_seconds: float = 30.0
    concurrency: int = Field(default=4, description="Teams read at once within a run")
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                           description="Nodes per page (Linear allows up to 250)")
    cursor_overlap_seconds: float = Field(
        default=300.0, ge=0, description="How far before the cursor an incremental read "
        "starts again (updatedAt is coarse)")
    max_rate_limit_wait_seconds: float = 900.0

    _client: LinearClient | None = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def build_client(self, transport: httpx.BaseTransport | None = None) -> LinearClient:
        """A new client; `transport` is the seam tests use to stand in for the network."""
        if not self.api_key:
            raise ServiceNotConfigured("Linear is not configured: set LINEAR_API_KEY")
        return LinearClient.create(
            api_key=self.api_key, api_url=self.api_url, workspace_id=self.workspace_id,
            page_size=self.page_size, timeout=self.timeout_seconds,
            max_retries=self.max_retries,
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
    def client(self) -> LinearClient:
        if self._client is None:
            self._client = self.build_client()
        return self._client
