"""The Linear API client as a Dagster resource."""

import httpx
from pydantic import Field

from gofap_assets.config import ServiceNotConfigured
from gofap_assets.lib.resources import ApiClientResource
from gofap_assets.linear.client import DEFAULT_API_URL, LinearClient
from gofap_assets.linear.queries import MAX_PAGE_SIZE


class LinearResource(ApiClientResource):
    """Linear GraphQL access with a personal API key or an OAuth access token; the httpx client
    lives for one run."""

    api_key: str | None = Field(default=None, description="Personal API key (LINEAR_API_KEY)")
    oauth_token: str | None = Field(default=None, description="OAuth access token, sent as "
                                    "Bearer (LINEAR_OAUTH_TOKEN)")
    workspace_id: str | None = Field(
        default=None, description="Expected workspace id or URL key (LINEAR_WORKSPACE_ID); "
        "a key from another workspace is refused")
    api_url: str = DEFAULT_API_URL
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                           description="Nodes per page (Linear allows up to 250)")
    cursor_overlap_seconds: float = Field(
        default=300.0, ge=0, description="How far before the cursor an incremental read "
        "starts again (updatedAt is coarse)")

    @property
    def configured(self) -> bool:
        return bool(self.api_key or self.oauth_token)

    def build_client(self, transport: httpx.BaseTransport | None = None) -> LinearClient:
        if not self.configured:
            raise ServiceNotConfigured("Linear is not configured: set LINEAR_API_KEY or "
                                       "LINEAR_OAUTH_TOKEN")
        return LinearClient.create(
            api_key=self.api_key, oauth_token=self.oauth_token, api_url=self.api_url,
            workspace_id=self.workspace_id,
            page_size=self.page_size, timeout=self.timeout_seconds,
            max_retries=self.max_retries,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
            max_connections=self.max_connections, transport=transport)

    @property
    def client(self) -> LinearClient:
        return self._open_client()
