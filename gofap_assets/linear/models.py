"""Linear GraphQL objects as typed models, and the one mapping from them to warehouse records.

Models validate what the warehouse relies on and ignore unknown fields; `raw_data` keeps each
node exactly as it came. Everything is keyed on the UUID `id`: an issue's `identifier` and
`number` change when it moves to another team. Validation is lenient
(`gofap_assets.mapping.validate`): every field but a node's identity may be null, and one that
does not fit its type is stored as null with a field-level note.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gofap_assets.mapping import NotNull, StateText, UtcDatetime, WholeNumber, validate
from gofap_assets.warehouse import Record

SOURCE = "linear"
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel,
                              populate_by_name=True, allow_inf_nan=False)


class _Node(_Model):
    id: str = Field(min_length=1)


class TeamRef(_Node):
    key: str = Field(min_length=1)


class StateRef(_Node):
    name: StateText | None = None
    type: str | None = None


class IssueRef(_Node):
    identifier: str | None = None


class CycleRef(_Node):
    number: float | None = None


class Team(_Node):
    key: str = Field(min_length=1)
    name: NotNull[str] = None
    description: str | None = None
    private: bool | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None


class User(_Node):
    name: NotNull[str] = None
    display_name: str | None = None
    email: str | None = None
    active: NotNull[bool] = None
    admin: bool | None = None
    guest: bool | None = None
    app: bool | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None


class Project(_Node):
    name: NotNull[str] = None
    description: str | None = None
    url: str | None = None
    state: StateText | None = None
    """What SPEC.md maps (`started`, `completed`...); Linear deprecates it for `status`, whose
    type is the fallback."""
    status: StateRef | None = None
    progress: float | None = None
    start_date: str | None = None
    target_date: str | None = None
    completed_at: UtcDatetime | None = None
    canceled_at: UtcDatetime | None = None
    trashed: bool | None = None
    lead: _Node | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None


class Issue(_Node):
    identifier: NotNull[str] = None
    number: NotNull[WholeNumber] = None
    title: NotNull[str] = None
    description: str | None = None
    priority: NotNull[WholeNumber] = None
    priority_label: str | None = None
    estimate: float | None = None
    due_date: str | None = None
    url: str | None = None
    trashed: bool | None = None
    label_ids: list[str] | None = None
    team: TeamRef
    """The team the issue is in now: its partition, so part of its identity here."""
    state: NotNull[StateRef] = None
    assignee: _Node | None = None
    creator: _Node | None = None
    project: _Node | None = None
    parent: IssueRef | None = None
    cycle: CycleRef | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    canceled_at: UtcDatetime | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _ref(ref: _Node | None) -> str | None:
    return ref.id if ref else None


def team_record(raw: dict[str, Any]) -> Record:
    team, notes = validate(Team, raw, identity=("id", "key"))
    return Record(
        source=SOURCE, data_type="team", external_id=team.id, parent_key=None,
        title=team.name, description=team.description, state=None,
        external_created_at=team.created_at, external_updated_at=team.updated_at,
        raw_data=raw, archived=team.archived_at is not None, notes=notes,
        processed_data={
            "id": team.id, "key": team.key, "name": team.name, "private": team.private,
            "archived": team.archived_at is not None, "archived_at": _iso(team.archived_at),
        },
    )


def user_record(raw: dict[str, Any]) -> Record:
    user, notes = validate(User, raw)
    return Record(
        source=SOURCE, data_type="user", external_id=user.id, parent_key=None,
        title=user.name, description=user.email,
        state=None if user.active is None else "active" if user.active else "inactive",
        external_created_at=user.created_at, external_updated_at=user.updated_at,
        raw_data=raw, archived=user.archived_at is not None, notes=notes,
        processed_data={
            "id": user.id, "name": user.name, "display_name": user.display_name,
            "email": user.email, "active": user.active, "admin": user.admin,
            "guest": user.guest, "app": user.app,
            "archived": user.archived_at is not None, "archived_at": _iso(user.archived_at),
        },
    )


def project_record(raw: dict[str, Any]) -> Record:
    project, notes = validate(Project, raw)
    status = project.status
    state = project.state or (status.type if status else None)
    archived = project.archived_at is not None or bool(project.trashed)
    return Record(
        source=SOURCE, data_type="project", external_id=project.id, parent_key=None,
        title=project.name, description=project.description, state=state,
        external_created_at=project.created_at, external_updated_at=project.updated_at,
        raw_data=raw, archived=archived, notes=notes,
        processed_data={
            "id": project.id, "name": project.name,
            "state": state, "status_id": _ref(status),
            "status_name": status.name if status else None,
            "status_type": status.type if status else None,
            "progress": project.progress, "lead_id": _ref(project.lead),
            "start_date": project.start_date, "target_date": project.target_date,
            "url": project.url, "trashed": bool(project.trashed), "archived": archived,
            "archived_at": _iso(project.archived_at),
            "completed_at": _iso(project.completed_at),
            "canceled_at": _iso(project.canceled_at),
        },
    )


def issue_record(raw: dict[str, Any]) -> Record:
    """Parented by the team the issue is in now, whichever team's listing it came from."""
    issue, notes = validate(Issue, raw, identity=("id", "team"))
    priority = int(issue.priority) if issue.priority is not None else None
    state = issue.state
    archived = issue.archived_at is not None or bool(issue.trashed)
    return Record(
        source=SOURCE, data_type="issue", external_id=issue.id, parent_key=issue.team.key,
        title=issue.title, description=issue.description, state=state.name if state else None,
        external_created_at=issue.created_at, external_updated_at=issue.updated_at,
        raw_data=raw, archived=archived, notes=notes,
        processed_data={
            "id": issue.id, "identifier": issue.identifier,
            "number": int(issue.number) if issue.number is not None else None,
            "team_id": issue.team.id, "team_key": issue.team.key,
            "state_id": _ref(state), "state_name": state.name if state else None,
            "state_type": state.type if state else None,
            "assignee_id": _ref(issue.assignee), "creator_id": _ref(issue.creator),
            "project_id": _ref(issue.project), "parent_id": _ref(issue.parent),
            "cycle_id": _ref(issue.cycle),
            "priority": priority,
            "priority_label": issue.priority_label or (
                PRIORITY_LABELS.get(priority) if priority is not None else None),
            "estimate": issue.estimate, "due_date": issue.due_date, "url": issue.url,
            "label_ids": None if issue.label_ids is None else list(issue.label_ids),
            "trashed": bool(issue.trashed),
            "archived": archived, "archived_at": _iso(issue.archived_at),
            "started_at": _iso(issue.started_at), "completed_at": _iso(issue.completed_at),
            "canceled_at": _iso(issue.canceled_at),
        },
    )


class CommentIssueRef(_Node):
    team: TeamRef


class Comment(_Node):
    body: NotNull[str] = None
    url: NotNull[str] = None
    issue_id: str | None = None
    parent_id: str | None = None
    issue: CommentIssueRef
    """The issue and its current team: the comment's partition, so part of its identity."""
    user: _Node | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None
    edited_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None


class Cycle(_Node):
    number: NotNull[WholeNumber] = None
    name: str | None = None
    description: str | None = None
    starts_at: NotNull[UtcDatetime] = None
    ends_at: NotNull[UtcDatetime] = None
    completed_at: UtcDatetime | None = None
    is_active: NotNull[bool] = None
    is_future: NotNull[bool] = None
    is_past: NotNull[bool] = None
    progress: NotNull[float] = None
    team: TeamRef
    """The team the cycle belongs to: its partition, so part of its identity here."""
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None
    auto_archived_at: UtcDatetime | None = None


class WorkflowState(_Node):
    name: NotNull[str] = None
    type: NotNull[StateText] = None
    description: str | None = None
    color: str | None = None
    position: float | None = None
    team: TeamRef
    """Its partition, like a cycle's."""
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None


class Label(_Node):
    name: NotNull[str] = None
    description: str | None = None
    color: str | None = None
    is_group: bool | None = None
    team: TeamRef | None = None
    """None for a workspace label."""
    parent: _Node | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    archived_at: UtcDatetime | None = None


def first_line(text: str | None) -> str | None:
    """A comment's title: the first line of its body (None for an empty body)."""
    if not text or not text.strip():
        return None
    return text.strip().splitlines()[0].strip()


def cycle_state(cycle: Cycle) -> str | None:
    """`active`, `upcoming` or `completed`; Linear computes the flags from the clock."""
    if cycle.is_active:
        return "active"
    if cycle.is_future:
        return "upcoming"
    if cycle.is_past or cycle.completed_at is not None:
        return "completed"
    return None


def _team_key(team: TeamRef | None) -> str | None:
    return team.key if team else None


def comment_record(raw: dict[str, Any]) -> Record:
    """Parented by the team its issue is in now (a team listing has issue comments only)."""
    comment, notes = validate(Comment, raw, identity=("id", "issue"))
    issue_id, team = comment.issue.id, comment.issue.team
    return Record(
        source=SOURCE, data_type="comment", external_id=comment.id, parent_key=_team_key(team),
        title=first_line(comment.body), description=comment.body, state=None,
        external_created_at=comment.created_at, external_updated_at=comment.updated_at,
        raw_data=raw, archived=comment.archived_at is not None, notes=notes,
        processed_data={
            "id": comment.id, "issue_id": issue_id, "team_id": _ref(team),
            "team_key": _team_key(team), "user_id": _ref(comment.user),
            "parent_id": comment.parent_id, "url": comment.url,
            "archived": comment.archived_at is not None,
            "archived_at": _iso(comment.archived_at), "edited_at": _iso(comment.edited_at),
            "resolved_at": _iso(comment.resolved_at),
        },
    )


def cycle_record(raw: dict[str, Any]) -> Record:
    cycle, notes = validate(Cycle, raw, identity=("id", "team"))
    number = int(cycle.number) if cycle.number is not None else None
    title = cycle.name or (f"Cycle {number}" if number is not None else None)
    state = cycle_state(cycle)
    archived = cycle.archived_at is not None
    return Record(
        source=SOURCE, data_type="cycle", external_id=cycle.id, parent_key=_team_key(cycle.team),
        title=title, description=cycle.description, state=state,
        external_created_at=cycle.created_at, external_updated_at=cycle.updated_at,
        raw_data=raw, archived=archived, notes=notes,
        processed_data={
            "id": cycle.id, "number": number, "name": cycle.name,
            "team_id": _ref(cycle.team), "team_key": _team_key(cycle.team), "state": state,
            "starts_at": _iso(cycle.starts_at), "ends_at": _iso(cycle.ends_at),
            "completed_at": _iso(cycle.completed_at), "progress": cycle.progress,
            "archived": archived, "archived_at": _iso(cycle.archived_at),
            "auto_archived_at": _iso(cycle.auto_archived_at),
        },
    )


def workflow_state_record(raw: dict[str, Any]) -> Record:
    workflow_state, notes = validate(WorkflowState, raw, identity=("id", "team"))
    team = workflow_state.team
    archived = workflow_state.archived_at is not None
    return Record(
        source=SOURCE, data_type="workflow_state", external_id=workflow_state.id,
        parent_key=_team_key(team), title=workflow_state.name,
        description=workflow_state.description, state=workflow_state.type,
        external_created_at=workflow_state.created_at,
        external_updated_at=workflow_state.updated_at, raw_data=raw, archived=archived,
        notes=notes, processed_data={
            "id": workflow_state.id, "name": workflow_state.name, "type": workflow_state.type,
            "team_id": _ref(team), "team_key": _team_key(team), "color": workflow_state.color,
            "position": workflow_state.position, "archived": archived,
            "archived_at": _iso(workflow_state.archived_at),
        },
    )


def label_record(raw: dict[str, Any]) -> Record:
    """Workspace labels have no team (and no parent key); team labels carry their team's."""
    label, notes = validate(Label, raw)
    archived = label.archived_at is not None
    return Record(
        source=SOURCE, data_type="label", external_id=label.id, parent_key=_team_key(label.team),
        title=label.name, description=label.description, state=None,
        external_created_at=label.created_at, external_updated_at=label.updated_at,
        raw_data=raw, archived=archived, notes=notes,
        processed_data={
            "id": label.id, "name": label.name, "team_id": _ref(label.team),
            "team_key": _team_key(label.team), "parent_id": _ref(label.parent),
            "color": label.color, "is_group": label.is_group, "archived": archived,
            "archived_at": _iso(label.archived_at),
        },
    )
