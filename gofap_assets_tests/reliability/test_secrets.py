"""Secrets on the failure paths: a rejected token, a server that echoes the credential back, an
unreachable warehouse with a password in its URL, and plain http to a remote host. (The happy
path of every command, scanned everywhere, is in test_end_to_end.)"""

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import GitHubApp
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets_tests.reliability.harness import (
    GITHUB_TOKEN,
    apply_env,
    github_env,
    github_sandbox,
    small_world,
)

PASSWORD = "pw-that-must-not-show-7d1e"


def _everything(capfd: pytest.CaptureFixture[str], *files: Path) -> str:
    out, err = capfd.readouterr()
    return out + err + "".join(f.read_text() for f in files if f.exists())


def test_a_rejected_token_is_named_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(81)
    log = tmp_path / "gofap.log"
    with github_sandbox(world) as server:
        env = github_env(server, world, f"sqlite:///{tmp_path / 'w.db'}",
                         GITHUB_TOKEN="ghp_wrong_but_still_secret_0f9e8d7c6b",
                         LOG_LEVEL="DEBUG", LOG_FILE=str(log))
        apply_env(monkeypatch, env)
        assert main(["test-connections"]) == 1
        assert main(["sync", "--service", "github"]) == 1
    text = _everything(capfd, log)
    assert "GITHUB_TOKEN" in text and "401" in text
    assert "ghp_wrong_but_still_secret_0f9e8d7c6b" not in text and GITHUB_TOKEN not in text


class EchoingTheCredential:
    """A GitHub that quotes the Authorization header back in its error messages."""

    def __init__(self, inner: GitHubApp) -> None:
        self.inner, self.world = inner, inner.world

    def handle(self, request: Request) -> Any:
        if request.path.endswith("/issues"):
            body = {"message": f"token {request.headers.get('authorization')} lacks a scope"}
            return Response(403, json.dumps(body).encode(),
                            {"content-type": "application/json"})
        return self.inner.handle(request)


def test_a_credential_echoed_by_the_server_is_redacted_everywhere(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(82)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    log = tmp_path / "gofap.log"
    app = EchoingTheCredential(GitHubApp(world, token=GITHUB_TOKEN))
    with SandboxServer({"/github": app}) as server:
        apply_env(monkeypatch, github_env(server, world, url, LOG_LEVEL="DEBUG",
                                          LOG_FILE=str(log)))
        assert main(["sync", "--service", "github"]) == 1
        assert main(["status"]) == 0
    text = _everything(capfd, log)
    assert "lacks a scope" in text and GITHUB_TOKEN not in text
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = [str(row) for table in ("sync_status", "sync_partitions", "sync_history")
                  for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    assert any("lacks a scope" in row for row in stored)
    assert not any(GITHUB_TOKEN in row for row in stored)


@pytest.mark.postgres
def test_an_unreachable_warehouse_is_named_with_its_password_masked(
        monkeypatch: pytest.MonkeyPatch, postgres_server_url: str,
        capfd: pytest.CaptureFixture[str]) -> None:
    url = sa.engine.make_url(postgres_server_url)
    for broken in (url.set(database="no_such_database_here", password=PASSWORD),
                   url.set(port=1, password=PASSWORD)):
        apply_env(monkeypatch, {"DATABASE_URL": broken.render_as_string(hide_password=False),
                                "LOG_LEVEL": "DEBUG"})
        for command in (["status"], ["init-db"], ["list-data"], ["sync"], ["config-info"]):
            code = main(command)
            text = _everything(capfd)
            assert PASSWORD not in text, command
            if command != ["config-info"]:
                # An unusable warehouse is an environment error: exit 2, from every command.
                assert code == 2 and "warehouse" in text and ":***@" in text, (command, text)
                assert "Traceback" not in text, command
            else:
                assert code == 0 and ":***@" in text


def test_plain_http_to_a_remote_host_is_refused_unless_allowed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    env = {"GITHUB_API_URL": "http://github.example.com/api/v3", "GITHUB_TOKEN": GITHUB_TOKEN,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    for command in (["config-info"], ["sync"], ["test-connections"]):
        apply_env(monkeypatch, env)
        assert main(command) == 2
        text = _everything(capfd)
        assert "GITHUB_API_URL" in text and "GOFAP_ALLOW_INSECURE_HTTP" in text
        assert GITHUB_TOKEN not in text
    apply_env(monkeypatch, {**env, "LINEAR_API_URL": "http://10.0.0.8/graphql"})
    assert main(["config-info"]) == 2
    assert "LINEAR_API_URL" in _everything(capfd)
    apply_env(monkeypatch, {**env, "GOFAP_ALLOW_INSECURE_HTTP": "1"})
    assert main(["config-info"]) == 0
    text = _everything(capfd)
    assert "http://github.example.com/api/v3" in text and GITHUB_TOKEN not in text


class EchoingEveryCredential:
    """A GitHub that quotes the Authorization header back: in the issues listing's 403 (an
    installation token or a pool's token), and in a 401 from `GET /app` (the app's JWT) once
    `reject_jwt` is set."""

    def __init__(self, inner: GitHubApp) -> None:
        self.inner, self.world = inner, inner.world
        self.reject_jwt = False
        self.quoted: list[str] = []

    def handle(self, request: Request) -> Any:
        quoted = request.headers.get("authorization")
        if request.path.endswith("/issues") or (self.reject_jwt and request.path == "/app"):
            status = 401 if request.path == "/app" else 403
            self.quoted.append((quoted or "").removeprefix("Bearer "))
            body = {"message": f"credential {quoted} is not allowed here"}
            return Response(status, json.dumps(body).encode(),
                            {"content-type": "application/json"})
        return self.inner.handle(request)


def _stored(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [str(row) for table in sa.inspect(conn).get_table_names()
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return rows


def _dagster_storage(home: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in home.rglob("*") if p.is_file())


def test_app_keys_minted_tokens_and_jwts_never_show_even_when_echoed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    from gofap_assets.sandbox.github import SandboxGitHubAppIdentity

    world = small_world(83)
    identity = SandboxGitHubAppIdentity(world.org)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    log, home, key_file = tmp_path / "gofap.log", tmp_path / "dagster_home", tmp_path / "a.pem"
    key_file.write_text(identity.private_key_pem)
    app = EchoingEveryCredential(GitHubApp(world, token=GITHUB_TOKEN, app=identity))
    with SandboxServer({"/github": app}) as server:
        apply_env(monkeypatch, {
            "GITHUB_API_URL": f"{server.url}/github", "GITHUB_ORG": world.org,
            "GITHUB_APP_ID": str(identity.app_id), "DATABASE_URL": url,
            "GITHUB_APP_PRIVATE_KEY": identity.private_key_pem, "LOG_LEVEL": "DEBUG",
            "LOG_FILE": str(log), "DAGSTER_HOME": str(home)})
        assert main(["sync", "--service", "github"]) == 1
        assert main(["test-connections"]) == 0
        app.reject_jwt = True
        assert main(["test-connections"]) == 1
        assert main(["status"]) == 0
    text = _everything(capfd, log)
    assert "is not allowed here" in text and "do not belong to the same app" in text
    minted = [m.token for m in identity.minted]
    assert minted and all(len(token) > 40 for token in minted)
    key_lines = identity.private_key_pem.strip().splitlines()[1:-1]
    assert any(q.count(".") == 2 for q in app.quoted), "a JWT was echoed"
    secrets = [*minted, *identity.jwts, *app.quoted, *key_lines]
    stored = "\n".join(_stored(url))
    assert "is not allowed here" in stored
    storage = _dagster_storage(home)
    for secret in secrets:
        assert secret not in text and secret not in stored and secret not in storage


def test_every_token_of_a_pool_is_redacted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(84)
    pool = [f"ghp_POOL{n}secret0token0that0must0never0show{n:02d}" for n in range(3)]
    url = f"sqlite:///{tmp_path / 'w.db'}"
    log = tmp_path / "gofap.log"
    app = EchoingEveryCredential(GitHubApp(world, token=pool[0], tokens=pool[1:]))
    with SandboxServer({"/github": app}) as server:
        apply_env(monkeypatch, {
            "GITHUB_API_URL": f"{server.url}/github", "GITHUB_ORG": world.org,
            "GITHUB_TOKEN": " , ".join([*pool, "ghp_not0a0valid0token0but0secret0all0same"]),
            "DATABASE_URL": url, "LOG_LEVEL": "DEBUG", "LOG_FILE": str(log)})
        assert main(["config-info"]) == 0
        assert main(["test-connections"]) == 0
        assert main(["sync", "--service", "github"]) == 1
    text = _everything(capfd, log)
    assert "a pool of 4 tokens" in text and "token#4: REJECTED (401)" in text
    assert "is not allowed here" in text
    stored = "\n".join(_stored(url))
    for secret in [*pool, "ghp_not0a0valid0token0but0secret0all0same"]:
        assert secret not in text and secret not in stored
