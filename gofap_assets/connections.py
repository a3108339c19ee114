"""`gofap-import test-connections`: authenticate against each configured service, say who we
are and how much rate limit is left, without syncing anything and without showing a secret."""

from collections.abc import Callable
from dataclasses import dataclass, field

from gofap_assets.config import Settings
from gofap_assets.github.client import GitHubClient
from gofap_assets.http import ApiError
from gofap_assets.linear.client import LinearClient
from gofap_assets.logs import redact

MAX_RATE_LIMIT_WAIT_SECONDS = 10.0
"""A connection test reports a rate limit rather than sitting it out."""


@dataclass(frozen=True)
class ConnectionResult:
    service: str
    configured: bool
    ok: bool = False
    account: str | None = None
    organization: str | None = None
    rate_limit_remaining: int | None = None
    endpoint: str = ""
    details: tuple[str, ...] = field(default=())

    def as_row(self) -> dict[str, object]:
        status = "not configured" if not self.configured else "ok" if self.ok else "FAILED"
        return {
            "service": self.service,
            "status": status,
            "account": self.account or "",
            "organization": self.organization or "",
            "rate_limit_left": "" if self.rate_limit_remaining is None
            else self.rate_limit_remaining,
            "endpoint": self.endpoint,
            "details": "; ".join(self.details),
        }


def _failure(service: str, endpoint: str, exc: Exception) -> ConnectionResult:
    text = str(exc) if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
    return ConnectionResult(service, configured=True, endpoint=endpoint,
                            details=(redact(text),))


def check_github(settings: Settings) -> ConnectionResult:
    endpoint = settings.github_api_url
    if settings.github_token is None:
        return ConnectionResult("github", configured=False, endpoint=endpoint,
                                details=("GITHUB_TOKEN is unset",))
    client = GitHubClient.create(
        token=settings.github_token.get_secret_value(), api_url=endpoint,
        org=settings.github_org, timeout=settings.timeout_seconds,
        max_retries=settings.max_retries, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_SECONDS)
    details: list[str] = []
    try:
        user = client.http.request("GET", "user")
        scopes = user.headers.get("x-oauth-scopes")
        if scopes is not None:
            details.append(f"token scopes: {scopes or '(none)'}")
        organization = None
        if settings.github_org:
            try:
                org = client.http.request("GET", f"orgs/{settings.github_org}").data
            except ApiError as exc:
                if exc.status != 404:
                    raise
                return ConnectionResult(
                    "github", configured=True, account=user.data.get("login"), endpoint=endpoint,
                    details=(f"GITHUB_ORG={settings.github_org}: no such organization, or the "
                             "token cannot see it",))
            organization = org.get("login") or settings.github_org
        else:
            details.append("GITHUB_ORG unset: syncing the token owner's repositories")
        return ConnectionResult(
            "github", configured=True, ok=True, account=user.data.get("login"),
            organization=organization, endpoint=endpoint,
            rate_limit_remaining=client.http.stats.rate_limit_remaining, details=tuple(details))
    except Exception as exc:  # every failure is one row of the report, never a traceback
        return _failure("github", endpoint, exc)
    finally:
        client.close()


def check_linear(settings: Settings) -> ConnectionResult:
    endpoint = settings.linear_api_url
    if settings.linear_api_key is None:
        return ConnectionResult("linear", configured=False, endpoint=endpoint,
                                details=("LINEAR_API_KEY is unset",))
    client = LinearClient.create(
        api_key=settings.linear_api_key.get_secret_value(), api_url=endpoint,
        workspace_id=settings.linear_workspace_id, timeout=settings.timeout_seconds,
        max_retries=settings.max_retries, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_SECONDS)
    try:
        info = client.test_connection()
    except Exception as exc:  # every failure is one row of the report, never a traceback
        return _failure("linear", endpoint, exc)
    finally:
        client.close()
    account = info.user_name or info.user_id
    if info.email:
        account = f"{account} <{info.email}>"
    details = []
    if info.complexity_remaining is not None:
        details.append(f"complexity left: {info.complexity_remaining}")
    if settings.linear_workspace_id:
        details.append("LINEAR_WORKSPACE_ID matches")
    return ConnectionResult(
        "linear", configured=True, ok=True, account=account,
        organization=info.url_key or info.organization_name or info.organization_id,
        rate_limit_remaining=info.requests_remaining, endpoint=endpoint, details=tuple(details))


CHECKS: tuple[Callable[[Settings], ConnectionResult], ...] = (check_linear, check_github)


def check_connections(settings: Settings) -> list[ConnectionResult]:
    """One result per service, configured or not, in the order `status` lists them."""
    return [check(settings) for check in CHECKS]
