"""How each GitHub listing is synced incrementally into the warehouse.

Cursors are the server's `Date` of a listing's first page (less an overlap), so anything updated
while a listing was being read is read again next time; items are ordered newest first so an edit
during a listing moves an item to pages already read rather than making another one skip a page.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from gofap_assets.github.client import SERVICE, GitHubClient
from gofap_assets.github.models import (
    SOURCE,
    commit_record,
    issue_comment_record,
    issue_record,
    label_record,
    milestone_record,
    pull_request_record,
    release_record,
    repository_record,
    review_comment_record,
    review_record,
)
from gofap_assets.http import ApiError, ApiResponse, BudgetExhaustedError, MalformedResponseError
from gofap_assets.ingest import Page, PartitionOutcome, ingest_pages
from gofap_assets.warehouse import CursorUpdate, Record, Warehouse
from gofap_assets.warehouse.schema import imported_data

CURSOR_OVERLAP = timedelta(seconds=5)
REPOSITORY_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class Endpoint:
    """One per-repository listing and the rules for reading it incrementally."""

    data_type: str
    path: str
    params: dict[str, str]
    since: bool
    """Incremental through the `since` parameter (issues, commits)."""
    stop_at_cursor: bool
    """Incremental by reading newest-first and stopping at the cursor (pulls have no `since`)."""
    empty_statuses: dict[int, str]
    """Statuses meaning "nothing here" rather than failure (409 empty repository, ...)."""
    mapper: Callable[[dict[str, Any], str], Record | None]


_NEWEST_FIRST = {"state": "all", "sort": "updated", "direction": "desc", "per_page": "100"}

ISSUES = Endpoint("issue", "repos/{repo}/issues", _NEWEST_FIRST, since=True,
                  stop_at_cursor=False, empty_statuses={410: "issues are disabled"},
                  mapper=issue_record)
PULL_REQUESTS = Endpoint("pull_request", "repos/{repo}/pulls", _NEWEST_FIRST, since=False,
                         stop_at_cursor=True, empty_statuses={}, mapper=pull_request_record)
COMMITS = Endpoint("commit", "repos/{repo}/commits", {"per_page": "100"}, since=True,
                   stop_at_cursor=False, empty_statuses={409: "repository is empty"},
                   mapper=commit_record)
_UPDATED_FIRST = {"sort": "updated", "direction": "desc", "per_page": "100"}
ISSUE_COMMENTS = Endpoint("issue_comment", "repos/{repo}/issues/comments", _UPDATED_FIRST,
                          since=True, stop_at_cursor=False,
                          empty_statuses={410: "issues are disabled"},
                          mapper=issue_comment_record)
REVIEW_COMMENTS = Endpoint("review_comment", "repos/{repo}/pulls/comments", _UPDATED_FIRST,
                           since=True, stop_at_cursor=False, empty_statuses={},
                           mapper=review_comment_record)
# No `since` on these three: each sync reads the whole (short) listing, which its ETag answers
# with a 304 while nothing changed.
LABELS = Endpoint("label", "repos/{repo}/labels", {"per_page": "100"}, since=False,
                  stop_at_cursor=False, empty_statuses={}, mapper=label_record)
MILESTONES = Endpoint("milestone", "repos/{repo}/milestones", {"state": "all", "per_page": "100"},
                      since=False, stop_at_cursor=False, empty_statuses={},
                      mapper=milestone_record)
RELEASES = Endpoint("release", "repos/{repo}/releases", {"per_page": "100"}, since=False,
                    stop_at_cursor=False, empty_statuses={}, mapper=release_record)
REPOSITORY_ENDPOINTS = (ISSUES, PULL_REQUESTS, COMMITS, ISSUE_COMMENTS, REVIEW_COMMENTS, LABELS,
                        MILESTONES, RELEASES)
REVIEWS_DATA_TYPE = "pull_request_review"
CHILD_TYPES: tuple[str, ...] = (*(e.data_type for e in REPOSITORY_ENDPOINTS), REVIEWS_DATA_TYPE)
"""Every data type partitioned by repository: marked deleted with a vanished repository."""


class InvalidPartitionKey(ValueError):
    pass


def validate_repository_key(key: str) -> str:
    if not REPOSITORY_KEY.fullmatch(key) or ".." in key:
        raise InvalidPartitionKey(f"not a repository partition key (owner/name): {key[:200]!r}")
    return key


def format_cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def listing_started(response: ApiResponse) -> datetime:
    """The server's clock when it answered; our own only if it sent no usable Date."""
    try:
        return parsedate_to_datetime(response.headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def _updated_before(item: Any, cursor: str) -> bool:
    value = item.get("updated_at") if isinstance(item, dict) else None
    return isinstance(value, str) and value < cursor


def _items(response: ApiResponse) -> list[Any]:
    if not isinstance(response.data, list):
        raise MalformedResponseError(SERVICE, f"expected a JSON array, got "
                                     f"{type(response.data).__name__}",
                                     url=response.url.split("?", 1)[0])
    return response.data


def _repository_items(response: ApiResponse) -> list[Any]:
    """`GET /installation/repositories` wraps its page in `{total_count, repositories}`."""
    data = response.data
    if isinstance(data, dict) and isinstance(data.get("repositories"), list):
        return data["repositories"]
    return _items(response)


def sync_repository_endpoint(client: GitHubClient, warehouse: Warehouse, endpoint: Endpoint,
                             repo: str, *, full: bool = False) -> PartitionOutcome:
    """Bring one repository's listing up to date; with `full`, also mark what vanished."""
    validate_repository_key(repo)
    state = warehouse.partition_state(SOURCE, endpoint.data_type, repo)
    cursor = None if full else state.cursor
    params = dict(endpoint.params)
    if endpoint.since and cursor:
        params["since"] = cursor
    path = endpoint.path.format(repo=repo)
    request_key = f"{path}?{urlencode(sorted(params.items()))}"
    etag = state.etag if not full and state.etag_url == request_key else None
    outcome = PartitionOutcome(SOURCE, endpoint.data_type, repo)

    # A listing the rate-limit budget interrupted goes on after its last committed page, with
    # the cursor its first page set (a full sync reads everything, so it starts over).
    resume = state.resume_url if not full else None

    def pages() -> Iterator[Page]:
        new_cursor, first_etag, saw_new = cursor, None, False
        if resume:  # what the first page, read by the interrupted sync, set
            new_cursor, saw_new = state.resume_cursor or cursor, True
            first_etag = state.resume_etag
        accept = frozenset(endpoint.empty_statuses)
        listing = (client.pages(resume, None, accept_statuses=accept) if resume else
                   client.pages(path, params, etag=etag, accept_statuses=accept))
        committed_next: str | None = None  # the `next` link of the last committed page
        try:
            for number, response in enumerate(listing):
                if response.not_modified:
                    outcome.not_modified = outcome.complete = True
                    return
                if response.status in endpoint.empty_statuses:
                    outcome.note = endpoint.empty_statuses[response.status]
                    yield Page([], last=True, cursor=CursorUpdate(cursor, None, None, full))
                    return
                items = _items(response)
                if number == 0 and not resume:
                    new_cursor = format_cursor(listing_started(response) - CURSOR_OVERLAP)
                    first_etag = response.etag
                last = "next" not in response.links
                if endpoint.stop_at_cursor and cursor and any(_updated_before(i, cursor)
                                                              for i in items):
                    items = [i for i in items if not _updated_before(i, cursor)]
                    last = True
                saw_new = saw_new or bool(items)
                update = None
                if last:
                    # With nothing new the request stays the same next time, so its ETag can
                    # answer 304; moving the cursor would only change the URL.
                    kept = new_cursor if saw_new or full else cursor
                    update = CursorUpdate(kept, first_etag, request_key, full)
                yield Page(items, last=last, cursor=update)
                if last:
                    return
                committed_next = response.links["next"]  # resumed here: the page is written
        except BudgetExhaustedError:
            if committed_next and not full:
                warehouse.record_resume_point(SOURCE, endpoint.data_type, repo,
                                              url=committed_next, cursor=new_cursor,
                                              etag=first_etag)
            raise
        except ApiError:
            if resume and committed_next is None:  # a stale link: start over next time
                warehouse.record_resume_point(SOURCE, endpoint.data_type, repo, url=None,
                                              cursor=None)
            raise

    return ingest_pages(warehouse, outcome, pages(), lambda raw: endpoint.mapper(raw, repo),
                        reconcile="partition" if full else None)


def _changed_pulls(warehouse: Warehouse, repo: str, since: datetime | None,
                   after: int | None = None) -> list[tuple[int, datetime]]:
    """Numbers of the repository's live pull requests whose rows changed after `since` (all of
    them without it), with the time each row last changed, oldest change first; with `after`,
    also those that changed at `since` itself with a higher number (the rest of a window's
    work a spent budget interrupted)."""
    t = imported_data.c
    number = t.processed_data["number"].as_integer()
    query = (sa.select(number, t.updated_at)
             .where(t.source == SOURCE, t.data_type == PULL_REQUESTS.data_type,
                    t.parent_key == repo, t.deleted_at.is_(None))
             .order_by(t.updated_at, number))
    if since is not None:
        later = t.updated_at > since
        query = query.where(later if after is None else
                            sa.or_(later, sa.and_(t.updated_at == since, number > after)))
    with warehouse.engine.connect() as conn:
        return [(int(n), changed) for n, changed in conn.execute(query) if n is not None]


def _parse_cursor(value: str | None) -> tuple[datetime | None, int | None]:
    """The reviews cursor: the change time read up to, and after a spent budget interrupted
    the reading, `#<number>` of the last pull request whose reviews were all written."""
    time_text, _, after = (value or "").partition("#")
    try:
        since = datetime.fromisoformat(time_text) if time_text else None
        return since, (int(after) if after and since else None)
    except ValueError:
        return None, None  # not ours (an older release's): read every pull request once


def sync_pull_request_reviews(client: GitHubClient, warehouse: Warehouse, repo: str, *,
                              full: bool = False) -> PartitionOutcome:
    """Read the reviews of each pull request whose row changed since the last review sync.

    Reviews have no repository-wide listing, but a new review bumps its pull request's
    `updated_at`, which rewrites the pull request's row: the cursor is the latest local change
    time of the rows read, so an idle repository costs no request at all. With `full`, every
    pull request is read and reviews that vanished are marked deleted.
    """
    validate_repository_key(repo)
    state = warehouse.partition_state(SOURCE, REVIEWS_DATA_TYPE, repo)
    since, after = (None, None) if full else _parse_cursor(state.cursor)
    pulls = _changed_pulls(warehouse, repo, since, after)
    outcome = PartitionOutcome(SOURCE, REVIEWS_DATA_TYPE, repo)
    if not pulls and not full:
        outcome.complete = True
        outcome.note = "no pull request changed"
        return outcome
    reading: list[int | None] = [None]
    """The pull request whose reviews the current page holds."""
    new_cursor = max((changed for _n, changed in pulls), default=since)

    def pages() -> Iterator[Page]:
        cursor = CursorUpdate(new_cursor.isoformat() if new_cursor else None, full_sync=full)
        if not pulls:
            yield Page([], last=True, cursor=cursor)
            return
        for index, (number, changed) in enumerate(pulls):
            reading[0] = number
            for response in client.pages(f"repos/{repo}/pulls/{number}/reviews",
                                         {"per_page": "100"}):
                done = "next" not in response.links  # this pull request's last page
                last = done and index == len(pulls) - 1
                # Each pull request read moves the cursor past it, so a budget that runs out
                # mid-repository costs the next window none of this one's requests.
                progress = CursorUpdate(f"{changed.isoformat()}#{number}") if done else None
                yield Page(_items(response), last=last, cursor=cursor if last else progress)

    return ingest_pages(warehouse, outcome, pages(),
                        lambda raw: review_record(raw, repo, reading[0]),
                        reconcile="partition" if full else None)


@dataclass
class RepositoryListing:
    outcome: PartitionOutcome
    names: list[str]
    """Full names of every listed repository, for the dynamic partitions."""


def sync_repositories(client: GitHubClient, warehouse: Warehouse, *,
                      full: bool = False) -> RepositoryListing:
    path, params = client.repository_listing()
    scope = client.org or "*"
    outcome = PartitionOutcome(SOURCE, "repository", scope)
    names: list[str] = []

    def pages() -> Iterator[Page]:
        for response in client.pages(path, params):
            last = "next" not in response.links
            yield Page(_repository_items(response), last=last,
                       cursor=CursorUpdate(None, full_sync=full) if last else None)

    def mapper(raw: dict[str, Any]) -> Record:
        record = repository_record(raw)
        # A name that cannot be a partition key is quarantined here, not failed on every sync.
        names.append(validate_repository_key(record.title or ""))
        return record

    ingest_pages(warehouse, outcome, pages(), mapper,
                 reconcile=("partition" if client.org else "all") if full else None)
    if outcome.complete:
        # Children whose repository is gone: marked deleted by a full sync's reconciliation
        # above, or renamed, which every sync sees (the id now has another name). A renamed
        # repository's items come back under the new name as soon as its partition is read.
        prefix = f"{client.org}/" if client.org else ""
        outcome.counts.deleted += warehouse.mark_orphans_deleted(
            SOURCE, "repository", CHILD_TYPES, parent_prefix=prefix)
    return RepositoryListing(outcome, names)
