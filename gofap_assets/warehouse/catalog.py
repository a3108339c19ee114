"""What a row is, for people: the known data types (one per typed view, so a type added in
`views.py` is known everywhere at once) and a short human reference for each row."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gofap_assets.warehouse.views import VIEWS


@dataclass(frozen=True)
class DataType:
    source: str
    name: str
    """`data_type` in `imported_data` (singular: `pull_request`)."""
    plural: str
    """The view's name without its source (`pull_requests`)."""


def known_types(source: str | None = None) -> list[DataType]:
    """Every data type with a typed view, in the views' order, optionally of one source."""
    return [DataType(spec.source, spec.data_type, spec.name.removeprefix(f"{spec.source}_"))
            for spec in VIEWS if source is None or spec.source == source]


class UnknownType(ValueError):
    """A `--type` that names no known data type; the message lists the known ones."""


def resolve_type(value: str, source: str | None = None) -> str:
    """The `data_type` that `value` names: singular or plural, any case, `-` for `_`."""
    wanted = value.strip().lower().replace("-", "_")
    types = known_types(source)
    for data_type in types:
        if wanted in (data_type.name, data_type.plural):
            return data_type.name
    by_source: dict[str, list[str]] = {}
    for data_type in types:
        by_source.setdefault(data_type.source, []).append(data_type.name)
    listed = "; ".join(f"{src}: {', '.join(names)}" for src, names in by_source.items())
    scope = f" for {source}" if source else ""
    raise UnknownType(f"--type {value!r} is not a known data type{scope}; known types are "
                      f"{listed} (singular or plural)")


def reference(row: Mapping[str, Any]) -> str:
    """`owner/repo#123`, `owner/repo@abc1234`, `ENG-42`, a repository's full name, a team key,
    a user's handle; otherwise the external id. `row` has source, data_type, external_id,
    parent_key and processed_data (a dict, or its JSON text)."""
    external_id = str(row["external_id"])
    processed = row.get("processed_data") or {}
    if isinstance(processed, str):
        try:
            processed = json.loads(processed)
        except ValueError:
            processed = {}
    if not isinstance(processed, dict):
        processed = {}
    parent = row.get("parent_key") or processed.get("repository")
    data_type = row["data_type"]
    if row["source"] == "github":
        number = processed.get("number")
        if data_type in ("issue", "pull_request") and parent and number is not None:
            return f"{parent}#{number}"
        if data_type == "commit" and "@" in external_id:
            repository, sha = external_id.rsplit("@", 1)
            return f"{repository}@{sha[:7]}"
        if data_type == "repository" and processed.get("full_name"):
            return str(processed["full_name"])
        return external_id
    for key in ("identifier", "key", "display_name"):
        if processed.get(key):
            return str(processed[key])
    return external_id
