"""Crashes: `gofap-import sync` killed with SIGKILL at random points (before the first request, in
the listing, between and inside pages of every partition, in full syncs) never leaves a cursor
ahead of the data it covers, never duplicates a row, and the next sync converges."""

import itertools
import random
import signal
import time
from pathlib import Path

import pytest

from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets.warehouse import Warehouse
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


@pytest.mark.slow
def test_sigkill_at_random_points_never_moves_a_cursor_past_its_data(
        database_url: str, tmp_path: Path) -> None:
    # The same paths on both warehouses; fewer rounds on PostgreSQL keep the suite quick.
    sqlite = database_url.startswith("sqlite")
    kills = 8 if sqlite else 4  # 12 in all, 11 of them while requests are in flight
    # Two normal repositories with three pages of issues and two of commits each.
    world = small_world(31, repos=2, issues_per_repo=230, commits_per_repo=150)
    home = prepare_dagster_home(tmp_path / "dagster_home", environ={}).path
    store = Warehouse(database_url)
    store.create_schema()  # `gofap-import init-db`
    store.dispose()
    rng = random.Random(31)
    landed: list[str] = []
    with github_sandbox(world, latency_ms=LATENCY_MS) as server:
        env = github_env(server, world, database_url, DAGSTER_HOME=str(home))
        before = server.stats.requests
        snapshot = api_snapshot(server, world)
        full_listing = server.stats.requests - before  # about what a first sync costs
        for round_ in itertools.count():
            if len(landed) == kills:
                break
            assert round_ < kills + 5, f"too few kills landed mid-sync: {landed}"
            if round_ == kills // 2:
                world.mutate(0.15, seed=round_)  # new work for the later rounds
                snapshot = api_snapshot(server, world)
            args = ["sync", "--service", "github"] + (["--full"] if round_ % 3 == 2 else [])
            log = tmp_path / f"round{round_}.log"
            start = server.stats.requests
            # The first rounds run the installed command; the rest a forked child of this
            # process, which dies the same way without importing Dagster afresh each time.
            launch = start_cli if round_ < 2 and sqlite else fork_cli
            process = launch(args, env, log)
            started = time.monotonic()
            if round_ == 0 and sqlite:  # in start-up, before the first request
                deadline = time.monotonic() + rng.uniform(0.3, 1.0)
                while time.monotonic() < deadline and process.poll() is None:
                    time.sleep(0.01)
                point = f"{time.monotonic() - started:.1f}s"
            else:  # after a number of requests the server has answered
                target = start + rng.randint(1, max(2, full_listing - 1))
                while server.stats.requests < target and process.poll() is None:
                    time.sleep(0.002)
                point = f"request {server.stats.requests - start}"
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                landed.append(f"{' '.join(args[1:])} at {point}")
            process.wait(timeout=30)  # reaped: the lock's holder is gone, not a zombie
            assert duplicate_identities(database_url) == [], log.read_text()
            assert cursor_violations(database_url, snapshot) == [], (landed, log.read_text())
        print("killed:", *landed, sep="\n  ")

        log = tmp_path / "final.log"
        assert fork_cli(["sync", "--service", "github", "--full"], env, log).wait(120) == 0, \
            log.read_text()
        assert github_differences(database_url, world) == {}
        assert duplicate_identities(database_url) == []
        assert cursor_violations(database_url, api_snapshot(server, world)) == []


@pytest.mark.slow
def test_sigkill_during_linear_syncs_never_moves_a_cursor_past_its_data(
        sqlite_url: str, tmp_path: Path) -> None:
    # Three teams of two pages each; the rounds kill listings, pages and teams in turn.
    world = linear_world(32, teams=3, issues_per_team=300)
    store = Warehouse(sqlite_url)
    store.create_schema()
    store.dispose()
    rng = random.Random(32)
    landed: list[str] = []
    with both_sandbox(small_world(32, repos=0), world, latency_ms=LATENCY_MS) as server:
        env = {**linear_env(server), "DATABASE_URL": sqlite_url}
        for round_ in itertools.count():
            if len(landed) == 4:
                break
            assert round_ < 9, f"too few kills landed mid-sync: {landed}"
            if round_ == 2:
                world.mutate(0.1, seed=round_)
            args = ["sync", "--service", "linear"] + (["--full"] if round_ == 3 else [])
            log = tmp_path / f"linear{round_}.log"
            start = server.stats.requests
            process = fork_cli(args, env, log)
            target = start + rng.randint(1, 9)
            while server.stats.requests < target and process.poll() is None:
                time.sleep(0.002)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                landed.append(f"{' '.join(args[1:])} at request {server.stats.requests - start}")
            process.wait(timeout=30)
            assert duplicate_identities(sqlite_url) == [], log.read_text()
            assert linear_cursor_violations(sqlite_url, world) == [], (landed, log.read_text())
        log = tmp_path / "final.log"
        assert fork_cli(["sync", "--service", "linear", "--full"], env, log).wait(120) == 0, \
            log.read_text()
    assert linear_differences(sqlite_url, world) == {}
    assert duplicate_identities(sqlite_url) == []
