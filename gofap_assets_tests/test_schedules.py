"""The sync schedules: decided from `sync_status` at each tick, partitions batched as ranges."""

import re
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import respx

from gofap_assets.config import Settings
from gofap_assets.lib.scheduling import SERVICE_TAG, partition_ranges
from gofap_assets.schedules import github_sync_schedule, linear_sync_schedule, sync_tick
from gofap_assets.sync_runner import RANGE_END, RANGE_START, TRIGGER_TAG
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets_tests.orchestration import (
    definitions,
    mock_github,
)

PARTITIONED = [dg.AssetKey(k) for k in (
    "github_issues", "github_pull_requests", "github_commits", "github_labels",
    "github_milestones", "github_releases", "github_issue_comments",
    "github_pull_request_reviews", "github_review_comments")]


def tick(schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance, settings: Settings,
         when: datetime | None = None) -> dg.SkipReason | list[dg.RunRequest]:
    resources = {"warehouse": WarehouseResource(database_url=settings.database_url)}
    with dg.build_schedule_context(instance=instance, resources=resources,
                                   scheduled_execution_time=when or datetime.now(UTC)) as ctx:
        return schedule(ctx)


def skip_text(result: object) -> str:
    assert isinstance(result, dg.SkipReason), f"expected a skip, got {result!r}"
    return result.skip_message or ""


def test_an_unconfigured_service_skips_naming_its_variable(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    text = skip_text(tick(linear_sync_schedule, instance, settings))
    assert "linear is not configured" in text and "LINEAR_API_KEY" in text


def test_a_disabled_service_skips_until_it_is_enabled_again(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    store.set_service("github", enabled=False)
    text = skip_text(tick(github_sync_schedule, instance, settings))
    assert "disabled" in text and "configure-service github --enabled" in text
    store.set_service("github", enabled=True)
    assert isinstance(tick(github_sync_schedule, instance, settings), list)


def test_a_due_tick_requests_the_listing_and_partition_ranges_of_at_most_100(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    keys = [f"acme/repo-{i:03d}" for i in range(250)]
    instance.add_dynamic_partitions("github_repositories", keys)
    when = datetime(2026, 5, 1, 12, 5, tzinfo=UTC)
    requests = tick(github_sync_schedule, instance, settings, when)
    assert isinstance(requests, list) and len(requests) == 4
    listing, *ranges = requests
    assert listing.asset_selection == [dg.AssetKey("github_repositories")]
    assert RANGE_START not in listing.tags and listing.tags[SERVICE_TAG] == "github"
    assert all(r.tags[TRIGGER_TAG] == "schedule" for r in requests)
    assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in ranges] == [
        (keys[0], keys[99]), (keys[100], keys[199]), (keys[200], keys[249])]
    assert all(r.asset_selection == PARTITIONED for r in ranges)
    run_keys = [r.run_key for r in requests]
    assert len(set(run_keys)) == 4
    again = tick(github_sync_schedule, instance, settings, when)
    assert isinstance(again, list) and [r.run_key for r in again] == run_keys, \
        "a tick evaluated twice must request the same runs"


def test_the_interval_comes_from_sync_status_at_each_tick(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store.record_service_run("github", items=3, error=None)
    later = datetime.now(UTC) + timedelta(minutes=10)
    text = skip_text(tick(github_sync_schedule, instance, settings, later))
    assert "next sync due in" in text and "every 60 min" in text
    assert "SYNC_INTERVAL_MINUTES" in text

    store.set_service("github", interval_minutes=5)  # `gofap-import set-interval github 5`
    assert isinstance(tick(github_sync_schedule, instance, settings, later), list)

    store.set_service("github", interval_minutes=30)
    text = skip_text(tick(github_sync_schedule, instance, settings, later))
    assert "every 30 min, from set-interval" in text


def test_the_default_interval_follows_the_environment(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store.record_service_run("github", items=0, error=None)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert isinstance(tick(github_sync_schedule, instance, settings, later), dg.SkipReason)
    monkeypatch.setenv("SYNC_INTERVAL_MINUTES", "5")
    assert isinstance(tick(github_sync_schedule, instance, settings, later), list)


@pytest.mark.parametrize("trigger", ["schedule", "sensor"])
def test_a_tick_waits_while_an_earlier_sync_is_still_running(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse, trigger: str) -> None:
    job = definitions(settings).resolve_job_def("github_sync_job")
    instance.create_run_for_job(job, tags={SERVICE_TAG: "github", TRIGGER_TAG: trigger},
                                status=dg.DagsterRunStatus.STARTED)
    assert "still queued or running" in skip_text(tick(github_sync_schedule, instance, settings))


def test_a_cli_run_left_started_by_a_killed_process_does_not_block_the_schedule(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    job = definitions(settings).resolve_job_def("github_sync_job")
    instance.create_run_for_job(job, tags={SERVICE_TAG: "github", TRIGGER_TAG: "cli"},
                                status=dg.DagsterRunStatus.STARTED)
    assert isinstance(tick(github_sync_schedule, instance, settings), list)


def test_skip_reasons_show_the_services_settings_and_success_rate(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    for error in (None, None, None, "GitHub 502"):
        store.record_service_run("github", items=1, error=error)
    store.set_service("github", interval_minutes=45)
    text = skip_text(tick(github_sync_schedule, instance, settings,
                          datetime.now(UTC) + timedelta(minutes=10)))
    assert "next sync due in" in text
    assert re.search(r"github: enabled, every 45 min \(from set-interval\), last sync "
                     r"\d{4}-\d\d-\d\d \d\d:\d\dZ, 75% of the last 4 syncs succeeded", text), text
    store.set_service("github", enabled=False)
    text = skip_text(tick(github_sync_schedule, instance, settings))
    assert "syncs are disabled" in text and "github: disabled, every 45 min" in text


def test_partition_ranges_only_span_wanted_keys_in_partition_order() -> None:
    keys = ["a", "b", "c", "d", "e", "f", "g"]
    assert list(partition_ranges(keys, {"a", "b", "d", "e", "f", "g"}, max_per_run=2)) == [
        ("a", "b"), ("d", "e"), ("f", "g")]
    assert list(partition_ranges(keys, set())) == []
    assert list(partition_ranges(keys)) == [("a", "g")]


@respx.mock
def test_the_requested_runs_succeed_and_the_next_tick_waits_for_the_interval(
        instance: dg.DagsterInstance, settings: Settings, store: Warehouse) -> None:
    """Partition-keyed range runs execute, unlike a plain schedule's runs without a key."""
    mock_github(respx.mock, ["acme/api", "acme/web", "acme/docs"])
    job = definitions(settings).resolve_job_def("github_sync_job")

    def run(request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        return job.execute_in_process(instance=instance, tags=request.tags,
                                      asset_selection=request.asset_selection)

    first = tick(github_sync_schedule, instance, settings)
    assert isinstance(first, list) and len(first) == 1  # no partitions known yet
    assert run(first[0]).success
    assert instance.get_dynamic_partitions("github_repositories") == [
        "acme/api", "acme/docs", "acme/web"]

    store.set_service("github", interval_minutes=1)
    second = sync_tick(_context(instance, datetime.now(UTC) + timedelta(minutes=2)),
                       "github", store)
    assert isinstance(second, list) and len(second) == 2
    result = run(second[1])
    assert result.success
    assert instance.get_materialized_partitions(dg.AssetKey("github_commits")) == {
        "acme/api", "acme/docs", "acme/web"}
    text = skip_text(tick(github_sync_schedule, instance, settings))
    assert "last synced 0 min ago" in text


def _context(instance: dg.DagsterInstance, when: datetime) -> dg.ScheduleEvaluationContext:
    return dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
