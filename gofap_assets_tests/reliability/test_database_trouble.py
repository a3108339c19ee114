"""Database trouble mid-sync: PostgreSQL restarted, a SQLite file locked by another writer. The
sync fails with a clear message (or rides it out), nothing is half-committed (a page's rows and
its cursor are all-or-nothing), and the next sync recovers."""

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.conftest import PG_ADMIN_URL
from gofap_assets_tests.conftest import _reset_postgres as reset_postgres
from gofap_assets_tests.reliability.harness import (
    api_snapshot,
    apply_env,
    cursor_violations,
    duplicate_identities,
    fork_cli,
    github_differences,
    github_env,
    github_sandbox,
    small_world,
    table_counts,
)


def _pg_cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or not os.path.exists("/usr/bin/pg_ctlcluster"):
        pytest.skip("no local PostgreSQL cluster to restart (pg_ctlcluster)")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _wait_for_postgres(timeout: float = 60) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect():
                    return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_restarted_mid_sync(postgres_server_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = _pg_cluster()
    reset_postgres(postgres_server_url)
    url = sa.engine.make_url(postgres_server_url).set(password="s3cret-pw").render_as_string(
        hide_password=False)  # trust auth ignores it; the output must never show it
    store = Warehouse(url)
    store.create_schema()
    store.dispose()
    world = small_world(41, repos=3, issues_per_repo=230, commits_per_repo=150)
    with github_sandbox(world, latency_ms=40) as server:
        env = github_env(server, world, url)
        log = tmp_path / "sync.log"
        process = fork_cli(["sync", "--service", "github"], env, log)
        while server.stats.requests < 6 and process.poll() is None:
            time.sleep(0.01)
        assert process.poll() is None, log.read_text()
        try:
            subprocess.run([*cluster, "restart", "-m", "fast"], check=True, timeout=120,
                           capture_output=True)
        finally:
            _wait_for_postgres()
        code = process.wait(timeout=120)
        output = log.read_text()
        assert "s3cret-pw" not in output
        assert "Traceback" not in output
        # Connections that died with the server fail their transaction; new ones reconnect. The
        # sync either rode it out or says which part failed, naming the warehouse.
        assert code in (0, 1), output
        if code == 1:
            assert "FAILED" in output and "warehouse" in output.lower(), output
            assert "***" in output or "postgresql" not in output

        snapshot = api_snapshot(server, world)
        assert duplicate_identities(url) == []
        assert cursor_violations(url, snapshot) == []

        apply_env(monkeypatch, env)
        assert main(["sync", "--service", "github"]) == 0
    assert github_differences(url, world) == {}


def _lock_holder(path: Path) -> sqlite3.Connection:
    """Another program's writer: BEGIN EXCLUSIVE and hold it."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)  # after a write in flight
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def test_a_sqlite_file_locked_by_another_writer(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "warehouse.db"
    url = f"sqlite:///{path}?timeout=0.5"
    world = small_world(42)
    with github_sandbox(world) as server:
        apply_env(monkeypatch, github_env(server, world, url))
        assert main(["sync", "--service", "github"]) == 0
        world.mutate(0.3, seed=1)
        before = table_counts(url)
        capsys.readouterr()

        holder = _lock_holder(path)
        try:  # refused before any run starts: an environment problem, exit 2
            assert main(["sync", "--service", "github"]) == 2
        finally:
            holder.rollback()
            holder.close()
        out = capsys.readouterr()
        text = out.out + out.err
        assert "database is locked" in text and "warehouse write failed" in text
        assert "Traceback" not in text
        # Not one row, quarantine entry or cursor of the refused writes got in.
        assert table_counts(url) == before
        assert cursor_violations(url, api_snapshot(server, world)) == []

        assert main(["sync", "--service", "github"]) == 0
    assert github_differences(url, world, ignore_deleted=True) == {}
    assert duplicate_identities(url) == []


def test_a_sqlite_lock_taken_mid_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The other writer arrives after some partitions committed: they stay, the rest waits for
    the next sync, and the run stops at once instead of failing every partition in turn."""
    path = tmp_path / "warehouse.db"
    url = f"sqlite:///{path}?timeout=0.5"
    world = small_world(43, repos=3, issues_per_repo=230, commits_per_repo=150)
    Warehouse(url).create_schema()
    with github_sandbox(world, latency_ms=30) as server:
        env = github_env(server, world, url)
        log = tmp_path / "sync.log"
        process = fork_cli(["sync", "--service", "github"], env, log)
        while server.stats.requests < 8 and process.poll() is None:
            time.sleep(0.005)
        holder = _lock_holder(path)
        try:
            started = time.monotonic()
            code = process.wait(timeout=60)
            stopped_after = time.monotonic() - started
        finally:
            holder.rollback()
            holder.close()
        output = log.read_text()
        assert code == 1, output
        assert "database is locked" in output and "Traceback" not in output
        assert stopped_after < 15, f"the run kept going for {stopped_after:.0f}s"
        assert duplicate_identities(url) == []
        assert cursor_violations(url, api_snapshot(server, world)) == []

        apply_env(monkeypatch, env)
        assert main(["sync", "--service", "github"]) == 0, capsys.readouterr().out
    assert github_differences(url, world) == {}
