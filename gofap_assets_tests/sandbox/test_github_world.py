"""The generated GitHub world: lazy, deterministic, realistic, and honest about its mutations."""

import threading
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from gofap_assets.sandbox.github import ExpectedRow, GitHubWorld
from gofap_assets.sandbox.github.content import MAX_BODY
from gofap_assets.sandbox.github.generate import (
    DAY,
    USER_EMPTY,
    USER_GHOST,
    USER_NULL,
    RepoMeta,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())


def rows_by_key(world: GitHubWorld) -> dict[tuple[str, str], ExpectedRow]:
    return {(row.data_type, row.external_id): row for row in world.expected_rows()}


def all_items(world: GitHubWorld, repo: RepoMeta) -> list:
    _, refs = world.issue_page(repo, pulls=False, state="all", sort="created",
                               direction="asc", since=None, start=0, stop=10**6)
    return [world.item(repo.index, number) for number, _ in refs]


def test_a_medium_world_is_created_lazily() -> None:
    tracemalloc.start()
    world = GitHubWorld.scaled("medium", 1, now=NOW)
    allocated, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert allocated < 512 * 1024, "construction must not generate items"
    size = world.size()
    assert size["issue_numbers"] + size["commits"] >= 80_000
    assert world.cache_info() == {"repositories": 23, "overrides": 0, "skeleton_repos": 0,
                                  "skeleton_items": 0, "orders": 0, "listings": 0}
    api = world.repositories()[0]
    world.issue_page(api, pulls=False, state="all", sort="updated", direction="desc",
                     since=None, start=0, stop=100)
    world.commit_page(api, since=None, until=None, start=0, stop=100)
    info = world.cache_info()
    assert (info["skeleton_repos"], info["skeleton_items"]) == (1, 2_000)  # commits: none


def test_scales() -> None:
    small = GitHubWorld.scaled("small", 1, now=NOW)
    kinds = Counter(repo.kind for repo in small.repositories())
    assert kinds == {"normal": 3, "archived": 1, "empty": 1, "issues-disabled": 1}
    large = GitHubWorld.scaled("large", 1, now=NOW)
    assert sum(large.size().values()) >= 100_000
    flagged = GitHubWorld.scaled("small", 1, now=NOW, dmca_repo=True, vanished_repo=True,
                                 blocked_repo=True)
    assert {"dmca", "vanished", "blocked"} <= {r.kind for r in flagged.repositories()}
    with pytest.raises(ValueError, match="unknown scale"):
        GitHubWorld.scaled("huge", 1)


def test_the_same_seed_makes_the_same_world() -> None:
    one = list(GitHubWorld.scaled("small", 4, now=NOW).expected_rows())
    two = list(GitHubWorld.scaled("small", 4, now=NOW).expected_rows())
    other = list(GitHubWorld.scaled("small", 5, now=NOW).expected_rows())
    assert one == two
    assert one != other


def test_items_have_the_shapes_that_break_importers() -> None:
    world = GitHubWorld(2, repos=3, issues_per_repo=400, commits_per_repo=300, now=NOW)
    items, commits = [], []
    for repo in world.repositories():
        if repo.readable:
            items += all_items(world, repo)
            _, indexes = world.commit_page(repo, since=None, until=None, start=0, stop=10**6)
            commits += [world.commit(repo.index, i) for i in indexes]
    users = Counter(item.user for item in items)
    assert users[USER_GHOST] and users[USER_NULL]
    bodies = [item.body for item in items]
    assert None in bodies and "" in bodies
    assert max(len(b or "") for b in bodies) == MAX_BODY
    assert any("\r\n" in (b or "") for b in bodies)
    assert any("\x1b" in (b or "") for b in bodies)
    titles = [item.title for item in items]
    assert any(any(ord(c) > 0xFFFF for c in t) for t in titles), "astral-plane emoji"
    assert any(any("\u0590" <= c <= "\u06ff" for c in t) for t in titles), "RTL script"
    assert {item.state_reason for item in items if not item.is_pr} >= {
        None, "completed", "not_planned", "reopened"}
    pulls = [item for item in items if item.is_pr]
    assert {p.pr_state for p in pulls} == {"open", "closed", "merged"}
    assert {p.head_kind for p in pulls} == {"branch", "fork", "deleted-fork"}
    for item in items:
        assert item.created_at <= item.updated_at <= NOW_TS
        assert NOW_TS - item.created_at <= 731 * DAY
        assert item.closed_at is None or item.created_at <= item.closed_at <= item.updated_at
        assert (item.state == "closed") == (item.closed_at is not None)
        assert item.merged_at is None or item.is_pr
    assert {c.author_user for c in commits} >= {USER_NULL, USER_EMPTY}
    assert any("\n" in c.message for c in commits)
    assert all(c.author_date <= c.committer_date <= NOW_TS for c in commits)


def test_ids_are_64_bit_and_issue_ids_differ_from_pull_request_ids() -> None:
    world = GitHubWorld.scaled("small", 1, now=NOW)
    rows = list(world.expected_rows())
    issue_ids = {int(r.external_id) for r in rows if r.data_type == "issue"}
    pr_ids = {int(r.external_id) for r in rows if r.data_type == "pull_request"}
    assert min(issue_ids | pr_ids) > 2**31
    assert pr_ids and not issue_ids & pr_ids
    repos = {repo.index: repo for repo in world.repositories()}
    pr_issue_ids = {repos[i].issue_id(n) for i in repos for n in range(1, repos[i].numbers + 1)}
    assert not pr_issue_ids & pr_ids


def test_ground_truth_follows_spec_mapping() -> None:
    world = GitHubWorld.scaled("small", 1, now=NOW)
    rows = list(world.expected_rows())
    kinds = Counter(row.data_type for row in rows)
    assert kinds["repository"] == 6 and kinds["issue"] and kinds["pull_request"]
    assert kinds["commit"] == 3 * 40 + 30 + 20
    repos = {r.title: r for r in rows if r.data_type == "repository"}
    assert repos["acme/legacy-portal"].state == "archived" and repos["acme/api"].state == "active"
    assert all(r.state in ("open", "closed") for r in rows if r.data_type == "issue")
    assert all(r.state in ("open", "closed", "merged") for r in rows
               if r.data_type == "pull_request")
    commits = [r for r in rows if r.data_type == "commit"]
    assert all(r.external_id.startswith("acme/") and "@" in r.external_id and r.state is None
               for r in commits)
    assert all(r.description.replace("\r\n", "\n").split("\n")[0] == r.title for r in commits)
    # issues disabled: its pull requests are still there, its issues are not
    disabled = next(r for r in world.repositories() if not r.has_issues)
    assert not any(r.data_type == "issue" and int(r.external_id) // 1_000_000 ==
                   disabled.issue_id(0) // 1_000_000 for r in rows)


def _diff(before: dict, after: dict, data_type: str) -> tuple[int, int, int]:
    keys_before = {k for k in before if k[0] == data_type}
    keys_after = {k for k in after if k[0] == data_type}
    changed = sum(before[k] != after[k] for k in keys_before & keys_after)
    return len(keys_after - keys_before), len(keys_before - keys_after), changed


def test_mutation_changes_exactly_what_it_reports() -> None:
    world = GitHubWorld(3, repos=4, issues_per_repo=200, commits_per_repo=50, now=NOW)
    before = rows_by_key(world)
    counts = world.mutate(0.1, 9, at=NOW + timedelta(days=1))
    after = rows_by_key(world)
    assert _diff(before, after, "issue") == (
        counts["issues_created"], counts["issues_deleted"],
        counts["issues_edited"] + counts["issues_closed"] + counts["issues_reopened"])
    assert _diff(before, after, "pull_request") == (
        counts["pulls_created"], 0,
        counts["pulls_edited"] + counts["pulls_merged"] + counts["pulls_closed"])
    assert _diff(before, after, "commit") == (counts["commits_created"], 0, 0)
    assert _diff(before, after, "repository") == (0, 0, counts["repos_archived"])
    assert counts["repos_archived"] == 1 and counts["issues_deleted"] > 0
    assert min(counts[k] for k in ("issues_edited", "issues_closed", "issues_created",
                                   "pulls_edited", "commits_created")) > 0
    gone = {k for k in before if k not in after}
    assert world.deleted_ids() == gone


def test_a_seeded_mutation_does_the_same_whenever_it_runs() -> None:
    """Comments, reviews and the rest of a mutation's activity follow the seeds, not the clock:
    a test that needs some of each gets them every time."""
    counts = [GitHubWorld(3, repos=3, issues_per_repo=120, commits_per_repo=30, now=NOW)
              .mutate(0.05, 11, at=NOW + timedelta(hours=hours)) for hours in (1, 7, 30)]
    assert counts[0] == counts[1] == counts[2]
    assert counts[0]["comments_created"] > 0 and counts[0]["reviews_submitted"] > 0
    other = GitHubWorld(3, repos=3, issues_per_repo=120, commits_per_repo=30, now=NOW).mutate(
        0.05, 12, at=NOW + timedelta(hours=1))
    assert other != counts[0], "the mutation's seed chooses the activity too"


def test_mutated_items_carry_the_mutation_time() -> None:
    world = GitHubWorld(3, repos=3, issues_per_repo=100, commits_per_repo=30, now=NOW)
    moment = int((NOW + timedelta(hours=5)).timestamp())
    api = world.repositories()[0]
    untouched, _ = world.issue_page(api, pulls=False, state="all", sort="updated",
                                    direction="desc", since=moment, start=0, stop=1000)
    assert untouched == 0
    counts = world.mutate(0.05, 1, at=NOW + timedelta(hours=5))
    api = world.repositories()[0]
    total, refs = world.issue_page(api, pulls=False, state="all", sort="updated",
                                   direction="desc", since=moment, start=0, stop=1000)
    assert 0 < total < 40 and all(world.item(api.index, n).updated_at == moment for n, _ in refs)
    new_commits, _ = world.commit_page(api, since=moment, until=None, start=0, stop=100)
    assert 0 < new_commits <= counts["commits_created"]
    # later mutations never go back in time, even if asked to
    world.mutate(0.05, 2, at=NOW)
    assert all(world.item(api.index, n).updated_at >= moment for n, _ in refs)


def test_deleting_and_renaming_repositories() -> None:
    world = GitHubWorld(3, repos=6, issues_per_repo=30, commits_per_repo=10, now=NOW)
    before = rows_by_key(world)
    counts = world.mutate(0.1, 4, delete_repos=True, at=NOW + timedelta(days=1))
    assert counts["repos_deleted"] == 1 and counts["repos_renamed"] == 1
    after = rows_by_key(world)
    deleted = world.deleted_ids()
    deleted_repo = [k for k in deleted if k[0] == "repository"]
    assert len(deleted_repo) == 1 and deleted_repo[0] not in after
    assert {k[0] for k in deleted} >= {"repository", "commit"}
    assert not deleted & after.keys()
    (old, new), = world.renames().items()
    assert world.lookup(*old.split("/"))[1] is True  # answers as moved
    assert world.lookup(*new.split("/"))[1] is False
    assert any(k[1].startswith(new + "@") for k in after)
    assert not any(k[1].startswith(old + "@") for k in after)
    assert {k for k in before if k[1].startswith(old + "@")} - deleted, \
        "a rename changes commit ids but is not a deletion"


def test_mutation_arguments() -> None:
    world = GitHubWorld.scaled("small", 1, now=NOW)
    assert set(world.mutate(0, 1).values()) == {0}
    with pytest.raises(ValueError):
        world.mutate(1.5, 1)
    for seed in range(5):  # archiving stops before the world runs out of active repositories
        world.mutate(0.05, seed)
    assert sum(1 for r in world.repositories() if r.kind == "normal" and not r.archived) == 2


def test_reading_while_mutating_is_safe() -> None:
    world = GitHubWorld(3, repos=4, issues_per_repo=300, commits_per_repo=100, now=NOW)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                for repo in world.repositories():
                    if repo.readable:
                        _, refs = world.issue_page(repo, pulls=False, state="all",
                                                   sort="updated", direction="desc",
                                                   since=None, start=0, stop=50)
                        for number, _ in refs:
                            world.item(repo.index, number)
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    for seed in range(6):
        world.mutate(0.05, seed, delete_repos=True)
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    sum(1 for _ in world.expected_rows())
