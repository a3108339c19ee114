"""What the GitHub and Linear resources share: request settings and a client per run."""

from typing import Any

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr


class ApiClientResource(dg.ConfigurableResource):
    """An API's settings, and its client opened for a run and closed after it."""

    max_retries: int = Field(default=3, description="Retries per request (MAX_RETRIES)")
    timeout_seconds: float = Field(default=30.0, description="Per request (TIMEOUT_SECONDS)")
    concurrency: int = Field(default=4, description="Partitions read at once within a run "
                             "(GOFAP_CONCURRENCY)")
    max_rate_limit_wait_seconds: float = Field(
        default=900.0, description="Longest wait for a rate-limit reset before giving up")

    _client: Any = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        """False when the credential is unset: the service is skipped, never a crash."""
        raise NotImplementedError

    def build_client(self, transport: httpx.BaseTransport | None = None) -> Any:
        """A new client; `transport` is the seam tests use to stand in for the network."""
        raise NotImplementedError

    @property
    def max_connections(self) -> int:
        return max(self.concurrency * 2, 4)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.configured:
            self._client = self.build_client()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _open_client(self) -> Any:
        if self._client is None:
            self._client = self.build_client()
        return self._client
