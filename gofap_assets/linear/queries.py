"""The GraphQL documents the importer sends to Linear, and their complexity under Linear's rule.

Every listing is one document with `$first`/`$after`/`$filter` variables, ordered by `updatedAt`
and including archived (and, for users, disabled) entities. Linear rejects any query above
10,000 complexity points, so the page size is derived from the document rather than assumed.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, IntValueNode, OperationDefinitionNode, SelectionSetNode, parse
from graphql.language import VariableNode

MAX_PAGE_SIZE = 250
"""The largest `first` Linear accepts (third-party observation; see NOTES.md)."""
COMPLEXITY_LIMIT = 10_000
DEFAULT_CONNECTION_SIZE = 50
"""What Linear assumes for a connection without a pagination argument."""

_PAGE = "pageInfo { hasNextPage endCursor }"

TEAM_FIELDS = """
  id key name description private createdAt updatedAt archivedAt
"""

USER_FIELDS = """
  id name displayName email active admin guest app createdAt updatedAt archivedAt
"""

PROJECT_FIELDS = """
  id name description url state progress startDate targetDate completedAt canceledAt trashed
  createdAt updatedAt archivedAt
  status { id name type }
  lead { id }
"""

ISSUE_FIELDS = """
  id identifier number title description priority priorityLabel estimate dueDate url
  trashed labelIds createdAt updatedAt archivedAt startedAt completedAt canceledAt
  team { id key }
  state { id name type }
  assignee { id }
  creator { id }
  project { id }
  parent { id identifier }
  cycle { id number }
"""
"""Related entities by id only: their names change without bumping the issue's `updatedAt`,
so copies of them would go stale between full syncs (the views join on the ids instead)."""

COMMENT_FIELDS = """
  id body url createdAt updatedAt archivedAt editedAt resolvedAt issueId parentId
  user { id }
  issue { id team { id key } }
"""
"""The issue's team is the comment's partition: a comment follows its issue when it moves."""

CYCLE_FIELDS = """
  id number name description startsAt endsAt completedAt isActive isFuture isPast progress
  createdAt updatedAt archivedAt autoArchivedAt
  team { id key }
"""

WORKFLOW_STATE_FIELDS = """
  id name type description color position createdAt updatedAt archivedAt
  team { id key }
"""

LABEL_FIELDS = """
  id name description color isGroup createdAt updatedAt archivedAt
  team { id key }
  parent { id }
"""


@dataclass(frozen=True)
class Listing:
    """One paginated root connection: its document and the root field that holds the page."""

    name: str
    field: str
    document: str


def _listing(name: str, field: str, filter_type: str, fields: str, extra_args: str = "") -> Listing:
    document = (
        f"query {name}($first: Int!, $after: String, $filter: {filter_type}) {{\n"
        f"  {field}(first: $first, after: $after, filter: $filter, orderBy: updatedAt, "
        f"includeArchived: true{extra_args}) {{\n"
        f"    nodes {{{fields}    }}\n"
        f"    {_PAGE}\n"
        f"  }}\n"
        f"}}\n"
    )
    return Listing(name, field, document)


TEAMS = _listing("LinearTeams", "teams", "TeamFilter", TEAM_FIELDS)
USERS = _listing("LinearUsers", "users", "UserFilter", USER_FIELDS, ", includeDisabled: true")
PROJECTS = _listing("LinearProjects", "projects", "ProjectFilter", PROJECT_FIELDS)
ISSUES = _listing("LinearIssues", "issues", "IssueFilter", ISSUE_FIELDS)
COMMENTS = _listing("LinearComments", "comments", "CommentFilter", COMMENT_FIELDS)
CYCLES = _listing("LinearCycles", "cycles", "CycleFilter", CYCLE_FIELDS)
WORKFLOW_STATES = _listing("LinearWorkflowStates", "workflowStates", "WorkflowStateFilter",
                           WORKFLOW_STATE_FIELDS)
LABELS = _listing("LinearLabels", "issueLabels", "IssueLabelFilter", LABEL_FIELDS)
LISTINGS = (TEAMS, USERS, PROJECTS, ISSUES, COMMENTS, CYCLES, WORKFLOW_STATES, LABELS)

VIEWER = """
query LinearViewer {
  viewer { id name email }
  organization { id name urlKey }
}
"""

ORGANIZATION = """
query LinearOrganization {
  organization { id name urlKey }
}
"""

DOCUMENTS: dict[str, str] = {
    **{listing.name: listing.document for listing in LISTINGS},
    "LinearViewer": VIEWER,
    "LinearOrganization": ORGANIZATION,
}
"""Every document the client can send, for validation against Linear's schema."""


def complexity(document: str, variables: Mapping[str, Any] | None = None) -> int:
    """Linear's documented rule: 0.1 per property, 1 per object, connections multiply.

    A connection is a field with a `first`/`last` argument or a `nodes`/`edges` selection; its
    children count once per requested item (50 when the size is not given). Rounded up.
    """
    values = dict(variables or {})
    total = 0.0
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += _selection_points(definition.selection_set, values)
    return math.ceil(round(total, 6))


def _selection_points(selection_set: SelectionSetNode | None, variables: dict[str, Any]) -> float:
    if selection_set is None:
        return 0.0
    points = 0.0
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode):
            raise ValueError("the complexity estimate handles plain fields only (no fragments)")
        if selection.selection_set is None:
            points += 0.1
            continue
        children = _selection_points(selection.selection_set, variables)
        size = _page_argument(selection, variables)
        if size is None and _is_connection(selection):
            size = DEFAULT_CONNECTION_SIZE
        points += 1 + (children * size if size is not None else children)
    return points


def _page_argument(field: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            bound = variables.get(value.name.value)
            return int(bound) if bound is not None else None
    return None


def _is_connection(field: FieldNode) -> bool:
    assert field.selection_set is not None
    names = {s.name.value for s in field.selection_set.selections if isinstance(s, FieldNode)}
    return bool(names & {"nodes", "edges"})


def page_size_for(document: str, *, cap: int = MAX_PAGE_SIZE,
                  limit: int = COMPLEXITY_LIMIT) -> int:
    """The largest `$first` (at most `cap`) that keeps the document within the complexity cap."""
    size = cap
    while size > 1 and (points := complexity(document, {"first": size})) > limit:
        size = min(size - 1, max(1, size * limit // points))
    return size
