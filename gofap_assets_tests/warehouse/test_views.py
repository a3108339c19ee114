"""The typed and bridge views on both backends: one timestamp format everywhere, the columns
analysts join on, and bridge rows that make "issues by label" a join."""

import re
from typing import Any

import pytest
import sqlalchemy as sa

from gofap_assets.github.models import (
    issue_comment_record,
    issue_record,
    label_record,
    milestone_record,
    pull_request_record,
    release_record,
    review_comment_record,
    review_record,
)
from gofap_assets.linear.models import issue_record as linear_issue_record
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets.warehouse.views import BRIDGES, VIEWS
from gofap_assets_tests.linear.conftest import issue_node

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
REPO = "acme/api"
API = "https://api.github.com/repos/acme/api"


def _issue(number: int, labels: Any, assignees: Any, **extra: Any) -> dict[str, Any]:
    return {"id": 100 + number, "number": number, "title": f"Issue {number}", "state": "open",
            "labels": labels, "assignees": assignees, "user": {"login": "ada"},
            "created_at": "2025-03-02T02:18:22Z", "updated_at": "2025-03-02T08:07:24+01:00",
            **extra}


def _records() -> list[Record]:
    pull = {**_issue(2, [{"name": "bug"}], [{"login": "linus"}]), "id": 202,
            "merged_at": "2025-03-03T10:00:00.250Z", "closed_at": "2025-03-03T10:00:00Z"}
    comment = {"id": 301, "body": "First line\nmore", "user": {"login": "grace"},
               "issue_url": f"{API}/issues/2", "html_url": "https://github.com/acme/api/pull/2",
               "created_at": "2025-03-04T00:00:00Z", "updated_at": "2025-03-04T01:00:00Z"}
    review = {"id": 401, "body": "", "state": "CHANGES_REQUESTED", "user": {"login": "ken"},
              "pull_request_url": f"{API}/pulls/2", "submitted_at": "2025-03-05T12:30:00Z"}
    review_comment = {"id": 501, "body": "nit", "pull_request_review_id": 401,
                      "pull_request_url": f"{API}/pulls/2", "path": "a.py",
                      "created_at": "2025-03-05T12:30:00Z", "updated_at": "2025-03-05T12:30:00Z"}
    milestone = {"id": 601, "number": 1, "title": "v1", "state": "open",
                 "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-02T00:00:00Z",
                 "due_on": "2025-06-30T07:00:00Z", "closed_at": None}
    release = {"id": 701, "tag_name": "v1.0.0", "name": None, "draft": False,
               "prerelease": False, "created_at": "2025-02-01T00:00:00Z",
               "published_at": "2025-02-01T00:05:00Z"}
    return [
        issue_record(_issue(1, [{"name": "bug"}, {"name": "ui"}], [{"login": "ada"}]), REPO),
        issue_record(_issue(3, None, None), REPO),  # odd fields: null, noted, no bridge rows
        pull_request_record(pull, REPO),
        issue_comment_record(comment, REPO), review_record(review, REPO, 2),
        review_comment_record(review_comment, REPO),
        label_record({"id": 801, "name": "bug", "color": "d73a4a", "default": True,
                      "description": None}, REPO),
        milestone_record(milestone, REPO), release_record(release, REPO),
        linear_issue_record(issue_node(1)),
    ]


@pytest.fixture
def store(database_url: str) -> Warehouse:
    warehouse = Warehouse(database_url)
    warehouse.create_schema()
    for record in _records():
        warehouse.write(Batch(record.source, record.data_type, record.parent_key or "*",
                              [record]))
    return warehouse


def _query(store: Warehouse, sql: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.text(sql))]


def test_every_timestamp_of_every_view_has_one_format(store: Warehouse) -> None:
    checked = 0
    for spec in VIEWS:
        names = [name for name, _key, kind in spec.columns if kind == "timestamp"]
        names += ["external_created_at", "external_updated_at", "imported_at", "changed_at"]
        for row in _query(store, f"SELECT {', '.join(names)} FROM {spec.name}"):
            for name in names:
                value = row[name]
                assert value is None or ISO_UTC.match(value), (spec.name, name, value)
                checked += value is not None
    assert checked > 40
    [issue] = _query(store, "SELECT external_updated_at, external_created_at FROM github_issues "
                            "WHERE number = 1")
    # An offset is converted to UTC, on both backends.
    assert issue == {"external_updated_at": "2025-03-02T07:07:24Z",
                     "external_created_at": "2025-03-02T02:18:22Z"}
    [pull] = _query(store, "SELECT merged_at FROM github_pull_requests")
    assert pull["merged_at"] == "2025-03-03T10:00:00Z"


def test_the_new_github_views_carry_the_join_columns(store: Warehouse) -> None:
    [comment] = _query(store, "SELECT repository, issue_number, is_pull_request, author, "
                              "title FROM github_issue_comments")
    assert (comment["repository"], comment["issue_number"], bool(comment["is_pull_request"]),
            comment["author"], comment["title"]) == (REPO, 2, True, "grace", "First line")
    [review] = _query(store, "SELECT pull_request_number, reviewer, state, submitted_at "
                             "FROM github_pull_request_reviews")
    assert review == {"pull_request_number": 2, "reviewer": "ken",
                      "state": "changes_requested", "submitted_at": "2025-03-05T12:30:00Z"}
    [remark] = _query(store, "SELECT pull_request_number, pull_request_review_id "
                             "FROM github_review_comments")
    assert remark == {"pull_request_number": 2, "pull_request_review_id": 401}
    [label] = _query(store, "SELECT name, is_default FROM github_labels")
    assert label["name"] == "bug" and bool(label["is_default"])
    [milestone] = _query(store, "SELECT number, state, due_on FROM github_milestones")
    assert milestone == {"number": 1, "state": "open", "due_on": "2025-06-30T07:00:00Z"}
    [release] = _query(store, "SELECT title, state, tag_name FROM github_releases")
    assert release == {"title": "v1.0.0", "state": "published", "tag_name": "v1.0.0"}


def test_bridge_views_hold_one_row_per_label_and_assignee(store: Warehouse) -> None:
    assert {b.name for b in BRIDGES} >= {"github_issue_labels", "github_issue_assignees"}
    labels = _query(store, "SELECT repository, number, is_pull_request, label_name, state "
                           "FROM github_issue_labels ORDER BY number, label_name")
    assert [(r["repository"], r["number"], bool(r["is_pull_request"]), r["label_name"])
            for r in labels] == [(REPO, 1, False, "bug"), (REPO, 1, False, "ui"),
                                 (REPO, 2, True, "bug")]
    assignees = _query(store, "SELECT number, assignee_login FROM github_issue_assignees "
                              "ORDER BY number")
    assert [(r["number"], r["assignee_login"]) for r in assignees] == [(1, "ada"), (2, "linus")]
    open_per_label = _query(store, "SELECT label_name, count(*) AS n FROM github_issue_labels "
                                   "WHERE state = 'open' AND NOT is_pull_request "
                                   "GROUP BY label_name ORDER BY label_name")
    assert [(r["label_name"], r["n"]) for r in open_per_label] == [("bug", 1), ("ui", 1)]


def test_deleted_rows_leave_the_bridge_views_too(store: Warehouse) -> None:
    store.mark_deleted("github", "issue", ["101"])
    labels = _query(store, "SELECT number FROM github_issue_labels")
    assert [r["number"] for r in labels] == [2]


def test_the_readme_time_to_first_review_query_works(store: Warehouse) -> None:
    hours = ("(julianday(r.first_review) - julianday(p.external_created_at)) * 24"
             if store.dialect == "sqlite" else
             "EXTRACT(EPOCH FROM (r.first_review::timestamptz - "
             "p.external_created_at::timestamptz)) / 3600")
    [row] = _query(store, f"""
        WITH first AS (
          SELECT repository, pull_request_number, min(submitted_at) AS first_review
          FROM github_pull_request_reviews WHERE submitted_at IS NOT NULL
          GROUP BY repository, pull_request_number)
        SELECT p.repository, count(*) AS reviewed_pulls, avg({hours}) AS hours
        FROM github_pull_requests p
        JOIN first r ON r.repository = p.repository AND r.pull_request_number = p.number
        GROUP BY p.repository""")
    # Created 2025-03-02T02:18:22Z, first reviewed 2025-03-05T12:30:00Z.
    assert row["repository"] == REPO and row["reviewed_pulls"] == 1
    assert round(float(row["hours"]), 2) == round(82 + 11 / 60 + 38 / 3600, 2)
