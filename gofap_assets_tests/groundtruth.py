"""Compare what the warehouse holds with what a sandbox world says it should hold."""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

Key = tuple[str, str, str]


def warehouse_rows(database_url: str, source: str, *, include_deleted: bool = False,
                   parents: bool = False) -> dict[Key, tuple[Any, ...]]:
    """Key -> (title, state, description), and the parent key with `parents`."""
    engine = sa.create_engine(database_url)
    query = ("SELECT source, data_type, external_id, title, state, description"
             f"{', parent_key' if parents else ''} FROM imported_data WHERE source = :source")
    if not include_deleted:
        query += " AND deleted_at IS NULL"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(query), {"source": source}).all()
    engine.dispose()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def expected(rows: Iterable[Any], *, parents: bool = False) -> dict[Key, tuple[Any, ...]]:
    """The same shape from a world's ground truth; `parents` reads Linear's `team_key` (the
    team an issue, comment, cycle, workflow state or team label is parented by)."""
    return {(r.source, r.data_type, r.external_id):
            (r.title, r.state, r.description, *((r.team_key,) if parents else ()))
            for r in rows}


def differences(actual: dict[Key, tuple[Any, ...]],
                wanted: dict[Key, tuple[Any, ...]]) -> dict[str, list[Any]]:
    """What is missing, unexpected, or different: empty when the two agree."""
    missing = sorted(set(wanted) - set(actual))
    extra = sorted(set(actual) - set(wanted))
    changed = sorted(k for k in set(wanted) & set(actual) if wanted[k] != actual[k])
    found = {"missing": missing[:5], "unexpected": extra[:5],
             "different": [(k, actual[k], wanted[k]) for k in changed[:3]]}
    return {name: items for name, items in found.items() if items}
