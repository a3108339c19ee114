"""The Linear sandbox's data: a deterministic workspace of any size, mutable between syncs, with
the ground truth an importer's warehouse should end up holding.

Teams, users and projects are few and built up front. Issues are many and lazy: a team's index
(one record per issue, sorted by createdAt and by updatedAt) is built the first time a query
touches the team, and an issue's text and links only when a query returns it. Everything is
derived from ``seed``, so two worlds with the same arguments serve byte-identical answers.
"""

import bisect
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from gofap_assets.sandbox.linear import content
from gofap_assets.sandbox.linear.comments import CommentRecord, comments_of, new_comment_id
from gofap_assets.sandbox.linear.filters import compile_filter, key_bounds, nested_filters
from gofap_assets.sandbox.linear.issues import (
    BACKLOG,
    CANCELED,
    DONE,
    IN_PROGRESS,
    IN_REVIEW,
    PRIORITY_LABELS,
    STATES,
    TODO,
    IssueContent,
    IssueRecord,
    Timeline,
    issue_id,
    make_content,
    make_record,
)
from gofap_assets.sandbox.linear.paging import Key, paginate
from gofap_assets.sandbox.linear.values import (
    DAY_MS,
    encode_cursor,
    from_ms,
    iso,
    iso_date,
    to_ms,
)

SCALES: Mapping[str, Mapping[str, int]] = {
    "small": {"teams": 2, "issues_per_team": 300, "users": 10, "projects": 4},
    "medium": {"teams": 5, "issues_per_team": 10_000, "users": 60, "projects": 24},
    "large": {"teams": 10, "issues_per_team": 10_000, "users": 150, "projects": 60},
}
LABELS_PER_TEAM = 8
CYCLE_MS = 14 * DAY_MS
PROJECT_STATUSES = (("Backlog", "backlog"), ("Planned", "planned"), ("In Progress", "started"),
                    ("Paused", "paused"), ("Completed", "completed"), ("Canceled", "canceled"))

@dataclass(frozen=True)
class ExpectedRow:
    """One row the importer's ``imported_data`` should hold, per SPEC.md's mapping."""

    source: str
    data_type: str
    external_id: str
    title: str | None
    state: str | None
    description: str | None
    archived: bool = False
    trashed: bool = False
    external_created_at: str | None = None
    external_updated_at: str | None = None
    team_key: str | None = None
    """The team key the importer parents the row by: an issue's and its comments' current
    team, a cycle's, a workflow state's, a team label's (None for a workspace label)."""


@dataclass(frozen=True)
class Page:
    """One page of a connection: nodes (dicts shaped like Linear's) and their cursors."""

    nodes: list[dict[str, Any]]
    cursors: list[str]
    has_next: bool
    has_previous: bool


class NotFound(LookupError):
    """No entity with that id; the argument is the GraphQL type name, for Linear's message."""


class LinearWorld:
    """A generated Linear workspace. Thread-safe: queries and ``mutate`` share one lock."""

    def __init__(self, seed: int = 1, *, teams: int, issues_per_team: int, users: int,
                 projects: int, now: datetime | None = None) -> None:
        if teams < 1 or users < 1 or issues_per_team < 0 or projects < 0:
            raise ValueError("need at least one team and one user, and no negative counts")
        self.seed = seed
        self.issues_per_team = issues_per_team
        self._live = now is None
        self._now = to_ms(now or datetime.now(UTC))
        self._lock = threading.RLock()
        self._start = self._now - 760 * DAY_MS
        rng = random.Random(f"{seed}/workspace")
        self.organization = {"id": self._uuid(rng), "name": "GOFAP Sandbox", "urlKey": "gofap",
                             "createdAt": iso(self._start)}
        self._users = [self._make_user(rng, i, users) for i in range(users)]
        self._teams = [self._make_team(rng, t) for t in range(teams)]
        self._team_names = [team["name"] for team in self._teams]
        self._states = [[{"id": self._uuid(rng), "name": name, "type": kind, "color": color}
                         for name, kind, color in STATES] for _ in range(teams)]
        self._cycles = [[{"id": self._uuid(rng), "number": float(n + 1)}
                         for n in range(max(3, issues_per_team // 100))] for _ in range(teams)]
        self._labels = [[self._uuid(rng) for _ in range(LABELS_PER_TEAM)] for _ in range(teams)]
        self._statuses = [{"id": self._uuid(rng), "name": name, "type": kind}
                          for name, kind in PROJECT_STATUSES]
        self._projects = [self._make_project(rng, p, projects) for p in range(projects)]
        self._timelines = [Timeline.for_team(seed, t, issues_per_team, self._now)
                           for t in range(teams)]
        # Issues: built per team on first use.
        self._records: dict[str, IssueRecord] = {}
        self._by_created: dict[int, list[Key]] = {}
        self._by_updated: dict[int, list[Key]] = {}
        self._next_number = [issues_per_team + 1] * teams
        self._overrides: dict[str, dict[str, Any]] = {}
        self._deleted: set[str] = set()
        self._failing: dict[str, str] = {}
        self._added = 0
        self._mutations = 0
        self._cycle_count = len(self._cycles[0])
        """How many cycles issues are drawn into; each team has one more, upcoming and empty."""
        extra = random.Random(f"{seed}/entities")
        self._extend_states(extra)
        self._extend_cycles(extra)
        self._label_nodes = self._make_labels(extra)
        self._removed: dict[str, set[str]] = {"cycle": set(), "label": set(), "comment": set()}
        # Comments: built on first use, from the issues as they were generated.
        self._comments: dict[str, CommentRecord] | None = None
        self._comments_by_created: list[Key] = []
        self._comments_by_updated: list[Key] = []
        self._new_comments = 0
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []
        """Told of each change as it happens (under the lock): type, action and the entity's
        node as it is then (as it was, for a removal). The sandbox's webhooks use it."""

    def _notify(self, kind: str, action: str, node: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(kind, action, node)

    @classmethod
    def scaled(cls, scale: str = "small", seed: int = 1, *,
               now: datetime | None = None) -> "LinearWorld":
        """``small`` (2 teams x 300 issues), ``medium`` (5 x 10,000) or ``large`` (10 x 10,000)."""
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
        return cls(seed, now=now, **SCALES[scale])

    # -- clock and sizes ----------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The world's clock: fixed at construction (or real time), advanced by ``mutate``."""
        return from_ms(self._now)

    @property
    def indexed_teams(self) -> int:
        """How many teams' issue indexes exist: a 50,000-issue world starts with none."""
        return len(self._by_created)

    def issue_count(self) -> int:
        """Issues that exist (archived and trashed included, permanently deleted not)."""
        return len(self._teams) * self.issues_per_team + self._added - len(self._deleted)

    # -- small entities -------------------------------------------------------------------------

    @staticmethod
    def _uuid(rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _stamp(self, node: dict[str, Any], created: int, updated: int) -> dict[str, Any]:
        node.update(createdAt=iso(created), updatedAt=iso(updated), _createdAt=created,
                    _updatedAt=updated)
        return node

    def _make_user(self, rng: random.Random, index: int, count: int) -> dict[str, Any]:
        app = count >= 4 and index == count - 1
        name = "GitHub Integration" if app else content.person(index)
        created = self._start + rng.randrange(0, 600 * DAY_MS)
        node = {"id": self._uuid(rng), "name": name, "displayName": content.handle(name),
                "email": (f"integration+{index}@oauthapp.linear.app" if app
                          else f"{content.handle(name)}@gofap.example"),
                "active": not (count >= 4 and index == count - 2), "admin": index == 0,
                "guest": count >= 4 and index == count - 3, "app": app, "archivedAt": None}
        return self._stamp(node, created, created + rng.randrange(0, 60 * DAY_MS))

    def _make_team(self, rng: random.Random, index: int) -> dict[str, Any]:
        key, name, description = content.team_spec(index)
        created = self._start + (index % 52) * 7 * DAY_MS - DAY_MS
        node = {"id": self._uuid(rng), "key": key, "name": name, "description": description,
                "private": index % 4 == 3, "archivedAt": None}
        return self._stamp(node, created, created + rng.randrange(DAY_MS, 400 * DAY_MS))

    def _make_project(self, rng: random.Random, index: int, count: int) -> dict[str, Any]:
        created = self._start + rng.randrange(30 * DAY_MS, 600 * DAY_MS)
        updated = created + rng.randrange(0, self._now - created)
        archived = count >= 2 and index == count - 1
        trashed = count >= 10 and index == count - 2
        status = self._statuses[4 if archived else rng.randrange(len(self._statuses))]
        name = content.project_name(rng, index)
        start = created + rng.randrange(0, 30 * DAY_MS)
        lead = None if rng.random() < 0.2 else rng.randrange(len(self._users) - 1 or 1)
        node = {
            "id": self._uuid(rng), "name": name,
            "description": rng.choice(["", "Deliver the new flow to every agency.",
                                       "Replace the legacy batch jobs. 🛠️"]),
            "state": status["type"], "status": status,
            "url": f"https://linear.app/gofap/project/{content.slug(name)}-{rng.getrandbits(48):012x}",
            "startDate": iso_date(start) if rng.random() < 0.8 else None,
            "targetDate": iso_date(start + rng.randrange(30, 200) * DAY_MS)
            if rng.random() < 0.6 else None,
            "progress": 1.0 if status["type"] == "completed" else round(rng.random(), 2),
            "archivedAt": iso(updated) if archived or trashed else None,
            "completedAt": iso(updated) if status["type"] == "completed" else None,
            "canceledAt": iso(updated) if status["type"] == "canceled" else None,
            "trashed": True if trashed else None,
            "lead": None if lead is None else self._user_thunk(lead),
        }
        return self._stamp(node, created, updated)

    def _extend_states(self, rng: random.Random) -> None:
        """Give each team's workflow states what the `workflowStates` listing serves."""
        for t, states in enumerate(self._states):
            created = self._teams[t]["_createdAt"]
            for position, state in enumerate(states):
                state.update(position=float(position), archivedAt=None,
                             description=None if rng.random() < 0.5 else
                             f"Issues that are {state['name'].lower()}.")
                self._stamp(state, created, created + rng.randrange(0, 30 * DAY_MS))

    def _extend_cycles(self, rng: random.Random) -> None:
        """Two-week cycles ending with the active one, plus one upcoming; the oldest archived."""
        anchor = self._now // DAY_MS * DAY_MS - 7 * DAY_MS
        count = self._cycle_count
        for cycles in self._cycles:
            cycles.append({"id": self._uuid(rng), "number": float(count + 1)})
            for k, cycle in enumerate(cycles):
                starts = anchor + (k - (count - 1)) * CYCLE_MS
                ends = starts + CYCLE_MS
                past = ends <= self._now
                cycle.update(
                    name=content.CYCLE_NAMES[k % len(content.CYCLE_NAMES)]
                    if rng.random() < 0.3 else None,
                    description=None if rng.random() < 0.6 else "Close out the open audits.",
                    progress=1.0 if past else round(rng.random(), 2), _starts=starts,
                    _ends=ends, archivedAt=iso(ends + 7 * DAY_MS)
                    if k == 0 and count >= 3 and ends + 7 * DAY_MS <= self._now else None)
                created = starts - CYCLE_MS
                self._stamp(cycle, created, max(created, min(self._now, ends)) if past
                            else created)

    def _make_labels(self, rng: random.Random) -> list[dict[str, Any]]:
        """Each team's labels (the ids issues carry; a group and its two children among them)
        and a few workspace labels that belong to no team, the last one archived."""
        nodes = []
        for t, ids in enumerate(self._labels):
            team_created = self._teams[t]["_createdAt"]
            for i, label_id in enumerate(ids):
                created = team_created + rng.randrange(0, 60 * DAY_MS)
                node = {"id": label_id, "name": content.TEAM_LABELS[i % len(content.TEAM_LABELS)],
                        "description": None if rng.random() < 0.7 else "Triage weekly.",
                        "color": f"#{rng.getrandbits(24):06x}", "isGroup": i == 0,
                        "archivedAt": None, "_team": t, "_parent": ids[0] if i in (1, 2) else None}
                nodes.append(self._stamp(node, created, created + rng.randrange(0, 30 * DAY_MS)))
        for i, name in enumerate(content.WORKSPACE_LABELS):
            created = self._start + rng.randrange(0, 100 * DAY_MS)
            archived = i == len(content.WORKSPACE_LABELS) - 1
            updated = created + (200 * DAY_MS if archived else 0)
            node = {"id": self._uuid(rng), "name": name, "description": None,
                    "color": f"#{rng.getrandbits(24):06x}", "isGroup": False,
                    "archivedAt": iso(updated) if archived else None, "_team": None,
                    "_parent": None}
            nodes.append(self._stamp(node, created, updated))
        return nodes

    def _user_thunk(self, index: int) -> Callable[..., dict[str, Any]]:
        """Resolved at query time, so a user edited by ``mutate`` shows its current state."""
        return lambda *_args, **_kwargs: self._users[index]

    @staticmethod
    def _hidden(node: Mapping[str, Any]) -> bool:
        return node.get("archivedAt") is not None

    # -- lookups --------------------------------------------------------------------------------

    def viewer(self) -> dict[str, Any]:
        return self._users[0]

    def team(self, id_or_key: str) -> dict[str, Any]:
        for team in self._teams:
            if id_or_key in (team["id"], team["key"]):
                return team
        raise NotFound("Team")

    def user(self, user_id: str) -> dict[str, Any]:
        return self._find(self._users, user_id, "User")

    def project(self, project_id: str) -> dict[str, Any]:
        return self._find(self._projects, project_id, "Project")

    @staticmethod
    def _find(nodes: Sequence[dict[str, Any]], node_id: str, kind: str) -> dict[str, Any]:
        for node in nodes:
            if node["id"] == node_id:
                return node
        raise NotFound(kind)

    def issue(self, issue_id_: str) -> dict[str, Any]:
        with self._lock:
            self._ensure_all()
            record = self._records.get(issue_id_)
            if record is None:
                raise NotFound("Issue")
            return self._issue_node(record)

    # -- paging ---------------------------------------------------------------------------------

    def issue_page(self, *, filter: Mapping[str, Any] | None = None, order_by: str = "createdAt",
                   first: int | None = None, after: str | None = None, last: int | None = None,
                   before: str | None = None, include_archived: bool = False,
                   team_id: str | None = None) -> Page:
        now = self.now
        predicate = compile_filter(filter, now)
        team_tests = [compile_filter(sub, now) for sub in nested_filters(filter, "team")]
        low, high = key_bounds(filter, order_by, now)
        check_filter = filter is not None and bool(filter)
        with self._lock:
            teams = [t for t, team in enumerate(self._teams)
                     if (team_id is None or team["id"] == team_id)
                     and all(test(team) for test in team_tests)]
            for t in teams:
                self._ensure_team(t)
            index = self._by_updated if order_by == "updatedAt" else self._by_created
            lists = _id_candidates(filter, self._records, order_by, teams) or [index[t]
                                                                               for t in teams]
            records, teams_nodes = self._records, self._teams

            def accept(node_id: str) -> bool:
                record = records[node_id]
                if record.archived is not None and not include_archived:
                    return False
                return not check_filter or predicate(
                    {"id": node_id, "_createdAt": record.created, "_updatedAt": record.updated,
                     "team": teams_nodes[record.team]})

            keys, has_next, has_previous = paginate(lists, accept, first=first, after=after,
                                                    last=last, before=before, low=low, high=high)
            nodes = [self._issue_node(records[node_id]) for _, node_id in keys]
        return Page(nodes, [encode_cursor(*key) for key in keys], has_next, has_previous)

    def entity_page(self, kind: str, *, filter: Mapping[str, Any] | None = None,
                    order_by: str = "createdAt", first: int | None = None,
                    after: str | None = None, last: int | None = None,
                    before: str | None = None, include_archived: bool = False,
                    include_disabled: bool = True) -> Page:
        """Pages of ``teams``, ``users`` or ``projects``: few, so sorted per request."""
        now = self.now
        predicate = compile_filter(filter, now)
        field = "_updatedAt" if order_by == "updatedAt" else "_createdAt"
        with self._lock:
            nodes = {"teams": lambda: self._teams, "users": lambda: self._users,
                     "projects": lambda: self._projects, "cycles": self._cycle_nodes,
                     "workflowStates": self._state_nodes, "issueLabels": self._label_list}[kind]()
            by_id = {node["id"]: node for node in nodes}
            keyed = sorted((node[field], node["id"]) for node in nodes)

        def accept(node_id: str) -> bool:
            node = by_id[node_id]
            if not include_archived and self._hidden(node):
                return False
            if not include_disabled and not node.get("active", True):
                return False
            return predicate(node)

        low, high = key_bounds(filter, order_by, now)
        keys, has_next, has_previous = paginate([keyed], accept, first=first, after=after,
                                                last=last, before=before, low=low, high=high)
        return Page([by_id[node_id] for _, node_id in keys], [encode_cursor(*k) for k in keys],
                    has_next, has_previous)

    def _cycle_nodes(self) -> list[dict[str, Any]]:
        """Cycles as served now: whether one is active, upcoming or past follows the clock."""
        now, removed = self._now, self._removed["cycle"]
        return [{**cycle, "startsAt": iso(cycle["_starts"]), "endsAt": iso(cycle["_ends"]),
                 "completedAt": iso(cycle["_ends"]) if cycle["_ends"] <= now else None,
                 "isActive": cycle["_starts"] <= now < cycle["_ends"],
                 "isFuture": now < cycle["_starts"], "isPast": cycle["_ends"] <= now,
                 "autoArchivedAt": cycle["archivedAt"], "team": self._teams[t]}
                for t, cycles in enumerate(self._cycles) for cycle in cycles
                if cycle["id"] not in removed]

    def _state_nodes(self) -> list[dict[str, Any]]:
        return [{**state, "team": self._teams[t]} for t, states in enumerate(self._states)
                for state in states]

    def _label_list(self) -> list[dict[str, Any]]:
        removed = self._removed["label"]
        by_id = {node["id"]: node for node in self._label_nodes}
        return [{**node, "team": None if node["_team"] is None else self._teams[node["_team"]],
                 "parent": by_id.get(node["_parent"]) if node["_parent"] else None}
                for node in self._label_nodes if node["id"] not in removed]

    # -- comments -------------------------------------------------------------------------------

    def _ensure_comments(self) -> dict[str, CommentRecord]:
        if self._comments is not None:
            return self._comments
        self._ensure_all()
        comments: dict[str, CommentRecord] = {}
        for t in range(len(self._teams)):
            for _, node_id in self._by_created[t]:
                record = self._records[node_id]
                for comment in comments_of(self.seed, record.id, record.created, record.updated,
                                           len(self._users)):
                    comments[comment.id] = comment
        for project in self._projects:  # project-update comments: on no issue
            self._new_comments += 1
            at = project["_createdAt"]
            comment = CommentRecord(new_comment_id(self.seed, -self._new_comments), None, at, at,
                                    0, None)
            comments[comment.id] = comment
        self._comments = comments
        self._comments_by_created = sorted((c.created, c.id) for c in comments.values())
        self._comments_by_updated = sorted((c.updated, c.id) for c in comments.values())
        return comments

    def _comment_live(self, comment: CommentRecord) -> bool:
        """A permanently deleted issue takes its comments with it."""
        return comment.issue_id is None or comment.issue_id in self._records

    def comment_page(self, *, filter: Mapping[str, Any] | None = None,
                     order_by: str = "createdAt", first: int | None = None,
                     after: str | None = None, last: int | None = None,
                     before: str | None = None, include_archived: bool = False) -> Page:
        del include_archived  # no comment is archived here
        now = self.now
        predicate = compile_filter(filter, now)
        low, high = key_bounds(filter, order_by, now)
        check_filter = filter is not None and bool(filter)
        with self._lock:
            comments = self._ensure_comments()
            records, teams = self._records, self._teams
            index = (self._comments_by_updated if order_by == "updatedAt"
                     else self._comments_by_created)
            wanted = _ids_named(filter)
            lists = [index] if wanted is None else [sorted(
                ((c.updated if order_by == "updatedAt" else c.created), c.id)
                for c in (comments[i] for i in wanted if i in comments))]

            def accept(comment_id: str) -> bool:
                comment = comments[comment_id]
                if not self._comment_live(comment):
                    return False
                if not check_filter:
                    return True
                record = None if comment.issue_id is None else records[comment.issue_id]
                issue = None if record is None else {
                    "id": record.id, "team": teams[record.team], "_createdAt": record.created,
                    "_updatedAt": record.updated}
                return predicate({"id": comment_id, "_createdAt": comment.created,
                                  "_updatedAt": comment.updated, "issue": issue})

            keys, has_next, has_previous = paginate(lists, accept, first=first, after=after,
                                                    last=last, before=before, low=low, high=high)
            nodes = [self._comment_node(comments[comment_id]) for _, comment_id in keys]
        return Page(nodes, [encode_cursor(*key) for key in keys], has_next, has_previous)

    def _comment_node(self, comment: CommentRecord) -> dict[str, Any]:
        record = None if comment.issue_id is None else self._records.get(comment.issue_id)
        where = ("project/updates" if record is None else
                 f"issue/{self._teams[record.team]['key']}-{record.number}")
        return {
            "id": comment.id, "body": comment.text(self.seed),
            "url": f"https://linear.app/gofap/{where}#comment-{comment.id[:8]}",
            "createdAt": iso(comment.created), "updatedAt": iso(comment.updated),
            "archivedAt": None, "editedAt": None if comment.edited is None else iso(comment.edited),
            "resolvedAt": None, "issueId": comment.issue_id, "parentId": comment.parent_id,
            "user": None if comment.user is None else self._users[comment.user],
            "issue": None if comment.issue_id is None else self._issue_thunk(comment.issue_id),
        }

    def _comment_data(self, comment: CommentRecord) -> dict[str, Any]:
        """A comment as its webhook carries it: its issue as a small object with the team."""
        node = self._comment_node(comment)
        record = None if comment.issue_id is None else self._records.get(comment.issue_id)
        if record is not None:
            team = self._teams[record.team]
            node["issue"] = {"id": record.id, "title": self._issue_node(record)["title"],
                             "teamId": team["id"],
                             "team": {"id": team["id"], "key": team["key"],
                                      "name": team["name"]}}
        return node

    def _issue_thunk(self, node_id: str) -> Callable[..., dict[str, Any] | None]:
        def resolve(*_args: Any, **_kwargs: Any) -> dict[str, Any] | None:
            with self._lock:
                record = self._records.get(node_id)
                return None if record is None else self._issue_node(record)
        return resolve

    # -- issues ---------------------------------------------------------------------------------

    def _ensure_team(self, team: int) -> None:
        if team in self._by_created:
            return
        timeline, seed, now = self._timelines[team], self.seed, self._now
        records = [make_record(seed, team, n, timeline, now)
                   for n in range(1, self.issues_per_team + 1)]
        self._records.update((r.id, r) for r in records)
        self._by_created[team] = sorted((r.created, r.id) for r in records)
        self._by_updated[team] = sorted((r.updated, r.id) for r in records)

    def _ensure_all(self) -> None:
        for team in range(len(self._teams)):
            self._ensure_team(team)

    def _content(self, record: IssueRecord) -> IssueContent:
        team, number = record.origin
        return make_content(self.seed, team, number, users=len(self._users),
                            projects=len(self._projects), cycles=self._cycle_count,
                            labels=LABELS_PER_TEAM)

    def _issue_node(self, record: IssueRecord) -> dict[str, Any]:
        c = self._content(record)
        over = self._overrides.get(record.id, {})
        title = over.get("title", c.title)
        description = over.get("description", c.description)
        assignee = over.get("assignee", c.assignee)
        team = self._teams[record.team]
        identifier = f"{team['key']}-{record.number}"
        title_slug = content.slug(title)
        state, state_at = record.state, record.state_at
        archived = None if record.archived is None else iso(record.archived)
        origin_team, _ = record.origin
        user = None if assignee is None else self._users[assignee]
        node: dict[str, Any] = {
            "id": record.id, "identifier": identifier, "number": float(record.number),
            "title": title, "description": description, "priority": float(c.priority),
            "priorityLabel": PRIORITY_LABELS[c.priority], "estimate": c.estimate,
            "url": f"https://linear.app/gofap/issue/{identifier}/{title_slug}",
            "branchName": f"{user['displayName'] if user else 'issue'}/"
                          f"{identifier.lower()}-{title_slug[:40]}".rstrip("-"),
            "createdAt": iso(record.created), "updatedAt": iso(record.updated),
            "archivedAt": archived, "autoArchivedAt": archived if record.auto_archived else None,
            "autoClosedAt": iso(state_at) if state == CANCELED and c.auto_closed else None,
            "canceledAt": iso(state_at) if state == CANCELED else None,
            "completedAt": iso(state_at) if state == DONE else None,
            "startedAt": (iso(state_at) if state in (IN_PROGRESS, IN_REVIEW) else
                          iso(record.created + (state_at - record.created) // 2)
                          if state == DONE else None),
            "dueDate": (None if c.due_in_days is None
                        else iso_date(record.created + c.due_in_days * DAY_MS)),
            "trashed": True if record.trashed else None,
            "labelIds": [self._labels[origin_team][i] for i in c.labels],
            "state": self._states[record.team][state], "team": team, "assignee": user,
            "creator": None if c.creator is None else self._users[c.creator],
            "project": None if c.project is None else self._projects[c.project],
            "cycle": (None if c.cycle is None or origin_team != record.team
                      else self._cycles[record.team][c.cycle]),
            "parent": self._parent(origin_team, c.parent),
        }
        failing = self._failing.get(record.id)
        if failing is not None:
            node[failing] = _failure(failing, record.id)
        return node

    def _parent(self, origin_team: int, number: int | None) -> Callable[..., Any] | None:
        if number is None:
            return None
        self._ensure_team(origin_team)
        parent = self._records.get(issue_id(self.seed, origin_team, number))
        if parent is None:  # permanently deleted
            return None

        def resolve(*_args: Any, **_kwargs: Any) -> dict[str, Any] | None:
            with self._lock:
                current = self._records.get(parent.id)
                return None if current is None else self._issue_node(current)
        return resolve

    # -- partial failures -----------------------------------------------------------------------

    def fail_field(self, field: str = "assignee", count: int = 1,
                   ids: Sequence[str] | None = None) -> list[str]:
        """Make ``field`` of some issues raise when resolved, so answers carry data *and* errors.

        Without ``ids``, picks the first ``count`` visible issues of the first team by createdAt,
        which the default ``issues`` query returns on its first page."""
        with self._lock:
            if ids is None:
                self._ensure_team(0)
                ids = [node_id for _, node_id in self._by_created[0]
                       if not self._records[node_id].hidden][:count]
            for node_id in ids:
                self._failing[node_id] = field
            return list(ids)

    def heal(self) -> None:
        with self._lock:
            self._failing.clear()

    # -- mutation -------------------------------------------------------------------------------

    def mutate(self, fraction: float, seed: int) -> dict[str, int]:
        """Edit about ``fraction`` of the visible issues the way a busy workspace does between
        two syncs, plus additions, a disabled user, a renamed team and an edited project.

        Every touched entity gets ``updatedAt`` = the new clock (so they tie, as bulk edits do in
        Linear), except permanent deletions, which simply vanish. Returns what was done."""
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        with self._lock:
            self._ensure_all()
            self._ensure_comments()
            rng = random.Random(f"{self.seed}/mutate/{seed}/{self._mutations}")
            self._mutations += 1
            self._now = max(self._now + (1000 if self._live else 60_000),
                            to_ms(datetime.now(UTC)) if self._live else 0)
            counts = dict.fromkeys(("edited", "state_changed", "reassigned", "moved", "archived",
                                    "trashed", "deleted", "added", "users_disabled",
                                    "teams_renamed", "projects_edited", "comments_added",
                                    "comments_edited", "comments_removed", "cycles_renamed",
                                    "cycles_removed", "labels_renamed", "labels_removed"), 0)
            if fraction == 0:
                return counts
            visible = [node_id for t in range(len(self._teams)) for _, node_id in
                       self._by_created[t] if not self._records[node_id].hidden]
            chosen = rng.sample(visible, min(len(visible), max(1, round(fraction * len(visible)))))
            kinds = ["edited", "state_changed", "reassigned", "moved", "archived", "trashed",
                     "deleted"]
            plan = kinds[:len(chosen)] + rng.choices(kinds, weights=(35, 20, 15, 8, 8, 6, 8),
                                                     k=max(0, len(chosen) - len(kinds)))
            for node_id, kind in zip(chosen, plan, strict=True):
                if kind == "deleted" and self.listeners:
                    for comment in self._ensure_comments().values():
                        if comment.issue_id == node_id:
                            self._notify("Comment", "remove", self._comment_data(comment))
                    self._notify("Issue", "remove", self._issue_node(self._records[node_id]))
                done = self._mutate_issue(self._records[node_id], kind, rng)
                counts[done] += 1
                if done != "deleted" and self.listeners:
                    self._notify("Issue", "update", self._issue_node(self._records[node_id]))
            for _ in range(max(1, round(len(chosen) * 0.2))):
                self._add_issue(rng.randrange(len(self._teams)), rng)
                counts["added"] += 1
            counts["users_disabled"] = self._disable_user(rng)
            counts["teams_renamed"] = self._rename_team(rng)
            counts["projects_edited"] = self._edit_project(rng)
            counts.update(self._mutate_comments(rng, len(chosen)))
            counts["cycles_renamed"], counts["cycles_removed"] = self._mutate_cycles(rng)
            counts["labels_renamed"], counts["labels_removed"] = self._mutate_labels(rng)
            return counts

    def _touch(self, record: IssueRecord) -> None:
        _remove(self._by_updated[record.team], (record.updated, record.id))
        record.updated = self._now
        bisect.insort(self._by_updated[record.team], (record.updated, record.id))

    def _mutate_issue(self, record: IssueRecord, kind: str, rng: random.Random) -> str:
        over = dict(self._overrides.get(record.id, {}))
        if kind == "moved" and len(self._teams) == 1:
            kind = "edited"
        if kind == "deleted":
            del self._records[record.id]
            _remove(self._by_created[record.team], (record.created, record.id))
            _remove(self._by_updated[record.team], (record.updated, record.id))
            self._overrides.pop(record.id, None)
            self._failing.pop(record.id, None)
            self._deleted.add(record.id)
            return kind
        if kind == "edited":
            over["title"] = content.issue_title(rng) + " (edited)"
            over["description"] = content.issue_description(rng)
        elif kind == "state_changed":
            record.state = rng.choice([s for s in range(len(STATES)) if s != record.state])
            record.state_at = self._now
        elif kind == "reassigned":
            current = over.get("assignee", self._content(record).assignee)
            over["assignee"] = rng.choice([None, *(i for i in range(len(self._users))
                                                   if i != current)])
        elif kind == "moved":
            target = rng.choice([t for t in range(len(self._teams)) if t != record.team])
            _remove(self._by_created[record.team], (record.created, record.id))
            _remove(self._by_updated[record.team], (record.updated, record.id))
            record.team, record.number = target, self._next_number[target]
            self._next_number[target] += 1
            bisect.insort(self._by_created[target], (record.created, record.id))
            bisect.insort(self._by_updated[target], (record.updated, record.id))
        elif kind == "archived":
            record.archived = self._now
        elif kind == "trashed":
            record.archived, record.trashed = self._now, True
        self._overrides[record.id] = over
        self._touch(record)
        return kind

    def _add_issue(self, team: int, rng: random.Random) -> None:
        number = self._next_number[team]
        self._next_number[team] += 1
        record = IssueRecord(issue_id(self.seed, team, number), (team, number), team, number,
                             self._now, self._now, rng.choice((BACKLOG, TODO)), self._now)
        self._records[record.id] = record
        bisect.insort(self._by_created[team], (record.created, record.id))
        bisect.insort(self._by_updated[team], (record.updated, record.id))
        self._added += 1
        if self.listeners:
            self._notify("Issue", "create", self._issue_node(record))

    def _disable_user(self, rng: random.Random) -> int:
        candidates = [i for i, u in enumerate(self._users)
                      if u["active"] and not u["admin"] and not u["app"]]
        if not candidates:
            return 0
        index = rng.choice(candidates)
        self._users[index] = self._stamp({**self._users[index], "active": False},
                                         self._users[index]["_createdAt"], self._now)
        self._notify("User", "update", self._users[index])
        return 1

    def _rename_team(self, rng: random.Random) -> int:
        index = rng.randrange(len(self._teams))
        name = f"{self._team_names[index]} {rng.choice(['Core', 'Platform', 'Guild', 'Squad'])}"
        self._teams[index] = self._stamp({**self._teams[index], "name": name},
                                         self._teams[index]["_createdAt"], self._now)
        self._notify("Team", "update", self._teams[index])
        return 1

    def _edit_project(self, rng: random.Random) -> int:
        live = [i for i, p in enumerate(self._projects) if not self._hidden(p)]
        if not live:
            return 0
        index = rng.choice(live)
        status = rng.choice(self._statuses)
        project = {**self._projects[index], "status": status, "state": status["type"],
                   "description": "Scope changed after the review. ✏️"}
        self._projects[index] = self._stamp(project, project["_createdAt"], self._now)
        self._notify("Project", "update", self._projects[index])
        return 1

    def _touch_comment(self, comment: CommentRecord) -> None:
        _remove(self._comments_by_updated, (comment.updated, comment.id))
        comment.updated = self._now
        bisect.insort(self._comments_by_updated, (comment.updated, comment.id))

    def _mutate_comments(self, rng: random.Random, changed: int) -> dict[str, int]:
        """New comments on visible issues, edits, and a removal (which simply vanishes)."""
        comments = self._ensure_comments()
        live = [i for _, i in self._comments_by_created
                if comments[i].issue_id is not None and self._comment_live(comments[i])]
        touched = rng.sample(live, min(len(live), 2 + changed // 10))
        removed = touched[:1]
        for comment_id in touched[1:]:
            comment = comments[comment_id]
            comment.body = content.comment_body(rng) + " (edited)"
            comment.edited = self._now
            self._touch_comment(comment)
            self._notify("Comment", "update", self._comment_data(comment))
        for comment_id in removed:
            self._notify("Comment", "remove", self._comment_data(comments[comment_id]))
            comment = comments.pop(comment_id)
            _remove(self._comments_by_created, (comment.created, comment.id))
            _remove(self._comments_by_updated, (comment.updated, comment.id))
            self._removed["comment"].add(comment_id)
        visible = [i for t in range(len(self._teams)) for _, i in self._by_created[t]
                   if not self._records[i].hidden]
        added = max(1, round(changed * 0.2)) if visible else 0
        for _ in range(added):
            self._new_comments += 1
            comment = CommentRecord(new_comment_id(self.seed, self._new_comments),
                                    rng.choice(visible), self._now, self._now,
                                    rng.randrange(len(self._users)), None)
            comments[comment.id] = comment
            bisect.insort(self._comments_by_created, (comment.created, comment.id))
            bisect.insort(self._comments_by_updated, (comment.updated, comment.id))
            self._notify("Comment", "create", self._comment_data(comment))
        return {"comments_added": added, "comments_edited": len(touched[1:]),
                "comments_removed": len(removed)}

    def _mutate_cycles(self, rng: random.Random) -> tuple[int, int]:
        """Rename a cycle; remove a team's upcoming, empty one (no issue is in it)."""
        team = rng.randrange(len(self._teams))
        cycles = self._cycles[team]
        renamed = rng.choice(cycles[:-1])
        renamed["name"] = f"{rng.choice(content.CYCLE_NAMES)} (renamed)"
        self._stamp(renamed, renamed["_createdAt"], self._now)
        upcoming = cycles[-1]["id"]
        served = {node["id"]: node for node in self._cycle_nodes()}
        self._notify("Cycle", "update", served[renamed["id"]])
        removed = int(upcoming not in self._removed["cycle"])
        if removed:
            self._notify("Cycle", "remove", served[upcoming])
        self._removed["cycle"].add(upcoming)
        return 1, removed

    def _mutate_labels(self, rng: random.Random) -> tuple[int, int]:
        """Rename a team label (its issues keep its id); remove a live workspace label."""
        team_labels = [n for n in self._label_nodes if n["_team"] is not None]
        label = rng.choice(team_labels)
        label["name"] = label["name"].split(" (")[0] + f" ({rng.choice(['v2', 'legacy'])})"
        self._stamp(label, label["_createdAt"], self._now)
        served = {node["id"]: node for node in self._label_list()}
        self._notify("IssueLabel", "update", served[label["id"]])
        removable = [n["id"] for n in self._label_nodes if n["_team"] is None
                     and n["archivedAt"] is None and n["id"] not in self._removed["label"]]
        if removable:
            doomed = rng.choice(removable)
            self._notify("IssueLabel", "remove", served[doomed])
            self._removed["label"].add(doomed)
        return 1, int(bool(removable))

    # -- ground truth ---------------------------------------------------------------------------

    def deleted_ids(self) -> set[str]:
        """Issues permanently deleted by ``mutate``: a full sync should mark them deleted."""
        with self._lock:
            return set(self._deleted)

    def deleted_keys(self) -> set[tuple[str, str]]:
        """(data type, id) of everything that vanished: issues, their comments, removed
        comments, cycles and labels. A full sync should mark exactly these (of those seen)."""
        with self._lock:
            keys = {("issue", node_id) for node_id in self._deleted}
            keys |= {(kind, node_id) for kind, ids in self._removed.items() for node_id in ids}
            keys |= {("comment", c.id) for c in (self._comments or {}).values()
                     if not self._comment_live(c)}
            return keys

    def expected_rows(self) -> Iterator[ExpectedRow]:
        """What a complete sync (``includeArchived``, ``includeDisabled``) should have imported.

        Takes a consistent snapshot under the lock, then builds rows lazily outside it."""
        with self._lock:
            self._ensure_all()
            teams, users, projects = list(self._teams), list(self._users), list(self._projects)
            cycles, states, labels = self._cycle_nodes(), self._state_nodes(), self._label_list()
            comments = [(c, self._teams[self._records[c.issue_id].team]["key"])
                        for c in self._ensure_comments().values()
                        if c.issue_id is not None and self._comment_live(c)]
            issues = [(r.id, r.origin, r.team, r.state, r.archived is not None, r.trashed,
                       r.created, r.updated, self._overrides.get(r.id, {}))
                      for t in range(len(teams)) for _, node_id in self._by_created[t]
                      for r in (self._records[node_id],)]
        for team in teams:
            yield self._row("team", team, team["name"], None, team["description"])
        for user in users:
            yield self._row("user", user, user["name"], "active" if user["active"] else "inactive",
                            user["email"])
        for project in projects:
            yield self._row("project", project, project["name"], project["state"],
                            project["description"], trashed=bool(project["trashed"]))
        for node_id, (origin, number), team, state, archived, trashed, created, updated, over \
                in issues:
            c = make_content(self.seed, origin, number, users=len(users),
                             projects=len(projects), cycles=self._cycle_count,
                             labels=LABELS_PER_TEAM)
            yield ExpectedRow("linear", "issue", node_id, over.get("title", c.title),
                              STATES[state][0], over.get("description", c.description),
                              archived=archived, trashed=trashed,
                              external_created_at=iso(created), external_updated_at=iso(updated),
                              team_key=teams[team]["key"])
        for state in states:
            yield self._row("workflow_state", state, state["name"], state["type"],
                            state["description"], team_key=state["team"]["key"])
        for cycle in cycles:
            title = cycle["name"] or f"Cycle {int(cycle['number'])}"
            status = ("active" if cycle["isActive"] else "upcoming" if cycle["isFuture"]
                      else "completed")
            yield self._row("cycle", cycle, title, status, cycle["description"],
                            team_key=cycle["team"]["key"])
        for label in labels:
            yield self._row("label", label, label["name"], None, label["description"],
                            team_key=label["team"]["key"] if label["team"] else None)
        for comment, team_key in comments:
            body = comment.text(self.seed)
            yield ExpectedRow("linear", "comment", comment.id, body.splitlines()[0], None, body,
                              external_created_at=iso(comment.created),
                              external_updated_at=iso(comment.updated), team_key=team_key)

    def _row(self, kind: str, node: Mapping[str, Any], title: str, state: str | None,
             description: str | None, trashed: bool = False,
             team_key: str | None = None) -> ExpectedRow:
        return ExpectedRow("linear", kind, node["id"], title, state, description,
                           archived=node["archivedAt"] is not None, trashed=trashed,
                           external_created_at=node["createdAt"],
                           external_updated_at=node["updatedAt"], team_key=team_key)


def _remove(entries: list[Key], key: Key) -> None:
    i = bisect.bisect_left(entries, key)
    if i < len(entries) and entries[i] == key:
        del entries[i]


def _id_candidates(spec: Mapping[str, Any] | None, records: Mapping[str, IssueRecord],
                   order_by: str, teams: Sequence[int]) -> list[list[Key]] | None:
    """A top-level ``id: {eq|in}`` names the candidates: no need to scan every team."""
    comparator = (spec or {}).get("id") or {}
    wanted = ([comparator["eq"]] if comparator.get("eq") is not None
              else comparator.get("in"))
    if wanted is None:
        return None
    allowed = set(teams)
    found = [records[i] for i in set(wanted) if i in records and records[i].team in allowed]
    return [sorted(((r.updated if order_by == "updatedAt" else r.created), r.id) for r in found)]


def _ids_named(spec: Mapping[str, Any] | None) -> list[str] | None:
    comparator = (spec or {}).get("id") or {}
    if comparator.get("eq") is not None:
        return [comparator["eq"]]
    return comparator.get("in")


def _failure(field: str, node_id: str) -> Callable[..., Any]:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise GraphQLError(
            f"Internal error while resolving {field} of issue {node_id}",
            extensions={"type": "internal error", "code": "INTERNAL_SERVER_ERROR",
                        "userError": False,
                        "userPresentableMessage": "An unexpected error occurred."})
    return fail
