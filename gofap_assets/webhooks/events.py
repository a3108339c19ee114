"""What each delivery means for the warehouse: which assets of which partition it makes stale,
and which row it deletes. Names follow SPEC.md, so an event about an asset this code location
does not define yet is recognised here and ignored, with that reason, by the processing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GITHUB_CHANGES: Mapping[str, tuple[str, ...]] = {
    "issues": ("github_issues",),
    # A comment or review also changes its issue or pull request (`comments`, `updated_at`;
    # the reviews sync follows the pull requests' `updated_at`).
    "issue_comment": ("github_issue_comments", "github_issues"),
    "pull_request": ("github_pull_requests",),
    "pull_request_review": ("github_pull_request_reviews", "github_pull_requests"),
    "pull_request_review_comment": ("github_review_comments", "github_pull_requests"),
    "label": ("github_labels",),
    "milestone": ("github_milestones",),
    "release": ("github_releases",),
    "push": ("github_commits",),
    "repository": ("github_repositories",),
}
"""GitHub event -> the assets it makes stale (per repository, unless the asset is a listing):
its own entity's asset first, then the ones it changes in passing."""

GITHUB_DELETIONS: Mapping[str, tuple[str, str]] = {
    "issues": ("issue", "issue"),
    "issue_comment": ("comment", "issue_comment"),
    "pull_request_review_comment": ("comment", "review_comment"),
    "label": ("label", "label"),
    "milestone": ("milestone", "milestone"),
    "release": ("release", "release"),
    "repository": ("repository", "repository"),
}
"""GitHub event whose `deleted` action removes an object -> (payload key, data_type)."""

GITHUB_CHILD_TYPES = ("issue", "pull_request", "commit", "issue_comment", "pull_request_review",
                      "review_comment", "label", "milestone", "release")
"""Everything a repository holds, marked with it when it is deleted."""

LINEAR_TYPES: Mapping[str, tuple[str, str]] = {
    "Issue": ("linear_issues", "issue"),
    "Comment": ("linear_comments", "comment"),
    "Cycle": ("linear_cycles", "cycle"),
    "WorkflowState": ("linear_workflow_states", "workflow_state"),
    "IssueLabel": ("linear_labels", "label"),
    "Project": ("linear_projects", "project"),
    "Team": ("linear_teams", "team"),
    "User": ("linear_users", "user"),
}
"""Linear payload `type` -> (the asset it makes stale, the data_type `remove` deletes)."""


@dataclass(frozen=True)
class Refresh:
    """Re-read these assets incrementally, for this partition (None: resolve it, or the
    assets are listings)."""

    assets: tuple[str, ...]
    partition_key: str | None = None
    every_partitioned: bool = False
    """Every asset partitioned by the service's partitions (a renamed repository's items)."""


@dataclass(frozen=True)
class Delete:
    """Mark one row deleted, as a full sync's reconciliation would."""

    data_type: str
    external_id: str
    parent_key: str | None = None
    """Only while it is still under this parent (a moved item is left alone)."""
    children: tuple[str, ...] = ()
    """Data types whose rows go with it (a deleted repository's items)..."""
    children_prefix: str = ""
    """...among the parents under this prefix (the repository's owner), as a full sync does."""


@dataclass
class Meaning:
    actions: list[Refresh | Delete] = field(default_factory=list)
    ignored: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id(value: Any) -> str | None:
    """A GitHub numeric id as text (the warehouse's `external_id`), or a Linear UUID."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return _text(value)


def receipt_outcome(service: str, event: str) -> str | None:
    """The outcome known on receipt: `ignored: ...` for what we never import, else None."""
    if service == "github":
        if event == "ping":
            return "ignored: ping (the webhook is set up)"
        if event not in GITHUB_CHANGES:
            return f"ignored: GitHub event {event!r} is not imported"
    elif event not in LINEAR_TYPES:
        return f"ignored: Linear type {event!r} is not imported"
    return None


def github_partition(payload: Mapping[str, Any]) -> str | None:
    return _text(_dict(payload.get("repository")).get("full_name"))


def linear_event(payload: Mapping[str, Any], header: str | None) -> str:
    return _text(payload.get("type")) or header or "unknown"


def linear_partition(payload: Mapping[str, Any]) -> str | None:
    """The team key the payload names (a Team's own key), if it names one."""
    data = _dict(payload.get("data"))
    if payload.get("type") == "Team":
        return _text(data.get("key"))
    for holder in (data, _dict(data.get("issue"))):
        key = _text(_dict(holder.get("team")).get("key"))
        if key:
            return key
    return None


def github_meaning(event: str, payload: Mapping[str, Any]) -> Meaning:
    action = _text(payload.get("action"))
    repo = github_partition(payload)
    meaning = Meaning()
    deletion = GITHUB_DELETIONS.get(event)
    if deletion is not None and action == "deleted":
        key, data_type = deletion
        external_id = _id(_dict(payload.get(key)).get("id"))
        if external_id is None:
            meaning.ignored = f"ignored: {event}.deleted without the {key}'s id"
        elif event == "repository":
            owner = (repo or "").partition("/")[0]
            meaning.actions.append(Delete(data_type, external_id, children=GITHUB_CHILD_TYPES,
                                          children_prefix=f"{owner}/" if owner else ""))
        else:
            meaning.actions.append(Delete(data_type, external_id, parent_key=repo))
        return meaning
    if event == "push":
        branch = _text(_dict(payload.get("repository")).get("default_branch"))
        if payload.get("ref") != f"refs/heads/{branch}":
            meaning.ignored = (f"ignored: push to {payload.get('ref')!r}, not the default "
                               f"branch {branch!r}")
            return meaning
    if event == "repository":
        meaning.actions.append(Refresh(GITHUB_CHANGES["repository"]))
        if action in {"renamed", "transferred"} and repo:
            meaning.actions.append(Refresh((), repo, every_partitioned=True))
        return meaning
    if event == "issues" and action == "transferred":
        changes = _dict(payload.get("changes"))
        old = _id(_dict(payload.get("issue")).get("id"))
        new = _dict(changes.get("new_issue"))
        target = github_partition({"repository": changes.get("new_repository")})
        if old and old != _id(new.get("id")):
            meaning.actions.append(Delete("issue", old, parent_key=repo))
        if target:
            meaning.actions.append(Refresh(GITHUB_CHANGES["issues"], target))
        return meaning
    if repo is None:
        meaning.ignored = f"ignored: {event} without repository.full_name"
        return meaning
    meaning.actions.append(Refresh(GITHUB_CHANGES[event], repo))
    return meaning


def linear_meaning(event: str, payload: Mapping[str, Any]) -> Meaning:
    asset, data_type = LINEAR_TYPES[event]
    action = _text(payload.get("action"))
    meaning = Meaning()
    if action == "remove":
        external_id = _id(_dict(payload.get("data")).get("id"))
        if external_id is None:
            meaning.ignored = f"ignored: {event} remove without data.id"
        else:
            meaning.actions.append(Delete(data_type, external_id))
        return meaning
    meaning.actions.append(Refresh((asset,), linear_partition(payload)))
    return meaning


def repository_fate(event: str, payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(old name, new name) of a renamed or transferred repository; (name, None) of a deleted
    one; (None, None) for anything else. Events about the old name then mean the new one."""
    if event != "repository":
        return None, None
    action, name = payload.get("action"), github_partition(payload)
    if name is None:
        return None, None
    if action == "deleted":
        return name, None
    changes = _dict(payload.get("changes"))
    owner, _, short = name.partition("/")
    if action == "renamed":
        old = _text(_dict(_dict(changes.get("repository")).get("name")).get("from"))
        return (f"{owner}/{old}", name) if old else (None, None)
    if action == "transferred":
        previous = _dict(_dict(changes.get("owner")).get("from"))
        login = _text(_dict(previous.get("organization") or previous.get("user")).get("login"))
        return (f"{login}/{short}", name) if login else (None, None)
    return None, None


def linear_references(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(team id, issue id) the payload's entity belongs to, to find its team key."""
    data = _dict(payload.get("data"))
    issue = _dict(data.get("issue"))
    team = _id(data.get("teamId")) or _id(_dict(data.get("team")).get("id")) or _id(
        issue.get("teamId"))
    return team, _id(data.get("issueId")) or _id(issue.get("id"))
