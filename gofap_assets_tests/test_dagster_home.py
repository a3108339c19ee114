"""The Dagster instance configuration: SQLite by default, PostgreSQL from DAGSTER_PG_*, tested on
the real server by materializing an asset into it and reading it back."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import respx
import sqlalchemy as sa
import yaml

from gofap_assets.cli import commands, main
from gofap_assets.config import ConfigError
from gofap_assets.dagster_home import MARKER, instance_config, prepare_dagster_home
from gofap_assets_tests.conftest import _PG_PROBLEM, PG_ADMIN_URL
from gofap_assets_tests.orchestration import configure_env, definitions, mock_github

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = {"DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "s3cret-pg-password",
          "DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_DB": "dagster"}


@pytest.fixture(autouse=True)
def no_pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*PG_ENV, "DAGSTER_PG_PORT", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)


def test_the_repository_dagster_yaml_is_the_sqlite_variant() -> None:
    shipped = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    assert shipped == instance_config({})
    assert "storage" not in shipped, "SQLite under DAGSTER_HOME is Dagster's default"
    assert shipped["telemetry"] == {"enabled": False}


def test_a_sqlite_home_loads_with_a_limit_per_pool(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = prepare_dagster_home(tmp_path / "home", {})
    assert home.storage == "sqlite" and home.written
    monkeypatch.setenv("DAGSTER_HOME", str(home.path))
    instance = dg.DagsterInstance.get()
    try:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity is not None and pools.pool_granularity.value == "run"
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    finally:
        instance.dispose()


def test_the_postgres_variant_names_variables_never_values(tmp_path: Path) -> None:
    home = prepare_dagster_home(tmp_path, {**PG_ENV, "DAGSTER_PG_PORT": "6432"})
    text = (home.path / "dagster.yaml").read_text(encoding="utf-8")
    assert home.storage == "postgres" and "s3cret-pg-password" not in text
    db = yaml.safe_load(text)["storage"]["postgres"]["postgres_db"]
    assert db == {"username": {"env": "DAGSTER_PG_USERNAME"},
                  "password": {"env": "DAGSTER_PG_PASSWORD"},
                  "hostname": {"env": "DAGSTER_PG_HOST"}, "db_name": {"env": "DAGSTER_PG_DB"},
                  "port": {"env": "DAGSTER_PG_PORT"}}
    no_password = {k: v for k, v in PG_ENV.items() if k != "DAGSTER_PG_PASSWORD"}
    assert "password" not in instance_config(no_password)["storage"]["postgres"]["postgres_db"]


def test_an_incomplete_postgres_setting_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="DAGSTER_PG_HOST, DAGSTER_PG_DB"):
        instance_config({"DAGSTER_PG_USERNAME": "dagster"})
    with pytest.raises(ConfigError, match="DAGSTER_PG_PORT"):
        instance_config({**PG_ENV, "DAGSTER_PG_PORT": "fivefour"})


def test_our_file_is_rewritten_and_a_users_own_file_is_kept(tmp_path: Path) -> None:
    prepare_dagster_home(tmp_path, {})
    switched = prepare_dagster_home(tmp_path, PG_ENV)
    assert switched.written and "postgres" in (tmp_path / "dagster.yaml").read_text()
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    kept = prepare_dagster_home(tmp_path, PG_ENV)
    assert not kept.written
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"
    assert not (tmp_path / "dagster.yaml").read_text().startswith(MARKER)


def test_start_scheduler_prepares_the_home_and_hands_it_to_the_daemon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, object] = {}

    class FakeDaemon:
        def __init__(self, argv: list[str], env: dict[str, str]) -> None:
            started.update(argv=argv, env=env)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    configure_env(monkeypatch, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(commands.shutil, "which", lambda _name: "/usr/bin/dagster-daemon")
    monkeypatch.setattr(commands.subprocess, "Popen", FakeDaemon)
    assert main(["start-scheduler"]) == 0
    assert (tmp_path / "home" / "dagster.yaml").is_file()
    env = started["env"]
    assert isinstance(env, dict) and env["DAGSTER_HOME"] == str((tmp_path / "home").resolve())


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """A database of its own for Dagster's storage, dropped afterwards."""
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    name = f"gofap_dagster_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
@respx.mock
def test_dagster_keeps_runs_and_materializations_in_postgres(
        dagster_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = sa.engine.make_url(PG_ADMIN_URL)
    pg_env = {"DAGSTER_PG_USERNAME": server.username or "postgres",
              "DAGSTER_PG_HOST": server.host or "127.0.0.1",
              "DAGSTER_PG_PORT": str(server.port or 5432), "DAGSTER_PG_DB": dagster_database}
    if server.password:
        pg_env["DAGSTER_PG_PASSWORD"] = server.password
    for var, value in pg_env.items():
        monkeypatch.setenv(var, value)
    home = prepare_dagster_home(tmp_path / "home")
    assert home.storage == "postgres"
    monkeypatch.setenv("DAGSTER_HOME", str(home.path))
    settings = configure_env(monkeypatch, tmp_path)
    mock_github(respx.mock, ["acme/api", "acme/web"])
    defs = definitions(settings)

    instance = dg.DagsterInstance.get()
    try:
        result = dg.materialize(defs.assets or [], selection=["github_repositories"],
                                resources=defs.resources, instance=instance)
        assert result.success
    finally:
        instance.dispose()

    reopened = dg.DagsterInstance.get()  # a new instance reads what the first one stored
    try:
        event = reopened.get_latest_materialization_event(dg.AssetKey("github_repositories"))
        assert event is not None and event.run_id == result.run_id
        materialization = event.asset_materialization
        assert materialization is not None
        assert materialization.metadata["repositories_listed"].value == 2
        assert reopened.get_dynamic_partitions("github_repositories") == ["acme/api", "acme/web"]
        run = reopened.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    finally:
        reopened.dispose()

    url = server.set(database=dagster_database)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM runs WHERE run_id = :id"),
                              {"id": result.run_id}).scalar_one()
    engine.dispose()
    assert stored == 1, "the run is in PostgreSQL, not in a SQLite file under DAGSTER_HOME"
    assert not (home.path / "history").exists()
