"""The Dagster instance configuration: SQLite by default, PostgreSQL from DAGSTER_PG_*, tested on
the real server by materializing an asset into it and reading it back."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import respx
import sqlalchemy as sa
import yaml

from gofap_assets.cli import commands, main
from gofap_assets.config import ConfigError
from gofap_assets.dagster_home import (
    CODE_LOCATION,
    MARKER,
    instance_config,
    prepare_dagster_home,
)
from gofap_assets.warehouse import Warehouse
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
    monkeypatch.setattr(commands.shutil, "which",
                        lambda _name, path=None: "/usr/bin/dagster-daemon")
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C to the whole process group, as a user stops it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _graphql(url: str, query: str, variables: dict[str, object]) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                          timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


STOP_SCHEDULE = """
query State($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename ... on Schedule { scheduleState { id selectorId status } }
  }
}"""
STOP_MUTATION = """
mutation Stop($origin: String, $selector: String) {
  stopRunningSchedule(scheduleOriginId: $origin, scheduleSelectorId: $selector) {
    __typename ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}"""


def _states() -> dict[tuple[str, str], str]:
    """(location, name) -> status of every schedule and sensor state in DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        return {(state.origin.repository_origin.code_location_origin.location_name,
                 state.instigator_name): state.status.value
                for state in instance.all_instigator_state()}


@pytest.mark.slow
def test_dagster_dev_and_start_scheduler_share_one_location_and_its_schedule_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project folder as DAGSTER_HOME: `dagster dev` uses its dagster.yaml without a warning,
    and a schedule stopped there stays stopped under `gofap-import start-scheduler`."""
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent))
    assert dagster is not None
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dagster.yaml", "workspace.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    database_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    warehouse = Warehouse(database_url)
    warehouse.create_schema()
    for service in ("github", "linear"):  # every tick skips: no runs, only state
        warehouse.set_service(service, enabled=False)
    warehouse.dispose()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DAGSTER_", "GITHUB_", "LINEAR_", "GOFAP_"))}
    env.update(DAGSTER_HOME=str(project), DATABASE_URL=database_url, LOG_LEVEL="INFO")
    monkeypatch.setenv("DAGSTER_HOME", str(project))

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    dev_log = tmp_path / "dev.log"
    dev = _start([dagster, "dev", "-m", CODE_LOCATION, "-h", "127.0.0.1", "-p", str(port)],
                 project, env, dev_log)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert dev.poll() is None, dev_log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "dagster dev did not answer"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        selector = {"repositoryLocationName": CODE_LOCATION, "repositoryName": "__repository__",
                    "scheduleName": "github_sync_schedule"}
        found = _graphql(url, STOP_SCHEDULE, {"selector": selector})["scheduleOrError"]
        assert found["__typename"] == "Schedule", found
        state = found["scheduleState"]
        stopped = _graphql(url, STOP_MUTATION, {"origin": state["id"],
                                                "selector": state["selectorId"]})
        assert stopped["stopRunningSchedule"]["scheduleState"]["status"] == "STOPPED", stopped
    finally:
        _interrupt(dev)
    dev_output = dev_log.read_text(errors="replace")
    assert "will not be used" not in dev_output, dev_output
    assert "BetaWarning" not in dev_output
    assert _states()[(CODE_LOCATION, "github_sync_schedule")] == "STOPPED"

    started = time.time()
    daemon_log = tmp_path / "daemon.log"
    gofap = str(Path(sys.executable).with_name("gofap-import"))
    daemon = _start([gofap, "start-scheduler"], project, env, daemon_log)
    try:
        # The sensor daemon ticking the discovery sensor shows the location has loaded and been
        # evaluated; the scheduler daemon's first pass runs at start beside it.
        deadline = time.monotonic() + 180
        while True:
            assert daemon.poll() is None, daemon_log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the daemon never ticked the discovery sensor"
            with dg.DagsterInstance.get() as instance:
                ticks = [tick for state in instance.all_instigator_state()
                         if state.instigator_name == "linear_partition_discovery_sensor"
                         for tick in instance.get_ticks(state.instigator_origin_id,
                                                        state.selector_id, limit=1)]
            if any(tick.timestamp > started for tick in ticks):
                break
            time.sleep(1)
    finally:
        _interrupt(daemon)
    daemon_output = daemon_log.read_text(errors="replace")
    assert "Removing state" not in daemon_output, daemon_output
    assert "BetaWarning" not in daemon_output
    states = _states()
    assert {location for location, _ in states} == {CODE_LOCATION}, states
    assert states[(CODE_LOCATION, "github_sync_schedule")] == "STOPPED"
