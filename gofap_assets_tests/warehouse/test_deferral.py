"""Deferred partitions: the `deferred_until` column (added to older warehouses), its bookkeeping,
the order a run resumes in, and the schedule tick that resumes them before the interval is up."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.lib.runner import resume_order
from gofap_assets.schedules import github_sync_schedule
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource

UNTIL = datetime(2026, 5, 1, 13, 0, tzinfo=UTC)


def test_an_older_warehouse_gets_the_column_and_nothing_else_changes(database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    store.record_partition_result("github", "issue", "acme/api", items=3, error=None)
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE sync_partitions DROP COLUMN deferred_until"))
    assert not store.schema_ready(), "a warehouse without the column is not ready"
    store.create_schema()
    store.create_schema()  # idempotent
    assert store.schema_ready()
    store.record_partition_deferred("github", "issue", "acme/web", until=UNTIL)
    assert store.deferred_partitions("github") == {("issue", "acme/web"): UNTIL}
    assert store.partition_state("github", "issue", "acme/api").cursor is None
    with store.engine.connect() as conn:
        items = conn.execute(sa.text("SELECT items_synced FROM sync_partitions WHERE "
                                     "partition_key = 'acme/api'")).scalar_one()
    assert items == 3
    store.record_partition_result("github", "issue", "acme/web", items=1, error=None)
    assert store.deferred_partitions("github") == {}
    store.dispose()


def test_a_run_resumes_the_deferred_partitions_first(sqlite_url: str) -> None:
    store = Warehouse(sqlite_url)
    store.create_schema()
    store.record_partition_deferred("github", "issue", "acme/zeta", until=UNTIL)
    store.record_partition_deferred("github", "issue", "acme/beta",
                                    until=UNTIL - timedelta(minutes=5))
    store.record_partition_deferred("github", "commit", "acme/alpha", until=UNTIL)
    keys = ["acme/alpha", "acme/beta", "acme/gamma", "acme/zeta"]
    assert resume_order(store, "github", "issue", keys) == [
        "acme/beta", "acme/zeta", "acme/alpha", "acme/gamma"]
    assert resume_order(store, "github", "pull_request", keys) == keys
    store.dispose()


def _tick(instance: dg.DagsterInstance, settings: Settings,
          when: datetime) -> dg.SkipReason | list[dg.RunRequest]:
    resources = {"warehouse": WarehouseResource(database_url=settings.database_url)}
    with dg.build_schedule_context(instance=instance, resources=resources,
                                   scheduled_execution_time=when) as ctx:
        return github_sync_schedule(ctx)


def test_the_tick_after_the_reset_resumes_deferred_partitions_before_the_interval(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    keys = [f"acme/repo-{i}" for i in range(6)]
    instance.add_dynamic_partitions("github_repositories", keys)
    synced = UNTIL - timedelta(minutes=30)
    store.record_service_run("github", items=10, error=None)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sync_status SET last_sync_at = :t, last_success_at = :t "
                             "WHERE service = 'github'"), {"t": synced.replace(tzinfo=None)})
    for key in keys[2:4]:
        store.record_partition_deferred("github", "issue", key, until=UNTIL)
    before = _tick(instance, settings, UNTIL - timedelta(minutes=1))
    assert isinstance(before, dg.SkipReason), "not before the reset, and the interval is not up"
    after = _tick(instance, settings, UNTIL + timedelta(minutes=1))
    assert isinstance(after, list) and len(after) == 1, "only the deferred, not the listing"
    assert after[0].tags["dagster/asset_partition_range_start"] == "acme/repo-2"
    assert after[0].tags["dagster/asset_partition_range_end"] == "acme/repo-3"
    due = _tick(instance, settings, synced + timedelta(minutes=61))
    assert isinstance(due, list) and len(due) == 4  # listing, deferred first, the other two
    assert [r.tags.get("dagster/asset_partition_range_start") for r in due[1:]] == [
        "acme/repo-2", "acme/repo-0", "acme/repo-4"]
