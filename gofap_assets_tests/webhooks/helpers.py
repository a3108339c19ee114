"""Signed deliveries as GitHub and Linear send them, and a look into `webhook_deliveries`."""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import webhook_deliveries
from gofap_assets.webhooks.signatures import github_signature, linear_signature

GITHUB_SECRET = "gh-webhook-secret-do-not-print-7f3a"
LINEAR_SECRET = "lin-webhook-secret-do-not-print-91c2"


def github_request(event: str, payload: dict[str, Any], *, secret: str = GITHUB_SECRET,
                   delivery: str | None = None) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    return {"content": body, "headers": {
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(secret, body),
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test"}}


def linear_request(payload: dict[str, Any], *, secret: str = LINEAR_SECRET,
                   delivery: str | None = None, at_ms: float | None = None) -> dict[str, Any]:
    stamped = {**payload, "webhookTimestamp": int(at_ms if at_ms is not None
                                                  else time.time() * 1000)}
    body = json.dumps(stamped).encode()
    return {"content": body, "headers": {
        "Linear-Delivery": delivery or str(uuid.uuid4()), "Linear-Event": payload["type"],
        "Linear-Signature": linear_signature(secret, body), "Content-Type": "application/json"}}


def issue_payload(action: str = "edited", repo: str = "acme/api", issue_id: int = 101,
                  number: int = 1) -> dict[str, Any]:
    return {"action": action, "issue": {"id": issue_id, "number": number, "title": "t"},
            "repository": {"id": 7, "full_name": repo, "default_branch": "main"},
            "sender": {"login": "octocat", "id": 1}}


def linear_issue_payload(action: str = "update", team: str = "ENG",
                         issue_id: str = "2f1c0e4e-0000-4000-8000-000000000001") -> dict[str, Any]:
    return {"action": action, "type": "Issue", "createdAt": "2026-05-01T12:00:00.000Z",
            "organizationId": "org", "url": "https://linear.app/x",
            "data": {"id": issue_id, "title": "t", "teamId": "team-1",
                     "team": {"id": "team-1", "key": team, "name": "Engineering"}}}


def rows(store: Warehouse) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id))]


def count(store: Warehouse) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(webhook_deliveries))
                   .scalar_one())


def post(url: str, path: str, request: dict[str, Any], timeout: float = 10.0) -> httpx.Response:
    return httpx.post(url + path, timeout=timeout, **request)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every line the `gofap` loggers emit meanwhile (they do not propagate to pytest's)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(logging.DEBUG)
    logger = logging.getLogger("gofap")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
