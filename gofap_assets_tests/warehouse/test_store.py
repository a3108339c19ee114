"""The one upsert path, cursors, reconciliation and views, on SQLite and PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gofap_assets.warehouse import Batch, CursorUpdate, Quarantined, Record, Warehouse


def record(external_id: str, title: str = "T", *, parent: str = "acme/api",
           state: str = "open", data_type: str = "issue") -> Record:
    return Record(source="github", data_type=data_type, external_id=external_id,
                  parent_key=parent, title=title, description="body", state=state,
                  external_created_at=datetime(2025, 1, 1, tzinfo=UTC),
                  external_updated_at=datetime(2025, 1, 2, tzinfo=UTC),
                  raw_data={"id": int(external_id), "title": title},
                  processed_data={"id": int(external_id), "number": int(external_id),
                                  "repository": parent})


@pytest.fixture
def warehouse(database_url: str) -> Warehouse:
    store = Warehouse(database_url)
    store.create_schema()
    yield store
    store.dispose()


def rows(store: Warehouse, sql: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_upsert_inserts_updates_and_leaves_unchanged_rows_alone(warehouse: Warehouse) -> None:
    first = warehouse.write(Batch("github", "issue", "acme/api", [record("1"), record("2")]))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    (stamp,) = rows(warehouse, "SELECT updated_at FROM imported_data WHERE external_id = '1'")[0]

    again = warehouse.write(Batch("github", "issue", "acme/api",
                                  [record("1"), record("2", "changed")]))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    (after,) = rows(warehouse, "SELECT updated_at FROM imported_data WHERE external_id = '1'")[0]
    assert after == stamp, "an unchanged re-import must not bump updated_at"
    assert rows(warehouse, "SELECT title FROM imported_data ORDER BY external_id") == [
        ("T",), ("changed",)]
    assert rows(warehouse, "SELECT count(*) FROM imported_data") == [(2,)]


def test_a_repeated_item_in_one_page_is_one_row(warehouse: Warehouse) -> None:
    counts = warehouse.write(Batch("github", "issue", "acme/api",
                                   [record("1", "old"), record("1", "new")]))
    assert counts.inserted == 1
    assert rows(warehouse, "SELECT title FROM imported_data") == [("new",)]


def test_cursor_commits_with_its_rows_and_not_without_them(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [record("1")],
                          cursor=CursorUpdate("2025-01-01T00:00:00Z", '"e1"', "url-1")))
    state = warehouse.partition_state("github", "issue", "acme/api")
    assert (state.cursor, state.etag, state.etag_url) == ("2025-01-01T00:00:00Z", '"e1"',
                                                          "url-1")
    broken = replace(record("2"), source=None)  # violates NOT NULL inside the transaction
    with pytest.raises(sa.exc.IntegrityError):
        warehouse.write(Batch("github", "issue", "acme/api", [broken],
                              cursor=CursorUpdate("2026-01-01T00:00:00Z")))
    state = warehouse.partition_state("github", "issue", "acme/api")
    assert state.cursor == "2025-01-01T00:00:00Z", "a failed batch must not move the cursor"
    assert rows(warehouse, "SELECT count(*) FROM imported_data") == [(1,)]


def test_quarantine_lands_beside_good_rows(warehouse: Warehouse) -> None:
    bad = Quarantined("github", "issue", "acme/api", "9", "number: missing", '{"id": 9}')
    counts = warehouse.write(Batch("github", "issue", "acme/api", [record("1")], [bad]))
    assert (counts.inserted, counts.quarantined) == (1, 1)
    assert rows(warehouse, "SELECT reason, raw_text FROM import_errors") == [
        ("number: missing", '{"id": 9}')]
    assert warehouse.quarantine_count("github") == 1


def test_mark_deleted_keeps_rows_but_hides_them_from_views(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [record("1"), record("2")]))
    assert warehouse.live_ids("github", "issue", "acme/api") == {"1", "2"}
    assert warehouse.mark_deleted("github", "issue", {"2"}) == 1
    assert rows(warehouse, "SELECT count(*) FROM imported_data") == [(2,)]
    assert rows(warehouse, "SELECT external_id, number FROM github_issues") == [("1", 1)]
    # Seen again: it comes back.
    counts = warehouse.write(Batch("github", "issue", "acme/api", [record("2")]))
    assert counts.updated == 1
    assert rows(warehouse, "SELECT count(*) FROM github_issues") == [(2,)]


def test_text_with_nul_and_astral_characters_round_trips_the_same_on_both(
        warehouse: Warehouse) -> None:
    hostile = "nul\x00 emoji 🚀 rtl \u202e 'quote\" ; DROP TABLE imported_data; --"
    warehouse.write(Batch("github", "issue", "acme/api", [record("1", hostile)]))
    (title,) = rows(warehouse, "SELECT title FROM imported_data")[0]
    assert title == hostile.replace("\x00", "\ufffd")


def test_browse_treats_hostile_filters_as_data(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [record("1", "100% done_ok"),
                                                          record("2", "other")]))
    for needle in ["' OR 1=1 --", "%", "_", "\"; DROP TABLE imported_data; --", "ü" * 5000]:
        assert warehouse.browse(search=needle, state=needle) == []
    assert [r["external_id"] for r in warehouse.browse(search="100%")] == ["1"]
    assert [r["external_id"] for r in warehouse.browse(search="DONE_")] == ["1"]
    assert rows(warehouse, "SELECT count(*) FROM imported_data") == [(2,)]


def test_service_bookkeeping(warehouse: Warehouse) -> None:
    warehouse.record_service_run("github", items=5, error=None)
    warehouse.record_service_run("github", items=0, error="boom")
    warehouse.set_service("github", enabled=False, interval_minutes=15)
    status = {r["service"]: r for r in warehouse.service_status()}
    github = status["github"]
    assert (github["success_count"], github["failure_count"]) == (1, 1)
    assert github["total_items_synced"] == 5 and github["last_error"] == "boom"
    assert github["enabled"] is False and github["sync_interval_minutes"] == 15
    assert status["linear"]["enabled"] is True


def test_create_schema_is_idempotent(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [record("1")]))
    warehouse.create_schema()
    assert rows(warehouse, "SELECT count(*) FROM github_issues") == [(1,)]


def test_recent_success_rate_counts_the_last_attempts(warehouse: Warehouse) -> None:
    assert warehouse.recent_success_rate("github") == (None, 0)
    for error in [None, "boom", None, None]:
        warehouse.record_service_run("github", items=1, error=error)
    assert warehouse.recent_success_rate("github") == (0.75, 4)
    assert warehouse.recent_success_rate("github", last=2) == (1.0, 2)


def test_children_of_a_vanished_repository_are_marked_deleted(warehouse: Warehouse) -> None:
    repos = [record("100", "acme/api", data_type="repository", parent="acme"),
             record("101", "acme/web", data_type="repository", parent="acme")]
    warehouse.write(Batch("github", "repository", "acme", repos))
    warehouse.write(Batch("github", "issue", "acme/api", [record("1", parent="acme/api")]))
    warehouse.write(Batch("github", "issue", "acme/web", [record("2", parent="acme/web")]))
    warehouse.write(Batch("github", "issue", "other/x", [record("3", parent="other/x")]))
    warehouse.mark_deleted("github", "repository", {"101"})
    marked = warehouse.mark_orphans_deleted("github", "repository", ["issue"],
                                            parent_prefix="acme/")
    assert marked == 1
    assert warehouse.live_ids("github", "issue", None) == {"1", "3"}
