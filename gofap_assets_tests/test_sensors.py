"""Partition discovery (first syncs, requested once) and failure recording (counted once)."""


import dagster as dg
import httpx
import respx

from gofap_assets.config import Settings
from gofap_assets.lib.scheduling import PARTITIONED_DATA_TYPES, SERVICE_TAG
from gofap_assets.sensors import (
    github_partition_discovery_sensor,
    linear_partition_discovery_sensor,
    sync_failure_sensor,
)
from gofap_assets.sync_runner import RANGE_END, RANGE_START, TRIGGER_TAG
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets_tests.orchestration import (
    GITHUB_API,
    ORG,
    TOKEN,
    definitions,
)

GITHUB_TYPES = PARTITIONED_DATA_TYPES["github"]


def discover(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, settings: Settings,
             cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    resources = {"warehouse": WarehouseResource(database_url=settings.database_url)}
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources=resources) as context:
        return sensor(context)


def attempted(store: Warehouse, key: str, data_types: tuple[str, ...] = GITHUB_TYPES) -> None:
    for data_type in data_types:
        store.record_partition_result("github", data_type, key, items=1, error=None)


def test_new_partitions_get_one_first_sync_each(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    instance.add_dynamic_partitions("github_repositories", ["acme/a", "acme/b", "acme/c"])
    attempted(store, "acme/a")
    result = discover(github_partition_discovery_sensor, instance, settings)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests or []
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("acme/b", "acme/c")
    assert request.tags[SERVICE_TAG] == "github" and request.tags[TRIGGER_TAG] == "sensor"
    assert {k.to_user_string() for k in request.asset_selection or ()} == {
        "github_issues", "github_pull_requests", "github_commits", "github_labels",
        "github_milestones", "github_releases", "github_issue_comments",
        "github_pull_request_reviews", "github_review_comments"}

    again = discover(github_partition_discovery_sensor, instance, settings, result.cursor)
    assert isinstance(again, dg.SensorResult) and not again.run_requests, \
        "a partition already requested must not be requested again"

    instance.add_dynamic_partitions("github_repositories", ["acme/d"])
    attempted(store, "acme/b")
    third = discover(github_partition_discovery_sensor, instance, settings, again.cursor)
    assert isinstance(third, dg.SensorResult)
    assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in third.run_requests or []] == [
        ("acme/d", "acme/d")]
    assert "acme/b" not in (third.cursor or ""), "synced keys leave the cursor"


def test_a_partition_one_asset_never_tried_is_still_new(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    instance.add_dynamic_partitions("github_repositories", ["acme/a"])
    attempted(store, "acme/a", ("issue", "pull_request"))
    result = discover(github_partition_discovery_sensor, instance, settings)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests or []) == 1


def test_discovery_skips_unconfigured_or_disabled_services(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    instance.add_dynamic_partitions("linear_teams", ["ENG"])
    skipped = discover(linear_partition_discovery_sensor, instance, settings)
    assert isinstance(skipped, dg.SkipReason)
    assert "LINEAR_API_KEY" in (skipped.skip_message or "")

    instance.add_dynamic_partitions("github_repositories", ["acme/a"])
    store.set_service("github", enabled=False)
    skipped = discover(github_partition_discovery_sensor, instance, settings)
    assert isinstance(skipped, dg.SkipReason) and "disabled" in (skipped.skip_message or "")
    assert "github: disabled, every 60 min (from SYNC_INTERVAL_MINUTES), never synced" in (
        skipped.skip_message or ""), "the skip shows the service's settings"


def record_failure(instance: dg.DagsterInstance, settings: Settings,
                   result: dg.ExecuteInProcessResult) -> None:
    resources = {"warehouse": WarehouseResource(database_url=settings.database_url)}
    with dg.build_run_status_sensor_context(
            sensor_name=sync_failure_sensor.name, dagster_instance=instance,
            dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
            resources=resources) as context:
        sync_failure_sensor(context)


def github_status(store: Warehouse) -> dict:
    return next(r for r in store.service_status() if r["service"] == "github")


@respx.mock
def test_a_failure_the_asset_recorded_is_not_counted_twice(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    respx.get(f"{GITHUB_API}/orgs/{ORG}/repos").mock(
        return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    result = dg.materialize(definitions(settings).assets or [],
                            selection=["github_repositories"], instance=instance,
                            resources=definitions(settings).resources, raise_on_error=False)
    assert not result.success
    assert github_status(store)["failure_count"] == 1
    record_failure(instance, settings, result)
    status = github_status(store)
    assert status["failure_count"] == 1
    assert "GITHUB_TOKEN" in status["last_error"] and TOKEN not in status["last_error"]


def test_a_failure_no_asset_recorded_lands_in_sync_status(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    @dg.asset(name="github_commits")
    def crashing() -> None:
        raise RuntimeError("the warehouse went away mid-run")

    result = dg.materialize([crashing], instance=instance, raise_on_error=False)
    assert not result.success
    record_failure(instance, settings, result)
    status = github_status(store)
    assert status["failure_count"] == 1 and status["success_count"] == 0
    assert "the warehouse went away mid-run" in status["last_error"]
    assert result.run_id in status["last_error"]


def test_a_failed_check_is_not_a_failed_sync(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    @dg.asset(name="github_issues")
    def fine() -> None:
        return None

    @dg.asset_check(asset=fine, blocking=True)
    def broken() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False)

    result = dg.materialize([fine, broken], instance=instance, raise_on_error=False)
    assert not result.success
    record_failure(instance, settings, result)
    assert github_status(store)["failure_count"] == 0
