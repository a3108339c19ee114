"""A GitHub organisation of any size, generated lazily, mutable between syncs, with ground truth.

The world holds only per-repository metadata and the overrides that mutations made; items are
built when a request (or the ground truth) needs them. Listing orders are computed per repository
on first use and dropped when a mutation touches that repository.
"""

import bisect
import copy
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gofap_assets.sandbox.github import activity as act
from gofap_assets.sandbox.github import content
from gofap_assets.sandbox.github.generate import (
    ARCHIVED,
    BLOCKED,
    DAY,
    DMCA,
    EMPTY,
    HISTORY,
    NO_ISSUES,
    NORMAL,
    SKEL_FIELDS,
    VANISHED,
    Commit,
    Item,
    RepoMeta,
    Skel,
    base_commit_date,
    base_skeleton,
    build_commit,
    build_item,
    mix,
)

SCALES: dict[str, dict[str, int]] = {
    "small": {"repos": 3, "issues_per_repo": 60, "commits_per_repo": 40},
    "medium": {"repos": 20, "issues_per_repo": 2_000, "commits_per_repo": 2_000},
    "large": {"repos": 50, "issues_per_repo": 1_500, "commits_per_repo": 1_500},
}
"""Normal repositories and their sizes; the special repositories come on top."""

MUTATION_KEYS = ("issues_edited", "issues_closed", "issues_reopened", "issues_created",
                 "issues_deleted", "pulls_edited", "pulls_merged", "pulls_closed",
                 "pulls_created", "commits_created", "repos_archived", "repos_deleted",
                 "repos_renamed", "pulls_reviewed", "comments_created", "comments_edited",
                 "comments_deleted", "reviews_submitted", "review_comments_created",
                 "review_comments_edited", "review_comments_deleted", "labels_created",
                 "labels_edited", "labels_deleted", "milestones_created", "milestones_edited",
                 "milestones_deleted", "releases_created", "releases_edited",
                 "releases_deleted")
"""`pulls_reviewed`: pull requests no other change touched, bumped by a new review."""

_REPO_NAMES = ["api", "web", "ledger", "billing-service", "payments.core", "data_pipeline",
               "docs", "infra", "mobile-app", "auth", "search", "notifications", "reporting",
               "etl-jobs", "design-system", "cli", "sdk-python", "sdk-js", "terraform-modules",
               "analytics", "acme.github.io", "payroll", "tax-engine", "status-page"]
_LISTING_CACHE = 256

Listener = Callable[[str, str, "RepoMeta", int | None, dict[str, Any]], None]
"""Told of each change as it happens (under the world's lock): event, action, repository,
item number (None for repository-level changes), details. The sandbox's webhooks use it."""


@dataclass(frozen=True)
class ExpectedRow:
    """One row the importer should hold in `imported_data`, in SPEC.md's mapping."""

    source: str
    data_type: str
    external_id: str
    title: str | None
    state: str | None
    description: str | None


@dataclass(frozen=True)
class Org:
    login: str
    id: int
    name: str
    created_at: int


class GitHubWorld:
    """Deterministic from its arguments; `mutate` changes it like users would between syncs."""

    def __init__(self, seed: int = 1, *, org: str = "acme", repos: int, issues_per_repo: int,
                 commits_per_repo: int, pr_every: int = 7, now: datetime | None = None,
                 dmca_repo: bool = False, vanished_repo: bool = False,
                 blocked_repo: bool = False, people: int = 40) -> None:
        if repos < 0 or issues_per_repo < 0 or commits_per_repo < 0 or pr_every < 0:
            raise ValueError("sizes must not be negative")
        if issues_per_repo + 1000 >= 1_000_000:
            raise ValueError("issues_per_repo must stay below 999,000 (ids are derived from it)")
        self.seed = seed
        moment = now or datetime.now(UTC)
        self.now = int(moment.timestamp())
        rng = random.Random(mix(seed, 7))
        self.org = org
        self.organization = Org(org, 9_000_000 + seed % 100_000, org.title() + " Corp",
                       self.now - HISTORY - 400 * DAY)
        self.viewer = content.Person("sandbox-importer", 8_000_000 + seed % 100_000,
                                     "Sandbox Importer", "importer@acme.example")
        self.people = content.people(rng, max(people, 3))
        self._lock = threading.RLock()
        self._repos: list[RepoMeta] = []
        self._overrides: dict[tuple[int, int], dict[str, Any]] = {}
        self._extra_commits: dict[int, list[int]] = {}
        self._skeletons: dict[int, list[Skel]] = {}
        self._orders: dict[tuple[int, str, str], list[int]] = {}
        self._listings: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._deleted: set[tuple[str, str]] = set()
        self._activity: dict[int, act.RepoActivity] = {}
        self._renames: dict[str, str] = {}
        self._version = 0
        self._mutations = 0
        self._last_mutation = self.now
        specs = [(_repo_name(i), NORMAL, issues_per_repo, commits_per_repo, pr_every)
                 for i in range(repos)]
        specs += [("legacy-portal", ARCHIVED, min(issues_per_repo, 40),
                   min(commits_per_repo, 30), pr_every),
                  ("empty-sandbox", EMPTY, min(issues_per_repo, 5), 0, 0),
                  ("design-assets", NO_ISSUES, min(issues_per_repo, 21),
                   min(commits_per_repo, 20), 1)]
        specs += [spec for flag, spec in ((dmca_repo, ("dmca-takedown", DMCA, 0, 0, 0)),
                                          (vanished_repo, ("vanished-service", VANISHED, 0, 0, 0)),
                                          (blocked_repo, ("tos-blocked", BLOCKED, 0, 0, 0)))
                  if flag]
        for index, (name, kind, numbers, commits, every) in enumerate(specs):
            self._repos.append(self._new_repo(index, name, kind, numbers, commits, every))
        self._by_id = {repo.id: repo for repo in self._repos}
        self._moved: dict[str, RepoMeta] = {}
        self._huge_item = self._pick_huge_item()
        self.listeners: list[Listener] = []

    def _notify(self, event: str, action: str, repo: RepoMeta, number: int | None = None,
                **details: Any) -> None:
        for listener in self.listeners:
            listener(event, action, repo, number, details)

    @classmethod
    def scaled(cls, scale: str, seed: int = 1, **options: Any) -> "GitHubWorld":
        """A named size: ``small``, ``medium`` (about 80,000 items) or ``large`` (150,000)."""
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
        return cls(seed, **{**SCALES[scale], **options})

    def _pick_huge_item(self) -> tuple[int, int] | None:
        """One issue with a body of exactly the 65,536-character maximum, in every world."""
        for repo in self._repos:
            if repo.kind == NORMAL:
                for number in range(1, repo.numbers + 1):
                    if not repo.pr_every or number % repo.pr_every:
                        return repo.index, number
        return None

    def _new_repo(self, index: int, name: str, kind: str, numbers: int, commits: int,
                  pr_every: int) -> RepoMeta:
        rng = random.Random(mix(self.seed, index, 5))
        repo_id = 300_000_000 + (mix(self.seed, index, 6) % 400_000) * 1000 + index
        repo = RepoMeta(
            index=index, id=repo_id, owner=self.org, name=name, kind=kind,
            pr_every=pr_every, base_numbers=numbers, base_commits=commits,
            created_at=self.now - HISTORY + int(rng.random() * 60 * DAY),
            updated_at=self.now - int(rng.random() * 10 * DAY),
            description=content.description(rng),
            language=rng.choice(("Python", "TypeScript", "Go", "Rust", "HCL", "Java", None)),
            private=kind == NORMAL and rng.random() < 0.3,
            default_branch="master" if rng.random() < 0.1 else "main",
            topics=tuple(rng.sample(("finance", "api", "python", "internal", "gofap", "ops"),
                                    rng.randint(0, 3))),
            stars=rng.randint(0, 400), forks=rng.randint(0, 40),
            size=0 if commits == 0 else rng.randint(50, 90_000),
            open_issues=int(numbers * rng.uniform(0.1, 0.4)), archived=kind == ARCHIVED,
            numbers=numbers, commits=commits)
        if commits:
            repo.pushed_at = base_commit_date(self.seed, self.now, repo, commits - 1)
        elif kind in (NORMAL, ARCHIVED, EMPTY, NO_ISSUES):
            repo.pushed_at = repo.created_at
        return repo

    # -- reading (the emulator's view) -----------------------------------------------------

    def repositories(self) -> list[RepoMeta]:
        """Snapshots of every repository the org lists (deleted ones are gone)."""
        with self._lock:
            return [copy.copy(repo) for repo in self._repos if not repo.deleted]

    def lookup(self, owner: str, name: str) -> tuple[RepoMeta, bool] | None:
        """The repository by name (case-insensitive) and whether the name is an old one."""
        key = f"{owner}/{name}".lower()
        with self._lock:
            for repo in self._repos:
                if not repo.deleted and repo.full_name.lower() == key:
                    return copy.copy(repo), False
            moved = self._moved.get(key)
            return (copy.copy(moved), True) if moved and not moved.deleted else None

    def repository(self, repo_id: int) -> RepoMeta | None:
        with self._lock:
            repo = self._by_id.get(repo_id)
            return copy.copy(repo) if repo and not repo.deleted else None

    def issue_page(self, repo: RepoMeta, *, pulls: bool, state: str, sort: str,
                   direction: str, since: int | None, start: int,
                   stop: int) -> tuple[int, list[tuple[int, int]]]:
        """How many items match, and (number, version) of those in [start, stop) of that order.

        Versions let the emulator serve cached JSON without building the items.
        """
        with self._lock:
            live = self._repos[repo.index]
            numbers = self._listing(live, pulls, state, sort, direction, since)
            skels = self._skeletons[repo.index]
            return len(numbers), [(n, skels[n].version) for n in numbers[start:stop]]

    def commit_page(self, repo: RepoMeta, *, since: int | None, until: int | None,
                    start: int, stop: int) -> tuple[int, list[int]]:
        """How many commits have since <= committer date <= until, and the indexes of those in
        [start, stop), newest first (commits never change, so an index is a cache key)."""
        with self._lock:
            live = self._repos[repo.index]
            indexes = range(live.commits)
            low = 0 if since is None else bisect.bisect_left(
                indexes, since, key=lambda i: self._commit_date(live, i))
            high = live.commits if until is None else bisect.bisect_right(
                indexes, until, key=lambda i: self._commit_date(live, i))
            return max(0, high - low), list(range(high - 1 - start,
                                                  max(high - 1 - stop, low - 1), -1))

    def item(self, repo_index: int, number: int) -> Item:
        with self._lock:
            return self._item(self._repos[repo_index], number)

    def commit(self, repo_index: int, index: int) -> Commit:
        with self._lock:
            return self._commit(self._repos[repo_index], index)

    def activity(self, repo: RepoMeta, kind: str, *, number: int | None = None) -> list[Any]:
        """Snapshots of the repository's live `comments`, `review_comments`, `reviews`,
        `labels`, `milestones` or `releases` (of pull request `number` only, if given)."""
        with self._lock:
            items = getattr(self._activity_of(self._repos[repo.index]), kind)
            return [copy.copy(item) for item in items if not item.deleted
                    and (number is None or item.number == number)]

    def is_pull_request(self, repo: RepoMeta, number: int) -> bool:
        with self._lock:
            skels = self._skeleton_list(self._repos[repo.index])
            return 0 < number < len(skels) and skels[number].is_pr and not skels[number].deleted

    def size(self) -> dict[str, int]:
        """Counts from metadata alone (no generation): what a full sync will read."""
        with self._lock:
            live = [r for r in self._repos if not r.deleted]
            return {"repositories": len(live), "issue_numbers": sum(r.numbers for r in live),
                    "commits": sum(r.commits for r in live)}

    def cache_info(self) -> dict[str, int]:
        """What has been materialised so far: proves the world is lazy."""
        with self._lock:
            return {"repositories": len(self._repos), "overrides": len(self._overrides),
                    "skeleton_repos": len(self._skeletons),
                    "skeleton_items": sum(len(s) - 1 for s in self._skeletons.values()),
                    "orders": len(self._orders), "listings": len(self._listings)}

    # -- generation with overrides -----------------------------------------------------------

    def _skeleton(self, repo: RepoMeta, number: int) -> Skel:
        override = self._overrides.get((repo.index, number))
        if override is None:
            return base_skeleton(self.seed, self.now, repo, number)
        if number > repo.base_numbers:  # created by a mutation: the override has it all
            return Skel(**{k: v for k, v in override.items() if k in SKEL_FIELDS})
        base = base_skeleton(self.seed, self.now, repo, number)
        return base._replace(**{k: v for k, v in override.items() if k in SKEL_FIELDS})

    def _skeleton_list(self, repo: RepoMeta) -> list[Skel]:
        skels = self._skeletons.get(repo.index)
        if skels is None:
            skels = [Skel(0, 0, "open", False, None, None, 0, deleted=True)]
            skels += [self._skeleton(repo, n) for n in range(1, repo.numbers + 1)]
            self._skeletons[repo.index] = skels
        return skels

    def _item(self, repo: RepoMeta, number: int) -> Item:
        skels = self._skeletons.get(repo.index)
        skel = skels[number] if skels is not None else self._skeleton(repo, number)
        item = build_item(self.seed, repo, number, skel, len(self.people),
                          huge_body=self._huge_item == (repo.index, number))
        override = self._overrides.get((repo.index, number))
        if override:
            content_fields = {k: v for k, v in override.items()
                              if k not in SKEL_FIELDS and k != "is_pr"}
            if content_fields:
                item = replace(item, **content_fields)
        return item

    def _activity_of(self, repo: RepoMeta) -> act.RepoActivity:
        found = self._activity.get(repo.index)
        if found is None:
            found = act.generate(self.seed, repo, self._skeleton_list(repo), len(self.people),
                                 with_releases=repo.kind in (NORMAL, ARCHIVED))
            self._activity[repo.index] = found
        return found

    def _commit_date(self, repo: RepoMeta, index: int) -> int:
        if index >= repo.base_commits:
            return self._extra_commits[repo.index][index - repo.base_commits]
        return base_commit_date(self.seed, self.now, repo, index)

    def _commit(self, repo: RepoMeta, index: int) -> Commit:
        return build_commit(self.seed, repo, index, self._commit_date(repo, index), self.people)

    def _order(self, repo: RepoMeta, pulls: bool, sort: str) -> list[int]:
        key = (repo.index, "pulls" if pulls else "issues", sort)
        order = self._orders.get(key)
        if order is None:
            skels = self._skeleton_list(repo)
            field = {"created": 0, "long-running": 0, "updated": 1}.get(sort, 6)
            numbers = [n for n in range(1, len(skels))
                       if not skels[n].deleted and (skels[n].is_pr or not pulls)]
            order = sorted(numbers, key=lambda n: (skels[n][field], n))
            self._orders[key] = order
        return order

    def _listing(self, repo: RepoMeta, pulls: bool, state: str, sort: str, direction: str,
                 since: int | None) -> list[int]:
        key = (repo.index, repo.version, pulls, state, sort, direction, since)
        numbers = self._listings.get(key)
        if numbers is not None:
            self._listings.move_to_end(key)
            return numbers
        skels = self._skeleton_list(repo)
        month_ago = max(self.now, self._last_mutation) - 30 * DAY
        numbers = [n for n in self._order(repo, pulls, sort)
                   if (state == "all" or skels[n].state == state)
                   and (since is None or skels[n].updated_at >= since)
                   and (sort != "long-running" or (skels[n].state == "open"
                                                   and skels[n].created_at < month_ago
                                                   and skels[n].updated_at >= month_ago))]
        if direction == "desc":
            numbers.reverse()
        self._listings[key] = numbers
        if len(self._listings) > _LISTING_CACHE:
            self._listings.popitem(last=False)
        return numbers

    # -- mutation ---------------------------------------------------------------------------

    def mutate(self, fraction: float, seed: int, *, delete_repos: bool = False,
               at: datetime | None = None) -> dict[str, int]:
        """Change about `fraction` of each active repository's items, as of `at` (default now).

        Each touched item gets exactly one change, so the counts say exactly what moved. `at`
        never goes back before the world's `now` or an earlier mutation.
        """
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        counts = dict.fromkeys(MUTATION_KEYS, 0)
        if fraction == 0:
            return counts
        with self._lock:
            moment = int((at or datetime.now(UTC)).timestamp())
            moment = max(moment, self.now, self._last_mutation)
            self._last_mutation = moment
            rng = random.Random(mix(self.seed, seed, self._mutations, 8))
            activity_seed = mix(self.seed, seed, self._mutations, 10)
            self._mutations += 1
            active = [r for r in self._repos if r.kind == NORMAL and not r.archived
                      and not r.deleted]
            for repo in active:
                self._mutate_repo(repo, fraction, rng, moment, counts, activity_seed)
            if len(active) > 2:  # keep at least two active repositories to mutate later
                repo = rng.choice(active)
                repo.archived = True
                self._touch_repo(repo, moment)
                active.remove(repo)
                counts["repos_archived"] += 1
                self._notify("repository", "archived", repo)
            if delete_repos and len(active) > 2:
                self._delete_repo(active.pop(rng.randrange(len(active))))
                counts["repos_deleted"] += 1
            if delete_repos and active:
                self._rename_repo(rng.choice(active), moment)
                counts["repos_renamed"] += 1
        return counts

    def _mutate_repo(self, repo: RepoMeta, fraction: float, rng: random.Random, moment: int,
                     counts: dict[str, int], activity_seed: int) -> None:
        skels = self._skeleton_list(repo)
        live = [n for n in range(1, repo.numbers + 1) if not skels[n].deleted]
        touched = rng.sample(live, min(len(live), max(1, round(len(live) * fraction))))
        for number in touched:
            skel, roll = skels[number], rng.random()
            if skel.is_pr and skel.state == "open" and roll < 0.4:
                self._set(repo, number, moment, state="closed", closed_at=moment,
                          merged_at=moment)
                counts["pulls_merged"] += 1
                self._notify("pull_request", "closed", repo, number)
            elif skel.is_pr and skel.state == "open" and roll < 0.6:
                self._set(repo, number, moment, state="closed", closed_at=moment)
                counts["pulls_closed"] += 1
                self._notify("pull_request", "closed", repo, number)
            elif not skel.is_pr and skel.state == "open" and roll < 0.4:
                self._set(repo, number, moment, state="closed", closed_at=moment,
                          state_reason=rng.choice(("completed", "not_planned")))
                counts["issues_closed"] += 1
                self._notify("issues", "closed", repo, number)
            elif not skel.is_pr and skel.state == "closed" and roll < 0.3:
                self._set(repo, number, moment, state="open", closed_at=None,
                          state_reason="reopened")
                counts["issues_reopened"] += 1
                self._notify("issues", "reopened", repo, number)
            else:
                self._edit(repo, number, rng, moment)
                counts["pulls_edited" if skel.is_pr else "issues_edited"] += 1
                self._notify("pull_request" if skel.is_pr else "issues", "edited", repo, number)
        chosen = set(touched)
        deletable = [n for n in live if n not in chosen and not skels[n].is_pr]
        activity = self._activity_of(repo)
        for number in rng.sample(deletable, min(len(deletable), len(touched) // 10)):
            self._set(repo, number, moment, deleted=True)
            self._deleted.add(("issue", str(repo.issue_id(number))))
            for comment in activity.on_deleted_item(number):
                self._deleted.add(("issue_comment", str(comment.id)))
                self._notify("issue_comment", "deleted", repo, number, comment=comment)
            counts["issues_deleted"] += 1
            self._notify("issues", "deleted", repo, number)
        self._mutate_activity(repo, touched, moment, counts, activity_seed)
        for _ in range(max(1, len(touched) // 4)):
            is_pr = repo.pr_every > 0 and rng.random() < 1 / repo.pr_every
            self._set(repo, repo.numbers + 1, moment, created_at=moment, state="open",
                      is_pr=is_pr, closed_at=None, merged_at=None, comments=0)
            repo.numbers += 1
            counts["pulls_created" if is_pr else "issues_created"] += 1
            self._notify("pull_request" if is_pr else "issues", "opened", repo, repo.numbers)
        if repo.base_commits:
            added = max(1, round(repo.commits * fraction))
            self._extra_commits.setdefault(repo.index, []).extend([moment] * added)
            repo.commits += added
            repo.pushed_at = moment
            counts["commits_created"] += added
            self._notify("push", "pushed", repo, None, commits=added)
        self._touch_repo(repo, None)

    def _mutate_activity(self, repo: RepoMeta, touched: list[int], moment: int,
                         counts: dict[str, int], activity_seed: int) -> None:
        """Comments and reviews on touched items (already updated at `moment`, as GitHub bumps
        an item's `updated_at` for both); edits and deletions of comments, labels, milestones
        and releases. Its own random stream, so the items' mutations stay as they were; from
        the seeds alone, never the clock, so a seeded mutation does the same every time."""
        rng = random.Random(mix(activity_seed, repo.index))
        activity = self._activity_of(repo)
        skels = self._skeleton_list(repo)
        people = len(self.people)
        for number in touched:
            if skels[number].deleted:
                continue
            if repo.has_issues and rng.random() < 0.3:
                comment = act.Comment(activity.new_comment_id(repo), number,
                                      act.person(rng, people), act.comment_body(rng), moment,
                                      moment)
                activity.comments.append(comment)
                counts["comments_created"] += 1
                self._notify("issue_comment", "created", repo, number, comment=comment)
            if skels[number].is_pr and rng.random() < 0.8:
                self._review(repo, activity, rng, number, moment, counts)
        if not any(r.submitted_at == moment for r in activity.reviews):
            pulls = [n for n in range(1, len(skels)) if skels[n].is_pr and not skels[n].deleted]
            if pulls:  # a review bumps its pull request's `updated_at`, as on GitHub
                number = rng.choice(pulls)
                self._set(repo, number, moment)
                counts["pulls_reviewed"] += 1
                self._review(repo, activity, rng, number, moment, counts)
        for kind, items, data_type, event in (
                ("comments", activity.comments, "issue_comment", "issue_comment"),
                ("review_comments", activity.review_comments, "review_comment",
                 "pull_request_review_comment")):
            live = [c for c in items if not c.deleted and c.updated_at < moment]
            for comment in rng.sample(live, min(len(live), max(1, len(live) // 20))):
                old_body = comment.body
                comment.body = act.comment_body(rng) + " (edited)"
                comment.updated_at = moment
                counts[f"{kind}_edited"] += 1
                self._notify(event, "edited", repo, comment.number, comment=comment,
                             changes={"body": {"from": old_body}})
            live = [c for c in items if not c.deleted and c.updated_at < moment]
            for comment in rng.sample(live, max(0, min(len(live) - 1, max(1, len(live) // 40)))):
                comment.deleted = True
                self._deleted.add((data_type, str(comment.id)))
                counts[f"{kind}_deleted"] += 1
                self._notify(event, "deleted", repo, comment.number, comment=comment)
        self._mutate_catalogue(repo, activity, rng, moment, counts)

    def _review(self, repo: RepoMeta, activity: act.RepoActivity, rng: random.Random,
                number: int, moment: int, counts: dict[str, int]) -> None:
        before = len(activity.review_comments)
        review = act.add_review(activity, repo, rng, len(self.people), number, moment,
                                self.seed)
        counts["reviews_submitted"] += 1
        counts["review_comments_created"] += len(activity.review_comments) - before
        self._notify("pull_request_review", "submitted", repo, number, review=review)
        for comment in activity.review_comments[before:]:
            self._notify("pull_request_review_comment", "created", repo, number,
                         comment=comment)

    def _mutate_catalogue(self, repo: RepoMeta, activity: act.RepoActivity,
                          rng: random.Random, moment: int, counts: dict[str, int]) -> None:
        """Labels, milestones and releases: one created, one edited, an unused one deleted."""
        labels = [lb for lb in activity.labels if not lb.deleted]
        unused = [lb for lb in labels if lb.index >= len(content.LABELS)]
        if unused:
            unused[0].deleted = True
            self._deleted.add(("label", str(unused[0].id)))
            counts["labels_deleted"] += 1
            self._notify("label", "deleted", repo, label=unused[0])
        edited = rng.choice([lb for lb in labels if not lb.deleted])
        old_description = edited.description
        edited.description = f"{content.title(rng)} (edited)"
        counts["labels_edited"] += 1
        self._notify("label", "edited", repo, label=edited,
                     changes={"description": {"from": old_description or ""}})
        index = len(activity.labels)
        label = act.Label(index, act.LABEL_ID_BASE + repo.index * 100 + index, f"area-{index}",
                          f"{rng.randrange(1 << 24):06x}", None, False)
        activity.labels.append(label)
        counts["labels_created"] += 1
        self._notify("label", "created", repo, label=label)
        if not activity.milestones:
            return
        live = [m for m in activity.milestones if not m.deleted]
        doomed = next((m for m in live if m.number == 3), None)
        if doomed is not None:
            doomed.deleted = True
            self._deleted.add(("milestone", str(doomed.id)))
            counts["milestones_deleted"] += 1
            self._notify("milestone", "deleted", repo, milestone=doomed)
        first = next(m for m in live if m.number == 1)
        old_description = first.description
        first.description = content.title(rng)
        first.updated_at = moment
        counts["milestones_edited"] += 1
        self._notify("milestone", "edited", repo, milestone=first,
                     changes={"description": {"from": old_description or ""}})
        number = max(m.number for m in activity.milestones) + 1
        milestone = act.Milestone(
            act.MILESTONE_ID_BASE + 5_000_000 + repo.index * 1000 + number, number,
            f"Sprint {number}", "open", None, moment, moment, None, moment + 14 * DAY)
        activity.milestones.append(milestone)
        counts["milestones_created"] += 1
        self._notify("milestone", "created", repo, milestone=milestone)
        releases = [r for r in activity.releases if not r.deleted]
        draft = next((r for r in releases if r.draft), None)
        if draft is not None:
            draft.deleted = True
            self._deleted.add(("release", str(draft.id)))
            counts["releases_deleted"] += 1
            self._notify("release", "deleted", repo, release=draft)
        published = [r for r in releases if not r.draft]
        if published:
            old_body = published[0].body
            published[0].body = content.body(rng) or "Notes (edited)"
            counts["releases_edited"] += 1
            self._notify("release", "edited", repo, release=published[0],
                         changes={"body": {"from": old_body or ""}})
        version = len(activity.releases) + 2
        release = act.Release(
            activity.new_release_id(repo), f"v{version}.0.0", f"Version {version}",
            content.body(rng), False, False, rng.randrange(len(self.people)), moment, moment)
        activity.releases.append(release)
        counts["releases_created"] += 1
        for action in ("created", "published"):  # as GitHub sends a release made public
            self._notify("release", action, repo, release=release)

    def _edit(self, repo: RepoMeta, number: int, rng: random.Random, moment: int) -> None:
        old = self._item(repo, number)
        text_rng = random.Random(rng.getrandbits(64))
        title = content.title(text_rng)
        if title == old.title:
            title += " (edited)"
        changes: dict[str, Any] = {"title": title}
        if text_rng.random() < 0.5:
            changes["body"] = content.body(text_rng)
        self._set(repo, number, moment, **changes)

    def _set(self, repo: RepoMeta, number: int, moment: int, **changes: Any) -> None:
        """Record a change (number may be the next new one) and patch the cached skeleton."""
        self._version += 1
        skels = self._skeleton_list(repo)
        before = skels[number] if number < len(skels) else None
        key = (repo.index, number)
        self._overrides[key] = {**self._overrides.get(key, {}), **changes,
                                "updated_at": moment, "version": self._version}
        after = self._skeleton(repo, number)
        if before is None:
            skels.append(after)
        else:
            skels[number] = after
        was_open = before is not None and not before.deleted and before.state == "open"
        is_open = not after.deleted and after.state == "open"
        repo.open_issues += int(is_open) - int(was_open)

    def _touch_repo(self, repo: RepoMeta, moment: int | None) -> None:
        """Something in the repository changed: drop its cached orders, bump its version."""
        repo.version += 1
        if moment is not None:
            repo.updated_at = moment
        for key in [k for k in self._orders if k[0] == repo.index]:
            del self._orders[key]

    def _delete_repo(self, repo: RepoMeta) -> None:
        self._deleted.update((row.data_type, row.external_id) for row in self._repo_rows(repo))
        repo.deleted = True
        self._touch_repo(repo, None)
        self._notify("repository", "deleted", repo)

    def _rename_repo(self, repo: RepoMeta, moment: int) -> None:
        old = repo.full_name
        taken = {r.name.lower() for r in self._repos}
        suffix = 2
        while f"{repo.name}-v{suffix}".lower() in taken:
            suffix += 1
        repo.old_names.append(repo.name)
        repo.name = f"{repo.name}-v{suffix}"
        repo.name_version += 1
        self._moved[old.lower()] = repo
        self._renames[old] = repo.full_name
        self._touch_repo(repo, moment)
        self._notify("repository", "renamed", repo, None, old_name=repo.old_names[-1])

    # -- ground truth -----------------------------------------------------------------------

    def expected_rows(self) -> Iterator[ExpectedRow]:
        """What a complete import of the API as it is now must hold, one repository at a time."""
        with self._lock:
            repos = [r for r in self._repos if not r.deleted]
        for repo in repos:
            with self._lock:
                rows = self._repo_rows(repo)
            yield from rows

    def deleted_ids(self) -> set[tuple[str, str]]:
        """(data_type, external_id) of everything a mutation removed: deleted issues, and a
        deleted repository with all it held."""
        with self._lock:
            return set(self._deleted)

    def renames(self) -> dict[str, str]:
        """Old full name -> new full name. A rename changes commit external ids
        (``owner/repo@sha``) but nothing else's."""
        with self._lock:
            return dict(self._renames)

    def _repo_rows(self, repo: RepoMeta) -> list[ExpectedRow]:
        rows = [ExpectedRow("github", "repository", str(repo.id), repo.full_name,
                            "archived" if repo.archived else "active", repo.description)]
        if not repo.readable:
            return rows
        skels = self._skeleton_list(repo)
        for number in range(1, repo.numbers + 1):
            skel = skels[number]
            if skel.deleted or not (skel.is_pr or repo.has_issues):
                continue
            item = self._item(repo, number)
            if item.is_pr:
                rows.append(ExpectedRow("github", "pull_request", str(repo.pr_id(number)),
                                        item.title, item.pr_state, item.body))
            else:
                rows.append(ExpectedRow("github", "issue", str(repo.issue_id(number)),
                                        item.title, item.state, item.body))
        for index in range(repo.commits):
            commit = self._commit(repo, index)
            rows.append(ExpectedRow("github", "commit", f"{repo.full_name}@{commit.sha}",
                                    _first_line(commit.message), None, commit.message))
        return rows + self._activity_rows(repo)

    def _activity_rows(self, repo: RepoMeta) -> list[ExpectedRow]:
        activity = self._activity_of(repo)
        rows = [ExpectedRow("github", "issue_comment", str(c.id), _first_line(c.body), None,
                            c.body) for c in activity.comments if not c.deleted]
        rows += [ExpectedRow("github", "review_comment", str(c.id), _first_line(c.body), None,
                             c.body) for c in activity.review_comments if not c.deleted]
        rows += [ExpectedRow("github", "pull_request_review", str(r.id), _first_line(r.body),
                             r.state.lower(), r.body) for r in activity.reviews
                 if not r.deleted]
        rows += [ExpectedRow("github", "label", str(lb.id), lb.name, None, lb.description)
                 for lb in activity.labels if not lb.deleted]
        rows += [ExpectedRow("github", "milestone", str(m.id), m.title, m.state,
                             m.description) for m in activity.milestones if not m.deleted]
        rows += [ExpectedRow("github", "release", str(r.id), r.name or r.tag,
                             "draft" if r.draft else "prerelease" if r.prerelease
                             else "published", r.body)
                 for r in activity.releases if not r.deleted]
        return rows


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")


def _repo_name(index: int) -> str:
    return _REPO_NAMES[index] if index < len(_REPO_NAMES) else f"service-{index:03d}"
