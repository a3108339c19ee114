"""End to end on both warehouses and both Dagster storages: every command at LOG_LEVEL=DEBUG,
syncs of GitHub and Linear, deletions reconciled by `sync --full` (marked, kept, left out of the
views), and no secret anywhere: not in any output, the log file, the warehouse or Dagster's
storage."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets_tests.conftest import _PG_PROBLEM, PG_ADMIN_URL
from gofap_assets_tests.reliability.harness import (
    GITHUB_TOKEN,
    LINEAR_KEY,
    both_sandbox,
    duplicate_identities,
    fork_cli,
    github_differences,
    github_env,
    linear_differences,
    linear_env,
    linear_world,
    small_world,
)

WAREHOUSE_PASSWORD = "warehouse-pw-5ecret-91f2"
DAGSTER_PASSWORD = "dagster-pw-5ecret-4c1d"
SECRETS = (GITHUB_TOKEN, LINEAR_KEY, WAREHOUSE_PASSWORD, DAGSTER_PASSWORD)


@dataclass
class Setup:
    warehouse_url: str
    home: Path
    dagster_env: dict[str, str]
    dagster_db_url: str | None


def _create_database(prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return name, sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)


def _drop_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    """SQLite warehouse with SQLite Dagster storage, or PostgreSQL for both (each with a
    password: trust authentication ignores it, so only a leak would show it)."""
    home = tmp_path / "dagster_home"
    if request.param == "sqlite":
        prepare_dagster_home(home, environ={})
        yield Setup(f"sqlite:///{tmp_path / 'warehouse.db'}", home, {}, None)
        return
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    warehouse_db, warehouse_url = _create_database("gofap_e2e_wh")
    dagster_db, dagster_url = _create_database("gofap_e2e_dagster")
    pg = sa.engine.make_url(PG_ADMIN_URL)
    env = {"DAGSTER_PG_USERNAME": pg.username or "postgres", "DAGSTER_PG_HOST": pg.host or "",
           "DAGSTER_PG_PORT": str(pg.port or 5432), "DAGSTER_PG_DB": dagster_db,
           "DAGSTER_PG_PASSWORD": DAGSTER_PASSWORD}
    assert prepare_dagster_home(home, environ=env).storage == "postgres"
    url = sa.engine.make_url(warehouse_url).set(password=WAREHOUSE_PASSWORD)
    try:
        yield Setup(url.render_as_string(hide_password=False), home, env, dagster_url)
    finally:
        _drop_database(warehouse_db)
        _drop_database(dagster_db)


def _leaks(text: str) -> list[str]:
    return [secret[:12] + "..." for secret in SECRETS if secret in text]


def _database_text(url: str) -> str:
    """Every row of every table and view, as text."""
    engine = sa.create_engine(url)
    chunks = []
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names() + sa.inspect(conn).get_view_names()
        for name in names:
            if conn.dialect.name == "postgresql":
                rows = conn.execute(sa.text(f'SELECT t::text FROM "{name}" t')).scalars()
            else:
                rows = (repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
            chunks.extend(rows)
    engine.dispose()
    return "\n".join(chunks)


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace")
                     for p in folder.rglob("*") if p.is_file())


def _rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


@pytest.mark.slow
def test_every_command_on_both_warehouses_and_dagster_storages(
        setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    github, linear = small_world(71, repos=4, issues_per_repo=60, commits_per_repo=20), \
        linear_world(71)
    log_file = tmp_path / "logs" / "gofap.log"
    outputs: list[Path] = []

    def run(*args: str) -> str:
        out = tmp_path / f"{len(outputs):02d}-{args[0]}.out"
        outputs.append(out)
        code = fork_cli(list(args), env, out).wait(timeout=180)
        text = out.read_text()
        assert code == 0, f"{args}: exit {code}\n{text[-3000:]}"
        return text

    with both_sandbox(github, linear) as server:
        env = {**github_env(server, github, setup.warehouse_url), **linear_env(server),
               **setup.dagster_env, "DAGSTER_HOME": str(setup.home), "LOG_LEVEL": "DEBUG",
               "LOG_FILE": str(log_file), "MAX_RETRIES": "5"}
        run("init-db")
        config = run("config-info")
        assert "***" in config
        if setup.dagster_db_url:
            assert ":***@" in config and "DATABASE_URL" in config
        run("test-connections")
        run("sync")
        assert github_differences(setup.warehouse_url, github) == {}
        assert linear_differences(setup.warehouse_url, linear) == {}

        github_changes = github.mutate(0.2, seed=3, delete_repos=True)
        linear_changes = linear.mutate(0.2, seed=3)
        assert github_changes["repos_deleted"] and github_changes["repos_renamed"]
        assert github_changes["issues_deleted"] and linear_changes["deleted"]
        assert linear_changes["trashed"]
        assert all(linear_changes[kind] for kind in (
            "comments_added", "comments_edited", "comments_removed", "cycles_removed",
            "labels_renamed", "labels_removed"))
        run("sync")
        assert github_differences(setup.warehouse_url, github, ignore_deleted=True) == {}
        assert linear_differences(setup.warehouse_url, linear, ignore_deleted=True) == {}
        run("sync", "--full")
        run("status")
        listed = json.loads(run("list-data", "--format", "json", "--limit", "10000"))
        everything = json.loads(run("list-data", "--format", "json", "--limit", "10000",
                                    "--include-deleted"))

    # -- the data: exactly the world now; what vanished is marked, kept, and out of sight --
    url = setup.warehouse_url
    assert github_differences(url, github) == {}
    assert linear_differences(url, linear) == {}
    assert duplicate_identities(url) == []
    gone = {("github", t, i) for t, i in github.deleted_ids()} | {
        ("linear", t, i) for t, i in linear.deleted_keys()}
    old_names = set(github.renames())
    gone |= {("github", "commit", r.external_id) for r in _rows(
        url, "SELECT external_id FROM imported_data WHERE data_type = 'commit'")
        if r.external_id.split("@")[0] in old_names}
    marked = {tuple(r) for r in _rows(
        url, "SELECT source, data_type, external_id FROM imported_data "
             "WHERE deleted_at IS NOT NULL")}
    imported = {tuple(r) for r in _rows(
        url, "SELECT source, data_type, external_id FROM imported_data")}
    gone &= imported  # (a deleted repository's last changes were never imported)
    assert gone and marked == gone
    assert {"issue_comment", "review_comment", "pull_request_review", "label", "milestone",
            "release"} <= {t for s, t, _ in gone if s == "github"}
    assert {t for s, t, _ in gone if s == "linear"} >= {"issue", "comment", "cycle", "label"}
    visible = {(r["source"], r["data_type"], r["external_id"]) for r in listed}
    assert not visible & gone and gone <= {(r["source"], r["data_type"], r["external_id"])
                                          for r in everything}
    views = {"github_repositories": "repository", "github_issues": "issue",
             "github_pull_requests": "pull_request", "github_commits": "commit",
             "github_issue_comments": "issue_comment", "github_review_comments":
             "review_comment", "github_pull_request_reviews": "pull_request_review",
             "github_labels": "label", "github_milestones": "milestone",
             "github_releases": "release",
             "linear_issues": "issue", "linear_comments": "comment", "linear_cycles": "cycle",
             "linear_workflow_states": "workflow_state", "linear_labels": "label"}
    for view, data_type in views.items():
        source = view.split("_")[0]
        in_view = {r[0] for r in _rows(url, f"SELECT external_id FROM {view}")}
        assert not {(source, data_type, i) for i in in_view} & gone, view
        live = {r[0] for r in _rows(url, f"SELECT external_id FROM imported_data WHERE source = "
                                         f"'{source}' AND data_type = '{data_type}' AND "
                                         "deleted_at IS NULL")}
        assert in_view == live, view
    renamed = set(github.renames().values())
    assert renamed <= {r[0] for r in _rows(url, "SELECT full_name FROM github_repositories")}
    # Trashed Linear issues stay visible, flagged (restorable for 30 days); deleted ones do not.
    trashed = {r.external_id for r in linear.expected_rows() if r.data_type == "issue"
               and r.trashed}
    flagged = {r[0] for r in _rows(url, "SELECT external_id FROM linear_issues WHERE trashed")}
    assert trashed and trashed == flagged

    # -- Dagster kept the runs, the materializations and the current partitions --
    monkeypatch.setenv("DAGSTER_HOME", str(setup.home))
    for name, value in setup.dagster_env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) >= 12 and all(r.is_success for r in runs), \
            [(r.run_id, r.status) for r in runs if not r.is_success]
        assert instance.get_latest_materialization_event(dg.AssetKey("linear_issues"))
        repositories = set(instance.get_dynamic_partitions("github_repositories"))
        assert repositories == {r.full_name for r in github.repositories()}

    # -- and no secret anywhere --
    texts = {out.name: out.read_text() for out in outputs}
    texts["LOG_FILE"] = log_file.read_text()
    texts["warehouse"] = _database_text(url)
    texts["DAGSTER_HOME"] = _files_text(setup.home)
    if setup.dagster_db_url:
        texts["dagster storage"] = _database_text(setup.dagster_db_url)
    assert texts["LOG_FILE"] and any(" - DEBUG - " in text for text in texts.values())
    assert {name: leaks for name, text in texts.items() if (leaks := _leaks(text))} == {}
