"""GitHub's JSON shapes for the world's repositories, issues, pull requests and commits.

Shapes follow the OpenAPI subset's schemas (`repository`, `minimal-repository`, `full-repository`,
`issue`, `pull-request-simple`, `commit`, `simple-user`) and what the real API does where the spec
is wrong (`head.repo: null` for a deleted fork). Serialised items are cached by identity and
version, so paging through a large world costs little more than the bytes on the wire.
"""

import base64
import json
import threading
import time
from collections import OrderedDict
from typing import Any

from gofap_assets.sandbox.github import activity as act
from gofap_assets.sandbox.github import content
from gofap_assets.sandbox.github.generate import (
    USER_EMPTY,
    USER_GHOST,
    USER_NULL,
    USER_WEB_FLOW,
    Commit,
    Item,
    RepoMeta,
)
from gofap_assets.sandbox.github.world import GitHubWorld

WEB = "https://github.com"
_EMPTY: dict[str, Any] = {}


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def iso(epoch: int | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def node_id(prefix: str, number: int) -> str:
    return prefix + base64.urlsafe_b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


class Renderer:
    """Builds JSON for one world; `api` is the base URL the client called (for `url` fields)."""

    def __init__(self, world: GitHubWorld, *, cache_bytes: int = 128 << 20) -> None:
        self.world = world
        self._cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._cache_size = 0
        self._cache_limit = cache_bytes
        self._lock = threading.Lock()
        self._repositories: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._users: dict[tuple[str, int | str], dict[str, Any] | None] = {}

    # -- the serialised-item cache --------------------------------------------------------

    def _cached(self, key: tuple[Any, ...], build: Any) -> bytes:
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
                return data
        data = dumps(build())
        with self._lock:
            if key not in self._cache:
                self._cache[key] = data
                self._cache_size += len(data)
                while self._cache_size > self._cache_limit and self._cache:
                    self._cache_size -= len(self._cache.popitem(last=False)[1])
        return data

    def issue_json(self, api: str, repo: RepoMeta, number: int, version: int) -> bytes:
        key = ("issue", api, repo.index, repo.name_version, number, version)
        return self._cached(key, lambda: self.issue(api, repo, self.world.item(repo.index,
                                                                                 number)))

    def pull_json(self, api: str, repo: RepoMeta, number: int, version: int) -> bytes:
        key = ("pull", api, repo.index, repo.version, number, version)
        return self._cached(key, lambda: self.pull(api, repo, self.world.item(repo.index,
                                                                                number)))

    def commit_json(self, api: str, repo: RepoMeta, index: int) -> bytes:
        key = ("commit", api, repo.index, repo.name_version, index)
        return self._cached(key, lambda: self.commit(api, repo, self.world.commit(repo.index,
                                                                                    index)))

    # -- people ---------------------------------------------------------------------------

    def person(self, api: str, person: content.Person) -> dict[str, Any]:
        login, uid = person.login, person.id
        user = f"{api}/users/{login}"
        return {
            "login": login, "id": uid, "node_id": node_id("U_kgDO", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "", "url": user, "html_url": f"{WEB}/{login}",
            "followers_url": f"{user}/followers",
            "following_url": f"{user}/following{{/other_user}}",
            "gists_url": f"{user}/gists{{/gist_id}}",
            "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{user}/subscriptions",
            "organizations_url": f"{user}/orgs", "repos_url": f"{user}/repos",
            "events_url": f"{user}/events{{/privacy}}",
            "received_events_url": f"{user}/received_events",
            "type": person.type, "user_view_type": "public", "site_admin": False,
        }

    def user(self, api: str, who: int) -> dict[str, Any] | None:
        """A simple-user for a person index or one of the USER_* markers."""
        key = (api, who)
        cached = self._users.get(key, _EMPTY)
        if cached is not _EMPTY:
            return cached
        if who == USER_NULL:
            value: dict[str, Any] | None = None
        elif who == USER_EMPTY:
            value = {}
        elif who == USER_GHOST:
            value = self.person(api, content.GHOST)
        elif who == USER_WEB_FLOW:
            value = self.person(api, content.WEB_FLOW)
        else:
            value = self.person(api, self.world.people[who])
        self._users[key] = value
        return value

    def org_owner(self, api: str) -> dict[str, Any]:
        owner = self._users.get((api, "org"))
        if owner is None:
            org = self.world.organization
            owner = self.person(api, content.Person(org.login, org.id, org.name, "",
                                                    "Organization"))
            self._users[(api, "org")] = owner
        return owner

    # -- repositories ----------------------------------------------------------------------

    def repository(self, api: str, repo: RepoMeta, variant: str = "repository",
                   *, owner: dict[str, Any] | None = None, fork: bool = False) -> dict[str, Any]:
        """``minimal`` (org listings), ``repository`` (user listings, PR heads) or ``full``."""
        owner = owner or self.org_owner(api)
        full_name = f"{owner['login']}/{repo.name}"
        base = f"{api}/repos/{full_name}"
        html = f"{WEB}/{full_name}"
        data: dict[str, Any] = {
            "id": repo.id + (owner["id"] if fork else 0), "node_id": node_id("R_kgDO", repo.id),
            "name": repo.name, "full_name": full_name, "private": repo.private, "owner": owner,
            "html_url": html, "description": repo.description, "fork": fork, "url": base,
            "forks_url": f"{base}/forks", "keys_url": f"{base}/keys{{/key_id}}",
            "collaborators_url": f"{base}/collaborators{{/collaborator}}",
            "teams_url": f"{base}/teams", "hooks_url": f"{base}/hooks",
            "issue_events_url": f"{base}/issues/events{{/number}}",
            "events_url": f"{base}/events", "assignees_url": f"{base}/assignees{{/user}}",
            "branches_url": f"{base}/branches{{/branch}}", "tags_url": f"{base}/tags",
            "blobs_url": f"{base}/git/blobs{{/sha}}", "git_tags_url": f"{base}/git/tags{{/sha}}",
            "git_refs_url": f"{base}/git/refs{{/sha}}", "trees_url": f"{base}/git/trees{{/sha}}",
            "statuses_url": f"{base}/statuses/{{sha}}", "languages_url": f"{base}/languages",
            "stargazers_url": f"{base}/stargazers", "contributors_url": f"{base}/contributors",
            "subscribers_url": f"{base}/subscribers", "subscription_url": f"{base}/subscription",
            "commits_url": f"{base}/commits{{/sha}}",
            "git_commits_url": f"{base}/git/commits{{/sha}}",
            "comments_url": f"{base}/comments{{/number}}",
            "issue_comment_url": f"{base}/issues/comments{{/number}}",
            "contents_url": f"{base}/contents/{{+path}}",
            "compare_url": f"{base}/compare/{{base}}...{{head}}", "merges_url": f"{base}/merges",
            "archive_url": f"{base}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{base}/downloads", "issues_url": f"{base}/issues{{/number}}",
            "pulls_url": f"{base}/pulls{{/number}}",
            "milestones_url": f"{base}/milestones{{/number}}",
            "notifications_url": f"{base}/notifications{{?since,all,participating}}",
            "labels_url": f"{base}/labels{{/name}}", "releases_url": f"{base}/releases{{/id}}",
            "deployments_url": f"{base}/deployments",
            "created_at": iso(repo.created_at), "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at), "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git", "clone_url": f"{html}.git",
            "svn_url": html, "homepage": None, "size": repo.size,
            "stargazers_count": repo.stars, "watchers_count": repo.stars,
            "language": repo.language, "has_issues": repo.has_issues, "has_projects": True,
            "has_downloads": True, "has_wiki": not repo.private, "has_pages": False,
            "has_discussions": False, "forks_count": repo.forks, "mirror_url": None,
            "archived": repo.archived, "disabled": False, "open_issues_count": repo.open_issues,
            "license": None if repo.private else {
                "key": "mit", "name": "MIT License", "spdx_id": "MIT",
                "url": f"{api}/licenses/mit", "node_id": "MDc6TGljZW5zZTEz"},
            "allow_forking": True, "is_template": False, "web_commit_signoff_required": False,
            "topics": list(repo.topics), "visibility": "private" if repo.private else "public",
            "forks": repo.forks, "open_issues": repo.open_issues, "watchers": repo.stars,
            "default_branch": repo.default_branch,
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                            "pull": True},
        }
        if variant == "minimal":
            for name in ("mirror_url", "homepage", "license", "has_discussions"):
                data.pop(name)
        if variant == "full":
            data.update(temp_clone_token=None, allow_squash_merge=True,
                        allow_merge_commit=True, allow_rebase_merge=True,
                        allow_auto_merge=False, delete_branch_on_merge=True,
                        allow_update_branch=False, network_count=repo.forks,
                        subscribers_count=max(1, repo.stars // 10),
                        organization=self.org_owner(api),
                        custom_properties={})
        return data

    # -- issues and pull requests ----------------------------------------------------------

    def _labels(self, api: str, repo: RepoMeta, item: Item) -> list[dict[str, Any]]:
        labels = []
        for index in item.labels:
            name, color, description, default = content.LABELS[index]
            label_id = 200_000_000 + repo.index * 100 + index
            labels.append({"id": label_id, "node_id": node_id("LA_kwDO", label_id),
                           "url": f"{api}/repos/{repo.full_name}/labels/{name}", "name": name,
                           "color": color, "default": default, "description": description})
        return labels

    def _milestone(self, api: str, repo: RepoMeta, which: int | None) -> dict[str, Any] | None:
        if which is None:
            return None
        number, title, state = ((1, "v1.0", "open"), (2, "2024-Q4", "closed"))[which]
        milestone_id = 9_100_000 + repo.index * 10 + number
        url = f"{api}/repos/{repo.full_name}/milestones/{number}"
        return {
            "url": url, "html_url": f"{WEB}/{repo.full_name}/milestone/{number}",
            "labels_url": f"{url}/labels", "id": milestone_id,
            "node_id": node_id("MI_kwDO", milestone_id), "number": number, "state": state,
            "title": title, "description": None, "creator": self.user(api, 0),
            "open_issues": 4, "closed_issues": 8, "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "closed_at": iso(repo.updated_at) if state == "closed" else None, "due_on": None,
        }

    def _reactions(self, url: str, counts: tuple[int, ...]) -> dict[str, Any]:
        names = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
        return {"url": f"{url}/reactions", "total_count": sum(counts),
                **dict(zip(names, counts, strict=True))}

    def issue(self, api: str, repo: RepoMeta, item: Item) -> dict[str, Any]:
        """The issues listing's view: a pull request appears with its *issue* id."""
        base = f"{api}/repos/{repo.full_name}"
        url = f"{base}/issues/{item.number}"
        assignees = [self.user(api, who) for who in item.assignees]
        kind = "pull" if item.is_pr else "issues"
        data: dict[str, Any] = {
            "url": url, "repository_url": base, "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"{WEB}/{repo.full_name}/{kind}/{item.number}",
            "id": repo.issue_id(item.number),
            "node_id": node_id("I_kwDO", repo.issue_id(item.number)), "number": item.number,
            "title": item.title, "user": self.user(api, item.user),
            "labels": self._labels(api, repo, item), "state": item.state,
            "locked": item.locked, "assignee": assignees[0] if assignees else None,
            "assignees": assignees, "milestone": self._milestone(api, repo, item.milestone),
            "comments": item.comments, "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at), "closed_at": iso(item.closed_at),
            "author_association": item.author_association, "type": None,
            "active_lock_reason": "resolved" if item.locked else None,
        }
        if item.is_pr:
            pull = f"{base}/pulls/{item.number}"
            html = f"{WEB}/{repo.full_name}/pull/{item.number}"
            data["draft"] = item.draft
            data["pull_request"] = {"url": pull, "html_url": html, "diff_url": f"{html}.diff",
                                    "patch_url": f"{html}.patch",
                                    "merged_at": iso(item.merged_at)}
        data.update({
            "body": item.body, "reactions": self._reactions(url, item.reactions),
            "timeline_url": f"{url}/timeline", "performed_via_github_app": None,
            "state_reason": item.state_reason,
        })
        return data

    def _embedded_repository(self, api: str, repo: RepoMeta,
                             fork_owner: int | None) -> dict[str, Any]:
        """A pull request's base or head repository, shared by all its pull requests."""
        key = (api, repo.index, repo.version, fork_owner)
        data = self._repositories.get(key)
        if data is None:
            if len(self._repositories) > 4096:
                self._repositories.clear()
            owner = None if fork_owner is None else self.user(api, fork_owner)
            data = self.repository(api, repo, owner=owner, fork=fork_owner is not None)
            self._repositories[key] = data
        return data

    def pull(self, api: str, repo: RepoMeta, item: Item) -> dict[str, Any]:
        """The pulls listing's view (`pull-request-simple`), with the pull request's own id."""
        base = f"{api}/repos/{repo.full_name}"
        url = f"{base}/pulls/{item.number}"
        issue = f"{base}/issues/{item.number}"
        html = f"{WEB}/{repo.full_name}/pull/{item.number}"
        statuses = f"{base}/statuses/{item.head_sha}"
        assignees = [self.user(api, who) for who in item.assignees]
        author = self.user(api, item.user)
        this_repo = self._embedded_repository(api, repo, None)
        if item.head_kind == "branch":
            head_user, head_repo = self.org_owner(api), this_repo
        else:
            head_user = self.user(api, item.head_owner)
            assert head_user is not None
            head_repo = None if item.head_kind == "deleted-fork" else \
                self._embedded_repository(api, repo, item.head_owner)
        links = {"self": url, "html": html, "issue": issue, "comments": f"{issue}/comments",
                 "review_comments": f"{url}/comments",
                 "review_comment": f"{base}/pulls/comments{{/number}}",
                 "commits": f"{url}/commits", "statuses": statuses}
        return {
            "url": url, "id": repo.pr_id(item.number),
            "node_id": node_id("PR_kwDO", repo.pr_id(item.number)), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
            "number": item.number, "state": item.state, "locked": item.locked,
            "title": item.title, "user": author, "body": item.body,
            "created_at": iso(item.created_at), "updated_at": iso(item.updated_at),
            "closed_at": iso(item.closed_at), "merged_at": iso(item.merged_at),
            "merge_commit_sha": item.merge_commit_sha,
            "assignee": assignees[0] if assignees else None, "assignees": assignees,
            "requested_reviewers": [], "requested_teams": [],
            "labels": self._labels(api, repo, item),
            "milestone": self._milestone(api, repo, item.milestone), "draft": item.draft,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{base}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments", "statuses_url": statuses,
            "head": {"label": f"{head_user['login']}:{item.head_ref}", "ref": item.head_ref,
                     "sha": item.head_sha, "user": head_user, "repo": head_repo},
            "base": {"label": f"{repo.owner}:{repo.default_branch}",
                     "ref": repo.default_branch, "sha": item.base_sha,
                     "user": self.org_owner(api), "repo": this_repo},
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": item.author_association, "auto_merge": None,
            "active_lock_reason": "resolved" if item.locked else None,
        }

    # -- commits ---------------------------------------------------------------------------

    def commit(self, api: str, repo: RepoMeta, commit: Commit) -> dict[str, Any]:
        base = f"{api}/repos/{repo.full_name}"
        html = f"{WEB}/{repo.full_name}/commit"
        verification: dict[str, Any] = {"verified": commit.verified,
                                        "reason": "valid" if commit.verified else "unsigned",
                                        "signature": None, "payload": None,
                                        "verified_at": None}
        if commit.verified:
            verification.update(signature="-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQ\n"
                                          "-----END PGP SIGNATURE-----\n",
                                payload=f"tree {commit.tree_sha}\n",
                                verified_at=iso(commit.committer_date))
        return {
            "sha": commit.sha, "node_id": node_id("C_kwDO", int(commit.sha[:15], 16)),
            "commit": {
                "author": {"name": commit.author_name, "email": commit.author_email,
                           "date": iso(commit.author_date)},
                "committer": {"name": commit.committer_name, "email": commit.committer_email,
                              "date": iso(commit.committer_date)},
                "message": commit.message,
                "tree": {"sha": commit.tree_sha, "url": f"{base}/git/trees/{commit.tree_sha}"},
                "url": f"{base}/git/commits/{commit.sha}", "comment_count": 0,
                "verification": verification,
            },
            "url": f"{base}/commits/{commit.sha}", "html_url": f"{html}/{commit.sha}",
            "comments_url": f"{base}/commits/{commit.sha}/comments",
            "author": self.user(api, commit.author_user),
            "committer": self.user(api, commit.committer_user),
            "parents": [{"sha": parent, "url": f"{base}/commits/{parent}",
                         "html_url": f"{html}/{parent}"} for parent in commit.parents],
        }

    # -- comments, reviews, labels, milestones, releases -----------------------------------

    def issue_comment(self, api: str, repo: RepoMeta, comment: act.Comment,
                      is_pr: bool) -> dict[str, Any]:
        """`issue-comment`: on a pull request too, named by its issue URL."""
        base = f"{api}/repos/{repo.full_name}"
        kind = "pull" if is_pr else "issues"
        return {
            "id": comment.id, "node_id": node_id("IC_kwDO", comment.id),
            "url": f"{base}/issues/comments/{comment.id}",
            "html_url": f"{WEB}/{repo.full_name}/{kind}/{comment.number}"
                        f"#issuecomment-{comment.id}",
            "body": comment.body, "user": self.user(api, comment.user),
            "created_at": iso(comment.created_at), "updated_at": iso(comment.updated_at),
            "issue_url": f"{base}/issues/{comment.number}",
            "author_association": "MEMBER", "performed_via_github_app": None,
            "reactions": self._reactions(f"{base}/issues/comments/{comment.id}",
                                         (0,) * 8),
        }

    def review_comment(self, api: str, repo: RepoMeta, comment: act.Comment,
                       head_sha: str) -> dict[str, Any]:
        """`pull-request-review-comment`, linked to its review."""
        base = f"{api}/repos/{repo.full_name}"
        url = f"{base}/pulls/comments/{comment.id}"
        html = f"{WEB}/{repo.full_name}/pull/{comment.number}#discussion_r{comment.id}"
        pull = f"{base}/pulls/{comment.number}"
        return {
            "url": url, "pull_request_review_id": comment.review_id, "id": comment.id,
            "node_id": node_id("PRRC_kwDO", comment.id),
            "diff_hunk": "@@ -1,3 +1,4 @@\n context\n-old\n+new", "path": comment.path,
            "position": 3, "original_position": 3, "commit_id": head_sha,
            "original_commit_id": head_sha, "user": self.user(api, comment.user),
            "body": comment.body, "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at), "html_url": html,
            "pull_request_url": pull, "author_association": "MEMBER",
            "_links": {"self": {"href": url}, "html": {"href": html},
                       "pull_request": {"href": pull}},
            "start_line": None, "original_start_line": None, "start_side": None,
            "line": 3, "original_line": 3, "side": "RIGHT", "subject_type": "line",
            "reactions": self._reactions(url, (0,) * 8),
        }

    def review(self, api: str, repo: RepoMeta, review: act.Review) -> dict[str, Any]:
        """`pull-request-review`."""
        pull = f"{api}/repos/{repo.full_name}/pulls/{review.number}"
        html = f"{WEB}/{repo.full_name}/pull/{review.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": node_id("PRR_kwDO", review.id),
            "user": self.user(api, review.user), "body": review.body, "state": review.state,
            "html_url": html, "pull_request_url": pull,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull}},
            "submitted_at": iso(review.submitted_at), "commit_id": review.commit_id,
            "author_association": "MEMBER",
        }

    def label(self, api: str, repo: RepoMeta, label: act.Label) -> dict[str, Any]:
        return {"id": label.id, "node_id": node_id("LA_kwDO", label.id),
                "url": f"{api}/repos/{repo.full_name}/labels/{label.name}",
                "name": label.name, "description": label.description, "color": label.color,
                "default": label.default}

    def milestone(self, api: str, repo: RepoMeta, milestone: act.Milestone) -> dict[str, Any]:
        url = f"{api}/repos/{repo.full_name}/milestones/{milestone.number}"
        return {
            "url": url, "html_url": f"{WEB}/{repo.full_name}/milestone/{milestone.number}",
            "labels_url": f"{url}/labels", "id": milestone.id,
            "node_id": node_id("MI_kwDO", milestone.id), "number": milestone.number,
            "state": milestone.state, "title": milestone.title,
            "description": milestone.description, "creator": self.user(api, 0),
            "open_issues": 4, "closed_issues": 8, "created_at": iso(milestone.created_at),
            "updated_at": iso(milestone.updated_at), "closed_at": iso(milestone.closed_at),
            "due_on": iso(milestone.due_on),
        }

    def release(self, api: str, repo: RepoMeta, release: act.Release) -> dict[str, Any]:
        base = f"{api}/repos/{repo.full_name}"
        url = f"{base}/releases/{release.id}"
        author = self.user(api, release.author)
        return {
            "url": url, "html_url": f"{WEB}/{repo.full_name}/releases/tag/{release.tag}",
            "assets_url": f"{url}/assets",
            "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/"
                          f"{release.id}/assets{{?name,label}}",
            "tarball_url": f"{base}/tarball/{release.tag}",
            "zipball_url": f"{base}/zipball/{release.tag}", "id": release.id,
            "node_id": node_id("RE_kwDO", release.id), "tag_name": release.tag,
            "target_commitish": repo.default_branch, "name": release.name,
            "body": release.body, "draft": release.draft, "prerelease": release.prerelease,
            "immutable": False, "created_at": iso(release.created_at),
            "published_at": iso(release.published_at),
            "updated_at": iso(release.published_at or release.created_at),
            "author": author if author else self.person(api, content.GHOST), "assets": [],
        }
