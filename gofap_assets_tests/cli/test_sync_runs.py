"""`gofap-import sync` on a DAGSTER_HOME: its runs are the named jobs the UI lists, tagged with
the service and the trigger, one for the listing and one per stage of partitioned assets, and
the listing carries the service's settings."""

from pathlib import Path

import dagster as dg
import pytest

from gofap_assets.lib.scheduling import SERVICE_TAG
from gofap_assets.sandbox import Sandbox
from gofap_assets.sync_runner import PLANS, TRIGGER_TAG
from gofap_assets_tests.reliability.harness import run_cli


def test_cli_syncs_run_the_named_jobs_tagged_with_service_and_trigger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "dagster_home"
    database_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with Sandbox("small", seed=4) as sandbox:
        env = {**sandbox.env.as_environ(), "DATABASE_URL": database_url,
               "DAGSTER_HOME": str(home)}
        assert run_cli(["set-interval", "github", "45"], env).returncode == 0
        result = run_cli(["sync"], env)
    assert result.returncode == 0, result.stdout + result.stderr

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        by_service: dict[str, list[dg.DagsterRun]] = {}
        for run in runs:
            by_service.setdefault(run.tags[SERVICE_TAG], []).append(run)
        assert sorted(by_service) == ["github", "linear"]
        for service, service_runs in by_service.items():
            plan = PLANS[service]
            stages = [s for s in (plan.partitioned_assets, plan.later_assets) if s]
            assert len(service_runs) == 1 + len(stages), \
                "one listing run and one single-run backfill per stage"
            assert {run.job_name for run in service_runs} == {f"{service}_sync_job"}
            assert all(run.tags[TRIGGER_TAG] == "cli" for run in service_runs)
            assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in service_runs)
        event = instance.get_latest_materialization_event(dg.AssetKey("github_repositories"))
        assert event is not None and event.asset_materialization is not None
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert metadata["service_enabled"] is True
    assert metadata["sync_interval_minutes"] == 45 and metadata["sync_interval_from"] == \
        "set-interval"
    assert metadata["success_rate"] == "100% of the last 1 syncs"
    assert isinstance(metadata["last_sync"], float)
    assert "github: enabled, every 45 min (from set-interval)" in metadata["service_settings"]
