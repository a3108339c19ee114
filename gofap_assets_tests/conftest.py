"""Shared fixtures: warehouses on SQLite and on the machine's PostgreSQL."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.warehouse import Warehouse

PG_ADMIN_URL = os.environ.get("GOFAP_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
SHARED_DIR = Path(os.environ.get("GOFAP_SHARED_DIR",
                                 Path(__file__).resolve().parents[1].parent / "shared"))


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure means "not here", reported as the skip reason
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


_PG_PROBLEM = _postgres_reachable()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, dropped after the session."""
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    name = f"gofap_test_{uuid.uuid4().hex[:10]}"
    # pool_pre_ping: the drop at the session's end must survive a server restart in between
    # (the reliability suite restarts PostgreSQL mid-sync).
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty warehouse URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    url = request.getfixturevalue("postgres_server_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"the shared/ folder with the API contracts is not at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A persistent test instance (schedule and sensor contexts need one)."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The importer pointed at mocked APIs and a SQLite warehouse in `tmp_path`."""
    from gofap_assets_tests.orchestration import configure_env

    return configure_env(monkeypatch, tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[Warehouse]:
    from gofap_assets_tests.orchestration import warehouse_for

    store = warehouse_for(settings)
    yield store
    store.dispose()
