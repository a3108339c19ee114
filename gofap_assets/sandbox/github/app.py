"""The GitHub REST emulator: the endpoints the importer reads, with the real API's semantics.

Auth, per-token rate-limit budgets and headers, Link pagination (issues' links point at
`/repositories/{id}/...`, as GitHub's sometimes do, so clients must follow links rather than
rebuild URLs), ETag/304, filters and their validation, and the error statuses real repositories
produce: 301 renamed, 404 gone, 409 empty, 410 issues disabled, 403 blocked, 451 DMCA. Besides
issues, pull requests and commits: the repository-wide comment listings, each pull request's
reviews, labels, milestones and releases.
"""

import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import activity as act
from gofap_assets.sandbox.github.auth import JwtRejected, SandboxGitHubAppIdentity
from gofap_assets.sandbox.github.generate import BLOCKED, DMCA, EMPTY, VANISHED, RepoMeta, sha
from gofap_assets.sandbox.github.render import Renderer, dumps, iso, node_id
from gofap_assets.sandbox.github.world import GitHubWorld

DOCS = "https://docs.github.com/rest"
JSON_TYPE = "application/json; charset=utf-8"
DEFAULT_API_VERSION = "2022-11-28"
API_VERSIONS = frozenset({DEFAULT_API_VERSION, "2026-03-10"})
GIT_MIN = 86_400  # 1970-01-02: git treats earlier `since` values as "no limit" and misbehaves
GIT_MAX = 4_102_444_799  # 2099-12-31T23:59:59Z, the documented upper bound


class ApiError(Exception):
    """An error answer, GitHub-shaped: ``{"message", "documentation_url", "status"}``."""

    def __init__(self, status: int, message: str, *, docs: str = DOCS,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.response = Response(status, dumps({"message": message, **extra,
                                                "documentation_url": docs,
                                                "status": str(status)}),
                                 {"content-type": JSON_TYPE, **(headers or {})})


def _invalid(resource: str, field: str) -> ApiError:
    return ApiError(422, "Validation Failed", docs=f"{DOCS}/issues/issues#list-repository-issues",
                    errors=[{"resource": resource, "field": field, "code": "invalid"}])


class _Budget:
    """A token's primary rate limit: `limit` requests per window, reset at a fixed time."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.used = 0
        self.reset = math.ceil(time.time() + window)

        self.lowest = limit
        """The least `remaining` this budget ever reported: how close a client came to 0."""
        self.late = 0.0
        """Seconds the window rolls after the reset it announced (GitHub's clock behind ours)."""

    def roll(self) -> None:
        if time.time() >= self.reset + self.late:
            self.used, self.reset = 0, math.ceil(time.time() + self.window)

    def spend(self) -> None:
        self.used += 1
        self.lowest = min(self.lowest, self.remaining)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {"x-ratelimit-limit": str(self.limit),
                "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-used": str(min(self.used, self.limit)),
                "x-ratelimit-reset": str(self.reset), "x-ratelimit-resource": "core"}


class GitHubApp:
    """Serves a `GitHubWorld` through the sandbox seam (``handle``), for one valid token."""

    def __init__(self, world: GitHubWorld, token: str = "sandbox-github-token", *,
                 rate_limit: int = 1_000_000, rate_limit_window: float = 3600.0,
                 cache_bytes: int = 128 << 20, tokens: Sequence[str] = (),
                 app: SandboxGitHubAppIdentity | None = None,
                 rate_limits: Mapping[str, int] | None = None) -> None:
        """`tokens` are further valid personal tokens (a pool); `app` emulates a GitHub App
        whose installation tokens share one budget (`installation:<id>`); `rate_limits` gives
        a budget key (a token, or `installation:<id>`) its own limit."""
        self.world = world
        self.token = token
        self.tokens = frozenset((token, *tokens))
        self.app = app
        self.rate_limit = rate_limit
        self.rate_limits = dict(rate_limits or {})
        self.rate_limit_window = rate_limit_window
        self.renderer = Renderer(world, cache_bytes=cache_bytes)
        self._budgets: dict[str, _Budget] = {}
        self._lock = threading.Lock()
        self._request_ids = itertools.count(1)

    # -- the seam -------------------------------------------------------------------------

    def budget(self, key: str) -> _Budget:
        """The primary rate limit of a token, or of `installation:<id>`."""
        with self._lock:
            return self._budget(key)

    def reset_budgets(self, limits: Mapping[str, int] | None = None) -> None:
        """A new window for every credential, with `limits` (budget key -> requests) from now on
        when given: the next hour, as a benchmark or a test stages it."""
        with self._lock:
            if limits is not None:
                self.rate_limits = dict(limits)
            self._budgets.clear()

    def _budget(self, key: str) -> _Budget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = _Budget(self.rate_limits.get(key, self.rate_limit),
                                                  self.rate_limit_window)
        return budget

    def _credential(self, request: Request, segments: list[str]) -> str | Response:
        """The budget key of the request's credential, or the 401 GitHub would answer."""
        token = _token(request.headers.get("authorization", ""))
        if token is None:
            return ApiError(401, "Requires authentication").response
        if token in self.tokens:
            return token
        if self.app is not None:
            try:
                installation = self.app.installation_of(token)
            except JwtRejected:
                return ApiError(401, "Bad credentials").response
            if installation is not None:
                return f"installation:{installation}"
        return ApiError(401, "Bad credentials").response

    def _app_endpoint(self, request: Request, segments: list[str]) -> Response | None:
        """The JWT-authenticated endpoints (`/app...`, an org's installation), or None."""
        app_route = segments[:1] == ["app"] or (len(segments) == 3 and segments[0] == "orgs"
                                                and segments[2] == "installation")
        if not app_route:
            return None
        if self.app is None:
            return ApiError(401, "A JSON web token could not be decoded").response
        token = _token(request.headers.get("authorization", "")) or ""
        try:
            self.app.verify(token)
        except JwtRejected as exc:
            return ApiError(401, str(exc)).response
        api, app = request.base_url, self.app
        org_id = self.world.organization.id
        match (request.method, segments):
            case ("GET", ["app"]):
                return _json(app.app_json(api))
            case ("GET", ["app", "installations"]):
                return _json([app.installation_json(api, org_id)] if app.installed else [])
            case ("GET", ["orgs", org, "installation"]):
                if not app.installed or org.lower() != app.account.lower():
                    return ApiError(404, "Not Found", docs=f"{DOCS}/apps/apps#get-an-"
                                    "organization-installation-for-the-authenticated-app").response
                return _json(app.installation_json(api, org_id))
            case ("POST", ["app", "installations", installation, "access_tokens"]):
                if not app.installed or installation != str(app.installation_id):
                    return ApiError(404, "Not Found").response
                return Response(201, dumps(app.token_json(app.mint())),
                                {"content-type": JSON_TYPE})
        return ApiError(404, "Not Found").response

    def handle(self, request: Request) -> Response:
        segments = [unquote(s) for s in request.path.strip("/").split("/") if s]
        app_answer = self._app_endpoint(request, segments)
        if app_answer is not None:
            return app_answer
        credential = self._credential(request, segments)
        if isinstance(credential, Response):
            return credential
        token = credential
        version = request.headers.get("x-github-api-version", DEFAULT_API_VERSION)
        if version not in API_VERSIONS:
            return ApiError(400, f"Invalid API version provided: {version}").response
        with self._lock:
            budget = self._budget(token)
            budget.roll()
            exhausted = segments != ["rate_limit"] and budget.remaining == 0
            limit_headers = budget.headers()
        if exhausted:
            return self._primary_limit(budget.reset, limit_headers)
        try:
            if request.method not in ("GET", "HEAD"):
                raise ApiError(404, "Not Found")
            if segments == ["installation", "repositories"]:
                response = self._installation_repositories(request, token)
            elif segments == ["rate_limit"]:
                response = _json(self._rate_limit_overview(budget))
            else:
                response = self._route(request, segments)
        except ApiError as error:
            response = error.response
        if response.status == 200:
            etag = f'W/"{hashlib.sha1(response.body).hexdigest()}"'
            response.headers["etag"] = etag
            response.headers["cache-control"] = "private, max-age=60, s-maxage=60"
            if _matches(request.headers.get("if-none-match"), etag):
                response = Response(304, b"", {"etag": etag,
                                               "cache-control": response.headers["cache-control"]})
        with self._lock:
            if response.status != 304 and segments != ["rate_limit"]:
                budget.spend()  # conditional hits and /rate_limit are free, as on GitHub
            response.headers.update(budget.headers())
        response.headers.update({
            "x-github-api-version-selected": version,
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"SANDBOX:{next(self._request_ids):08X}",
            "x-oauth-scopes": "read:org, repo", "x-accepted-oauth-scopes": "repo",
            "vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding",
        })
        return response

    def rate_limited(self, request: Request, kind: str, seconds: float) -> Response | None:
        """GitHub's two rate-limit answers, for the server's fault injection."""
        with self._lock:
            headers = self._budget(self.token).headers()
        if kind == "secondary":
            headers["retry-after"] = f"{seconds:g}"
            return ApiError(
                403, "You have exceeded a secondary rate limit. Please wait a few minutes "
                     "before you try again. If you reach out to GitHub Support for help, "
                     "please include the request ID SANDBOX.",
                docs=f"{DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                headers=headers).response
        if kind == "primary":
            return self._primary_limit(math.ceil(time.time() + seconds), headers)
        return None

    def _primary_limit(self, reset: int, headers: dict[str, str]) -> Response:
        headers = {**headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset),
                   "x-ratelimit-used": headers["x-ratelimit-limit"]}
        return ApiError(
            403, f"API rate limit exceeded for user ID {self.world.viewer.id}. If you reach out "
                 "to GitHub Support for help, please include the request ID SANDBOX and "
                 f"timestamp {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC.",
            docs=f"{DOCS}/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
            headers=headers).response

    # -- routing ----------------------------------------------------------------------------

    def _route(self, request: Request, segments: list[str]) -> Response:
        match segments:
            case ["user"]:
                return _json(self._viewer(request.base_url))
            case ["user", "repos"]:
                return self._user_repos(request)
            case ["orgs", org]:
                self._org_or_404(org)
                return _json(self._organization(request.base_url))
            case ["orgs", org, "repos"]:
                self._org_or_404(org)
                return self._org_repos(request)
            case ["repos", owner, name, *rest] if len(rest) <= 3:
                return self._repo_resource(request, self._repo_by_name(request, owner, name,
                                                                       rest), rest)
            case ["repositories", repo_id, *rest] if len(rest) <= 3 and repo_id.isdigit():
                repo = self.world.repository(int(repo_id))
                if repo is None:
                    raise ApiError(404, "Not Found")
                return self._repo_resource(request, repo, rest)
        raise ApiError(404, "Not Found")

    def _repo_by_name(self, request: Request, owner: str, name: str,
                      rest: list[str]) -> RepoMeta:
        found = self.world.lookup(owner, name)
        if found is None:
            raise ApiError(404, "Not Found",
                           docs=f"{DOCS}/repos/repos#get-a-repository")
        repo, moved = found
        if moved:
            query = urlencode([(k, v) for k, vs in request.query.items() for v in vs])
            location = (f"{request.base_url}/repositories/{repo.id}"
                        + "".join(f"/{part}" for part in rest) + (f"?{query}" if query else ""))
            raise ApiError(301, "Moved Permanently", url=location,
                           headers={"location": location})
        return repo

    def _repo_resource(self, request: Request, repo: RepoMeta, rest: list[str]) -> Response:
        if repo.kind == DMCA:
            raise ApiError(451, "Repository access blocked", block={
                "reason": "dmca", "created_at": iso(repo.created_at + 86_400),
                "html_url": "https://github.com/github/dmca/blob/master/2025/01/sandbox.md"})
        if repo.kind == BLOCKED:
            raise ApiError(403, "Repository access blocked", block={
                "reason": "tos", "created_at": iso(repo.created_at + 86_400), "html_url": None})
        if repo.kind == VANISHED:
            raise ApiError(404, "Not Found")
        match rest:
            case []:
                return _json(self.renderer.repository(request.base_url, repo, "full"))
            case ["issues"]:
                return self._issues(request, repo)
            case ["pulls"]:
                return self._pulls(request, repo)
            case ["commits"]:
                return self._commits(request, repo)
            case ["issues", "comments"]:
                return self._issue_comments(request, repo)
            case ["pulls", "comments"]:
                return self._review_comments(request, repo)
            case ["pulls", number, "reviews"] if number.isdigit():
                return self._reviews(request, repo, int(number))
            case ["labels"]:
                return self._labels(request, repo)
            case ["milestones"]:
                return self._milestones(request, repo)
            case ["releases"]:
                return self._releases(request, repo)
        raise ApiError(404, "Not Found")

    # -- listings ---------------------------------------------------------------------------

    def _issues(self, request: Request, repo: RepoMeta) -> Response:
        if not repo.has_issues:
            raise ApiError(410, "Issues are disabled for this repo",
                           docs="https://docs.github.com/v3/issues/")
        state = _choice(request, "state", ("open", "closed", "all"), "open", "Issue")
        sort = _choice(request, "sort", ("created", "updated", "comments"), "created", "Issue")
        direction = _choice(request, "direction", ("asc", "desc"), "desc", "Issue")
        since = _timestamp(request, "since", "Issue", ceil=True)
        page, per_page = _paging(request)
        total, items = self.world.issue_page(repo, pulls=False, state=state, sort=sort,
                                             direction=direction, since=since,
                                             start=(page - 1) * per_page, stop=page * per_page)
        api = request.base_url
        body = _array(self.renderer.issue_json(api, repo, *ref) for ref in items)
        return _paged(request, body, total, page, per_page, f"/repositories/{repo.id}/issues")

    def _pulls(self, request: Request, repo: RepoMeta) -> Response:
        state = _choice(request, "state", ("open", "closed", "all"), "open", "PullRequest")
        sort = _choice(request, "sort", ("created", "updated", "popularity", "long-running"),
                       "created", "PullRequest")
        direction = _choice(request, "direction", ("asc", "desc"),
                            "desc" if sort == "created" else "asc", "PullRequest")
        page, per_page = _paging(request)
        base = _param(request, "base")
        if base and base != repo.default_branch:
            total, items = 0, []
        else:
            total, items = self.world.issue_page(
                repo, pulls=True, state=state, sort=sort, direction=direction, since=None,
                start=(page - 1) * per_page, stop=page * per_page)
        api = request.base_url
        body = _array(self.renderer.pull_json(api, repo, *ref) for ref in items)
        return _paged(request, body, total, page, per_page, request.path)

    def _commits(self, request: Request, repo: RepoMeta) -> Response:
        if repo.kind == EMPTY or repo.commits == 0:
            raise ApiError(409, "Git Repository is empty.",
                           docs=f"{DOCS}/commits/commits#list-commits")
        since = _timestamp(request, "since", "Commit", ceil=True)
        until = _timestamp(request, "until", "Commit", ceil=False)
        page, per_page = _paging(request)
        out_of_range = any(t is not None and not GIT_MIN <= t <= GIT_MAX for t in (since, until))
        if out_of_range:  # the docs warn of "unexpected results"; git returns nothing
            total, commits = 0, []
        else:
            total, commits = self.world.commit_page(repo, since=since, until=until,
                                                    start=(page - 1) * per_page,
                                                    stop=page * per_page)
        api = request.base_url
        body = _array(self.renderer.commit_json(api, repo, index) for index in commits)
        return _paged(request, body, total, page, per_page, request.path)

    def _comment_listing(self, request: Request, comments: list[act.Comment],
                         resource: str, sorts: Sequence[str]) -> tuple[list[act.Comment], int,
                                                                        int, int]:
        """The page of a repository-wide comment listing: `sort` (else creation order),
        `direction` (only with `sort`), `since` (updated at or after)."""
        sort = _choice(request, "sort", sorts, "", resource)
        direction = _choice(request, "direction", ("asc", "desc"), "", resource)
        since = _timestamp(request, "since", resource, ceil=True)
        live = [c for c in comments if since is None or c.updated_at >= since]
        if sort == "updated":
            live.sort(key=lambda c: (c.updated_at, c.id), reverse=direction != "asc")
        elif sort:
            live.sort(key=lambda c: (c.created_at, c.id), reverse=direction == "desc")
        else:
            live.sort(key=lambda c: c.id)
        page, per_page = _paging(request)
        return live[(page - 1) * per_page: page * per_page], len(live), page, per_page

    def _issue_comments(self, request: Request, repo: RepoMeta) -> Response:
        if not repo.has_issues:
            raise ApiError(410, "Issues are disabled for this repo",
                           docs="https://docs.github.com/v3/issues/")
        chosen, total, page, per_page = self._comment_listing(
            request, self.world.activity(repo, "comments"), "IssueComment",
            ("created", "updated"))
        api = request.base_url
        body = _array(dumps(self.renderer.issue_comment(
            api, repo, c, self.world.is_pull_request(repo, c.number))) for c in chosen)
        return _paged(request, body, total, page, per_page, request.path)

    def _review_comments(self, request: Request, repo: RepoMeta) -> Response:
        chosen, total, page, per_page = self._comment_listing(
            request, self.world.activity(repo, "review_comments"), "PullRequestReviewComment",
            ("created", "updated", "created_at"))
        api = request.base_url
        body = _array(dumps(self.renderer.review_comment(
            api, repo, c, sha(self.world.seed, repo.id, c.number, "head"))) for c in chosen)
        return _paged(request, body, total, page, per_page, request.path)

    def _reviews(self, request: Request, repo: RepoMeta, number: int) -> Response:
        if not self.world.is_pull_request(repo, number):
            raise ApiError(404, "Not Found", docs=f"{DOCS}/pulls/reviews#list-reviews-for-a-"
                                                  "pull-request")
        reviews = sorted(self.world.activity(repo, "reviews", number=number),
                         key=lambda r: (r.submitted_at, r.id))
        page, per_page = _paging(request)
        api = request.base_url
        body = _array(dumps(self.renderer.review(api, repo, r))
                      for r in reviews[(page - 1) * per_page: page * per_page])
        return _paged(request, body, len(reviews), page, per_page, request.path)

    def _labels(self, request: Request, repo: RepoMeta) -> Response:
        labels = self.world.activity(repo, "labels")
        page, per_page = _paging(request)
        api = request.base_url
        body = _array(dumps(self.renderer.label(api, repo, lb))
                      for lb in labels[(page - 1) * per_page: page * per_page])
        return _paged(request, body, len(labels), page, per_page, request.path)

    def _milestones(self, request: Request, repo: RepoMeta) -> Response:
        state = _choice(request, "state", ("open", "closed", "all"), "open", "Milestone")
        sort = _choice(request, "sort", ("due_on", "completeness"), "due_on", "Milestone")
        direction = _choice(request, "direction", ("asc", "desc"), "asc", "Milestone")
        milestones = [m for m in self.world.activity(repo, "milestones")
                      if state in ("all", m.state)]
        if sort == "due_on":
            milestones.sort(key=lambda m: (m.due_on is None, m.due_on or 0, m.number))
        else:
            milestones.sort(key=lambda m: m.number)
        if direction == "desc":
            milestones.reverse()
        page, per_page = _paging(request)
        api = request.base_url
        body = _array(dumps(self.renderer.milestone(api, repo, m))
                      for m in milestones[(page - 1) * per_page: page * per_page])
        return _paged(request, body, len(milestones), page, per_page, request.path)

    def _releases(self, request: Request, repo: RepoMeta) -> Response:
        """Newest first, drafts included: the sandbox's credential has push access."""
        releases = sorted(self.world.activity(repo, "releases"),
                          key=lambda r: (r.created_at, r.id), reverse=True)
        page, per_page = _paging(request)
        api = request.base_url
        body = _array(dumps(self.renderer.release(api, repo, r))
                      for r in releases[(page - 1) * per_page: page * per_page])
        return _paged(request, body, len(releases), page, per_page, request.path)

    def _org_repos(self, request: Request) -> Response:
        kind = _choice(request, "type", ("all", "public", "private", "forks", "sources",
                                         "member"), "all", "Repository")
        repos = [r for r in self.world.repositories()
                 if kind in ("all", "sources", "member")
                 or (kind == "public" and not r.private) or (kind == "private" and r.private)]
        return self._repo_listing(request, repos, "created", "minimal")

    def _user_repos(self, request: Request) -> Response:
        kind = _param(request, "type")
        if kind and (_param(request, "visibility") or _param(request, "affiliation")):
            raise ApiError(422, "If you specify visibility or affiliation, you cannot specify "
                                "type.", docs=f"{DOCS}/repos/repos#list-repositories-for-the-"
                                               "authenticated-user")
        kind = _choice(request, "type", ("all", "owner", "public", "private", "member"), "all",
                       "Repository")
        visibility = _choice(request, "visibility", ("all", "public", "private"), "all",
                             "Repository")
        affiliation = set((_param(request, "affiliation")
                           or "owner,collaborator,organization_member").split(","))
        if not affiliation <= {"owner", "collaborator", "organization_member"}:
            raise _invalid("Repository", "affiliation")
        since = _timestamp(request, "since", "Repository", ceil=True)
        before = _timestamp(request, "before", "Repository", ceil=False)
        # The viewer owns nothing; every repository comes through organization membership.
        member = "organization_member" in affiliation and kind != "owner"
        repos = [r for r in self.world.repositories() if member
                 and (visibility == "all" or (visibility == "private") == r.private)
                 and (kind not in ("public", "private") or (kind == "private") == r.private)
                 and (since is None or r.updated_at >= since)
                 and (before is None or r.updated_at <= before)]
        return self._repo_listing(request, repos, "full_name", "repository")

    def _repo_listing(self, request: Request, repos: list[RepoMeta], default_sort: str,
                      variant: str) -> Response:
        sort = _choice(request, "sort", ("created", "updated", "pushed", "full_name"),
                       default_sort, "Repository")
        direction = _choice(request, "direction", ("asc", "desc"),
                            "asc" if sort == "full_name" else "desc", "Repository")
        keys: dict[str, Callable[[RepoMeta], Any]] = {
            "created": lambda r: (r.created_at, r.id), "updated": lambda r: (r.updated_at, r.id),
            "pushed": lambda r: (r.pushed_at or 0, r.id),
            "full_name": lambda r: (r.full_name.lower(), r.id)}
        repos.sort(key=keys[sort], reverse=direction == "desc")
        page, per_page = _paging(request)
        chosen = repos[(page - 1) * per_page: page * per_page]
        api = request.base_url
        body = _array(dumps(self.renderer.repository(api, r, variant)) for r in chosen)
        return _paged(request, body, len(repos), page, per_page, request.path)

    # -- single objects -----------------------------------------------------------------------

    def _org_or_404(self, org: str) -> None:
        if org.lower() != self.world.org.lower():
            raise ApiError(404, "Not Found", docs=f"{DOCS}/orgs/orgs#get-an-organization")

    def _viewer(self, api: str) -> dict[str, Any]:
        viewer, created = self.world.viewer, self.world.organization.created_at
        repos = self.world.repositories()
        return {**self.renderer.person(api, viewer), "user_view_type": "private",
                "name": viewer.name, "company": "@" + self.world.org, "blog": "",
                "location": None, "email": viewer.email, "notification_email": viewer.email,
                "hireable": None, "bio": None, "twitter_username": None, "public_repos": 0,
                "public_gists": 0, "followers": 0, "following": 0,
                "created_at": iso(created), "updated_at": iso(self.world.now),
                "private_gists": 0, "total_private_repos": sum(r.private for r in repos),
                "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
                "two_factor_authentication": True,
                "plan": {"name": "pro", "space": 976562499, "collaborators": 0,
                         "private_repos": 9999}}

    def _organization(self, api: str) -> dict[str, Any]:
        org = self.world.organization
        base = f"{api}/orgs/{org.login}"
        repos = self.world.repositories()
        private = sum(r.private for r in repos)
        return {
            "login": org.login, "id": org.id, "node_id": node_id("O_kgDO", org.id),
            "url": base, "repos_url": f"{base}/repos", "events_url": f"{base}/events",
            "hooks_url": f"{base}/hooks", "issues_url": f"{base}/issues",
            "members_url": f"{base}/members{{/member}}",
            "public_members_url": f"{base}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
            "description": "Engineering at Acme — ledger, payroll and reporting",
            "name": org.name, "company": org.name, "blog": "https://acme.example",
            "location": "Zürich", "email": f"opensource@{org.login}.example",
            "twitter_username": None,
            "is_verified": False, "has_organization_projects": True,
            "has_repository_projects": True, "public_repos": len(repos) - private,
            "public_gists": 0, "followers": 12, "following": 0,
            "html_url": f"https://github.com/{org.login}", "type": "Organization",
            "total_private_repos": private, "owned_private_repos": private,
            "created_at": iso(org.created_at), "updated_at": iso(self.world.now),
            "archived_at": None,
        }

    def _installation_repositories(self, request: Request, credential: str) -> Response:
        if not credential.startswith("installation:"):
            raise ApiError(403, "You must authenticate with an installation access token in "
                           "order to list repositories for an installation.")
        page, per_page = _paging(request)
        repos = sorted(self.world.repositories(), key=lambda r: (r.full_name.lower(), r.id))
        chosen = repos[(page - 1) * per_page: page * per_page]
        api = request.base_url
        body = (b'{"total_count":' + str(len(repos)).encode() + b',"repository_selection":'
                b'"all","repositories":'
                + _array(dumps(self.renderer.repository(api, r, "repository")) for r in chosen)
                + b"}")
        return _paged(request, body, len(repos), page, per_page, request.path)

    def _rate_limit_overview(self, budget: _Budget) -> dict[str, Any]:
        with self._lock:
            core = {"limit": budget.limit, "used": min(budget.used, budget.limit),
                    "remaining": budget.remaining, "reset": budget.reset, "resource": "core"}
        reset = math.ceil(time.time() + 60)
        other = {name: {"limit": limit, "used": 0, "remaining": limit, "reset": reset,
                        "resource": name}
                 for name, limit in (("search", 30), ("graphql", 5000), ("code_search", 10),
                                     ("integration_manifest", 5000))}
        return {"resources": {"core": core, **other}, "rate": core}


# -- helpers -------------------------------------------------------------------------------


def _token(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return "" if header else None


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or opaque in tags


def _param(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[-1] if values else None


def _choice(request: Request, name: str, allowed: Sequence[str], default: str,
            resource: str) -> str:
    value = _param(request, name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _invalid(resource, name)
    return value


def _timestamp(request: Request, name: str, resource: str, *, ceil: bool) -> int | None:
    """An ISO 8601 query parameter as epoch seconds (naive means UTC); 422 if unparseable."""
    value = _param(request, name)
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(resource, name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    return math.ceil(seconds) if ceil else math.floor(seconds)


def _paging(request: Request) -> tuple[int, int]:
    """`page` from 1 and `per_page` 1..100 (default 30); junk falls back to the defaults."""
    def number(name: str, default: int) -> int:
        value = _param(request, name) or ""
        return int(value) if value.isdigit() and int(value) > 0 else default

    return number("page", 1), min(number("per_page", 30), 100)


def _array(parts: Any) -> bytes:
    return b"[" + b",".join(parts) + b"]"


def _json(value: Any) -> Response:
    return Response(200, dumps(value), {"content-type": JSON_TYPE})


def _paged(request: Request, body: bytes, total: int, page: int, per_page: int,
           path: str) -> Response:
    """A listing page with GitHub's Link header (omitted when everything fits on one page)."""
    headers = {"content-type": JSON_TYPE}
    last = max(1, math.ceil(total / per_page))
    if last > 1 or page > 1:
        kept = [(k, v) for k, vs in request.query.items() if k not in ("page", "per_page")
                for v in vs]
        base = f"{request.base_url}{path}"

        def url(number: int) -> str:
            return f"{base}?{urlencode([*kept, ('per_page', per_page), ('page', number)])}"

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        headers["link"] = ", ".join(links)
    return Response(200, body, headers)

