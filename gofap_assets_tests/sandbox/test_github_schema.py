"""Every emulator response validates against GitHub's own OpenAPI description (the subset in
shared/api), with `$ref`s resolved and OAS 3.0 `nullable` semantics.

Official quirks tolerated, each because the real API contradicts its description (NOTES.md §1):
- `commit.author` / `commit.committer` are `nullable: true` beside a `oneOf` without `type`;
  under OAS 3.0.3 `nullable` only applies with `type`, so a validator rejects the `null` that
  GitHub really sends for unlinked emails. We add a `null` alternative.
- `issue.state_reason` is `nullable: true` with an `enum` that lacks `null`; OAS 3.0.3 keeps the
  enum's constraint, so the `null` of every open issue is rejected. We add `null` to the enum.
  The same holds for `pull-request-review-comment.start_side`, null on every single-line comment.
- `pull-request-simple.head.repo` is not nullable, but is `null` when the fork was deleted
  (github/rest-api-description#1811). We allow `null` there.
- `pull-request-simple.labels[].description` is a non-nullable string, while the same label in
  `issue.labels` is `nullable`; a label created without a description has `null` in both
  listings. We make it nullable in the pulls schema too.
- The 451 (DMCA), 403 (blocked) and 410 (issues disabled) answers are not in the description;
  their bodies are checked against `basic-error`, which allows the extra `block` object.
`test_the_tolerated_quirks_are_real` proves each patch is needed.
"""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TOKEN = "test-token"
BASE = "http://sandbox.test/github"
URI = "urn:github-openapi-subset"


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self.registry = Registry().with_resource(URI, resource)

    def validator(self, ref: str) -> OAS30Validator:
        return OAS30Validator({"$ref": f"{URI}#{ref}"}, registry=self.registry,
                              format_checker=oas30_format_checker)

    def component(self, name: str) -> OAS30Validator:
        return self.validator(f"/components/schemas/{name}")

    def response(self, path: str, status: int) -> OAS30Validator:
        response = self.document["paths"][path]["get"]["responses"][str(status)]
        pointer = "/" + _pointer("paths", path, "get", "responses", str(status))
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
        return self.validator(pointer + "/content/application~1json/schema")


def errors(validator: OAS30Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(instance)]


@pytest.fixture(scope="module")
def raw_spec(shared_dir: Path) -> dict[str, Any]:
    return json.loads((shared_dir / "api" / "github-openapi-subset.json").read_text())


@pytest.fixture(scope="module")
def spec(raw_spec: dict[str, Any]) -> Spec:
    document = copy.deepcopy(raw_spec)
    schemas = document["components"]["schemas"]
    for field in ("author", "committer"):
        schemas["commit"]["properties"][field]["oneOf"].append({"enum": [None]})
    schemas["issue"]["properties"]["state_reason"]["enum"].append(None)
    schemas["pull-request-review-comment"]["properties"]["start_side"]["enum"].append(None)
    pull = schemas["pull-request-simple"]["properties"]
    pull["labels"]["items"]["properties"]["description"]["nullable"] = True
    head = pull["head"]["properties"]
    head["repo"] = {"oneOf": [head["repo"], {"enum": [None]}]}
    return Spec(document)


@pytest.fixture(scope="module")
def world() -> GitHubWorld:
    return GitHubWorld(5, repos=3, issues_per_repo=150, commits_per_repo=60, now=NOW,
                       dmca_repo=True, vanished_repo=True, blocked_repo=True)


@pytest.fixture(scope="module")
def app(world: GitHubWorld) -> GitHubApp:
    return GitHubApp(world, token=TOKEN)


def get(app: GitHubApp, path: str, token: str = TOKEN) -> Response:
    split = urlsplit(path)
    return app.handle(Request("GET", split.path, parse_qs(split.query), {
        "authorization": f"Bearer {token}"}, b"", BASE))


def read_all(app: GitHubApp, path: str) -> list[Any]:
    response, items = get(app, path), []
    while True:
        assert response.status == 200, response.body
        items += json.loads(response.body)
        link = response.headers.get("link", "")
        nexts = [part.split(">")[0][1:] for part in link.split(", ") if 'rel="next"' in part]
        if not nexts:
            return items
        response = get(app, nexts[0].removeprefix(BASE))


def readable(world: GitHubWorld) -> list[str]:
    return [repo.full_name for repo in world.repositories() if repo.readable]


def test_single_objects(spec: Spec, app: GitHubApp, world: GitHubWorld) -> None:
    assert errors(spec.response("/user", 200), json.loads(get(app, "/user").body)) == []
    assert errors(spec.response("/orgs/{org}", 200),
                  json.loads(get(app, "/orgs/acme").body)) == []
    assert errors(spec.response("/rate_limit", 200),
                  json.loads(get(app, "/rate_limit").body)) == []
    for name in readable(world):  # normal, archived, empty, issues disabled
        repo = json.loads(get(app, f"/repos/{name}").body)
        assert errors(spec.response("/repos/{owner}/{repo}", 200), repo) == [], name


def test_repository_listings(spec: Spec, app: GitHubApp) -> None:
    org = read_all(app, "/orgs/acme/repos?per_page=100")
    assert errors(spec.response("/orgs/{org}/repos", 200), org) == []
    mine = read_all(app, "/user/repos?per_page=100")
    assert errors(spec.response("/user/repos", 200), mine) == []


def test_every_issue_pull_request_and_commit(spec: Spec, app: GitHubApp,
                                             world: GitHubWorld) -> None:
    issues = spec.response("/repos/{owner}/{repo}/issues", 200)
    pulls = spec.response("/repos/{owner}/{repo}/pulls", 200)
    commits = spec.response("/repos/{owner}/{repo}/commits", 200)
    seen = {"issues": 0, "pulls": 0, "commits": 0}
    for name in readable(world):
        repo = json.loads(get(app, f"/repos/{name}").body)
        if repo["has_issues"]:
            page = read_all(app, f"/repos/{name}/issues?state=all&per_page=100")
            assert errors(issues, page) == [], name
            seen["issues"] += len(page)
        page = read_all(app, f"/repos/{name}/pulls?state=all&per_page=100")
        assert errors(pulls, page) == [], name
        seen["pulls"] += len(page)
        if repo["size"]:
            page = read_all(app, f"/repos/{name}/commits?per_page=100")
            assert errors(commits, page) == [], name
            seen["commits"] += len(page)
    assert min(seen.values()) > 50, seen


def test_every_comment_review_label_milestone_and_release(spec: Spec, app: GitHubApp,
                                                         world: GitHubWorld) -> None:
    listings = {
        "issues/comments?sort=updated&direction=desc": "/repos/{owner}/{repo}/issues/comments",
        "pulls/comments?sort=updated&direction=desc": "/repos/{owner}/{repo}/pulls/comments",
        "labels": "/repos/{owner}/{repo}/labels",
        "milestones?state=all": "/repos/{owner}/{repo}/milestones",
        "releases": "/repos/{owner}/{repo}/releases",
    }
    reviews = spec.response("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 200)
    seen = dict.fromkeys([*listings.values(), "reviews"], 0)
    for name in readable(world):
        repo = json.loads(get(app, f"/repos/{name}").body)
        for query, operation in listings.items():
            if "issues" in query and not repo["has_issues"]:
                assert get(app, f"/repos/{name}/{query}").status == 410
                continue
            sep = "&" if "?" in query else "?"
            page = read_all(app, f"/repos/{name}/{query}{sep}per_page=100")
            assert errors(spec.response(operation, 200), page) == [], (name, query)
            seen[operation] += len(page)
        for pull in read_all(app, f"/repos/{name}/pulls?state=all&per_page=100")[:40]:
            page = read_all(app, f"/repos/{name}/pulls/{pull['number']}/reviews?per_page=100")
            assert errors(reviews, page) == [], (name, pull["number"])
            seen["reviews"] += len(page)
    assert min(seen.values()) > 5, seen


def test_error_bodies(spec: Spec, app: GitHubApp) -> None:
    basic = spec.component("basic-error")
    cases = {
        "/user?": (401, "/user"),
        "/repos/acme/nope": (404, "/repos/{owner}/{repo}"),
        "/repos/acme/empty-sandbox/commits": (409, "/repos/{owner}/{repo}/commits"),
        "/repos/acme/api/issues?state=bogus": (422, "/repos/{owner}/{repo}/issues"),
        "/repos/acme/design-assets/issues": (410, None),
        "/repos/acme/design-assets/issues/comments": (410, None),
        "/repos/acme/api/pulls/1/reviews": (404, None),
        "/repos/acme/api/milestones?state=bogus": (422, None),
        "/repos/acme/dmca-takedown": (451, None),
        "/repos/acme/tos-blocked": (403, "/repos/{owner}/{repo}"),
    }
    for path, (status, operation) in cases.items():
        response = get(app, path, token="wrong" if status == 401 else TOKEN)
        assert response.status == status, path
        payload = json.loads(response.body)
        validator = spec.response(operation, status) if operation else basic
        assert errors(validator, payload) == [], path
        assert errors(basic, payload) == [], path


def test_the_tolerated_quirks_are_real(raw_spec: dict[str, Any], app: GitHubApp) -> None:
    strict = Spec(raw_spec)
    commits = read_all(app, "/repos/acme/api/commits?per_page=100")
    nulls = [c for c in commits if c["author"] is None]
    assert nulls and errors(strict.component("commit"), nulls[0])
    pulls = read_all(app, "/repos/acme/api/pulls?state=all&per_page=100")
    orphan = [p for p in pulls if p["head"]["repo"] is None]
    assert orphan and errors(strict.component("pull-request-simple"), orphan[0])
    issues = read_all(app, "/repos/acme/api/issues?state=open&per_page=100")
    plain = [i for i in issues if i["state_reason"] is None]
    assert plain and errors(strict.component("issue"), plain[0])
    labelled = [p for p in pulls if any(label["description"] is None for label in p["labels"])]
    assert labelled and errors(strict.component("pull-request-simple"), labelled[0])
    remarks = read_all(app, "/repos/acme/api/pulls/comments?per_page=100")
    assert remarks and errors(strict.component("pull-request-review-comment"), remarks[0])
