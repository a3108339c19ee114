"""Error types raised at the HTTP boundary, each with a message an operator can act on."""

from datetime import datetime

from gofap_assets.logs import redact


class ApiError(Exception):
    """An API answered with an error, or could not be reached; names the service and the URL."""

    def __init__(self, service: str, message: str, *, status: int | None = None,
                 url: str | None = None) -> None:
        self.service = service
        self.status = status
        self.url = url
        where = f" ({url})" if url else ""
        code = f" {status}" if status is not None else ""
        super().__init__(redact(f"{service}{code}: {message}{where}"))


class AuthenticationError(ApiError):
    """The credential was rejected (401, or Linear's authentication error)."""


class RateLimitedError(ApiError):
    """The rate limit would need a longer wait than allowed, or kept coming back."""


class RetriesExhaustedError(ApiError):
    """Transient failures (5xx, timeouts, dropped connections) outlasted every retry."""


class MalformedResponseError(ApiError):
    """The body was not the JSON the API promises, even after retrying."""


class BudgetExhaustedError(RateLimitedError):
    """Every credential has spent its rate limit until `until` (UTC), later than the caller may
    wait: the sync stops here and defers the rest to then. Not a failure."""

    def __init__(self, service: str, until: datetime, message: str) -> None:
        self.until = until
        super().__init__(service, f"rate-limit budget exhausted until "
                         f"{until:%Y-%m-%dT%H:%M:%SZ}: {message}")
