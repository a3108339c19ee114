"""Typed settings read from the environment variables of SPEC.md, validated once at the boundary."""

import os
import re
from collections.abc import Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///payment_processor.db"

ENV_VARS: dict[str, str] = {
    "linear_api_key": "LINEAR_API_KEY",
    "linear_oauth_token": "LINEAR_OAUTH_TOKEN",
    "linear_workspace_id": "LINEAR_WORKSPACE_ID",
    "linear_api_url": "LINEAR_API_URL",
    "github_token": "GITHUB_TOKEN",
    "github_app_id": "GITHUB_APP_ID",
    "github_app_private_key": "GITHUB_APP_PRIVATE_KEY",
    "github_app_private_key_path": "GITHUB_APP_PRIVATE_KEY_PATH",
    "github_app_installation_id": "GITHUB_APP_INSTALLATION_ID",
    "github_rate_limit_reserve": "GOFAP_GITHUB_RATE_LIMIT_RESERVE",
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
SECRET_FIELDS = frozenset({"linear_api_key", "linear_oauth_token", "github_token",
                           "github_app_private_key", "github_webhook_secret",
                           "linear_webhook_secret"})


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and what is wrong.

    `problems` holds one plain sentence per bad variable (several can be wrong at once).
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems: tuple[str, ...] = problems


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
    linear_oauth_token: SecretStr | None = None
    """A Linear OAuth access token, sent as `Bearer`; instead of a personal key."""
    linear_workspace_id: str | None = None
    linear_api_url: str = "https://api.linear.app/graphql"
    github_token: SecretStr | None = None
    """One token, or several comma-separated: a pool."""
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = None
    github_app_private_key_path: Path | None = None
    github_app_installation_id: int | None = Field(None, ge=1)
    github_rate_limit_reserve: int = Field(0, ge=0)
    """Requests of each GitHub credential never spent (people and other tools share them)."""
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
            raise ValueError("is not a SQLAlchemy URL (e.g. sqlite:///gofap.db or "
                             "postgresql://user@host/db)") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"names an unsupported database {url.get_backend_name()!r} "
                             "(use sqlite or postgresql)")
        return value

    @field_validator("linear_api_url", "github_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("is not an absolute http(s) URL (e.g. https://api.github.com)")
        return value.rstrip("/")

    @field_validator("github_org", "linear_workspace_id", "linear_api_key", "github_token",
                     "linear_oauth_token", "github_app_id", "github_app_private_key",
                     "github_webhook_secret", "linear_webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _rules_across_variables(self) -> "Settings":
        self._check_credentials()
        if self.allow_insecure_http:
            return self
        for field in ("linear_api_url", "github_api_url"):
            url = getattr(self, field)
            if url.startswith("http://") and not is_loopback_url(url):
                raise ValueError(
                    f"{ENV_VARS[field]}={url} would send credentials over plain http to a "
                    "non-loopback host: use https, or set GOFAP_ALLOW_INSECURE_HTTP=1 if you "
                    "really mean it")
        return self

    def _check_credentials(self) -> None:
        if self.linear_api_key is not None and self.linear_oauth_token is not None:
            raise ConfigError("LINEAR_API_KEY and LINEAR_OAUTH_TOKEN are both set: Linear takes "
                              "one credential, so unset one of them")
        key_given = (self.github_app_private_key is not None
                     or self.github_app_private_key_path is not None)
        if self.github_app_id is None:
            if key_given or self.github_app_installation_id is not None:
                raise ConfigError("GITHUB_APP_PRIVATE_KEY(_PATH) or GITHUB_APP_INSTALLATION_ID "
                                  "is set without GITHUB_APP_ID: set the app's id too")
            return
        if self.github_app_private_key is not None and self.github_app_private_key_path:
            raise ConfigError("GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_PATH are both "
                              "set: give the key one way")
        if not key_given:
            raise ConfigError("GITHUB_APP_ID is set without its key: set GITHUB_APP_PRIVATE_KEY "
                              "(the PEM text) or GITHUB_APP_PRIVATE_KEY_PATH (the .pem file)")
        if self.github_token is not None and not self.github_org:
            raise ConfigError("a GitHub App and GITHUB_TOKEN together need GITHUB_ORG: an "
                              "installation and a token would list different repositories")
        from gofap_assets.github.app_auth import GitHubAppError, load_private_key

        try:
            load_private_key(self.github_app_key_text(), self.github_app_key_variable)
        except GitHubAppError as exc:
            raise ConfigError(str(exc).removeprefix("GitHub: ")) from None

    @property
    def github_app_key_variable(self) -> str:
        return ("GITHUB_APP_PRIVATE_KEY_PATH" if self.github_app_private_key_path
                else "GITHUB_APP_PRIVATE_KEY")

    def github_app_key_text(self) -> str:
        """The app's PEM key, from the variable or the file; `\\n` escapes become newlines."""
        if self.github_app_private_key is not None:
            return self.github_app_private_key.get_secret_value().replace("\\n", "\n")
        path = self.github_app_private_key_path
        assert path is not None
        try:
            return path.expanduser().read_text()
        except OSError as exc:
            raise ConfigError(f"GITHUB_APP_PRIVATE_KEY_PATH={path}: cannot read the key "
                              f"({exc.strerror or type(exc).__name__})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"GITHUB_APP_PRIVATE_KEY_PATH={path} is not a PEM text file"
                              ) from None

    @property
    def github_tokens(self) -> list[str]:
        from gofap_assets.github.client import split_tokens

        return split_tokens(self.github_token.get_secret_value() if self.github_token else None)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_tokens) or self.github_app_id is not None

    @property
    def github_credentials(self) -> str:
        """Which kind of GitHub credential is configured, without any secret."""
        kinds = []
        if self.github_app_id is not None:
            installation = self.github_app_installation_id
            kinds.append(f"GitHub App {self.github_app_id} (installation "
                         f"{installation or 'on ' + (self.github_org or 'its only account')})")
        tokens = len(self.github_tokens)
        if tokens:
            kinds.append(f"a pool of {tokens} tokens" if tokens > 1
                         else "a personal access token")
        return " + ".join(kinds) or "none"

    @property
    def linear_enabled(self) -> bool:
        return self.linear_api_key is not None or self.linear_oauth_token is not None

    @property
    def linear_credentials(self) -> str:
        if self.linear_oauth_token is not None:
            return "an OAuth access token (Bearer)"
        return "a personal API key" if self.linear_api_key is not None else "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate every variable; a bad one raises ConfigError naming it."""
        env = os.environ if environ is None else environ
        values = {field: env[var] for field, var in ENV_VARS.items() if env.get(var, "") != ""}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(*(_problem(error, values) for error in exc.errors())) from None

    @staticmethod
    def sources(environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Where each setting came from: the variable's name, or 'default'."""
        env = os.environ if environ is None else environ
        return {f: (v if env.get(v, "") != "" else "default") for f, v in ENV_VARS.items()}


_VERBS = ("is ", "must ", "names ", "has ", "needs ", "cannot ", "would ", "should ")
_BOOLEAN = "must be true or false (1/0, yes/no, on/off)"


def _problem(error: Any, values: Mapping[str, str]) -> str:
    """One plain sentence naming the variable, in place of pydantic's wording."""
    field = str(error["loc"][0]) if error["loc"] else ""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    message = str(ctx["error"]) if kind == "value_error" and "error" in ctx else error["msg"]
    if not field:
        return message  # a rule across variables: its message names them
    var = ENV_VARS.get(field, field)
    raw = values.get(field)
    if field in SECRET_FIELDS or raw is None:
        subject = var
    elif field == "database_url":
        masked = mask_database_url(raw)
        subject = var if masked == "<unparseable URL>" else f"{var}={masked!r}"
    else:
        subject = f"{var}={raw!r}"
    if kind == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", ctx.get("expected", "")))
        message = f"must be one of {choices}"
    elif kind.startswith("bool_"):
        message = _BOOLEAN
    elif kind.startswith(("int_", "float_", "greater_", "less_")):
        message = f"must be {_number_rule(field)}"
    return f"{subject} {message}" if message.startswith(_VERBS) else f"{subject}: {message}"


def _number_rule(field: str) -> str:
    """'a whole number from 1 to 10080', from the field's type and bounds."""
    info = Settings.model_fields[field]
    whole = info.annotation is int
    bounds: dict[str, float] = {}
    for item in info.metadata:  # pydantic's Ge/Gt/Le/Lt constraints, one bound each
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(getattr(item, name, None), int | float):
                bounds[name] = getattr(item, name)

    def shown(value: float) -> str:
        return f"{value:g}"

    noun = "a whole number" if whole else "a number"
    low = (f"of {shown(bounds['ge'])} or more" if "ge" in bounds else
           f"above {shown(bounds['gt'])}" if "gt" in bounds else "")
    high = (f"at most {shown(bounds['le'])}" if "le" in bounds else
            f"below {shown(bounds['lt'])}" if "lt" in bounds else "")
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {shown(bounds['ge'])} to {shown(bounds['le'])}"
    return " ".join(part for part in (noun, " and ".join(p for p in (low, high) if p)) if part)
