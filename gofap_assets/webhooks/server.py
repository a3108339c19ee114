"""Serving the receiver with uvicorn: in the foreground (`gofap-import webhooks serve`) or in a
background thread (tests, the demo, the benchmark). The socket is bound first, so port 0 works
and the real address is known before the first request.
"""

import signal
import socket
import threading
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: Starlette, log_level: str) -> uvicorn.Config:
    # No access log: a redelivery storm would drown the refusals, which are logged by the app.
    return uvicorn.Config(app, log_level=log_level.lower(), access_log=False,
                          lifespan="on", timeout_graceful_shutdown=10)


def serve_forever(app: Starlette, sock: socket.socket, *, log_level: str = "INFO",
                  ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM: uvicorn's handlers finish the requests in flight, then
    re-raise the signal, which ends the process normally (exit 0 on SIGTERM)."""
    signal.signal(signal.SIGTERM, _exit_normally)
    server = uvicorn.Server(_config(app, log_level))
    if ready is not None:
        ready()
    server.run(sockets=[sock])


def _exit_normally(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


class ReceiverServer:
    """The receiver on a background thread; a context manager."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.socket = bind(host, port)
        self.url = url_of(self.socket)
        self._server = uvicorn.Server(_config(app, "WARNING"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self.socket]},
                                        name="webhook-receiver", daemon=True)

    def __enter__(self) -> "ReceiverServer":
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the webhook receiver failed to start")
            self._thread.join(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self.socket.close()
