"""The warehouse's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the warehouse stores UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")
SurrogateKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


imported_data = sa.Table(
    "imported_data",
    metadata,
    sa.Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("data_type", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("parent_key", sa.String(255), comment="repository full_name or Linear team key"),
    sa.Column("title", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("state", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("external_created_at", UtcDateTime),
    sa.Column("external_updated_at", UtcDateTime),
    sa.Column("raw_data", JsonDocument, nullable=False),
    sa.Column("processed_data", JsonDocument, nullable=False),
    sa.Column("content_hash", sa.String(40), nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
    sa.Column("deleted_at", UtcDateTime, comment="set when a full sync no longer finds the item"),
    sa.UniqueConstraint("source", "data_type", "external_id", name="uq_imported_data_identity"),
    # With deleted_at, "live rows under a parent" and the distinct parents are read from the
    # index alone: the per-sync checks and orphan marking never touch the table's rows.
    sa.Index("ix_imported_data_parent_live", "source", "data_type", "parent_key", "deleted_at"),
    # With id, the newest-first preview is an index walk, not a sort, on PostgreSQL too.
    sa.Index("ix_imported_data_recent", "source", "data_type", "external_updated_at", "id"),
)
SUPERSEDED_INDEXES = ("ix_imported_data_parent", "ix_imported_data_external_updated")
"""Indexes of older releases that a wider one above now covers; `create_schema` drops them."""

sync_status = sa.Table(
    "sync_status",
    metadata,
    sa.Column("service", sa.String(16), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("sync_interval_minutes", sa.Integer,
              comment="per-service override; NULL means SYNC_INTERVAL_MINUTES"),
    sa.Column("last_sync_at", UtcDateTime),
    sa.Column("last_success_at", UtcDateTime),
    sa.Column("total_items_synced", sa.BigInteger, nullable=False, default=0),
    sa.Column("success_count", sa.Integer, nullable=False, default=0),
    sa.Column("failure_count", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UtcDateTime),
)

sync_history = sa.Table(
    "sync_history",
    metadata,
    sa.Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("items", sa.BigInteger, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Index("ix_sync_history_service", "service", "finished_at"),
    comment="one row per asset sync attempt: the recent success rate and its trend",
)

sync_partitions = sa.Table(
    "sync_partitions",
    metadata,
    sa.Column("source", sa.String(16), primary_key=True),
    sa.Column("data_type", sa.String(32), primary_key=True),
    sa.Column("partition_key", sa.String(255), primary_key=True),
    sa.Column("cursor", sa.String(64), comment="committed with the rows it covers"),
    sa.Column("etag", sa.String(255)),
    sa.Column("etag_url", sa.Text, comment="the request the ETag answers"),
    sa.Column("last_sync_at", UtcDateTime),
    sa.Column("last_success_at", UtcDateTime),
    sa.Column("last_full_sync_at", UtcDateTime),
    sa.Column("items_synced", sa.BigInteger, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UtcDateTime),
    sa.Column("deferred_until", UtcDateTime,
              comment="the rate-limit budget ran out: the next sync resumes this partition first"),
    sa.Column("resume_url", sa.Text,
              comment="the next page of a listing the budget interrupted, read from there on"),
    sa.Column("resume_cursor", sa.String(64), comment="the cursor that listing will commit"),
    sa.Column("resume_etag", sa.String(255),
              comment="the ETag of that listing's first page, saved once it completes"),
)

ADDED_COLUMNS = {"sync_partitions": ("deferred_until", "resume_url", "resume_cursor",
                                     "resume_etag"),
                 "import_errors": ("kind",)}
"""Columns newer than their tables: `create_schema` adds them to an older warehouse."""

FIELD_NOTE, QUARANTINED = "field_note", "quarantined"
ERROR_KINDS = (FIELD_NOTE, QUARANTINED)
"""What an `import_errors` row is."""

import_errors = sa.Table(
    "import_errors",
    metadata,
    sa.Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("data_type", sa.String(32), nullable=False),
    sa.Column("partition_key", sa.String(255)),
    sa.Column("external_id", sa.String(255)),
    sa.Column("kind", sa.String(16), nullable=False, server_default=QUARANTINED,
              comment="quarantined: the record was not imported; field_note: it was, with "
              "this field stored as null"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_text", sa.Text, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False, default=_now),
    sa.Index("ix_import_errors_source", "source", "data_type", "seen_at"),
)


sync_locks = sa.Table(
    "sync_locks",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True,
              comment="service/asset, e.g. github/github_issues"),
    sa.Column("holder", sa.String(128), nullable=False, comment="host:pid:token of the holder"),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False,
              comment="refreshed while held; a lock without one for long is stale"),
    comment="one row per sync in progress, so two syncs of the same asset never interleave",
)


webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("delivery_id", sa.String(255), nullable=False,
              comment="X-GitHub-Delivery / Linear-Delivery: the same on a redelivery"),
    sa.Column("event", sa.String(64), nullable=False,
              comment="X-GitHub-Event / the Linear payload's type"),
    sa.Column("action", sa.String(64)),
    sa.Column("partition_key", sa.String(255), comment="repository full_name or Linear team key"),
    sa.Column("received_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("payload", JsonDocument, nullable=False),
    sa.Column("run_key", sa.Text, comment="the sync runs requested to apply it (space-separated)"),
    sa.Column("processed_at", UtcDateTime),
    sa.Column("outcome", sa.Text, comment="synced, deleted, ignored: ..., failed: ..."),
    sa.UniqueConstraint("service", "delivery_id", name="uq_webhook_deliveries_delivery"),
    sa.Index("ix_webhook_deliveries_pending", "processed_at", "id"),
    comment="one row per accepted webhook delivery, committed before it is acknowledged",
)


def table_names() -> list[str]:
    return list(metadata.tables)


__all__: list[Any] = [
    "UtcDateTime",
    "import_errors",
    "imported_data",
    "metadata",
    "sync_locks",
    "sync_partitions",
    "sync_status",
    "webhook_deliveries",
]
