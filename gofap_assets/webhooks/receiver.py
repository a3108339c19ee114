"""The webhook receiver: an ASGI app that verifies, then commits, then answers.

Nothing is stored before the signature is verified, and nothing is acknowledged before it is
committed. Deliveries are written by one thread in group commits, so a burst costs a few
transactions, and an answer waits at most a deadline under the services' own (Linear 5 s,
GitHub 10 s) even while a sync holds SQLite's single write lock: past it the answer is a 503
and the delivery is not stored, unless its write had already begun (then it is, and the
redelivery is a no-op).
"""

import asyncio
import concurrent.futures
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gofap_assets.config import Settings
from gofap_assets.logs import get_logger, register_secret
from gofap_assets.warehouse import Warehouse
from gofap_assets.webhooks import events
from gofap_assets.webhooks.deliveries import Delivery, insert_all
from gofap_assets.webhooks.signatures import (
    REPLAY_WINDOW_MS,
    github_signature,
    linear_signature,
    signature_matches,
)

log = get_logger("webhooks")

MAX_BODY_BYTES = 25 * 1024 * 1024
"""GitHub caps payloads at 25 MB; anything larger is not a real delivery."""
ANSWER_WITHIN = {"github": 8.0, "linear": 4.0}
"""Seconds a request may wait for its commit: well under GitHub's 10 s and Linear's 5 s."""
BUSY_TIMEOUT_SECONDS = 3.0
"""How long one group commit waits for SQLite's write lock before it gives up."""
GROUP_COMMIT_MAX = 500
SECRET_VARS = {"github": "GITHUB_WEBHOOK_SECRET", "linear": "LINEAR_WEBHOOK_SECRET"}
_ID_LIMIT = 255
HEADER_NAMES = {"x-hub-signature-256": "X-Hub-Signature-256",
                "linear-signature": "Linear-Signature"}


class Refusal(Exception):
    """A delivery refused before anything was stored; the reason never holds body or secret."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def receiver_warehouse(database_url: str) -> Warehouse:
    """The warehouse with a write-lock wait short enough to answer within the deadlines."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        url = url.update_query_dict({"timeout": str(BUSY_TIMEOUT_SECONDS)})
    return Warehouse(url.render_as_string(hide_password=False))


class DeliveryWriter:
    """One thread that commits queued deliveries together, in arrival order."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._queue: queue.Queue[tuple[Delivery, concurrent.futures.Future[bool]] | None] = (
            queue.Queue())
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-writer",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, delivery: Delivery) -> "concurrent.futures.Future[bool]":
        """A future of whether the delivery was new, set once it is committed."""
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self._queue.put((delivery, future))
        return future

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < GROUP_COMMIT_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            # A request that gave up (and answered 503) before its write began is not written.
            self._commit([(d, f) for d, f in batch if f.set_running_or_notify_cancel()])

    def _commit(self, batch: list[tuple[Delivery, "concurrent.futures.Future[bool]"]]) -> None:
        if not batch:
            return
        try:
            fresh = insert_all(self.warehouse, [delivery for delivery, _ in batch])
        except Exception as exc:  # one bad row must not fail its neighbours: retry one by one
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item in batch:
                self._commit_one(*item)
            return
        for (_, future), new in zip(batch, fresh, strict=True):
            future.set_result(new)

    def _commit_one(self, delivery: Delivery, future: "concurrent.futures.Future[bool]") -> None:
        try:
            (new,) = insert_all(self.warehouse, [delivery])
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(new)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Refusal(400, "Content-Length is not a number") from None
        if size > limit:
            raise Refusal(413, f"body of {size} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, "body is not JSON") from None
    if not isinstance(payload, dict):
        raise Refusal(400, "body is not a JSON object")
    return payload


def _header_id(request: Request, name: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value or len(value) > _ID_LIMIT or not value.isprintable():
        raise Refusal(400, f"missing or malformed {name} header")
    return value


def _clip(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


class Receiver:
    """Verification and storage for both services; the routes only pick the service."""

    def __init__(self, warehouse: Warehouse, secrets: dict[str, str | None], *,
                 max_body_bytes: int = MAX_BODY_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.warehouse = warehouse
        self.secrets = secrets
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.writer = DeliveryWriter(warehouse)
        for secret in secrets.values():
            register_secret(secret)

    async def receive(self, request: Request, service: str) -> JSONResponse:
        delivery_header = "x-github-delivery" if service == "github" else "linear-delivery"
        try:
            delivery = await self._verified(request, service)
        except Refusal as refusal:
            log.warning("refused a %s webhook (delivery %r) from %s: %s", service,
                        request.headers.get(delivery_header, "")[:80],
                        request.client.host if request.client else "?", refusal.reason)
            return JSONResponse({"error": refusal.reason}, status_code=refusal.status)
        future = self.writer.submit(delivery)
        try:
            new = await asyncio.wait_for(asyncio.wrap_future(future), ANSWER_WITHIN[service])
        except TimeoutError:
            log.error("%s delivery %s not committed within %.0f s (warehouse busy); answered "
                      "503", service, delivery.delivery_id, ANSWER_WITHIN[service])
            return JSONResponse({"error": "warehouse busy, try again"}, status_code=503)
        except Exception as exc:
            log.error("%s delivery %s could not be stored: %s", service, delivery.delivery_id,
                      exc)
            return JSONResponse({"error": "could not store the delivery"}, status_code=503)
        log.debug("%s delivery %s %s (%s)", service, delivery.delivery_id,
                  "stored" if new else "already stored", delivery.event)
        return JSONResponse({"status": "accepted" if new else "duplicate",
                             "delivery": delivery.delivery_id})

    async def _verified(self, request: Request, service: str) -> Delivery:
        secret = self.secrets.get(service)
        if not secret:
            raise Refusal(403, f"{SECRET_VARS[service]} is not set: {service} webhooks are "
                          "refused")
        header = "x-hub-signature-256" if service == "github" else "linear-signature"
        received = request.headers.get(header)
        if not received:
            raise Refusal(401, f"no {HEADER_NAMES[header]} header")
        body = await _read_body(request, self.max_body_bytes)
        expected = (github_signature if service == "github" else linear_signature)(secret, body)
        if not signature_matches(expected, received):
            raise Refusal(401, f"{HEADER_NAMES[header]} does not match the body")
        payload = _json_object(body)
        if service == "github":
            event = _header_id(request, "X-GitHub-Event")[:64]
            return Delivery("github", _header_id(request, "X-GitHub-Delivery"), event,
                            _clip(payload.get("action"), 64),
                            _clip(events.github_partition(payload), 255), payload,
                            events.receipt_outcome("github", event))
        self._check_timestamp(payload)
        event = events.linear_event(payload, request.headers.get("linear-event"))[:64]
        return Delivery("linear", _header_id(request, "Linear-Delivery"), event,
                        _clip(payload.get("action"), 64),
                        _clip(events.linear_partition(payload), 255), payload,
                        events.receipt_outcome("linear", event))

    def _check_timestamp(self, payload: dict[str, Any]) -> None:
        stamp = payload.get("webhookTimestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise Refusal(400, "no numeric webhookTimestamp in the body")
        skew_ms = abs(self.clock() * 1000 - stamp)
        if skew_ms > REPLAY_WINDOW_MS:
            raise Refusal(401, f"webhookTimestamp is {skew_ms / 1000:.0f} s from now (more "
                          "than a minute): a replay, or a skewed clock")

    def healthy(self) -> bool:
        try:
            with self.warehouse.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:
            return False
        return True


def create_app(settings: Settings, *, warehouse: Warehouse | None = None,
               max_body_bytes: int = MAX_BODY_BYTES,
               clock: Callable[[], float] = time.time) -> Starlette:
    """The receiver for `settings`' warehouse and secrets."""
    store = warehouse or receiver_warehouse(settings.database_url)
    secrets = {
        "github": (settings.github_webhook_secret.get_secret_value()
                   if settings.github_webhook_secret else None),
        "linear": (settings.linear_webhook_secret.get_secret_value()
                   if settings.linear_webhook_secret else None),
    }
    receiver = Receiver(store, secrets, max_body_bytes=max_body_bytes, clock=clock)

    async def github(request: Request) -> JSONResponse:
        return await receiver.receive(request, "github")

    async def linear(request: Request) -> JSONResponse:
        return await receiver.receive(request, "linear")

    async def healthz(_request: Request) -> JSONResponse:
        ok = await run_in_threadpool(receiver.healthy)
        return JSONResponse({"status": "ok" if ok else "warehouse unreachable",
                             **{s: bool(v) for s, v in secrets.items()}},
                            status_code=200 if ok else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(_prepare, store)
        receiver.writer.start()
        try:
            yield
        finally:
            await run_in_threadpool(receiver.writer.stop)

    app = Starlette(routes=[Route("/webhooks/github", github, methods=["POST"]),
                            Route("/webhooks/linear", linear, methods=["POST"]),
                            Route("/healthz", healthz, methods=["GET"])],
                    lifespan=lifespan)
    app.state.receiver = receiver
    return app


def _prepare(warehouse: Warehouse) -> None:
    if not warehouse.schema_ready():
        warehouse.create_schema()
