"""A real HTTP/1.1 server on loopback that hosts the sandbox API emulators.

Clients under test talk to it exactly as to the real APIs (sockets, keep-alive, Link headers,
timeouts), while the server injects the network's faults: latency, 5xx, dropped connections,
truncated bodies, slow answers, and the API-shaped rate limits it asks each app to render.
"""

import contextlib
import email.utils
import http
import inspect
import ipaddress
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gofap_assets.sandbox.app import App, Request, Response
from gofap_assets.sandbox.faults import RATE_LIMIT_KINDS, Fault, FaultProfile

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
CONTROL_PREFIX = "/_sandbox/"
_OWN_HEADERS = frozenset({"content-length", "date", "connection", "transfer-encoding"})


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, {"content-type": JSON_TYPE, **(headers or {})})


@dataclass(frozen=True)
class SandboxStats:
    """A snapshot of what the server has answered since the last reset."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    not_modified: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    """TCP connections accepted: far fewer than requests when clients keep connections alive."""

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "not_modified": self.not_modified,
                "connections": self.connections,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "faults": dict(sorted(self.faults.items()))}


class _Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._connections = 0
            self._statuses: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()

    def request(self) -> None:
        with self._lock:
            self._requests += 1

    def connection(self) -> None:
        with self._lock:
            self._connections += 1

    def status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> SandboxStats:
        with self._lock:
            return SandboxStats(self._requests, dict(self._statuses),
                                self._statuses.get(304, 0), dict(self._faults),
                                self._connections)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server_version = "gofap-sandbox"
    sys_version = ""
    server: "_HTTPServer"

    def _dispatch(self) -> None:
        self.server.sandbox._serve(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark serves thousands of requests a second."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: "SandboxServer") -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        self.sandbox._counters.connection()
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut open keep-alive connections, so a stopped server answers nothing any more."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _HTTPServerV6(_HTTPServer):
    address_family = socket.AF_INET6


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SandboxServer:
    """Serves ``{prefix: app}`` on ``host:port`` (port 0 picks a free one) in a daemon thread."""

    def __init__(self, apps: Mapping[str, App], *, faults: FaultProfile | None = None,
                 latency_ms: float = 0, host: str = "127.0.0.1", port: int = 0,
                 allow_non_loopback: bool = False) -> None:
        if not _is_loopback(host) and not allow_non_loopback:
            raise ValueError(f"refusing to serve the sandbox on non-loopback host {host!r}; "
                             "pass allow_non_loopback=True if you really mean it")
        for prefix in apps:
            if not prefix.startswith("/") or prefix.endswith("/") or prefix.startswith(
                    CONTROL_PREFIX.rstrip("/")):
                raise ValueError(f"mount prefix must look like '/name', got {prefix!r}")
        # Longest prefix first, so "/api/v3" wins over "/api".
        self.apps = dict(sorted(apps.items(), key=lambda kv: -len(kv[0])))
        self.faults = faults
        self.latency = latency_ms / 1000
        self.host = host
        self.port = port
        self._counters = _Counters()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "SandboxServer":
        if self._httpd is not None:
            return self
        server_class = _HTTPServerV6 if ":" in self.host else _HTTPServer
        self._stopping.clear()
        self._httpd = server_class((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-server:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping for latency or a slow fault
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if thread is not None:
            thread.join(timeout=10)
        self._httpd = self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- stats -----------------------------------------------------------------------------

    @property
    def stats(self) -> SandboxStats:
        return self._counters.snapshot()

    def reset_stats(self) -> None:
        self._counters.reset()

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path = split.path or "/"
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        if path.startswith(CONTROL_PREFIX):
            self._write(handler, self._control(handler.command, path, body))
            return
        self._counters.request()
        if self.latency:
            self._stopping.wait(self.latency)
        mount = self._mount(path)
        if mount is None:
            self._finish(handler, json_response(404, {"message": "Not Found"}))
            return
        prefix, app = mount
        headers = {name.lower(): value for name, value in handler.headers.items()}
        host = headers.get("host") or self.url.removeprefix("http://")
        request = Request(method=handler.command, path=path[len(prefix):] or "/",
                          query=parse_qs(split.query, keep_blank_values=True),
                          headers=headers, body=body, base_url=f"http://{host}{prefix}")
        fault = self.faults.draw() if self.faults else None
        try:
            if fault is None:
                self._finish(handler, app.handle(request))
            else:
                self._inject(handler, app, request, fault)
        except Exception as error:  # an emulator bug: answer 500 rather than drop the socket
            log.exception("sandbox app %s failed on %s %s", prefix, request.method, path)
            self._finish(handler, json_response(500, {
                "message": f"sandbox emulator error: {type(error).__name__}: {error}"}))

    def _mount(self, path: str) -> tuple[str, App] | None:
        for prefix, app in self.apps.items():
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, app
        return None

    def _inject(self, handler: _Handler, app: App, request: Request, fault: Fault) -> None:
        assert self.faults is not None
        kind = fault.kind
        if kind in RATE_LIMIT_KINDS:
            seconds = (self.faults.reset_after_seconds if kind == "primary"
                       else self.faults.retry_after_seconds)
            shaper = getattr(app, "rate_limited", None)
            limited = shaper(request, kind, seconds) if shaper else None
            if limited is None:  # this API has no such limit: serve normally
                self._finish(handler, app.handle(request))
            else:
                self._counters.fault(kind)
                self._finish(handler, limited)
            return
        self._counters.fault(kind)
        if kind == "5xx":
            self._finish(handler, _server_error(fault.variant))
        elif kind == "dropped":
            handler.close_connection = True
        elif kind == "truncated":
            self._finish(handler, app.handle(request), truncate=True)
        elif kind == "slow":
            self._stopping.wait(self.faults.slow_seconds)
            self._finish(handler, app.handle(request))

    def _finish(self, handler: _Handler, response: Response, *, truncate: bool = False) -> None:
        self._counters.status(response.status)
        self._write(handler, response, truncate=truncate)

    def _write(self, handler: _Handler, response: Response, *, truncate: bool = False) -> None:
        status, body = response.status, response.body
        reason = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ \
            else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}",
                 f"Date: {email.utils.formatdate(usegmt=True)}",
                 f"Server: {_Handler.server_version}"]
        headers = {name.lower(): value for name, value in response.headers.items()}
        if body and "content-type" not in headers:
            headers["content-type"] = JSON_TYPE
        lines += [f"{name}: {value}" for name, value in headers.items()
                  if name not in _OWN_HEADERS]
        if status not in (204, 304) and not 100 <= status < 200:
            lines.append(f"Content-Length: {len(body)}")
        if truncate:
            handler.close_connection = True
            body = body[: len(body) // 2]
        if handler.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            handler.wfile.write(head if handler.command == "HEAD" or status == 304
                                else head + body)
        except OSError:  # the client gave up (e.g. timed out on a slow answer)
            handler.close_connection = True

    # -- control endpoints -----------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        action = path.removeprefix(CONTROL_PREFIX)
        if (method, action) == ("GET", "stats"):
            return json_response(200, self.stats.as_dict())
        if (method, action) == ("POST", "reset_stats"):
            self.reset_stats()
            return json_response(200, {"ok": True})
        if (method, action) == ("POST", "mutate"):
            return self._mutate(body)
        return json_response(404, {"message": f"no sandbox control {method} {path}"})

    def _mutate(self, body: bytes) -> Response:
        try:
            options = json.loads(body or b"{}")
            fraction = float(options.pop("fraction"))
            seed = int(options.pop("seed"))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return json_response(400, {"message": f"expected JSON {{fraction, seed}}: {exc}"})
        if not 0 <= fraction <= 1:
            return json_response(400, {"message": "fraction must be between 0 and 1"})
        results: dict[str, Any] = {}
        for prefix, app in self.apps.items():
            mutate = getattr(getattr(app, "world", None), "mutate", None)
            if mutate is None:
                continue
            accepted = inspect.signature(mutate).parameters
            extra = {k: v for k, v in options.items() if k in accepted}
            results[prefix] = mutate(fraction=fraction, seed=seed, **extra)
        return json_response(200, results)


def _server_error(variant: float) -> Response:
    """A proxy's HTML 502 or the API's JSON 503, as real outages look."""
    if variant < 0.5:
        html = ("<html><head><title>502 Bad Gateway</title></head><body><center>"
                "<h1>502 Bad Gateway</h1></center></body></html>")
        return Response(502, html.encode(), {"content-type": "text/html; charset=utf-8"})
    return json_response(503, {"message": "Service Unavailable: the server is temporarily "
                                          "unable to handle the request, try again later."})
