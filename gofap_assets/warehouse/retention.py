"""Retention: rows marked deleted long ago move to Parquet files, and can come back exactly.

One file and one transaction per data type. The rows are read in id order in pages (locked on
PostgreSQL, under the write lock on SQLite), each page is written to the file and deleted; the
file is made durable and given its final name before the transaction commits, and removed if it
does not. A crash can at worst leave a file beside the rows it holds (restoring it then skips
them): a row is never in neither place.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gofap_assets.warehouse.records import encode_json
from gofap_assets.warehouse.schema import imported_data
from gofap_assets.warehouse.store import Warehouse, utcnow

PAGE_ROWS = 2_000
"""Rows read, written and deleted at a time: memory stays flat however many are archived."""
FORMAT_KEY, FORMAT = b"gofap.archive", b"imported_data/1"
"""Parquet key-value metadata that says a file is ours, and which layout it has."""
SOURCE_KEY, DATA_TYPE_KEY = b"gofap.source", b"gofap.data_type"
_JSON = ("raw_data", "processed_data")
_COLUMNS = tuple(c.name for c in imported_data.columns)


class RetentionError(ValueError):
    """Archive or restore was asked for something it cannot do; nothing was touched."""


@dataclass(frozen=True)
class TypeArchive:
    """One data type's rows deleted before the cutoff: how many, and the file that holds them."""

    source: str
    data_type: str
    rows: int
    path: Path | None = None


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    source: str
    data_type: str
    rows: int
    restored: int

    @property
    def skipped(self) -> int:
        """Rows whose id or identity is in the warehouse already (the item came back)."""
        return self.rows - self.restored


def _arrow() -> Any:
    import pyarrow as pa  # here, not at the top: only archive and restore need it (0.2 s)

    return pa


def archive_schema(source: str = "", data_type: str = "") -> Any:
    pa = _arrow()
    stamp = pa.timestamp("us", tz="UTC")
    types = {"id": pa.int64(), "archived": pa.bool_(), "created_at": stamp, "updated_at": stamp,
             "external_created_at": stamp, "external_updated_at": stamp, "deleted_at": stamp}
    fields = [pa.field(name, types.get(name, pa.string()),
                       nullable=name not in ("id", "source", "data_type", "external_id"))
              for name in _COLUMNS]
    return pa.schema(fields, metadata={FORMAT_KEY: FORMAT, SOURCE_KEY: source.encode(),
                                       DATA_TYPE_KEY: data_type.encode()})


def parse_cutoff(text: str, *, now: datetime | None = None) -> datetime:
    """`--deleted-before`: a date (midnight UTC) or an ISO time; never in the future."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RetentionError(f"--deleted-before {text!r} is not a date (YYYY-MM-DD)") from None
    if len(text.strip()) <= 10:  # a bare date means its first moment
        moment = datetime.combine(date.fromisoformat(text.strip()), datetime.min.time())
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > (now or utcnow()):
        raise RetentionError(f"--deleted-before {text} is in the future: nothing can have been "
                             "deleted before it yet")
    return moment.astimezone(UTC)


def _doomed(cutoff: datetime) -> Any:
    t = imported_data.c
    return sa.and_(t.deleted_at.is_not(None), t.deleted_at < cutoff)


def plan(warehouse: Warehouse, cutoff: datetime) -> list[TypeArchive]:
    """The rows `archive` would move, per data type (what `--dry-run` prints)."""
    t = imported_data.c
    query = (sa.select(t.source, t.data_type, sa.func.count()).where(_doomed(cutoff))
             .group_by(t.source, t.data_type).order_by(t.source, t.data_type))
    with warehouse.engine.connect() as conn:
        return [TypeArchive(source, data_type, int(rows))
                for source, data_type, rows in conn.execute(query)]


def archive(warehouse: Warehouse, cutoff: datetime, directory: Path) -> list[TypeArchive]:
    """Move every row marked deleted before `cutoff` to one Parquet file per data type."""
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK):
        raise RetentionError(f"cannot write archives to {directory}: permission denied")
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    done = []
    for planned in plan(warehouse, cutoff):
        name = (f"{planned.source}-{planned.data_type}-deleted-before-"
                f"{cutoff:%Y%m%dT%H%M%SZ}-{stamp}.parquet")
        done.append(_archive_type(warehouse, planned, cutoff, directory / name))
    return done


def _archive_type(warehouse: Warehouse, planned: TypeArchive, cutoff: datetime,
                  path: Path) -> TypeArchive:
    import pyarrow.parquet as pq

    pa, schema = _arrow(), archive_schema(planned.source, planned.data_type)
    partial = path.with_name(path.name + ".partial")
    rows = 0
    try:
        with warehouse.transaction() as conn:
            with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
                for page in _pages(conn, warehouse.dialect, planned, cutoff):
                    writer.write_batch(pa.RecordBatch.from_pylist(
                        [_encoded(row) for row in page], schema=schema))
                    conn.execute(sa.delete(imported_data)
                                 .where(imported_data.c.id.in_([row["id"] for row in page])))
                    rows += len(page)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            if path.exists():
                raise RetentionError(f"{path} exists already; not overwritten")
            os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise
    return TypeArchive(planned.source, planned.data_type, rows, path)


def _pages(conn: Connection, dialect: str, planned: TypeArchive,
           cutoff: datetime) -> Iterator[list[dict[str, Any]]]:
    t = imported_data.c
    after = 0
    while True:
        query = (sa.select(imported_data)
                 .where(t.source == planned.source, t.data_type == planned.data_type,
                        _doomed(cutoff), t.id > after)
                 .order_by(t.id).limit(PAGE_ROWS))
        if dialect == "postgresql":  # a webhook reviving one of them waits for the commit
            query = query.with_for_update()
        page = [dict(row._mapping) for row in conn.execute(query)]
        if not page:
            return
        yield page
        after = page[-1]["id"]


def _encoded(row: dict[str, Any]) -> dict[str, Any]:
    for name in _JSON:
        row[name] = encode_json(row[name]).decode("utf-8")
    return row


def restore(warehouse: Warehouse, path: Path) -> RestoreResult:
    """Put an archive's rows back with their ids, hashes and timestamps, in one transaction.
    A row whose id or identity is in the warehouse again (the item came back) is left alone."""
    import orjson

    source, data_type, parquet = read_archive(path)
    insert = warehouse.insert(imported_data).on_conflict_do_nothing().returning(
        imported_data.c.id)
    restored = rows = 0
    with warehouse.transaction() as conn:
        for batch in parquet.iter_batches(batch_size=PAGE_ROWS):
            page = batch.to_pylist()
            for row in page:
                for name in _JSON:
                    row[name] = orjson.loads(row[name])
            rows += len(page)
            restored += len(conn.execute(insert, page).all())
        if warehouse.dialect == "postgresql" and restored:
            _advance_sequence(conn)
    return RestoreResult(path, source, data_type, rows, restored)


def _advance_sequence(conn: Connection) -> None:
    """Ids restored into another warehouse must never be handed out again there."""
    sequence = conn.execute(sa.text(
        "SELECT pg_get_serial_sequence('imported_data', 'id')")).scalar_one()
    highest = conn.execute(sa.select(sa.func.max(imported_data.c.id))).scalar_one()
    last = conn.execute(sa.text(f"SELECT last_value FROM {sequence}")).scalar_one()
    if highest is not None and highest > last:
        conn.execute(sa.text("SELECT setval(:sequence, :highest)"),
                     {"sequence": sequence, "highest": highest})


def read_archive(path: Path) -> tuple[str, str, Any]:
    """The archive's source and data type, and the open file; RetentionError for a file that
    cannot be read or is not one of ours."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except FileNotFoundError:
        raise RetentionError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise RetentionError(f"{path} is not a readable Parquet file: "
                             f"{' '.join(str(exc).split())}") from None
    schema = parquet.schema_arrow
    metadata = schema.metadata or {}
    if metadata.get(FORMAT_KEY) != FORMAT:
        raise RetentionError(f"{path} is not a GOFAP archive of imported_data "
                             f"(no {FORMAT_KEY.decode()}={FORMAT.decode()} in its metadata)")
    expected = archive_schema()
    if not schema.remove_metadata().equals(expected.remove_metadata()):
        have, want = set(map(str, schema)), set(map(str, expected))
        raise RetentionError(
            f"{path} has another layout than {FORMAT.decode()}: missing "
            f"{sorted(want - have) or 'nothing'}, unexpected {sorted(have - want) or 'nothing'}")
    return (metadata.get(SOURCE_KEY, b"").decode(), metadata.get(DATA_TYPE_KEY, b"").decode(),
            parquet)
