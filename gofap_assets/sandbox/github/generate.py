"""Pure, deterministic generation of one repository's issues, pull requests and commits.

Every value is a function of (world seed, repository id, number or commit index), so any item can
be built on demand, in any order, in any process, and always comes out the same.
"""

import hashlib
import random
from dataclasses import dataclass, field
from typing import NamedTuple

from gofap_assets.sandbox.github import content

DAY = 86_400
HISTORY = 730 * DAY
"""Generated history spans about two years before the world's `now`."""

ISSUE_ID_BASE = 2_600_000_000  # above 2**31: ids must be stored as 64-bit
PR_ID_BASE = 4_100_000_000
ID_STRIDE = 1_000_000  # per repository; numbers stay below it

NORMAL, ARCHIVED, EMPTY, NO_ISSUES, DMCA, VANISHED, BLOCKED = (
    "normal", "archived", "empty", "issues-disabled", "dmca", "vanished", "blocked")
READABLE_KINDS = frozenset({NORMAL, ARCHIVED, EMPTY, NO_ISSUES})

# Who an item or commit points at, besides an index into the world's people.
USER_NULL = -1  # `"user": null` / `"author": null`
USER_GHOST = -2  # the deleted-account placeholder
USER_EMPTY = -3  # `"author": {}` (commits only)
USER_WEB_FLOW = -4  # GitHub's own committer for web merges

_MASK = (1 << 64) - 1
_REACTION_COUNTS = (0, 0, 0, 0, 0, 1, 2, 5)


def mix(*values: int) -> int:
    """A stable 64-bit hash of integers (splitmix64 rounds); unlike hash(), same in every run."""
    h = 0x9E3779B97F4A7C15
    for value in values:
        h = ((h ^ (value & _MASK)) * 0xBF58476D1CE4E5B9) & _MASK
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK
        h ^= h >> 29
    return h


def sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


@dataclass(slots=True)
class RepoMeta:
    """The little the world keeps per repository; everything else is generated from it."""

    index: int
    id: int
    owner: str
    name: str
    kind: str
    pr_every: int
    base_numbers: int
    base_commits: int
    created_at: int
    updated_at: int
    description: str | None
    language: str | None
    private: bool
    default_branch: str
    topics: tuple[str, ...]
    stars: int
    forks: int
    size: int
    open_issues: int
    archived: bool
    numbers: int = 0
    """Issue numbers 1..numbers exist or existed (deleted ones stay deleted)."""
    commits: int = 0
    pushed_at: int | None = None
    deleted: bool = False
    old_names: list[str] = field(default_factory=list)
    version: int = 0
    """Bumped whenever anything in the repository's JSON changes."""
    name_version: int = 0
    """Bumped when its URLs change (a rename)."""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def has_issues(self) -> bool:
        return self.kind != NO_ISSUES

    @property
    def readable(self) -> bool:
        return self.kind in READABLE_KINDS

    def issue_id(self, number: int) -> int:
        return ISSUE_ID_BASE + self.index * ID_STRIDE + number

    def pr_id(self, number: int) -> int:
        return PR_ID_BASE + self.index * ID_STRIDE + number


class Skel(NamedTuple):
    """What listing needs to filter and sort, cheap enough to compute for a whole repository."""

    created_at: int
    updated_at: int
    state: str
    is_pr: bool
    closed_at: int | None
    merged_at: int | None
    comments: int
    deleted: bool = False
    version: int = 0


SKEL_FIELDS = frozenset(Skel._fields)


@dataclass(frozen=True, slots=True)
class Item:
    """One issue number: an issue, or a pull request (which is also an issue)."""

    repo_index: int
    number: int
    is_pr: bool
    state: str
    created_at: int
    updated_at: int
    closed_at: int | None
    merged_at: int | None
    comments: int
    title: str
    body: str | None
    state_reason: str | None
    user: int
    assignees: tuple[int, ...]
    labels: tuple[int, ...]
    milestone: int | None
    locked: bool
    author_association: str
    reactions: tuple[int, ...]
    draft: bool
    head_kind: str
    """``branch`` (same repository), ``fork``, or ``deleted-fork`` (head.repo is null)."""
    head_owner: int
    head_ref: str
    head_sha: str
    base_sha: str
    merge_commit_sha: str | None
    version: int = 0
    deleted: bool = False

    @property
    def pr_state(self) -> str:
        return "merged" if self.merged_at is not None else self.state


@dataclass(frozen=True, slots=True)
class Commit:
    repo_index: int
    index: int
    sha: str
    parents: tuple[str, ...]
    tree_sha: str
    message: str
    author_name: str
    author_email: str
    author_date: int
    committer_name: str
    committer_email: str
    committer_date: int
    author_user: int
    committer_user: int
    verified: bool


def base_skeleton(seed: int, now: int, repo: RepoMeta, number: int) -> Skel:
    """An original item's dates and state; numbers are in creation order, as on GitHub."""
    rng = random.Random(mix(seed, repo.id, number, 1))
    start, end = repo.created_at + 3600, now - 3600
    step = max(1.0, (end - start) / max(repo.base_numbers, 1))
    created = min(end, start + int((number - 1) * step + rng.random() * step * 0.8))
    age = now - created
    roll = rng.random()
    if roll < 0.5:
        updated = created + int(rng.random() * min(age, 2 * DAY))
    elif roll < 0.85:
        updated = created + int(rng.random() * age)
    else:
        updated = now - int(rng.random() * min(age, 30 * DAY))
    updated = max(created, min(updated, now))
    is_pr = repo.pr_every > 0 and number % repo.pr_every == 0
    closed = rng.random() < (0.25 if age < 21 * DAY else 0.8)
    closed_at = updated - int(rng.random() * min(updated - created, DAY)) if closed else None
    merged_at = closed_at if is_pr and closed and rng.random() < 0.7 else None
    comments = min(60, int(rng.expovariate(0.35)))
    return Skel(created, updated, "closed" if closed else "open", is_pr, closed_at, merged_at,
                comments)


def build_item(seed: int, repo: RepoMeta, number: int, skel: Skel, people: int,
               *, huge_body: bool = False) -> Item:
    """The item's content (title, body, people, branches) on top of its skeleton."""
    rng = random.Random(mix(seed, repo.id, number, 2))
    roll = rng.random()
    user = USER_NULL if roll < 0.02 else USER_GHOST if roll < 0.05 else rng.randrange(people)
    if skel.is_pr and rng.random() < 0.1:
        user = people - 1  # dependabot is the last person
    title = content.title(rng)
    body = content.body(rng, size=content.MAX_BODY if huge_body else None)
    labels = tuple(sorted(rng.sample(range(len(content.LABELS)), rng.choice((0, 0, 1, 1, 2, 3)))))
    assignees = tuple(rng.sample(range(people - 1), rng.choice((0, 0, 1, 1, 2))))
    milestone = rng.randrange(2) if rng.random() < 0.15 else None
    locked = rng.random() < 0.01
    if skel.is_pr:
        state_reason = None
    elif skel.state == "closed":
        state_reason = rng.choices(("completed", "not_planned", "duplicate"), (14, 5, 1))[0]
    else:
        state_reason = "reopened" if rng.random() < 0.08 else None
    association = rng.choice(("MEMBER", "MEMBER", "OWNER", "CONTRIBUTOR", "NONE",
                              "FIRST_TIME_CONTRIBUTOR", "COLLABORATOR"))
    bits = rng.getrandbits(24)
    reactions = tuple(_REACTION_COUNTS[(bits >> shift) & 7] for shift in range(0, 24, 3))
    head_kind, head_owner, head_ref, head_sha, base_sha, merge_sha = "branch", 0, "", "", "", None
    if skel.is_pr:  # branches and shas only matter for pull requests
        head_roll = rng.random()
        head_kind = "branch" if head_roll < 0.75 else "fork" if head_roll < 0.95 else \
            "deleted-fork"
        head_owner = rng.randrange(people - 1)
        slug = title.lower().encode("ascii", "ignore").decode()[:24].strip().replace(" ", "-")
        prefix = rng.choice(("fix", "feature", "chore", "dependabot/pip"))
        head_ref = f"{prefix}/{slug or 'change'}-{number}"
        head_sha, base_sha = sha(seed, repo.id, number, "head"), sha(seed, repo.id, number, "base")
        if skel.state != "open" or rng.random() >= 0.05:
            merge_sha = sha(seed, repo.id, number, "merge")
    return Item(
        repo.index, number, skel.is_pr, skel.state, skel.created_at, skel.updated_at,
        skel.closed_at, skel.merged_at, skel.comments, title, body, state_reason, user,
        assignees, labels, milestone, locked, association, reactions,
        skel.is_pr and skel.state == "open" and rng.random() < 0.15, head_kind, head_owner,
        head_ref, head_sha, base_sha, merge_sha, skel.version, skel.deleted)


def base_commit_date(seed: int, now: int, repo: RepoMeta, index: int) -> int:
    """Committer dates never decrease with the index, so since/until are binary searches."""
    start, end = repo.created_at + 1800, now - 600
    step = (end - start) / max(repo.base_commits, 1)
    fraction = mix(seed, repo.id, index, 3) / _MASK
    return start + int(index * step + fraction * step * 0.9)


def build_commit(seed: int, repo: RepoMeta, index: int, date: int,
                 people: list[content.Person]) -> Commit:
    rng = random.Random(mix(seed, repo.id, index, 4))
    author = rng.randrange(len(people))
    person = people[author]
    roll = rng.random()
    author_user = author if roll < 0.85 else USER_NULL if roll < 0.95 else USER_EMPTY
    email = person.email if author_user >= 0 else f"{person.login}@laptop.local"
    merge = index > 0 and rng.random() < 0.08
    message = content.commit_message(
        rng, merge_of=(rng.randrange(1, 5000), f"{person.login}/{rng.choice(('fix', 'feat'))}",
                       content.title(rng)) if merge else None)
    author_date = date - (int(rng.random() * 3 * DAY) if rng.random() < 0.2 else 0)
    by_web = merge or rng.random() < 0.25
    committer = content.WEB_FLOW if by_web else person
    parents = (sha(seed, repo.id, "commit", index - 1),) if index else ()
    return Commit(
        repo.index, index, sha(seed, repo.id, "commit", index), parents,
        sha(seed, repo.id, "tree", index), message, person.name, email, author_date,
        committer.name, committer.email if by_web else email, date, author_user,
        USER_WEB_FLOW if by_web else author_user, by_web or rng.random() < 0.2)
