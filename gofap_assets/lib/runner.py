"""Materialize many partitions in one run: bounded concurrency, isolated failures, metadata.

Dagster runs a single-run backfill of a partitioned asset as one step over all the partitions, so
a whole organization costs one process, not one per repository. Each partition succeeds or fails
on its own: a failing one is recorded in `sync_partitions`/`sync_status` and reported, and the
others' data and materializations are kept.
"""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from gofap_assets.http import ApiError, BudgetExhaustedError, RequestStats
from gofap_assets.ingest import PartitionOutcome
from gofap_assets.lib.scheduling import service_state
from gofap_assets.logs import get_logger, redact
from gofap_assets.warehouse import Warehouse, WarehouseError, WriteCounts
from gofap_assets.warehouse.catalog import reference
from gofap_assets.warehouse.locks import LockHolder, SyncLocks

Work = Callable[[str], PartitionOutcome]
progress_log = get_logger("progress")


def _guarded(work: Work, key: str, source: str, data_type: str) -> PartitionOutcome:
    try:
        return work(key)
    except WarehouseError:
        raise
    except BudgetExhaustedError as exc:
        return PartitionOutcome(source, data_type, key, deferred_until=exc.until)
    except ApiError as exc:
        return PartitionOutcome(source, data_type, key, error=str(exc))
    except Exception as exc:  # one partition's surprise must not lose the others' work
        return PartitionOutcome(source, data_type, key,
                                error=redact(f"{type(exc).__name__}: {exc}"))


def live_row_count(warehouse: Warehouse, source: str, data_type: str) -> int:
    return warehouse.live_count(source, data_type)


@contextmanager
def sync_lock(context: dg.AssetExecutionContext, warehouse: Warehouse,
              service: str) -> Iterator[None]:
    """Hold this asset's sync lock: a second sync of the same asset waits for the first, so two
    syncs never interleave their pages and cursors."""
    name = f"{service}/{context.asset_key.to_user_string()}"

    def waiting(holder: LockHolder) -> None:
        _progress(context, f"waiting: another sync of {name} is running ({holder.describe()}); "
                           "this one goes on when it finishes", warning=True)

    with SyncLocks(warehouse).hold(name, on_wait=waiting):
        yield


def request_metadata(stats: RequestStats, before: dict[str, int | None]) -> dict[str, object]:
    """What the API calls since `before` cost, and the rate limit left after them."""
    after = stats.snapshot()

    def spent(name: str) -> int:
        return int(after[name] or 0) - int(before[name] or 0)

    remaining = after["rate_limit_remaining"]
    metadata: dict[str, object] = {
        "requests": spent("requests"), "not_modified_304": spent("not_modified"),
        "retries": spent("retries"), "rate_limit_waits": spent("rate_limit_waits"),
        "rate_limit_remaining": remaining if remaining is not None else -1}
    credentials = stats.credentials()
    if credentials:
        metadata["credentials"] = dg.MetadataValue.json(credentials)
    return metadata


def deferral_metadata(outcomes: Sequence[PartitionOutcome]) -> dict[str, object]:
    """How many partitions wait for the budget, and from when the earliest can go on."""
    until = [o.deferred_until for o in outcomes if o.deferred_until is not None]
    if not until:
        return {"partitions_deferred": 0}
    return {"partitions_deferred": len(until),
            "deferred_until": min(until).strftime("%Y-%m-%dT%H:%M:%SZ")}


def recent_rows_preview(warehouse: Warehouse, source: str, data_type: str) -> dg.MetadataValue:
    """The most recently changed rows, shown as a table on the materialization in the UI."""
    rows = warehouse.browse(source=source, data_type=data_type, limit=5)
    for row in rows:
        row["reference"] = reference(row)
    columns = ["reference", "title", "state", "external_updated_at"]
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: "" if row[c] is None else str(row[c])[:80]
                                 for c in columns}) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns]))


def _result_metadata(warehouse: Warehouse, service: str, data_type: str,
                     totals: WriteCounts) -> dict[str, object]:
    return {**totals.as_metadata(),
            "dagster/row_count": live_row_count(warehouse, service, data_type),
            "preview": recent_rows_preview(warehouse, service, data_type)}


def run_listing(
    context: dg.AssetExecutionContext,
    *,
    service: str,
    work: Callable[[], PartitionOutcome],
    warehouse: Warehouse,
    stats: RequestStats,
    extra: Callable[[], Mapping[str, object]] = dict,
    deferred_listing: tuple[str, str] | None = None,
) -> dg.MaterializeResult:
    """Run an unpartitioned listing and record the attempt in `sync_status`, either way.

    `deferred_listing` is the (data_type, partition_key) under which `sync_partitions` records
    a listing the rate-limit budget stopped (default: the asset's name and `*`)."""
    before = stats.snapshot()
    try:
        with sync_lock(context, warehouse, service):
            outcome = work()
    except BudgetExhaustedError as exc:
        # Not a failure: the listing is read again, first thing, once the budget is back.
        data_type, key = deferred_listing or (context.asset_key.path[-1][:32], "*")
        warehouse.record_partition_deferred(service, data_type, key, until=exc.until)
        warehouse.record_service_run(service, items=0, error=None)
        _progress(context, f"{data_type}: deferred until {_utc(exc.until)} (rate-limit "
                           "budget exhausted)", warning=True)
        outcome = PartitionOutcome(service, data_type, key, deferred_until=exc.until)
        return dg.MaterializeResult(metadata={
            **_result_metadata(warehouse, service, data_type, outcome.counts),
            **request_metadata(stats, before), **deferral_metadata([outcome])})
    except Exception as exc:
        warehouse.record_service_run(service, items=0, error=redact(str(exc)))
        raise
    warehouse.record_service_run(service, items=outcome.counts.written, error=None)
    _progress(context, f"{outcome.data_type}: {_summary(outcome)}")
    return dg.MaterializeResult(metadata={
        **_result_metadata(warehouse, service, outcome.data_type, outcome.counts),
        **request_metadata(stats, before), **deferral_metadata([]), **extra(),
        # The service's switch, interval, last sync and success rate, where operators look.
        **service_state(warehouse, service).metadata()})


def run_partitions(
    context: dg.AssetExecutionContext,
    *,
    service: str,
    data_type: str,
    keys: Sequence[str],
    work: Work,
    warehouse: Warehouse,
    stats: RequestStats,
    concurrency: int,
    extra: Callable[[], Mapping[str, object]] = dict,
) -> dg.MaterializeResult:
    """Run `work` for every key; raise a Failure naming the failed keys after keeping the rest.

    The asset's sync lock is held throughout. A warehouse failure stops the run at once (every
    other partition would only fail the same way), keeping what was committed.
    """
    before = stats.snapshot()
    started = time.monotonic()
    outcomes: list[PartitionOutcome] = []
    keys = resume_order(warehouse, service, data_type, keys)
    with sync_lock(context, warehouse, service), \
            ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(keys)))) as pool:
        futures = [pool.submit(_guarded, work, key, service, data_type) for key in keys]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                outcome = future.result()
                outcomes.append(outcome)
                if outcome.deferred_until is not None:
                    warehouse.record_partition_deferred(
                        service, data_type, outcome.partition_key, until=outcome.deferred_until,
                        items=outcome.counts.written)
                    status = (f"deferred until {_utc(outcome.deferred_until)} (rate-limit "
                              "budget exhausted)")
                else:
                    warehouse.record_partition_result(service, data_type,
                                                      outcome.partition_key,
                                                      items=outcome.counts.written,
                                                      error=outcome.error)
                    status = f"failed: {outcome.error}" if outcome.error else _summary(outcome)
                if outcome.error or len(keys) <= 20 or done % max(1, len(keys) // 20) == 0:
                    _progress(context, f"[{done}/{len(keys)}] {data_type} "
                                       f"{outcome.partition_key}: {status}")
        except WarehouseError:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    totals = WriteCounts()
    for outcome in outcomes:
        totals += outcome.counts
    failures = sorted((o for o in outcomes if o.error), key=lambda o: o.partition_key)
    metadata: dict[str, object] = {
        **_result_metadata(warehouse, service, data_type, totals),
        "partitions": len(keys),
        "partitions_failed": len(failures),
        **deferral_metadata(outcomes),
        **request_metadata(stats, before),
        "duration_seconds": round(time.monotonic() - started, 3),
        **extra(),
    }
    error = "; ".join(f"{o.partition_key}: {o.error}" for o in failures[:10]) or None
    warehouse.record_service_run(service, items=totals.written, error=error)
    deferred = [o for o in outcomes if o.deferred_until is not None]
    if deferred:
        _progress(context, f"{len(deferred)} of {len(keys)} {data_type} partitions deferred "
                           f"until {metadata['deferred_until']}: the rate-limit budget is spent; "
                           "the next sync resumes them first", warning=True)
    if failures:
        for outcome in outcomes:
            if not outcome.error and outcome.deferred_until is None and len(keys) > 1:
                context.log_event(dg.AssetMaterialization(
                    asset_key=context.asset_key, partition=outcome.partition_key,
                    metadata=outcome.counts.as_metadata()))
        raise dg.Failure(
            description=f"{len(failures)} of {len(keys)} {data_type} partitions failed: {error}",
            metadata={**metadata, "failed_partitions": ", ".join(o.partition_key
                                                                   for o in failures)})
    return dg.MaterializeResult(metadata=metadata)


def resume_order(warehouse: Warehouse, service: str, data_type: str,
                 keys: Sequence[str]) -> list[str]:
    """Partitions a spent budget deferred go first, soonest due first; the rest keep order."""
    deferred = {key: until for (_t, key), until in
                warehouse.deferred_partitions(service, [data_type]).items()}
    if not deferred:
        return list(keys)
    waiting = sorted((k for k in keys if k in deferred), key=lambda k: (deferred[k], k))
    return waiting + [k for k in keys if k not in deferred]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _progress(context: dg.AssetExecutionContext, message: str, *, warning: bool = False) -> None:
    """To the run's event log (the UI) and to the `gofap` logger (the terminal of a CLI sync)."""
    if warning:
        context.log.warning(message)
        progress_log.warning("%s %s", context.asset_key.to_user_string(), message)
    else:
        context.log.info(message)
        progress_log.info("%s %s", context.asset_key.to_user_string(), message)


def _summary(outcome: PartitionOutcome) -> str:
    if outcome.not_modified:
        return "not modified (304)"
    c = outcome.counts
    text = f"{c.inserted} new, {c.updated} updated, {c.unchanged} unchanged"
    if c.quarantined:
        text += f", {c.quarantined} quarantined"
    if c.field_notes:
        text += (f", {c.field_notes} fields stored as null "
                 "(gofap-import list-errors --kind field_note)")
    if c.deleted:
        text += f", {c.deleted} marked deleted"
    return f"{text} ({outcome.note})" if outcome.note else text
