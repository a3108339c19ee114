"""GitHub REST objects as typed models, and the one mapping from them to warehouse records.

Models validate only what the warehouse relies on and ignore unknown fields (GitHub adds fields
in every API version); `raw_data` keeps the object exactly as it came. Validation is lenient
(`gofap_assets.mapping.validate`): every field but a record's identity may be null, and one that
does not fit its type is stored as null with a field-level note.
"""

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gofap_assets.mapping import NotNull, StateText, UtcDatetime, validate
from gofap_assets.warehouse import Record

SOURCE = "github"

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""GitHub's ids and counters are int64; anything larger cannot be a real one (nor fit a view)."""
_ISSUE_NUMBER = re.compile(r"/(?:issues|pulls)/(\d+)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class User(_Model):
    login: str | None = None
    id: Int64 | None = None


class Label(_Model):
    name: str | None = None


class Repository(_Model):
    id: Int64
    name: NotNull[str] = None
    full_name: str = Field(pattern=r"^[^/\s]+/[^/\s]+$")
    owner: User | None = None
    description: str | None = None
    private: bool | None = None
    archived: bool | None = None
    disabled: bool | None = None
    fork: bool | None = None
    has_issues: bool | None = None
    default_branch: str | None = None
    language: str | None = None
    html_url: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    pushed_at: UtcDatetime | None = None


class Issue(_Model):
    id: Int64
    number: NotNull[Int64] = None
    title: NotNull[str] = None
    body: str | None = None
    state: NotNull[StateText] = None
    state_reason: str | None = None
    user: User | None = None
    assignees: list[User] | None = None
    labels: NotNull[list[Label | str]] = None
    comments: Int64 | None = None
    locked: bool | None = None
    html_url: str | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    closed_at: UtcDatetime | None = None
    pull_request: dict[str, Any] | None = None


class Ref(_Model):
    ref: str | None = None
    sha: str | None = None
    repo: dict[str, Any] | None = None


class PullRequest(_Model):
    id: Int64
    number: NotNull[Int64] = None
    title: NotNull[str] = None
    body: str | None = None
    state: NotNull[StateText] = None
    draft: bool | None = None
    user: User | None = None
    assignees: list[User] | None = None
    labels: list[Label | str] | None = None
    head: Ref | None = None
    base: Ref | None = None
    html_url: str | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    closed_at: UtcDatetime | None = None
    merged_at: UtcDatetime | None = None


class GitIdentity(_Model):
    name: str | None = None
    email: str | None = None
    date: UtcDatetime | None = None


class GitCommit(_Model):
    message: str | None = None
    author: GitIdentity | None = None
    committer: GitIdentity | None = None


class Commit(_Model):
    sha: str = Field(min_length=4)
    commit: NotNull[GitCommit] = None
    author: User | None = None
    html_url: str | None = None


class IssueComment(_Model):
    id: Int64
    body: str | None = None
    user: User | None = None
    issue_url: NotNull[str] = None
    html_url: str | None = None
    author_association: str | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None


class ReviewComment(_Model):
    id: Int64
    body: str | None = None
    user: User | None = None
    pull_request_review_id: Int64 | None = None
    pull_request_url: NotNull[str] = None
    in_reply_to_id: Int64 | None = None
    path: str | None = None
    commit_id: str | None = None
    html_url: str | None = None
    author_association: str | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None


class Review(_Model):
    id: Int64
    body: str | None = None
    user: User | None = None
    state: NotNull[StateText] = None
    commit_id: str | None = None
    pull_request_url: str | None = None
    html_url: str | None = None
    author_association: str | None = None
    submitted_at: UtcDatetime | None = None


class RepositoryLabel(_Model):
    id: Int64
    name: NotNull[str] = None
    description: str | None = None
    color: str | None = None
    default: bool | None = None


class Milestone(_Model):
    id: Int64
    number: NotNull[Int64] = None
    title: NotNull[str] = None
    description: str | None = None
    state: NotNull[StateText] = None
    creator: User | None = None
    open_issues: Int64 | None = None
    closed_issues: Int64 | None = None
    html_url: str | None = None
    created_at: NotNull[UtcDatetime] = None
    updated_at: NotNull[UtcDatetime] = None
    closed_at: UtcDatetime | None = None
    due_on: UtcDatetime | None = None


class Release(_Model):
    id: Int64
    tag_name: NotNull[str] = None
    name: str | None = None
    body: str | None = None
    draft: NotNull[bool] = None
    prerelease: NotNull[bool] = None
    target_commitish: str | None = None
    author: User | None = None
    html_url: str | None = None
    created_at: NotNull[UtcDatetime] = None
    published_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _login(user: User | None) -> str | None:
    return user.login if user else None


def _first_line(text: str | None) -> str | None:
    return text.split("\n", 1)[0].rstrip("\r") if text is not None else None


def _labels(labels: list[Label | str] | None) -> list[str | None] | None:
    if labels is None:
        return None
    return [lb if isinstance(lb, str) else lb.name for lb in labels]


def _logins(users: list[User] | None) -> list[str] | None:
    return None if users is None else [u.login for u in users if u.login]


def number_in_url(url: str | None) -> int | None:
    """The issue or pull request number an API URL ends with (`.../issues/12`)."""
    match = _ISSUE_NUMBER.search(url or "")
    return int(match.group(1)) if match else None


def repository_record(raw: dict[str, Any]) -> Record:
    """The full name places the repository's partition: without it the record is quarantined."""
    repo, notes = validate(Repository, raw, identity=("id", "full_name"))
    owner, name = repo.full_name.split("/", 1)
    archived = bool(repo.archived)
    return Record(
        source=SOURCE, data_type="repository", external_id=str(repo.id), parent_key=owner,
        title=repo.full_name, description=repo.description,
        state="archived" if archived else "active",
        external_created_at=repo.created_at, external_updated_at=repo.updated_at,
        raw_data=raw, archived=archived, notes=notes,
        processed_data={
            "id": repo.id, "full_name": repo.full_name, "owner": owner,
            "name": repo.name if repo.name is not None else name,
            "private": repo.private, "archived": repo.archived, "disabled": repo.disabled,
            "fork": repo.fork, "has_issues": repo.has_issues,
            "default_branch": repo.default_branch, "language": repo.language,
            "html_url": repo.html_url, "pushed_at": _iso(repo.pushed_at),
        },
    )


def issue_record(raw: dict[str, Any], repository: str) -> Record | None:
    """None for pull requests: the issues listing includes them, but they are not issues."""
    if raw.get("pull_request") is not None:
        return None
    issue, notes = validate(Issue, raw)
    return Record(
        source=SOURCE, data_type="issue", external_id=str(issue.id), parent_key=repository,
        title=issue.title, description=issue.body, state=issue.state,
        external_created_at=issue.created_at, external_updated_at=issue.updated_at,
        raw_data=raw, notes=notes,
        processed_data={
            "id": issue.id, "number": issue.number, "repository": repository,
            "state": issue.state, "state_reason": issue.state_reason,
            "user_login": _login(issue.user), "assignees": _logins(issue.assignees),
            "labels": _labels(issue.labels),
            "comments": issue.comments, "locked": issue.locked, "html_url": issue.html_url,
            "closed_at": _iso(issue.closed_at),
        },
    )


def pull_request_record(raw: dict[str, Any], repository: str) -> Record:
    pull, notes = validate(PullRequest, raw)
    state = "merged" if pull.merged_at is not None else pull.state
    head_repo = pull.head.repo if pull.head else None
    return Record(
        source=SOURCE, data_type="pull_request", external_id=str(pull.id),
        parent_key=repository, title=pull.title, description=pull.body, state=state,
        external_created_at=pull.created_at, external_updated_at=pull.updated_at,
        raw_data=raw, notes=notes,
        processed_data={
            "id": pull.id, "number": pull.number, "repository": repository, "state": state,
            "draft": pull.draft, "user_login": _login(pull.user),
            "assignees": _logins(pull.assignees), "labels": _labels(pull.labels),
            "head_ref": pull.head.ref if pull.head else None,
            "head_repo": head_repo.get("full_name") if isinstance(head_repo, dict) else None,
            "base_ref": pull.base.ref if pull.base else None, "html_url": pull.html_url,
            "merged_at": _iso(pull.merged_at), "closed_at": _iso(pull.closed_at),
        },
    )


def commit_record(raw: dict[str, Any], repository: str) -> Record:
    commit, notes = validate(Commit, raw, identity=("sha",))
    git = commit.commit or GitCommit()
    author = git.author or GitIdentity()
    committer = git.committer or GitIdentity()
    return Record(
        source=SOURCE, data_type="commit", external_id=f"{repository}@{commit.sha}",
        parent_key=repository, title=_first_line(git.message), description=git.message,
        state=None, external_created_at=author.date,
        external_updated_at=committer.date or author.date, raw_data=raw, notes=notes,
        processed_data={
            "sha": commit.sha, "repository": repository, "author_name": author.name,
            "author_email": author.email, "author_login": _login(commit.author),
            "committer_name": committer.name, "authored_at": _iso(author.date),
            "committed_at": _iso(committer.date), "html_url": commit.html_url,
        },
    )


def issue_comment_record(raw: dict[str, Any], repository: str) -> Record:
    """A conversation comment; a pull request's number is its issue number (`issue_url`)."""
    comment, notes = validate(IssueComment, raw)
    html_url = comment.html_url or ""
    return Record(
        source=SOURCE, data_type="issue_comment", external_id=str(comment.id),
        parent_key=repository, title=_first_line(comment.body), description=comment.body,
        state=None, external_created_at=comment.created_at,
        external_updated_at=comment.updated_at, raw_data=raw, notes=notes,
        processed_data={
            "id": comment.id, "repository": repository,
            "issue_number": number_in_url(comment.issue_url),
            "is_pull_request": "/pull/" in html_url if html_url else None,
            "user_login": _login(comment.user),
            "author_association": comment.author_association, "html_url": comment.html_url,
        },
    )


def review_comment_record(raw: dict[str, Any], repository: str) -> Record:
    comment, notes = validate(ReviewComment, raw)
    return Record(
        source=SOURCE, data_type="review_comment", external_id=str(comment.id),
        parent_key=repository, title=_first_line(comment.body), description=comment.body,
        state=None, external_created_at=comment.created_at,
        external_updated_at=comment.updated_at, raw_data=raw, notes=notes,
        processed_data={
            "id": comment.id, "repository": repository,
            "pull_request_number": number_in_url(comment.pull_request_url),
            "pull_request_review_id": comment.pull_request_review_id,
            "in_reply_to_id": comment.in_reply_to_id, "path": comment.path,
            "commit_id": comment.commit_id, "user_login": _login(comment.user),
            "author_association": comment.author_association, "html_url": comment.html_url,
        },
    )


def review_record(raw: dict[str, Any], repository: str, pull_number: int | None = None,
                  ) -> Record:
    """A review of the pull request it was listed for (else the one its URL names)."""
    review, notes = validate(Review, raw)
    state = review.state.lower() if review.state is not None else None
    number = pull_number if pull_number is not None else number_in_url(review.pull_request_url)
    return Record(
        source=SOURCE, data_type="pull_request_review", external_id=str(review.id),
        parent_key=repository, title=_first_line(review.body), description=review.body,
        state=state, external_created_at=review.submitted_at,
        external_updated_at=review.submitted_at, raw_data=raw, notes=notes,
        processed_data={
            "id": review.id, "repository": repository, "pull_request_number": number,
            "state": state, "reviewer_login": _login(review.user),
            "commit_id": review.commit_id, "author_association": review.author_association,
            "html_url": review.html_url, "submitted_at": _iso(review.submitted_at),
        },
    )


def label_record(raw: dict[str, Any], repository: str) -> Record:
    label, notes = validate(RepositoryLabel, raw)
    return Record(
        source=SOURCE, data_type="label", external_id=str(label.id), parent_key=repository,
        title=label.name, description=label.description, state=None,
        external_created_at=None, external_updated_at=None, raw_data=raw, notes=notes,
        processed_data={
            "id": label.id, "repository": repository, "name": label.name,
            "color": label.color, "default": label.default,
        },
    )


def milestone_record(raw: dict[str, Any], repository: str) -> Record:
    milestone, notes = validate(Milestone, raw)
    return Record(
        source=SOURCE, data_type="milestone", external_id=str(milestone.id),
        parent_key=repository, title=milestone.title, description=milestone.description,
        state=milestone.state, external_created_at=milestone.created_at,
        external_updated_at=milestone.updated_at, raw_data=raw, notes=notes,
        processed_data={
            "id": milestone.id, "repository": repository, "number": milestone.number,
            "state": milestone.state, "creator_login": _login(milestone.creator),
            "open_issues": milestone.open_issues, "closed_issues": milestone.closed_issues,
            "html_url": milestone.html_url, "closed_at": _iso(milestone.closed_at),
            "due_on": _iso(milestone.due_on),
        },
    )


def release_state(release: Release) -> str | None:
    if release.draft is None and release.prerelease is None:
        return None
    return "draft" if release.draft else "prerelease" if release.prerelease else "published"


def release_record(raw: dict[str, Any], repository: str) -> Record:
    """Titled by its name, or its tag when unnamed; a draft has no `published_at` yet."""
    release, notes = validate(Release, raw)
    state = release_state(release)
    return Record(
        source=SOURCE, data_type="release", external_id=str(release.id),
        parent_key=repository, title=release.name or release.tag_name,
        description=release.body, state=state, external_created_at=release.created_at,
        external_updated_at=release.updated_at or release.published_at or release.created_at,
        raw_data=raw, notes=notes,
        processed_data={
            "id": release.id, "repository": repository, "tag_name": release.tag_name,
            "name": release.name, "state": state, "draft": release.draft,
            "prerelease": release.prerelease, "target_commitish": release.target_commitish,
            "author_login": _login(release.author), "html_url": release.html_url,
            "published_at": _iso(release.published_at),
        },
    )
