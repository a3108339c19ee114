"""What happens around a repository's issues: comments, reviews, labels, milestones, releases.

Generated per repository on first use, deterministically from the world's seed and the items'
skeletons (a comment falls between its item's creation and last update; a review of a pull
request too, since a new review bumps the pull request's `updated_at`), then changed in place by
the world's mutations. Volumes are modest: a few comments on one item in eight, reviews on half
the pull requests.
"""

import random
from dataclasses import dataclass, field

from gofap_assets.sandbox.github import content
from gofap_assets.sandbox.github.generate import (
    DAY,
    USER_GHOST,
    USER_NULL,
    RepoMeta,
    Skel,
    mix,
    sha,
)

COMMENT_ID_BASE = 5_200_000_000
REVIEW_COMMENT_ID_BASE = 6_300_000_000
REVIEW_ID_BASE = 7_400_000_000
RELEASE_ID_BASE = 150_000_000
ACTIVITY_STRIDE = 10_000_000
"""Per repository; a repository's comments, reviews or review comments stay below it."""
LABEL_ID_BASE = 200_000_000
MILESTONE_ID_BASE = 9_100_000

EXTRA_LABELS = [("needs-triage", "ededed", "Nobody has looked at this yet", False),
                ("legacy", "c5def5", None, False)]
"""Labels no generated item carries, so mutations can delete them."""
MILESTONES = [(1, "v1.0", "open", None), (2, "2024-Q4", "closed", "Quarter close"),
              (3, "Backlog", "open", "Someday")]
"""(number, title, state, description); items reference the first two, as the issues render."""
REVIEW_STATES = ("APPROVED", "APPROVED", "COMMENTED", "CHANGES_REQUESTED", "DISMISSED")
_REVIEW_BODIES = ("", "LGTM", "Looks good, one nit inline.", "Please add a test for the edge case.",
                  "Thanks!\r\nA couple of questions below.")


@dataclass
class Comment:
    """A conversation comment (on an issue or pull request) or a review comment (on a diff)."""

    id: int
    number: int
    user: int
    body: str
    created_at: int
    updated_at: int
    review_id: int | None = None
    path: str = ""
    deleted: bool = False


@dataclass
class Review:
    id: int
    number: int
    user: int
    state: str
    body: str
    submitted_at: int
    commit_id: str
    deleted: bool = False


@dataclass
class Label:
    index: int
    id: int
    name: str
    color: str
    description: str | None
    default: bool
    deleted: bool = False


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    state: str
    description: str | None
    created_at: int
    updated_at: int
    closed_at: int | None
    due_on: int | None
    deleted: bool = False


@dataclass
class Release:
    id: int
    tag: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    author: int
    created_at: int
    published_at: int | None
    deleted: bool = False


@dataclass
class RepoActivity:
    comments: list[Comment] = field(default_factory=list)
    review_comments: list[Comment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    next_comment: int = 1
    next_review: int = 1
    next_review_comment: int = 1
    next_release: int = 1

    def new_comment_id(self, repo: RepoMeta) -> int:
        self.next_comment += 1
        return COMMENT_ID_BASE + repo.index * ACTIVITY_STRIDE + self.next_comment - 1

    def new_review_id(self, repo: RepoMeta) -> int:
        self.next_review += 1
        return REVIEW_ID_BASE + repo.index * ACTIVITY_STRIDE + self.next_review - 1

    def new_review_comment_id(self, repo: RepoMeta) -> int:
        self.next_review_comment += 1
        return REVIEW_COMMENT_ID_BASE + repo.index * ACTIVITY_STRIDE + \
            self.next_review_comment - 1

    def new_release_id(self, repo: RepoMeta) -> int:
        self.next_release += 1
        return RELEASE_ID_BASE + repo.index * 1000 + self.next_release - 1

    def on_deleted_item(self, number: int) -> list[Comment]:
        """Delete the comments that lived on a deleted issue; those comments."""
        gone = [c for c in self.comments if c.number == number and not c.deleted]
        for comment in gone:
            comment.deleted = True
        return gone


def person(rng: random.Random, people: int) -> int:
    roll = rng.random()
    return USER_NULL if roll < 0.01 else USER_GHOST if roll < 0.03 else rng.randrange(people)


def comment_body(rng: random.Random) -> str:
    return content.body(rng) or content.title(rng)


def _moment(rng: random.Random, start: int, end: int) -> int:
    return start + int(rng.random() * max(0, end - start))


def generate(seed: int, repo: RepoMeta, skels: list[Skel], people: int,
             *, with_releases: bool) -> RepoActivity:
    """A repository's activity as it was before any mutation."""
    rng = random.Random(mix(seed, repo.id, 9))
    activity = RepoActivity()
    for index, (name, color, description, default) in enumerate([*content.LABELS,
                                                                  *EXTRA_LABELS]):
        label_id = LABEL_ID_BASE + repo.index * 100 + index
        activity.labels.append(Label(index, label_id, name, color, description, default))
    for number in range(1, len(skels)):
        skel = skels[number]
        if skel.deleted:
            continue
        if repo.has_issues and rng.random() < 0.125:
            for _ in range(rng.randint(1, 3)):
                created = _moment(rng, skel.created_at, skel.updated_at)
                updated = created if rng.random() < 0.8 else _moment(rng, created,
                                                                      skel.updated_at)
                activity.comments.append(Comment(activity.new_comment_id(repo), number,
                                                 person(rng, people), comment_body(rng),
                                                 created, updated))
        if skel.is_pr and rng.random() < 0.5:
            add_review(activity, repo, rng, people, number,
                       _moment(rng, skel.created_at, skel.updated_at), seed)
    if not with_releases:
        return activity
    for number, title, state, description in MILESTONES:
        created = repo.created_at + number * DAY
        closed = repo.updated_at if state == "closed" else None
        activity.milestones.append(Milestone(
            MILESTONE_ID_BASE + repo.index * 10 + number, number, title, state, description,
            created, max(created, repo.updated_at), closed,
            repo.created_at + 200 * DAY if number == 2 else None))
    for tag, name, prerelease, draft in (("v1.0.0", "First release", False, False),
                                         ("v1.1.0", None, False, False),
                                         ("v2.0.0-rc.1", "Release candidate", True, False),
                                         ("v2.0.0", None, False, True)):
        created = _moment(rng, repo.created_at, repo.updated_at)
        activity.releases.append(Release(
            activity.new_release_id(repo), tag, name, content.body(rng), draft, prerelease,
            rng.randrange(people), created, None if draft else created))
    return activity


def add_review(activity: RepoActivity, repo: RepoMeta, rng: random.Random, people: int,
               number: int, moment: int, seed: int) -> Review:
    """A review, and for one that comments, a review comment or two on the diff."""
    state = rng.choice(REVIEW_STATES)
    review = Review(activity.new_review_id(repo), number, rng.randrange(people), state,
                    rng.choice(_REVIEW_BODIES), moment, sha(seed, repo.id, number, "head"))
    activity.reviews.append(review)
    if state in ("COMMENTED", "CHANGES_REQUESTED"):
        for _ in range(rng.randint(1, 2)):
            activity.review_comments.append(Comment(
                activity.new_review_comment_id(repo), number, review.user,
                comment_body(rng), moment, moment, review.id,
                rng.choice(("src/app.py", "README.md", "ledger/posting.py", "web/index.ts"))))
    return review
