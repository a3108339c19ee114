"""The Linear GraphQL API emulator: ``POST /graphql`` over a ``LinearWorld``.

It answers the way api.linear.app does where a client can tell: personal-key auth without
``Bearer``, HTTP 400 with typed ``extensions`` for auth, validation, input and rate-limit errors,
partial data with errors, Relay paging, rate-limit and complexity headers in epoch milliseconds.
"""

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.linear.execution import (
    FastExecutionContext,
    complexity,
    never_awaitable,
)
from gofap_assets.sandbox.linear.schema import build_subset_schema
from gofap_assets.sandbox.linear.values import InvalidCursor
from gofap_assets.sandbox.linear.world import LinearWorld, NotFound, Page

JSON_TYPE = "application/json; charset=utf-8"
HOUR_MS = 3_600_000
_DOCUMENT_CACHE_SIZE = 512


def _error(message: str, type_: str, code: str, presentable: str | None = None,
           **extra: Any) -> dict[str, Any]:
    """One entry of ``errors`` in Linear's shape (``extensions.type`` drives the SDK's classes)."""
    extensions = {"type": type_, "code": code, "userError": type_ != "internal error", **extra}
    if presentable is not None:
        extensions["userPresentableMessage"] = presentable
    return {"message": message, "extensions": extensions}


def input_error(message: str, presentable: str) -> GraphQLError:
    return GraphQLError(message, extensions=_error(message, "invalid input", "INPUT_ERROR",
                                                   presentable)["extensions"])


def graphql_request(query: str, variables: Mapping[str, Any] | None = None, *,
                    api_key: str | None = "lin_api_sandbox",
                    operation_name: str | None = None) -> Request:
    """A ``POST /graphql`` request as a client sends it; for tests and in-process callers."""
    payload = {"query": query, "variables": dict(variables or {}),
               "operationName": operation_name}
    headers = {"content-type": "application/json"}
    if api_key is not None:
        headers["authorization"] = api_key
    return Request("POST", "/graphql", {}, headers, json.dumps(payload).encode(),
                   "http://sandbox.invalid/linear")


class _Bucket:
    """A leaky bucket like Linear's: refilled continuously at ``limit`` per hour."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.level = float(limit)
        self.at: int | None = None

    def refill(self, now_ms: int) -> None:
        if self.at is not None:
            self.level = min(self.limit, self.level + (now_ms - self.at) * self.limit / HOUR_MS)
        self.at = now_ms

    def take(self, amount: float, now_ms: int, enforce: bool) -> bool:
        self.refill(now_ms)
        if enforce and self.level < amount:
            return False
        self.level = max(0.0, self.level - amount)
        return True

    def remaining(self) -> int:
        return int(self.level)

    def available_ms(self, amount: float, now_ms: int) -> int:
        """When ``amount`` can be taken again: what a rate-limited client should wait for."""
        missing = max(0.0, amount - self.level)
        return now_ms + math.ceil(missing * HOUR_MS / self.limit)

    def reset_ms(self, now_ms: int) -> int:
        """When the bucket is full again, in UTC epoch milliseconds."""
        return now_ms + math.ceil((self.limit - self.level) * HOUR_MS / self.limit)


@dataclass(frozen=True)
class _Context:
    world: LinearWorld
    app: "LinearApp"


class LinearApp:
    """Serves one ``LinearWorld``; ``handle`` is the whole HTTP surface (see ``sandbox.app``)."""

    def __init__(self, world: LinearWorld, api_key: str = "lin_api_sandbox", *,
                 max_complexity: int = 10_000, max_page_size: int = 250,
                 requests_per_hour: int = 2_500, complexity_per_hour: int = 3_000_000,
                 enforce_rate_limits: bool = False,
                 clock: Callable[[], float] = time.time,
                 oauth_token: str | None = None) -> None:
        self.world = world
        self.api_key = api_key
        self.oauth_token = oauth_token
        """Also accepted, as `Authorization: Bearer <token>` (an OAuth app's access token)."""
        self.max_complexity = max_complexity
        self.max_page_size = max_page_size
        self.enforce_rate_limits = enforce_rate_limits
        """Off by default: benchmarks re-sync large worlds far beyond an hour's real quota."""
        self._clock = clock
        self._requests = _Bucket(requests_per_hour)
        self._complexity = _Bucket(complexity_per_hour)
        self._limits_lock = threading.Lock()
        self._documents: dict[str, tuple[DocumentNode | None, list[dict[str, Any]]]] = {}
        self.schema = _executable_schema()

    def spend_request_budget(self) -> None:
        """Empty the request bucket now, as another client of the same key would (with
        `enforce_rate_limits`, the next query is RATELIMITED until it refills)."""
        with self._limits_lock:
            self._requests.refill(self._now_ms())
            self._requests.level = 0.0

    # -- HTTP -----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/graphql":
            return self._json(404, {"errors": [_error(f"Cannot {request.method} {request.path}",
                                                      "other", "NOT_FOUND")]})
        if request.method != "POST":
            response = self._json(405, {"errors": [_error(
                "Only POST is supported on /graphql", "invalid input", "BAD_REQUEST")]})
            response.headers["allow"] = "POST"
            return response
        given = request.headers.get("authorization")
        if given != self.api_key and (self.oauth_token is None
                                      or given != f"Bearer {self.oauth_token}"):
            return self._json(400, {"errors": [_error(
                "Authentication required, not authenticated", "authentication error",
                "AUTHENTICATION_ERROR", "You need to authenticate to access this operation.")]})
        try:
            payload = json.loads(request.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._json(400, {"errors": [_error(
                "POST body must be a JSON object with a string 'query'", "graphql error",
                "BAD_REQUEST")]})
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(variables, dict) or not isinstance(operation_name, str | None):
            return self._json(400, {"errors": [_error(
                "'variables' must be an object and 'operationName' a string", "graphql error",
                "BAD_REQUEST")]})
        return self._graphql(payload["query"], variables, operation_name)

    def rate_limited(self, request: Request, kind: str, seconds: float) -> Response | None:
        """Linear's rate-limit answer, for the server's fault injection: HTTP 400 (not 429),
        ``RATELIMITED``, and the request bucket reported empty until now + ``seconds``."""
        del request
        if kind != "linear_ratelimited":
            return None
        now = self._now_ms()
        return self._ratelimited_response(now, now + math.ceil(seconds * 1000))

    # -- GraphQL --------------------------------------------------------------------------------

    def _graphql(self, query: str, variables: dict[str, Any],
                 operation_name: str | None) -> Response:
        now = self._now_ms()
        with self._limits_lock:
            allowed = self._requests.take(1, now, self.enforce_rate_limits)
        if not allowed:
            return self._ratelimited_response(now, self._requests.available_ms(1, now))
        document, errors = self._document(query)
        if document is None:
            return self._json(400, {"errors": errors}, now)
        operation = get_operation_ast(document, operation_name)
        cost = 0 if operation is None else complexity(self.schema, document, operation,
                                                      variables)
        if cost > self.max_complexity:
            return self._json(400, {"errors": [_error(
                "Query too complex", "invalid input", "INPUT_ERROR",
                f"The query is too complex. Complexity: {cost}. Maximum allowed complexity: "
                f"{self.max_complexity}.", meta={})]}, now, cost)
        with self._limits_lock:
            allowed = self._complexity.take(cost, now, self.enforce_rate_limits)
        if not allowed:
            return self._ratelimited_response(now, self._complexity.available_ms(cost, now),
                                              "complexity")
        if operation is not None and operation.operation.value != "query":
            return self._json(400, {"errors": [_error(
                f"The sandbox serves queries only, not {operation.operation.value}s",
                "graphql error", "GRAPHQL_VALIDATION_FAILED")]}, now, cost)
        result = execute(self.schema, document, context_value=_Context(self.world, self),
                         variable_values=variables, operation_name=operation_name,
                         execution_context_class=FastExecutionContext,
                         is_awaitable=never_awaitable)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_format(error, result.data is None) for error in result.errors]
        body["data"] = result.data
        return self._json(200 if result.data is not None else 400, body, now, cost)

    def _document(self, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        """Parsed and validated once per distinct query text: clients page with one query."""
        cached = self._documents.get(query)
        if cached is not None:
            return cached
        try:
            document: DocumentNode | None = parse(query)
        except GraphQLSyntaxError as exc:
            entry: tuple[DocumentNode | None, list[dict[str, Any]]] = (
                None, [_validation(exc, "GRAPHQL_PARSE_FAILED")])
        else:
            problems = validate(self.schema, document)
            entry = (None, [_validation(p, "GRAPHQL_VALIDATION_FAILED") for p in problems]) \
                if problems else (document, [])
        if len(self._documents) >= _DOCUMENT_CACHE_SIZE:
            self._documents.clear()
        self._documents[query] = entry
        return entry

    # -- responses ------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _ratelimited_response(self, now: int, reset_ms: int,
                              bucket: str = "requests") -> Response:
        limit = (self._requests if bucket == "requests" else self._complexity).limit
        unit = "requests" if bucket == "requests" else "complexity points"
        message = f"Rate limit exceeded. Only {limit} {unit} are allowed per 1 hour."
        response = self._json(400, {"errors": [_error(
            message, "ratelimited", "RATELIMITED", message, statusCode=429)]}, now)
        response.headers[f"x-ratelimit-{bucket}-remaining"] = "0"
        response.headers[f"x-ratelimit-{bucket}-reset"] = str(reset_ms)
        return response

    def _json(self, status: int, payload: Any, now: int | None = None,
              cost: int | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"content-type": JSON_TYPE, **self._limit_headers(
            self._now_ms() if now is None else now)}
        if cost is not None:
            headers["x-complexity"] = str(cost)
        return Response(status, body, headers)

    def _limit_headers(self, now: int) -> dict[str, str]:
        with self._limits_lock:
            requests, complexity_ = self._requests, self._complexity
            requests.refill(now)
            complexity_.refill(now)
            return {
                "x-ratelimit-requests-limit": str(requests.limit),
                "x-ratelimit-requests-remaining": str(requests.remaining()),
                "x-ratelimit-requests-reset": str(requests.reset_ms(now)),
                "x-ratelimit-complexity-limit": str(complexity_.limit),
                "x-ratelimit-complexity-remaining": str(complexity_.remaining()),
                "x-ratelimit-complexity-reset": str(complexity_.reset_ms(now)),
            }

    def rate_limit_status(self) -> dict[str, Any]:
        now = self._now_ms()
        with self._limits_lock:
            limits = []
            for kind, bucket in (("requestLimit", self._requests),
                                 ("complexityLimit", self._complexity)):
                bucket.refill(now)
                limits.append({"type": kind, "allowedAmount": float(bucket.limit),
                               "remainingAmount": float(bucket.remaining()),
                               "requestedAmount": 1.0, "period": float(HOUR_MS),
                               "reset": float(bucket.reset_ms(now))})
        return {"identifier": None, "kind": "api", "limits": limits}


def _validation(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted = error.formatted
    formatted["extensions"] = {"code": code, "type": "graphql error", "userError": True,
                               "userPresentableMessage": error.message}
    return formatted


def _format(error: GraphQLError, request_failed: bool) -> dict[str, Any]:
    formatted = error.formatted
    if not formatted.get("extensions"):
        # graphql-core's own errors: bad variables (request level) or a broken invariant.
        formatted["extensions"] = (
            {"code": "BAD_USER_INPUT", "type": "invalid input", "userError": True,
             "userPresentableMessage": error.message}
            if request_failed and not error.path else
            {"code": "INTERNAL_SERVER_ERROR", "type": "internal error", "userError": False})
    return formatted


# -- resolvers ------------------------------------------------------------------------------------

def _paging(args: Mapping[str, Any], context: _Context) -> dict[str, Any]:
    limit = context.app.max_page_size
    for name in ("first", "last"):
        value = args.get(name)
        if value is not None and not 0 <= value <= limit:
            raise input_error(f"Argument Validation Error: {name} must be between 0 and {limit}",
                              f"{name} must be between 0 and {limit}, got {value}.")
    return {"filter": args.get("filter"), "order_by": args.get("orderBy") or "createdAt",
            "first": args.get("first"), "after": args.get("after"), "last": args.get("last"),
            "before": args.get("before"),
            "include_archived": bool(args.get("includeArchived"))}


def _connection(fetch: Callable[..., Page], **kwargs: Any) -> dict[str, Any]:
    try:
        page = fetch(**kwargs)
    except InvalidCursor as exc:
        raise input_error(f"Argument Validation Error: {exc}",
                          "The pagination cursor is not valid.") from None
    return {
        "nodes": page.nodes,
        "edges": [{"node": node, "cursor": cursor}
                  for node, cursor in zip(page.nodes, page.cursors, strict=True)],
        "pageInfo": {"hasNextPage": page.has_next, "hasPreviousPage": page.has_previous,
                     "startCursor": page.cursors[0] if page.cursors else None,
                     "endCursor": page.cursors[-1] if page.cursors else None},
    }


def _issues(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    return _connection(info.context.world.issue_page, **_paging(args, info.context))


def _team_issues(team: Mapping[str, Any], info: Any, **args: Any) -> dict[str, Any]:
    return _connection(info.context.world.issue_page, team_id=team["id"],
                       **_paging(args, info.context))


def _comments(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
    return _connection(info.context.world.comment_page, **_paging(args, info.context))


def _entities(kind: str) -> Callable[..., dict[str, Any]]:
    def resolve(_root: Any, info: Any, **args: Any) -> dict[str, Any]:
        extra = {"include_disabled": bool(args.get("includeDisabled"))} if kind == "users" else {}
        return _connection(info.context.world.entity_page, kind=kind,
                           **_paging(args, info.context), **extra)
    return resolve


def _lookup(method: str) -> Callable[..., dict[str, Any]]:
    def resolve(_root: Any, info: Any, id: str) -> dict[str, Any]:
        try:
            return getattr(info.context.world, method)(id)
        except NotFound as missing:
            kind = missing.args[0]
            raise input_error(f"Entity not found: {kind}",
                              f"Could not find referenced {kind}.") from None
    return resolve


@cache
def _executable_schema() -> GraphQLSchema:
    """Built once per process: resolvers reach the world through the execution context."""
    schema = build_subset_schema()
    query = schema.query_type
    assert query is not None
    resolvers: dict[str, Callable[..., Any]] = {
        "issues": _issues, "teams": _entities("teams"), "users": _entities("users"),
        "projects": _entities("projects"), "comments": _comments,
        "cycles": _entities("cycles"), "workflowStates": _entities("workflowStates"),
        "issueLabels": _entities("issueLabels"), "issue": _lookup("issue"), "team": _lookup("team"),
        "user": _lookup("user"), "project": _lookup("project"),
        "viewer": lambda _root, info: info.context.world.viewer(),
        "organization": lambda _root, info: info.context.world.organization,
        "rateLimitStatus": lambda _root, info: info.context.app.rate_limit_status(),
    }
    for name, resolver in resolvers.items():
        query.fields[name].resolve = resolver
    team = schema.get_type("Team")
    team.fields["issues"].resolve = _team_issues  # type: ignore[union-attr]
    return schema
