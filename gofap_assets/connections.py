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


def github_client(settings: Settings, *, max_rate_limit_wait: float) -> GitHubClient:
    """A client over every configured GitHub credential (tokens and the App), as a sync has."""
    from gofap_assets.github.app_auth import GitHubAppInstallation

    app = None
    if settings.github_app_id is not None:
        app = GitHubAppInstallation(
            settings.github_app_id, settings.github_app_key_text(),
            installation_id=settings.github_app_installation_id, org=settings.github_org,
            key_variable=settings.github_app_key_variable)
    token = settings.github_token.get_secret_value() if settings.github_token else None
    return GitHubClient.create(
        token=token, app=app, api_url=settings.github_api_url, org=settings.github_org,
        rate_limit_reserve=settings.github_rate_limit_reserve,
        timeout=settings.timeout_seconds, max_retries=settings.max_retries,
        max_rate_limit_wait=max_rate_limit_wait)


def budget_lines(client: GitHubClient) -> list[str]:
    """Per credential (masked): the budget left and when it resets, and what this run spent."""
    lines = []
    for row in client.http.account():
        if row["rejected"]:
            lines.append(f"{row['credential']}: REJECTED (401)")
            continue
        left = "budget unknown" if row["remaining"] is None else (
            f"{row['remaining']}" + (f" of {row['limit']}" if row["limit"] else "") + " left")
        reset = f", resets {row['reset']}" if row["reset"] else ""
        lines.append(f"{row['credential']}: {left}{reset}")
    return lines


def check_github(settings: Settings) -> ConnectionResult:
    endpoint = settings.github_api_url
    if not settings.github_enabled:
        return ConnectionResult("github", configured=False, endpoint=endpoint,
                                details=("GITHUB_TOKEN is unset (and no GITHUB_APP_ID)",))
    details: list[str] = []
    try:
        client = github_client(settings, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_SECONDS)
    except Exception as exc:  # a key that does not load is one row of the report
        return _failure("github", endpoint, exc)
    try:
        account = None
        if client.app is not None:
            info = client.app.info()
            expiry = f"{info.expires_at:%Y-%m-%d %H:%M:%SZ}" if info.expires_at else "unknown"
            details.append(f"app {info.app}, installation {info.installation_id}"
                           + (f" on {info.account}" if info.account else "")
                           + f"; installation token expires {expiry}")
            account = f"app {info.app}"
        if settings.github_tokens:
            user = client.http.request("GET", "user")
            scopes = user.headers.get("x-oauth-scopes")
            if scopes is not None:
                details.append(f"token scopes: {scopes or '(none)'}")
            account = user.data.get("login") if account is None else (
                f"{account} + {user.data.get('login')}")
        organization = None
        if settings.github_org:
            try:
                org = client.http.request("GET", f"orgs/{settings.github_org}").data
            except ApiError as exc:
                if exc.status != 404:
                    raise
                return ConnectionResult(
                    "github", configured=True, account=account, endpoint=endpoint,
                    details=(f"GITHUB_ORG={settings.github_org}: no such organization, or the "
                             "credential cannot see it",))
            organization = org.get("login") or settings.github_org
        elif client.app_only:
            details.append("GITHUB_ORG unset: syncing the installation's repositories")
        else:
            details.append("GITHUB_ORG unset: syncing the token owner's repositories")
        client.http.learn_budgets(force=True)
        details += budget_lines(client)
        known = [r["remaining"] for r in client.http.account()
                 if isinstance(r["remaining"], int) and not r["rejected"]]
        remaining = sum(known) if known else client.http.stats.rate_limit_remaining
        return ConnectionResult(
            "github", configured=True, ok=True, account=account,
            organization=organization, endpoint=endpoint,
            rate_limit_remaining=remaining, details=tuple(details))
    except Exception as exc:  # every failure is one row of the report, never a traceback
        return _failure("github", endpoint, exc)
    finally:
        client.close()


def check_linear(settings: Settings) -> ConnectionResult:
    endpoint = settings.linear_api_url
    if not settings.linear_enabled:
        return ConnectionResult("linear", configured=False, endpoint=endpoint,
                                details=("LINEAR_API_KEY is unset",))
    client = LinearClient.create(
        api_key=settings.linear_api_key.get_secret_value() if settings.linear_api_key else None,
        oauth_token=(settings.linear_oauth_token.get_secret_value()
                     if settings.linear_oauth_token else None), api_url=endpoint,
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
    details = [f"credential: {settings.linear_credentials}"]
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
