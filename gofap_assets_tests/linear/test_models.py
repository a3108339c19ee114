"""The mapping from Linear nodes to warehouse records, per SPEC.md, keyed on the UUID."""

import pytest
from pydantic import ValidationError

from gofap_assets.linear.models import (
    comment_record,
    cycle_record,
    issue_record,
    label_record,
    project_record,
    team_record,
    user_record,
    workflow_state_record,
)
from gofap_assets.warehouse.views import VIEWS
from gofap_assets_tests.linear.conftest import (
    comment_node,
    cycle_node,
    issue_node,
    label_node,
    project_node,
    team_node,
    ts,
    user_node,
    workflow_state_node,
)


def test_team_user_and_project_titles_descriptions_and_states() -> None:
    team = team_record({**team_node("ENG", name="Engineering"), "description": "Builds"})
    assert (team.external_id, team.title, team.description, team.state) == (
        "team-eng", "Engineering", "Builds", None)
    active, disabled = user_record(user_node(1)), user_record(user_node(2, active=False))
    assert (active.title, active.description, active.state) == (
        "User 1", "u1@example.test", "active")
    assert disabled.state == "inactive" and disabled.processed_data["active"] is False
    project = project_record(project_node(1))
    assert (project.title, project.state) == ("Project 1", "started")
    assert project.processed_data["status_name"] == "In Progress"


def test_issue_maps_state_name_team_parent_and_float_counters() -> None:
    raw = issue_node(7, team="OPS", state="In Progress", archived=ts(3), trashed=True)
    raw["extraFieldFromTheFuture"] = {"ignored": True}
    record = issue_record(raw)
    assert (record.external_id, record.parent_key, record.state) == (
        "issue-7", "OPS", "In Progress")
    data = record.processed_data
    assert data["number"] == 7 and isinstance(data["number"], int)
    assert data["priority"] == 2 and data["priority_label"] == "High"
    assert data["identifier"] == "OPS-7" and data["team_key"] == "OPS"
    assert data["trashed"] is True and data["archived_at"] == "2026-05-03T00:00:00Z"
    assert record.archived is True and record.raw_data is raw


@pytest.mark.parametrize("change", [{"team": None}, {"id": ""}, {"id": None}])
def test_issues_without_an_identity_or_a_team_are_rejected(change: dict) -> None:
    with pytest.raises((ValidationError, ValueError)):
        issue_record({**issue_node(1), **change})


@pytest.mark.parametrize(("change", "column"), [
    ({"updatedAt": "2026-05-01T00:00:00"}, "updated_at"),  # no timezone
    ({"number": 1.5}, "number"),
    ({"priority": "urgent"}, "priority"),
    ({"labelIds": "bug"}, "label_ids"),
])
def test_an_odd_field_is_stored_as_null_with_a_note(change: dict, column: str) -> None:
    raw = {**issue_node(1), **change}
    record = issue_record(raw)
    [note] = record.notes
    assert note.field == next(iter(change)) and note.value == next(iter(change.values()))
    if column == "updated_at":
        assert record.external_updated_at is None
    else:
        assert record.processed_data[column] is None
    assert record.raw_data is raw and record.title == "Issue 1"


def test_processed_data_has_every_key_the_linear_views_read() -> None:
    records = {"team": team_record(team_node()), "user": user_record(user_node(1)),
               "project": project_record(project_node(1)), "issue": issue_record(issue_node(1)),
               "comment": comment_record(comment_node(1)), "cycle": cycle_record(cycle_node(1)),
               "workflow_state": workflow_state_record(workflow_state_node("Todo", "unstarted")),
               "label": label_record(label_node("Bug"))}
    for spec in VIEWS:
        if spec.source != "linear":
            continue
        keys = set(records[spec.data_type].processed_data)
        assert {key for _, key, _ in spec.columns} <= keys, spec.name


def test_comment_title_is_the_first_line_and_its_team_is_its_issues() -> None:
    record = comment_record(comment_node(4, issue=9, team="OPS", body="Looks good\n\nShip it",
                                         parent="comment-1"))
    assert (record.external_id, record.parent_key, record.title, record.state) == (
        "comment-4", "OPS", "Looks good", None)
    assert record.description == "Looks good\n\nShip it"
    data = record.processed_data
    assert (data["issue_id"], data["user_id"], data["parent_id"], data["team_key"]) == (
        "issue-9", "user-1", "comment-1", "OPS")


def test_a_comment_with_its_identity_lands_whatever_else_is_odd() -> None:
    raw = {**comment_node(1), "body": 42, "createdAt": "yesterday", "user": "someone"}
    record = comment_record(raw)
    assert (record.title, record.description, record.external_created_at) == (None, None, None)
    assert record.parent_key == "ENG" and record.processed_data["user_id"] is None
    assert {note.field for note in record.notes} == {"body", "createdAt", "user"}
    assert record.raw_data["body"] == 42


@pytest.mark.parametrize("change", [{"issue": None}, {"issue": {"id": "i"}}, {"id": None}])
def test_a_comment_without_its_issue_and_team_is_rejected(change: dict) -> None:
    with pytest.raises((ValidationError, ValueError)):
        comment_record({**comment_node(1), **change})


def test_cycles_and_states_need_their_team_and_labels_do_not() -> None:
    with pytest.raises(ValidationError):
        cycle_record({**cycle_node(1), "team": None})
    with pytest.raises(ValidationError):
        workflow_state_record({**workflow_state_node("Todo", "unstarted"), "team": "ENG"})
    odd = label_record({**label_node("Bug", team="ENG"), "team": "ENG"})
    assert odd.parent_key is None and [note.field for note in odd.notes] == ["team"]
    fractional = cycle_record({**cycle_node(2), "number": 2.5})
    assert fractional.title is None and [note.field for note in fractional.notes] == ["number"]


@pytest.mark.parametrize(("flags", "state"), [
    ({"active": True}, "active"), ({"future": True}, "upcoming"), ({"past": True}, "completed"),
])
def test_cycle_state_follows_linears_flags(flags: dict, state: str) -> None:
    assert cycle_record(cycle_node(2, **flags)).state == state


def test_an_unnamed_cycle_is_titled_by_its_number() -> None:
    unnamed, named = cycle_record(cycle_node(3)), cycle_record(cycle_node(4, name="Launch"))
    assert (unnamed.title, named.title) == ("Cycle 3", "Launch")
    assert unnamed.parent_key == "ENG" and unnamed.processed_data["number"] == 3


def test_workflow_state_state_is_its_type_and_labels_keep_team_and_parent() -> None:
    state = workflow_state_record(workflow_state_node("In Review", "started", team="OPS"))
    assert (state.title, state.state, state.parent_key) == ("In Review", "started", "OPS")
    workspace = label_record(label_node("Bug"))
    team = label_record(label_node("Backend", team="ENG", parent="label-area"))
    assert (workspace.parent_key, workspace.title, workspace.state) == (None, "Bug", None)
    assert (team.parent_key, team.processed_data["team_key"],
            team.processed_data["parent_id"]) == ("ENG", "ENG", "label-area")
