"""Lenient validation: a record that has its identity always lands.

A field of the wrong type or shape (a number where text belongs, `null` where a list belongs) is
stored as null and reported as a field-level note; only a record whose identity fields are
unusable fails validation as a whole, and is quarantined by `ingest`. Every mapper validates
through `validate` so the rule holds for every type of both services.
"""

from collections.abc import Collection
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, StringConstraints, ValidationError

from gofap_assets.warehouse.records import COLUMN_LIMITS, FieldNote

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class _NotNullMarker:
    """Marks a model field the API documents as always present and never null."""


NOT_NULL = _NotNullMarker()
NotNull = Annotated[T | None, NOT_NULL]
"""`title: NotNull[str] = None`: a null or missing value is stored as null with a note."""

_MAX_PASSES = 3
"""Re-validations after nulling fields; a model whose nullable fields reject null needs more."""


def _in_utc_range(moment: datetime) -> datetime:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range in UTC") from None
    return moment


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]
"""An aware timestamp that exists in UTC too (`0001-01-01T00:30:00+01:00` does not)."""


def _whole(value: float) -> int:
    if not float(value).is_integer():
        raise ValueError("must be a whole number")
    if not -(2**63) <= value < 2**63:
        raise ValueError("does not fit a 64-bit integer")
    return int(value)


WholeNumber = Annotated[float, AfterValidator(_whole)]
"""A counter typed as a float by its API (Linear's `number`, `priority`): a whole one, as int."""


def _reasons(exc: ValidationError) -> dict[Any, str]:
    """The top-level input keys a validation error blames, each with its first message."""
    found: dict[Any, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        key = loc[0] if loc else None
        if key not in found:
            where = ".".join(str(p) for p in loc)
            found[key] = f"{where}: {error['msg']}" if len(loc) > 1 else error["msg"]
    return found


@cache
def _not_null_keys(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(info.alias or name for name, info in model.model_fields.items()
                 if NOT_NULL in info.metadata)


def _missing(model: type[BaseModel], data: dict[str, Any],
             noted: Collection[str]) -> list[FieldNote]:
    return [FieldNote(key, "null or missing where the API always sends a value", data.get(key))
            for key in _not_null_keys(model) if data.get(key) is None and key not in noted]


def validate(model: type[M], raw: dict[str, Any], *,
             identity: Collection[str] = ("id",)) -> tuple[M, tuple[FieldNote, ...]]:
    """Validate `raw` as `model`, nulling the top-level fields that do not fit.

    Returns the model and one note per nulled field, and per `NotNull` field that came null or
    missing. Raises the original ValidationError when a field in `identity` (the record's key,
    or what places it in a partition) is at fault, or when nulling does not make the object
    valid (a model field that cannot be null).
    """
    try:
        return model.model_validate(raw), tuple(_missing(model, raw, ()))
    except ValidationError as exc:
        first = exc
    data = dict(raw)
    notes: list[FieldNote] = []
    error = first
    for _ in range(_MAX_PASSES):
        reasons = _reasons(error)
        if any(not isinstance(key, str) or key in identity or (key in data and data[key] is None)
               for key in reasons):
            raise first
        for key, reason in reasons.items():
            notes.append(FieldNote(key, reason, raw.get(key)))
            data[key] = None
        try:
            validated = model.model_validate(data)
        except ValidationError as exc:
            error = exc
            continue
        return validated, (*notes, *_missing(model, raw, {n.field for n in notes}))
    raise first


StateText = Annotated[str, StringConstraints(max_length=COLUMN_LIMITS["state"])]
"""A `state` the warehouse's bounded column can hold; a longer one is not a real state."""
