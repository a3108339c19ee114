"""Relay paging over sorted index lists, as the world serves every connection.

Index entries are (sort value in epoch ms, id) tuples, so ids break ties and the order is total;
a cursor holds the last entry, so the next page starts with a bisect wherever that entry is now.
"""

import bisect
import heapq
from collections.abc import Callable, Iterator, Sequence

from gofap_assets.sandbox.linear.values import decode_cursor

Key = tuple[int, str]
DEFAULT_PAGE = 50


def paginate(lists: Sequence[list[Key]], accept: Callable[[str], bool], *, first: int | None,
             after: str | None, last: int | None, before: str | None, low: int | None,
             high: int | None) -> tuple[list[Key], bool, bool]:
    """Relay paging over sorted key lists merged in order, skipping entries ``accept`` rejects.

    ``low``/``high`` bound the sort key (from the filter) so the scan starts with a bisect.
    Returns the page's keys in ascending order, hasNextPage and hasPreviousPage."""
    backward = last is not None and first is None
    limit = last if backward else first
    if limit is None:
        limit = DEFAULT_PAGE
    cursor = before if backward else after
    position = decode_cursor(cursor) if cursor else None
    found: list[Key] = []
    if backward:
        streams = [_backward(entries, position, high) for entries in lists]
        for key in heapq.merge(*streams, reverse=True):
            if low is not None and key[0] < low:
                break
            if accept(key[1]):
                found.append(key)
                if len(found) > limit:
                    break
        more = len(found) > limit
        page = found[:limit][::-1]
        return page, before is not None, more
    streams = [_forward(entries, position, low) for entries in lists]
    for key in heapq.merge(*streams):
        if high is not None and key[0] > high:
            break
        if accept(key[1]):
            found.append(key)
            if len(found) > limit:
                break
    return found[:limit], len(found) > limit, after is not None


def _forward(entries: list[Key], position: Key | None, low: int | None) -> Iterator[Key]:
    start = bisect.bisect_right(entries, position) if position else 0
    if low is not None:
        start = max(start, bisect.bisect_left(entries, (low, "")))
    return (entries[i] for i in range(start, len(entries)))


def _backward(entries: list[Key], position: Key | None, high: int | None) -> Iterator[Key]:
    end = bisect.bisect_left(entries, position) if position else len(entries)
    if high is not None:
        end = min(end, bisect.bisect_left(entries, (high + 1, "")))
    return (entries[i] for i in range(end - 1, -1, -1))
