"""How each Linear listing is brought up to date in the warehouse.

Listings are read in `updatedAt` order with `updatedAt >= cursor - overlap`: Linear's `updatedAt`
is coarse, so the overlap re-reads the boundary and the warehouse's upsert (keyed on the UUID)
absorbs the repeats. The cursor is the newest `updatedAt` read, which is the server's own clock;
it rides on the last page, so it only moves past data that is committed.
"""

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gofap_assets.ingest import MappingError, Page, PartitionOutcome, ingest_pages
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.models import (
    SOURCE,
    comment_record,
    cycle_record,
    issue_record,
    label_record,
    project_record,
    team_record,
    user_record,
    workflow_state_record,
)
from gofap_assets.linear.queries import (
    COMMENTS,
    CYCLES,
    ISSUES,
    LABELS,
    PROJECTS,
    TEAMS,
    USERS,
    WORKFLOW_STATES,
    Listing,
)
from gofap_assets.warehouse import CursorUpdate, Record, Warehouse

CURSOR_OVERLAP = timedelta(minutes=5)
WORKSPACE_SCOPE = "*"
"""The partition key under which the unpartitioned listings keep their cursors."""
TEAM_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_RECHECK_CHUNK = 100


class InvalidPartitionKey(ValueError):
    pass


def validate_team_key(key: str) -> str:
    if not TEAM_KEY.fullmatch(key):
        raise InvalidPartitionKey(f"not a Linear team key partition: {key[:100]!r}")
    return key


def format_cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class _CursorTracker:
    """The newest `updatedAt` read, held back before any node Linear reported errors for."""

    previous: datetime | None
    newest: datetime | None = None
    hold: datetime | None = None
    hold_at_previous: bool = False

    def observe(self, node: Any, *, failed: bool) -> None:
        updated = parse_timestamp(node.get("updatedAt")) if isinstance(node, dict) else None
        if failed:
            if updated is None:
                self.hold_at_previous = True
            else:
                self.hold = updated if self.hold is None else min(self.hold, updated)
        elif updated is not None:
            self.newest = updated if self.newest is None else max(self.newest, updated)

    def cursor(self) -> str | None:
        if self.hold_at_previous:
            moment = self.previous
        else:
            candidates = [m for m in (self.previous, self.newest) if m is not None]
            moment = max(candidates) if candidates else None
            if self.hold is not None:
                moment = self.hold if moment is None else min(moment, self.hold)
        return format_cursor(moment) if moment else None


@dataclass
class ListingResult:
    outcome: PartitionOutcome
    ids: set[str] = field(default_factory=set)
    """Every id the listing returned, valid or not: what exists at Linear."""


def _updated_since(comparator: dict[str, str]) -> dict[str, Any]:
    return {"updatedAt": comparator}


def sync_listing(client: LinearClient, warehouse: Warehouse, *, data_type: str,
                 listing: Listing, mapper: Callable[[dict[str, Any]], Record],
                 partition_key: str, base_filter: Mapping[str, Any] | None = None,
                 incremental: bool = True, full: bool = False,
                 overlap: timedelta = CURSOR_OVERLAP,
                 changed: Callable[[dict[str, str]], dict[str, Any]] = _updated_since
                 ) -> ListingResult:
    """Read one listing (all of it with `full`, else what changed) and write it page by page.

    `changed` turns the `{"gte": cursor - overlap}` comparator into the filter for "changed
    since": the node's own `updatedAt` unless the listing says otherwise.
    """
    state = warehouse.partition_state(SOURCE, data_type, partition_key)
    previous = parse_timestamp(state.cursor) if incremental and not full else None
    query_filter = dict(base_filter or {})
    if previous is not None:
        query_filter.update(changed({"gte": format_cursor(previous - overlap)}))
    result = ListingResult(PartitionOutcome(SOURCE, data_type, partition_key))
    tracker = _CursorTracker(previous)
    failed_ids: dict[str, str] = {}
    versions: dict[str, Any] = {}

    def pages() -> Iterator[Page]:
        for page in client.pages(listing, query_filter or None):
            failed_ids.clear()
            items = []
            for index, node in enumerate(page.nodes):
                node_id = node.get("id") if isinstance(node, dict) else None
                failed = index in page.node_errors
                tracker.observe(node, failed=failed)
                if isinstance(node_id, str):
                    result.ids.add(node_id)
                    if failed:
                        failed_ids[node_id] = page.node_errors[index]
                    elif node_id in versions and versions[node_id] == node.get("updatedAt"):
                        continue  # read twice in one listing (it moved during paging)
                    else:
                        versions[node_id] = node.get("updatedAt")
                items.append(node)
            update = None
            if not page.has_next:
                update = CursorUpdate(tracker.cursor() if incremental else None, full_sync=full)
            yield Page(items, last=not page.has_next, cursor=update)

    def checked_mapper(raw: dict[str, Any]) -> Record:
        node_id = raw.get("id")
        reason = failed_ids.get(node_id) if isinstance(node_id, str) else None
        if reason is not None:
            raise MappingError(reason)
        return mapper(raw)

    ingest_pages(warehouse, result.outcome, pages(), checked_mapper)
    return result


def _reconcile_all(warehouse: Warehouse, result: ListingResult) -> None:
    """After a complete full listing, mark rows of this type that Linear no longer has."""
    outcome = result.outcome
    if outcome.complete:
        gone = warehouse.live_ids(SOURCE, outcome.data_type, None) - result.ids
        outcome.counts.deleted += warehouse.mark_deleted(SOURCE, outcome.data_type, gone)


@dataclass
class TeamListing:
    outcome: PartitionOutcome
    keys: list[str]
    """Keys of every listed team, for the dynamic partitions."""


def sync_teams(client: LinearClient, warehouse: Warehouse, *, full: bool = False) -> TeamListing:
    """Always the whole listing: the team partitions must follow every team, not the changes."""
    keys: list[str] = []

    def mapper(raw: dict[str, Any]) -> Record:
        record = team_record(raw)
        keys.append(validate_team_key(record.processed_data["key"]))
        return record

    result = sync_listing(client, warehouse, data_type="team", listing=TEAMS, mapper=mapper,
                          partition_key=WORKSPACE_SCOPE, incremental=False, full=full)
    if full:
        _reconcile_all(warehouse, result)
    return TeamListing(result.outcome, sorted(set(keys)))


def _sync_workspace(client: LinearClient, warehouse: Warehouse, data_type: str,
                    listing: Listing, mapper: Callable[[dict[str, Any]], Record], *,
                    full: bool, overlap: timedelta) -> PartitionOutcome:
    """A workspace-wide listing, incremental by `updatedAt`; `full` marks what vanished."""
    result = sync_listing(client, warehouse, data_type=data_type, listing=listing,
                          mapper=mapper, partition_key=WORKSPACE_SCOPE, full=full,
                          overlap=overlap)
    if full:
        _reconcile_all(warehouse, result)
    return result.outcome


def sync_users(client: LinearClient, warehouse: Warehouse, *, full: bool = False,
               overlap: timedelta = CURSOR_OVERLAP) -> PartitionOutcome:
    """Every user, disabled and archived ones included (`includeDisabled`)."""
    return _sync_workspace(client, warehouse, "user", USERS, user_record,
                           full=full, overlap=overlap)


def sync_projects(client: LinearClient, warehouse: Warehouse, *, full: bool = False,
                  overlap: timedelta = CURSOR_OVERLAP) -> PartitionOutcome:
    return _sync_workspace(client, warehouse, "project", PROJECTS, project_record,
                           full=full, overlap=overlap)


def sync_team_issues(client: LinearClient, warehouse: Warehouse, team_key: str, *,
                     full: bool = False,
                     overlap: timedelta = CURSOR_OVERLAP) -> PartitionOutcome:
    """Bring one team's issues up to date; with `full`, also mark the ones that are gone."""
    validate_team_key(team_key)
    result = sync_listing(client, warehouse, data_type="issue", listing=ISSUES,
                          mapper=issue_record, partition_key=team_key,
                          base_filter={"team": {"key": {"eq": team_key}}}, full=full,
                          overlap=overlap)
    if full and result.outcome.complete:
        _reconcile_team(client, warehouse, result, ISSUES, issue_record)
    return result.outcome


def sync_team_comments(client: LinearClient, warehouse: Warehouse, team_key: str, *,
                       full: bool = False,
                       overlap: timedelta = CURSOR_OVERLAP) -> PartitionOutcome:
    """One team's issue comments, read incrementally like its issues.

    "Changed" also takes in the comments of issues changed since the cursor: an issue that
    moves here brings comments older than this team's cursor (the move bumps the issue's
    `updatedAt`, not theirs). Comments on project updates, initiatives or documents have no
    issue, so no team filter matches them: they are outside every partition.
    """
    validate_team_key(team_key)
    result = sync_listing(client, warehouse, data_type="comment", listing=COMMENTS,
                          mapper=comment_record, partition_key=team_key,
                          base_filter={"issue": {"team": {"key": {"eq": team_key}}}},
                          full=full, overlap=overlap, changed=_comment_or_issue_changed)
    if full and result.outcome.complete:
        _reconcile_team(client, warehouse, result, COMMENTS, comment_record)
    return result.outcome


def _comment_or_issue_changed(comparator: dict[str, str]) -> dict[str, Any]:
    return {"or": [{"updatedAt": comparator}, {"issue": {"updatedAt": comparator}}]}


def _sync_team_whole(client: LinearClient, warehouse: Warehouse, team_key: str, *,
                     data_type: str, listing: Listing, mapper: Callable[[dict[str, Any]], Record],
                     full: bool) -> PartitionOutcome:
    """A team's short listing read whole every time, with no cursor.

    A cycle's `isActive`/`isFuture`/`isPast` follow the clock without bumping `updatedAt`, so
    an `updatedAt` cursor would keep a cycle `upcoming` after it started; one page per team
    costs no more than the incremental query would.
    """
    validate_team_key(team_key)
    result = sync_listing(client, warehouse, data_type=data_type, listing=listing,
                          mapper=mapper, partition_key=team_key,
                          base_filter={"team": {"key": {"eq": team_key}}},
                          incremental=False, full=full)
    outcome = result.outcome
    if full and outcome.complete:
        gone = warehouse.live_ids(SOURCE, data_type, team_key) - result.ids
        outcome.counts.deleted += warehouse.mark_deleted(SOURCE, data_type, gone,
                                                         parent_key=team_key)
    return outcome


def sync_team_cycles(client: LinearClient, warehouse: Warehouse, team_key: str, *,
                     full: bool = False) -> PartitionOutcome:
    return _sync_team_whole(client, warehouse, team_key, data_type="cycle", listing=CYCLES,
                            mapper=cycle_record, full=full)


def sync_team_workflow_states(client: LinearClient, warehouse: Warehouse, team_key: str, *,
                              full: bool = False) -> PartitionOutcome:
    return _sync_team_whole(client, warehouse, team_key, data_type="workflow_state",
                            listing=WORKFLOW_STATES, mapper=workflow_state_record, full=full)


def sync_labels(client: LinearClient, warehouse: Warehouse, *, full: bool = False,
                overlap: timedelta = CURSOR_OVERLAP) -> PartitionOutcome:
    """Workspace and team labels in one listing (`issueLabels` returns both)."""
    return _sync_workspace(client, warehouse, "label", LABELS, label_record,
                           full=full, overlap=overlap)


def _reconcile_team(client: LinearClient, warehouse: Warehouse, result: ListingResult,
                    listing: Listing, mapper: Callable[[dict[str, Any]], Record]) -> None:
    """Mark rows this team's full listing lacked, unless Linear still has them elsewhere.

    An issue missing from its team's listing has usually moved to another team (and its
    comments with it): looked up by id, it is written with its new team (so its row follows the
    move) instead of being marked.
    """
    outcome = result.outcome
    missing = sorted(warehouse.live_ids(SOURCE, outcome.data_type, outcome.partition_key)
                     - result.ids)
    if not missing:
        return
    found: set[str] = set()

    def pages() -> Iterator[Page]:
        for start in range(0, len(missing), _RECHECK_CHUNK):
            chunk = missing[start:start + _RECHECK_CHUNK]
            for page in client.pages(listing, {"id": {"in": chunk}}):
                nodes = [n for i, n in enumerate(page.nodes)
                         if i not in page.node_errors and isinstance(n, dict)
                         and n.get("id") in chunk]
                found.update(n["id"] for n in page.nodes
                             if isinstance(n, dict) and n.get("id") in chunk)
                yield Page(nodes, last=False)

    ingest_pages(warehouse, outcome, pages(), mapper)
    outcome.counts.deleted += warehouse.mark_deleted(SOURCE, outcome.data_type,
                                                     set(missing) - found)
