"""The Linear views an analyst joins on, and the issue-label bridge, on SQLite and PostgreSQL."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gofap_assets.linear.models import (
    comment_record,
    cycle_record,
    issue_record,
    label_record,
    team_record,
    workflow_state_record,
)
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets_tests.linear.conftest import (
    comment_node,
    cycle_node,
    issue_node,
    label_node,
    team_node,
    workflow_state_node,
)

COMPLETED_PER_CYCLE = """
SELECT c.team_key, c.title AS cycle, c.state, count(i.issue_id) AS completed
FROM linear_cycles c
LEFT JOIN linear_issues i ON i.cycle_id = c.cycle_id AND i.state_type = 'completed'
GROUP BY c.team_key, c.number, c.title, c.state
ORDER BY c.team_key, c.number
"""
"""The README's worked query: issues completed per cycle."""


@pytest.fixture
def store(database_url: str) -> Iterator[Warehouse]:
    warehouse = Warehouse(database_url)
    warehouse.create_schema()
    yield warehouse
    warehouse.dispose()


def write(store: Warehouse, *records: Record) -> None:
    for record in records:
        store.write(Batch(record.source, record.data_type, record.parent_key or "*", [record]))


def issue(n: int, *, labels: list[str] | None, cycle: str | None = None,
          done: bool = False) -> Record:
    raw = {**issue_node(n), "labelIds": labels,
           "cycle": None if cycle is None else {"id": cycle, "number": 1.0}}
    if done:
        raw["state"] = {"id": "state-done", "name": "Done", "type": "completed"}
    return issue_record(raw)


def rows(store: Warehouse, query: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(query))]


def test_issue_labels_bridge_one_row_per_issue_and_label_with_the_current_name(
        store: Warehouse) -> None:
    write(store, label_record(label_node("Bug")), label_record(label_node("Backend", team="ENG")),
          issue(1, labels=["label-bug", "label-backend"]), issue(2, labels=["label-bug"]),
          issue(3, labels=[]), issue(4, labels=["label-unknown"]))
    write(store, label_record({**label_node("Bug"), "name": "Defect",
                               "updatedAt": "2026-06-01T00:00:00.000Z"}))
    found = rows(store, "SELECT issue_id, label_id, label_name FROM linear_issue_labels "
                        "ORDER BY issue_id, label_id")
    assert found == [("issue-1", "label-backend", "Backend"), ("issue-1", "label-bug", "Defect"),
                     ("issue-2", "label-bug", "Defect"), ("issue-4", "label-unknown", None)]
    store.mark_deleted("linear", "issue", ["issue-2"])
    store.mark_deleted("linear", "label", ["label-backend"])
    assert rows(store, "SELECT issue_id, label_name FROM linear_issue_labels "
                       "ORDER BY issue_id, label_id") == [
        ("issue-1", None), ("issue-1", "Defect"), ("issue-4", None)]
    by_label = rows(store, "SELECT label_name, count(*) FROM linear_issue_labels "
                           "WHERE label_name IS NOT NULL GROUP BY label_name")
    assert by_label == [("Defect", 1)]


def test_the_bridge_skips_an_issue_whose_label_ids_are_not_a_list(store: Warehouse) -> None:
    record = issue(1, labels=["label-bug"])
    broken = Record(**{**{f: getattr(record, f) for f in (
        "source", "data_type", "external_id", "parent_key", "title", "description", "state",
        "external_created_at", "external_updated_at", "raw_data", "archived")},
        "processed_data": {**record.processed_data, "label_ids": None}})
    write(store, broken, issue(2, labels=["label-bug"]))
    assert rows(store, "SELECT issue_id FROM linear_issue_labels") == [("issue-2",)]


def test_comment_cycle_state_and_label_views_carry_the_join_columns(store: Warehouse) -> None:
    write(store, team_record(team_node("ENG")),
          comment_record(comment_node(1, issue=7, parent="comment-0")),
          cycle_record(cycle_node(2, active=True)),
          workflow_state_record(workflow_state_node("In Review", "started")),
          label_record(label_node("Backend", team="ENG", parent="label-area")))
    assert rows(store, "SELECT comment_id, issue_id, team_key, user_id, parent_id, title "
                       "FROM linear_comments") == [
        ("comment-1", "issue-7", "ENG", "user-1", "comment-0", "Comment 1")]
    [(cycle_id, number, team_key, state, starts_at)] = rows(
        store, "SELECT cycle_id, number, team_key, state, starts_at FROM linear_cycles")
    assert (cycle_id, number, team_key, state) == ("cycle-eng-2", 2, "ENG", "active")
    assert str(starts_at).startswith("2026-05-02")
    assert rows(store, "SELECT state_id, title, type, state, team_key "
                       "FROM linear_workflow_states") == [
        ("state-eng-in-review", "In Review", "started", "started", "ENG")]
    assert rows(store, "SELECT label_id, title, team_key, parent_id FROM linear_labels") == [
        ("label-backend", "Backend", "ENG", "label-area")]


def test_issues_completed_per_cycle(store: Warehouse) -> None:
    write(store, cycle_record(cycle_node(1, past=True)), cycle_record(cycle_node(2, active=True)),
          cycle_record(cycle_node(3, future=True)),
          issue(1, labels=[], cycle="cycle-eng-1", done=True),
          issue(2, labels=[], cycle="cycle-eng-1", done=True),
          issue(3, labels=[], cycle="cycle-eng-1"),
          issue(4, labels=[], cycle="cycle-eng-2", done=True))
    assert rows(store, COMPLETED_PER_CYCLE) == [
        ("ENG", "Cycle 1", "completed", 2), ("ENG", "Cycle 2", "active", 1),
        ("ENG", "Cycle 3", "upcoming", 0)]
