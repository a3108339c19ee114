"""A receiver on a real socket, over a warehouse on SQLite and on PostgreSQL."""

from collections.abc import Iterator

import pytest

from gofap_assets.config import Settings
from gofap_assets.warehouse import Warehouse
from gofap_assets.webhooks.receiver import create_app
from gofap_assets.webhooks.server import ReceiverServer
from gofap_assets_tests.webhooks.helpers import GITHUB_SECRET, LINEAR_SECRET


def webhook_settings(database_url: str, **secrets: str | None) -> Settings:
    env = {"DATABASE_URL": database_url, "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
           "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET}
    for name, value in secrets.items():
        env[name.upper()] = value or ""
    return Settings.from_env(env)


@pytest.fixture
def warehouse(database_url: str) -> Iterator[Warehouse]:
    store = Warehouse(database_url)
    store.create_schema()
    yield store
    store.dispose()


@pytest.fixture
def receiver(warehouse: Warehouse, database_url: str) -> Iterator[str]:
    """The receiver's base URL."""
    with ReceiverServer(create_app(webhook_settings(database_url))) as server:
        yield server.url
