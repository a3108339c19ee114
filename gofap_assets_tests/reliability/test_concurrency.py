"""Two syncs at once: rows are never duplicated or corrupted, and the second sync of an asset waits
for the first with a clear message (the `sync_locks` table), taking over a dead holder's lock."""

import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets.warehouse.locks import SyncBusyError, SyncLocks
from gofap_assets.warehouse.schema import sync_locks
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
    start_cli,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _issue(version: str, updated: datetime) -> Record:
    return Record(source="github", data_type="issue", external_id="77", parent_key="acme/api",
                  title=f"title {version}", description=None, state="open",
                  external_created_at=T0, external_updated_at=updated,
                  raw_data={"id": 77, "v": version}, processed_data={"id": 77})


def _title(store: Warehouse) -> str:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT title FROM imported_data WHERE external_id = '77'")
                            ).scalar_one()


def test_an_older_version_never_replaces_a_newer_one(database_url: str) -> None:
    """A slow reader committing after a fast one must not roll a row back."""
    store = Warehouse(database_url)
    store.create_schema()
    store.write(Batch("github", "issue", "acme/api", [_issue("v2", T0 + timedelta(hours=2))]))
    counts = store.write(Batch("github", "issue", "acme/api",
                               [_issue("v1", T0 + timedelta(hours=1))]))
    assert _title(store) == "title v2" and counts.updated == 0
    counts = store.write(Batch("github", "issue", "acme/api",
                               [_issue("v2b", T0 + timedelta(hours=2))]))
    assert _title(store) == "title v2b" and counts.updated == 1  # same time, new content
    store.dispose()


def test_a_held_lock_makes_others_wait_then_gives_up_by_name(database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    first, impatient = SyncLocks(store), SyncLocks(store, wait_seconds=0.3)
    told = []
    with first.hold("github/github_issues"):
        started = time.monotonic()
        with pytest.raises(SyncBusyError) as info, \
                impatient.hold("github/github_issues", on_wait=told.append):
            pass
        assert time.monotonic() - started >= 0.3
        assert len(told) == 1 and told[0].name == "github/github_issues"
        message = str(info.value)
        assert "another sync of github/github_issues" in message and "pid" in message
        with impatient.hold("github/github_commits"):  # other assets are not blocked
            pass

    patient = SyncLocks(store, wait_seconds=10)
    holding = threading.Event()

    def hold_briefly() -> None:
        with first.hold("linear/linear_issues"):
            holding.set()
            time.sleep(0.6)

    worker = threading.Thread(target=hold_briefly)
    worker.start()
    holding.wait(5)
    started = time.monotonic()
    with patient.hold("linear/linear_issues"):
        waited = time.monotonic() - started
    worker.join()
    assert 0.2 < waited < 5
    assert first.holders() == []  # everything released
    store.dispose()


def test_a_dead_holders_lock_is_taken_over(database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    now = datetime.now(UTC)
    with store.transaction() as conn:
        conn.execute(sync_locks.insert(), [
            {"name": "github/github_issues", "holder": "here:dead", "host": socket.gethostname(),
             "pid": dead_pid, "acquired_at": now, "heartbeat_at": now},
            {"name": "github/github_commits", "holder": "elsewhere:1", "host": "other-host",
             "pid": 1, "acquired_at": now - timedelta(hours=1),
             "heartbeat_at": now - timedelta(minutes=20)},
            {"name": "github/github_pull_requests", "holder": "elsewhere:2", "host": "other-host",
             "pid": 2, "acquired_at": now, "heartbeat_at": now},
        ])
    locks = SyncLocks(store, wait_seconds=0.2, stale_seconds=600)
    with locks.hold("github/github_issues"):  # its process on this host is gone
        pass
    with locks.hold("github/github_commits"):  # no heartbeat for longer than stale_seconds
        pass
    with pytest.raises(SyncBusyError, match="pid 2 on other-host"), \
            locks.hold("github/github_pull_requests"):
        pass  # alive elsewhere, as far as we can tell
    store.dispose()


def test_a_held_lock_keeps_its_heartbeat(database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    locks = SyncLocks(store, stale_seconds=0.4)
    with locks.hold("github/github_repositories"):
        first = locks.holders()[0].heartbeat_at
        time.sleep(0.5)
        assert locks.holders()[0].heartbeat_at > first
        other = SyncLocks(store, wait_seconds=0.3, stale_seconds=0.4)
        # A fresh heartbeat: not stale, so not taken over.
        with pytest.raises(SyncBusyError), other.hold("github/github_repositories"):
            pass
    store.dispose()


@pytest.mark.slow
def test_a_cli_sync_waits_for_a_running_sync_of_the_same_asset(
        database_url: str, tmp_path: Path) -> None:
    world = small_world(21)
    store = Warehouse(database_url)
    store.create_schema()
    with github_sandbox(world) as server:
        env = github_env(server, world, database_url)
        log = tmp_path / "sync.log"
        with SyncLocks(store).hold("github/github_issues"):
            process = fork_cli(["sync", "--service", "github"], env, log)
            deadline = time.monotonic() + 60
            while "waiting: another sync of github/github_issues" not in log.read_text() \
                    and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert process.poll() is None, log.read_text()
            assert "waiting: another sync of github/github_issues" in log.read_text()
            time.sleep(0.5)
            assert process.poll() is None  # still waiting, not skipping ahead
        assert process.wait(timeout=60) == 0, log.read_text()
    assert github_differences(database_url, world) == {}
    store.dispose()


@pytest.mark.slow
def test_two_cli_syncs_at_once_never_duplicate_or_corrupt_rows(
        monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """Both start on an empty warehouse (racing to create the schema) and a shared Dagster
    instance; the world changes while they run."""
    world = small_world(22, repos=2, issues_per_repo=150, commits_per_repo=60)
    home = prepare_dagster_home(tmp_path / "dagster_home", environ={}).path
    with github_sandbox(world, latency_ms=40) as server:
        env = github_env(server, world, database_url, DAGSTER_HOME=str(home))
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        # The installed command and a forked one (no second Dagster import to wait for).
        processes = [start_cli(["sync", "--service", "github"], env, logs[0]),
                     fork_cli(["sync", "--service", "github"], env, logs[1])]
        while server.stats.requests < 8 and all(p.poll() is None for p in processes):
            time.sleep(0.05)
        world.mutate(0.1, seed=5)
        codes = [p.wait(timeout=120) for p in processes]
        output = "\n".join(log.read_text() for log in logs)
        assert codes == [0, 0], output
        assert "Traceback" not in output
        snapshot = api_snapshot(server, world)
        assert duplicate_identities(database_url) == []
        assert cursor_violations(database_url, snapshot) == []
        # Whatever either read before the change, the next sync completes it.
        apply_env(monkeypatch, env)
        assert main(["sync", "--service", "github"]) == 0
    assert github_differences(database_url, world, ignore_deleted=True) == {}
    assert duplicate_identities(database_url) == []


def test_schema_creation_from_many_processes_at_once(database_url: str) -> None:
    """Two syncs on a new warehouse both create it; PostgreSQL's DDL would collide
    (duplicate pg_type rows) without the advisory lock."""
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def create() -> None:
        store = Warehouse(database_url)
        try:
            start.wait()
            store.create_schema()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            store.dispose()

    workers = [threading.Thread(target=create) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert Warehouse(database_url).schema_ready()
