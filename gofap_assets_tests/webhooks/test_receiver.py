"""The receiver over a real socket: verified before stored, stored before acknowledged."""

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets.warehouse.store import utcnow
from gofap_assets.webhooks.receiver import MAX_BODY_BYTES, create_app
from gofap_assets.webhooks.server import ReceiverServer
from gofap_assets.webhooks.signatures import github_signature, linear_signature
from gofap_assets_tests.webhooks.conftest import webhook_settings
from gofap_assets_tests.webhooks.helpers import (
    GITHUB_SECRET,
    LINEAR_SECRET,
    captured_logs,
    count,
    github_request,
    issue_payload,
    linear_issue_payload,
    linear_request,
    post,
    rows,
)

MARKER = "body-marker-that-must-never-be-logged"


def test_a_signed_github_delivery_is_committed_with_what_it_concerns(
        receiver: str, warehouse: Warehouse) -> None:
    request = github_request("issues", issue_payload("closed", "acme/api"), delivery="gh-1")
    answer = post(receiver, "/webhooks/github", request)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    (row,) = rows(warehouse)
    assert (row["service"], row["delivery_id"], row["event"], row["action"],
            row["partition_key"]) == ("github", "gh-1", "issues", "closed", "acme/api")
    assert row["payload"] == issue_payload("closed", "acme/api")
    assert row["received_at"] <= utcnow() and row["processed_at"] is None
    assert row["outcome"] is None


def test_a_signed_linear_delivery_is_committed_with_its_team(
        receiver: str, warehouse: Warehouse) -> None:
    answer = post(receiver, "/webhooks/linear",
                  linear_request(linear_issue_payload("create", "OPS"), delivery="lin-1"))
    assert answer.status_code == 200
    (row,) = rows(warehouse)
    assert (row["service"], row["delivery_id"], row["event"], row["action"],
            row["partition_key"]) == ("linear", "lin-1", "Issue", "create", "OPS")


def test_a_redelivery_is_acknowledged_and_stored_once(receiver: str,
                                                      warehouse: Warehouse) -> None:
    request = github_request("issues", issue_payload(), delivery="same-guid")
    first, second = (post(receiver, "/webhooks/github", request) for _ in range(2))
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")
    linear = linear_request(linear_issue_payload(), delivery="same-guid")
    assert post(receiver, "/webhooks/linear", linear).status_code == 200
    assert post(receiver, "/webhooks/linear", linear).json()["status"] == "duplicate"
    assert count(warehouse) == 2, "unique on (service, delivery_id): one row per service"


def test_ping_and_events_we_do_not_import_are_acknowledged_and_recorded_as_ignored(
        receiver: str, warehouse: Warehouse) -> None:
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository"},
            "repository": {"full_name": "acme/api"}}
    assert post(receiver, "/webhooks/github", github_request("ping", ping)).status_code == 200
    star = github_request("star", {"action": "created", "repository": {"full_name": "acme/api"}})
    assert post(receiver, "/webhooks/github", star).status_code == 200
    reaction = linear_request({"action": "create", "type": "Reaction", "data": {"id": "r"}})
    assert post(receiver, "/webhooks/linear", reaction).status_code == 200
    found = rows(warehouse)
    assert [r["event"] for r in found] == ["ping", "star", "Reaction"]
    assert all(r["outcome"].startswith("ignored: ") and r["processed_at"] for r in found)


def _refused(url: str, warehouse: Warehouse, path: str, request: dict, status: int,
             reason: str, secrets: tuple[str, ...] = (GITHUB_SECRET, LINEAR_SECRET)) -> None:
    with captured_logs() as logs:
        answer = post(url, path, request)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]
    assert count(warehouse) == 0, "a refused delivery stores nothing"
    text = "\n".join(logs)
    assert reason in text, "the reason is logged"
    for secret in secrets:
        assert secret not in text and secret not in answer.text
    assert MARKER not in text and MARKER not in answer.text


def test_bad_missing_and_foreign_github_signatures_are_refused(
        receiver: str, warehouse: Warehouse) -> None:
    payload = {**issue_payload(), "note": MARKER}
    wrong = github_request("issues", payload, secret="not-the-secret")
    _refused(receiver, warehouse, "/webhooks/github", wrong, 401,
             "X-Hub-Signature-256 does not match")
    missing = github_request("issues", payload)
    del missing["headers"]["X-Hub-Signature-256"]
    _refused(receiver, warehouse, "/webhooks/github", missing, 401, "no X-Hub-Signature-256")
    other = github_request("issues", {**payload, "action": "deleted"})
    tampered = {**github_request("issues", payload)}
    tampered["headers"] = {**tampered["headers"],
                           "X-Hub-Signature-256": other["headers"]["X-Hub-Signature-256"]}
    _refused(receiver, warehouse, "/webhooks/github", tampered, 401, "does not match")
    linear_signed = github_request("issues", payload)
    linear_signed["headers"]["X-Hub-Signature-256"] = linear_signature(
        GITHUB_SECRET, linear_signed["content"])
    _refused(receiver, warehouse, "/webhooks/github", linear_signed, 401, "does not match")


def test_bad_and_missing_linear_signatures_are_refused(receiver: str,
                                                       warehouse: Warehouse) -> None:
    payload = {**linear_issue_payload(), "note": MARKER}
    wrong = linear_request(payload, secret=GITHUB_SECRET)
    _refused(receiver, warehouse, "/webhooks/linear", wrong, 401,
             "Linear-Signature does not match")
    missing = linear_request(payload)
    del missing["headers"]["Linear-Signature"]
    _refused(receiver, warehouse, "/webhooks/linear", missing, 401, "no Linear-Signature")
    prefixed = linear_request(payload)
    prefixed["headers"]["Linear-Signature"] = github_signature(LINEAR_SECRET,
                                                               prefixed["content"])
    _refused(receiver, warehouse, "/webhooks/linear", prefixed, 401, "does not match")


@pytest.mark.parametrize("offset_ms", [-61_000, 61_000, -3_600_000])
def test_a_linear_body_stamped_over_a_minute_away_is_a_replay(
        receiver: str, warehouse: Warehouse, offset_ms: int) -> None:
    request = linear_request({**linear_issue_payload(), "note": MARKER},
                             at_ms=time.time() * 1000 + offset_ms)
    _refused(receiver, warehouse, "/webhooks/linear", request, 401, "more than a minute")


def test_a_captured_linear_delivery_replayed_later_is_refused(
        warehouse: Warehouse, database_url: str) -> None:
    clock = [time.time()]
    app = create_app(webhook_settings(database_url), clock=lambda: clock[0])
    request = linear_request(linear_issue_payload(), at_ms=clock[0] * 1000, delivery="fresh")
    with ReceiverServer(app) as server:
        assert post(server.url, "/webhooks/linear", request).status_code == 200
        clock[0] += 120
        replay = {**request, "headers": {**request["headers"], "Linear-Delivery": "other"}}
        assert post(server.url, "/webhooks/linear", replay).status_code == 401
    assert [r["delivery_id"] for r in rows(warehouse)] == ["fresh"]


def test_a_linear_body_without_a_timestamp_is_refused(receiver: str,
                                                      warehouse: Warehouse) -> None:
    body = json.dumps(linear_issue_payload()).encode()
    request = {"content": body, "headers": {"Linear-Delivery": "x",
                                            "Linear-Signature": linear_signature(LINEAR_SECRET,
                                                                                 body)}}
    _refused(receiver, warehouse, "/webhooks/linear", request, 400, "webhookTimestamp")


def test_an_unset_secret_refuses_that_service_only(warehouse: Warehouse,
                                                   database_url: str) -> None:
    app = create_app(webhook_settings(database_url, github_webhook_secret=None))
    with ReceiverServer(app) as server:
        _refused(server.url, warehouse, "/webhooks/github",
                 github_request("issues", issue_payload()), 403, "GITHUB_WEBHOOK_SECRET is not set")
        assert post(server.url, "/webhooks/linear",
                    linear_request(linear_issue_payload())).status_code == 200
        health = httpx.get(server.url + "/healthz").json()
    assert health == {"status": "ok", "github": False, "linear": True}


def test_signed_bodies_that_are_not_json_objects_are_refused(receiver: str,
                                                             warehouse: Warehouse) -> None:
    for body in (b"not json " + MARKER.encode(), b"[1, 2]", b"\xff\xfe", b""):
        request = {"content": body, "headers": {
            "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d",
            "X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)}}
        _refused(receiver, warehouse, "/webhooks/github", request, 400, "body is not")


def test_a_delivery_without_its_headers_is_refused(receiver: str, warehouse: Warehouse) -> None:
    request = github_request("issues", issue_payload())
    del request["headers"]["X-GitHub-Delivery"]
    _refused(receiver, warehouse, "/webhooks/github", request, 400, "X-GitHub-Delivery")
    request = linear_request(linear_issue_payload())
    del request["headers"]["Linear-Delivery"]
    _refused(receiver, warehouse, "/webhooks/linear", request, 400, "Linear-Delivery")


def test_a_body_over_25_mb_is_refused_before_it_is_read(receiver: str,
                                                        warehouse: Warehouse) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    request = {"content": body, "headers": {
        "X-GitHub-Event": "issues", "X-GitHub-Delivery": "big",
        "X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)}}
    _refused(receiver, warehouse, "/webhooks/github", request, 413, "over the")


def test_a_streamed_body_is_cut_off_at_the_limit(warehouse: Warehouse,
                                                 database_url: str) -> None:
    """Without Content-Length (chunked), the receiver stops reading at the limit."""
    body = json.dumps({**issue_payload(), "padding": "x" * 5000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    app = create_app(webhook_settings(database_url), max_body_bytes=4096)
    with ReceiverServer(app) as server:
        answer = httpx.post(server.url + "/webhooks/github", content=chunks(), headers={
            "X-GitHub-Event": "issues", "X-GitHub-Delivery": "chunked",
            "X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)})
    assert answer.status_code == 413
    assert count(warehouse) == 0


def _sync_writer(store: Warehouse, stop: threading.Event) -> int:
    """Writes pages of records in a loop, as a sync does, until told to stop."""
    written = 0
    while not stop.is_set():
        now = utcnow()
        records = [Record(source="github", data_type="issue", external_id=f"{written}-{i}",
                          parent_key="acme/api", title="t", description="d", state="open",
                          external_created_at=now, external_updated_at=now,
                          raw_data={"id": i, "body": "x" * 500}, processed_data={"id": i})
                   for i in range(100)]
        store.write(Batch("github", "issue", "acme/api", records))
        written += 1
    return written


def test_a_burst_of_1000_deliveries_during_a_sync_is_committed_in_full(
        receiver: str, warehouse: Warehouse, database_url: str) -> None:
    sync_store = Warehouse(database_url)
    stop = threading.Event()
    requests = [github_request("issues", issue_payload(issue_id=n), delivery=f"gh-{n}")
                if n % 2 else linear_request(linear_issue_payload(), delivery=f"lin-{n}")
                for n in range(1000)]

    senders_local = threading.local()

    def send(request: dict) -> int:
        if not hasattr(senders_local, "client"):
            senders_local.client = httpx.Client()
        github = "X-GitHub-Event" in request["headers"]
        # The client gives up at GitHub's 10 s deadline (Linear's 5 s for Linear deliveries).
        return senders_local.client.post(
            receiver + ("/webhooks/github" if github else "/webhooks/linear"),
            timeout=10.0 if github else 5.0, **request).status_code

    with ThreadPoolExecutor(1) as sync, ThreadPoolExecutor(32) as senders:
        pages = sync.submit(_sync_writer, sync_store, stop)
        try:
            statuses = list(senders.map(send, requests))
        finally:
            stop.set()
        assert pages.result() > 0, "the sync was writing meanwhile"
    sync_store.dispose()
    assert statuses == [200] * 1000
    assert count(warehouse) == 1000
    assert {r["delivery_id"] for r in rows(warehouse)} == {
        f"gh-{n}" if n % 2 else f"lin-{n}" for n in range(1000)}


def test_text_neither_database_can_hold_is_stored_as_replacement_characters(
        receiver: str, warehouse: Warehouse) -> None:
    body = (b'{"action": "edited", "repository": {"full_name": "acme/api"}, '
            b'"issue": {"id": 1, "body": "nul \\u0000 and lone \\ud800 here"}}')
    request = {"content": body, "headers": {
        "X-GitHub-Event": "issues", "X-GitHub-Delivery": "odd-text",
        "X-Hub-Signature-256": github_signature(GITHUB_SECRET, body)}}
    assert post(receiver, "/webhooks/github", request).status_code == 200
    (row,) = rows(warehouse)
    assert row["payload"]["issue"]["body"] == "nul \ufffd and lone \ufffd here"
