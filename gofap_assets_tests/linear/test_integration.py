"""End to end over real sockets: the Linear assets against the sandbox's Linear emulator.

Each test compares the warehouse with the world's ground truth (`expected_rows()`), on SQLite
and, where the machine has it, on PostgreSQL.
"""

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from gofap_assets.linear.assets import linear_assets
from gofap_assets.linear.resources import LinearResource
from gofap_assets.linear.sync import parse_timestamp
from gofap_assets.sandbox.faults import FaultProfile
from gofap_assets.sandbox.linear import LinearApp, LinearWorld
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource

KEY = "lin_api_sandboxkey000000000000000000000"
LISTINGS = ["linear_teams", "linear_users", "linear_projects", "linear_labels"]
TEAM_ASSETS = ["linear_issues", "linear_cycles", "linear_workflow_states"]
LATER = ["linear_comments"]
"""Run after the other team assets, in a run of their own, as `gofap-import sync` does."""
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def small_world(seed: int = 3, issues_per_team: int = 300) -> LinearWorld:
    """Two teams of 300 issues: every team pages past 250, with archived and trashed issues."""
    return LinearWorld(seed, teams=2, issues_per_team=issues_per_team, users=8, projects=4,
                       now=NOW)


@contextmanager
def sandbox(world: LinearWorld, *, faults: FaultProfile | None = None,
            **app_options: Any) -> Iterator[tuple[str, SandboxServer]]:
    app = LinearApp(world, api_key=KEY, **app_options)
    with SandboxServer({"/linear": app}, faults=faults) as server:
        yield f"{server.url}/linear/graphql", server


def sync(instance: dg.DagsterInstance, url: str, database_url: str, *, full: bool = False,
         **linear: Any) -> dict[str, dict[str, Any]]:
    """A service sync as `gofap-import sync --service linear` runs it: listings, then
    single-run backfills over every team. Returns each asset's materialization metadata."""
    resources = {"linear": LinearResource(api_key=KEY, api_url=url, **linear),
                 "warehouse": WarehouseResource(database_url=database_url)}
    def config(names: list[str]) -> dict[str, Any]:
        return {"ops": {name: {"config": {"full": full}} for name in names}}

    listing = dg.materialize(linear_assets, selection=LISTINGS, resources=resources,
                             instance=instance, run_config=config(LISTINGS))
    keys = sorted(instance.get_dynamic_partitions("linear_teams"))
    tags = {"dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1]}
    teams, later = (dg.materialize(linear_assets, selection=selection, resources=resources,
                                   instance=instance, run_config=config(selection), tags=tags)
                    for selection in (TEAM_ASSETS, LATER))
    assert listing.success and teams.success and later.success
    metadata: dict[str, dict[str, Any]] = {}
    for result in (listing, teams, later):
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            metadata.setdefault(materialization.asset_key.to_user_string(), {
                k: v.value for k, v in materialization.metadata.items()})
    return metadata


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def assert_matches_world(database_url: str, world: LinearWorld, *,
                         stale: Collection[tuple[str, str]] = ()) -> None:
    """Live rows are exactly the world's rows (plus `stale` ones a sync could not see go)."""
    expected = {(r.data_type, r.external_id): r for r in world.expected_rows()}
    store = Warehouse(database_url)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT data_type, external_id, parent_key, title, description, state, archived, "
            "external_created_at, external_updated_at, processed_data FROM imported_data "
            "WHERE source = 'linear' AND deleted_at IS NULL")).mappings().all()
    store.dispose()
    actual = {(r["data_type"], r["external_id"]): r for r in rows}
    assert set(actual) - set(stale) == set(expected)
    for key, want in expected.items():
        row = actual[key]
        processed = row["processed_data"]
        if isinstance(processed, str):  # SQLite hands JSON back as text
            processed = json.loads(processed)
        got = (row["title"], row["description"], row["state"], bool(row["archived"]),
               _utc(row["external_created_at"]), _utc(row["external_updated_at"]))
        assert got == (want.title, want.description, want.state, want.archived,
                       parse_timestamp(want.external_created_at),
                       parse_timestamp(want.external_updated_at)), key
        assert row["parent_key"] == want.team_key, key
        if want.data_type == "issue":
            assert processed["trashed"] is want.trashed, key
            assert processed["team_key"] == want.team_key, key


def test_initial_incremental_and_full_syncs_match_the_world(database_url: str) -> None:
    world = small_world()
    with sandbox(world) as (url, server), dg.instance_for_test() as instance:
        first = sync(instance, url, database_url)
        assert first["linear_issues"]["inserted"] == 600
        assert first["linear_issues"]["partitions"] == 2
        assert first["linear_issues"]["requests"] == 4  # 2 teams x (250 + 50)
        assert first["linear_users"]["inserted"] == 8
        assert first["linear_teams"]["rate_limit_requests_limit"] == 2500
        assert first["linear_issues"]["query_complexity_max"] <= 10_000
        comments = sum(1 for r in world.expected_rows() if r.data_type == "comment")
        assert first["linear_comments"]["inserted"] == comments > 500
        assert first["linear_comments"]["requests"] == 4  # each team has more than 250
        assert first["linear_cycles"]["inserted"] == 8
        assert first["linear_workflow_states"]["inserted"] == 12
        assert first["linear_labels"]["inserted"] == 19
        assert_matches_world(database_url, world)
        expected = list(world.expected_rows())
        assert any(r.data_type == "issue" and r.archived for r in expected)
        assert any(r.data_type == "user" and r.state == "inactive" for r in expected)

        teams_before = {r.external_id: r.team_key for r in expected if r.data_type == "comment"}
        done = world.mutate(0.05, seed=7)
        assert done["moved"] and done["archived"] and done["state_changed"] and done["deleted"]
        assert any(teams_before.get(r.external_id, r.team_key) != r.team_key
                   for r in world.expected_rows() if r.data_type == "comment"), \
            "a moved issue takes comments to its new team"
        server.reset_stats()
        second = sync(instance, url, database_url)
        assert second["linear_issues"]["inserted"] == done["added"]
        assert second["linear_issues"]["requests"] == 2  # one page per team: only the changes
        assert second["linear_users"]["updated"] == done["users_disabled"]
        assert second["linear_comments"]["inserted"] == done["comments_added"]
        assert second["linear_comments"]["updated"] >= done["comments_edited"]
        assert second["linear_comments"]["requests"] == 2
        assert second["linear_labels"]["updated"] == done["labels_renamed"]
        assert second["linear_cycles"]["updated"] == done["cycles_renamed"]
        # Comments of the moved issues came along: the move bumped their issue's updatedAt.
        assert_matches_world(database_url, world, stale=world.deleted_keys())

        third = sync(instance, url, database_url, full=True)
        assert third["linear_issues"]["marked_deleted"] == done["deleted"]
        assert third["linear_issues"]["inserted"] == third["linear_issues"]["updated"] == 0
        assert third["linear_cycles"]["marked_deleted"] == done["cycles_removed"]
        assert third["linear_labels"]["marked_deleted"] == done["labels_removed"]
        assert third["linear_comments"]["marked_deleted"] >= done["comments_removed"]
        assert_matches_world(database_url, world)
    store = Warehouse(database_url)
    with store.engine.connect() as conn:
        view_rows = conn.execute(sa.text("SELECT count(*) FROM linear_issues")).scalar_one()
        deleted = {tuple(r) for r in conn.execute(sa.text(
            "SELECT data_type, external_id FROM imported_data WHERE deleted_at IS NOT NULL"))}
        bridged = conn.execute(sa.text(
            "SELECT count(*), count(label_name) FROM linear_issue_labels")).one()
        per_cycle = dict(conn.execute(sa.text(
            "SELECT c.cycle_id, count(i.issue_id) FROM linear_cycles c LEFT JOIN linear_issues "
            "i ON i.cycle_id = c.cycle_id GROUP BY c.cycle_id")).all())
    store.dispose()
    assert view_rows == world.issue_count() and deleted == world.deleted_keys()
    carried = sum(len(i["labelIds"]) for i in _issues(world))
    assert tuple(bridged) == (carried, carried)  # every label an issue carries is imported
    cycles_with_issues = {i["cycle"]["id"] for i in _issues(world) if i["cycle"]}
    assert {c for c, n in per_cycle.items() if n} == cycles_with_issues


def _issues(world: LinearWorld) -> list[dict[str, Any]]:
    """Every issue node of the world, as the API would serve it."""
    nodes, after = [], None
    while True:
        page = world.issue_page(first=250, after=after, include_archived=True)
        nodes += page.nodes
        if not page.has_next:
            return nodes
        after = page.cursors[-1]


def test_rate_limits_and_server_errors_are_waited_out(sqlite_url: str) -> None:
    """Seeded faults on sequential requests (concurrency 1) fall the same way every run."""
    world = small_world(seed=5, issues_per_team=60)
    faults = FaultProfile(seed=4, error_5xx=0.15, linear_ratelimited=0.15,
                          retry_after_seconds=0.05)
    with sandbox(world, faults=faults) as (url, server), dg.instance_for_test() as instance:
        metadata = sync(instance, url, sqlite_url, max_retries=8, concurrency=1)
        stats = server.stats
    assert stats.faults.get("5xx", 0) >= 1 and stats.faults.get("linear_ratelimited", 0) >= 1
    assert stats.by_status.get(502, 0) >= 1  # the proxy's HTML 502, retried like any 5xx
    waits = sum(m.get("rate_limit_waits", 0) for m in metadata.values())
    assert waits == stats.faults["linear_ratelimited"]
    assert_matches_world(sqlite_url, world)


def test_a_page_too_complex_for_the_server_is_halved(sqlite_url: str) -> None:
    world = small_world(seed=6, issues_per_team=60)
    with sandbox(world, max_complexity=2_000) as (url, _), dg.instance_for_test() as instance:
        metadata = sync(instance, url, sqlite_url)
    assert metadata["linear_issues"]["complexity_halvings"] >= 1
    assert_matches_world(sqlite_url, world)


def test_issues_with_field_errors_are_quarantined_then_picked_up(sqlite_url: str) -> None:
    world = small_world(seed=8, issues_per_team=60)
    failing = world.fail_field("assignee", count=2)
    with sandbox(world) as (url, _), dg.instance_for_test() as instance:
        first = sync(instance, url, sqlite_url)
        assert first["linear_issues"]["quarantined"] == 2
        store = Warehouse(sqlite_url)
        assert not store.live_ids("linear", "issue", None) & set(failing)
        with store.engine.connect() as conn:
            reasons = conn.execute(sa.text(
                "SELECT reason FROM import_errors WHERE source = 'linear'")).scalars().all()
        store.dispose()
        assert all("assignee" in reason for reason in reasons)
        world.heal()
        sync(instance, url, sqlite_url)
    assert_matches_world(sqlite_url, world)


def test_a_wrong_key_fails_with_the_variable_named(sqlite_url: str) -> None:
    with sandbox(small_world(issues_per_team=5)) as (url, server), \
            dg.instance_for_test() as instance:
        result = dg.materialize(
            linear_assets, selection=["linear_teams"], instance=instance, raise_on_error=False,
            resources={"linear": LinearResource(api_key="lin_api_wrong", api_url=url),
                       "warehouse": WarehouseResource(database_url=sqlite_url)})
        assert server.stats.requests == 1
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "LINEAR_API_KEY" in str(failure.step_failure_data.error)
