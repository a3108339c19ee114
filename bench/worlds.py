"""The sandbox worlds the workloads run against, started in this process and shared by them.

A world's timestamps derive from the moment it is built, so a warehouse synced from one world is
only current against that same world: workloads that need the same data (full syncs, then the
incremental ones) share one running sandbox, keyed by its sizes and latency.
"""

import math
from dataclasses import dataclass
from typing import Any

from gofap_assets.sandbox import Sandbox
from gofap_assets.sandbox.github import GitHubWorld
from gofap_assets.sandbox.linear import LinearWorld

LINEAR_PAGE = 250
GITHUB_PAGE = 100


@dataclass(frozen=True)
class GitHubSize:
    repos: int
    issues_per_repo: int
    commits_per_repo: int
    pr_every: int = 7

    @property
    def items(self) -> int:
        """Issues and pull requests (issue numbers) plus commits of the normal repositories."""
        return self.repos * (self.issues_per_repo + self.commits_per_repo)

    def scaled(self, factor: float, min_repos: int = 4) -> "GitHubSize":
        """`factor` times the items in fewer repositories, but at least `min_repos` of them
        (the importer's concurrency) and as many per repository as fill whole pages: what
        varies is how many pages there are, not how full they are or how many are in flight."""
        repos = min(self.repos, max(min_repos, round(self.repos * factor)))
        share = self.repos * factor / repos
        return GitHubSize(repos, max(1, round(self.issues_per_repo * share)),
                          max(1, round(self.commits_per_repo * share)), self.pr_every)

    def world(self, seed: int) -> GitHubWorld:
        return GitHubWorld(seed, repos=self.repos, issues_per_repo=self.issues_per_repo,
                           commits_per_repo=self.commits_per_repo, pr_every=self.pr_every)


@dataclass(frozen=True)
class LinearSize:
    teams: int
    issues_per_team: int
    users: int = 60
    projects: int = 24

    @property
    def items(self) -> int:
        return self.teams * self.issues_per_team

    def scaled(self, factor: float, min_teams: int = 4) -> "LinearSize":
        """As `GitHubSize.scaled`: fewer teams, full pages."""
        teams = min(self.teams, max(min_teams, round(self.teams * factor)))
        share = self.teams * factor / teams
        return LinearSize(teams, max(1, round(self.issues_per_team * share)), self.users,
                          self.projects)

    def world(self, seed: int) -> LinearWorld:
        return LinearWorld(seed, teams=self.teams, issues_per_team=self.issues_per_team,
                           users=self.users, projects=self.projects)


IDLE_GITHUB = GitHubSize(1, 1, 1)
IDLE_LINEAR = LinearSize(1, 1, users=1, projects=0)
"""The other service's world in a sandbox that benchmarks one service: as small as allowed."""


class Worlds:
    """Running sandboxes by (GitHub size, Linear size, latency); all stopped by `close`."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._running: dict[tuple[Any, ...], Sandbox] = {}

    def get(self, *, github: GitHubSize = IDLE_GITHUB, linear: LinearSize = IDLE_LINEAR,
            latency_ms: float = 0.0) -> Sandbox:
        key = (github, linear, latency_ms)
        sandbox = self._running.get(key)
        if sandbox is None:
            sandbox = Sandbox(seed=self.seed, github=github.world(self.seed),
                              linear=linear.world(self.seed), latency_ms=latency_ms)
            sandbox.__enter__()
            self._running[key] = sandbox
        return sandbox

    def close(self) -> None:
        for sandbox in self._running.values():
            sandbox.__exit__(None, None, None)
        self._running.clear()

    def __enter__(self) -> "Worlds":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def github_pages(world: GitHubWorld) -> int:
    """Pages a complete read of the organisation takes at 100 a page: the fewest requests.

    A listing that is empty, disabled or refused still costs its one request.
    """
    repos = world.repositories()
    pages = max(1, math.ceil(len(repos) / GITHUB_PAGE))
    for repo in repos:
        numbers, _ = world.issue_page(repo, pulls=False, state="all", sort="updated",
                                      direction="desc", since=None, start=0, stop=0)
        pulls, _ = world.issue_page(repo, pulls=True, state="all", sort="updated",
                                    direction="desc", since=None, start=0, stop=0)
        commits, _ = world.commit_page(repo, since=None, until=None, start=0, stop=0)
        pages += sum(max(1, math.ceil(n / GITHUB_PAGE)) for n in (numbers, pulls, commits))
    return pages


def github_items(world: GitHubWorld) -> int:
    """Everything a full GitHub sync reads: repositories, issue numbers and commits."""
    size = world.size()
    return size["repositories"] + size["issue_numbers"] + size["commits"]


def linear_items(world: LinearWorld) -> int:
    return world.issue_count()
