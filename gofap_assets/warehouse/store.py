"""The warehouse: the one upsert path, partition cursors, quarantine and sync bookkeeping.

Every write is one short transaction. A batch's rows, its quarantined records and the partition
cursor that covers them commit together, so a crash can re-read data but never skip it.
"""

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from gofap_assets.warehouse.records import (
    HASH_PREFIX,
    Batch,
    Record,
    WriteCounts,
    clean_text,
    encode_json,
)
from gofap_assets.warehouse.schema import (
    ADDED_COLUMNS,
    ERROR_KINDS,
    FIELD_NOTE,
    QUARANTINED,
    SUPERSEDED_INDEXES,
    import_errors,
    imported_data,
    metadata,
    sync_history,
    sync_partitions,
    sync_status,
)
from gofap_assets.warehouse.views import create_views

SERVICES = ("linear", "github")
_LOOKUP_CHUNK = 500
_ETAG_LIMIT = sync_partitions.c.etag.type.length
_PARTITION_KEY_LIMIT = sync_partitions.c.partition_key.type.length
_SCHEMA_LOCK_KEY = 0x6F6661705F736368  # "ofap_sch": any constant shared by every process


class WarehouseError(RuntimeError):
    """The warehouse could not be reached or written; nothing of the failed batch is kept."""


@dataclass(frozen=True)
class PartitionState:
    cursor: str | None
    etag: str | None
    etag_url: str | None
    resume_url: str | None = None
    """Where a listing the rate-limit budget interrupted goes on (its next page's link)."""
    resume_cursor: str | None = None
    resume_etag: str | None = None
    """The first page's ETag of that interrupted listing: its ETag once the listing completes."""


def normalise_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2, the driver Dagster's own storage uses too."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _dumps(value: Any) -> str:
    """SQLAlchemy's serializer for JSON columns written through it (not the upsert path)."""
    return encode_json(value).decode("utf-8")


_UPSERT_COLUMNS = ("source", "data_type", "external_id", "parent_key", "title", "description",
                   "state", "created_at", "updated_at", "external_created_at",
                   "external_updated_at", "raw_data", "processed_data", "content_hash",
                   "archived")
_UPDATE_COLUMNS = ("parent_key", "title", "description", "state", "external_created_at",
                   "external_updated_at", "raw_data", "processed_data", "content_hash",
                   "archived", "updated_at")
_JSON_COLUMNS = frozenset({"raw_data", "processed_data"})


def _upsert_sql(dialect: str, read_at: datetime | None = None) -> str:
    """The one upsert of `imported_data`, as driver SQL: rows arrive already encoded.

    Never replace a row with an older version of it: a slower, overlapping reader (another
    process, re-reading the boundary) may commit after a newer one. With `read_at` (when the
    API was asked for these rows), a row marked deleted after that moment stays deleted unless
    the incoming version changed after the deletion: a sync that read an item just before a
    webhook deleted it cannot revive it, even when the mark lands between lookup and write.
    """
    # psycopg2's execute_values expands the one %s into rows of `_PG_TEMPLATE`
    values = f"({', '.join('?' * len(_UPSERT_COLUMNS))}, NULL)" if dialect == "sqlite" else "%s"
    t = "imported_data"
    changed = (f"({t}.content_hash <> excluded.content_hash OR {t}.deleted_at IS NOT NULL) "
               f"AND ({t}.external_updated_at IS NULL OR excluded.external_updated_at IS NULL "
               f"OR excluded.external_updated_at >= {t}.external_updated_at)")
    if read_at is not None:
        # A literal of our own clock, not input: execute_values takes no other parameters.
        moment = (f"'{sqlite_timestamp(read_at)}'" if dialect == "sqlite"
                  else f"TIMESTAMPTZ '{read_at.astimezone(UTC).isoformat()}'")
        changed += (f" AND ({t}.deleted_at IS NULL OR {t}.deleted_at < {moment} "
                    f"OR excluded.external_updated_at > {t}.deleted_at)")
    return (f"INSERT INTO {t} ({', '.join(_UPSERT_COLUMNS)}, deleted_at) VALUES {values} "
            "ON CONFLICT (source, data_type, external_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _UPDATE_COLUMNS)
            + f", deleted_at = NULL WHERE {changed}")


_UPSERT_SQL = {"sqlite": _upsert_sql("sqlite"), "postgresql": _upsert_sql("postgresql")}
_REHASH_SQL = {
    dialect: f"UPDATE imported_data SET content_hash = {mark} WHERE source = {mark} AND "
             f"data_type = {mark} AND external_id = {mark}"
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s"))}
"""Replace an older release's hash of an unchanged row, leaving `updated_at` alone."""
_PG_TEMPLATE = "(" + ", ".join("%s::jsonb" if c in _JSON_COLUMNS else "%s"
                               for c in _UPSERT_COLUMNS) + ", NULL)"


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def sqlite_timestamp(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (and SQLite compares): naive UTC,
    `YYYY-MM-DD HH:MM:SS.ffffff`, always with the microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Warehouse:
    """SQLAlchemy Core access to the warehouse; one instance per process, shared by threads."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"json_serializer": _dumps, "echo": echo, "future": True}
        busy_timeout = _sqlite_busy_timeout(parsed) if self.dialect == "sqlite" else 0.0
        self._busy_timeout = busy_timeout
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 8
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        # SQLite allows one writer; serialising our own threads avoids busy-waiting on the lock.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, busy_timeout)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema ------------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create tables and views if missing; safe to run again (`gofap-import init-db`), and
        from two processes at once (PostgreSQL's DDL is serialised by an advisory lock)."""
        with self._writing() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn)
            # create_all skips tables that exist: a warehouse of an older release gets the
            # indexes added since here, and loses the ones they replace.
            for index in imported_data.indexes:
                index.create(conn, checkfirst=True)
            for name in SUPERSEDED_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            _add_missing_columns(conn)
            create_views(conn)
            for service in SERVICES:
                conn.execute(self._insert(sync_status).values(service=service, enabled=True)
                             .on_conflict_do_nothing(index_elements=["service"]))

    def schema_ready(self) -> bool:
        """Every table exists (a warehouse made by an older release lacks the newer ones)."""
        with self._reading() as conn:
            inspector = sa.inspect(conn)
            if not set(metadata.tables) <= set(inspector.get_table_names()):
                return False
            return not any(set(names) - {c["name"] for c in inspector.get_columns(table)}
                           for table, names in ADDED_COLUMNS.items())

    # -- the upsert path ---------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteCounts:
        """Upsert a batch's records, quarantine its bad ones and move its cursor, atomically.

        The rows are built and encoded before the write lock is taken; inside it, one lookup
        of the rows already held and one `executemany` of the new and changed ones.
        """
        now = utcnow()
        latest = {r.external_id: r for r in batch.records}  # a page may repeat an item
        stamp = sqlite_timestamp if self.dialect == "sqlite" else _aware
        written = stamp(now)
        rows = {external_id: self._row(record, stamp, written)
                for external_id, record in latest.items()}
        with self._writing() as conn:
            counts = self._upsert(conn, batch.source, batch.data_type, latest, rows,
                                  batch.read_at)
            counts.unchanged += len(batch.records) - len(latest)
            if batch.quarantined:
                conn.execute(import_errors.insert(), [
                    {"source": q.source, "data_type": q.data_type,
                     "partition_key": clean_text(q.partition_key),
                     "external_id": clean_text(q.external_id),
                     "kind": QUARANTINED if q.field is None else FIELD_NOTE,
                     "reason": clean_text(q.reason), "raw_text": clean_text(q.raw_text),
                     "seen_at": now}
                    for q in batch.quarantined])
                counts.field_notes = sum(1 for q in batch.quarantined if q.field is not None)
                counts.quarantined = len(batch.quarantined) - counts.field_notes
            if batch.cursor is not None:
                etag = batch.cursor.etag
                if etag is not None and len(etag) > _ETAG_LIMIT:
                    etag = None  # only an optimisation: a server's oversized one is dropped
                values: dict[str, Any] = {"cursor": batch.cursor.cursor, "etag": etag,
                                          "etag_url": batch.cursor.etag_url,
                                          "resume_url": None, "resume_cursor": None,
                                          "resume_etag": None}
                if batch.cursor.full_sync:
                    values["last_full_sync_at"] = now
                self._upsert_partition(conn, batch.source, batch.data_type,
                                       batch.partition_key, values)
        return counts

    def _upsert(self, conn: Connection, source: str, data_type: str,
                latest: dict[str, Record], rows: dict[str, tuple[Any, ...]],
                read_at: datetime | None = None) -> WriteCounts:
        counts = WriteCounts()
        if not latest:
            return counts
        existing = self._existing(conn, source, data_type, list(latest))
        changed: list[tuple[Any, ...]] = []
        rehashed: list[tuple[str, str, str, str]] = []
        for external_id, record in latest.items():
            digest = record.content_hash()
            known = existing.get(external_id)
            if known is None:
                counts.inserted += 1
            elif _older(record.external_updated_at, known[2]):
                counts.unchanged += 1  # a version older than the one we hold
                continue
            elif known[1] is not None and _read_before_deletion(record, read_at, known[1]):
                counts.unchanged += 1  # the deletion is newer than what this sync read
                continue
            elif known[1] is None and (known[0] == digest or (
                    not known[0].startswith(HASH_PREFIX)
                    and known[0] == record.legacy_content_hash())):
                counts.unchanged += 1
                if known[0] != digest:  # written by an older release: same row, new hash
                    rehashed.append((digest, source, data_type, external_id))
                continue
            else:
                counts.updated += 1
            changed.append(rows[external_id])
        if changed:
            self._executemany(conn, changed, read_at)
        if rehashed:
            conn.exec_driver_sql(_REHASH_SQL[self.dialect], rehashed)
        return counts

    def _executemany(self, conn: Connection, rows: list[tuple[Any, ...]],
                     read_at: datetime | None = None) -> None:
        """One statement for the page, straight to the driver: no per-row type processing."""
        sql = _UPSERT_SQL[self.dialect] if read_at is None else _upsert_sql(self.dialect, read_at)
        if self.dialect == "postgresql":
            import psycopg2  # here: SQLite runs never load it
            from psycopg2.extras import execute_values

            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                execute_values(cursor, sql, rows,
                               template=_PG_TEMPLATE, page_size=len(rows))
            except psycopg2.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, ...)
                raise sa.exc.DBAPIError.instance(sql, None, exc,
                                                 psycopg2.Error) from exc
            finally:
                cursor.close()
        else:
            conn.exec_driver_sql(sql, rows)

    @staticmethod
    def _row(record: Record, stamp: Callable[[datetime], Any], written: Any) -> tuple[Any, ...]:
        """A record as the driver takes it, in `_UPSERT_COLUMNS` order."""
        created, updated = record.external_created_at, record.external_updated_at
        return (record.source, record.data_type, record.external_id, record.parent_key,
                clean_text(record.title), clean_text(record.description),
                clean_text(record.state), written, written,
                None if created is None else stamp(created),
                None if updated is None else stamp(updated),
                record.raw_json, record.processed_json, record.content_hash(),
                bool(record.archived))

    def _existing(self, conn: Connection, source: str, data_type: str, external_ids: list[str],
                  ) -> dict[str, tuple[str, datetime | None, datetime | None]]:
        """Content hash, deletion time and external update time of the rows we already hold."""
        found: dict[str, tuple[str, datetime | None, datetime | None]] = {}
        t = imported_data.c
        for start in range(0, len(external_ids), _LOOKUP_CHUNK):
            chunk = external_ids[start:start + _LOOKUP_CHUNK]
            query = sa.select(t.external_id, t.content_hash, t.deleted_at,
                              t.external_updated_at).where(
                t.source == source, t.data_type == data_type, t.external_id.in_(chunk))
            for external_id, digest, deleted, updated in conn.execute(query):
                found[external_id] = (digest, deleted, updated)
        return found

    # -- reconciliation ----------------------------------------------------------------------

    def live_ids(self, source: str, data_type: str, parent_key: str | None) -> set[str]:
        t = imported_data.c
        query = sa.select(t.external_id).where(t.source == source, t.data_type == data_type,
                                               t.deleted_at.is_(None))
        if parent_key is not None:
            query = query.where(t.parent_key == parent_key)
        with self._reading() as conn:
            return set(conn.execute(query).scalars())

    def mark_deleted(self, source: str, data_type: str, external_ids: Iterable[str], *,
                     parent_key: str | None = None, deleted_at: datetime | None = None) -> int:
        """Mark items a full sync no longer found (or a webhook deleted); they stay in
        `imported_data`.

        With `parent_key`, only rows still under that parent are marked, so an item that moved
        to another partition (and was rewritten there meanwhile) is left alone. `deleted_at` is
        the deletion's time when the source told us (a webhook's receipt), else now: only a
        version read or changed after it revives the row.
        """
        ids = sorted(external_ids)
        if not ids:
            return 0
        t = imported_data.c
        now = utcnow()
        deleted_at = min(deleted_at or now, now)
        marked = 0
        with self._writing() as conn:
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start:start + _LOOKUP_CHUNK]
                stmt = (imported_data.update()
                        .where(t.source == source, t.data_type == data_type,
                               t.external_id.in_(chunk), t.deleted_at.is_(None))
                        .values(deleted_at=deleted_at, updated_at=now))
                if parent_key is not None:
                    stmt = stmt.where(t.parent_key == parent_key)
                result = conn.execute(stmt)
                marked += result.rowcount
        return marked

    def mark_orphans_deleted(self, source: str, parent_type: str, child_types: Sequence[str],
                             *, parent_prefix: str = "", deleted_at: datetime | None = None,
                             ) -> int:
        """Mark children whose parent is gone (a deleted or renamed repository's items).

        Children are matched to parents by `parent_key` = the parent row's `title` (a
        repository's full name); only parents under `parent_prefix` (an org) are considered.
        Runs on every sync, so it reads the distinct parent keys from the index and touches
        only the rows of parents that are gone.
        """
        t = imported_data.c
        live_parents = sa.select(t.title).where(t.source == source,
                                                t.data_type == parent_type,
                                                t.deleted_at.is_(None))
        now = utcnow()
        deleted_at = min(deleted_at or now, now)
        marked = 0
        with self._writing() as conn:
            known = set(conn.execute(live_parents).scalars())
            for child_type in child_types:
                gone = [key for key in self._parent_keys(conn, source, child_type)
                        if key.startswith(parent_prefix) and key not in known]
                for start in range(0, len(gone), _LOOKUP_CHUNK):
                    stmt = (imported_data.update()
                            .where(t.source == source, t.data_type == child_type,
                                   t.parent_key.in_(gone[start:start + _LOOKUP_CHUNK]),
                                   t.deleted_at.is_(None))
                            .values(deleted_at=deleted_at, updated_at=now))
                    marked += conn.execute(stmt).rowcount
        return marked

    def parent_keys(self, source: str, data_type: str, table: sa.Table = imported_data,
                    ) -> list[str]:
        """The distinct non-null `parent_key`s of a data type, live rows or not."""
        with self._reading() as conn:
            return self._parent_keys(conn, source, data_type, table)

    @staticmethod
    def _parent_keys(conn: Connection, source: str, data_type: str,
                     table: sa.Table = imported_data) -> list[str]:
        # A loose index scan: one index seek per distinct key (a repository, a team), where
        # SELECT DISTINCT would read every row's entry.
        t = table.c
        scope = sa.and_(t.source == source, t.data_type == data_type)
        keys = sa.select(sa.func.min(t.parent_key).label("key")).where(scope) \
            .cte("keys", recursive=True)
        following = sa.select(sa.func.min(t.parent_key)).where(
            scope, t.parent_key > keys.c.key).scalar_subquery()
        keys = keys.union_all(sa.select(following).where(keys.c.key.is_not(None)))
        query = sa.select(keys.c.key).where(keys.c.key.is_not(None))
        return list(conn.execute(query).scalars())

    # -- reading -----------------------------------------------------------------------------

    def browse(self, *, source: str | None = None, data_type: str | None = None,
               state: str | None = None, search: str | None = None,
               since: datetime | None = None, limit: int = 20,
               include_deleted: bool = False) -> list[dict[str, Any]]:
        """Newest rows first; every filter is a bound parameter, never SQL text."""
        t = imported_data.c
        query = sa.select(t.source, t.data_type, t.external_id, t.title, t.state,
                          t.external_updated_at, t.parent_key, t.processed_data)
        if source:
            query = query.where(t.source == source)
        if data_type:
            query = query.where(t.data_type == data_type)
        if state:  # `--state OPEN` finds `open`; both sides folded by the database
            query = query.where(sa.func.lower(t.state) == sa.func.lower(state))
        if search:
            # The database lowers both sides, so needle and text fold alike (SQLite folds ASCII
            # only: a Python-lowered needle would miss "Ü" in its own text).
            query = query.where(sa.or_(t.title.icontains(search, autoescape=True),
                                       t.description.icontains(search, autoescape=True)))
        if since:
            query = query.where(t.external_updated_at >= since)
        if not include_deleted:
            query = query.where(t.deleted_at.is_(None))
        # Newest first, undated rows last: two index walks (`ix_imported_data_recent`) rather
        # than a sort of every row, which NULLS LAST would force on PostgreSQL.
        newest = t.external_updated_at.desc(), t.id.desc()
        with self._reading() as conn:
            found = [dict(r._mapping) for r in conn.execute(
                query.where(t.external_updated_at.is_not(None)).order_by(*newest).limit(limit))]
            if len(found) < limit:
                found += [dict(r._mapping) for r in conn.execute(
                    query.where(t.external_updated_at.is_(None)).order_by(t.id.desc())
                    .limit(limit - len(found)))]
        return found

    def live_count(self, source: str, data_type: str | None = None) -> int:
        """Rows not marked deleted, of one type or (None) of every type of `source`."""
        t = imported_data.c
        query = sa.select(sa.func.count()).where(t.source == source, t.deleted_at.is_(None))
        if data_type is not None:
            query = query.where(t.data_type == data_type)
        with self._reading() as conn:
            return int(conn.execute(query).scalar_one())

    def import_error_counts(self, source: str) -> dict[str, int]:
        """`import_errors` rows of `source` by kind (every kind, zero included)."""
        t = import_errors.c
        query = sa.select(t.kind, sa.func.count()).where(t.source == source).group_by(t.kind)
        with self._reading() as conn:
            found = dict(conn.execute(query).tuples().all())
        return {kind: int(found.get(kind, 0)) for kind in ERROR_KINDS}

    def list_import_errors(self, *, source: str | None = None, data_type: str | None = None,
                      kind: str | None = None, since: datetime | None = None,
                      limit: int = 20) -> list[dict[str, Any]]:
        """Newest first; every filter is a bound parameter."""
        t = import_errors.c
        query = sa.select(t.seen_at, t.source, t.data_type, t.kind, t.partition_key,
                          t.external_id, t.reason, t.raw_text)
        for column, value in ((t.source, source), (t.data_type, data_type), (t.kind, kind)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(t.seen_at >= since)
        query = query.order_by(t.seen_at.desc(), t.id.desc()).limit(limit)
        with self._reading() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- partition and service bookkeeping ---------------------------------------------------

    def partition_state(self, source: str, data_type: str, partition_key: str) -> PartitionState:
        t = sync_partitions.c
        query = sa.select(t.cursor, t.etag, t.etag_url, t.resume_url, t.resume_cursor,
                          t.resume_etag).where(
            t.source == source, t.data_type == data_type, t.partition_key == partition_key)
        with self._reading() as conn:
            row = conn.execute(query).first()
        return PartitionState(*row) if row else PartitionState(None, None, None)

    def record_partition_result(self, source: str, data_type: str, partition_key: str, *,
                                items: int, error: str | None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"last_sync_at": now, "deferred_until": None}
        if error is None:
            values["last_success_at"] = now
        else:
            values.update(last_error=error, last_error_at=now)
        with self._writing() as conn:
            self._upsert_partition(conn, source, data_type, partition_key, values,
                                   add_items=items)

    def record_partition_deferred(self, source: str, data_type: str, partition_key: str, *,
                                  until: datetime, items: int = 0) -> None:
        """The rate-limit budget ran out before this partition finished: resume it after
        `until`. Its cursor stays where the committed rows put it."""
        with self._writing() as conn:
            self._upsert_partition(conn, source, data_type, partition_key,
                                   {"last_sync_at": utcnow(), "deferred_until": until},
                                   add_items=items)

    def record_resume_point(self, source: str, data_type: str, partition_key: str, *,
                            url: str | None, cursor: str | None,
                            etag: str | None = None) -> None:
        """Where an interrupted listing goes on (the link after its last committed page), the
        cursor and first-page ETag it commits at its end; `url=None` forgets it (the listing
        starts over). The listing's own ETag is left alone until it completes: answering its
        first page with a 304 now would skip the pages not yet read."""
        if etag is not None and len(etag) > _ETAG_LIMIT:
            etag = None
        with self._writing() as conn:
            self._upsert_partition(conn, source, data_type, partition_key,
                                   {"resume_url": url, "resume_cursor": cursor,
                                    "resume_etag": etag})

    def deferred_partitions(self, source: str, data_types: Sequence[str] | None = None
                            ) -> dict[tuple[str, str], datetime]:
        """(data_type, partition_key) -> until when, for every partition waiting on a budget."""
        t = sync_partitions.c
        query = sa.select(t.data_type, t.partition_key, t.deferred_until).where(
            t.source == source, t.deferred_until.is_not(None))
        if data_types is not None:
            query = query.where(t.data_type.in_(list(data_types)))
        with self._reading() as conn:
            return {(row[0], row[1]): row[2] for row in conn.execute(query)}

    def record_service_run(self, service: str, *, items: int, error: str | None) -> None:
        """Count one sync attempt of a service (an asset materialization) in `sync_status`."""
        now = utcnow()
        t = sync_status.c
        values: dict[str, Any] = {"last_sync_at": now,
                                  "total_items_synced": t.total_items_synced + items}
        if error is None:
            values.update(last_success_at=now, success_count=t.success_count + 1)
        else:
            values.update(failure_count=t.failure_count + 1, last_error=error[:4000],
                          last_error_at=now)
        with self._writing() as conn:
            self._ensure_service(conn, service)
            conn.execute(sync_status.update().where(t.service == service).values(**values))
            conn.execute(sync_history.insert().values(
                service=service, finished_at=now, ok=error is None, items=items,
                error=error[:4000] if error else None))

    def recent_success_rate(self, service: str, last: int = 20) -> tuple[float | None, int]:
        """Share of the last `last` sync attempts that succeeded, and how many there were."""
        h = sync_history.c
        query = (sa.select(h.ok).where(h.service == service)
                 .order_by(h.finished_at.desc(), h.id.desc()).limit(last))
        with self._reading() as conn:
            outcomes = list(conn.execute(query).scalars())
        if not outcomes:
            return None, 0
        return sum(1 for ok in outcomes if ok) / len(outcomes), len(outcomes)

    def service_status(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(sa.select(sync_status).order_by(sync_status.c.service))
            return [dict(r._mapping) for r in rows]

    def set_service(self, service: str, *, enabled: bool | None = None,
                    interval_minutes: int | None = None) -> None:
        values: dict[str, Any] = {}
        if enabled is not None:
            values["enabled"] = enabled
        if interval_minutes is not None:
            values["sync_interval_minutes"] = interval_minutes
        with self._writing() as conn:
            self._ensure_service(conn, service)
            conn.execute(sync_status.update().where(sync_status.c.service == service)
                         .values(**values))

    def _ensure_service(self, conn: Connection, service: str) -> None:
        conn.execute(self._insert(sync_status).values(service=service, enabled=True)
                     .on_conflict_do_nothing(index_elements=["service"]))

    def _upsert_partition(self, conn: Connection, source: str, data_type: str,
                          partition_key: str, values: dict[str, Any], add_items: int = 0) -> None:
        # No valid key is this long; an invalid one is still recorded (with its error), cut to
        # the column rather than failing the whole run on PostgreSQL.
        partition_key = clean_text(partition_key[:_PARTITION_KEY_LIMIT]) or ""
        stmt = self._insert(sync_partitions).values(
            source=source, data_type=data_type, partition_key=partition_key,
            items_synced=add_items, **values)
        set_: dict[str, Any] = {k: stmt.excluded[k] for k in values}
        if add_items:
            set_["items_synced"] = sync_partitions.c.items_synced + add_items
        if not set_:
            stmt = stmt.on_conflict_do_nothing(index_elements=["source", "data_type",
                                                               "partition_key"])
        else:
            stmt = stmt.on_conflict_do_update(
                index_elements=["source", "data_type", "partition_key"], set_=set_)
        conn.execute(stmt)

    # -- plumbing ----------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction, serialised and error-mapped like every other write."""
        return self._writing()

    def insert(self, table: sa.Table) -> Any:
        """This backend's INSERT, with `on_conflict_do_nothing` / `on_conflict_do_update`."""
        return self._insert(table)

    def _insert(self, table: sa.Table) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(gofap_write=True)
                with conn.begin():
                    yield conn
        except sa.exc.OperationalError as exc:
            hint = ""
            if self.dialect == "sqlite" and "locked" in str(exc.orig):
                hint = (f"; another program holds its write lock (waited {self._busy_timeout:g}s;"
                        " more with ?timeout=SECONDS in DATABASE_URL)")
            raise WarehouseError(f"warehouse write failed ({_masked(self.url)}): "
                                 f"{exc.orig or exc}{hint}") from exc
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise WarehouseError(f"warehouse unreachable ({_masked(self.url)}): "
                                 f"{exc.orig or exc}") from exc


def _add_missing_columns(conn: Connection) -> None:
    """Add the columns a warehouse made by an older release lacks: nullable, or NOT NULL with
    their default, then filled in where the old rows tell (`_BACKFILLS`)."""
    inspector = sa.inspect(conn)
    for table_name, names in ADDED_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table_name)}
        for name in names:
            if name in present:
                continue
            column = metadata.tables[table_name].c[name]
            ddl = column.type.compile(dialect=conn.dialect)
            if column.server_default is not None:
                ddl += f" DEFAULT '{column.server_default.arg}'"  # type: ignore[attr-defined]
                ddl += "" if column.nullable else " NOT NULL"
            conn.execute(sa.text(f'ALTER TABLE "{table_name}" ADD COLUMN "{name}" {ddl}'))
            backfill = _BACKFILLS.get((table_name, name))
            if backfill is not None:
                conn.execute(backfill)


_BACKFILLS = {
    # Field notes were told apart by their reason alone ("field 'x' stored as null ...").
    ("import_errors", "kind"): import_errors.update()
    .where(import_errors.c.reason.like("field % stored as null%"))
    .values(kind=FIELD_NOTE),
}


def _older(incoming: datetime | None, held: datetime | None) -> bool:
    return incoming is not None and held is not None and incoming < held


def _read_before_deletion(record: Record, read_at: datetime | None, deleted_at: datetime) -> bool:
    """The row was marked deleted after the API was asked for this version, which has not
    changed since the deletion: only a read after the mark, or a newer version, revives it."""
    if read_at is None or read_at > deleted_at:
        return False
    updated = record.external_updated_at
    return updated is None or updated <= deleted_at


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_busy_timeout(url: URL) -> float:
    """Seconds a write waits for another process's lock: `sqlite:///w.db?timeout=5`, else 30."""
    value = url.query.get("timeout", "30")
    try:
        return max(0.0, float(value if isinstance(value, str) else value[0]))
    except ValueError:
        raise WarehouseError(f"DATABASE_URL timeout={value!r} is not a number of seconds"
                             ) from None


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    """WAL so readers never block the writer; BEGIN IMMEDIATE so writers queue, not deadlock."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Switching a new file to WAL needs every other connection out of the way; several
        # connecting at once can deadlock on it, which SQLite answers at once with "locked"
        # instead of waiting. The switch is persistent, so retry until one of them made it.
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("gofap_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
