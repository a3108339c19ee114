"""`archive_job`: `gofap-import archive` from the Dagster UI (Launchpad config, run history).

The same `warehouse.retention` functions the command calls; a bad cutoff or an unwritable
directory fails the run with the one-line reason before anything is touched.
"""

from pathlib import Path

import dagster as dg

from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.warehouse.retention import RetentionError, archive, parse_cutoff, plan


class ArchiveConfig(dg.Config):
    """What `gofap-import archive` takes as flags."""

    deleted_before: str
    """YYYY-MM-DD (midnight UTC) or an ISO time; not in the future."""
    output_dir: str = "archive"
    """Where the Parquet files go, relative to the run's working directory unless absolute."""
    dry_run: bool = False
    """Count what would move; touch nothing."""


@dg.op(description="Moves rows marked deleted before a date to one Parquet file per data type.")
def archive_deleted_rows(context: dg.OpExecutionContext, config: ArchiveConfig,
                         warehouse: WarehouseResource) -> dg.Output[int]:
    try:
        cutoff = parse_cutoff(config.deleted_before)
        if config.dry_run:
            found = plan(warehouse.warehouse, cutoff)
        else:
            found = archive(warehouse.warehouse, cutoff, Path(config.output_dir))
    except RetentionError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    verb = "would be archived" if config.dry_run else "archived"
    for item in found:
        where = f" to {item.path}" if item.path else ""
        context.log.info(f"{item.source} {item.data_type}: {item.rows} rows {verb}{where}")
    total = sum(item.rows for item in found)
    metadata: dict[str, dg.RawMetadataValue] = {
        "deleted_before": cutoff.isoformat(), "dry_run": config.dry_run, "rows": total,
        **{f"{item.source}.{item.data_type}": item.rows for item in found}}
    if not config.dry_run:
        metadata["files"] = dg.MetadataValue.json(
            [str(item.path) for item in found if item.path])
    return dg.Output(total, metadata=metadata)


@dg.job(description="gofap-import archive as a job: rows marked deleted before "
        "`deleted_before` move to Parquet (one file and transaction per data type); "
        "`dry_run` only counts them. `gofap-import restore FILE` puts them back.",
        executor_def=dg.in_process_executor)
def archive_job() -> None:
    archive_deleted_rows()
