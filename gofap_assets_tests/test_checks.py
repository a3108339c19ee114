"""Asset checks run for real against a seeded warehouse: integrity blocks, health warns."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import respx
import sqlalchemy as sa

from gofap_assets.checks import (
    ISSUE_OR_PULL,
    LINEAR_ISSUE,
    RULES,
    TEAM,
    dangling_id_references,
    dangling_references,
    duplicate_keys,
    freshness,
    orphans,
)
from gofap_assets.config import Settings
from gofap_assets.lib.scheduling import service_state
from gofap_assets.warehouse import Record, Warehouse
from gofap_assets.warehouse.schema import imported_data
from gofap_assets_tests.orchestration import (
    NOW,
    definitions,
    mock_github,
    record,
    seed,
)

Evaluations = dict[tuple[str, str], dg.AssetCheckEvaluation]
WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR


def run_checks(settings: Settings,
               instance: dg.DagsterInstance) -> tuple[bool, Evaluations]:
    job = definitions(settings).resolve_job_def("health_checks_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e
                   for e in result.get_asset_check_evaluations()}
    return result.success, evaluations


def seed_consistent(store: Warehouse) -> None:
    seed(store,
         record("github", "repository", "1", parent="acme", title="acme/api"),
         record("github", "issue", "11", parent="acme/api"),
         record("github", "pull_request", "12", parent="acme/api"),
         record("github", "commit", "acme/api@abc", parent="acme/api"),
         record("linear", "team", "t-1", title="Engineering", processed={"key": "ENG"}),
         record("linear", "issue", "i-1", parent="ENG"),
         record("linear", "user", "u-1"), record("linear", "project", "p-1"),
         record("linear", "comment", "c-1", parent="ENG",
                processed={"id": "c-1", "issue_id": "i-1"}),
         record("linear", "cycle", "cy-1", parent="ENG"),
         record("linear", "workflow_state", "ws-1", parent="ENG"),
         record("linear", "label", "l-1"))


def test_a_consistent_warehouse_passes_every_integrity_check(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed_consistent(store)
    seed(store, record("github", "issue", "99", parent="acme/vanished"))
    store.mark_deleted("github", "issue", ["99"])  # deleted rows need no parent
    ok, evaluations = run_checks(settings, instance)
    assert ok, "only warnings may fail when the integrity checks pass"
    assert len(evaluations) == sum(len(c.check_specs_by_output_name) for c in
                                   definitions(settings).asset_checks or [])
    integrity = {k: e for k, e in evaluations.items()
                 if k[1] in ("no_duplicate_keys", "parent_repository_imported",
                             "parent_team_imported", "referenced_issue_imported",
                             "referenced_pull_request_imported")}
    assert len(integrity) == len(RULES) + sum(
        (r.parent is not None) + (r.reference is not None) + (r.id_reference is not None)
        for r in RULES)
    assert all(e.passed for e in integrity.values()), [
        k for k, e in integrity.items() if not e.passed]
    never = evaluations[("github_issues", "fresh_within_interval")]
    assert not never.passed and never.severity == WARN
    assert "never been materialized" in (never.description or "")
    linear = evaluations[("linear_issues", "fresh_within_interval")]
    assert linear.passed and "LINEAR_API_KEY is unset" in (linear.description or "")


def test_rows_pointing_at_missing_or_deleted_parents_fail_the_blocking_checks(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed_consistent(store)
    seed(store,
         record("github", "repository", "2", parent="acme", title="acme/old"),
         record("github", "commit", "acme/old@def", parent="acme/old"),
         record("github", "issue", "13", parent="acme/gone"),
         record("linear", "issue", "i-2", parent="OPS"))
    store.mark_deleted("github", "repository", ["2"])
    ok, evaluations = run_checks(settings, instance)
    assert not ok, "a failed blocking check fails the run"
    issues = evaluations[("github_issues", "parent_repository_imported")]
    assert not issues.passed and issues.severity == ERROR
    assert issues.metadata["orphan_rows"].value == 1
    assert "acme/gone" in (issues.description or "")
    commits = evaluations[("github_commits", "parent_repository_imported")]
    assert not commits.passed and "acme/old" in (commits.description or "")
    assert evaluations[("github_pull_requests", "parent_repository_imported")].passed
    team = evaluations[("linear_issues", "parent_team_imported")]
    assert not team.passed and "OPS" in (team.description or "")


def test_comments_and_reviews_naming_missing_issues_fail_once_their_parents_were_read(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed_consistent(store)
    store.record_partition_result("github", "issue", "acme/api", items=0, error=None)
    store.record_partition_result("github", "pull_request", "acme/api", items=0, error=None)
    seed(store,
         record("github", "issue", "21", parent="acme/api", processed={"number": 5}),
         record("github", "pull_request", "22", parent="acme/api", processed={"number": 6}))
    earlier = datetime.now(UTC) - timedelta(hours=1)  # within the judged window
    child = {"source": "github", "parent_key": "acme/api", "description": None,
             "state": None, "external_created_at": earlier, "external_updated_at": earlier,
             "raw_data": {}}
    seed(store, *[Record(data_type=data_type, external_id=external_id, title=external_id,
                         processed_data={key: number}, **child)
                  for data_type, external_id, key, number in (
                      ("issue_comment", "c-ok-issue", "issue_number", 5),
                      ("issue_comment", "c-ok-pull", "issue_number", 6),
                      ("issue_comment", "c-lost", "issue_number", 7),
                      ("pull_request_review", "r-ok", "pull_request_number", 6),
                      ("pull_request_review", "r-lost", "pull_request_number", 5),
                      ("review_comment", "rc-null", "pull_request_number", None))])
    _ok, evaluations = run_checks(settings, instance)
    comments = evaluations[("github_issue_comments", "referenced_issue_imported")]
    assert not comments.passed and comments.severity == ERROR
    assert comments.metadata["missing_references"].value == 1
    assert "acme/api#7" in (comments.description or "")
    reviews = evaluations[("github_pull_request_reviews", "referenced_pull_request_imported")]
    assert not reviews.passed and "acme/api#5" in (reviews.description or "")
    assert evaluations[("github_review_comments", "referenced_pull_request_imported")].passed


def test_the_reference_query_reads_the_typed_form_on_both_backends(database_url: str) -> None:
    warehouse = Warehouse(database_url)
    warehouse.create_schema()
    for data_type in ("issue", "pull_request"):
        warehouse.record_partition_result("github", data_type, "acme/api", items=0, error=None)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    seed(warehouse, record("github", "issue", "21", parent="acme/api", processed={"number": 5}),
         *[Record("github", "issue_comment", f"c-{n}", "acme/api", "c", None, None, earlier,
                  earlier, {}, {"issue_number": n}) for n in (5, 8)])
    assert dangling_references(warehouse, "github", "issue_comment", ISSUE_OR_PULL,
                               earlier - timedelta(minutes=1)) == {"acme/api": [8]}
    assert dangling_references(warehouse, "github", "issue_comment", ISSUE_OR_PULL,
                               earlier + timedelta(minutes=1)) == {}
    warehouse.dispose()


def test_a_child_newer_than_its_parents_last_read_is_not_judged(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed_consistent(store)
    store.record_partition_result("github", "issue", "acme/api", items=0, error=None)
    store.record_partition_result("github", "pull_request", "acme/api", items=0, error=None)
    now = datetime.now(UTC)
    seed(store, Record("github", "issue_comment", "c-new", "acme/api", "c", None, None, now, now,
                       {}, {"issue_number": 99}))
    _ok, evaluations = run_checks(settings, instance)
    assert evaluations[("github_issue_comments", "referenced_issue_imported")].passed


def test_comments_naming_a_missing_or_deleted_issue_fail_their_reference_check(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    seed_consistent(store)
    seed(store, record("linear", "issue", "i-9", parent="ENG"),
         record("linear", "comment", "c-2", parent="ENG",
                processed={"id": "c-2", "issue_id": "i-9"}),
         record("linear", "comment", "c-3", parent="ENG",
                processed={"id": "c-3", "issue_id": "i-gone"}),
         record("linear", "cycle", "cy-2", parent="OPS"))
    store.mark_deleted("linear", "issue", ["i-9"])
    store.record_partition_result("linear", "issue", "ENG", items=1, error=None)
    ok, evaluations = run_checks(settings, instance)
    assert not ok
    comments = evaluations[("linear_comments", "referenced_issue_imported")]
    assert not comments.passed and comments.severity == ERROR
    assert comments.metadata["orphan_rows"].value == 2
    assert "i-9" in (comments.description or "") and "i-gone" in (comments.description or "")
    cycles = evaluations[("linear_cycles", "parent_team_imported")]
    assert not cycles.passed and "OPS" in (cycles.description or "")
    assert evaluations[("linear_workflow_states", "parent_team_imported")].passed


def test_the_id_reference_check_judges_changed_rows_once_their_parents_were_read(
        database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    seed(store, record("linear", "issue", "i-1", parent="ENG"),
         record("linear", "comment", "c-1", parent="ENG",
                processed={"id": "c-1", "issue_id": "i-1"}),
         record("linear", "comment", "c-2", parent="ENG",
                processed={"id": "c-2", "issue_id": "i-2"}),
         record("linear", "comment", "c-3", parent="ENG", processed={"id": "c-3"}),
         record("linear", "comment", "c-4", parent="OPS",
                processed={"id": "c-4", "issue_id": "i-4"}))
    # No team's issues read yet: nothing can be judged.
    assert dangling_id_references(store, "linear", "comment", LINEAR_ISSUE, None) == {}
    store.record_partition_result("linear", "issue", "ENG", items=1, error=None)
    assert dangling_id_references(store, "linear", "comment", LINEAR_ISSUE, None) == {
        "i-2": 1, None: 1}
    later = NOW + timedelta(minutes=1)
    assert dangling_id_references(store, "linear", "comment", LINEAR_ISSUE, later) == {}
    store.dispose()


def test_the_duplicate_query_finds_what_the_unique_constraint_prevents(
        database_url: str) -> None:
    store = Warehouse(database_url)
    copy = sa.Table("imported_data_unconstrained", sa.MetaData(),
                    *[column._copy() for column in imported_data.columns])
    copy.create(store.engine)
    row = {"source": "github", "data_type": "issue", "title": "t", "raw_data": {},
           "processed_data": {}, "content_hash": "h", "archived": False,
           "created_at": NOW, "updated_at": NOW}
    with store.engine.begin() as conn:
        conn.execute(copy.insert(), [{**row, "external_id": "1"}, {**row, "external_id": "1"},
                                     {**row, "external_id": "2"}])
    assert duplicate_keys(store, "github", "issue", table=copy) == (1, ["1"])
    assert duplicate_keys(store, "github", "pull_request", table=copy) == (0, [])
    store.dispose()


def test_team_keys_are_read_from_the_typed_form_on_both_backends(database_url: str) -> None:
    store = Warehouse(database_url)
    store.create_schema()
    seed(store, record("linear", "team", "t-1", title="Engineering", processed={"key": "ENG"}),
         record("linear", "issue", "i-1", parent="ENG"),
         record("linear", "issue", "i-2", parent="OPS"),
         record("linear", "issue", "i-3", parent=None))
    assert orphans(store, "linear", "issue", TEAM) == {"OPS": 1, None: 1}
    store.dispose()


def test_freshness_is_judged_against_the_service_interval(
        settings: Settings, store: Warehouse) -> None:
    rules = next(r for r in RULES if r.asset == "github_issues")
    state = service_state(store, "github")
    assert freshness(rules, state, NOW - timedelta(minutes=90), NOW).passed
    stale = freshness(rules, state, NOW - timedelta(hours=3), NOW)
    assert not stale.passed and stale.severity == WARN
    assert "3 h 0 min ago" in (stale.description or "")
    store.set_service("github", interval_minutes=120)
    assert freshness(rules, service_state(store, "github"), NOW - timedelta(hours=3), NOW).passed
    store.set_service("github", enabled=False)
    disabled = freshness(rules, service_state(store, "github"), None, NOW)
    assert disabled.passed and "disabled" in (disabled.description or "")


@respx.mock
def test_freshness_passes_right_after_a_materialization(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    mock_github(respx.mock, ["acme/api"])
    defs = definitions(settings)
    result = dg.materialize([*(defs.assets or []), *(defs.asset_checks or [])],
                            selection=["github_repositories"],
                            resources=defs.resources, instance=instance)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["fresh_within_interval"].passed
    assert evaluations["no_duplicate_keys"].passed
    assert evaluations["sync_success_rate"].passed
    assert evaluations["connection_healthy"].passed


def test_a_low_success_rate_and_a_rejected_token_warn(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    for _ in range(3):
        store.record_service_run("github", items=1, error=None)
    store.record_service_run("github", items=0, error="GitHub 500: persisted after 3 retries")
    store.record_service_run("github", items=0, error="GitHub 401: rejected the credential: "
                             "Bad credentials; check GITHUB_TOKEN (user)")
    ok, evaluations = run_checks(settings, instance)
    assert ok, "health signals warn; they never fail the run"
    rate = evaluations[("github_repositories", "sync_success_rate")]
    assert not rate.passed and rate.severity == WARN
    assert rate.metadata["success_rate"].value == 0.6
    assert "60% of the last 5" in (rate.description or "")
    connection = evaluations[("github_repositories", "connection_healthy")]
    assert not connection.passed and connection.severity == WARN
    assert connection.metadata["problem"].value == "authentication"
    assert "check GITHUB_TOKEN" in (connection.description or "")
    assert evaluations[("linear_teams", "connection_healthy")].passed


def test_a_failure_unrelated_to_the_connection_keeps_it_healthy(
        settings: Settings, store: Warehouse, instance: dg.DagsterInstance) -> None:
    store.record_service_run("github", items=0,
                             error="1 of 3 issue partitions failed: acme/x: GitHub 404: Not Found")
    _ok, evaluations = run_checks(settings, instance)
    assert evaluations[("github_repositories", "connection_healthy")].passed
