"""Linear's GraphQL errors, read the way its SDK reads them, raised as errors a user can act on.

Linear answers most failures with HTTP 400 and an `errors` list whose `extensions.type` /
`extensions.code` say what happened; the HTTP status alone is not enough.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gofap_assets.http import ApiError

SERVICE = "Linear"
AUTH_HINT = "check LINEAR_API_KEY (a personal API key, sent without 'Bearer')"


@dataclass(frozen=True)
class GraphQLErrorInfo:
    """One entry of a response's `errors`, with the extensions Linear classifies by."""

    message: str
    path: tuple[str | int, ...] = ()
    code: str | None = None
    type: str | None = None
    user_message: str | None = None

    @property
    def where(self) -> str:
        return ".".join(str(part) for part in self.path) or "(query)"

    @property
    def rate_limited(self) -> bool:
        kind = (self.type or "").lower().replace(" ", "").replace("_", "")
        return (self.code or "").upper() == "RATELIMITED" or "ratelimit" in kind

    @property
    def authentication(self) -> bool:
        return ((self.code or "").upper() == "AUTHENTICATION_ERROR"
                or (self.type or "").lower() == "authentication error")

    @property
    def too_complex(self) -> bool:
        text = f"{self.message} {self.user_message or ''}".lower()
        return "too complex" in text or "complexity" in (self.code or "").lower()


def parse_errors(payload: Any) -> list[GraphQLErrorInfo]:
    """The `errors` of a GraphQL response body; anything unexpected still becomes an entry."""
    if not isinstance(payload, dict) or not payload.get("errors"):
        return []
    raw_errors = payload["errors"]
    if not isinstance(raw_errors, list):
        return [GraphQLErrorInfo(message=str(raw_errors)[:500])]
    errors = []
    for raw in raw_errors:
        if not isinstance(raw, dict):
            errors.append(GraphQLErrorInfo(message=str(raw)[:500]))
            continue
        extensions = raw.get("extensions") if isinstance(raw.get("extensions"), dict) else {}
        path = raw.get("path") if isinstance(raw.get("path"), list) else []
        errors.append(GraphQLErrorInfo(
            message=str(raw.get("message") or "(no message)"),
            path=tuple(p for p in path if isinstance(p, str | int)),
            code=_text(extensions.get("code")),
            type=_text(extensions.get("type")),
            user_message=_text(extensions.get("userPresentableMessage")),
        ))
    return errors


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def describe(errors: Sequence[GraphQLErrorInfo], limit: int = 5) -> str:
    parts = [f"{e.where}: {e.user_message or e.message}" for e in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"... and {len(errors) - limit} more")
    return "; ".join(parts)


class LinearQueryError(ApiError):
    """Linear answered a query with errors: no data, or data the errors make unreliable."""

    def __init__(self, message: str, errors: Sequence[GraphQLErrorInfo] = (), *,
                 status: int | None = None, url: str | None = None) -> None:
        self.errors = tuple(errors)
        super().__init__(SERVICE, message, status=status, url=url)


class QueryTooComplexError(LinearQueryError):
    """The query exceeded Linear's 10,000-point complexity cap; a smaller page may pass."""


class WorkspaceMismatchError(ApiError):
    """LINEAR_API_KEY belongs to another workspace than LINEAR_WORKSPACE_ID names."""
