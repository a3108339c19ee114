"""The code location loads, and the names users, scripts and the UI depend on stay put.

A rename of an asset, check, job, schedule or sensor breaks `--select`, run history and anyone's
automation: change the snapshot below only on purpose.
"""

import tomllib
from pathlib import Path

import dagster as dg
import yaml

from gofap_assets.dagster_home import CODE_LOCATION
from gofap_assets.definitions import defs

ASSETS = {
    "github_repositories": ("github", None),
    "github_issues": ("github", "github_repositories"),
    "github_pull_requests": ("github", "github_repositories"),
    "github_commits": ("github", "github_repositories"),
    "github_issue_comments": ("github", "github_repositories"),
    "github_pull_request_reviews": ("github", "github_repositories"),
    "github_review_comments": ("github", "github_repositories"),
    "github_labels": ("github", "github_repositories"),
    "github_milestones": ("github", "github_repositories"),
    "github_releases": ("github", "github_repositories"),
    "linear_teams": ("linear", None),
    "linear_users": ("linear", None),
    "linear_projects": ("linear", None),
    "linear_labels": ("linear", None),
    "linear_issues": ("linear", "linear_teams"),
    "linear_comments": ("linear", "linear_teams"),
    "linear_cycles": ("linear", "linear_teams"),
    "linear_workflow_states": ("linear", "linear_teams"),
}
"""asset -> (group, dynamic partitions it is split by)."""

CHECKS = {
    "github_repositories": {"no_duplicate_keys", "fresh_within_interval", "sync_success_rate",
                            "connection_healthy"},
    "github_issues": {"no_duplicate_keys", "parent_repository_imported",
                      "fresh_within_interval"},
    "github_pull_requests": {"no_duplicate_keys", "parent_repository_imported",
                             "fresh_within_interval"},
    "github_commits": {"no_duplicate_keys", "parent_repository_imported",
                       "fresh_within_interval"},
    "github_issue_comments": {"no_duplicate_keys", "parent_repository_imported",
                              "referenced_issue_imported", "fresh_within_interval"},
    "github_pull_request_reviews": {"no_duplicate_keys", "parent_repository_imported",
                                    "referenced_pull_request_imported", "fresh_within_interval"},
    "github_review_comments": {"no_duplicate_keys", "parent_repository_imported",
                               "referenced_pull_request_imported", "fresh_within_interval"},
    "github_labels": {"no_duplicate_keys", "parent_repository_imported", "fresh_within_interval"},
    "github_milestones": {"no_duplicate_keys", "parent_repository_imported",
                          "fresh_within_interval"},
    "github_releases": {"no_duplicate_keys", "parent_repository_imported",
                        "fresh_within_interval"},
    "linear_teams": {"no_duplicate_keys", "fresh_within_interval", "sync_success_rate",
                     "connection_healthy"},
    "linear_users": {"no_duplicate_keys", "fresh_within_interval"},
    "linear_projects": {"no_duplicate_keys", "fresh_within_interval"},
    "linear_labels": {"no_duplicate_keys", "fresh_within_interval"},
    "linear_issues": {"no_duplicate_keys", "parent_team_imported", "fresh_within_interval"},
    "linear_comments": {"no_duplicate_keys", "referenced_issue_imported",
                        "fresh_within_interval"},
    "linear_cycles": {"no_duplicate_keys", "parent_team_imported", "fresh_within_interval"},
    "linear_workflow_states": {"no_duplicate_keys", "parent_team_imported",
                               "fresh_within_interval"},
}
BLOCKING = {"no_duplicate_keys", "parent_repository_imported", "parent_team_imported",
            "referenced_issue_imported", "referenced_pull_request_imported"}
JOBS = {"github_sync_job", "linear_sync_job", "health_checks_job", "archive_job"}
SCHEDULES = {"github_sync_schedule", "linear_sync_schedule", "health_checks_schedule"}
SENSORS = {"github_partition_discovery_sensor", "linear_partition_discovery_sensor",
           "sync_failure_sensor", "webhook_sensor"}


def test_the_code_location_loads() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_names_groups_and_partitions_are_stable() -> None:
    graph = defs.resolve_asset_graph()
    found = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitions = node.partitions_def
        found[key.to_user_string()] = (
            node.group_name, partitions.name if isinstance(
                partitions, dg.DynamicPartitionsDefinition) else None)
    assert found == ASSETS


def test_check_names_and_their_blocking_are_stable() -> None:
    found: dict[str, set[str]] = {}
    blocking: set[str] = set()
    for checks in defs.asset_checks or []:
        for spec in checks.check_specs:
            found.setdefault(spec.asset_key.to_user_string(), set()).add(spec.name)
            if spec.blocking:
                blocking.add(spec.name)
    assert found == CHECKS
    assert blocking == BLOCKING


def test_job_schedule_and_sensor_names_are_stable() -> None:
    assert {job.name for job in defs.jobs or []} == JOBS
    assert {s.name for s in defs.schedules or []} == SCHEDULES
    assert {s.name for s in defs.sensors or []} == SENSORS


def test_schedules_and_sensors_start_running_and_obey_sync_status_instead() -> None:
    """On by default: `gofap-import configure-service` is the one switch, not the UI toggle."""
    for schedule in defs.schedules or []:
        assert isinstance(schedule, dg.ScheduleDefinition)
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, schedule.name
    for sensor in defs.sensors or []:
        assert isinstance(sensor, dg.SensorDefinition)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name


def test_every_asset_has_a_pool_per_api() -> None:
    graph = defs.resolve_asset_graph()
    for name, (group, _partitions) in ASSETS.items():
        assert graph.get(dg.AssetKey(name)).pools == {group}, name


def test_one_code_location_name_everywhere() -> None:
    """`dagster dev -m` names the location after the module; the files must agree, or schedule
    state is dropped when switching between them."""
    root = Path(__file__).resolve().parents[1]
    workspace = yaml.safe_load((root / "workspace.yaml").read_text(encoding="utf-8"))
    (entry,) = workspace["load_from"]
    assert entry["python_module"] == {"module_name": CODE_LOCATION,
                                      "location_name": CODE_LOCATION}
    tool = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert tool["dagster"] == {"module_name": CODE_LOCATION, "code_location_name": CODE_LOCATION}
