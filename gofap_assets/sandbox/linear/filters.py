"""Linear's filter inputs (``IssueFilter``, ``TeamFilter``, ...) compiled into predicates.

A predicate reads a *view*: a mapping of the filterable fields, dates as epoch milliseconds under
``_createdAt``/``_updatedAt`` and nested entities (an issue's ``team``) as views themselves.
The world also asks for *bounds*: the sort-key range a filter implies, so a page can start with a
bisect instead of a scan (the importer's ``updatedAt >= cursor`` query is the hot case).
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gofap_assets.sandbox.linear.values import parse_datetime, to_ms

Predicate = Callable[[Mapping[str, Any]], bool]
DATE_FIELDS = frozenset({"createdAt", "updatedAt"})
NESTED_FIELDS = frozenset({"team", "issue"})


def _always(_view: Mapping[str, Any]) -> bool:
    return True


def compile_filter(spec: Mapping[str, Any] | None, now: datetime) -> Predicate:
    """``spec`` is the coerced GraphQL input (field name -> comparator, nested filter or list)."""
    if not spec:
        return _always
    tests: list[Predicate] = []
    for field, value in spec.items():
        if value is None:
            continue
        if field in ("and", "or"):
            parts = [compile_filter(part, now) for part in value]
            tests.append(_all(parts) if field == "and" else _any(parts))
        elif field in NESTED_FIELDS:
            tests.append(_nested(field, compile_filter(value, now)))
        elif field in DATE_FIELDS:
            tests.append(_compare(f"_{field}", value, lambda v: to_ms(parse_datetime(v, now))))
        else:
            tests.append(_compare(field, value, lambda v: v))
    return _all(tests)


def _all(tests: Sequence[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]
    return lambda view: all(test(view) for test in tests)


def _any(tests: Sequence[Predicate]) -> Predicate:
    return lambda view: any(test(view) for test in tests)


def _nested(field: str, test: Predicate) -> Predicate:
    return lambda view: view.get(field) is not None and test(view[field])


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
    "eqIgnoreCase": lambda a, b: a is not None and a.casefold() == b.casefold(),
    "neqIgnoreCase": lambda a, b: a is None or a.casefold() != b.casefold(),
    "contains": lambda a, b: a is not None and b in a,
    "containsIgnoreCase": lambda a, b: a is not None and b.casefold() in a.casefold(),
    "notContains": lambda a, b: a is None or b not in a,
    "startsWith": lambda a, b: a is not None and a.startswith(b),
    "endsWith": lambda a, b: a is not None and a.endswith(b),
}


def _compare(key: str, comparator: Mapping[str, Any], convert: Callable[[Any], Any]) -> Predicate:
    checks: list[tuple[Callable[[Any, Any], bool], Any]] = []
    for op, operand in comparator.items():
        if operand is None:
            continue
        converted = (frozenset(convert(v) for v in operand) if op in ("in", "nin")
                     else convert(operand))
        checks.append((_OPS[op], converted))
    return lambda view: all(op(view.get(key), operand) for op, operand in checks)


def key_bounds(spec: Mapping[str, Any] | None, field: str,
               now: datetime) -> tuple[int | None, int | None]:
    """The inclusive [low, high] range of ``field`` (a date field, in ms) that ``spec`` allows
    at its top level or inside top-level ``and``s; None where it does not constrain."""
    low: int | None = None
    high: int | None = None
    for part in _conjuncts(spec):
        comparator = part.get(field) or {}
        for op, operand in comparator.items():
            if operand is None or op not in ("gt", "gte", "lt", "lte", "eq"):
                continue
            ms = to_ms(parse_datetime(operand, now))
            if op in ("gt", "gte", "eq"):
                bound = ms + 1 if op == "gt" else ms
                low = bound if low is None else max(low, bound)
            if op in ("lt", "lte", "eq"):
                bound = ms - 1 if op == "lt" else ms
                high = bound if high is None else min(high, bound)
    return low, high


def nested_filters(spec: Mapping[str, Any] | None, field: str) -> list[Mapping[str, Any]]:
    """The sub-filters on ``field`` (e.g. ``team``) that every match must satisfy."""
    return [part[field] for part in _conjuncts(spec) if part.get(field)]


def _conjuncts(spec: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not spec:
        return []
    parts = [spec]
    for part in spec.get("and") or ():
        parts.extend(_conjuncts(part))
    return parts
