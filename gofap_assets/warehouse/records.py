"""What the API mappings hand to the warehouse: typed rows, quarantined records, cursor moves."""

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gofap_assets.warehouse.schema import imported_data

COLUMN_LIMITS: dict[str, int] = {name: imported_data.c[name].type.length
                                 for name in ("external_id", "parent_key", "state")}
"""Lengths of `imported_data`'s bounded columns (PostgreSQL enforces them)."""
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8)."""
HASH_PREFIX = "2:"
"""Marks a content hash of this format; rows written before it hold a bare 40-digit SHA-1 of
the standard library's JSON (`Record.legacy_content_hash`)."""
_HASH_DIGITS = imported_data.c.content_hash.type.length - len(HASH_PREFIX)
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Datetimes and dataclasses go through `default=str`, as they did with the standard library."""
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
"""A JSON `\\u0000` escape, not the literal text `\\u0000` (an escaped backslash before it)."""


def storable(text: str) -> bool:
    """No NUL and no lone surrogate; checked in C so the common case costs no regex scan."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value: str | None) -> str | None:
    """Both backends store U+FFFD for what neither can hold, so they agree."""
    return value if not value or storable(value) else UNSTORABLE.sub("\ufffd", value)


def encode_json(value: Any) -> bytes:
    """The JSON the warehouse stores for `value` (UTF-8), with U+FFFD for NUL and lone
    surrogates. orjson for the common document; the standard library for what orjson refuses
    (integers past 64 bits, lone surrogates, keys that are not strings), as before."""
    try:
        data = orjson.dumps(value, default=str, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False, default=str)
        data = (text if storable(text) else UNSTORABLE.sub("\ufffd", text)).encode("utf-8")
    if b"\\u0000" in data:
        data = _ESCAPED_NUL.sub(rb"\1\\ufffd", data)
    return data


_SCALARS = frozenset({str, int, bool, type(None)})


def _finite(value: Any) -> bool:
    """No NaN or Infinity anywhere in a JSON document (orjson would write them as null)."""
    for item in value.values() if isinstance(value, dict) else value:
        if type(item) in _SCALARS:
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict | list | tuple) and not _finite(item):
            return False
    return True


@dataclass(frozen=True, slots=True)
class FieldNote:
    """A field that did not fit its type: stored as null, its record still imported."""

    field: str
    reason: str
    value: Any
    """What the API sent, for the note's raw text."""


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
    notes: tuple[FieldNote, ...] = field(default=(), compare=False)
    """Fields nulled by lenient validation; `ingest` records them in `import_errors`."""
    _digest: str = field(init=False, repr=False, compare=False, default="")
    _raw_json: str = field(init=False, repr=False, compare=False, default="")
    _processed_json: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        """Refuse what the warehouse cannot hold, so the mapping quarantines it (ValueError)
        instead of the database rejecting the whole page."""
        if not self.external_id:
            raise ValueError("the external id is empty")
        for name, limit in COLUMN_LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"{name} is longer than {limit} characters")
        for name in ("external_id", "parent_key"):
            value = getattr(self, name)
            if value is not None and UNSTORABLE.search(value):
                raise ValueError(f"{name} holds NUL or an unpaired surrogate")
        for name in ("external_created_at", "external_updated_at"):
            moment = getattr(self, name)
            if moment is None:
                continue
            if moment.tzinfo is None:
                raise ValueError(f"{name} has no time zone")
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise ValueError(f"{name} {moment.isoformat()} is out of range in UTC") from None
        for key, value in self.processed_data.items():  # what the typed views cast
            if isinstance(value, int) and not isinstance(value, bool) \
                    and not -(2**63) <= value < 2**63:
                raise ValueError(f"{key} {value} does not fit a 64-bit integer")
        if not (_finite(self.raw_data) and _finite(self.processed_data)):
            raise ValueError("holds NaN or Infinity, which JSON cannot represent")
        # Serialised once, here (in the worker that mapped it, not under the writer lock), and
        # the hash is taken over exactly the bytes the warehouse stores.
        raw = encode_json(self.raw_data)
        processed = encode_json(self.processed_data)
        header = orjson.dumps([self.parent_key, clean_text(self.title),
                               clean_text(self.description), clean_text(self.state),
                               self.archived])
        digest = hashlib.sha256(header)  # the fastest here (SHA extensions), cut to the column
        digest.update(b"\x1f")
        digest.update(raw)
        digest.update(b"\x1f")
        digest.update(processed)
        object.__setattr__(self, "_digest", HASH_PREFIX + digest.hexdigest()[:_HASH_DIGITS])
        object.__setattr__(self, "_raw_json", raw.decode("utf-8"))
        object.__setattr__(self, "_processed_json", processed.decode("utf-8"))

    def content_hash(self) -> str:
        """Changes exactly when anything the warehouse stores about the entity changes."""
        return self._digest

    def legacy_content_hash(self) -> str | None:
        """The hash rows written before `HASH_PREFIX` hold, to recognise them as unchanged."""
        document = [self.parent_key, self.title, self.description, self.state, self.archived,
                    self.raw_data, self.processed_data]
        try:
            encoded = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False,
                                 allow_nan=False)
        except (TypeError, ValueError):
            return None
        return hashlib.sha1(encoded.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def raw_json(self) -> str:
        """`raw_data` as the warehouse stores it."""
        return self._raw_json

    @property
    def processed_json(self) -> str:
        """`processed_data` as the warehouse stores it."""
        return self._processed_json


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that could not be imported, kept with the reason and its raw text."""

    source: str
    data_type: str
    partition_key: str | None
    external_id: str | None
    reason: str
    raw_text: str
    field: str | None = None
    """Set for a field-level note (the record itself was imported), None for a whole record."""


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
    read_at: datetime | None = None
    """When the API was asked for these records (at the latest): a deletion marked after it
    stands unless a record changed after the deletion. None: read just now."""


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    field_notes: int = 0
    """Fields stored as null because they did not fit (their records were imported)."""
    extra: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: "WriteCounts") -> "WriteCounts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.deleted += other.deleted
        self.field_notes += other.field_notes
        return self

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    @property
    def seen(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def as_metadata(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "quarantined": self.quarantined, "marked_deleted": self.deleted,
                "field_notes": self.field_notes}
