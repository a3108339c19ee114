"""What the API mappings hand to the warehouse: typed rows, quarantined records, cursor moves."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One entity in the unified `imported_data` format."""

    source: str
    data_type: str
    external_id: str
    parent_key: str | None
    title: str | None
    description: str | None
    state: str | None
    external_created_at: datetime | None
    external_updated_at: datetime | None
    raw_data: dict[str, Any]
    processed_data: dict[str, Any]
    archived: bool = False

    def content_hash(self) -> str:
        """Changes exactly when anything the warehouse stores about the entity changes."""
        document = [self.parent_key, self.title, self.description, self.state, self.archived,
                    self.raw_data, self.processed_data]
        encoded = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha1(encoded.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that could not be imported, kept with the reason and its raw text."""

    source: str
    data_type: str
    partition_key: str | None
    external_id: str | None
    reason: str
    raw_text: str


@dataclass(frozen=True, slots=True)
class CursorUpdate:
    """A partition's new incremental state, committed in the same transaction as its rows."""

    cursor: str | None
    etag: str | None = None
    etag_url: str | None = None
    full_sync: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    source: str
    data_type: str
    partition_key: str
    records: Sequence[Record] = ()
    quarantined: Sequence[Quarantined] = ()
    cursor: CursorUpdate | None = None


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: "WriteCounts") -> "WriteCounts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.deleted += other.deleted
        return self

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    @property
    def seen(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def as_metadata(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "quarantined": self.quarantined, "marked_deleted": self.deleted}
