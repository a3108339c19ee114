"""Typed settings read from the environment variables of SPEC.md, validated once at the boundary."""

import os
from collections.abc import Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///payment_processor.db"

ENV_VARS: dict[str, str] = {
    "linear_api_key": "LINEAR_API_KEY",
    "linear_workspace_id": "LINEAR_WORKSPACE_ID",
    "linear_api_url": "LINEAR_API_URL",
    "github_token": "GITHUB_TOKEN",
    "github_org": "GITHUB_ORG",
    "github_api_url": "GITHUB_API_URL",
    "sync_interval_minutes": "SYNC_INTERVAL_MINUTES",
    "max_retries": "MAX_RETRIES",
    "timeout_seconds": "TIMEOUT_SECONDS",
    "database_url": "DATABASE_URL",
    "log_level": "LOG_LEVEL",
    "log_file": "LOG_FILE",
    "concurrency": "GOFAP_CONCURRENCY",
    "max_rate_limit_wait_seconds": "GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS",
    "allow_insecure_http": "GOFAP_ALLOW_INSECURE_HTTP",
    "github_webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "linear_webhook_secret": "LINEAR_WEBHOOK_SECRET",
}
SECRET_FIELDS = frozenset({"linear_api_key", "github_token", "github_webhook_secret",
                           "linear_webhook_secret"})


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and what is wrong."""


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def mask_database_url(url: str) -> str:
    """The URL with any password replaced, for output and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class ServiceNotConfigured(RuntimeError):
    """A service's credential is unset: it is skipped and says so, never a crash."""


class Settings(BaseModel):
    """Everything the importer reads from the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    linear_api_key: SecretStr | None = None
    linear_workspace_id: str | None = None
    linear_api_url: str = "https://api.linear.app/graphql"
    github_token: SecretStr | None = None
    github_org: str | None = None
    github_api_url: str = "https://api.github.com"
    sync_interval_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    max_retries: int = Field(3, ge=0, le=20)
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    database_url: str = DEFAULT_DATABASE_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None
    concurrency: int = Field(4, ge=1, le=64)
    """Repositories or teams fetched at once within one run."""
    max_rate_limit_wait_seconds: float = Field(900.0, ge=0)
    """Longest wait for a rate-limit reset before a request gives up."""
    allow_insecure_http: bool = False
    """Permit plain-http API URLs on non-loopback hosts (credentials would cross in clear)."""
    github_webhook_secret: SecretStr | None = None
    """Signing secret of the GitHub webhooks sent to `gofap-import webhooks serve`."""
    linear_webhook_secret: SecretStr | None = None
    """Signing secret of the Linear webhooks; unset, that service's deliveries are refused."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a SQLAlchemy URL (e.g. sqlite:///gofap.db or "
                             "postgresql://user@host/db)") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url.get_backend_name()!r}: "
                             "use sqlite or postgresql")
        return value

    @field_validator("linear_api_url", "github_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("github_org", "linear_workspace_id", "linear_api_key", "github_token",
                     "github_webhook_secret", "linear_webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def model_post_init(self, _context: Any) -> None:
        if self.allow_insecure_http:
            return
        for field in ("linear_api_url", "github_api_url"):
            url = getattr(self, field)
            if url.startswith("http://") and not is_loopback_url(url):
                raise ConfigError(
                    f"{ENV_VARS[field]}={url} sends credentials over plain http to a non-loopback "
                    "host; use https, or set GOFAP_ALLOW_INSECURE_HTTP=1 if you really mean it"
                )

    @property
    def github_enabled(self) -> bool:
        return self.github_token is not None

    @property
    def linear_enabled(self) -> bool:
        return self.linear_api_key is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate every variable; a bad one raises ConfigError naming it."""
        env = os.environ if environ is None else environ
        values = {field: env[var] for field, var in ENV_VARS.items() if env.get(var, "") != ""}
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                var = ENV_VARS.get(field, field)
                shown = values.get(field)
                if field in SECRET_FIELDS:
                    shown = "***"
                elif field == "database_url" and shown is not None:
                    shown = mask_database_url(shown)
                problems.append(f"{var}={shown!r}: {error['msg']}")
            raise ConfigError("invalid configuration: " + "; ".join(problems)) from None

    @staticmethod
    def sources(environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Where each setting came from: the variable's name, or 'default'."""
        env = os.environ if environ is None else environ
        return {f: (v if env.get(v, "") != "" else "default") for f, v in ENV_VARS.items()}
