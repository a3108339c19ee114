"""The Linear sandbox's GraphQL schema: a strict subset of Linear's published SDL.

The subset is cut mechanically from Linear's own schema file (names, argument lists, type strings,
descriptions and deprecations unchanged), so a query the sandbox accepts is one the real API
accepts too. The cut is shipped as ``linear_subset.graphql``; a test re-cuts it from the full SDL
and compares. Regenerate with ``python -m gofap_assets.sandbox.linear.schema PATH_TO_FULL_SDL``.
"""

import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    StringValueNode,
    build_schema,
    parse,
    print_ast,
)
from graphql.language import (
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
)

from gofap_assets.sandbox.linear.values import format_datetime, parse_datetime

SUBSET_PATH = Path(__file__).with_name("linear_subset.graphql")

_CONNECTION_ARGS = frozenset({"after", "before", "filter", "first", "includeArchived", "last",
                              "orderBy"})
_TIMESTAMPS = ("createdAt", "updatedAt", "archivedAt")
_CONNECTED = ("Issue", "Team", "User", "Project", "Comment", "Cycle", "WorkflowState",
              "IssueLabel")

KEEP: Mapping[str, Mapping[str, frozenset[str]] | None] = {
    # type name -> {field name: argument names kept}; None keeps an enum or scalar whole.
    "Query": {
        "issues": _CONNECTION_ARGS, "projects": _CONNECTION_ARGS, "teams": _CONNECTION_ARGS,
        "users": _CONNECTION_ARGS | {"includeDisabled"},
        "issue": frozenset({"id"}), "project": frozenset({"id"}), "team": frozenset({"id"}),
        "user": frozenset({"id"}), "viewer": frozenset(), "organization": frozenset(),
        "rateLimitStatus": frozenset(), "comments": _CONNECTION_ARGS, "cycles": _CONNECTION_ARGS,
        "workflowStates": _CONNECTION_ARGS, "issueLabels": _CONNECTION_ARGS,
    },
    "Node": {"id": frozenset()},
    "Issue": dict.fromkeys(
        ("id", "identifier", "number", "title", "description", "priority", "priorityLabel",
         "estimate", "url", "branchName", *_TIMESTAMPS, "autoArchivedAt", "autoClosedAt",
         "canceledAt", "completedAt", "startedAt", "dueDate", "trashed", "labelIds", "state",
         "team", "assignee", "creator", "project", "cycle", "parent"), frozenset()),
    "Team": {**dict.fromkeys(("id", "key", "name", "description", "private", *_TIMESTAMPS),
                             frozenset()),
             "issues": _CONNECTION_ARGS},
    "User": dict.fromkeys(("id", "name", "displayName", "email", "active", "admin", "guest", "app",
                           *_TIMESTAMPS), frozenset()),
    "Project": dict.fromkeys(
        ("id", "name", "description", "state", "status", "url", "startDate", "targetDate",
         "progress", *_TIMESTAMPS, "completedAt", "canceledAt", "trashed", "lead"), frozenset()),
    "WorkflowState": dict.fromkeys(("id", "name", "type", "color", "description", "position",
                                    "team", *_TIMESTAMPS), frozenset()),
    "Cycle": dict.fromkeys(("id", "number", "name", "description", "startsAt", "endsAt",
                            "completedAt", "isActive", "isFuture", "isPast", "progress", "team",
                            *_TIMESTAMPS, "autoArchivedAt"), frozenset()),
    "Comment": dict.fromkeys(("id", "body", "url", *_TIMESTAMPS, "editedAt", "resolvedAt",
                              "issueId", "parentId", "user", "issue"), frozenset()),
    "IssueLabel": dict.fromkeys(("id", "name", "description", "color", "isGroup", "team",
                                 "parent", *_TIMESTAMPS), frozenset()),
    "ProjectStatus": dict.fromkeys(("id", "name", "type"), frozenset()),
    "Organization": dict.fromkeys(("id", "name", "urlKey", "createdAt"), frozenset()),
    "RateLimitPayload": dict.fromkeys(("identifier", "kind", "limits"), frozenset()),
    "RateLimitResultPayload": dict.fromkeys(
        ("type", "allowedAmount", "remainingAmount", "requestedAmount", "period", "reset"),
        frozenset()),
    "PageInfo": dict.fromkeys(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"),
                              frozenset()),
    **{f"{node}Connection": dict.fromkeys(("edges", "nodes", "pageInfo"), frozenset())
       for node in _CONNECTED},
    **{f"{node}Edge": dict.fromkeys(("node", "cursor"), frozenset()) for node in _CONNECTED},
    "IssueFilter": dict.fromkeys(("id", "createdAt", "updatedAt", "team", "and", "or"),
                                 frozenset()),
    "TeamFilter": dict.fromkeys(("id", "key", "name", "createdAt", "updatedAt", "and", "or"),
                                frozenset()),
    "NullableTeamFilter": dict.fromkeys(("id", "key", "name", "createdAt", "updatedAt", "and",
                                         "or"), frozenset()),
    "NullableIssueFilter": dict.fromkeys(("id", "createdAt", "updatedAt", "team", "and", "or"),
                                         frozenset()),
    **{name: dict.fromkeys(("id", "createdAt", "updatedAt", key, "and", "or"), frozenset())
       for name, key in (("CommentFilter", "issue"), ("CycleFilter", "team"),
                         ("WorkflowStateFilter", "team"), ("IssueLabelFilter", "team"))},
    "ProjectFilter": dict.fromkeys(("id", "name", "createdAt", "updatedAt", "and", "or"),
                                   frozenset()),
    "UserFilter": dict.fromkeys(("id", "name", "email", "createdAt", "updatedAt", "and", "or"),
                                frozenset()),
    "DateComparator": dict.fromkeys(("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin"),
                                    frozenset()),
    "StringComparator": dict.fromkeys(
        ("eq", "neq", "in", "nin", "eqIgnoreCase", "neqIgnoreCase", "contains",
         "containsIgnoreCase", "notContains", "startsWith", "endsWith"), frozenset()),
    "IDComparator": dict.fromkeys(("eq", "neq", "in", "nin"), frozenset()),
    "IssueIDComparator": dict.fromkeys(("eq", "neq", "in", "nin"), frozenset()),
    "PaginationOrderBy": None,
    "ProjectStatusType": None,
    "DateTime": None,
    "DateTimeOrDuration": None,
    "TimelessDate": None,
    "JSON": None,
}

_HEADER = ("# GENERATED by gofap_assets.sandbox.linear.schema from Linear's published SDL; "
           "do not edit.\n\nschema {\n  query: Query\n}\n\n")

_FIELDED = (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode, InputObjectTypeDefinitionNode)


def extract_subset(full_sdl: str | DocumentNode) -> str:
    """Cut ``KEEP`` out of Linear's full SDL, keeping its text for everything that survives."""
    document = parse(full_sdl, no_location=True) if isinstance(full_sdl, str) else full_sdl
    found: dict[str, Any] = {}
    for definition in document.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name not in KEEP:
            continue
        keep = KEEP[name]
        if keep is None:
            if not isinstance(definition, EnumTypeDefinitionNode | ScalarTypeDefinitionNode):
                raise ValueError(f"{name} is kept whole but is not an enum or scalar")
            found[name] = definition
            continue
        if not isinstance(definition, _FIELDED):
            raise ValueError(f"{name} has fields in KEEP but is a {definition.kind}")
        fields = []
        for field in definition.fields:
            if field.name.value not in keep:
                continue
            args = getattr(field, "arguments", None)
            if args is not None:
                field = field.__class__(**{**_attrs(field), "arguments": tuple(
                    arg for arg in args if arg.name.value in keep[field.name.value])})
            fields.append(field)
        missing = set(keep) - {f.name.value for f in fields}
        if missing:
            raise ValueError(f"Linear's {name} has no field(s) {sorted(missing)}")
        changes: dict[str, Any] = {"fields": tuple(fields)}
        if hasattr(definition, "interfaces"):
            changes["interfaces"] = tuple(i for i in definition.interfaces if i.name.value in KEEP)
        found[name] = definition.__class__(**{**_attrs(definition), **changes})
    missing_types = set(KEEP) - set(found)
    if missing_types:
        raise ValueError(f"Linear's schema has no type(s) {sorted(missing_types)}")
    ordered = [found[name] for name in sorted(found)]
    _check_closed(ordered)
    return _HEADER + "\n".join(print_ast(definition) + "\n" for definition in ordered)


def _attrs(node: Any) -> dict[str, Any]:
    return {key: getattr(node, key) for key in node.keys}


def _check_closed(definitions: list[Any]) -> None:
    """Every type the subset mentions must be in the subset, or build_schema fails later."""
    defined = {d.name.value for d in definitions} | {"String", "Int", "Float", "Boolean", "ID"}
    for definition in definitions:
        for field in getattr(definition, "fields", None) or ():
            for node in (field, *(getattr(field, "arguments", None) or ())):
                named = node.type
                while not isinstance(named, NamedTypeNode):
                    named = named.type
                if named.name.value not in defined:
                    raise ValueError(f"{definition.name.value}.{field.name.value} needs "
                                     f"{named.name.value}, which KEEP leaves out")


# -- scalars --------------------------------------------------------------------------------------

def _serialize(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse_value(value: Any) -> str:
    """Checked here for a clear error, kept as text: durations are resolved on the world's clock."""
    if not isinstance(value, str):
        raise GraphQLError(f"Expected an ISO-8601 string, got {value!r}")
    parse_datetime(value, datetime.now(UTC))
    return value


def _parse_literal(node: Any, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("Expected an ISO-8601 string literal")
    return _parse_value(node.value)


def _configure_scalars(schema: GraphQLSchema) -> None:
    for name in ("DateTime", "DateTimeOrDuration", "TimelessDate"):
        scalar = schema.get_type(name)
        assert isinstance(scalar, GraphQLScalarType)
        scalar.serialize = _serialize  # type: ignore[method-assign]
        scalar.parse_value = _parse_value  # type: ignore[method-assign]
        scalar.parse_literal = _parse_literal  # type: ignore[method-assign]


def subset_sdl() -> str:
    return SUBSET_PATH.read_text(encoding="utf-8")


def build_subset_schema() -> GraphQLSchema:
    """A fresh executable schema (no resolvers yet: the app attaches them)."""
    schema = build_schema(subset_sdl())
    _configure_scalars(schema)
    return schema


if __name__ == "__main__":
    SUBSET_PATH.write_text(extract_subset(Path(sys.argv[1]).read_text(encoding="utf-8")),
                           encoding="utf-8")
    print(f"wrote {SUBSET_PATH}")
