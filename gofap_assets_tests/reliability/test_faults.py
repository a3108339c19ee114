"""Faults on the wire: every fault profile, over many seeds, still ends with the warehouse equal to
the sandbox's ground truth (nothing lost, nothing duplicated); where retries run out the sync
says so, exits 1, and the next sync completes the data."""

import multiprocessing
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.sandbox.faults import FaultProfile
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.conftest import _reset_postgres as reset_postgres
from gofap_assets_tests.groundtruth import warehouse_rows
from gofap_assets_tests.reliability.harness import (
    Sleeps,
    apply_env,
    both_sandbox,
    direct_sync,
    duplicate_identities,
    github_client,
    github_differences,
    github_env,
    github_sandbox,
    linear_client,
    linear_differences,
    linear_direct_sync,
    linear_world,
    small_world,
)

SEEDS = range(20)
GITHUB_PROFILES = ["5xx", "secondary", "primary", "dropped", "truncated", "slow", "chaos"]
LINEAR_PROFILES = ["5xx", "linear-ratelimited", "dropped", "truncated", "slow", "chaos"]
"""GitHub's two rate limits are GitHub's; Linear answers those draws normally."""
QUICK = {"retry_after_seconds": 0.01, "reset_after_seconds": 0.0, "slow_seconds": 0.6}
"""Rate limits that ask for (almost) no wait and slow answers just past the client's timeout."""
TIMEOUT = 0.25
"""Short enough that a slow answer costs little, long enough that a loaded CI box is not slow."""


def _converge(profile: str, seed: int, folder: Path, waits: Sleeps) -> dict[str, int]:
    """First sync, a mutation, an incremental sync and a full one, all under the faults."""
    world = small_world(seed)
    url = f"sqlite:///{folder / f'seed{seed}.db'}"
    store = Warehouse(url)
    store.create_schema()
    faults = FaultProfile.named(profile, seed, **QUICK)
    with github_sandbox(world, faults=faults) as server:
        client = github_client(server, world, sleep=waits, max_retries=6,
                               timeout=TIMEOUT if profile in ("slow", "chaos") else 10)
        try:
            assert direct_sync(client, store) == [], f"seed {seed}"
            assert github_differences(url, world) == {}, f"seed {seed}: first sync"
            world.mutate(0.2, seed=seed)
            assert direct_sync(client, store) == [], f"seed {seed}"
            assert github_differences(url, world, ignore_deleted=True) == {}, \
                f"seed {seed}: incremental sync"
            assert direct_sync(client, store, full=True) == [], f"seed {seed}"
            assert github_differences(url, world) == {}, f"seed {seed}: full sync"
        finally:
            client.close()
            store.dispose()
        assert duplicate_identities(url) == []
        return server.stats.faults


def _seed_batch(service: str, profile: str, seeds: list[int],
                folder: Path) -> tuple[dict[str, int], list[float]]:
    """Some seeds, in a worker process; in threads within it, so timeouts overlap."""
    converge = _converge if service == "github" else _converge_linear
    waits, faults = Sleeps(), Counter[str]()
    with ThreadPoolExecutor(2) as pool:
        for seen in pool.map(lambda seed: converge(profile, seed, folder, waits), seeds):
            faults.update(seen)
    return dict(faults), list(waits)


def _every_seed(service: str, profile: str, folder: Path) -> tuple[Counter[str], list[float]]:
    """All the seeds on both cores: two forked workers (one process is bound by its GIL)."""
    faults, waits = Counter[str](), []
    halves = [list(SEEDS)[0::2], list(SEEDS)[1::2]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        for seen, waited in pool.map(_seed_batch, [service] * 2, [profile] * 2, halves,
                                     [folder] * 2):
            faults.update(seen)
            waits += waited
    return faults, waits


@pytest.mark.parametrize("profile", GITHUB_PROFILES)
def test_every_seed_of_a_fault_profile_converges_to_the_ground_truth(
        tmp_path: Path, profile: str) -> None:
    faults_seen, waits = _every_seed("github", profile, tmp_path)
    assert sum(faults_seen.values()) >= len(SEEDS), f"too few faults to prove much: {faults_seen}"
    assert len(faults_seen) >= (5 if profile == "chaos" else 1), faults_seen
    assert len(waits) >= len(SEEDS), "faults cost retries or waits"  # (a cut 304 costs none)
    if profile == "secondary":
        assert all(w == pytest.approx(0.01) for w in waits)  # exactly what retry-after said
    if profile == "primary":
        assert all(0 < w <= 2.0 for w in waits)  # until x-ratelimit-reset, plus a second


def _converge_linear(profile: str, seed: int, folder: Path, waits: Sleeps) -> dict[str, int]:
    world = linear_world(seed)
    url = f"sqlite:///{folder / f'linear{seed}.db'}"
    store = Warehouse(url)
    store.create_schema()
    faults = FaultProfile.named(profile, seed, **QUICK)
    with both_sandbox(small_world(seed, repos=0), world, faults=faults) as server:
        client = linear_client(server, sleep=waits, max_retries=6,
                               timeout=TIMEOUT if profile in ("slow", "chaos") else 10)
        try:
            assert linear_direct_sync(client, store) == [], f"seed {seed}"
            assert linear_differences(url, world) == {}, f"seed {seed}: first sync"
            world.mutate(0.2, seed=seed)
            assert linear_direct_sync(client, store) == [], f"seed {seed}"
            assert linear_differences(url, world, ignore_deleted=True) == {}, \
                f"seed {seed}: incremental sync"
            assert linear_direct_sync(client, store, full=True) == [], f"seed {seed}"
            assert linear_differences(url, world) == {}, f"seed {seed}: full sync"
        finally:
            client.close()
            store.dispose()
        assert duplicate_identities(url) == []
        return server.stats.faults


@pytest.mark.parametrize("profile", LINEAR_PROFILES)
def test_every_seed_of_a_linear_fault_profile_converges_to_the_ground_truth(
        tmp_path: Path, profile: str) -> None:
    faults_seen, waits = _every_seed("linear", profile, tmp_path)
    assert sum(faults_seen.values()) >= len(SEEDS), f"too few faults to prove much: {faults_seen}"
    assert len(waits) >= len(SEEDS), "faults cost retries or waits"


@pytest.mark.parametrize("profile", ["primary", "slow", "chaos"])
def test_the_cli_sync_converges_under_real_waits_and_timeouts(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    world = small_world(101, issues_per_repo=10, commits_per_repo=5)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    faults = FaultProfile.named(profile, 7, **QUICK)
    with github_sandbox(world, faults=faults) as server:
        apply_env(monkeypatch, github_env(server, world, url, MAX_RETRIES="6",
                                          TIMEOUT_SECONDS=str(TIMEOUT)))
        assert main(["sync", "--service", "github"]) == 0, capsys.readouterr()
        assert server.stats.faults, "no fault was injected"
    assert github_differences(url, world) == {}
    out = capsys.readouterr().out
    assert "github: done" in out and "FAILED" not in out


def _seed_sparing_the_listing(rate: float) -> int:
    """A fault seed whose first draw is clean (the server draws once per request, in order), so
    the repository listing succeeds and the failures land on the per-repository partitions."""
    return next(seed for seed in range(1000) if random.Random(seed).random() >= rate)


RUN_OUT = "persisted after 0 retries (MAX_RETRIES)"


@pytest.mark.parametrize(("profile", "settings", "named", "where", "backend"), [
    ("5xx", {"MAX_RETRIES": "0"}, RUN_OUT, "listing", "sqlite"),
    pytest.param("5xx", {"MAX_RETRIES": "0"}, RUN_OUT, "partitions", "postgresql",
                 marks=pytest.mark.postgres),
    ("dropped", {"MAX_RETRIES": "0"}, RUN_OUT, "partitions", "sqlite"),
    ("truncated", {"MAX_RETRIES": "0"}, RUN_OUT, "partitions", "sqlite"),
])
def test_when_retries_run_out_the_sync_fails_by_name_and_the_next_one_completes(
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        profile: str, settings: dict[str, str], named: str, where: str, backend: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        database_url = request.getfixturevalue("postgres_server_url")
        reset_postgres(database_url)
    world = small_world(5, repos=2)
    rate = {"5xx": "error_5xx", "dropped": "dropped_connection", "truncated": "truncated_body",
            "primary": "primary_exhaustion"}[profile]
    seed = 3 if where == "listing" else _seed_sparing_the_listing(0.3)
    faults = FaultProfile.named(profile, seed, **{**QUICK, rate: 0.3})
    with github_sandbox(world, faults=faults) as server:
        apply_env(monkeypatch, github_env(server, world, database_url, **settings))
        assert main(["sync", "--service", "github"]) == 1
        out = capsys.readouterr().out
        assert "FAILED" in out and named in out and "finished with failures" in out
        if where == "listing":
            assert "github_repositories: FAILED" in out
        else:  # the failed partitions are named; the others' data is kept
            assert "github_repositories: 5 new" in out and "partitions failed: acme/" in out
            assert warehouse_rows(database_url, "github")
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            failures, error = conn.execute(sa.text(
                "SELECT failure_count, last_error FROM sync_status WHERE service = 'github'")).one()
        engine.dispose()
        assert failures >= 1 and named.split(" (")[0] in error

        server.faults = FaultProfile.named(profile, 4, **QUICK)  # the usual, lower rate
        apply_env(monkeypatch, github_env(server, world, database_url, MAX_RETRIES="8"))
        assert main(["sync", "--service", "github"]) == 0, capsys.readouterr().out
    assert github_differences(database_url, world) == {}
    assert duplicate_identities(database_url) == []


def test_a_rate_limit_longer_than_the_wait_defers_cleanly_and_the_next_sync_completes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A primary limit whose reset is further than GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS is not a
    failure: the partitions it stops are deferred (exit 0) and the next sync completes."""
    database_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    world = small_world(5, repos=2)
    seed = _seed_sparing_the_listing(0.3)
    faults = FaultProfile.named("primary", seed, **{**QUICK, "primary_exhaustion": 0.3})
    with github_sandbox(world, faults=faults) as server:
        apply_env(monkeypatch, github_env(server, world, database_url,
                                          GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS="0"))
        assert main(["sync", "--service", "github"]) == 0
        out = capsys.readouterr().out
        assert "FAILED" not in out and "partition(s) deferred" in out
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            deferred = conn.execute(sa.text(
                "SELECT COUNT(*) FROM sync_partitions WHERE deferred_until IS NOT NULL")).scalar()
            failures = conn.execute(sa.text(
                "SELECT failure_count FROM sync_status WHERE service = 'github'")).scalar()
        engine.dispose()
        assert deferred and failures == 0

        server.faults = FaultProfile.named("primary", 4, **QUICK)  # the usual, lower rate
        apply_env(monkeypatch, github_env(server, world, database_url))
        assert main(["sync", "--service", "github"]) == 0, capsys.readouterr().out
    assert github_differences(database_url, world) == {}
    assert duplicate_identities(database_url) == []
