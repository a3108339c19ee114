"""Typed SQL views over `imported_data`, one per entity, and bridge views, for analysts.

The views read `processed_data`, the typed form the mappings produce, and leave out rows that a
full sync's reconciliation marked deleted. Every timestamp column of every view, whether it
comes from `processed_data` or from a table column, reads the same on both backends: ISO 8601
in UTC, `YYYY-MM-DDTHH:MM:SSZ` (`iso_utc`), so text comparisons and sorting agree with time.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class ViewSpec:
    name: str
    source: str
    data_type: str
    columns: tuple[tuple[str, str, str], ...]
    """(view column, processed_data key, type: text|int|bool|float|timestamp|json)."""


@dataclass(frozen=True)
class BridgeSpec:
    """One row per element of a JSON array of text in `processed_data` (an issue's labels),
    beside columns of the row it came from."""

    name: str
    source: str
    data_types: tuple[str, ...]
    array_key: str
    element_column: str
    columns: tuple[tuple[str, str, str], ...]
    """As in ViewSpec, plus type `sql`: the key is an SQL expression over the row."""


_COMMON_TAIL = (
    ("external_created_at", "external_created_at"),
    ("external_updated_at", "external_updated_at"),
    ("imported_at", "created_at"),
    ("changed_at", "updated_at"),
)

VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("github_repositories", "github", "repository", (
        ("repository_id", "id", "int"), ("full_name", "full_name", "text"),
        ("owner", "owner", "text"), ("name", "name", "text"),
        ("private", "private", "bool"), ("archived", "archived", "bool"),
        ("fork", "fork", "bool"), ("default_branch", "default_branch", "text"),
        ("language", "language", "text"), ("html_url", "html_url", "text"),
        ("pushed_at", "pushed_at", "timestamp"),
    )),
    ViewSpec("github_issues", "github", "issue", (
        ("issue_id", "id", "int"), ("repository", "repository", "text"),
        ("number", "number", "int"), ("state_reason", "state_reason", "text"),
        ("author", "user_login", "text"), ("assignees", "assignees", "json"),
        ("labels", "labels", "json"), ("comments", "comments", "int"),
        ("closed_at", "closed_at", "timestamp"), ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_pull_requests", "github", "pull_request", (
        ("pull_request_id", "id", "int"), ("repository", "repository", "text"),
        ("number", "number", "int"), ("author", "user_login", "text"),
        ("assignees", "assignees", "json"), ("labels", "labels", "json"),
        ("draft", "draft", "bool"), ("head_ref", "head_ref", "text"),
        ("base_ref", "base_ref", "text"), ("merged_at", "merged_at", "timestamp"),
        ("closed_at", "closed_at", "timestamp"), ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_commits", "github", "commit", (
        ("sha", "sha", "text"), ("repository", "repository", "text"),
        ("author_name", "author_name", "text"), ("author_email", "author_email", "text"),
        ("author_login", "author_login", "text"), ("committer_name", "committer_name", "text"),
        ("authored_at", "authored_at", "timestamp"),
        ("committed_at", "committed_at", "timestamp"), ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_issue_comments", "github", "issue_comment", (
        ("comment_id", "id", "int"), ("repository", "repository", "text"),
        ("issue_number", "issue_number", "int"), ("is_pull_request", "is_pull_request", "bool"),
        ("author", "user_login", "text"), ("author_association", "author_association", "text"),
        ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_pull_request_reviews", "github", "pull_request_review", (
        ("review_id", "id", "int"), ("repository", "repository", "text"),
        ("pull_request_number", "pull_request_number", "int"),
        ("reviewer", "reviewer_login", "text"), ("commit_id", "commit_id", "text"),
        ("author_association", "author_association", "text"),
        ("submitted_at", "submitted_at", "timestamp"), ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_review_comments", "github", "review_comment", (
        ("comment_id", "id", "int"), ("repository", "repository", "text"),
        ("pull_request_number", "pull_request_number", "int"),
        ("pull_request_review_id", "pull_request_review_id", "int"),
        ("in_reply_to_id", "in_reply_to_id", "int"), ("path", "path", "text"),
        ("commit_id", "commit_id", "text"), ("author", "user_login", "text"),
        ("author_association", "author_association", "text"),
        ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_labels", "github", "label", (
        ("label_id", "id", "int"), ("repository", "repository", "text"),
        ("name", "name", "text"), ("color", "color", "text"),
        ("is_default", "default", "bool"),
    )),
    ViewSpec("github_milestones", "github", "milestone", (
        ("milestone_id", "id", "int"), ("repository", "repository", "text"),
        ("number", "number", "int"), ("creator", "creator_login", "text"),
        ("open_issues", "open_issues", "int"), ("closed_issues", "closed_issues", "int"),
        ("due_on", "due_on", "timestamp"), ("closed_at", "closed_at", "timestamp"),
        ("html_url", "html_url", "text"),
    )),
    ViewSpec("github_releases", "github", "release", (
        ("release_id", "id", "int"), ("repository", "repository", "text"),
        ("tag_name", "tag_name", "text"), ("name", "name", "text"),
        ("draft", "draft", "bool"), ("prerelease", "prerelease", "bool"),
        ("target_commitish", "target_commitish", "text"), ("author", "author_login", "text"),
        ("published_at", "published_at", "timestamp"), ("html_url", "html_url", "text"),
    )),
    ViewSpec("linear_teams", "linear", "team", (
        ("team_id", "id", "text"), ("key", "key", "text"), ("private", "private", "bool"),
        ("archived_at", "archived_at", "timestamp"),
    )),
    ViewSpec("linear_users", "linear", "user", (
        ("user_id", "id", "text"), ("display_name", "display_name", "text"),
        ("email", "email", "text"), ("active", "active", "bool"), ("admin", "admin", "bool"),
        ("guest", "guest", "bool"), ("app", "app", "bool"),
        ("archived_at", "archived_at", "timestamp"),
    )),
    ViewSpec("linear_projects", "linear", "project", (
        ("project_id", "id", "text"), ("status", "status_name", "text"),
        ("status_type", "status_type", "text"), ("lead_id", "lead_id", "text"),
        ("progress", "progress", "float"),
        ("start_date", "start_date", "text"), ("target_date", "target_date", "text"),
        ("url", "url", "text"), ("trashed", "trashed", "bool"),
        ("archived_at", "archived_at", "timestamp"), ("completed_at", "completed_at", "timestamp"),
        ("canceled_at", "canceled_at", "timestamp"),
    )),
    ViewSpec("linear_issues", "linear", "issue", (
        ("issue_id", "id", "text"), ("identifier", "identifier", "text"),
        ("number", "number", "int"), ("team_id", "team_id", "text"),
        ("team_key", "team_key", "text"), ("state_type", "state_type", "text"),
        ("assignee_id", "assignee_id", "text"), ("creator_id", "creator_id", "text"),
        ("project_id", "project_id", "text"), ("parent_id", "parent_id", "text"),
        ("cycle_id", "cycle_id", "text"),
        ("priority", "priority", "int"), ("priority_label", "priority_label", "text"),
        ("estimate", "estimate", "float"), ("due_date", "due_date", "text"),
        ("label_ids", "label_ids", "json"), ("url", "url", "text"),
        ("trashed", "trashed", "bool"), ("archived_at", "archived_at", "timestamp"),
        ("started_at", "started_at", "timestamp"), ("completed_at", "completed_at", "timestamp"),
        ("canceled_at", "canceled_at", "timestamp"),
    )),
    ViewSpec("linear_comments", "linear", "comment", (
        ("comment_id", "id", "text"), ("issue_id", "issue_id", "text"),
        ("team_id", "team_id", "text"), ("team_key", "team_key", "text"),
        ("user_id", "user_id", "text"), ("parent_id", "parent_id", "text"),
        ("url", "url", "text"), ("edited_at", "edited_at", "timestamp"),
        ("resolved_at", "resolved_at", "timestamp"), ("archived_at", "archived_at", "timestamp"),
    )),
    ViewSpec("linear_cycles", "linear", "cycle", (
        ("cycle_id", "id", "text"), ("number", "number", "int"), ("name", "name", "text"),
        ("team_id", "team_id", "text"), ("team_key", "team_key", "text"),
        ("starts_at", "starts_at", "timestamp"), ("ends_at", "ends_at", "timestamp"),
        ("completed_at", "completed_at", "timestamp"), ("progress", "progress", "float"),
        ("archived_at", "archived_at", "timestamp"),
    )),
    ViewSpec("linear_workflow_states", "linear", "workflow_state", (
        ("state_id", "id", "text"), ("type", "type", "text"),
        ("team_id", "team_id", "text"), ("team_key", "team_key", "text"),
        ("color", "color", "text"), ("position", "position", "float"),
        ("archived_at", "archived_at", "timestamp"),
    )),
    ViewSpec("linear_labels", "linear", "label", (
        ("label_id", "id", "text"), ("team_id", "team_id", "text"),
        ("team_key", "team_key", "text"), ("parent_id", "parent_id", "text"),
        ("color", "color", "text"), ("is_group", "is_group", "bool"),
        ("archived_at", "archived_at", "timestamp"),
    )),
)


_ISSUE_OR_PULL = (
    ("item_id", "external_id", "sql"), ("repository", "repository", "text"),
    ("number", "number", "int"),
    ("is_pull_request", "data_type = 'pull_request'", "sql"), ("state", "state", "sql"),
)
BRIDGES: tuple[BridgeSpec, ...] = (
    BridgeSpec("github_issue_labels", "github", ("issue", "pull_request"), "labels",
               "label_name", _ISSUE_OR_PULL),
    BridgeSpec("github_issue_assignees", "github", ("issue", "pull_request"), "assignees",
               "assignee_login", _ISSUE_OR_PULL),
)


def iso_utc(dialect: str, expression: str) -> str:
    """`expression` (a timestamp column, or ISO 8601 text with any offset) as
    `YYYY-MM-DDTHH:MM:SSZ` in UTC; NULL stays NULL. The one timestamp format of every view."""
    if dialect == "postgresql":
        return (f"to_char(({expression})::timestamptz AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expression})"


def _expr(dialect: str, key: str, kind: str) -> str:
    if kind == "sql":
        return key
    if kind == "timestamp":
        text = (f"processed_data->>'{key}'" if dialect == "postgresql"
                else f"json_extract(processed_data, '$.{key}')")
        return iso_utc(dialect, text)
    if dialect == "postgresql":
        if kind == "json":
            return f"processed_data->'{key}'"
        cast = {"text": "", "int": "::bigint", "bool": "::boolean",
                "float": "::double precision"}[kind]
        return f"(processed_data->>'{key}'){cast}"
    if kind == "int":
        return f"CAST(json_extract(processed_data, '$.{key}') AS INTEGER)"
    return f"json_extract(processed_data, '$.{key}')"


def view_sql(spec: ViewSpec, dialect: str) -> str:
    columns = ["id AS row_id", "external_id", "title", "description", "state"]
    columns += [f"{_expr(dialect, key, kind)} AS {name}" for name, key, kind in spec.columns]
    columns += [f"{iso_utc(dialect, column)} AS {alias}" for alias, column in _COMMON_TAIL]
    return (f"CREATE VIEW {spec.name} AS SELECT {', '.join(columns)} FROM imported_data "
            f"WHERE source = '{spec.source}' AND data_type = '{spec.data_type}' "
            "AND deleted_at IS NULL")


def bridge_sql(spec: BridgeSpec, dialect: str) -> str:
    columns = [f"{_expr(dialect, key, kind)} AS {name}" for name, key, kind in spec.columns]
    types = ", ".join(f"'{t}'" for t in spec.data_types)
    where = (f"source = '{spec.source}' AND data_type IN ({types}) AND deleted_at IS NULL")
    if dialect == "postgresql":
        array = (f"CASE WHEN jsonb_typeof(processed_data->'{spec.array_key}') = 'array' "
                 f"THEN processed_data->'{spec.array_key}' ELSE '[]'::jsonb END")
        return (f"CREATE VIEW {spec.name} AS SELECT {', '.join(columns)}, "
                f"element.value AS {spec.element_column} FROM imported_data "
                f"CROSS JOIN LATERAL jsonb_array_elements_text({array}) AS element(value) "
                f"WHERE {where} AND element.value IS NOT NULL")
    return (f"CREATE VIEW {spec.name} AS SELECT {', '.join(columns)}, "
            f"element.value AS {spec.element_column} FROM imported_data, "
            f"json_each(imported_data.processed_data, '$.{spec.array_key}') AS element "
            f"WHERE {where} AND element.type = 'text'")


def create_views(conn: Connection) -> None:
    """(Re)create every view so a new release's columns take effect on `init-db`."""
    dialect = conn.dialect.name
    for name, sql in [*((v.name, view_sql(v, dialect)) for v in VIEWS),
                      *((b.name, bridge_sql(b, dialect)) for b in BRIDGES),
                      *((n, build(dialect)) for n, build in LINEAR_BRIDGE_VIEWS.items())]:
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(sa.text(sql))


def linear_issue_labels_sql(dialect: str) -> str:
    """One row per live Linear issue and label id it carries, with the label's current name.

    Issues keep label ids only (a label's rename does not bump the issue's `updatedAt`), so
    the name comes from the label's own row; it is null for a label not imported (or deleted).
    """
    if dialect == "postgresql":
        labels = ("CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof("
                  "i.processed_data->'label_ids') = 'array' THEN i.processed_data->'label_ids' "
                  "ELSE '[]'::jsonb END) AS j(label_id)")
        label_id, array_only = "j.label_id", ""
    else:
        labels = "JOIN json_each(i.processed_data, '$.label_ids') AS j"
        label_id = "j.value"
        array_only = " AND json_type(i.processed_data, '$.label_ids') = 'array'"
    return ("CREATE VIEW linear_issue_labels AS "
            f"SELECT i.external_id AS issue_id, {label_id} AS label_id, l.title AS label_name "
            f"FROM imported_data i {labels} "
            "LEFT JOIN imported_data l ON l.source = 'linear' AND l.data_type = 'label' "
            f"AND l.external_id = {label_id} AND l.deleted_at IS NULL "
            "WHERE i.source = 'linear' AND i.data_type = 'issue' AND i.deleted_at IS NULL"
            f"{array_only}")


LINEAR_BRIDGE_VIEWS = {"linear_issue_labels": linear_issue_labels_sql}
"""Bridge views of many-to-many Linear facts: name -> its CREATE VIEW for a dialect."""
