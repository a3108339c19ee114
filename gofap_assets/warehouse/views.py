"""Typed SQL views over `imported_data`, one per entity, for analysts.

The views read `processed_data`, the typed form the mappings produce, and leave out rows that a
full sync's reconciliation marked deleted.
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


def _expr(dialect: str, key: str, kind: str) -> str:
    if dialect == "postgresql":
        if kind == "json":
            return f"processed_data->'{key}'"
        cast = {"text": "", "int": "::bigint", "bool": "::boolean",
                "float": "::double precision", "timestamp": "::timestamptz"}[kind]
        return f"(processed_data->>'{key}'){cast}"
    if kind == "int":
        return f"CAST(json_extract(processed_data, '$.{key}') AS INTEGER)"
    if kind == "json":
        return f"json_extract(processed_data, '$.{key}')"
    return f"json_extract(processed_data, '$.{key}')"


def view_sql(spec: ViewSpec, dialect: str) -> str:
    columns = ["id AS row_id", "external_id", "title", "description", "state"]
    columns += [f"{_expr(dialect, key, kind)} AS {name}" for name, key, kind in spec.columns]
    columns += [f"{column} AS {alias}" for alias, column in _COMMON_TAIL]
    return (f"CREATE VIEW {spec.name} AS SELECT {', '.join(columns)} FROM imported_data "
            f"WHERE source = '{spec.source}' AND data_type = '{spec.data_type}' "
            "AND deleted_at IS NULL")


def create_views(conn: Connection) -> None:
    """(Re)create every view so a new release's columns take effect on `init-db`."""
    dialect = conn.dialect.name
    for name, sql in [*((v.name, view_sql(v, dialect)) for v in VIEWS),
                      *((n, linear_sql(dialect)) for n, linear_sql in LINEAR_BRIDGE_VIEWS.items())]:
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
