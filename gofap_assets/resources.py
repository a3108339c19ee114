"""Resources built from the environment; secrets stay `EnvVar`s so Dagster never stores them."""

import dagster as dg

from gofap_assets.config import DEFAULT_DATABASE_URL, Settings
from gofap_assets.github.resources import GitHubResource
from gofap_assets.linear.resources import LinearResource
from gofap_assets.warehouse.resource import WarehouseResource


def _secret(settings_value: object, var: str) -> dg.EnvVar | None:
    return dg.EnvVar(var) if settings_value is not None else None


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    database_url: str | dg.EnvVar = settings.database_url
    if settings.database_url != DEFAULT_DATABASE_URL:
        database_url = dg.EnvVar("DATABASE_URL")
    return {
        "warehouse": WarehouseResource(database_url=database_url),
        "github": GitHubResource(
            token=_secret(settings.github_token, "GITHUB_TOKEN"),
            app_id=settings.github_app_id,
            app_private_key=_secret(settings.github_app_private_key, "GITHUB_APP_PRIVATE_KEY"),
            app_private_key_path=(str(settings.github_app_private_key_path)
                                  if settings.github_app_private_key_path else None),
            app_installation_id=settings.github_app_installation_id,
            rate_limit_reserve=settings.github_rate_limit_reserve,
            org=settings.github_org,
            api_url=settings.github_api_url,
            max_retries=settings.max_retries,
            timeout_seconds=settings.timeout_seconds,
            concurrency=settings.concurrency,
            max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
        ),
        "linear": LinearResource(
            api_key=_secret(settings.linear_api_key, "LINEAR_API_KEY"),
            oauth_token=_secret(settings.linear_oauth_token, "LINEAR_OAUTH_TOKEN"),
            workspace_id=settings.linear_workspace_id,
            api_url=settings.linear_api_url,
            max_retries=settings.max_retries,
            timeout_seconds=settings.timeout_seconds,
            concurrency=settings.concurrency,
            max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
        ),
    }
