"""The Linear assets run through Dagster, with the API mocked at the HTTP layer (respx)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import httpx
import pytest

from gofap_assets.checks import asset_checks
from gofap_assets.linear.assets import (
    linear_assets,
    linear_comments,
    linear_cycles,
    linear_issues,
    linear_labels,
    linear_projects,
    linear_teams,
    linear_users,
    linear_workflow_states,
)
from gofap_assets.linear.resources import LinearResource
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets_tests.linear.conftest import (
    API,
    KEY,
    FakeLinear,
    comment_node,
    cycle_node,
    issue_node,
    label_node,
    project_node,
    team_node,
    user_node,
    workflow_state_node,
)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def resources(database_url: str, **linear: Any) -> dict[str, Any]:
    return {"linear": LinearResource(api_key=KEY, api_url=API, max_retries=1, **linear),
            "warehouse": WarehouseResource(database_url=database_url)}


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The asset's metadata (a partition range records the same on every partition)."""
    event = next(e for e in result.get_asset_materialization_events()
                 if e.asset_key == dg.AssetKey(asset))
    assert event.materialization is not None
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_definitions_shape() -> None:
    assert {a.key.to_user_string() for a in linear_assets} == {
        "linear_teams", "linear_users", "linear_projects", "linear_labels", "linear_issues",
        "linear_comments", "linear_cycles", "linear_workflow_states"}
    for asset in linear_assets:
        assert asset.group_names_by_key[asset.key] == "linear"
    for asset in (linear_issues, linear_comments, linear_cycles, linear_workflow_states):
        assert asset.partitions_def == dg.DynamicPartitionsDefinition(name="linear_teams")
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    assert linear_labels.partitions_def is None
    # No Dagster dependency on the issues: one failed team would skip every team's comments.
    assert linear_issues.key not in linear_comments.dependency_keys


def test_listings_then_all_team_partitions_in_one_run(sqlite_url: str,
                                                      fake: FakeLinear) -> None:
    fake.nodes["teams"] = [team_node("ENG"), team_node("OPS")]
    fake.nodes["users"] = [user_node(1), user_node(2, active=False)]
    fake.nodes["projects"] = [project_node(1)]
    fake.nodes["issues"] = [issue_node(n, team="ENG" if n <= 260 else "OPS")
                            for n in range(1, 271)]
    with dg.instance_for_test() as instance:
        listing = dg.materialize([linear_teams, linear_users, linear_projects],
                                 resources=resources(sqlite_url), instance=instance)
        assert listing.success
        assert sorted(instance.get_dynamic_partitions("linear_teams")) == ["ENG", "OPS"]
        teams = metadata(listing, "linear_teams")
        assert teams["inserted"] == 2 and teams["partitions_added"] == 2
        assert teams["rate_limit_requests_remaining"] == 2400
        assert teams["query_complexity_max"] == 3151
        assert metadata(listing, "linear_users")["dagster/row_count"] == 2

        issues = dg.materialize([linear_teams, linear_issues], selection=[linear_issues],
                                resources=resources(sqlite_url), instance=instance,
                                tags={RANGE_START: "ENG", RANGE_END: "OPS"})
        assert issues.success
        meta = metadata(issues, "linear_issues")
        assert meta["inserted"] == 270 and meta["partitions"] == 2
        assert meta["requests"] == 3  # ENG: 250 + 10, OPS: 10
        assert meta["rate_limit_complexity_remaining"] == 2990000
    store = Warehouse(sqlite_url)
    assert store.partition_state("linear", "issue", "OPS").cursor is not None
    assert {r["service"]: r["success_count"] for r in store.service_status()}["linear"] == 4


def test_an_authentication_error_fails_the_run_and_names_the_key(sqlite_url: str,
                                                                 fake: FakeLinear) -> None:
    fake.intercept = lambda _request: httpx.Response(400, json={"errors": [{
        "message": "Authentication required", "extensions": {
            "type": "authentication error", "code": "AUTHENTICATION_ERROR"}}]})
    with dg.instance_for_test() as instance:
        result = dg.materialize([linear_teams], resources=resources(sqlite_url),
                                instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "LINEAR_API_KEY" in str(failure.step_failure_data.error)
    status = {r["service"]: r for r in Warehouse(sqlite_url).service_status()}["linear"]
    assert status["failure_count"] == 1 and "LINEAR_API_KEY" in status["last_error"]


def test_one_failing_team_keeps_the_others_data(sqlite_url: str, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(1, team="ENG"), issue_node(2, team="OPS")]
    fake.intercept = lambda request: httpx.Response(400, json={"errors": [{
        "message": "Team not found", "extensions": {"type": "forbidden"}}]}) \
        if b'"OPS"' in request.content else None
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("linear_teams", ["ENG", "OPS"])
        result = dg.materialize([linear_issues], resources=resources(sqlite_url),
                                instance=instance, raise_on_error=False,
                                tags={RANGE_START: "ENG", RANGE_END: "OPS"})
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "OPS" in str(failure.step_failure_data.user_failure_data.description)
    store = Warehouse(sqlite_url)
    assert store.live_ids("linear", "issue", "ENG") == {"issue-1"}
    assert store.live_ids("linear", "issue", "OPS") == set()


def test_a_workspace_mismatch_is_a_clear_error(sqlite_url: str, fake: FakeLinear) -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([linear_teams], instance=instance, raise_on_error=False,
                                resources=resources(sqlite_url, workspace_id="other-org"))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "LINEAR_WORKSPACE_ID" in str(failure.step_failure_data.error)
    assert not any(" teams(" in r["query"] for r in fake.requests)


def test_unconfigured_linear_says_so() -> None:
    resource = LinearResource()
    assert not resource.configured
    with pytest.raises(Exception, match="LINEAR_API_KEY"):
        resource.build_client()


def _check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.to_user_string(), e.check_name): e.passed
            for e in result.get_asset_check_evaluations()}


def test_team_assets_sync_every_partition_and_their_references_are_checked(
        sqlite_url: str, fake: FakeLinear) -> None:
    fake.nodes["teams"] = [team_node("ENG"), team_node("OPS")]
    fake.nodes["issueLabels"] = [label_node("Bug"), label_node("Backend", team="ENG")]
    fake.nodes["issues"] = [issue_node(1, team="ENG"), issue_node(2, team="OPS")]
    fake.nodes["comments"] = [comment_node(1, issue=1), comment_node(2, issue=2, team="OPS")]
    fake.nodes["cycles"] = [cycle_node(1, active=True), cycle_node(1, team="OPS", future=True)]
    fake.nodes["workflowStates"] = [workflow_state_node("Todo", "unstarted"),
                                    workflow_state_node("Todo", "unstarted", team="OPS")]
    team_assets = [linear_issues, linear_cycles, linear_workflow_states]
    everything = [*linear_assets, *asset_checks]
    with dg.instance_for_test() as instance:
        listing = dg.materialize(everything, selection=[linear_teams, linear_labels],
                                 resources=resources(sqlite_url), instance=instance)
        assert metadata(listing, "linear_labels")["inserted"] == 2
        teams = dg.materialize(everything, selection=team_assets,
                               resources=resources(sqlite_url), instance=instance,
                               tags={RANGE_START: "ENG", RANGE_END: "OPS"})
        comments = dg.materialize(everything, selection=[linear_comments],
                                  resources=resources(sqlite_url), instance=instance,
                                  tags={RANGE_START: "ENG", RANGE_END: "OPS"})
        assert teams.success and comments.success
        for result, asset in ((comments, "linear_comments"), (teams, "linear_cycles"),
                              (teams, "linear_workflow_states")):
            meta = metadata(result, asset)
            assert (meta["inserted"], meta["partitions"]) == (2, 2), asset
        checks = {**_check_results(teams), **_check_results(comments)}
        assert checks[("linear_comments", "referenced_issue_imported")] is True
        assert checks[("linear_cycles", "parent_team_imported")] is True
        assert checks[("linear_workflow_states", "parent_team_imported")] is True

        # A recent comment whose issue never arrived (the sync could not read that issue);
        # the issues were read since it changed, so it is judged.
        recent = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        fake.nodes["comments"].append(comment_node(3, issue=99, updated=recent))
        again = dg.materialize(everything, selection=[linear_comments],
                               resources=resources(sqlite_url), instance=instance,
                               tags={RANGE_START: "ENG", RANGE_END: "OPS"},
                               raise_on_error=False)
        [evaluation] = [e for e in again.get_asset_check_evaluations()
                        if e.check_name == "referenced_issue_imported"]
    assert not evaluation.passed and "issue-99" in (evaluation.description or "")
    assert evaluation.metadata["orphan_rows"].value == 1
