"""Retention: rows deleted before a date go to Parquet and come back exactly."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
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


def _run_archive_job(warehouse: Warehouse, **config: object) -> dg.ExecuteInProcessResult:

    from gofap_assets.retention_job import archive_job
    from gofap_assets.warehouse.resource import WarehouseResource

    return archive_job.execute_in_process(
        run_config={"ops": {"archive_deleted_rows": {"config": config}}},
        resources={"warehouse": WarehouseResource(database_url=warehouse.url)},
        raise_on_error=False, instance=dg.DagsterInstance.ephemeral())


def test_the_archive_job_counts_on_a_dry_run_then_moves_the_rows(warehouse: Warehouse,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "archive"
    before = _snapshot(warehouse)
    dry = _run_archive_job(warehouse, deleted_before="2026-02-01", dry_run=True,
                           output_dir=str(out))
    assert dry.success and dry.output_for_node("archive_deleted_rows") == 2504
    assert _snapshot(warehouse) == before and not out.exists()

    done = _run_archive_job(warehouse, deleted_before="2026-02-01", output_dir=str(out))
    assert done.success and done.output_for_node("archive_deleted_rows") == 2504
    (materialized,) = [e for e in done.all_node_events if e.is_successful_output]
    files = materialized.event_specific_data.metadata["files"].value  # type: ignore[union-attr]
    assert sorted(Path(f).name.split("-deleted-")[0] for f in files) == ["github-commit",
                                                                        "github-issue"]
    assert all(Path(f).exists() for f in files) and len(_snapshot(warehouse)) == 5
    for f in files:
        restore(warehouse, Path(f))
    assert _snapshot(warehouse) == before


def test_the_archive_job_fails_with_the_reason_on_a_future_date(warehouse: Warehouse,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "archive"
    before = _snapshot(warehouse)
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    result = _run_archive_job(warehouse, deleted_before=future, output_dir=str(out))
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "is in the future" in str(failure.step_failure_data.error)
    assert _snapshot(warehouse) == before and not out.exists()
