"""Shared machinery for the reliability tests: sandboxes, a Dagster-free sync driver, the CLI as a
subprocess, and the invariants every broken sync must still keep."""

import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gofap_assets.github.client import GitHubClient
from gofap_assets.github.models import commit_record
from gofap_assets.github.sync import (
    COMMITS,
    ISSUE_COMMENTS,
    ISSUES,
    PULL_REQUESTS,
    REPOSITORY_ENDPOINTS,
    REVIEW_COMMENTS,
    Endpoint,
    sync_pull_request_reviews,
    sync_repositories,
    sync_repository_endpoint,
)
from gofap_assets.http import ApiError
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.sync import CURSOR_OVERLAP as LINEAR_OVERLAP
from gofap_assets.linear.sync import (
    sync_labels,
    sync_projects,
    sync_team_comments,
    sync_team_cycles,
    sync_team_issues,
    sync_team_workflow_states,
    sync_teams,
    sync_users,
)
from gofap_assets.sandbox.faults import FaultProfile
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.sandbox.linear import LinearApp, LinearWorld
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import imported_data
from gofap_assets_tests.groundtruth import differences, expected, warehouse_rows

GITHUB_TOKEN = "ghp_RELIABILITY0secret0token0d41d8cd98f"
LINEAR_KEY = "lin_api_RELIABILITY0secret0key0e3b0c44298"
ENDPOINTS = (ISSUES, PULL_REQUESTS, COMMITS, ISSUE_COMMENTS, REVIEW_COMMENTS)
"""The listings whose cursor is an item timestamp (what `cursor_violations` can judge)."""
GOFAP_CLI = str(Path(sys.executable).with_name("gofap-import"))
_OUR_VARS = ("GITHUB_", "LINEAR_", "GOFAP_", "DAGSTER_", "DATABASE_URL", "LOG_LEVEL", "LOG_FILE",
             "MAX_RETRIES", "TIMEOUT_SECONDS", "SYNC_INTERVAL_MINUTES")


def small_world(seed: int, **options: Any) -> GitHubWorld:
    """One normal repository plus the three special ones (archived, empty, issues disabled)."""
    sizes = {"repos": 1, "issues_per_repo": 25, "commits_per_repo": 12}
    return GitHubWorld(seed, **{**sizes, **options})


@contextmanager
def github_sandbox(world: GitHubWorld, *, faults: FaultProfile | None = None,
                   latency_ms: float = 0.0) -> Iterator[SandboxServer]:
    with SandboxServer({"/github": GitHubApp(world, token=GITHUB_TOKEN)}, faults=faults,
                       latency_ms=latency_ms) as server:
        yield server


def linear_world(seed: int, **options: Any) -> LinearWorld:
    """Two teams, one page of issues each (with archived and trashed ones)."""
    sizes = {"teams": 2, "issues_per_team": 40, "users": 6, "projects": 3}
    return LinearWorld(seed, **{**sizes, **options})


@contextmanager
def both_sandbox(github: GitHubWorld, linear: LinearWorld, *,
                 faults: FaultProfile | None = None,
                 latency_ms: float = 0.0) -> Iterator[SandboxServer]:
    apps = {"/github": GitHubApp(github, token=GITHUB_TOKEN),
            "/linear": LinearApp(linear, api_key=LINEAR_KEY)}
    with SandboxServer(apps, faults=faults, latency_ms=latency_ms) as server:
        yield server


def linear_env(server: SandboxServer) -> dict[str, str]:
    return {"LINEAR_API_URL": f"{server.url}/linear/graphql", "LINEAR_API_KEY": LINEAR_KEY}


def github_env(server: SandboxServer, world: GitHubWorld, database_url: str,
               **extra: str) -> dict[str, str]:
    """Variables pointing the importer at the sandbox (GitHub only)."""
    return {"GITHUB_API_URL": f"{server.url}/github", "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_ORG": world.org, "DATABASE_URL": database_url, **extra}


def apply_env(monkeypatch: Any, values: Mapping[str, str]) -> None:
    """Replace every importer variable in this process's environment with `values`."""
    for name in list(os.environ):
        if name.startswith(_OUR_VARS):
            monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def child_env(values: Mapping[str, str]) -> dict[str, str]:
    """The environment for a `gofap-import` subprocess: ours, without the caller's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_VARS)}
    env.pop("PYTEST_CURRENT_TEST", None)
    return {**env, **values}


def run_cli(args: list[str], env: Mapping[str, str], *,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOFAP_CLI, *args], env=child_env(env), capture_output=True,
                          text=True, timeout=timeout, check=False)


def start_cli(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A `gofap-import` process writing stdout and stderr to `log`."""
    handle = log.open("ab")
    try:
        return subprocess.Popen([GOFAP_CLI, *args], env=child_env(env), stdout=handle,
                                stderr=subprocess.STDOUT)
    finally:
        handle.close()


class ForkedCli:
    """`gofap-import` in a forked child of the test process: a separate process to kill, without
    the seconds a fresh interpreter spends importing Dagster. Mirrors `subprocess.Popen`."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        log.touch()
        self._process = multiprocessing.get_context("fork").Process(
            target=_forked_main, args=(list(args), child_env(env), str(log)), daemon=False)
        self._process.start()
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("gofap-import (forked)", timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self._process.pid, sig)


def _forked_main(args: list[str], env: dict[str, str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    from gofap_assets.cli.main import main

    try:
        code = main(args)
    except BaseException:  # a crash is a result here, reported like the real CLI would
        import traceback

        traceback.print_exc()
        code = 70
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fork_cli(args: list[str], env: Mapping[str, str], log: Path) -> ForkedCli:
    return ForkedCli(args, env, log)


# -- a sync without Dagster: the same functions the assets call, in the same thread pool shape --


class Sleeps(list[float]):
    """Records the waits the HTTP layer asks for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def github_client(server: SandboxServer, world: GitHubWorld, *, sleep: Callable[[float], None],
                  timeout: float = 5.0, max_retries: int = 3) -> GitHubClient:
    return GitHubClient.create(token=GITHUB_TOKEN, api_url=f"{server.url}/github",
                               org=world.org, timeout=timeout, max_retries=max_retries,
                               sleep=sleep)


def direct_sync(client: GitHubClient, warehouse: Warehouse, *, full: bool = False,
                concurrency: int = 4) -> list[str]:
    """Listing, then every (repository, endpoint) in a pool, then every repository's reviews
    (which follow the pull requests just written); returns the failures' messages."""
    try:
        listing = sync_repositories(client, warehouse, full=full)
    except ApiError as exc:
        return [f"listing: {exc}"]
    work = [(name, endpoint) for name in listing.names for endpoint in REPOSITORY_ENDPOINTS]

    def one(job: tuple[str, Endpoint]) -> str | None:
        name, endpoint = job
        try:
            sync_repository_endpoint(client, warehouse, endpoint, name, full=full)
        except ApiError as exc:
            return f"{name} {endpoint.data_type}: {exc}"
        return None

    def reviews(name: str) -> str | None:
        try:
            sync_pull_request_reviews(client, warehouse, name, full=full)
        except ApiError as exc:
            return f"{name} pull_request_review: {exc}"
        return None

    with ThreadPoolExecutor(concurrency) as pool:
        errors = [error for error in pool.map(one, work) if error]
        return errors + [error for error in pool.map(reviews, listing.names) if error]


def linear_client(server: SandboxServer, *, sleep: Callable[[float], None],
                  timeout: float = 5.0, max_retries: int = 3) -> LinearClient:
    return LinearClient.create(api_key=LINEAR_KEY, api_url=f"{server.url}/linear/graphql",
                               timeout=timeout, max_retries=max_retries, sleep=sleep)


def linear_direct_sync(client: LinearClient, warehouse: Warehouse, *, full: bool = False,
                       concurrency: int = 4) -> list[str]:
    """The Linear listings, then every team's issues, comments, cycles and workflow states in a
    pool; returns the failures."""
    try:
        teams = sync_teams(client, warehouse, full=full)
        sync_users(client, warehouse, full=full)
        sync_projects(client, warehouse, full=full)
        sync_labels(client, warehouse, full=full)
    except ApiError as exc:
        return [f"listing: {exc}"]

    def one(key: str) -> str | None:
        try:
            sync_team_issues(client, warehouse, key, full=full)
            sync_team_comments(client, warehouse, key, full=full)
            sync_team_cycles(client, warehouse, key, full=full)
            sync_team_workflow_states(client, warehouse, key, full=full)
        except ApiError as exc:
            return f"{key}: {exc}"
        return None

    with ThreadPoolExecutor(concurrency) as pool:
        return [error for error in pool.map(one, teams.keys) if error]


def linear_differences(database_url: str, world: LinearWorld, *,
                       ignore_deleted: bool = False) -> dict[str, list[Any]]:
    """Warehouse vs the world, parent keys (teams) included; `ignore_deleted` forgives rows
    only a full sync can mark."""
    actual = warehouse_rows(database_url, "linear", parents=True)
    if ignore_deleted:
        gone = world.deleted_keys()
        actual = {k: v for k, v in actual.items() if k[1:] not in gone}
    return differences(actual, expected(world.expected_rows(), parents=True))


# -- ground truth and invariants ----------------------------------------------------------------


def github_differences(database_url: str, world: GitHubWorld, *,
                       ignore_deleted: bool = False) -> dict[str, list[Any]]:
    """Warehouse vs the world; `ignore_deleted` forgives rows only a full sync can mark."""
    actual = warehouse_rows(database_url, "github")
    if ignore_deleted:
        gone = world.deleted_ids()
        actual = {k: v for k, v in actual.items() if k[1:] not in gone}
    return differences(actual, expected(world.expected_rows()))


def duplicate_identities(database_url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source, data_type, external_id, COUNT(*) FROM imported_data "
            "GROUP BY source, data_type, external_id HAVING COUNT(*) > 1")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@dataclass(frozen=True)
class ApiItem:
    data_type: str
    partition: str
    external_id: str
    updated_at: datetime
    version: tuple[Any, ...]
    """What the item's own update time versions: its mapped columns and that time. (Not its raw
    JSON: a pull request embeds its repository, which changes without the PR's `updated_at`.)"""


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def api_snapshot(server: SandboxServer, world: GitHubWorld) -> list[ApiItem]:
    """Every item the API serves now, with the timestamp its incremental filter compares.

    Read from the same server as the syncs (its address is part of every object's URLs)."""
    items: list[ApiItem] = []
    client = github_client(server, world, sleep=lambda _s: None, max_retries=10)
    try:
        for repo in world.repositories():
            name = repo.full_name
            for endpoint in ENDPOINTS:
                path = endpoint.path.format(repo=name)
                accept = frozenset(endpoint.empty_statuses) | {404, 403, 451}
                for response in client.pages(path, endpoint.params, accept_statuses=accept):
                    if response.status != 200:
                        break
                    for raw in response.data:
                        record = endpoint.mapper(raw, name)
                        if record is None:
                            continue
                        stamp = (raw["commit"]["committer"]["date"]
                                 if endpoint.mapper is commit_record else raw["updated_at"])
                        items.append(ApiItem(endpoint.data_type, name, record.external_id,
                                             _parse(stamp), _version(record)))
    finally:
        client.close()
    return items


def _version(row: Any) -> tuple[Any, ...]:
    return (row.title, row.state, row.description, row.external_updated_at)


def cursor_violations(database_url: str, snapshot: list[ApiItem]) -> list[str]:
    """Items a partition's cursor claims are committed (older than the cursor) but are not.

    An incremental sync asks only for what changed at or after the cursor, so anything older
    that the warehouse lacks (or holds in another version) would never be read again.
    """
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        cursors = {(r[0], r[1]): r[2] for r in conn.execute(sa.text(
            "SELECT data_type, partition_key, cursor FROM sync_partitions "
            "WHERE source = 'github' AND cursor IS NOT NULL"))}
        stored = {(r.data_type, r.external_id): _version(r) for r in conn.execute(sa.select(
            imported_data.c.data_type, imported_data.c.external_id, imported_data.c.title,
            imported_data.c.state, imported_data.c.description,
            imported_data.c.external_updated_at).where(
            imported_data.c.source == "github", imported_data.c.deleted_at.is_(None)))}
    engine.dispose()
    problems = []
    for item in snapshot:
        cursor = cursors.get((item.data_type, item.partition))
        if cursor is None or item.updated_at >= _parse(cursor):
            continue
        have = stored.get((item.data_type, item.external_id))
        if have != item.version:
            state = "missing" if have is None else "stale"
            problems.append(f"{item.data_type} {item.external_id} of {item.partition} "
                            f"(updated {item.updated_at:%H:%M:%S}) is {state} behind cursor "
                            f"{cursor}")
    return problems


def linear_cursor_violations(database_url: str, world: LinearWorld) -> list[str]:
    """Linear's rule: the next read asks for `updatedAt >= cursor - overlap`, so everything
    older than that must already be in the warehouse, as it is now."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        cursors = {(r[0], r[1]): _parse(r[2]) for r in conn.execute(sa.text(
            "SELECT data_type, partition_key, cursor FROM sync_partitions "
            "WHERE source = 'linear' AND cursor IS NOT NULL"))}
        stored = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(sa.text(
            "SELECT data_type, external_id, title, state, description FROM imported_data "
            "WHERE source = 'linear' AND deleted_at IS NULL"))}
    engine.dispose()
    problems = []
    for row in world.expected_rows():
        partition = row.team_key if row.data_type in ("issue", "comment") else "*"
        cursor = cursors.get((row.data_type, partition))
        if cursor is None or _parse(row.external_updated_at) >= cursor - LINEAR_OVERLAP:
            continue
        if stored.get((row.data_type, row.external_id)) != (row.title, row.state,
                                                            row.description):
            problems.append(f"{row.data_type} {row.external_id} of {partition} (updated "
                            f"{row.external_updated_at}) is missing or stale behind {cursor}")
    return problems


def table_counts(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        counts = {name: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                  for name in names}
    engine.dispose()
    return counts
