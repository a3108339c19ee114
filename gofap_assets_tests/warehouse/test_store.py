"""The one upsert path, cursors, reconciliation and views, on SQLite and PostgreSQL."""

import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from gofap_assets.warehouse import Batch, CursorUpdate, Quarantined, Record, Warehouse
from gofap_assets.warehouse.schema import imported_data


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
    assert warehouse.import_error_counts("github") == {"field_note": 0, "quarantined": 1}


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


def test_sqlite_keeps_the_timestamp_text_sqlalchemy_wrote(sqlite_url: str) -> None:
    """SQLite compares timestamps as text: the driver-level upsert must store exactly the text
    SQLAlchemy's DateTime stored before it, or old and new rows would sort apart."""
    store = Warehouse(sqlite_url)
    store.create_schema()
    moments = [datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
               datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2))),
               datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
               datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    batch = [replace(record(str(n)), external_created_at=m, external_updated_at=m)
             for n, m in enumerate(moments, start=1)]
    store.write(Batch("github", "issue", "acme/api", batch))
    process = sqlite.DATETIME().bind_processor(sqlite.dialect())
    stored = rows(store, "SELECT external_created_at, external_updated_at, created_at, "
                         "updated_at, typeof(external_updated_at) FROM imported_data "
                         "ORDER BY id")
    for moment, (created, updated, written, touched, kind) in zip(moments, stored, strict=True):
        expected = process(moment.astimezone(UTC).replace(tzinfo=None))
        assert (created, updated, kind) == (expected, expected, "text")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", written) and \
            written == touched
    assert [r.external_updated_at for r in batch] == [
        row["external_updated_at"] for row in sorted(
            store.browse(limit=10), key=lambda row: int(row["external_id"]))]
    store.dispose()


def test_a_row_hashed_by_an_older_release_is_recognised_as_unchanged(
        warehouse: Warehouse) -> None:
    """Rows written before the current hash format keep their `updated_at` on the first sync
    after an upgrade; only their hash is rewritten."""
    item = record("1")
    old_stamp = datetime(2024, 6, 1, tzinfo=UTC)
    with warehouse.engine.begin() as conn:
        conn.execute(imported_data.insert().values(
            source="github", data_type="issue", external_id="1", parent_key="acme/api",
            title="T", description="body", state="open",
            external_created_at=item.external_created_at,
            external_updated_at=item.external_updated_at, raw_data=item.raw_data,
            processed_data=item.processed_data, content_hash=item.legacy_content_hash(),
            archived=False, created_at=old_stamp, updated_at=old_stamp))
    counts = warehouse.write(Batch("github", "issue", "acme/api", [item, record("2")]))
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 0, 1)
    assert warehouse.browse(limit=5)  # the row still reads
    with warehouse.engine.connect() as conn:
        stamp, digest = conn.execute(sa.select(imported_data.c.updated_at,
                                               imported_data.c.content_hash)
                                     .where(imported_data.c.external_id == "1")).one()
    assert stamp == old_stamp and digest == item.content_hash()
    changed = warehouse.write(Batch("github", "issue", "acme/api", [record("1", "new")]))
    assert changed.updated == 1


def test_nan_and_oversized_integers_quarantine_one_record_not_the_page(
        warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="NaN"):
        replace(record("1"), raw_data={"id": 1, "nested": [{"score": math.nan}]})
    with pytest.raises(ValueError, match="NaN"):
        replace(record("1"), raw_data={"id": 1, "score": -math.inf})
    with pytest.raises(ValueError, match="64-bit"):
        replace(record("1"), processed_data={"id": 2**63})
    big = replace(record("3"), raw_data={"id": 3, "huge": 2**80, "text": "a\x00b\ud800"})
    warehouse.write(Batch("github", "issue", "acme/api", [big, record("4")]))
    (raw,) = rows(warehouse, "SELECT raw_data FROM imported_data WHERE external_id = '3'")[0]
    stored = raw if isinstance(raw, dict) else json.loads(raw)  # PostgreSQL's JSONB is parsed
    assert stored == {"id": 3, "huge": 2**80, "text": "a\ufffdb\ufffd"}


def test_what_runs_on_every_sync_reads_indexes_not_the_table(sqlite_url: str) -> None:
    """Row counts, the preview, the integrity checks and orphan marking run after every sync:
    SQLite must answer each from an index (seeks or a covering range), never a table scan or a
    sort of every row."""
    from gofap_assets import checks

    store = Warehouse(sqlite_url)
    store.create_schema()
    store.write(Batch("github", "issue", "acme/api",
                      [record(str(n), parent=f"acme/r{n % 5}") for n in range(1, 200)]))
    store.write(Batch("github", "repository", "acme",
                      [record("900", "acme/r1", data_type="repository", parent="acme")]))
    statements: list[tuple[str, Any]] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _many: bool) -> None:
        if "imported_data" in statement and statement.lstrip().upper().startswith(
                ("SELECT", "WITH", "UPDATE")):
            statements.append((statement, parameters))

    store.live_count("github", "issue")
    store.browse(source="github", data_type="issue", limit=5)
    assert checks.duplicate_keys(store, "github", "issue") == (0, [])
    assert checks.orphans(store, "github", "issue", checks.REPOSITORY) == {
        f"acme/r{n}": 40 - (n == 0) for n in (0, 2, 3, 4)}
    assert store.mark_orphans_deleted("github", "repository", ["issue"],
                                      parent_prefix="acme/") == 159
    sa.event.remove(store.engine, "before_cursor_execute", capture)
    assert len(statements) >= 8
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                            parameters)]
            tables = [step for step in plan if "imported_data" in step]
            assert tables and all(step.startswith("SEARCH") for step in tables), (statement,
                                                                                  plan)
            assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)
    store.dispose()


def test_create_schema_brings_an_older_warehouse_to_the_current_indexes(
        sqlite_url: str) -> None:
    store = Warehouse(sqlite_url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_imported_data_parent_live")
        conn.exec_driver_sql("CREATE INDEX ix_imported_data_parent ON imported_data "
                             "(source, data_type, parent_key)")
    store.create_schema()
    names = {index["name"] for index in sa.inspect(store.engine).get_indexes("imported_data")}
    assert {"ix_imported_data_parent_live", "ix_imported_data_recent"} <= names
    assert "ix_imported_data_parent" not in names
    store.dispose()
