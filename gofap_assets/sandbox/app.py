"""The seam between the sandbox's HTTP server and the API emulators it hosts.

An emulator is a plain object with ``handle(Request) -> Response``: no sockets, so it can be
unit-tested directly, and the server (with its fault injection) stays the same for every API.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """The URL path without the query string, e.g. ``/repos/acme/api/issues``."""
    query: Mapping[str, list[str]]
    """Parsed query string (``urllib.parse.parse_qs`` with ``keep_blank_values=True``)."""
    headers: Mapping[str, str]
    """Request headers with lower-case names."""
    body: bytes
    base_url: str
    """Scheme, host and port the client used, e.g. ``http://127.0.0.1:8123``; for Link headers."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    def handle(self, request: Request) -> Response: ...
