"""GitHub REST objects as typed models, and the one mapping from them to warehouse records.

Models validate only what the warehouse relies on and ignore unknown fields (GitHub adds fields
in every API version); `raw_data` keeps the object exactly as it came.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gofap_assets.warehouse import Record

SOURCE = "github"

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""GitHub's ids and counters are int64; anything larger cannot be a real one (nor fit a view)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(_Model):
    login: str | None = None
    id: Int64 | None = None


class Label(_Model):
    name: str | None = None


class Repository(_Model):
    id: Int64
    name: str
    full_name: str = Field(pattern=r"^[^/\s]+/[^/\s]+$")
    owner: User | None = None
    description: str | None = None
    private: bool = False
    archived: bool = False
    disabled: bool = False
    fork: bool = False
    has_issues: bool = True
    default_branch: str | None = None
    language: str | None = None
    html_url: str | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    pushed_at: AwareDatetime | None = None


class Issue(_Model):
    id: Int64
    number: Int64
    title: str
    body: str | None = None
    state: str
    state_reason: str | None = None
    user: User | None = None
    assignees: list[User] | None = None
    labels: list[Label | str] = []
    comments: Int64 = 0
    locked: bool = False
    html_url: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    pull_request: dict[str, Any] | None = None


class Ref(_Model):
    ref: str | None = None
    sha: str | None = None
    repo: dict[str, Any] | None = None


class PullRequest(_Model):
    id: Int64
    number: Int64
    title: str
    body: str | None = None
    state: str
    draft: bool | None = None
    user: User | None = None
    head: Ref | None = None
    base: Ref | None = None
    html_url: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    merged_at: AwareDatetime | None = None


class GitIdentity(_Model):
    name: str | None = None
    email: str | None = None
    date: AwareDatetime | None = None


class GitCommit(_Model):
    message: str
    author: GitIdentity | None = None
    committer: GitIdentity | None = None


class Commit(_Model):
    sha: str = Field(min_length=4)
    commit: GitCommit
    author: User | None = None
    html_url: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _login(user: User | None) -> str | None:
    return user.login if user else None


def repository_record(raw: dict[str, Any]) -> Record:
    repo = Repository.model_validate(raw)
    owner = repo.full_name.split("/", 1)[0]
    return Record(
        source=SOURCE, data_type="repository", external_id=str(repo.id), parent_key=owner,
        title=repo.full_name, description=repo.description,
        state="archived" if repo.archived else "active",
        external_created_at=repo.created_at, external_updated_at=repo.updated_at,
        raw_data=raw, archived=repo.archived,
        processed_data={
            "id": repo.id, "full_name": repo.full_name, "owner": owner, "name": repo.name,
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
    issue = Issue.model_validate(raw)
    return Record(
        source=SOURCE, data_type="issue", external_id=str(issue.id), parent_key=repository,
        title=issue.title, description=issue.body, state=issue.state,
        external_created_at=issue.created_at, external_updated_at=issue.updated_at,
        raw_data=raw,
        processed_data={
            "id": issue.id, "number": issue.number, "repository": repository,
            "state": issue.state, "state_reason": issue.state_reason,
            "user_login": _login(issue.user),
            "assignees": [u.login for u in issue.assignees or [] if u.login],
            "labels": [lb if isinstance(lb, str) else lb.name for lb in issue.labels],
            "comments": issue.comments, "locked": issue.locked, "html_url": issue.html_url,
            "closed_at": _iso(issue.closed_at),
        },
    )


def pull_request_record(raw: dict[str, Any], repository: str) -> Record:
    pull = PullRequest.model_validate(raw)
    state = "merged" if pull.merged_at is not None else pull.state
    head_repo = pull.head.repo if pull.head else None
    return Record(
        source=SOURCE, data_type="pull_request", external_id=str(pull.id),
        parent_key=repository, title=pull.title, description=pull.body, state=state,
        external_created_at=pull.created_at, external_updated_at=pull.updated_at,
        raw_data=raw,
        processed_data={
            "id": pull.id, "number": pull.number, "repository": repository, "state": state,
            "draft": pull.draft, "user_login": _login(pull.user),
            "head_ref": pull.head.ref if pull.head else None,
            "head_repo": head_repo.get("full_name") if head_repo else None,
            "base_ref": pull.base.ref if pull.base else None, "html_url": pull.html_url,
            "merged_at": _iso(pull.merged_at), "closed_at": _iso(pull.closed_at),
        },
    )


def commit_record(raw: dict[str, Any], repository: str) -> Record:
    commit = Commit.model_validate(raw)
    git = commit.commit
    author = git.author or GitIdentity()
    committer = git.committer or GitIdentity()
    first_line = git.message.split("\n", 1)[0].rstrip("\r")
    return Record(
        source=SOURCE, data_type="commit", external_id=f"{repository}@{commit.sha}",
        parent_key=repository, title=first_line, description=git.message, state=None,
        external_created_at=author.date, external_updated_at=committer.date or author.date,
        raw_data=raw,
        processed_data={
            "sha": commit.sha, "repository": repository, "author_name": author.name,
            "author_email": author.email, "author_login": _login(commit.author),
            "committer_name": committer.name, "authored_at": _iso(author.date),
            "committed_at": _iso(committer.date), "html_url": commit.html_url,
        },
    )
