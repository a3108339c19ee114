"""A webhook's deletion against a sync that read the item just before it, in both orders, on
SQLite and PostgreSQL: only a version read or changed after the deletion revives the row."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gofap_assets.ingest import Page, PartitionOutcome, ingest_pages
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets.warehouse.store import utcnow
from gofap_assets.webhooks.deliveries import Stored
from gofap_assets.webhooks.events import Delete
from gofap_assets.webhooks.process import Plan, apply_deletions

EDITED = datetime(2025, 1, 2, tzinfo=UTC)


def issue(external_id: str = "7", *, updated: datetime = EDITED, title: str = "T") -> Record:
    return Record(source="github", data_type="issue", external_id=external_id,
                  parent_key="acme/api", title=title, description="body", state="open",
                  external_created_at=datetime(2025, 1, 1, tzinfo=UTC),
                  external_updated_at=updated, raw_data={"id": int(external_id)},
                  processed_data={"id": int(external_id)})


@pytest.fixture
def warehouse(database_url: str) -> Iterator[Warehouse]:
    store = Warehouse(database_url)
    store.create_schema()
    yield store
    store.dispose()


def deleted_at(store: Warehouse, external_id: str = "7") -> datetime | None:
    from gofap_assets.warehouse.schema import imported_data

    t = imported_data.c
    with store.engine.connect() as conn:
        return conn.execute(sa.select(t.deleted_at).where(t.external_id == external_id)
                            ).scalar_one()


def webhook_delete(store: Warehouse, received_at: datetime, external_id: str = "7") -> None:
    """What `webhooks process` does with an `issues.deleted` delivery received then."""
    delivery = Stored(1, "github", "d-1", "issues", "deleted", "acme/api", {}, received_at, None)
    plan = Plan(deletions=[(delivery, Delete("issue", external_id, parent_key="acme/api"))])
    assert apply_deletions(store, plan) == {1: "deleted"}


def test_a_stale_read_written_after_the_deletion_does_not_revive(warehouse: Warehouse) -> None:
    read_before = utcnow()
    warehouse.write(Batch("github", "issue", "acme/api", [issue()], read_at=read_before))
    received = utcnow()
    webhook_delete(warehouse, received)
    assert deleted_at(warehouse) == received, "the mark keeps the deletion's time"

    counts = warehouse.write(Batch("github", "issue", "acme/api", [issue(title="stale")],
                                   read_at=read_before))
    assert (counts.updated, counts.unchanged) == (0, 1)
    assert deleted_at(warehouse) == received

    newer = warehouse.write(Batch("github", "issue", "acme/api",
                                  [issue(updated=received + timedelta(seconds=1))],
                                  read_at=read_before))
    assert newer.updated == 1 and deleted_at(warehouse) is None, \
        "a version changed after the deletion revives the row"


def test_a_read_after_the_deletion_revives(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [issue()]))
    webhook_delete(warehouse, utcnow())
    counts = warehouse.write(Batch("github", "issue", "acme/api", [issue()], read_at=utcnow()))
    assert counts.updated == 1 and deleted_at(warehouse) is None, \
        "the API listed it after the deletion: it exists (restored), so it is live again"


def test_a_deletion_after_the_write_stands(warehouse: Warehouse) -> None:
    warehouse.write(Batch("github", "issue", "acme/api", [issue()], read_at=utcnow()))
    received = utcnow()
    webhook_delete(warehouse, received)
    assert deleted_at(warehouse) == received


def test_the_mark_landing_between_lookup_and_write_still_stands(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upsert's own guard, for a writer whose lookup saw the row live (PostgreSQL's read
    committed lets a deletion commit in between)."""
    read_before = utcnow()
    warehouse.write(Batch("github", "issue", "acme/api", [issue()]))
    webhook_delete(warehouse, utcnow())
    seen_live = Warehouse._existing

    def before_the_mark(self: Warehouse, *args: object) -> dict:
        return {k: (v[0], None, v[2]) for k, v in seen_live(self, *args).items()}

    monkeypatch.setattr(Warehouse, "_existing", before_the_mark)
    warehouse.write(Batch("github", "issue", "acme/api", [issue(title="stale")],
                          read_at=read_before))
    assert deleted_at(warehouse) is not None


def test_a_sync_that_read_the_page_before_the_webhook_keeps_it_deleted(
        warehouse: Warehouse) -> None:
    """Through the ingest path: the page is read, the deletion is applied, then the page is
    written (the order a real race takes)."""
    warehouse.write(Batch("github", "issue", "acme/api", [issue()]))

    def pages() -> Iterator[Page]:
        item = {"id": 7}  # read from the API ...
        webhook_delete(warehouse, utcnow())  # ... then deleted there, and the webhook applied
        yield Page([item], last=True)

    outcome = ingest_pages(warehouse, PartitionOutcome("github", "issue", "acme/api"), pages(),
                           lambda item: issue(str(item["id"]), title="stale"))
    assert outcome.counts.unchanged == 1
    assert deleted_at(warehouse) is not None
