"""Incremental and full syncs of Linear listings, against the respx-level fake Linear."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.sync import (
    InvalidPartitionKey,
    sync_labels,
    sync_team_comments,
    sync_team_cycles,
    sync_team_issues,
    sync_team_workflow_states,
    sync_teams,
    sync_users,
)
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.linear.conftest import (
    FakeLinear,
    comment_node,
    cycle_node,
    issue_node,
    label_node,
    team_node,
    ts,
    user_node,
    workflow_state_node,
)


def rows(store: Warehouse, data_type: str) -> dict[str, tuple]:
    """external_id -> (parent_key, title, state, deleted)."""
    with store.engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(sa.text(
            "SELECT external_id, parent_key, title, state, deleted_at IS NOT NULL "
            "FROM imported_data WHERE data_type = :t"), {"t": data_type})}


def errors(store: Warehouse) -> list[tuple]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT external_id, partition_key, reason FROM import_errors")))


def issue_filters(fake: FakeLinear) -> list[dict]:
    return [r["variables"].get("filter") for r in fake.requests if " issues(" in r["query"]]


def test_incremental_sync_reads_from_the_cursor_less_the_overlap(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(n, updated=ts(2 + n % 3)) for n in range(1, 301)]
    first = sync_team_issues(client, warehouse, "ENG")
    assert first.error is None and first.complete and first.pages == 2
    assert first.counts.inserted == 300
    state = warehouse.partition_state("linear", "issue", "ENG")
    assert state.cursor == "2026-05-04T00:00:00.000Z"  # the newest updatedAt read
    assert issue_filters(fake)[0] == {"team": {"key": {"eq": "ENG"}}}

    fake.nodes["issues"][0] = issue_node(1, updated=ts(9), state="Done")
    fake.requests.clear()
    second = sync_team_issues(client, warehouse, "ENG", overlap=timedelta(hours=1))
    assert issue_filters(fake)[0] == {"team": {"key": {"eq": "ENG"}},
                                      "updatedAt": {"gte": "2026-05-03T23:00:00.000Z"}}
    assert (second.counts.updated, second.counts.inserted) == (1, 0)
    assert second.counts.unchanged == 100  # the overlap re-reads the boundary, harmlessly
    assert rows(warehouse, "issue")["issue-1"][2] == "Done"
    assert warehouse.partition_state("linear", "issue", "ENG").cursor == \
        "2026-05-09T00:00:00.000Z"


def test_an_issue_that_moved_team_is_parented_by_its_new_team(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(1, team="ENG"), issue_node(2, team="ENG")]
    sync_team_issues(client, warehouse, "ENG")
    fake.nodes["issues"][0] = {**issue_node(1, team="OPS", updated=ts(5)), "identifier": "OPS-1"}
    sync_team_issues(client, warehouse, "ENG")
    sync_team_issues(client, warehouse, "OPS")
    assert rows(warehouse, "issue")["issue-1"][0] == "OPS"


def test_full_sync_marks_vanished_issues_but_not_moved_or_trashed_ones(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(n) for n in range(1, 5)]
    sync_team_issues(client, warehouse, "ENG")
    fake.nodes["issues"] = [
        issue_node(1),
        issue_node(2, team="OPS", updated=ts(6)),           # moved; OPS not synced yet
        issue_node(3, archived=ts(6), trashed=True, updated=ts(6)),  # trashed: stays a row
    ]                                                       # 4 was permanently deleted
    outcome = sync_team_issues(client, warehouse, "ENG", full=True)
    assert outcome.counts.deleted == 1
    found = rows(warehouse, "issue")
    assert found["issue-4"][3] == 1
    assert found["issue-2"][0] == "OPS" and found["issue-2"][3] == 0
    assert found["issue-3"][3] == 0
    with warehouse.engine.connect() as conn:
        trashed = conn.execute(sa.text("SELECT trashed FROM linear_issues "
                                       "WHERE issue_id = 'issue-3'")).scalar_one()
    assert trashed in (1, True)
    assert {"id": {"in": ["issue-2", "issue-4"]}} in issue_filters(fake)


def test_a_malformed_field_is_nulled_with_a_note_and_its_node_written(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    broken = {**issue_node(2), "createdAt": "yesterday"}
    fake.nodes["issues"] = [issue_node(1), broken, issue_node(3)]
    outcome = sync_team_issues(client, warehouse, "ENG")
    assert (outcome.counts.inserted, outcome.counts.quarantined) == (3, 0)
    assert outcome.counts.field_notes == 1
    [(note_id, note_partition, note)] = errors(warehouse)
    assert (note_id, note_partition) == ("issue-2", "ENG")
    assert "'createdAt'" in note and "imported" in note


def test_nodes_linear_reported_errors_for_are_quarantined_and_hold_the_cursor(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(1, updated=ts(2)), issue_node(2, updated=ts(3)),
                            issue_node(3, updated=ts(4))]
    fake.errors = [{"message": "timeout resolving assignee",
                    "path": ["issues", "nodes", 1, "assignee"]}]
    outcome = sync_team_issues(client, warehouse, "ENG")
    assert (outcome.counts.inserted, outcome.counts.quarantined) == (2, 1)
    [(external_id, _, reason)] = errors(warehouse)
    assert external_id == "issue-2" and "timeout resolving assignee" in reason
    # The next sync starts at the failed node again, not after the newest one.
    assert warehouse.partition_state("linear", "issue", "ENG").cursor == ts(3)


def test_an_item_read_twice_in_one_listing_counts_once(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(1), issue_node(1)]
    outcome = sync_team_issues(client, warehouse, "ENG")
    assert (outcome.counts.inserted, outcome.counts.unchanged) == (1, 0)


def test_users_include_disabled_ones_and_full_sync_reconciles(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["users"] = [user_node(1), user_node(2, active=False), user_node(3)]
    sync_users(client, warehouse)
    assert "includeDisabled: true" in fake.requests[0]["query"]
    assert rows(warehouse, "user")["user-2"][2] == "inactive"
    fake.nodes["users"] = fake.nodes["users"][:2]
    outcome = sync_users(client, warehouse, full=True)
    assert outcome.counts.deleted == 1 and rows(warehouse, "user")["user-3"][3] == 1


def test_teams_are_always_listed_whole_and_report_their_keys(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["teams"] = [team_node("ENG"), team_node("OPS", archived=ts(2))]
    listing = sync_teams(client, warehouse)
    assert listing.keys == ["ENG", "OPS"] and listing.outcome.complete
    sync_teams(client, warehouse)
    assert all("filter" not in r["variables"] for r in fake.requests)


def test_a_bad_team_key_is_refused_before_any_request(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    with pytest.raises(InvalidPartitionKey):
        sync_team_issues(client, warehouse, "ENG; DROP")
    assert fake.requests == []


def filters(fake: FakeLinear, field: str) -> list[dict]:
    return [r["variables"].get("filter") for r in fake.requests if f" {field}(" in r["query"]]


def test_comments_are_read_per_team_through_their_issue_incrementally(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["comments"] = [comment_node(n, updated=ts(2 + n % 3)) for n in range(1, 6)]
    fake.nodes["comments"].append(comment_node(9, team="OPS"))
    first = sync_team_comments(client, warehouse, "ENG")
    assert (first.counts.inserted, first.complete) == (5, True)
    assert filters(fake, "comments")[0] == {"issue": {"team": {"key": {"eq": "ENG"}}}}
    assert warehouse.partition_state("linear", "comment", "ENG").cursor == ts(4)
    fake.nodes["comments"][0] = comment_node(1, updated=ts(8), body="Edited")
    fake.requests.clear()
    second = sync_team_comments(client, warehouse, "ENG", overlap=timedelta(hours=1))
    since = {"gte": "2026-05-03T23:00:00.000Z"}
    assert filters(fake, "comments")[0] == {
        "issue": {"team": {"key": {"eq": "ENG"}}},
        "or": [{"updatedAt": since}, {"issue": {"updatedAt": since}}]}
    assert second.counts.updated == 1
    assert rows(warehouse, "comment")["comment-1"][1] == "Edited"


def test_full_comment_sync_marks_deleted_comments_and_follows_moved_issues(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["comments"] = [comment_node(n) for n in range(1, 4)]
    sync_team_comments(client, warehouse, "ENG")
    # 2's issue moved to OPS (the comment's updatedAt did not change); 3 was deleted.
    fake.nodes["comments"] = [comment_node(1), comment_node(2, team="OPS")]
    outcome = sync_team_comments(client, warehouse, "ENG", full=True)
    assert outcome.counts.deleted == 1
    found = rows(warehouse, "comment")
    assert found["comment-3"][3] == 1
    assert (found["comment-2"][0], found["comment-2"][3]) == ("OPS", 0)
    assert {"id": {"in": ["comment-2", "comment-3"]}} in filters(fake, "comments")


def test_cycles_and_workflow_states_are_read_whole_per_team_and_reconciled_on_full(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["cycles"] = [cycle_node(1, past=True), cycle_node(2, active=True),
                            cycle_node(3, future=True), cycle_node(1, team="OPS")]
    fake.nodes["workflowStates"] = [workflow_state_node("Todo", "unstarted"),
                                    workflow_state_node("Done", "completed")]
    sync_team_cycles(client, warehouse, "ENG")
    sync_team_workflow_states(client, warehouse, "ENG")
    assert {k: v[2] for k, v in rows(warehouse, "cycle").items()} == {
        "cycle-eng-1": "completed", "cycle-eng-2": "active", "cycle-eng-3": "upcoming"}
    # The clock moves on: 3 starts without its updatedAt changing, and still it is seen.
    fake.nodes["cycles"][1] = cycle_node(2, past=True)
    fake.nodes["cycles"][2] = cycle_node(3, active=True)
    fake.requests.clear()
    sync_team_cycles(client, warehouse, "ENG")
    assert filters(fake, "cycles") == [{"team": {"key": {"eq": "ENG"}}}]
    assert rows(warehouse, "cycle")["cycle-eng-3"][2] == "active"
    fake.nodes["workflowStates"].pop()
    assert sync_team_workflow_states(client, warehouse, "ENG").counts.deleted == 0
    outcome = sync_team_workflow_states(client, warehouse, "ENG", full=True)
    assert outcome.counts.deleted == 1
    assert rows(warehouse, "workflow_state")["state-eng-done"][3] == 1


def test_labels_are_workspace_wide_with_their_team_when_they_have_one(
        client: LinearClient, warehouse: Warehouse, fake: FakeLinear) -> None:
    fake.nodes["issueLabels"] = [label_node("Bug"), label_node("Backend", team="ENG")]
    sync_labels(client, warehouse)
    assert filters(fake, "issueLabels") == [None]
    found = rows(warehouse, "label")
    assert (found["label-bug"][0], found["label-backend"][0]) == (None, "ENG")
    fake.nodes["issueLabels"] = [label_node("Bug", updated=ts(5))]
    fake.requests.clear()
    assert sync_labels(client, warehouse).counts.deleted == 0
    assert filters(fake, "issueLabels")[0] == {"updatedAt": {"gte": "2026-04-30T23:55:00.000Z"}}
    assert sync_labels(client, warehouse, full=True).counts.deleted == 1
    assert rows(warehouse, "label")["label-backend"][3] == 1
