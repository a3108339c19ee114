"""A GitHub App as the emulator knows it: its RSA key pair, its JWT rules, its installation and
the installation tokens it mints.

The JWT is verified as GitHub does (RS256 signature against the app's public key, `iss` the app
id or client id, `iat` not in the future beyond drift, `exp` in the future and at most 10 minutes
after `iat`); installation tokens are `ghs_`-style, longer than 40 characters, and expire (after
`token_ttl` seconds, short on request so that renewal is exercised).
"""

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MAX_JWT_LIFETIME = 600
CLOCK_DRIFT = 60


class JwtRejected(Exception):
    """Why GitHub would answer 401 to this JWT."""


@dataclass(frozen=True)
class MintedToken:
    token: str
    installation_id: int
    expires_at: float


class SandboxGitHubAppIdentity:
    """One app with one installation (on the world's organization)."""

    def __init__(self, account: str, *, app_id: int = 424_242,
                 client_id: str = "Iv23liSandboxApp0001", slug: str = "gofap-sandbox-app",
                 installation_id: int = 51_515_151, token_ttl: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.app_id = app_id
        self.client_id = client_id
        self.slug = slug
        self.installation_id = installation_id
        self.token_ttl = token_ttl
        self.installed = True
        self._clock = clock
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode()
        """PKCS#1 (`BEGIN RSA PRIVATE KEY`), as GitHub's app settings download it."""
        self._public_key = key.public_key()
        self._tokens: dict[str, MintedToken] = {}
        self._lock = threading.Lock()
        self.jwts: list[str] = []
        """Every JWT presented (valid or not), for the tests' secret scans."""
        self.minted: list[MintedToken] = []
        self.refusing = False
        """Every installation token is refused, fresh ones too (a suspended installation)."""

    # -- the JWT ----------------------------------------------------------------------------

    def verify(self, token: str) -> None:
        with self._lock:
            self.jwts.append(token)
        try:
            claims = jwt.decode(token, self._public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"], "verify_exp": False,
                                         "verify_iat": False})
        except jwt.InvalidTokenError as exc:
            raise JwtRejected(f"A JSON web token could not be decoded ({exc})") from None
        now = self._clock()
        if str(claims["iss"]) not in (str(self.app_id), self.client_id):
            raise JwtRejected("'Issuer' claim ('iss') must be an Integer or the app's client ID")
        iat, exp = float(claims["iat"]), float(claims["exp"])
        if iat > now + CLOCK_DRIFT:
            raise JwtRejected("'Issued at' claim ('iat') must be an Integer representing a "
                              "time in the past")
        if exp <= now:
            raise JwtRejected("'Expiration time' claim ('exp') is too far in the past")
        if exp - iat > MAX_JWT_LIFETIME + 1:
            raise JwtRejected("'Expiration time' claim ('exp') is too far in the future")

    # -- installation tokens -----------------------------------------------------------------

    def mint(self, ttl: float | None = None) -> MintedToken:
        token = "ghs_" + secrets.token_urlsafe(45).replace("-", "A").replace("_", "B")
        minted = MintedToken(token, self.installation_id,
                             self._clock() + (self.token_ttl if ttl is None else ttl))
        with self._lock:
            self._tokens[token] = minted
            self.minted.append(minted)
        return minted

    def installation_of(self, token: str) -> int | None:
        """The installation a live token belongs to; None for a token it never minted."""
        with self._lock:
            minted = self._tokens.get(token)
        if minted is None:
            return None
        if self.refusing or minted.expires_at <= self._clock():
            raise JwtRejected("Bad credentials")
        return minted.installation_id

    def refuse_all(self) -> None:
        """From now on every installation token answers 401, even one minted later (the
        installation was suspended while the app can still mint)."""
        self.refusing = True

    def expire_all(self) -> None:
        """Every token minted so far expires now (the next use answers 401)."""
        with self._lock:
            for token, minted in list(self._tokens.items()):
                self._tokens[token] = MintedToken(minted.token, minted.installation_id,
                                                  self._clock() - 1)

    # -- the objects GitHub returns -----------------------------------------------------------

    def app_json(self, api: str) -> dict[str, Any]:
        return {"id": self.app_id, "slug": self.slug, "client_id": self.client_id,
                "node_id": f"A_kwDO{self.app_id}", "name": "GOFAP Sandbox App",
                "owner": {"login": self.account, "type": "Organization"},
                "description": "Reads work data for the GOFAP warehouse",
                "external_url": "https://gofap.example", "html_url":
                f"https://github.com/apps/{self.slug}", "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z",
                "permissions": {"contents": "read", "issues": "read", "metadata": "read",
                                "pull_requests": "read"},
                "events": [], "installations_count": 1}

    def installation_json(self, api: str, account_id: int) -> dict[str, Any]:
        return {"id": self.installation_id, "app_id": self.app_id, "app_slug": self.slug,
                "target_id": account_id, "target_type": "Organization",
                "account": {"login": self.account, "id": account_id, "type": "Organization"},
                "repository_selection": "all",
                "access_tokens_url":
                f"{api}/app/installations/{self.installation_id}/access_tokens",
                "repositories_url": f"{api}/installation/repositories",
                "html_url": f"https://github.com/organizations/{self.account}/settings/"
                f"installations/{self.installation_id}",
                "permissions": {"contents": "read", "issues": "read", "metadata": "read",
                                "pull_requests": "read"},
                "events": [], "created_at": "2025-01-02T00:00:00Z",
                "updated_at": "2025-01-02T00:00:00Z", "single_file_name": None,
                "suspended_at": None, "suspended_by": None}

    def token_json(self, minted: MintedToken) -> dict[str, Any]:
        expires = datetime.fromtimestamp(minted.expires_at, UTC)
        return {"token": minted.token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": {"contents": "read", "issues": "read", "metadata": "read",
                                "pull_requests": "read"},
                "repository_selection": "all"}
