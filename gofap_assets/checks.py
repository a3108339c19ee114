"""Asset checks: integrity (blocking) and health signals (warnings).

Assets are referred to by key only, so this module depends on the warehouse, not on the GitHub
or Linear code. Each asset's checks run as one step (a `multi_asset_check`): they are a few SQL
queries, not worth a process each.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from gofap_assets.lib.scheduling import (
    CREDENTIALS,
    SUCCESS_RATE_WINDOW,
    ServiceState,
    service_state,
)
from gofap_assets.logs import redact
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.warehouse.schema import imported_data, sync_history, sync_partitions

NO_DUPLICATE_KEYS = "no_duplicate_keys"
PARENT_REPOSITORY_IMPORTED = "parent_repository_imported"
PARENT_TEAM_IMPORTED = "parent_team_imported"
REFERENCED_ISSUE_IMPORTED = "referenced_issue_imported"
REFERENCED_PULL_REQUEST_IMPORTED = "referenced_pull_request_imported"
FRESH_WITHIN_INTERVAL = "fresh_within_interval"
SYNC_SUCCESS_RATE = "sync_success_rate"
CONNECTION_HEALTHY = "connection_healthy"

SUCCESS_RATE_THRESHOLD = 0.8
FRESHNESS_INTERVALS = 2
"""Stale after this many intervals without a materialization: one missed sync is tolerated."""
SAMPLE = 10
ID_REFERENCE_SLACK = timedelta(hours=1)
"""Id reference checks look this much further back than the previous sync: the service's clock
stamps `external_updated_at`, not ours."""
REFERENCE_MARGIN = timedelta(minutes=5)
"""A child changed this close to its parents' last read may name a parent not read yet."""

WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class Parent:
    """Where a child row's `parent_key` must be found among live rows."""

    check_name: str
    data_type: str
    key: sa.ColumnElement[str]
    noun: str


REPOSITORY = Parent(PARENT_REPOSITORY_IMPORTED, "repository", imported_data.c.title,
                    "repository (full_name)")
TEAM = Parent(PARENT_TEAM_IMPORTED, "team", imported_data.c.processed_data["key"].as_string(),
              "team (key)")


@dataclass(frozen=True)
class Reference:
    """A child row names a parent by (repository, number) in its typed form: a comment's issue
    or pull request, a review's pull request."""

    check_name: str
    number_key: str
    """The child's `processed_data` key holding the number."""
    parent_types: tuple[str, ...]
    noun: str


ISSUE_OR_PULL = Reference(REFERENCED_ISSUE_IMPORTED, "issue_number", ("issue", "pull_request"),
                          "issue or pull request")
PULL = Reference(REFERENCED_PULL_REQUEST_IMPORTED, "pull_request_number", ("pull_request",),
                 "pull request")


@dataclass(frozen=True)
class IdReference:
    """A child row names its parent's `external_id` in a `processed_data` field, and the
    parent's listing is partitioned like the child's (a Linear comment's issue, by team)."""

    check_name: str
    field: str
    data_type: str
    noun: str


LINEAR_ISSUE = IdReference(REFERENCED_ISSUE_IMPORTED, "issue_id", "issue", "issue")


@dataclass(frozen=True)
class AssetRules:
    asset: str
    source: str
    data_type: str
    parent: Parent | None = None
    reference: Reference | None = None
    id_reference: IdReference | None = None
    service_health: bool = False
    """Carries the service-wide checks (success rate, connection): its listing asset does."""

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(self.asset)


RULES = (
    AssetRules("github_repositories", "github", "repository", service_health=True),
    AssetRules("github_issues", "github", "issue", REPOSITORY),
    AssetRules("github_pull_requests", "github", "pull_request", REPOSITORY),
    AssetRules("github_commits", "github", "commit", REPOSITORY),
    AssetRules("github_issue_comments", "github", "issue_comment", REPOSITORY, ISSUE_OR_PULL),
    AssetRules("github_pull_request_reviews", "github", "pull_request_review", REPOSITORY, PULL),
    AssetRules("github_review_comments", "github", "review_comment", REPOSITORY, PULL),
    AssetRules("github_labels", "github", "label", REPOSITORY),
    AssetRules("github_milestones", "github", "milestone", REPOSITORY),
    AssetRules("github_releases", "github", "release", REPOSITORY),
    AssetRules("linear_teams", "linear", "team", service_health=True),
    AssetRules("linear_users", "linear", "user"),
    AssetRules("linear_projects", "linear", "project"),
    AssetRules("linear_labels", "linear", "label"),
    AssetRules("linear_issues", "linear", "issue", TEAM),
    AssetRules("linear_comments", "linear", "comment", id_reference=LINEAR_ISSUE),
    AssetRules("linear_cycles", "linear", "cycle", TEAM),
    AssetRules("linear_workflow_states", "linear", "workflow_state", TEAM),
)


# -- the queries, each usable on its own (and on any table shaped like `imported_data`) --------

def duplicate_keys(warehouse: Warehouse, source: str, data_type: str,
                   table: sa.Table = imported_data) -> tuple[int, list[str]]:
    """How many (source, data_type, external_id) keys appear more than once, and a sample.

    One pass in key order: on `imported_data` it reads the unique index alone, not the rows.
    """
    t = table.c
    duplicated = (sa.select(t.external_id).where(t.source == source, t.data_type == data_type)
                  .group_by(t.external_id).having(sa.func.count() > 1)
                  .order_by(t.external_id))
    with warehouse.engine.connect() as conn:
        keys = conn.execute(duplicated).scalars().all()
    return len(keys), list(keys[:SAMPLE])


def orphans(warehouse: Warehouse, source: str, data_type: str,
            parent: Parent) -> dict[str | None, int]:
    """Live rows whose parent is not a live row, counted by the parent key they name.

    Runs after every sync, so it is index-backed: the distinct parent keys come from a loose
    scan of `ix_imported_data_parent_live` (one seek per repository or team), and only the
    keys without a live parent have their live rows counted.
    """
    t = imported_data.c
    parents = sa.select(parent.key).where(t.source == source, t.data_type == parent.data_type,
                                          t.deleted_at.is_(None))
    live = sa.and_(t.source == source, t.data_type == data_type, t.deleted_at.is_(None))
    keys = warehouse.parent_keys(source, data_type)
    with warehouse.engine.connect() as conn:
        known = set(conn.execute(parents).scalars())
        missing = [key for key in keys if key not in known]
        counts: dict[str | None, int] = {}
        for start in range(0, len(missing), 500):
            counts.update(conn.execute(
                sa.select(t.parent_key, sa.func.count())
                .where(live, t.parent_key.in_(missing[start:start + 500]))
                .group_by(t.parent_key)).tuples().all())
        unparented = conn.execute(sa.select(sa.func.count()).where(
            live, t.parent_key.is_(None))).scalar_one()
    if unparented:
        counts[None] = int(unparented)
    return {key: int(n) for key, n in counts.items()}


def dangling_references(warehouse: Warehouse, source: str, data_type: str,
                        reference: Reference, since: datetime) -> dict[str, list[int]]:
    """Numbers that live children updated at or after `since` name but no live parent has,
    by repository.

    Only recent children are judged, found through the (data_type, external_updated_at)
    index, and their parents are looked up in just the repositories they name: the cost
    follows what changed, not the size of the warehouse. A child is judged only if its
    parents' listings were read successfully after it changed (the assets run in any order
    in a scheduled run), and not if its number is null (a field stored as null, already noted
    in `import_errors`).
    """
    t, p = imported_data.c, sync_partitions.c
    children = sa.select(t.parent_key, t.processed_data[reference.number_key].as_integer(),
                         t.external_updated_at).where(
        t.source == source, t.data_type == data_type, t.deleted_at.is_(None),
        t.external_updated_at >= since)
    read = (sa.select(p.partition_key, sa.func.min(p.last_success_at))
            .where(p.source == source, p.data_type.in_(reference.parent_types))
            .group_by(p.partition_key).having(sa.func.count() == len(reference.parent_types)))
    number = t.processed_data["number"].as_integer()
    wanted: dict[str, set[int]] = {}
    with warehouse.engine.connect() as conn:
        rows = conn.execute(children).all()
        repos = sorted({repo for repo, _n, _u in rows if repo is not None})
        last_read = {key: when for key, when in conn.execute(read.where(
            p.partition_key.in_(repos))) if when is not None} if repos else {}
        for repo, child_number, updated in rows:
            when = last_read.get(repo)
            if child_number is None or when is None or updated is None:
                continue
            if _aware(updated) <= _aware(when) - REFERENCE_MARGIN:
                wanted.setdefault(repo, set()).add(int(child_number))
        missing: dict[str, list[int]] = {}
        for repo, numbers in sorted(wanted.items()):
            found = set(conn.execute(sa.select(number).where(
                t.source == source, t.data_type.in_(reference.parent_types),
                t.parent_key == repo, t.deleted_at.is_(None))).scalars())
            if numbers - found:
                missing[repo] = sorted(numbers - found)
    return missing


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def dangling_id_references(warehouse: Warehouse, source: str, data_type: str,
                           reference: IdReference,
                           since: datetime | None) -> dict[str | None, int]:
    """Live rows changed since `since` (all of them without it) whose parent is not live,
    counted by the parent id they name.

    Reads only the changed rows (through the `external_updated_at` index) and looks their
    parents up by id (the identity index): its cost follows a sync's changes, not the tables.
    A row is judged only once its partition's parents were read successfully after it changed
    (a scheduled run may sync comments before issues).
    """
    t, p = imported_data.c, sync_partitions.c
    children = sa.select(t.parent_key, t.processed_data[reference.field].as_string(),
                         t.external_updated_at).where(
        t.source == source, t.data_type == data_type, t.deleted_at.is_(None))
    if since is not None:
        children = children.where(t.external_updated_at >= since)
    counts: dict[str | None, int] = {}
    with warehouse.engine.connect() as conn:
        rows = conn.execute(children).all()
        partitions = sorted({key for key, _id, _at in rows if key is not None})
        read = {key: _aware(when) for key, when in conn.execute(
            sa.select(p.partition_key, p.last_success_at).where(
                p.source == source, p.data_type == reference.data_type,
                p.partition_key.in_(partitions))) if when is not None} if partitions else {}
        for key, parent_id, updated in rows:
            when = read.get(key) if key is not None else None
            if when is None or updated is None or \
                    _aware(updated) > when - REFERENCE_MARGIN:
                continue
            counts[parent_id] = counts.get(parent_id, 0) + 1
        wanted = sorted(key for key in counts if key is not None)
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            known.update(conn.execute(sa.select(t.external_id).where(
                t.source == source, t.data_type == reference.data_type,
                t.external_id.in_(wanted[start:start + 500]),
                t.deleted_at.is_(None))).scalars())
    return {key: n for key, n in counts.items() if key is None or key not in known}


def previous_sync(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """When the asset was materialized before the run of its latest materialization."""
    latest = instance.get_latest_materialization_event(key)
    if latest is None:
        return None
    run = instance.get_run_record_by_id(latest.run_id)
    started = run.start_time if run is not None and run.start_time else latest.timestamp
    earlier = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, before_timestamp=started), limit=1).records
    return datetime.fromtimestamp(earlier[0].timestamp, UTC) if earlier else None


def latest_attempt(warehouse: Warehouse, service: str) -> tuple[bool, str | None,
                                                                datetime] | None:
    h = sync_history.c
    query = (sa.select(h.ok, h.error, h.finished_at).where(h.service == service)
             .order_by(h.finished_at.desc(), h.id.desc()).limit(1))
    with warehouse.engine.connect() as conn:
        row = conn.execute(query).first()
    return (bool(row[0]), row[1], row[2]) if row else None


_AUTH = re.compile(r"rejected the (credential|api key)|\b401\b|authenticat", re.IGNORECASE)
_UNREACHABLE = re.compile(r"persisted after \d+ retries|timed? ?out|connect(ion)? ?error|"
                          r"name or service not known|connection refused", re.IGNORECASE)
_RATE_LIMITED = re.compile(r"rate limit|ratelimited", re.IGNORECASE)


def connection_problem(error: str) -> str | None:
    """What kind of connection failure an error message reports, if it reports one."""
    if _AUTH.search(error):
        return "authentication"
    if _RATE_LIMITED.search(error):
        return "rate limit"
    if _UNREACHABLE.search(error):
        return "unreachable"
    return None


# -- the checks ------------------------------------------------------------------------------

def _no_duplicates(store: Warehouse, rules: AssetRules) -> dg.AssetCheckResult:
    count, sample = duplicate_keys(store, rules.source, rules.data_type)
    return dg.AssetCheckResult(
        check_name=NO_DUPLICATE_KEYS, asset_key=rules.key, passed=count == 0,
        description=None if count == 0 else
        f"{count} {rules.data_type} external ids appear more than once",
        metadata={"duplicated_keys": count, "sample": ", ".join(sample)})


def _parents_imported(store: Warehouse, rules: AssetRules,
                      parent: Parent) -> dg.AssetCheckResult:
    missing = orphans(store, rules.source, rules.data_type, parent)
    rows = sum(missing.values())
    named = sorted((k if k is not None else "(none)" for k in missing), key=str)[:SAMPLE]
    return dg.AssetCheckResult(
        check_name=parent.check_name, asset_key=rules.key, passed=not missing,
        description=None if not missing else
        f"{rows} live {rules.data_type} rows name a {parent.noun} that is not imported "
        f"(or is marked deleted): {', '.join(named)}",
        metadata={"orphan_rows": rows, "missing_parents": len(missing),
                  "sample": ", ".join(named)})


def _references_imported(store: Warehouse, rules: AssetRules,
                         reference: Reference) -> dg.AssetCheckResult:
    state = service_state(store, rules.source)
    since = datetime.now(UTC) - FRESHNESS_INTERVALS * state.interval
    missing = dangling_references(store, rules.source, rules.data_type, reference, since)
    count = sum(len(numbers) for numbers in missing.values())
    named = [f"{repo}#{n}" for repo, numbers in missing.items() for n in numbers][:SAMPLE]
    return dg.AssetCheckResult(
        check_name=reference.check_name, asset_key=rules.key, passed=not missing,
        description=None if not missing else
        f"{rules.data_type} rows updated since {since:%Y-%m-%d %H:%M}Z name {count} "
        f"{reference.noun} numbers that are not imported: {', '.join(named)}",
        metadata={"missing_references": count, "judged_since": since.isoformat(),
                  "sample": ", ".join(named)})


def _id_references_imported(context: dg.AssetCheckExecutionContext, store: Warehouse,
                            rules: AssetRules, reference: IdReference) -> dg.AssetCheckResult:
    previous = previous_sync(context.instance, rules.key)
    since = previous - ID_REFERENCE_SLACK if previous is not None else None
    missing = dangling_id_references(store, rules.source, rules.data_type, reference, since)
    rows = sum(missing.values())
    named = sorted((k if k is not None else "(none)" for k in missing), key=str)[:SAMPLE]
    scope = f"changed since {since:%Y-%m-%d %H:%M}Z" if since is not None else "all"
    return dg.AssetCheckResult(
        check_name=reference.check_name, asset_key=rules.key, passed=not missing,
        description=None if not missing else
        f"{rows} live {rules.data_type} rows ({scope}) name a {reference.noun} that is not "
        f"imported (or is marked deleted): {', '.join(named)}",
        metadata={"orphan_rows": rows, "missing_parents": len(missing),
                  "rows_checked": scope, "sample": ", ".join(named)})


def freshness(rules: AssetRules, state: ServiceState, last: datetime | None,
              now: datetime) -> dg.AssetCheckResult:
    """Judge the asset's latest materialization (`last`) against its service's interval."""
    allowed = FRESHNESS_INTERVALS * state.interval
    metadata: dict[str, object] = {"interval_minutes": state.interval_minutes,
                                   "allowed_lag_minutes": int(allowed.total_seconds() // 60)}
    inactive = state.inactive_reason()
    if inactive is not None:
        return dg.AssetCheckResult(check_name=FRESH_WITHIN_INTERVAL, asset_key=rules.key,
                                   passed=True, description=f"not judged: {inactive}",
                                   metadata=metadata)
    if last is None:
        return dg.AssetCheckResult(check_name=FRESH_WITHIN_INTERVAL, asset_key=rules.key,
                                   passed=False, severity=WARN, metadata=metadata,
                                   description=f"{rules.asset} has never been materialized")
    lag = now - last
    metadata.update(last_materialized=dg.MetadataValue.timestamp(last),
                    lag_minutes=int(lag.total_seconds() // 60))
    fresh = lag <= allowed
    return dg.AssetCheckResult(
        check_name=FRESH_WITHIN_INTERVAL, asset_key=rules.key, passed=fresh,
        severity=WARN, metadata=metadata,
        description=None if fresh else
        f"last materialized {_ago(lag)} ago; expected within {FRESHNESS_INTERVALS} x "
        f"{state.interval_minutes} min")


def _fresh(context: dg.AssetCheckExecutionContext, store: Warehouse,
           rules: AssetRules) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(rules.key)
    last = datetime.fromtimestamp(event.timestamp, UTC) if event is not None else None
    return freshness(rules, service_state(store, rules.source), last, datetime.now(UTC))


def _success_rate(store: Warehouse, rules: AssetRules) -> dg.AssetCheckResult:
    rate, attempts = store.recent_success_rate(rules.source, last=SUCCESS_RATE_WINDOW)
    passed = rate is None or rate >= SUCCESS_RATE_THRESHOLD
    metadata: dict[str, object] = {"attempts": attempts,
                                   "threshold": SUCCESS_RATE_THRESHOLD}
    if rate is not None:
        metadata["success_rate"] = round(rate, 3)
    return dg.AssetCheckResult(
        check_name=SYNC_SUCCESS_RATE, asset_key=rules.key, passed=passed, severity=WARN,
        metadata=metadata,
        description="no sync attempts yet" if rate is None else None if passed else
        f"{rules.source}: {rate:.0%} of the last {attempts} sync attempts succeeded "
        f"(threshold {SUCCESS_RATE_THRESHOLD:.0%}); see `gofap-import status`")


def _connection(store: Warehouse, rules: AssetRules) -> dg.AssetCheckResult:
    state = service_state(store, rules.source)
    latest = latest_attempt(store, rules.source)
    if not state.configured or latest is None or latest[0]:
        note = (state.inactive_reason() if not state.configured else
                "no sync attempts yet" if latest is None else None)
        return dg.AssetCheckResult(check_name=CONNECTION_HEALTHY, asset_key=rules.key,
                                   passed=True, description=note)
    _ok, error, when = latest
    problem = connection_problem(error or "")
    if problem is None:
        return dg.AssetCheckResult(
            check_name=CONNECTION_HEALTHY, asset_key=rules.key, passed=True,
            description="the latest sync failed, but not for want of a connection")
    hint = (f"check {CREDENTIALS[rules.source]}" if problem == "authentication" else
            "see `gofap-import test-connections`")
    return dg.AssetCheckResult(
        check_name=CONNECTION_HEALTHY, asset_key=rules.key, passed=False, severity=WARN,
        description=f"the latest {rules.source} sync ({when:%Y-%m-%d %H:%M}Z) failed with a "
        f"{problem} error; {hint}",
        metadata={"problem": problem, "error": redact(error or "")[:500],
                  "failed_at": dg.MetadataValue.timestamp(when)})


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _specs(rules: AssetRules) -> list[dg.AssetCheckSpec]:
    specs = [dg.AssetCheckSpec(
        NO_DUPLICATE_KEYS, asset=rules.key, blocking=True,
        description=f"Each {rules.data_type} is one row: (source, data_type, external_id) is "
        "unique.")]
    if rules.parent is not None:
        specs.append(dg.AssetCheckSpec(
            rules.parent.check_name, asset=rules.key, blocking=True,
            description=f"Every live {rules.data_type} row belongs to an imported, live "
            f"{rules.parent.data_type}."))
    if rules.reference is not None:
        specs.append(dg.AssetCheckSpec(
            rules.reference.check_name, asset=rules.key, blocking=True,
            description=f"Every {rules.data_type} updated within {FRESHNESS_INTERVALS} sync "
            f"intervals names an imported, live {rules.reference.noun}."))
    if rules.id_reference is not None:
        specs.append(dg.AssetCheckSpec(
            rules.id_reference.check_name, asset=rules.key, blocking=True,
            description=f"Every {rules.data_type} row changed since the previous sync names an "
            f"imported, live {rules.id_reference.data_type}."))
    specs.append(dg.AssetCheckSpec(
        FRESH_WITHIN_INTERVAL, asset=rules.key,
        description=f"Materialized within {FRESHNESS_INTERVALS} sync intervals of the "
        f"{rules.source} service (warns)."))
    if rules.service_health:
        specs += [
            dg.AssetCheckSpec(
                SYNC_SUCCESS_RATE, asset=rules.key,
                description=f"At least {SUCCESS_RATE_THRESHOLD:.0%} of the last "
                f"{SUCCESS_RATE_WINDOW} {rules.source} sync attempts succeeded (warns)."),
            dg.AssetCheckSpec(
                CONNECTION_HEALTHY, asset=rules.key,
                description=f"The latest {rules.source} sync did not fail to authenticate or "
                "to reach the API (warns)."),
        ]
    return specs


def _asset_checks(rules: AssetRules) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(name=f"{rules.asset}_checks", specs=_specs(rules),
                          description=f"Integrity and health of {rules.asset} in the warehouse.")
    def _checks(context: dg.AssetCheckExecutionContext,
                warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.warehouse
        yield _no_duplicates(store, rules)
        if rules.parent is not None:
            yield _parents_imported(store, rules, rules.parent)
        if rules.reference is not None:
            yield _references_imported(store, rules, rules.reference)
        if rules.id_reference is not None:
            yield _id_references_imported(context, store, rules, rules.id_reference)
        yield _fresh(context, store, rules)
        if rules.service_health:
            yield _success_rate(store, rules)
            yield _connection(store, rules)

    return _checks


asset_checks: list[dg.AssetChecksDefinition] = [_asset_checks(rules) for rules in RULES]
