"""The services' signing schemes: HMAC-SHA256 of the raw body under the webhook's secret."""

import hashlib
import hmac

GITHUB_PREFIX = "sha256="
REPLAY_WINDOW_MS = 60_000
"""Linear's SDK refuses a body whose `webhookTimestamp` is further than this from its clock."""


def _digest(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` header GitHub sends with `body`."""
    return GITHUB_PREFIX + _digest(secret, body)


def linear_signature(secret: str, body: bytes) -> str:
    """The `Linear-Signature` header Linear sends with `body` (hex, no prefix)."""
    return _digest(secret, body)


def signature_matches(expected: str, received: str) -> bool:
    """Constant-time comparison, so timing reveals nothing of the expected value."""
    return hmac.compare_digest(expected.encode(), received.strip().encode("utf-8", "replace"))
