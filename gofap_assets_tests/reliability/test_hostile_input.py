"""Hostile input: `list-data` filters and partition keys with SQL metacharacters, quotes, unicode
and very long values are data, never SQL."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.config import Settings
from gofap_assets.definitions import build_definitions
from gofap_assets.github.sync import ISSUES, InvalidPartitionKey, sync_repository_endpoint
from gofap_assets.linear.sync import validate_team_key
from gofap_assets.sandbox.app import Request
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.sync_runner import RANGE_END, RANGE_START
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets_tests.reliability.harness import (
    GITHUB_TOKEN,
    Sleeps,
    apply_env,
    github_client,
    github_env,
    github_sandbox,
    small_world,
    table_counts,
)

NOW = datetime(2026, 5, 1, tzinfo=UTC)
TITLES = ["100% done", "100 percent", "a_b", "axb", "it's here", "O'Brien", 'say "hi"',
          "back\\slash", "Ünïcödé 😀 title", "'; DROP TABLE imported_data; --", "x" * 10_000,
          "plain"]
NEEDLES = ["%", "_", "100%", "a_b", "'", "''", '"', "\\", "'; DROP TABLE imported_data; --",
           "' OR '1'='1", "Ünïcödé", "😀", "x" * 5_000, "x" * 20_000, "PLAIN", "%' --",
           "\\%", "[a-z]*", "$1", ":title", "?"]
HOSTILE_KEYS = ["acme/x'; DROP TABLE imported_data; --", "acme/\" OR 1=1 --", "acme/%_*",
                "acme/ünïcödé", "acme/" + "a" * 300, "acme/..", "../../etc/passwd",
                "acme/a b", "acme/$(rm -rf /)", "acme/api?state=open"]


def _seed(store: Warehouse) -> None:
    records = [Record(source="github", data_type="issue", external_id=str(i),
                      parent_key="acme/api", title=title, description=None, state="open",
                      external_created_at=NOW, external_updated_at=NOW, raw_data={"id": i},
                      processed_data={"id": i}) for i, title in enumerate(TITLES)]
    store.write(Batch("github", "issue", "acme/api", records))


def _matches(title: str, needle: str) -> bool:
    """Case-insensitive for ASCII letters (SQLite's lower() folds only those), exact otherwise."""
    if needle.isascii():
        return needle.lower() in title.lower()
    return needle in title


def test_list_data_filters_are_data_never_sql(monkeypatch: pytest.MonkeyPatch,
                                              database_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    apply_env(monkeypatch, {"DATABASE_URL": database_url})
    store = Warehouse(database_url)
    store.create_schema()
    _seed(store)
    before = table_counts(database_url)
    for needle in NEEDLES:
        assert main(["list-data", "--search", needle, "--format", "json",
                     "--limit", "100"]) == 0, needle
        found = {row["title"] for row in json.loads(capsys.readouterr().out)}
        assert found == {t for t in TITLES if _matches(t, needle)}, needle
    for option in ("--type", "--state", "--source"):
        for needle in NEEDLES[:12]:
            code = main(["list-data", option, needle, "--format", "json"]) if option != \
                "--source" else None
            if code is None:  # --source has fixed choices: argparse refuses the rest
                with pytest.raises(SystemExit) as info:
                    main(["list-data", option, needle])
                assert info.value.code == 2
            elif option == "--type":  # only the known types: the rest is refused, not queried
                out = capsys.readouterr()
                assert code == 2 and out.out == "" and "not a known data type" in out.err, needle
            else:
                assert code == 0 and json.loads(capsys.readouterr().out) == [], needle
    for bad in ("'; DROP TABLE imported_data; --", "2026-13-01", "x" * 10_000):
        assert main(["list-data", "--since", bad]) == 2
    capsys.readouterr()
    assert table_counts(database_url) == before
    store.dispose()


def test_hostile_partition_keys_never_reach_sql_or_the_api() -> None:
    world = small_world(61)
    waits = Sleeps()
    with github_sandbox(world) as server:
        client = github_client(server, world, sleep=waits)
        store = Warehouse("sqlite://")  # never touched: validation comes first
        try:
            for key in HOSTILE_KEYS:
                with pytest.raises(InvalidPartitionKey):
                    sync_repository_endpoint(client, store, ISSUES, key)
                with pytest.raises(ValueError, match="team key"):
                    validate_team_key(key)
        finally:
            client.close()
        assert server.stats.requests == 0


def test_hostile_partition_keys_fail_alone_and_are_recorded_verbatim(
        monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """Partition keys a user (or a broken listing) put into Dagster: each fails on its own, is
    stored exactly as given in `sync_partitions`, and the good partition's data lands."""
    world = small_world(62)
    good = f"{world.org}/{world.repositories()[0].name}"
    with github_sandbox(world) as server, dg.instance_for_test() as instance:
        apply_env(monkeypatch, github_env(server, world, database_url))
        defs = build_definitions(Settings.from_env())
        keys = [good, *HOSTILE_KEYS]
        instance.add_dynamic_partitions("github_repositories", keys)
        result = dg.materialize(
            list(defs.assets or []), selection=["github_issues"], instance=instance,
            resources=dict(defs.resources or {}), raise_on_error=False,
            tags={RANGE_START: keys[0], RANGE_END: keys[-1]})
    assert not result.success
    store = Warehouse(database_url)
    with store.engine.connect() as conn:
        recorded = dict(conn.execute(sa.text(
            "SELECT partition_key, last_error FROM sync_partitions WHERE data_type = 'issue'"
        )).all())
        tables = set(sa.inspect(conn).get_table_names())
    assert recorded[good] is None
    for key in HOSTILE_KEYS:
        stored = key if key in recorded else key[:255]
        assert "not a repository partition key" in recorded[stored]
    assert {"imported_data", "sync_partitions", "import_errors"} <= tables
    assert store.live_count("github", "issue") > 0
    store.dispose()


class RenamingOneRepository:
    """The GitHub emulator, except that the listing calls one repository by a hostile name."""

    def __init__(self, world: GitHubWorld, name: str) -> None:
        self.inner = GitHubApp(world, token=GITHUB_TOKEN)
        self.world, self.name = world, name

    def handle(self, request: Request) -> Any:
        response = self.inner.handle(request)
        if response.status == 200 and request.path.endswith("/repos"):
            repos = json.loads(response.body)
            repos[0]["full_name"] = self.name
            response.body = json.dumps(repos).encode()
        return response


@pytest.mark.parametrize("name", ["acme/x';DROP--", "acme/%_*", "acme/ünïcödé",
                                  "acme/" + "a" * 300])
def test_a_listed_repository_with_a_hostile_name_is_quarantined(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str, name: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    world = small_world(63, repos=2)
    with SandboxServer({"/github": RenamingOneRepository(world, name)}) as server:
        apply_env(monkeypatch, github_env(server, world, sqlite_url))
        assert main(["sync", "--service", "github"]) == 0
    out = capsys.readouterr().out
    assert "github_repositories: " in out and " 1 quarantined" in out
    store = Warehouse(sqlite_url)
    with store.engine.connect() as conn:
        reason = conn.execute(sa.text("SELECT reason FROM import_errors")).scalar_one()
        keys = set(conn.execute(sa.text("SELECT DISTINCT partition_key FROM sync_partitions "
                                        "WHERE data_type = 'issue'")).scalars())
    store.dispose()
    assert "not a repository partition key" in reason or "full_name" in reason
    assert name not in keys and len(keys) == 4  # the other repositories were synced
