"""One issue of the sandbox, derived from (seed, team, number) alone.

An issue has two layers. The *record* (id, timestamps, workflow state, archival) is what listing,
filtering and sorting need; it comes from one BLAKE2 digest, cheaply enough to index 100,000
issues. The *content* (title, description, people, links) is drawn from a generator seeded by the
same digest only when a query returns the issue, so a large world costs little until it is read.
"""

import bisect
import hashlib
import random
import struct
from dataclasses import dataclass

from gofap_assets.sandbox.linear import content
from gofap_assets.sandbox.linear.values import DAY_MS

STATES = (  # (name, type, color) per team, in Linear's default workflow order
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("In Review", "started", "#0f783c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
)
BACKLOG, TODO, IN_PROGRESS, IN_REVIEW, DONE, CANCELED = range(6)
CLOSED = frozenset({DONE, CANCELED})
PRIORITY_LABELS = ("No priority", "Urgent", "High", "Medium", "Low")
_PRIORITY_ODDS = (0.2, 0.25, 0.45, 0.8)
"""Cumulative odds of priority 0 (none), 1 (urgent), 2, 3; the rest is 4 (low)."""
AUTO_ARCHIVE_MS = 180 * DAY_MS
"""Linear auto-archives closed issues after a configurable period; six months here."""


class IssueRecord:
    """What indexes and filters need. Mutable: the world edits it under its lock."""

    __slots__ = ("archived", "auto_archived", "created", "id", "number", "origin", "state",
                 "state_at", "team", "trashed", "updated")

    def __init__(self, id: str, origin: tuple[int, int], team: int, number: int, created: int,
                 updated: int, state: int, state_at: int, archived: int | None = None,
                 auto_archived: bool = False, trashed: bool = False) -> None:
        self.id = id
        self.origin = origin
        """(team, number) the issue was generated from; its content never changes with moves."""
        self.team = team
        self.number = number
        self.created = created
        self.updated = updated
        self.state = state
        self.state_at = state_at
        """When the issue entered its current workflow state (started/completed/canceled at)."""
        self.archived = archived
        self.auto_archived = auto_archived
        self.trashed = trashed

    @property
    def hidden(self) -> bool:
        """Archived (trashed issues are archived too): left out without ``includeArchived``."""
        return self.archived is not None


@dataclass(frozen=True)
class Timeline:
    """When a team's issues were created, and the bulk edits that give many the same
    ``updatedAt`` (Linear's timestamps tie, and cursor-overlap logic must cope)."""

    start: int
    end: int
    per_team: int
    bulk: tuple[int, ...]

    @classmethod
    def for_team(cls, seed: int, team: int, per_team: int, now: int) -> "Timeline":
        start = now - 730 * DAY_MS + (team % 52) * 7 * DAY_MS
        end = now - DAY_MS
        rng = random.Random(f"{seed}/timeline/{team}")
        count = max(3, per_team // 40)
        bulk = sorted(rng.randrange(start, end) // 1000 * 1000 for _ in range(count))
        return cls(start, end, max(per_team, 1), tuple(bulk))

    def created(self, number: int, jitter: float) -> int:
        return self.start + int((number - 1 + jitter) * (self.end - self.start) / self.per_team)


def _digest(seed: int, team: int, number: int) -> bytes:
    return hashlib.blake2b(f"{seed}/{team}/{number}".encode(), digest_size=32).digest()


def _uuid4(digest: bytes) -> str:
    """A version-4 UUID string from 16 digest bytes (formatted by hand: 3x faster than uuid)."""
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def issue_id(seed: int, team: int, number: int) -> str:
    return _uuid4(_digest(seed, team, number))


def make_record(seed: int, team: int, number: int, timeline: Timeline, now: int) -> IssueRecord:
    """The generated record of issue ``number`` (1-based) of ``team``."""
    digest = _digest(seed, team, number)
    u = [value / 65536 for value in struct.unpack_from(">8H", digest, 16)]
    created = timeline.created(number, u[0])
    if u[1] < 0.12 and (i := bisect.bisect_left(timeline.bulk, created)) < len(timeline.bulk):
        updated = timeline.bulk[i]
    elif u[1] < 0.55:
        updated = created + int(u[2] * u[2] * 3 * DAY_MS)
    else:
        updated = created + int(u[2] * (now - created))
    updated = min(updated, now)
    age = (now - created) / (now - timeline.start + 1)
    if u[3] < 0.2 + 0.7 * age:
        state = DONE if u[4] < 0.85 else CANCELED
    else:
        state = (BACKLOG, TODO, TODO, IN_PROGRESS, IN_PROGRESS, IN_REVIEW)[int(u[4] * 6)]
    state_at = updated if state in CLOSED else (
        created + (updated - created) // 3 if state in (IN_PROGRESS, IN_REVIEW) else created)
    record = IssueRecord(_uuid4(digest), (team, number), team,
                         number, created, updated, state, state_at)
    if u[5] < 0.01:
        record.trashed = True
        record.archived = updated
    elif state in CLOSED and updated < now - AUTO_ARCHIVE_MS and u[6] < 0.6:
        record.archived = record.updated = updated + AUTO_ARCHIVE_MS
        record.auto_archived = True
    elif state in CLOSED and u[5] < 0.03:
        record.archived = updated
    return record


@dataclass(frozen=True, slots=True)
class IssueContent:
    title: str
    description: str | None
    priority: int
    estimate: float | None
    assignee: int | None
    """Index into the world's users; None when unassigned."""
    creator: int | None
    """None when the creator's account was deleted (Linear returns ``creator: null``)."""
    project: int | None
    cycle: int | None
    parent: int | None
    """Number of the parent issue in the same origin team."""
    due_in_days: int | None
    labels: tuple[int, ...]
    auto_closed: bool


def make_content(seed: int, team: int, number: int, *, users: int, projects: int, cycles: int,
                 labels: int) -> IssueContent:
    rng = random.Random(int.from_bytes(_digest(seed, team, number)))
    draw = rng.random
    title = content.issue_title(rng)
    description = content.issue_description(rng)
    priority = bisect.bisect_right(_PRIORITY_ODDS, draw())
    estimate = (None, None, None, 1.0, 2.0, 3.0, 5.0, 8.0)[int(draw() * 8)]
    assignee = None if draw() < 0.25 else int(draw() * users)
    roll = draw()
    creator = None if roll < 0.05 else (users - 1 if roll < 0.12 else int(draw() * users))
    project = None if projects == 0 or draw() < 0.55 else int(draw() * projects)
    cycle = None if cycles == 0 or draw() < 0.6 else int(draw() * cycles)
    parent = 1 + int(draw() * (number - 1)) if number > 1 and draw() < 0.1 else None
    due = int(draw() * 150) - 30 if draw() < 0.2 else None
    count = (0, 0, 1, 1, 2, 3)[int(draw() * 6)]
    picked = tuple(sorted({int(draw() * labels) for _ in range(count)})) if labels else ()
    return IssueContent(title, description, priority, estimate, assignee, creator, project,
                        cycle, parent, due, picked, draw() < 0.2)
