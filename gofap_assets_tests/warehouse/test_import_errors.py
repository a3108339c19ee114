"""`import_errors.kind`: what each row is, written by the upsert path, added (and filled in)
on a warehouse of an older release, counted and filtered, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gofap_assets.warehouse import Batch, Quarantined, Record, Warehouse

NULLED = "field 'title' stored as null (the record was imported): too long"


def record(external_id: str) -> Record:
    return Record(source="github", data_type="issue", external_id=external_id,
                  parent_key="acme/api", title="T", description=None, state="open",
                  external_created_at=None, external_updated_at=datetime(2025, 1, 2, tzinfo=UTC),
                  raw_data={"id": int(external_id)}, processed_data={"id": int(external_id)})


def both_kinds() -> Batch:
    return Batch("github", "issue", "acme/api", [record("1")], [
        Quarantined("github", "issue", "acme/api", "9", "number: missing", '{"id": 9}'),
        Quarantined("github", "issue", "acme/api", "1", NULLED, '"x"', field="title")])


@pytest.fixture
def warehouse(database_url: str) -> Iterator[Warehouse]:
    store = Warehouse(database_url)
    store.create_schema()
    yield store
    store.dispose()


def kinds(store: Warehouse) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT external_id, kind FROM import_errors ORDER BY external_id"))]


def test_each_row_says_what_it_is(warehouse: Warehouse) -> None:
    counts = warehouse.write(both_kinds())
    assert (counts.quarantined, counts.field_notes) == (1, 1)
    assert kinds(warehouse) == [("1", "field_note"), ("9", "quarantined")]
    assert warehouse.import_error_counts("github") == {"field_note": 1, "quarantined": 1}
    assert warehouse.import_error_counts("linear") == {"field_note": 0, "quarantined": 0}


def test_the_filters_are_bound_and_combine(warehouse: Warehouse) -> None:
    warehouse.write(both_kinds())
    assert [r["external_id"] for r in warehouse.list_import_errors(kind="quarantined")] == ["9"]
    notes = warehouse.list_import_errors(kind="field_note", source="github", data_type="issue")
    assert [(r["external_id"], r["reason"]) for r in notes] == [("1", NULLED)]
    assert warehouse.list_import_errors(kind="x' OR '1'='1") == []
    assert warehouse.list_import_errors(source="linear") == []
    later = datetime.now(UTC) + timedelta(days=1)
    assert warehouse.list_import_errors(since=later) == []
    assert len(warehouse.list_import_errors(limit=1)) == 1


def test_create_schema_adds_the_column_to_an_older_warehouse_and_fills_it_in(
        warehouse: Warehouse) -> None:
    warehouse.write(both_kinds())
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE import_errors DROP COLUMN kind"))
    assert not warehouse.schema_ready()

    warehouse.create_schema()

    assert warehouse.schema_ready()
    assert kinds(warehouse) == [("1", "field_note"), ("9", "quarantined")], \
        "old field notes are recognised by their reason, the rest were quarantined"
    warehouse.write(both_kinds())
    assert warehouse.import_error_counts("github") == {"field_note": 2, "quarantined": 2}
