"""Retention: rows deleted before a date go to Parquet and come back exactly."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.retention import RetentionError, archive, parse_cutoff, plan, restore
from gofap_assets.warehouse.schema import imported_data

OLD = datetime(2026, 1, 10, 12, 30, 15, 123456, tzinfo=UTC)


def _rows(n: int, deleted_at: datetime | None, kind: str = "issue") -> list[dict]:
    return [{"source": "github", "data_type": kind, "external_id": f"{kind}-{deleted_at}-{i}",
             "parent_key": "acme/api", "title": f"t{i} ü", "description": None, "state": "open",
             "created_at": OLD, "updated_at": OLD, "external_created_at": OLD,
             "external_updated_at": None, "raw_data": {"n": i, "nested": [1, "x"]},
             "processed_data": {"k": "v"}, "content_hash": f"{i:040d}", "archived": False,
             "deleted_at": deleted_at} for i in range(n)]


def _snapshot(warehouse: Warehouse) -> list[tuple]:
    with warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(imported_data).order_by(imported_data.c.id))]


@pytest.fixture
def warehouse(database_url: str) -> Warehouse:
    w = Warehouse(database_url)
    w.create_schema()
    with w.transaction() as conn:
        conn.execute(sa.insert(imported_data), _rows(2500, OLD) + _rows(3, None)
                     + _rows(2, OLD + timedelta(days=60)) + _rows(4, OLD, kind="commit"))
    return w


def test_archive_then_restore_puts_every_row_back_exactly(warehouse: Warehouse,
                                                          tmp_path: Path) -> None:
    before = _snapshot(warehouse)
    cutoff = parse_cutoff("2026-02-01")
    assert [(p.data_type, p.rows) for p in plan(warehouse, cutoff)] == [("commit", 4),
                                                                         ("issue", 2500)]
    done = archive(warehouse, cutoff, tmp_path)
    assert sorted((d.data_type, d.rows) for d in done) == [("commit", 4), ("issue", 2500)]
    assert all(d.path is not None and d.path.exists() for d in done)
    assert not list(tmp_path.glob("*.partial"))
    left = _snapshot(warehouse)
    assert len(left) == 5 and all(r[-1] is None or r[-1] > cutoff for r in left)
    assert plan(warehouse, cutoff) == []
    for d in done:
        assert d.path is not None
        result = restore(warehouse, d.path)
        assert (result.rows, result.restored, result.skipped) == (d.rows, d.rows, 0)
    assert _snapshot(warehouse) == before
    again = restore(warehouse, done[0].path)  # type: ignore[arg-type]
    assert again.restored == 0 and again.skipped == again.rows


def test_bad_input_is_refused_and_nothing_is_touched(warehouse: Warehouse,
                                                     tmp_path: Path) -> None:
    before = _snapshot(warehouse)
    with pytest.raises(RetentionError, match="in the future"):
        parse_cutoff((datetime.now(UTC) + timedelta(days=2)).date().isoformat())
    with pytest.raises(RetentionError, match="not a date"):
        parse_cutoff("last tuesday")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(RetentionError, match="not a readable Parquet file"):
        restore(warehouse, junk)
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": [1]}), other)
    with pytest.raises(RetentionError, match="not a GOFAP archive"):
        restore(warehouse, other)
    with pytest.raises(RetentionError, match="no such file"):
        restore(warehouse, tmp_path / "missing.parquet")
    assert _snapshot(warehouse) == before
