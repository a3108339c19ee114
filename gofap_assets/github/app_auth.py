"""Authenticating as a GitHub App installation: a JWT from the app's key, exchanged for an
installation token that is cached, shared by every thread of a run, and renewed before it expires
and once on a 401 (GitHub: "Using an expired token produces a status code of 401").

The private key, every JWT and every installation token are registered as secrets the moment
they exist, so no log line, error or stored text can carry them.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gofap_assets.http import ApiError, AuthenticationError, Credential
from gofap_assets.logs import register_secret

if TYPE_CHECKING:
    from gofap_assets.http import ApiClient

JWT_BACKDATE_SECONDS = 60
"""GitHub recommends `iat` 60 s in the past, against clock drift."""
JWT_LIFETIME_SECONDS = 540
"""`exp` at most 10 minutes ahead: 9 leaves room for a slow clock."""
RENEW_BEFORE_SECONDS = 300
"""An installation token is renewed when it has less than this left, never used to the edge."""
PROOF_WAIT_SECONDS = 120.0
"""How long a thread waits for the first answer to a token minted after a 401 before sending
on it anyway (that answer normally comes within the request timeout)."""
SERVICE = "GitHub"


class GitHubAppError(AuthenticationError):
    """The app's configuration cannot work: names the variable to fix."""

    def __init__(self, message: str, *, status: int | None = None,
                 url: str | None = None) -> None:
        super().__init__(SERVICE, message, status=status, url=url)


def load_private_key(pem: str, variable: str) -> RSAPrivateKey:
    """The app's RSA key from PEM (PKCS#1 or PKCS#8); a clear error naming `variable` else."""
    register_secret(pem)
    register_secret(pem.strip())
    text = pem.strip()
    if "-----BEGIN" not in text:
        raise GitHubAppError(f"{variable} is not a PEM private key (expected "
                             "-----BEGIN RSA PRIVATE KEY-----, as GitHub's app settings "
                             "download it)")
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        reason = "it is encrypted" if "password" in str(exc).lower() else "it does not parse"
        raise GitHubAppError(f"{variable} holds no usable PEM private key ({reason})") from None
    if not isinstance(key, RSAPrivateKey):
        raise GitHubAppError(f"{variable} is a {type(key).__name__.lstrip('_')} key; GitHub "
                             "Apps sign with RSA (RS256): use the .pem from the app's settings")
    for line in text.splitlines():
        if len(line) >= 16 and "-----" not in line:
            register_secret(line)
    return key


@dataclass(frozen=True)
class InstallationInfo:
    """What `test-connections` shows about the app side of the credential."""

    app: str
    installation_id: int
    account: str | None
    expires_at: datetime | None


class GitHubAppInstallation(Credential):
    """An installation token of one GitHub App: a credential of the pool like any token."""

    kind = "app"

    def __init__(self, app_id: str, private_key: str, *, installation_id: int | None = None,
                 org: str | None = None, key_variable: str = "GITHUB_APP_PRIVATE_KEY",
                 clock: Callable[[], float] = time.time) -> None:
        self.app_id = app_id.strip()
        self._key = load_private_key(private_key, key_variable)
        self._key_variable = key_variable
        self._installation_id = installation_id
        self._org = org
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None
        self._renewed_unproven = False
        """The token was minted for a 401 and no answer has accepted it yet."""
        self._proving = False
        """A request is out on the unproven token: the other threads wait for its answer, so a
        refused fresh token meets one 401, not one per thread."""
        self._settled = threading.Condition(self._lock)
        self._refused: str | None = None
        """Why this installation is given up: a freshly minted token was refused too."""
        self._http: ApiClient | None = None
        self.app_name: str | None = None
        self.account: str | None = None
        self.tokens_minted = 0

    def bind(self, http: "ApiClient") -> None:
        """The client whose connection the app's own (JWT) requests use."""
        self._http = http

    @property
    def name(self) -> str:  # type: ignore[override]
        return (f"app:installation {self._installation_id}" if self._installation_id
                else f"app:{self.app_id}")

    # -- the JWT ----------------------------------------------------------------------------

    def jwt(self) -> str:
        """A fresh app JWT (RS256; `iat` backdated, `exp` under 10 minutes, `iss` the app)."""
        now = int(self._clock())
        token = jwt.encode({"iat": now - JWT_BACKDATE_SECONDS, "exp": now + JWT_LIFETIME_SECONDS,
                            "iss": self.app_id}, self._key, algorithm="RS256")
        register_secret(token)
        return token

    def _app_request(self, method: str, path: str) -> Any:
        assert self._http is not None, "bind() the app to its client first"
        return self._http.request(method, path, authorization=f"Bearer {self.jwt()}").data

    # -- the installation token --------------------------------------------------------------

    def authorization(self) -> str:
        with self._settled:
            self._settled.wait_for(lambda: not (self._renewed_unproven and self._proving)
                                   or self._refused is not None, PROOF_WAIT_SECONDS)
            if self._refused is not None:
                raise GitHubAppError(self._refused, status=401)
            if (self._token is None or self._expires_at is None
                    or self._expires_at - self._clock() < RENEW_BEFORE_SECONDS):
                self._mint()
            assert self._token is not None
            if self._renewed_unproven:
                self._proving = True  # this request tells whether the fresh token works
            return f"Bearer {self._token}"

    def renew(self, rejected: str) -> bool:
        """A 401 on `rejected`: mint anew unless another thread already has (then just retry).

        One renewal at a time: the threads whose requests met the same 401 wait on the lock and
        retry on the token it minted. If that token is refused before any answer accepted it,
        minting more would only meet more 401s (the installation was suspended, or the app
        lost its access): the installation is given up with an error saying so.
        """
        with self._lock:
            if self._refused is not None:
                raise GitHubAppError(self._refused, status=401)
            if self._token is not None and rejected != f"Bearer {self._token}":
                return True
            if self._token is not None and self._renewed_unproven:
                self._refused = (
                    f"GitHub refused a freshly minted installation token of app {self.app_id} "
                    "(401) right after renewing the one it revoked: the installation may be "
                    "suspended or removed, or the app's access revoked; check the app's "
                    "installation and its repository access, then sync again")
                self._settled.notify_all()
                raise GitHubAppError(self._refused, status=401)
            self._mint()
            self._renewed_unproven = True
            return True

    def accepted(self, authorization: str) -> None:
        if not self._renewed_unproven:  # every answer comes here: no lock on the usual path
            return
        with self._settled:
            if self._renewed_unproven and authorization == f"Bearer {self._token}":
                self._renewed_unproven = self._proving = False
                self._settled.notify_all()

    def abandoned(self, authorization: str) -> None:
        with self._settled:
            if self._proving and authorization == f"Bearer {self._token}":
                self._proving = False  # no answer: the next request proves the token instead
                self._settled.notify_all()

    def _mint(self) -> None:
        installation = self.installation_id()
        try:
            data = self._app_request("POST", f"app/installations/{installation}/access_tokens")
        except ApiError as exc:
            raise self._explain(exc, "minting an installation token") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise GitHubAppError("GitHub answered the installation-token request without a "
                                 "token")
        register_secret(token)
        self._token = token
        self._expires_at = _parse_time(data.get("expires_at")) or self._clock() + 3600
        self.tokens_minted += 1
        self._renewed_unproven = self._proving = False

    def installation_id(self) -> int:
        """GITHUB_APP_INSTALLATION_ID, else the installation on GITHUB_ORG, else the only one."""
        if self._installation_id is not None:
            return self._installation_id
        try:
            self.verify_app()
            if self._org:
                try:
                    data = self._app_request("GET", f"orgs/{self._org}/installation")
                except ApiError as exc:
                    if exc.status == 404:
                        raise GitHubAppError(
                            f"app {self.app_id} is not installed on GITHUB_ORG={self._org}: "
                            "install it there, or set GITHUB_APP_INSTALLATION_ID",
                            status=404) from None
                    raise
                found = [data] if isinstance(data, dict) else []
            else:
                listed = self._app_request("GET", "app/installations")
                found = [i for i in listed if isinstance(i, dict)] if isinstance(
                    listed, list) else []
                if len(found) != 1:
                    raise GitHubAppError(
                        f"app {self.app_id} has {len(found)} installations: set GITHUB_ORG or "
                        "GITHUB_APP_INSTALLATION_ID to choose one")
        except GitHubAppError:
            raise
        except ApiError as exc:
            raise self._explain(exc, "finding the installation") from None
        installation = found[0].get("id") if found else None
        if not isinstance(installation, int):
            raise GitHubAppError("GitHub answered the installation lookup without an id")
        account = found[0].get("account")
        if isinstance(account, dict) and isinstance(account.get("login"), str):
            self.account = account["login"]
        self._installation_id = installation
        return installation

    def verify_app(self) -> str:
        """`GET /app`: the key and id belong together. Returns the app's name."""
        try:
            data = self._app_request("GET", "app")
        except ApiError as exc:
            raise self._explain(exc, "authenticating as the app") from None
        if isinstance(data, dict):
            self.app_name = str(data.get("slug") or data.get("name") or self.app_id)
        return self.app_name or self.app_id

    def _explain(self, exc: ApiError, doing: str) -> GitHubAppError:
        if exc.status == 401:
            return GitHubAppError(
                f"GitHub rejected the app's JWT while {doing}: GITHUB_APP_ID={self.app_id} and "
                f"{self._key_variable} do not belong to the same app (or the key was revoked)",
                status=401, url=exc.url)
        if exc.status == 404 and self._installation_id is not None:
            return GitHubAppError(
                f"no installation {self._installation_id} of app {self.app_id}: check "
                "GITHUB_APP_INSTALLATION_ID", status=404, url=exc.url)
        return GitHubAppError(f"{doing} failed: {exc}", status=exc.status, url=exc.url)

    def info(self) -> InstallationInfo:
        """Mints (or reuses) the token and says what it is, for `test-connections`."""
        if self.app_name is None:
            self.verify_app()
        self.authorization()
        expires = self._expires_at
        return InstallationInfo(self.app_name or self.app_id, self.installation_id(),
                                self.account,
                                datetime.fromtimestamp(expires, UTC) if expires else None)


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
