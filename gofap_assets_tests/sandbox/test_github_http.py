"""The GitHub sandbox over a real socket: a client that follows Link headers reads exactly the
ground truth, before and after the world changes."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from gofap_assets.sandbox.github import ExpectedRow, GitHubApp, GitHubWorld
from gofap_assets.sandbox.server import SandboxServer

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TOKEN = "test-token"
EMPTY_STATUSES = {409, 410}  # empty repository, issues disabled: nothing to read
GONE_STATUSES = {403, 404, 451}  # blocked, vanished, DMCA: the repository row only


@pytest.fixture
def world() -> GitHubWorld:
    return GitHubWorld(6, repos=4, issues_per_repo=90, commits_per_repo=70, now=NOW,
                       dmca_repo=True, vanished_repo=True, blocked_repo=True)


@pytest.fixture
def server(world: GitHubWorld) -> Iterator[SandboxServer]:
    with SandboxServer({"/github": GitHubApp(world, token=TOKEN)}) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/github/", timeout=10,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http


def pages(client: httpx.Client, path: str, **params: Any) -> Iterator[httpx.Response]:
    """The first page, then every `next` Link exactly as given."""
    response = client.get(path, params=params)
    yield response
    while response.status_code == 200 and "next" in response.links:
        response = client.get(response.links["next"]["url"])
        yield response


def listing(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]] | int:
    items: list[dict[str, Any]] = []
    for response in pages(client, path, per_page=100, **params):
        if response.status_code != 200:
            return response.status_code
        items += response.json()
    return items


def rows(client: httpx.Client, since: str | None = None) -> set[ExpectedRow]:
    """What an importer maps from the API, in SPEC.md's mapping."""
    found: set[ExpectedRow] = set()
    repos = listing(client, "orgs/acme/repos", type="all")
    assert isinstance(repos, list)
    for repo in repos:
        name = repo["full_name"]
        found.add(ExpectedRow("github", "repository", str(repo["id"]), name,
                              "archived" if repo["archived"] else "active",
                              repo["description"]))
        extra = {"since": since} if since else {}
        issues = listing(client, f"repos/{name}/issues", state="all", **extra)
        pulls = listing(client, f"repos/{name}/pulls", state="all")
        commits = listing(client, f"repos/{name}/commits", **extra)
        for result in (issues, pulls, commits):
            if isinstance(result, int):
                assert result in EMPTY_STATUSES | GONE_STATUSES, (name, result)
        for issue in issues if isinstance(issues, list) else []:
            if "pull_request" not in issue:
                found.add(ExpectedRow("github", "issue", str(issue["id"]), issue["title"],
                                      issue["state"], issue["body"]))
        for pull in pulls if isinstance(pulls, list) else []:
            if since is None or pull["updated_at"] >= since:
                found.add(ExpectedRow("github", "pull_request", str(pull["id"]), pull["title"],
                                      "merged" if pull["merged_at"] else pull["state"],
                                      pull["body"]))
        for commit in commits if isinstance(commits, list) else []:
            message = commit["commit"]["message"]
            found.add(ExpectedRow("github", "commit", f"{name}@{commit['sha']}",
                                  message.split("\n", 1)[0].rstrip("\r"), None, message))
        found |= activity_rows(client, name, pulls if isinstance(pulls, list) else [], since)
    return found


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")


def activity_rows(client: httpx.Client, name: str, pulls: list[dict[str, Any]],
                  since: str | None) -> set[ExpectedRow]:
    """Comments, reviews (of the pull requests updated since), labels, milestones, releases."""
    found: set[ExpectedRow] = set()
    extra = {"since": since} if since else {}
    listings = {
        "issue_comment": listing(client, f"repos/{name}/issues/comments", sort="updated",
                                 direction="desc", **extra),
        "review_comment": listing(client, f"repos/{name}/pulls/comments", sort="updated",
                                  direction="desc", **extra),
        "label": listing(client, f"repos/{name}/labels"),
        "milestone": listing(client, f"repos/{name}/milestones", state="all"),
        "release": listing(client, f"repos/{name}/releases"),
    }
    for data_type, result in listings.items():
        if isinstance(result, int):
            assert result in EMPTY_STATUSES | GONE_STATUSES, (name, data_type, result)
            continue
        for item in result:
            if data_type in ("issue_comment", "review_comment"):
                row = (_first_line(item["body"]), None, item["body"])
            elif data_type == "label":
                row = (item["name"], None, item["description"])
            elif data_type == "milestone":
                row = (item["title"], item["state"], item["description"])
            else:
                state = "draft" if item["draft"] else "prerelease" if item["prerelease"] \
                    else "published"
                row = (item["name"] or item["tag_name"], state, item["body"])
            found.add(ExpectedRow("github", data_type, str(item["id"]), *row))
    for pull in pulls:
        if since is not None and pull["updated_at"] < since:
            continue
        reviews = listing(client, f"repos/{name}/pulls/{pull['number']}/reviews")
        assert isinstance(reviews, list)
        found |= {ExpectedRow("github", "pull_request_review", str(r["id"]),
                              _first_line(r["body"]), r["state"].lower(), r["body"])
                  for r in reviews}
    return found


def test_following_links_reads_exactly_the_ground_truth(client: httpx.Client,
                                                        world: GitHubWorld,
                                                        server: SandboxServer) -> None:
    expected = list(world.expected_rows())
    assert len(expected) == len(set(expected))
    assert rows(client) == set(expected)
    stats = server.stats
    assert stats.connections == 1 and stats.requests > 25
    assert set(stats.by_status) == {200, 403, 404, 409, 410, 451}


def test_after_mutation_an_incremental_read_sees_every_change(client: httpx.Client,
                                                              world: GitHubWorld,
                                                              server: SandboxServer) -> None:
    before = set(world.expected_rows())
    first = client.get("orgs/acme/repos")
    cursor = parsedate_to_datetime(first.headers["date"]) - timedelta(seconds=5)
    counts = httpx.post(f"{server.url}/_sandbox/mutate",
                        json={"fraction": 0.1, "seed": 3}).json()["/github"]
    assert counts["issues_created"] and counts["commits_created"]
    after = set(world.expected_rows())
    changed = after - before
    incremental = rows(client, since=cursor.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert {r for r in changed if r.data_type != "repository"} <= incremental
    assert rows(client) == after
    gone = {(r.data_type, r.external_id) for r in before} - {
        (r.data_type, r.external_id) for r in after}
    assert gone == world.deleted_ids()
    assert sum(1 for data_type, _id in gone if data_type == "issue") == counts["issues_deleted"]
    assert {"label", "milestone", "release"} <= {data_type for data_type, _id in gone}


def test_conditional_requests_over_the_socket(client: httpx.Client,
                                              server: SandboxServer) -> None:
    first = client.get("repos/acme/api/issues", params={"state": "all"})
    again = client.get("repos/acme/api/issues", params={"state": "all"},
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert server.stats.not_modified == 1


def test_a_renamed_repository_redirects(client: httpx.Client, world: GitHubWorld) -> None:
    world.mutate(0.05, 2, delete_repos=True)
    (old, new), = world.renames().items()
    moved = client.get(f"repos/{old}/commits", params={"per_page": 5})
    assert moved.status_code == 301
    followed = client.get(f"repos/{old}/commits", params={"per_page": 5},
                          follow_redirects=True)
    assert followed.status_code == 200 and len(followed.json()) == 5
    assert followed.json()[0]["url"].split("/repos/")[1].startswith(new + "/")
