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
from gofap_assets.warehouse.schema import imported_data, sync_history

NO_DUPLICATE_KEYS = "no_duplicate_keys"
PARENT_REPOSITORY_IMPORTED = "parent_repository_imported"
PARENT_TEAM_IMPORTED = "parent_team_imported"
FRESH_WITHIN_INTERVAL = "fresh_within_interval"
SYNC_SUCCESS_RATE = "sync_success_rate"
CONNECTION_HEALTHY = "connection_healthy"

SUCCESS_RATE_THRESHOLD = 0.8
FRESHNESS_INTERVALS = 2
"""Stale after this many intervals without a materialization: one missed sync is tolerated."""
SAMPLE = 10

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
class AssetRules:
    asset: str
    source: str
    data_type: str
    parent: Parent | None = None
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
    AssetRules("linear_teams", "linear", "team", service_health=True),
    AssetRules("linear_users", "linear", "user"),
    AssetRules("linear_projects", "linear", "project"),
    AssetRules("linear_issues", "linear", "issue", TEAM),
)


# -- the queries, each usable on its own (and on any table shaped like `imported_data`) --------

def duplicate_keys(warehouse: Warehouse, source: str, data_type: str,
                   table: sa.Table = imported_data) -> tuple[int, list[str]]:
    """How many (source, data_type, external_id) keys appear more than once, and a sample."""
    t = table.c
    duplicated = (sa.select(t.external_id).where(t.source == source, t.data_type == data_type)
                  .group_by(t.external_id).having(sa.func.count() > 1))
    with warehouse.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(
            duplicated.subquery())).scalar_one()
        sample = conn.execute(duplicated.order_by(t.external_id).limit(SAMPLE)).scalars().all()
    return int(count), list(sample)


def orphans(warehouse: Warehouse, source: str, data_type: str,
            parent: Parent) -> dict[str | None, int]:
    """Live rows whose parent is not a live row, counted by the parent key they name.

    Two grouped reads and a set difference: a correlated NOT EXISTS on the unindexed parent
    key would scan the parents once per child on SQLite.
    """
    t = imported_data.c
    children = (sa.select(t.parent_key, sa.func.count())
                .where(t.source == source, t.data_type == data_type, t.deleted_at.is_(None))
                .group_by(t.parent_key))
    parents = sa.select(parent.key).where(t.source == source, t.data_type == parent.data_type,
                                          t.deleted_at.is_(None))
    with warehouse.engine.connect() as conn:
        counts: dict[str | None, int] = {key: int(n) for key, n in conn.execute(children)}
        known = set(conn.execute(parents).scalars())
    return {key: n for key, n in counts.items() if key is None or key not in known}


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
        yield _fresh(context, store, rules)
        if rules.service_health:
            yield _success_rate(store, rules)
            yield _connection(store, rules)

    return _checks


asset_checks: list[dg.AssetChecksDefinition] = [_asset_checks(rules) for rules in RULES]
