"""The sandbox HTTP server: mounting, HTTP/1.1 keep-alive, headers, stats, control endpoints."""

import concurrent.futures
import email.utils
import json
import time
from typing import Any

import httpx
import pytest

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.server import SandboxServer, json_response


class Echo:
    """Answers with what it was asked, so tests can see what the server handed over."""

    def __init__(self, name: str = "echo") -> None:
        self.name = name

    def handle(self, request: Request) -> Response:
        return json_response(200, {
            "app": self.name, "method": request.method, "path": request.path,
            "query": {k: v for k, v in request.query.items()}, "base_url": request.base_url,
            "body": request.body.decode(), "auth": request.headers.get("authorization")})


class FakeWorld:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def mutate(self, fraction: float, seed: int, *, delete_repos: bool = False) -> dict:
        self.calls.append({"fraction": fraction, "seed": seed, "delete_repos": delete_repos})
        return {"changed": 3}


class WithWorld(Echo):
    def __init__(self) -> None:
        super().__init__("with-world")
        self.world = FakeWorld()


@pytest.fixture
def server() -> Any:
    with SandboxServer({"/api": Echo("api"), "/api/v3": Echo("v3"),
                        "/world": WithWorld()}) as running:
        yield running


def test_mounts_strip_their_prefix_and_give_the_app_its_base_url(server: SandboxServer) -> None:
    data = httpx.get(f"{server.url}/api/repos/a/b?x=1&x=2&empty=").json()
    assert data["app"] == "api"
    assert data["path"] == "/repos/a/b"
    assert data["query"] == {"x": ["1", "2"], "empty": [""]}
    assert data["base_url"] == f"{server.url}/api"
    assert httpx.get(f"{server.url}/api").json()["path"] == "/"
    longest = httpx.get(f"{server.url}/api/v3/user").json()
    assert (longest["app"], longest["path"]) == ("v3", "/user")
    assert httpx.get(f"{server.url}/apiary").status_code == 404
    assert httpx.get(f"{server.url}/nothing").json() == {"message": "Not Found"}


def test_responses_carry_date_type_and_exact_length(server: SandboxServer) -> None:
    response = httpx.get(f"{server.url}/api/x")
    assert response.http_version == "HTTP/1.1"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert int(response.headers["content-length"]) == len(response.content)
    sent = email.utils.parsedate_to_datetime(response.headers["date"])
    assert sent.tzinfo is not None and abs(time.time() - sent.timestamp()) < 5
    assert response.headers["date"].endswith(" GMT")


def test_keep_alive_serves_many_requests_on_one_connection(server: SandboxServer) -> None:
    with httpx.Client() as client:
        for index in range(25):
            assert client.get(f"{server.url}/api/{index}").status_code == 200
    stats = server.stats
    assert (stats.requests, stats.connections) == (25, 1)


def test_post_bodies_and_headers_reach_the_app(server: SandboxServer) -> None:
    data = httpx.post(f"{server.url}/api/graphql", content=b'{"query": "{ viewer { id } }"}',
                      headers={"Authorization": "lin_api_x"}).json()
    assert (data["method"], data["body"], data["auth"]) == (
        "POST", '{"query": "{ viewer { id } }"}', "lin_api_x")


def test_head_sends_headers_only(server: SandboxServer) -> None:
    with httpx.Client() as client:
        head = client.head(f"{server.url}/api/x")
        assert head.content == b"" and int(head.headers["content-length"]) > 0
        assert client.get(f"{server.url}/api/y").json()["path"] == "/y"  # stream still in sync


def test_stats_count_statuses_and_reset(server: SandboxServer) -> None:
    httpx.get(f"{server.url}/api/x")
    httpx.get(f"{server.url}/missing")
    stats = server.stats
    assert stats.requests == 2 and stats.by_status == {200: 1, 404: 1}
    assert stats.as_dict()["by_status"] == {"200": 1, "404": 1}
    server.reset_stats()
    assert server.stats.requests == 0 and server.stats.by_status == {}


def test_control_endpoints_mutate_every_world_and_report_stats(server: SandboxServer) -> None:
    httpx.get(f"{server.url}/api/x")
    answer = httpx.post(f"{server.url}/_sandbox/mutate",
                        json={"fraction": 0.01, "seed": 2, "delete_repos": True, "other": 1})
    assert answer.status_code == 200 and answer.json() == {"/world": {"changed": 3}}
    world = server.apps["/world"].world  # type: ignore[attr-defined]
    assert world.calls == [{"fraction": 0.01, "seed": 2, "delete_repos": True}]
    stats = httpx.get(f"{server.url}/_sandbox/stats").json()
    assert stats["requests"] == 1 and stats["by_status"] == {"200": 1}  # control not counted
    assert httpx.post(f"{server.url}/_sandbox/mutate", content=b"nope").status_code == 400
    assert httpx.post(f"{server.url}/_sandbox/mutate",
                      json={"fraction": 2, "seed": 1}).status_code == 400
    assert httpx.post(f"{server.url}/_sandbox/reset_stats").json() == {"ok": True}
    assert server.stats.requests == 0
    assert httpx.get(f"{server.url}/_sandbox/nothing").status_code == 404


def test_latency_delays_each_request_without_serialising_them() -> None:
    with SandboxServer({"/api": Echo()}, latency_ms=400) as server:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda i: httpx.get(f"{server.url}/api/{i}").status_code,
                                     range(8)))
        elapsed = time.monotonic() - started
    assert statuses == [200] * 8
    assert 0.4 <= elapsed < 8 * 0.4 / 2, "requests waited for each other"


def test_stop_cuts_keep_alive_connections() -> None:
    server = SandboxServer({"/api": Echo()}).start()
    client = httpx.Client()
    assert client.get(f"{server.url}/api/x").status_code == 200
    server.stop()
    with pytest.raises(httpx.TransportError):
        client.get(f"{server.url}/api/x")
    client.close()
    server.stop()  # idempotent


def test_refuses_non_loopback_hosts_unless_told() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        SandboxServer({"/api": Echo()}, host="0.0.0.0")
    SandboxServer({"/api": Echo()}, host="0.0.0.0", allow_non_loopback=True)  # not started
    with SandboxServer({"/api": Echo()}, host="localhost") as server:
        assert httpx.get(f"{server.url}/api/x").status_code == 200


class Broken:
    def handle(self, request: Request) -> Response:
        raise RuntimeError("emulator bug")


def test_an_app_that_raises_answers_500_and_the_server_carries_on(
        caplog: pytest.LogCaptureFixture) -> None:
    with SandboxServer({"/broken": Broken(), "/api": Echo()}) as server, httpx.Client() as client:
        failed = client.get(f"{server.url}/broken/x")
        assert failed.status_code == 500 and "emulator bug" in failed.json()["message"]
        assert client.get(f"{server.url}/api/x").status_code == 200
    assert "emulator bug" in caplog.text


@pytest.mark.parametrize("prefix", ["api", "/api/", "/_sandbox"])
def test_refuses_bad_mount_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        SandboxServer({prefix: Echo()})


def test_json_response_keeps_unicode_readable() -> None:
    response = json_response(201, {"title": "émoji 🚀"}, {"x-extra": "1"})
    assert response.status == 201 and response.headers["x-extra"] == "1"
    assert json.loads(response.body) == {"title": "émoji 🚀"}
    assert "🚀".encode() in response.body
