"""Linear's wire values: timestamps, date inputs and opaque cursors.

Timestamps are held as integer epoch milliseconds (Linear's precision) so indexes sort and compare
them cheaply, and are rendered only when a node is built.
"""

import base64
import binascii
import re
import time
from datetime import UTC, datetime, timedelta

from graphql import GraphQLError

DAY_MS = 86_400_000

_DURATION = re.compile(r"^([+-])?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def iso(ms: int) -> str:
    """``2026-07-01T12:00:00.000Z``: UTC, millisecond precision, ``Z``, as Linear sends it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """A ``TimelessDate``: the UTC calendar day."""
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def format_datetime(value: datetime) -> str:
    return iso(to_ms(value))


def parse_datetime(text: str, now: datetime) -> datetime:
    """Linear's DateTime input: ISO-8601, a year shortcut like ``2021``, or a duration (``-P2W1D``)
    relative to ``now``."""
    match = _DURATION.match(text)
    if match and any(match.groups()[1:]):
        sign, years, months, weeks, days, hours, minutes, seconds = match.groups()
        delta = timedelta(days=365 * int(years or 0) + 30 * int(months or 0)
                          + 7 * int(weeks or 0) + int(days or 0), hours=int(hours or 0),
                          minutes=int(minutes or 0), seconds=float(seconds or 0))
        return now - delta if sign == "-" else now + delta
    if re.fullmatch(r"\d{4}", text):
        return datetime(int(text), 1, 1, tzinfo=UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise GraphQLError(f"Invalid date: {text!r} is not an ISO-8601 date or duration") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class InvalidCursor(ValueError):
    """A pagination cursor this emulator did not issue."""


def encode_cursor(key: int, node_id: str) -> str:
    """Opaque to clients; holds the last item's (sort value, id) so a page boundary survives
    inserts, deletes and re-sorting updates between requests, unlike an offset."""
    return base64.urlsafe_b64encode(f"{key}:{node_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        key, _, node_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode() \
            .partition(":")
        return int(key), node_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(f"invalid cursor {cursor!r}") from exc
