"""`webhook_deliveries`: committed on receipt, read and marked by the processing.

A delivery's life: received (no outcome), then either decided at once (`deleted`, `ignored: ...`,
`failed: ...`) or handed to a sync run (`run_key` set), and finished when that run has ended.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import webhook_deliveries
from gofap_assets.warehouse.store import utcnow

OUTCOME_LIMIT = 2000


@dataclass(frozen=True)
class Delivery:
    """One verified delivery, as the receiver stores it."""

    service: str
    delivery_id: str
    event: str
    action: str | None
    partition_key: str | None
    payload: dict[str, Any]
    outcome: str | None = None
    """Set on receipt only when there is nothing to apply (`ping`, an event we do not import)."""
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Stored:
    """A row of `webhook_deliveries` the processing works on."""

    id: int
    service: str
    delivery_id: str
    event: str
    action: str | None
    partition_key: str | None
    payload: dict[str, Any]
    received_at: datetime
    run_key: str | None


def insert_all(warehouse: Warehouse, deliveries: Sequence[Delivery]) -> list[bool]:
    """Commit the deliveries in one transaction; for each, whether it was new (a redelivery
    of a known `(service, delivery_id)` is a no-op)."""
    now = utcnow()
    fresh = []
    with warehouse.transaction() as conn:
        for delivery in deliveries:
            stmt = warehouse.insert(webhook_deliveries).values(
                service=delivery.service, delivery_id=delivery.delivery_id,
                event=delivery.event, action=delivery.action,
                partition_key=delivery.partition_key, received_at=delivery.received_at,
                payload=delivery.payload, outcome=delivery.outcome,
                processed_at=now if delivery.outcome is not None else None,
            ).on_conflict_do_nothing(index_elements=["service", "delivery_id"])
            fresh.append(conn.execute(stmt).rowcount == 1)
    return fresh


def _stored(row: Any) -> Stored:
    return Stored(row.id, row.service, row.delivery_id, row.event, row.action,
                  row.partition_key, row.payload, row.received_at, row.run_key)


def _unfinished(limit: int, *, handed: bool) -> sa.Select[Any]:
    t = webhook_deliveries.c
    run = t.run_key.is_not(None) if handed else t.run_key.is_(None)
    return (sa.select(t.id, t.service, t.delivery_id, t.event, t.action, t.partition_key,
                      t.payload, t.received_at, t.run_key)
            .where(t.processed_at.is_(None), run).order_by(t.id).limit(limit))


def pending(warehouse: Warehouse, limit: int = 5000) -> list[Stored]:
    """Deliveries not yet applied nor handed to a run, oldest first."""
    with warehouse.engine.connect() as conn:
        return [_stored(row) for row in conn.execute(_unfinished(limit, handed=False))]


def handed_to_runs(warehouse: Warehouse, limit: int = 5000) -> list[Stored]:
    """Deliveries waiting for the sync run they were handed to."""
    with warehouse.engine.connect() as conn:
        return [_stored(row) for row in conn.execute(_unfinished(limit, handed=True))]


def finish(warehouse: Warehouse, outcomes: Mapping[int, str]) -> None:
    """Record each delivery's outcome and when it was decided."""
    if not outcomes:
        return
    now = utcnow()
    t = webhook_deliveries.c
    with warehouse.transaction() as conn:
        for delivery, outcome in outcomes.items():
            conn.execute(webhook_deliveries.update().where(t.id == delivery).values(
                processed_at=now, outcome=outcome[:OUTCOME_LIMIT]))


def hand_to_run(warehouse: Warehouse, ids: Iterable[int], run_key: str | None) -> None:
    """Note (or, with None, forget) the run that applies these deliveries."""
    ids = list(ids)
    if not ids:
        return
    t = webhook_deliveries.c
    with warehouse.transaction() as conn:
        conn.execute(webhook_deliveries.update().where(t.id.in_(ids)).values(run_key=run_key))


def counts(warehouse: Warehouse) -> dict[str, int]:
    """How many deliveries each outcome has (`pending` for those without one yet)."""
    t = webhook_deliveries.c
    label = sa.func.coalesce(t.outcome, "pending")
    with warehouse.engine.connect() as conn:
        return {str(outcome): int(n) for outcome, n in
                conn.execute(sa.select(label, sa.func.count()).group_by(label))}
