"""Fixtures for the Linear tests: Linear's schema, node factories and a respx-level fake API."""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from graphql import GraphQLSchema, build_schema

from gofap_assets.linear.client import LinearClient
from gofap_assets.warehouse import Warehouse

API = "https://linear.example.test/graphql"
KEY = "lin_api_unit0000000000000000000000000000"
SCHEMA_FILE = "api/linear-schema.graphql"


def _shared_dir() -> Path:
    """GOFAP_SHARED_DIR, else shared/ beside the repository (where CI puts a copy)."""
    configured = os.environ.get("GOFAP_SHARED_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".." / "shared"


@pytest.fixture(scope="session")
def linear_schema() -> GraphQLSchema:
    """Linear's published SDL (1.2 MB), parsed once per session."""
    path = _shared_dir() / SCHEMA_FILE
    if not path.is_file():
        pytest.skip(f"Linear's schema is not at {path} (set GOFAP_SHARED_DIR)")
    return build_schema(path.read_text(encoding="utf-8"))


def ts(day: int, hour: int = 0) -> str:
    return f"2026-05-{day:02d}T{hour:02d}:00:00.000Z"


def team_node(key: str = "ENG", *, name: str | None = None, updated: str = ts(1),
              archived: str | None = None) -> dict[str, Any]:
    return {"id": f"team-{key.lower()}", "key": key, "name": name or f"Team {key}",
            "description": None, "private": False, "createdAt": ts(1), "updatedAt": updated,
            "archivedAt": archived}


def user_node(n: int, *, active: bool = True, updated: str = ts(1)) -> dict[str, Any]:
    return {"id": f"user-{n}", "name": f"User {n}", "displayName": f"u{n}",
            "email": f"u{n}@example.test", "active": active, "admin": False, "guest": False,
            "app": False, "createdAt": ts(1), "updatedAt": updated, "archivedAt": None}


def project_node(n: int, *, updated: str = ts(1)) -> dict[str, Any]:
    return {"id": f"project-{n}", "name": f"Project {n}", "description": "", "url": None,
            "state": "started", "progress": 0.5, "startDate": "2026-01-01", "targetDate": None,
            "completedAt": None, "canceledAt": None, "trashed": None, "createdAt": ts(1),
            "updatedAt": updated, "archivedAt": None,
            "status": {"id": "status-1", "name": "In Progress", "type": "started"},
            "lead": {"id": "user-1"}}


def issue_node(n: int, *, team: str = "ENG", updated: str = ts(2), state: str = "Todo",
               archived: str | None = None, trashed: bool | None = None) -> dict[str, Any]:
    return {"id": f"issue-{n}", "identifier": f"{team}-{n}", "number": float(n),
            "title": f"Issue {n}", "description": None, "priority": 2.0,
            "priorityLabel": "High", "estimate": None, "dueDate": None,
            "url": f"https://linear.app/x/issue/{team}-{n}", "trashed": trashed,
            "labelIds": [], "createdAt": ts(1), "updatedAt": updated, "archivedAt": archived,
            "startedAt": None, "completedAt": None, "canceledAt": None,
            "team": {"id": f"team-{team.lower()}", "key": team},
            "state": {"id": f"state-{state}", "name": state, "type": "unstarted"},
            "assignee": None, "creator": {"id": "user-1"}, "project": None,
            "parent": None, "cycle": None}


def comment_node(n: int, *, issue: int = 1, team: str = "ENG", updated: str = ts(3),
                 body: str | None = None, parent: str | None = None) -> dict[str, Any]:
    return {"id": f"comment-{n}", "body": body if body is not None else f"Comment {n}\nmore",
            "url": f"https://linear.app/x/issue/{team}-{issue}#comment-{n}",
            "createdAt": ts(2), "updatedAt": updated, "archivedAt": None, "editedAt": None,
            "resolvedAt": None, "issueId": f"issue-{issue}", "parentId": parent,
            "user": {"id": "user-1"},
            "issue": {"id": f"issue-{issue}", "team": {"id": f"team-{team.lower()}", "key": team}}}


def cycle_node(n: int, *, team: str = "ENG", name: str | None = None, active: bool = False,
               future: bool = False, past: bool = False, updated: str = ts(1)) -> dict[str, Any]:
    return {"id": f"cycle-{team.lower()}-{n}", "number": float(n), "name": name,
            "description": None, "startsAt": ts(n), "endsAt": ts(n + 7),
            "completedAt": ts(n + 7) if past else None, "isActive": active, "isFuture": future,
            "isPast": past, "progress": 0.25, "createdAt": ts(1), "updatedAt": updated,
            "archivedAt": None, "autoArchivedAt": None,
            "team": {"id": f"team-{team.lower()}", "key": team}}


def workflow_state_node(name: str, kind: str, *, team: str = "ENG") -> dict[str, Any]:
    return {"id": f"state-{team.lower()}-{name.lower().replace(' ', '-')}", "name": name,
            "type": kind, "description": None, "color": "#5e6ad2", "position": 1.0,
            "createdAt": ts(1), "updatedAt": ts(1), "archivedAt": None,
            "team": {"id": f"team-{team.lower()}", "key": team}}


def label_node(name: str, *, team: str | None = None, parent: str | None = None,
               updated: str = ts(1)) -> dict[str, Any]:
    return {"id": f"label-{name.lower()}", "name": name, "description": None,
            "color": "#eb5757", "isGroup": False, "createdAt": ts(1), "updatedAt": updated,
            "archivedAt": None,
            "team": None if team is None else {"id": f"team-{team.lower()}", "key": team},
            "parent": None if parent is None else {"id": parent}}


class FakeLinear:
    """A tiny in-memory Linear for respx: root connections with filters and offset cursors."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[dict[str, Any]]] = {
            "teams": [], "users": [], "projects": [], "issues": [], "comments": [],
            "cycles": [], "workflowStates": [], "issueLabels": []}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        """Added to every connection answer (a partial result)."""
        self.intercept: Callable[[httpx.Request], httpx.Response | None] = lambda _r: None
        """Answers a request instead of the fake when it returns a response."""
        self.organization = {"id": "org-1", "name": "Acme", "urlKey": "acme"}
        self.headers = {"x-ratelimit-requests-limit": "2500",
                        "x-ratelimit-requests-remaining": "2400",
                        "x-ratelimit-complexity-limit": "3000000",
                        "x-ratelimit-complexity-remaining": "2990000",
                        "x-complexity": "3151"}

    def handler(self, request: httpx.Request) -> httpx.Response:
        intercepted = self.intercept(request)
        if intercepted is not None:
            return intercepted
        body = json.loads(request.content)
        self.requests.append(body)
        query, variables = body["query"], body.get("variables", {})
        if "viewer" in query or "organization" in query:
            data: dict[str, Any] = {"organization": self.organization}
            if "viewer" in query:
                data["viewer"] = {"id": "user-1", "name": "User 1", "email": "u1@example.test"}
            return httpx.Response(200, json={"data": data}, headers=self.headers)
        field = next(name for name in self.nodes if f" {name}(" in query)
        rows = [n for n in self.nodes[field] if _matches(n, variables.get("filter") or {})]
        rows.sort(key=lambda n: (n["updatedAt"], n["id"]))
        start = int(variables.get("after") or 0)
        page = rows[start:start + variables["first"]]
        more = start + len(page) < len(rows)
        payload: dict[str, Any] = {"data": {field: {
            "nodes": page,
            "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page))}}}}
        if self.errors:
            payload["errors"] = self.errors
        return httpx.Response(200, headers=self.headers, json=payload)


def _matches(node: dict[str, Any], spec: dict[str, Any]) -> bool:
    if "team" in spec and node["team"]["key"] != spec["team"]["key"]["eq"]:
        return False
    if "issue" in spec and (node["issue"] or {}).get("team", {}).get("key") != \
            spec["issue"]["team"]["key"]["eq"]:
        return False
    if "updatedAt" in spec and node["updatedAt"] < spec["updatedAt"]["gte"]:
        return False
    return not ("id" in spec and node["id"] not in spec["id"]["in"])


@pytest.fixture
def fake() -> Iterator[FakeLinear]:
    linear = FakeLinear()
    with respx.mock(assert_all_called=False) as router:
        router.post(API).mock(side_effect=linear.handler)
        yield linear


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Iterator[Callable[..., LinearClient]]:
    clients: list[LinearClient] = []

    def make(**overrides: Any) -> LinearClient:
        options: dict[str, Any] = {"api_key": KEY, "api_url": API, "max_retries": 2,
                                   "backoff_base": 0.001, "sleep": sleeps.append}
        client = LinearClient.create(**{**options, **overrides})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., LinearClient]) -> LinearClient:
    return make_client()


@pytest.fixture
def warehouse(sqlite_url: str) -> Iterator[Warehouse]:
    store = Warehouse(sqlite_url)
    store.create_schema()
    yield store
    store.dispose()
