"""Crashes: `gofap-import sync` killed with SIGKILL at random points (before the first request, in
the listing, between and inside pages of every partition, in full syncs) never leaves a cursor
ahead of the data it covers, never duplicates a row, and the next sync converges."""

import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.conftest import _reset_postgres as reset_postgres
from gofap_assets_tests.reliability.harness import (
    api_snapshot,
    both_sandbox,
    cursor_violations,
    duplicate_identities,
    fork_cli,
    github_differences,
    github_env,
    github_sandbox,
    linear_cursor_violations,
    linear_differences,
    linear_env,
    linear_world,
    small_world,
    start_cli,
)

LATENCY_MS = 30


def _fresh(database_url: str, tmp_path: Path, name: str) -> str:
    """An empty warehouse: a new SQLite file, or the PostgreSQL database emptied."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / f'{name}.db'}"
    else:
        reset_postgres(database_url)
    store = Warehouse(database_url)
    store.create_schema()  # `gofap-import init-db`
    store.dispose()
    return database_url


def _kill_at(process: Any, server: Any, start: int, target: int, rng: random.Random) -> bool:
    """Kill once `target` requests of this run have reached the server, somewhere within the
    latency of the last one (before its answer, or after it was committed). False if the sync
    finished first."""
    while server.stats.requests < start + target and process.poll() is None:
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 2.5 * LATENCY_MS / 1000))
    if process.poll() is not None:
        process.wait(timeout=30)
        return False
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)  # reaped: the lock's holder is gone, not a zombie
    return True


@pytest.mark.slow
def test_sigkill_at_random_points_never_moves_a_cursor_past_its_data(
        database_url: str, tmp_path: Path) -> None:
    """First syncs killed at points spread over the whole run (the commits, then the issues'
    three pages per repository, then the pulls), each on an empty warehouse so that a cursor
    committed before its pages would leave a hole; then a warehouse carried through killed
    incremental and full syncs and a change in the world, to convergence."""
    sqlite = database_url.startswith("sqlite")
    first_syncs, carried = (5, 3) if sqlite else (2, 2)  # 12 kill points, 6 more for Linear
    world = small_world(31, repos=2, issues_per_repo=230, commits_per_repo=150)
    home = prepare_dagster_home(tmp_path / "dagster_home", environ={}).path
    rng = random.Random(31)
    landed: list[str] = []
    with github_sandbox(world, latency_ms=LATENCY_MS) as server:
        env = github_env(server, world, database_url, DAGSTER_HOME=str(home),
                         GOFAP_CONCURRENCY="2")
        before = server.stats.requests
        snapshot = api_snapshot(server, world)
        full_listing = server.stats.requests - before  # about what a first sync costs
        targets = [1 + (i * (full_listing - 1)) // (first_syncs + 1)
                   for i in range(1, first_syncs + 1)]
        rng.shuffle(targets)

        for round_, target in enumerate(targets):
            url = _fresh(database_url, tmp_path, f"first{round_}")
            log = tmp_path / f"first{round_}.log"
            # The installed command once; then a forked child of this process, which dies
            # the same way without importing Dagster afresh.
            launch = start_cli if round_ == 0 and sqlite else fork_cli
            process = launch(["sync", "--service", "github"], {**env, "DATABASE_URL": url}, log)
            start = server.stats.requests
            if _kill_at(process, server, start, target, rng):
                landed.append(f"first sync at request {server.stats.requests - start}")
            assert duplicate_identities(url) == [], log.read_text()
            assert cursor_violations(url, snapshot) == [], (landed, log.read_text())

        url = _fresh(database_url, tmp_path, "carried")
        env["DATABASE_URL"] = url
        for round_ in range(carried + 4):
            if len(landed) == first_syncs + carried:
                break
            if round_ == carried // 2:
                world.mutate(0.15, seed=round_)  # new work for the later rounds
                snapshot = api_snapshot(server, world)
            args = ["sync", "--service", "github"] + (["--full"] if round_ % 2 else [])
            log = tmp_path / f"carried{round_}.log"
            start = server.stats.requests
            process = fork_cli(args, env, log)
            if _kill_at(process, server, start, rng.randint(1, full_listing - 1), rng):
                landed.append(f"{' '.join(args[1:])} at request {server.stats.requests - start}")
            assert duplicate_identities(url) == [], log.read_text()
            assert cursor_violations(url, snapshot) == [], (landed, log.read_text())
        assert len(landed) >= first_syncs + carried - 1, landed
        print("killed:", *landed, sep="\n  ")

        log = tmp_path / "final.log"
        assert fork_cli(["sync", "--service", "github", "--full"], env, log).wait(120) == 0, \
            log.read_text()
        assert github_differences(url, world) == {}
        assert duplicate_identities(url) == []
        assert cursor_violations(url, api_snapshot(server, world)) == []


@pytest.mark.slow
def test_sigkill_during_linear_syncs_never_moves_a_cursor_past_its_data(tmp_path: Path) -> None:
    """The same for Linear: three teams of two pages each, listings before them."""
    world = linear_world(32, teams=3, issues_per_team=300)
    rng = random.Random(32)
    landed: list[str] = []
    with both_sandbox(small_world(32, repos=0), world, latency_ms=LATENCY_MS) as server:
        env = {**linear_env(server), "GOFAP_CONCURRENCY": "2"}
        url = _fresh(f"sqlite:///{tmp_path / 'probe.db'}", tmp_path, "probe")
        before = server.stats.requests
        assert fork_cli(["sync", "--service", "linear"], {**env, "DATABASE_URL": url},
                        tmp_path / "probe.log").wait(60) == 0
        full_listing = server.stats.requests - before
        for round_, target in enumerate((2, full_listing // 2, full_listing - 2)):
            url = _fresh(url, tmp_path, f"first{round_}")
            log = tmp_path / f"first{round_}.log"
            process = fork_cli(["sync", "--service", "linear"], {**env, "DATABASE_URL": url}, log)
            start = server.stats.requests
            if _kill_at(process, server, start, target, rng):
                landed.append(f"first sync at request {server.stats.requests - start}")
            assert duplicate_identities(url) == [], log.read_text()
            assert linear_cursor_violations(url, world) == [], (landed, log.read_text())

        url = _fresh(url, tmp_path, "carried")
        env["DATABASE_URL"] = url
        for round_ in range(3):
            if round_ == 1:
                world.mutate(0.1, seed=round_)
            args = ["sync", "--service", "linear"] + (["--full"] if round_ == 2 else [])
            log = tmp_path / f"carried{round_}.log"
            start = server.stats.requests
            process = fork_cli(args, env, log)
            if _kill_at(process, server, start, rng.randint(1, full_listing - 1), rng):
                landed.append(f"{' '.join(args[1:])} at request {server.stats.requests - start}")
            assert duplicate_identities(url) == [], log.read_text()
            assert linear_cursor_violations(url, world) == [], (landed, log.read_text())
        assert len(landed) >= 4, landed
        log = tmp_path / "final.log"
        assert fork_cli(["sync", "--service", "linear", "--full"], env, log).wait(120) == 0, \
            log.read_text()
    assert linear_differences(url, world) == {}
    assert duplicate_identities(url) == []
