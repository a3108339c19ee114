"""The GitHub emulator's semantics, called in-process through the sandbox seam."""

import itertools
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TOKEN = "test-token"
BASE = "http://sandbox.test/github"
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


def get(app: GitHubApp, path: str, *, token: str | None = TOKEN,
        headers: dict[str, str] | None = None, method: str = "GET", **params: Any) -> Response:
    split = urlsplit(path)
    query = parse_qs(split.query, keep_blank_values=True)
    query.update({k: [str(v)] for k, v in params.items()})
    all_headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    return app.handle(Request(method, split.path, query, all_headers, b"", BASE))


def follow(app: GitHubApp, url: str) -> Response:
    assert url.startswith(BASE)
    return get(app, url.removeprefix(BASE))


def links(response: Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("link", ""))}


def body(response: Response) -> Any:
    return json.loads(response.body)


def read_all(app: GitHubApp, path: str, **params: Any) -> list[dict[str, Any]]:
    response = get(app, path, **params)
    items = []
    while True:
        assert response.status == 200, response.body
        items += body(response)
        if "next" not in links(response):
            return items
        response = follow(app, links(response)["next"])


@pytest.fixture(scope="module")
def world() -> GitHubWorld:
    return GitHubWorld(1, repos=3, issues_per_repo=120, commits_per_repo=90, now=NOW,
                       dmca_repo=True, vanished_repo=True, blocked_repo=True)


@pytest.fixture(scope="module")
def app(world: GitHubWorld) -> GitHubApp:
    return GitHubApp(world, token=TOKEN)


# -- auth and headers ------------------------------------------------------------------------


def test_auth(app: GitHubApp) -> None:
    missing = get(app, "/user", token=None)
    assert missing.status == 401 and body(missing)["message"] == "Requires authentication"
    wrong = get(app, "/user", token="nope")
    assert wrong.status == 401 and body(wrong)["message"] == "Bad credentials"
    assert get(app, "/user", headers={"authorization": f"token {TOKEN}"}).status == 200
    assert get(app, "/user", headers={"authorization": f"Basic {TOKEN}"}).status == 401


def test_headers_and_rate_limit_budget(world: GitHubWorld) -> None:
    app = GitHubApp(world, token=TOKEN, rate_limit=3)
    first = get(app, "/user")
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    assert first.headers["x-ratelimit-limit"] == "3"
    assert first.headers["x-ratelimit-remaining"] == "2"
    assert first.headers["x-ratelimit-used"] == "1"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(first.headers["x-ratelimit-reset"]) > time.time()
    assert first.headers["etag"].startswith('W/"')
    assert get(app, "/rate_limit").headers["x-ratelimit-remaining"] == "2"  # free
    get(app, "/orgs/acme")
    get(app, "/repos/acme/nope")  # errors count too
    exhausted = get(app, "/user")
    assert exhausted.status == 403 and exhausted.headers["x-ratelimit-remaining"] == "0"
    assert body(exhausted)["message"].startswith("API rate limit exceeded for user ID")
    overview = body(get(app, "/rate_limit"))
    assert overview["rate"]["remaining"] == 0 and overview["resources"]["core"]["used"] == 3


def test_reset_budgets_opens_a_new_window_with_new_limits(world: GitHubWorld) -> None:
    app = GitHubApp(world, token=TOKEN, rate_limit=2)
    get(app, "/user")
    get(app, "/user")
    assert get(app, "/user").status == 403
    app.reset_budgets({TOKEN: 5})
    fresh = get(app, "/user")
    assert fresh.status == 200 and fresh.headers["x-ratelimit-limit"] == "5"
    assert fresh.headers["x-ratelimit-remaining"] == "4" and app.budget(TOKEN).lowest == 4
    app.reset_budgets()  # same limits, a new window
    assert get(app, "/user").headers["x-ratelimit-remaining"] == "4"


def test_unsupported_api_version_and_unknown_routes(app: GitHubApp) -> None:
    assert get(app, "/user", headers={"X-GitHub-Api-Version": "2021-01-01"}).status == 400
    assert get(app, "/user", headers={"X-GitHub-Api-Version": "2026-03-10"}).status == 200
    for path in ("/nothing", "/repos/acme", "/repos/acme/api/hooks", "/repositories/x",
                 "/repos/acme/api/pulls/x/reviews", "/repos/acme/api/issues/comments/x/y"):
        response = get(app, path)
        assert response.status == 404 and body(response)["message"] == "Not Found"
    assert get(app, "/user", method="POST").status == 404


def test_conditional_requests(world: GitHubWorld) -> None:
    app = GitHubApp(world, token=TOKEN)
    first = get(app, "/repos/acme/api/issues", state="all")
    etag = first.headers["etag"]
    remaining = first.headers["x-ratelimit-remaining"]
    for header in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        again = get(app, "/repos/acme/api/issues", state="all",
                    headers={"If-None-Match": header})
        assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
        assert again.headers["x-ratelimit-remaining"] == remaining  # 304s are free
    other = get(app, "/repos/acme/api/issues", state="open", headers={"If-None-Match": etag})
    assert other.status == 200 and other.headers["etag"] != etag


def test_rate_limited_shapes(app: GitHubApp) -> None:
    request = Request("GET", "/user", {}, {}, b"", BASE)
    secondary = app.rate_limited(request, "secondary", 2.0)
    assert secondary is not None and secondary.status == 403
    assert secondary.headers["retry-after"] == "2"
    assert "exceeded a secondary rate limit" in body(secondary)["message"]
    assert int(secondary.headers["x-ratelimit-remaining"]) > 0
    primary = app.rate_limited(request, "primary", 30)
    assert primary is not None and primary.status == 403
    assert primary.headers["x-ratelimit-remaining"] == "0"
    assert 25 < int(primary.headers["x-ratelimit-reset"]) - time.time() <= 31
    assert body(primary)["message"].startswith("API rate limit exceeded")
    assert app.rate_limited(request, "linear_ratelimited", 1) is None


# -- pagination ------------------------------------------------------------------------------


def test_link_headers_like_github(app: GitHubApp, world: GitHubWorld) -> None:
    api = next(r for r in world.repositories() if r.name == "api")
    first = get(app, "/repos/acme/api/issues", state="all", per_page=25)
    assert len(body(first)) == 25
    rels = links(first)
    assert list(rels) == ["next", "last"]
    next_url = urlsplit(rels["next"])
    assert next_url.path == f"/github/repositories/{api.id}/issues"
    assert parse_qs(next_url.query) == {"state": ["all"], "per_page": ["25"], "page": ["2"]}
    assert parse_qs(urlsplit(rels["last"]).query)["page"] == ["5"]  # 120 issue numbers
    middle = follow(app, rels["next"])
    assert list(links(middle)) == ["prev", "next", "last", "first"]
    last = follow(app, rels["last"])
    assert list(links(last)) == ["prev", "first"] and len(body(last)) == 20
    single = get(app, "/repos/acme/api/issues", state="all", per_page=100, since="2026-05-20")
    assert "link" not in single.headers


def test_per_page_default_cap_and_junk(app: GitHubApp) -> None:
    assert len(body(get(app, "/repos/acme/api/commits"))) == 30
    assert len(body(get(app, "/repos/acme/api/commits", per_page=500))) == 90
    capped = get(app, "/repos/acme/api/issues", state="all", per_page=500)
    assert len(body(capped)) == 100 and "per_page=100" in capped.headers["link"]
    assert len(body(get(app, "/repos/acme/api/commits", per_page="abc"))) == 30
    assert body(get(app, "/repos/acme/api/commits", page=99)) == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per_page=st.integers(1, 120), state=st.sampled_from(["open", "closed", "all"]),
       sort=st.sampled_from(["created", "updated", "comments"]),
       direction=st.sampled_from(["asc", "desc"]))
def test_following_links_yields_each_item_once_in_order(app: GitHubApp, per_page: int,
                                                        state: str, sort: str,
                                                        direction: str) -> None:
    whole = body(get(app, "/repos/acme/web/issues", state=state, sort=sort,
                     direction=direction, per_page=100, page=1))
    whole += body(get(app, "/repos/acme/web/issues", state=state, sort=sort,
                      direction=direction, per_page=100, page=2))
    paged = read_all(app, "/repos/acme/web/issues", state=state, sort=sort,
                     direction=direction, per_page=per_page)
    assert [i["number"] for i in paged] == [i["number"] for i in whole]
    assert len({i["id"] for i in paged}) == len(paged)


# -- issues, pulls, commits ------------------------------------------------------------------


def test_issue_filters_and_order(app: GitHubApp) -> None:
    everything = read_all(app, "/repos/acme/api/issues", state="all", per_page=100)
    assert len(everything) == 120
    default = read_all(app, "/repos/acme/api/issues", per_page=100)
    assert default and {i["state"] for i in default} == {"open"}
    closed = read_all(app, "/repos/acme/api/issues", state="closed", per_page=100)
    assert len(default) + len(closed) == 120
    numbers = [i["number"] for i in everything]
    assert numbers == sorted(numbers, reverse=True)  # created, desc by default
    updated = read_all(app, "/repos/acme/api/issues", state="all", sort="updated",
                       direction="asc", per_page=100)
    stamps = [i["updated_at"] for i in updated]
    assert stamps == sorted(stamps)
    comments = read_all(app, "/repos/acme/api/issues", state="all", sort="comments",
                        per_page=100)
    assert [i["comments"] for i in comments] == sorted((i["comments"] for i in comments),
                                                       reverse=True)
    cutoff = sorted(stamps)[60]
    since = read_all(app, "/repos/acme/api/issues", state="all", since=cutoff, per_page=100)
    assert {i["number"] for i in since} == {i["number"] for i in everything
                                           if i["updated_at"] >= cutoff}  # inclusive


def test_issues_listing_includes_pull_requests_with_their_issue_id(app: GitHubApp) -> None:
    issues = read_all(app, "/repos/acme/api/issues", state="all", per_page=100)
    pulls = read_all(app, "/repos/acme/api/pulls", state="all", per_page=100)
    as_issues = {i["number"]: i for i in issues if "pull_request" in i}
    assert set(as_issues) == {p["number"] for p in pulls} and pulls
    for pull in pulls:
        issue = as_issues[pull["number"]]
        assert issue["id"] != pull["id"] and issue["title"] == pull["title"]
        assert issue["pull_request"]["merged_at"] == pull["merged_at"]
    assert not any("pull_request" in i for i in issues if i["number"] not in as_issues)


@pytest.mark.parametrize(("params", "field"), [
    ({"state": "bogus"}, "state"), ({"sort": "stars"}, "sort"),
    ({"direction": "up"}, "direction"), ({"since": "yesterday"}, "since")])
def test_invalid_issue_parameters_are_422(app: GitHubApp, params: dict, field: str) -> None:
    response = get(app, "/repos/acme/api/issues", **params)
    assert response.status == 422
    assert body(response)["errors"] == [{"resource": "Issue", "field": field,
                                         "code": "invalid"}]


def test_pull_request_defaults_and_states(app: GitHubApp) -> None:
    open_only = read_all(app, "/repos/acme/api/pulls", per_page=100)
    assert {p["state"] for p in open_only} <= {"open"}
    created = read_all(app, "/repos/acme/api/pulls", state="all", per_page=100)
    assert [p["number"] for p in created] == sorted((p["number"] for p in created),
                                                    reverse=True)  # desc for created
    updated = read_all(app, "/repos/acme/api/pulls", state="all", sort="updated",
                       per_page=100)
    assert [p["updated_at"] for p in updated] == sorted(p["updated_at"] for p in updated)
    newest = read_all(app, "/repos/acme/api/pulls", state="all", sort="updated",
                      direction="desc", per_page=100)
    assert newest == updated[::-1]
    assert all(p["id"] > 2**31 for p in created)
    assert body(get(app, "/repos/acme/api/pulls", state="all", base="gh-pages")) == []
    assert get(app, "/repos/acme/api/pulls", state="merged").status == 422


def test_commits_newest_first_with_since_and_until(app: GitHubApp) -> None:
    commits = read_all(app, "/repos/acme/api/commits", per_page=100)
    assert len(commits) == 90
    dates = [c["commit"]["committer"]["date"] for c in commits]
    assert dates == sorted(dates, reverse=True)
    since, until = dates[60], dates[20]
    window = read_all(app, "/repos/acme/api/commits", since=since, until=until, per_page=7)
    assert [c["sha"] for c in window] == [c["sha"] for c in commits
                                          if since <= c["commit"]["committer"]["date"] <= until]
    assert body(get(app, "/repos/acme/api/commits", since="1970-01-01T00:00:00Z")) == []
    assert body(get(app, "/repos/acme/api/commits", until="2001-01-01T00:00:00Z")) == []
    assert get(app, "/repos/acme/api/commits", since="not-a-date").status == 422
    for newer, older in itertools.pairwise(commits):
        assert [p["sha"] for p in newer["parents"]] == [older["sha"]]
    assert commits[-1]["parents"] == []


# -- repositories and their failures ---------------------------------------------------------


def test_repository_listings(app: GitHubApp, world: GitHubWorld) -> None:
    listed = read_all(app, "/orgs/acme/repos", per_page=2)
    names = {r["name"] for r in listed}
    assert names == {r.name for r in world.repositories()}
    assert {"legacy-portal", "empty-sandbox", "design-assets", "dmca-takedown",
            "vanished-service", "tos-blocked"} <= names
    by_name = {r["name"]: r for r in listed}
    assert by_name["legacy-portal"]["archived"] is True
    assert by_name["design-assets"]["has_issues"] is False
    created = [r["created_at"] for r in listed]
    assert created == sorted(created, reverse=True)
    public = read_all(app, "/orgs/acme/repos", type="public", per_page=100)
    assert all(not r["private"] for r in public)
    mine = read_all(app, "/user/repos", per_page=100)
    assert [r["full_name"] for r in mine] == sorted((r["full_name"] for r in mine),
                                                    key=str.lower)
    assert len(mine) == len(listed)
    assert read_all(app, "/user/repos", affiliation="owner") == []
    assert get(app, "/user/repos", type="all", visibility="all").status == 422
    assert get(app, "/orgs/ACME").status == 200 and get(app, "/orgs/other").status == 404
    assert get(app, "/orgs/other/repos").status == 404


def test_special_repositories(app: GitHubApp) -> None:
    archived = get(app, "/repos/acme/legacy-portal")
    assert archived.status == 200 and body(archived)["archived"] is True
    assert read_all(app, "/repos/acme/legacy-portal/issues", state="all")
    empty = get(app, "/repos/acme/empty-sandbox/commits")
    assert empty.status == 409 and body(empty)["message"] == "Git Repository is empty."
    disabled = get(app, "/repos/acme/design-assets/issues")
    assert disabled.status == 410
    assert body(disabled)["message"] == "Issues are disabled for this repo"
    assert read_all(app, "/repos/acme/design-assets/pulls", state="all")
    for path in ("/repos/acme/dmca-takedown", "/repos/acme/dmca-takedown/issues"):
        blocked = get(app, path)
        assert blocked.status == 451 and body(blocked)["block"]["reason"] == "dmca"
    tos = get(app, "/repos/acme/tos-blocked/commits")
    assert tos.status == 403 and body(tos)["message"] == "Repository access blocked"
    assert get(app, "/repos/acme/vanished-service").status == 404
    assert get(app, "/repos/acme/vanished-service/issues").status == 404
    assert get(app, "/repos/acme/does-not-exist/issues").status == 404
    assert get(app, "/repos/ACME/Api").status == 200  # names are case-insensitive


def test_repositories_by_id(app: GitHubApp, world: GitHubWorld) -> None:
    api = next(r for r in world.repositories() if r.name == "api")
    assert body(get(app, f"/repositories/{api.id}"))["full_name"] == "acme/api"
    by_id = read_all(app, f"/repositories/{api.id}/commits", per_page=100)
    assert by_id == read_all(app, "/repos/acme/api/commits", per_page=100)
    assert get(app, "/repositories/1").status == 404


def test_renamed_repository_answers_301_to_its_id() -> None:
    world = GitHubWorld(1, repos=5, issues_per_repo=20, commits_per_repo=10, now=NOW)
    app = GitHubApp(world, token=TOKEN)
    world.mutate(0.1, 1, delete_repos=True, at=NOW + timedelta(days=1))
    (old, new), = world.renames().items()
    repo_id = world.lookup(*new.split("/"))[0].id
    moved = get(app, f"/repos/{old}")
    assert moved.status == 301
    assert moved.headers["location"] == f"{BASE}/repositories/{repo_id}"
    assert body(moved)["message"] == "Moved Permanently"
    moved_issues = get(app, f"/repos/{old}/issues", state="all")
    assert moved_issues.headers["location"] == (f"{BASE}/repositories/{repo_id}/issues"
                                                "?state=all")
    assert body(follow(app, moved.headers["location"]))["full_name"] == new
    deleted = next(k for k in world.deleted_ids() if k[0] == "repository")
    assert get(app, f"/repositories/{deleted[1]}").status == 404


def test_same_seed_same_bytes() -> None:
    def responses() -> list[tuple[int, bytes, str | None]]:
        world = GitHubWorld(8, repos=2, issues_per_repo=50, commits_per_repo=20, now=NOW)
        app = GitHubApp(world, token=TOKEN)
        paths = ["/user", "/orgs/acme", "/orgs/acme/repos", "/user/repos", "/repos/acme/api",
                 "/repos/acme/api/issues?state=all&per_page=100",
                 "/repos/acme/api/pulls?state=all", "/repos/acme/web/commits?per_page=100"]
        return [(r.status, r.body, r.headers.get("etag")) for r in (get(app, p) for p in paths)]

    assert responses() == responses()


def test_a_mutation_changes_the_etag_and_the_since_listing() -> None:
    world = GitHubWorld(2, repos=2, issues_per_repo=50, commits_per_repo=20, now=NOW)
    app = GitHubApp(world, token=TOKEN)
    before = get(app, "/repos/acme/api/issues", state="all")
    world.mutate(0.1, 3, at=NOW + timedelta(days=1))
    after = get(app, "/repos/acme/api/issues", state="all",
                headers={"If-None-Match": before.headers["etag"]})
    assert after.status == 200
    changed = read_all(app, "/repos/acme/api/issues", state="all",
                       since=(NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert changed and all(i["updated_at"] == "2026-06-02T00:00:00Z" for i in changed)
