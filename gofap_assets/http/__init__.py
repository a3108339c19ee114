"""The one HTTP layer every API call passes through: timeouts, retries, rate limits, ETags."""

from gofap_assets.http.client import ApiClient, ApiResponse, RateLimitWait, RequestStats
from gofap_assets.http.credentials import BudgetHeaders, Credential, CredentialPool, StaticToken
from gofap_assets.http.errors import (
    ApiError,
    AuthenticationError,
    BudgetExhaustedError,
    MalformedResponseError,
    RateLimitedError,
    RetriesExhaustedError,
)

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiResponse",
    "AuthenticationError",
    "BudgetExhaustedError",
    "BudgetHeaders",
    "Credential",
    "CredentialPool",
    "MalformedResponseError",
    "RateLimitWait",
    "RateLimitedError",
    "RequestStats",
    "RetriesExhaustedError",
    "StaticToken",
]
