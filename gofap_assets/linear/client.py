"""Linear's GraphQL API over the shared HTTP layer: auth, error classification and paging.

Retries, backoff and rate-limit waits all happen in `ApiClient` (with `linear_rate_limit` as its
rule); this layer only speaks GraphQL: it posts documents, turns `errors` into typed exceptions,
pages through connections and shrinks a page that Linear finds too complex.
"""

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gofap_assets.http import ApiClient, AuthenticationError, MalformedResponseError, StaticToken
from gofap_assets.linear.errors import (
    AUTH_HINT,
    SERVICE,
    GraphQLErrorInfo,
    LinearQueryError,
    QueryTooComplexError,
    WorkspaceMismatchError,
    describe,
    parse_errors,
)
from gofap_assets.linear.queries import (
    MAX_PAGE_SIZE,
    ORGANIZATION,
    VIEWER,
    Listing,
    page_size_for,
)
from gofap_assets.linear.ratelimit import RateLimitReadings, linear_rate_limit
from gofap_assets.logs import get_logger

log = get_logger("linear")

DEFAULT_API_URL = "https://api.linear.app/graphql"
OAUTH_HINT = "check LINEAR_OAUTH_TOKEN (an OAuth access token, sent as 'Bearer')"
_GRAPHQL_ERROR_STATUSES = frozenset({400, 403})
"""Statuses whose body is a GraphQL error document to classify, rather than a bare HTTP error."""


@dataclass(frozen=True)
class GraphQLResult:
    data: dict[str, Any]
    errors: tuple[GraphQLErrorInfo, ...]
    """Errors that came with usable data (a partial result): the caller must account for them."""
    status: int
    url: str


@dataclass(frozen=True)
class ConnectionPage:
    """One page of a root connection."""

    nodes: list[Any]
    has_next: bool
    page_size: int
    node_errors: dict[int, str] = field(default_factory=dict)
    """Index in `nodes` -> the GraphQL errors reported inside that node (partial data)."""


@dataclass(frozen=True)
class ConnectionInfo:
    """What `test_connection` learned: who the key belongs to and how much quota is left."""

    user_id: str
    user_name: str | None
    email: str | None
    organization_id: str
    organization_name: str | None
    url_key: str | None
    requests_remaining: int | None
    complexity_remaining: int | None

    def describe(self) -> str:
        who = f"{self.user_name or self.user_id} <{self.email}>" if self.email else (
            self.user_name or self.user_id)
        quota = (f"{self.requests_remaining} requests left"
                 if self.requests_remaining is not None else "rate limit not reported")
        return f"{who} in workspace {self.url_key or self.organization_id}; {quota}"


class LinearClient:
    """The few Linear queries the importer sends. Safe to share between threads."""

    def __init__(self, http: ApiClient, api_url: str, *, page_size: int = MAX_PAGE_SIZE,
                 workspace_id: str | None = None) -> None:
        self.http = http
        self.api_url = api_url
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.workspace_id = workspace_id
        self.rate_limits = RateLimitReadings()
        self._lock = threading.Lock()
        self._auth_error: AuthenticationError | None = None
        self._workspace_checked = False
        self._halvings = 0
        self.auth_hint = AUTH_HINT

    @classmethod
    def create(cls, *, api_key: str | None = None, oauth_token: str | None = None,
               api_url: str = DEFAULT_API_URL,
               workspace_id: str | None = None, page_size: int = MAX_PAGE_SIZE,
               timeout: float = 30.0, max_retries: int = 3, max_rate_limit_wait: float = 900.0,
               max_connections: int = 16, backoff_base: float = 0.5,
               transport: httpx.BaseTransport | None = None,
               sleep: Callable[[float], None] = time.sleep) -> "LinearClient":
        """With a personal key (sent as is) or an OAuth token (sent as `Bearer`). A RATELIMITED
        answer pauses the credential; one longer than `max_rate_limit_wait` stops the sync
        with `BudgetExhaustedError`, as on GitHub."""
        if oauth_token:
            credential = StaticToken("oauth token", oauth_token, scheme="Bearer", kind="oauth")
            hint = OAUTH_HINT
        elif api_key:
            credential = StaticToken("api key", api_key, scheme=None, kind="key")
            hint = AUTH_HINT
        else:
            raise ValueError("Linear needs LINEAR_API_KEY or LINEAR_OAUTH_TOKEN")
        http = ApiClient(
            SERVICE, api_url,
            headers={"Content-Type": "application/json", "User-Agent": "gofap-data-import"},
            credentials=(credential,), timeout=timeout, max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait, rate_limit_rule=linear_rate_limit,
            remaining_header="x-ratelimit-requests-remaining", auth_hint=hint,
            transport=transport, max_connections=max_connections, backoff_base=backoff_base,
            sleep=sleep)
        client = cls(http, api_url, page_size=page_size, workspace_id=workspace_id)
        client.auth_hint = hint
        return client

    def close(self) -> None:
        self.http.close()

    @property
    def complexity_halvings(self) -> int:
        """How often a page was halved because Linear found it too complex."""
        return self._halvings

    # -- one request -----------------------------------------------------------------------

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> GraphQLResult:
        """Post one document; raise on errors that leave no usable data.

        Partial data comes back with its `errors` for the caller to place; authentication
        failures are remembered so that no further request is sent with a rejected key.
        """
        if self._auth_error is not None:
            raise self._auth_error
        body: dict[str, Any] = {"query": document}
        if variables:
            body["variables"] = {k: v for k, v in variables.items() if v is not None}
        try:
            response = self.http.request("POST", self.api_url, json_body=body,
                                         accept_statuses=_GRAPHQL_ERROR_STATUSES)
        except AuthenticationError as exc:
            self._auth_error = exc
            raise
        self.rate_limits.observe(response.headers)
        payload = response.data
        url = self.api_url
        if not isinstance(payload, dict):
            raise MalformedResponseError(SERVICE, "expected a GraphQL response object, got "
                                         f"{type(payload).__name__}", status=response.status,
                                         url=url)
        errors = parse_errors(payload)
        if any(e.authentication for e in errors):
            self._auth_error = AuthenticationError(
                SERVICE, f"rejected the credential: {describe(errors)}; {self.auth_hint}",
                status=response.status, url=url)
            raise self._auth_error
        if any(e.too_complex for e in errors):
            raise QueryTooComplexError(f"query too complex: {describe(errors)}", errors,
                                       status=response.status, url=url)
        data = payload.get("data")
        if response.status >= 400 or not isinstance(data, dict):
            if not errors:
                raise MalformedResponseError(SERVICE, "answered without data or errors",
                                             status=response.status, url=url)
            raise LinearQueryError(f"query failed: {describe(errors)}", errors,
                                   status=response.status, url=url)
        return GraphQLResult(data, tuple(errors), response.status, url)

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The data of a query that must succeed entirely: partial data is an error here."""
        result = self.execute(document, variables)
        if result.errors:
            raise LinearQueryError(f"partial data with errors at {describe(result.errors)}",
                                   result.errors, status=result.status, url=result.url)
        return result.data

    # -- paging ----------------------------------------------------------------------------

    def pages(self, listing: Listing,
              filter: Mapping[str, Any] | None = None) -> Iterator[ConnectionPage]:
        """Every page of a root connection, following `endCursor` while `hasNextPage`."""
        size = min(self.page_size, page_size_for(listing.document))
        after: str | None = None
        cursors: set[str] = set()
        while True:
            try:
                result = self.execute(listing.document,
                                      {"first": size, "after": after, "filter": filter})
            except QueryTooComplexError:
                if size <= 1:
                    raise
                size = max(1, size // 2)
                with self._lock:
                    self._halvings += 1
                log.warning("Linear: %s too complex; retrying the page with first=%d",
                            listing.name, size)
                continue
            nodes, has_next, end_cursor = self._connection(result, listing)
            node_errors = _node_errors(result.errors, listing, len(nodes))
            yield ConnectionPage(nodes, has_next, size, node_errors)
            if not has_next:
                return
            if not end_cursor or end_cursor in cursors:
                raise MalformedResponseError(
                    SERVICE, f"{listing.field}: hasNextPage without a new endCursor "
                    f"({end_cursor!r})", url=self.api_url)
            cursors.add(end_cursor)
            after = end_cursor

    def _connection(self, result: GraphQLResult,
                    listing: Listing) -> tuple[list[Any], bool, str | None]:
        connection = result.data.get(listing.field)
        page_info = connection.get("pageInfo") if isinstance(connection, dict) else None
        nodes = connection.get("nodes") if isinstance(connection, dict) else None
        if not isinstance(nodes, list) or not isinstance(page_info, dict):
            raise MalformedResponseError(SERVICE, f"{listing.field}: expected nodes and "
                                         "pageInfo in the answer", url=self.api_url)
        end_cursor = page_info.get("endCursor")
        return nodes, page_info.get("hasNextPage") is True, (
            end_cursor if isinstance(end_cursor, str) else None)

    # -- identity --------------------------------------------------------------------------

    def verify_workspace(self) -> None:
        """With LINEAR_WORKSPACE_ID set, refuse to sync another workspace's data (once a client)."""
        if not self.workspace_id or self._workspace_checked:
            return
        organization = self.query(ORGANIZATION).get("organization") or {}
        self._check_workspace(organization)
        self._workspace_checked = True

    def _check_workspace(self, organization: Mapping[str, Any]) -> None:
        if not self.workspace_id:
            return
        if self.workspace_id not in (organization.get("id"), organization.get("urlKey")):
            raise WorkspaceMismatchError(
                SERVICE, f"LINEAR_WORKSPACE_ID is {self.workspace_id!r}, but LINEAR_API_KEY "
                f"belongs to workspace {organization.get('urlKey')!r} (id "
                f"{organization.get('id')!r}); fix one of the two", url=self.api_url)

    def test_connection(self) -> ConnectionInfo:
        """Who the key belongs to, in which workspace, and how much of the rate limit is left."""
        data = self.query(VIEWER)
        viewer, organization = data.get("viewer") or {}, data.get("organization") or {}
        self._check_workspace(organization)
        readings = self.rate_limits.as_metadata()
        requests_left = readings.get("rate_limit_requests_remaining")
        complexity_left = readings.get("rate_limit_complexity_remaining")
        return ConnectionInfo(
            user_id=str(viewer.get("id")), user_name=viewer.get("name"),
            email=viewer.get("email"), organization_id=str(organization.get("id")),
            organization_name=organization.get("name"), url_key=organization.get("urlKey"),
            requests_remaining=requests_left if isinstance(requests_left, int) else None,
            complexity_remaining=complexity_left if isinstance(complexity_left, int) else None)


def _node_errors(errors: tuple[GraphQLErrorInfo, ...], listing: Listing,
                 count: int) -> dict[int, str]:
    """Place each error of a partial answer on the node it concerns; others fail the page."""
    placed: dict[int, list[str]] = {}
    unplaced = []
    for error in errors:
        path = error.path
        if (len(path) >= 3 and path[0] == listing.field and path[1] == "nodes"
                and isinstance(path[2], int) and 0 <= path[2] < count):
            placed.setdefault(path[2], []).append(f"{error.where}: {error.message}")
        else:
            unplaced.append(error)
    if unplaced:
        raise LinearQueryError(f"partial data with errors at {describe(unplaced)}", unplaced,
                               url=None)
    return {index: "Linear reported errors for this node: " + "; ".join(messages)
            for index, messages in placed.items()}
