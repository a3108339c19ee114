"""When a service is due, and how its partitions are cut into runs: shared by schedules, sensors
and checks so they judge a service the same way, from the warehouse's `sync_status`.

The warehouse (not the deployed code) holds each service's switch and interval, so
`gofap-import configure-service` and `set-interval` take effect at the next tick.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.sync_runner import PLANS, RANGE_END, RANGE_START, TRIGGER_TAG, ServicePlan
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import sync_history, sync_partitions

SERVICE_TAG = "gofap/service"
"""Tag on every run a schedule or sensor requests, naming the service it syncs."""
MAX_PARTITIONS_PER_RUN = 100
"""A tick for thousands of repositories becomes tens of runs, not thousands."""
CREDENTIALS = {"github": "GITHUB_TOKEN", "linear": "LINEAR_API_KEY"}
PARTITIONED_DATA_TYPES = {"github": ("issue", "pull_request", "commit", "issue_comment",
                                     "pull_request_review", "review_comment", "label",
                                     "milestone", "release"),
                          "linear": ("issue", "comment", "cycle", "workflow_state")}
"""The `sync_partitions.data_type`s each service's partitioned assets record per partition."""
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]
SUCCESS_RATE_WINDOW = 20
"""Sync attempts the success rate looks back over (status, UI metadata, the success-rate check)."""
IN_FLIGHT_HORIZON = timedelta(hours=24)
"""An older run still marked in flight is a leftover (its process died), not a sync to wait on."""


def service_of_asset(asset: str) -> str | None:
    for plan in PLANS.values():
        if asset in plan.listing_assets or asset in plan.every_partitioned:
            return plan.service
    return None


@dataclass(frozen=True)
class ServiceState:
    """A service's switch, interval and last sync, as a schedule tick sees them."""

    service: str
    configured: bool
    enabled: bool
    interval_minutes: int
    interval_overridden: bool
    last_sync_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    success_rate: float | None = None
    """Share of the last `recent_syncs` attempts that succeeded; None before the first."""
    recent_syncs: int = 0

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.interval_minutes)

    @property
    def interval_source(self) -> str:
        return "set-interval" if self.interval_overridden else "SYNC_INTERVAL_MINUTES"

    def settings_summary(self) -> str:
        """Enabled, interval, last sync and success rate in one line, as an operator asks."""
        switch = "enabled" if self.enabled else "disabled"
        if not self.configured:
            switch += f", not configured ({CREDENTIALS[self.service]} unset)"
        last = (f"last sync {self.last_sync_at:%Y-%m-%d %H:%M}Z" if self.last_sync_at
                else "never synced")
        rate = (f"{self.success_rate:.0%} of the last {self.recent_syncs} syncs succeeded"
                if self.success_rate is not None else "no syncs yet")
        return (f"{self.service}: {switch}, every {self.interval_minutes} min (from "
                f"{self.interval_source}), {last}, {rate}")

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """The same as materialization metadata, for the listing asset's page in the UI."""
        return {
            "service_enabled": dg.MetadataValue.bool(self.enabled),
            "sync_interval_minutes": dg.MetadataValue.int(self.interval_minutes),
            "sync_interval_from": dg.MetadataValue.text(self.interval_source),
            "last_sync": (dg.MetadataValue.timestamp(self.last_sync_at) if self.last_sync_at
                          else dg.MetadataValue.text("never")),
            "success_rate": dg.MetadataValue.text(
                f"{self.success_rate:.0%} of the last {self.recent_syncs} syncs"
                if self.success_rate is not None else "no syncs yet"),
            "service_settings": dg.MetadataValue.text(self.settings_summary()),
        }

    def inactive_reason(self) -> str | None:
        """Why the service must not sync at all (unconfigured or disabled), or None."""
        name = self.service
        if not self.configured:
            return f"{name} is not configured ({CREDENTIALS[name]} is unset); nothing to sync"
        if not self.enabled:
            return (f"{name} syncs are disabled; enable them with "
                    f"`gofap-import configure-service {name} --enabled`")
        return None

    def skip_reason(self, now: datetime) -> str | None:
        """Why no sync should start at `now` (with the service's settings, so the tick history
        in the UI answers "is it on, how often, how is it doing"), or None when one is due."""
        inactive = self.inactive_reason()
        if inactive is not None:
            return f"{inactive}. {self.settings_summary()}"
        if self.last_sync_at is None:
            return None
        elapsed = now - self.last_sync_at
        if elapsed >= self.interval:
            return None
        wait = self.interval - elapsed
        return (f"{self.service} last synced {_minutes(elapsed)} ago; next sync due in "
                f"{_minutes(wait)} (every {self.interval_minutes} min, from "
                f"{self.interval_source}). {self.settings_summary()}")


def _minutes(delta: timedelta) -> str:
    return f"{max(0, int(delta.total_seconds() // 60))} min"


def service_state(warehouse: Warehouse, service: str,
                  settings: Settings | None = None) -> ServiceState:
    """Read the service's row; a fresh warehouse means enabled, default interval, never synced."""
    settings = settings or Settings.from_env()
    row: dict[str, Any] = {}
    if warehouse.schema_ready():
        row = next((r for r in warehouse.service_status() if r["service"] == service), {})
    override = row.get("sync_interval_minutes")
    rate, attempts = (warehouse.recent_success_rate(service, last=SUCCESS_RATE_WINDOW) if row
                      else (None, 0))
    return ServiceState(
        service=service,
        configured=settings.github_enabled if service == "github" else settings.linear_enabled,
        enabled=bool(row.get("enabled", True)),
        interval_minutes=override or settings.sync_interval_minutes,
        interval_overridden=override is not None,
        last_sync_at=row.get("last_sync_at"),
        last_success_at=row.get("last_success_at"),
        last_error=row.get("last_error"),
        last_error_at=row.get("last_error_at"),
        success_rate=rate,
        recent_syncs=attempts,
    )


def partition_ranges(ordered_keys: Sequence[str], wanted: set[str] | None = None,
                     max_per_run: int = MAX_PARTITIONS_PER_RUN) -> Iterator[tuple[str, str]]:
    """(first, last) key of each run: contiguous stretches of `wanted` keys in partition order.

    Dynamic partitions are ordered as they were added, and a range tag covers every key between
    its ends in that order, so a range may only span keys that are all wanted.
    """
    chunk: list[str] = []
    for key in ordered_keys:
        if wanted is None or key in wanted:
            chunk.append(key)
            if len(chunk) == max_per_run:
                yield chunk[0], chunk[-1]
                chunk = []
        elif chunk:
            yield chunk[0], chunk[-1]
            chunk = []
    if chunk:
        yield chunk[0], chunk[-1]


def range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


def listing_keys(plan: ServicePlan) -> list[dg.AssetKey]:
    return [dg.AssetKey(name) for name in plan.listing_assets]


def partitioned_keys(plan: ServicePlan) -> list[dg.AssetKey]:
    return [dg.AssetKey(name) for name in plan.every_partitioned]


def runs_in_flight(instance: dg.DagsterInstance, service: str, now: datetime) -> int:
    """Queued or running runs a schedule or sensor requested for `service` lately.

    `gofap-import sync` runs (trigger `cli`) are left out: they run in the CLI's process, which
    no run monitor watches, so one killed mid-run would look in flight for a day. Their sync
    locks already keep them from interleaving with a scheduled run."""
    return sum(instance.get_runs_count(filters=dg.RunsFilter(
        tags={SERVICE_TAG: service, TRIGGER_TAG: trigger}, statuses=IN_FLIGHT,
        created_after=now - IN_FLIGHT_HORIZON)) for trigger in ("schedule", "sensor"))


def attempted_partitions(warehouse: Warehouse, service: str) -> dict[str, set[str]]:
    """Partition keys each partitioned data type has tried at least once, from `sync_partitions`."""
    data_types = PARTITIONED_DATA_TYPES[service]
    attempted: dict[str, set[str]] = {data_type: set() for data_type in data_types}
    if not warehouse.schema_ready():
        return attempted
    t = sync_partitions.c
    query = sa.select(t.data_type, t.partition_key).where(
        t.source == service, t.data_type.in_(data_types), t.last_sync_at.is_not(None))
    with warehouse.engine.connect() as conn:
        for data_type, key in conn.execute(query):
            attempted[data_type].add(key)
    return attempted


def never_synced(warehouse: Warehouse, service: str, keys: Sequence[str]) -> set[str]:
    """Keys that at least one of the service's partitioned assets has never tried."""
    attempted = attempted_partitions(warehouse, service).values()
    return {key for key in keys if not all(key in done for done in attempted)}


def failures_recorded_since(warehouse: Warehouse, service: str, since: datetime) -> int:
    """Failed sync attempts `sync_history` holds for `service` from `since` on."""
    h = sync_history.c
    query = sa.select(sa.func.count()).where(h.service == service, h.ok.is_(False),
                                             h.finished_at >= since)
    with warehouse.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def utcnow() -> datetime:
    return datetime.now(UTC)
