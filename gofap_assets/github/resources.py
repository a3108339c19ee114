"""The GitHub API client as a Dagster resource."""

from pathlib import Path

import httpx
from pydantic import Field

from gofap_assets.config import ServiceNotConfigured
from gofap_assets.github.app_auth import GitHubAppInstallation
from gofap_assets.github.client import GitHubClient
from gofap_assets.lib.resources import ApiClientResource


class GitHubResource(ApiClientResource):
    """GitHub REST access over a pool of credentials (tokens and/or a GitHub App installation);
    the httpx client and the installation token live for one run."""

    token: str | None = Field(default=None, description="Personal access token(s), "
                              "comma-separated (GITHUB_TOKEN)")
    app_id: str | None = Field(default=None, description="GitHub App client or app id "
                               "(GITHUB_APP_ID)")
    app_private_key: str | None = Field(default=None, description="The app's PEM key "
                                        "(GITHUB_APP_PRIVATE_KEY)")
    app_private_key_path: str | None = Field(default=None, description="File holding the "
                                             "app's PEM key (GITHUB_APP_PRIVATE_KEY_PATH)")
    app_installation_id: int | None = Field(default=None, description="Installation to use "
                                            "(GITHUB_APP_INSTALLATION_ID); unset: the one on "
                                            "the org")
    rate_limit_reserve: int = Field(default=0, ge=0, description="Requests of each credential "
                                    "never spent (GOFAP_GITHUB_RATE_LIMIT_RESERVE)")
    org: str | None = Field(default=None, description="Organization to sync (GITHUB_ORG); "
                            "unset: the token owner's repositories")
    api_url: str = "https://api.github.com"

    @property
    def configured(self) -> bool:
        return bool(self.token and self.token.strip(" ,")) or bool(self.app_id)

    def build_app(self) -> GitHubAppInstallation | None:
        if not self.app_id:
            return None
        if self.app_private_key:
            key, variable = self.app_private_key.replace("\\n", "\n"), "GITHUB_APP_PRIVATE_KEY"
        elif self.app_private_key_path:
            key = Path(self.app_private_key_path).expanduser().read_text()
            variable = "GITHUB_APP_PRIVATE_KEY_PATH"
        else:
            raise ServiceNotConfigured("GITHUB_APP_ID is set without GITHUB_APP_PRIVATE_KEY or "
                                       "GITHUB_APP_PRIVATE_KEY_PATH")
        return GitHubAppInstallation(self.app_id, key, installation_id=self.app_installation_id,
                                     org=self.org, key_variable=variable)

    def build_client(self, transport: httpx.BaseTransport | None = None) -> GitHubClient:
        if not self.configured:
            raise ServiceNotConfigured("GitHub is not configured: set GITHUB_TOKEN or "
                                       "GITHUB_APP_ID")
        return GitHubClient.create(
            token=self.token, app=self.build_app(), api_url=self.api_url, org=self.org,
            rate_limit_reserve=self.rate_limit_reserve,
            timeout=self.timeout_seconds, max_retries=self.max_retries,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
            max_connections=self.max_connections, transport=transport)

    @property
    def client(self) -> GitHubClient:
        return self._open_client()
