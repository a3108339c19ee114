"""Linear's workspace check (LINEAR_WORKSPACE_ID) under a spent budget, over real sockets: the
run defers, as every listing does, instead of failing; the next sync, with the budget back,
completes the data."""

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from gofap_assets.config import Settings
from gofap_assets.definitions import build_definitions
from gofap_assets.sandbox.linear import LinearApp
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.sync_runner import PLANS, RANGE_END, RANGE_START, sync_job_name, sync_service
from gofap_assets_tests.reliability.harness import apply_env, linear_differences, linear_world

KEY = "lin_api_sandbox_workspace_budget_0000"


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _deferred(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data_type, partition_key FROM sync_partitions "
                                    "WHERE deferred_until IS NOT NULL")).all()
    engine.dispose()
    return sorted((r[0], r[1]) for r in rows)


def test_a_spent_budget_at_the_workspace_check_defers_the_run(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    """A run of the team partitions (a schedule's, a webhook's) that meets a spent budget at its
    workspace check succeeds with every team deferred."""
    world = linear_world(71)
    clock = Clock()
    app = LinearApp(world, api_key=KEY, enforce_rate_limits=True, clock=clock)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with SandboxServer({"/linear": app}) as server, dg.instance_for_test() as instance:
        apply_env(monkeypatch, {
            "LINEAR_API_URL": f"{server.url}/linear/graphql", "LINEAR_API_KEY": KEY,
            "LINEAR_WORKSPACE_ID": world.organization["urlKey"], "DATABASE_URL": url,
            "GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS": "0"})
        defs = build_definitions(Settings.from_env())
        assert sync_service(defs, "linear", instance=instance).ok, "the first sync has budget"
        world.mutate(0.3, seed=3)
        teams = instance.get_dynamic_partitions(PLANS["linear"].partitions)
        assert len(teams) == 2

        app.spend_request_budget()  # another client of the same key spent the hour
        selection = PLANS["linear"].partitioned_assets
        result = defs.resolve_job_def(sync_job_name("linear")).execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(name) for name in selection],
            tags={RANGE_START: teams[0], RANGE_END: teams[-1]}, raise_on_error=False)

        assert result.success, "a spent budget is not a failure"
        deferred = _deferred(url)
        assert len(deferred) == len(selection) * len(teams), deferred
        assert {key for _type, key in deferred} == set(teams)

        clock.now += 3600  # the hour is over
        assert sync_service(defs, "linear", instance=instance).ok
    assert _deferred(url) == []
    assert linear_differences(url, world, ignore_deleted=True) == {}
