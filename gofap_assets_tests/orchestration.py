"""Helpers for the schedule, sensor, check and instance tests: an environment pointing at a
mocked GitHub, the code location built from it, and warehouse rows to seed."""

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import dagster as dg
import httpx
import pytest
import respx

from gofap_assets.config import Settings
from gofap_assets.definitions import build_definitions
from gofap_assets.warehouse import Batch, Record, Warehouse

GITHUB_API = "https://gh.test"
LINEAR_API = "https://linear.test/graphql"
ORG = "acme"
TOKEN = "ghp_testtoken_do_not_print_1234567890"
LINEAR_KEY = "lin_api_testkey_do_not_print_123456"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def configure_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, github: bool = True,
                  linear: bool = False) -> Settings:
    """Point the importer at the mocked APIs and a SQLite warehouse in `tmp_path`."""
    for var in ("GITHUB_TOKEN", "GITHUB_ORG", "GITHUB_API_URL", "LINEAR_API_KEY",
                "LINEAR_API_URL", "LINEAR_WORKSPACE_ID", "SYNC_INTERVAL_MINUTES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    if github:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_ORG", ORG)
        monkeypatch.setenv("GITHUB_API_URL", GITHUB_API)
    if linear:
        monkeypatch.setenv("LINEAR_API_KEY", LINEAR_KEY)
        monkeypatch.setenv("LINEAR_API_URL", LINEAR_API)
    return Settings.from_env()


def definitions(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def warehouse_for(settings: Settings) -> Warehouse:
    store = Warehouse(settings.database_url)
    store.create_schema()
    return store


def repository(number: int, name: str) -> dict:
    return {"id": 1000 + number, "name": name.split("/")[1], "full_name": name,
            "owner": {"login": name.split("/")[0]}, "private": False, "archived": False,
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-02-01T00:00:00Z"}


def mock_github(router: respx.MockRouter, repositories: list[str]) -> None:
    """The org's repository listing, and empty listings of everything in each."""
    headers = {"date": format_datetime(NOW, usegmt=True), "x-ratelimit-remaining": "4999"}
    router.get(f"{GITHUB_API}/orgs/{ORG}/repos").mock(return_value=httpx.Response(
        200, json=[repository(i, name) for i, name in enumerate(repositories)],
        headers=headers))
    router.get(url__regex=rf"^{GITHUB_API}/repos/[^/]+/[^/]+/"
               r"(issues|pulls|commits|labels|milestones|releases)").mock(
        return_value=httpx.Response(200, json=[], headers=headers))


def record(source: str, data_type: str, external_id: str, *, parent: str | None = None,
           title: str | None = None, processed: dict | None = None) -> Record:
    return Record(source=source, data_type=data_type, external_id=external_id,
                  parent_key=parent, title=title or external_id, description=None, state=None,
                  external_created_at=NOW, external_updated_at=NOW,
                  raw_data={"id": external_id}, processed_data=processed or {"id": external_id})


def seed(store: Warehouse, *records: Record) -> None:
    for item in records:
        store.write(Batch(item.source, item.data_type, item.parent_key or "*", [item]))
