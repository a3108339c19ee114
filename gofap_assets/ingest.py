"""The one path from fetched API pages to committed warehouse rows, shared by both services.

A service's fetcher yields pages of raw objects; this module maps each object (quarantining the
ones without an identity, noting the fields stored as null), writes every page in its own
transaction with the partition's cursor riding on the last one, and after a complete full
listing marks what disappeared.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from gofap_assets.warehouse import (
    Batch,
    CursorUpdate,
    FieldNote,
    Quarantined,
    Record,
    Warehouse,
    WriteCounts,
)
from gofap_assets.warehouse.records import COLUMN_LIMITS
from gofap_assets.warehouse.store import utcnow


class MappingError(ValueError):
    """An API object has the wrong shape for its type; the record is quarantined."""


Mapper = Callable[[dict[str, Any]], Record | None]
"""Maps one raw API object to a Record; None means "not this type" (a PR in the issues list)."""


@dataclass
class Page:
    items: list[Any]
    last: bool
    cursor: CursorUpdate | None = None
    """Committed with this page's rows; only the last page of a listing carries one."""


@dataclass
class PartitionOutcome:
    source: str
    data_type: str
    partition_key: str
    counts: WriteCounts = field(default_factory=WriteCounts)
    pages: int = 0
    not_modified: bool = False
    complete: bool = False
    error: str | None = None
    note: str | None = None
    deferred_until: datetime | None = None
    """The rate-limit budget ran out before the partition finished: resume it from then on."""


def describe_invalid(exc: Exception) -> str:
    """A short, specific reason for the quarantine table."""
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "object"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return str(exc) or type(exc).__name__


def raw_text(item: Any, limit: int = 1_000_000) -> str:
    try:
        text = json.dumps(item, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(item)
    return text[:limit]


def field_note(outcome: PartitionOutcome, record: Record, note: FieldNote) -> Quarantined:
    """The `import_errors` row of a field that was stored as null in an imported record."""
    return Quarantined(outcome.source, outcome.data_type, outcome.partition_key,
                       record.external_id,
                       f"field {note.field!r} stored as null (the record was imported): "
                       f"{note.reason}", raw_text(note.value), field=note.field)


def _external_id(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("id", "sha"):
            value = item.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                text = str(value)
                return text if 0 < len(text) <= COLUMN_LIMITS["external_id"] else None
    return None


def ingest_pages(warehouse: Warehouse, outcome: PartitionOutcome, pages: Iterable[Page],
                 mapper: Mapper, *,
                 reconcile: Literal["partition", "all"] | None = None) -> PartitionOutcome:
    """Write every page; with `reconcile`, mark rows the complete listing lacked.

    `partition` compares against this partition's rows (a repository's issues), `all` against
    every row of the data type (the repository listing itself).
    """
    seen: set[str] | None = set() if reconcile else None
    unidentified = 0
    pages = iter(pages)
    while True:
        asked_at = utcnow()  # pages are read lazily: this is before the request that answers
        page = next(pages, None)
        if page is None:
            break
        records: list[Record] = []
        quarantined: list[Quarantined] = []
        for item in page.items:
            try:
                if not isinstance(item, dict):
                    raise MappingError(f"expected a JSON object, got {type(item).__name__}")
                record = mapper(item)
            except (ValidationError, MappingError, ValueError, TypeError, KeyError) as exc:
                external_id = _external_id(item)
                quarantined.append(Quarantined(
                    outcome.source, outcome.data_type, outcome.partition_key,
                    external_id, describe_invalid(exc), raw_text(item)))
                if seen is not None:
                    # It exists at the API even if it cannot be imported: never mark it deleted.
                    if external_id is None:
                        unidentified += 1
                    else:
                        seen.add(external_id)
                continue
            if record is None:
                continue
            records.append(record)
            quarantined += (field_note(outcome, record, note) for note in record.notes)
            if seen is not None:
                seen.add(record.external_id)
        outcome.counts += warehouse.write(Batch(outcome.source, outcome.data_type,
                                                outcome.partition_key, records, quarantined,
                                                page.cursor, read_at=asked_at))
        outcome.pages += 1
        if page.last:
            outcome.complete = True
    if seen is not None and outcome.complete and not unidentified:
        parent = outcome.partition_key if reconcile == "partition" else None
        gone = warehouse.live_ids(outcome.source, outcome.data_type, parent) - seen
        outcome.counts.deleted += warehouse.mark_deleted(outcome.source, outcome.data_type, gone,
                                                         parent_key=parent)
    elif seen is not None and unidentified:
        outcome.note = (f"{unidentified} quarantined items had no id: nothing was marked "
                        "deleted")
    return outcome
