"""From a sandbox mutation to the warehouse through webhooks alone: the sandbox posts signed
deliveries to the receiver, and `webhooks process` or the sensor applies them, deletions
included, without a full sync; the result equals the sandbox's ground truth."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from gofap_assets.cli.main import main
from gofap_assets.config import Settings
from gofap_assets.definitions import build_definitions
from gofap_assets.sandbox import Sandbox, WebhookTarget
from gofap_assets.sandbox.github import GitHubWorld
from gofap_assets.sandbox.linear import LinearWorld
from gofap_assets.sync_runner import sync_service
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.resource import WarehouseResource
from gofap_assets.webhooks import deliveries
from gofap_assets.webhooks.process import WEBHOOK_TAG
from gofap_assets.webhooks.receiver import create_app
from gofap_assets.webhooks.runner import process_once
from gofap_assets.webhooks.sensor import webhook_sensor
from gofap_assets.webhooks.server import ReceiverServer
from gofap_assets_tests.groundtruth import differences, expected, warehouse_rows
from gofap_assets_tests.webhooks.helpers import GITHUB_SECRET, LINEAR_SECRET, rows


@dataclass
class Setup:
    sandbox: Sandbox
    settings: Settings
    defs: dg.Definitions
    store: Warehouse
    instance: dg.DagsterInstance
    url: str

    def mutate(self, **github: object) -> int:
        """Change both worlds; wait until every delivery has been answered."""
        self.sandbox.github.mutate(0.3, seed=5, **github)
        self.sandbox.linear.mutate(0.1, seed=5)
        assert self.sandbox.webhooks is not None
        sent = self.sandbox.webhooks.flush()
        assert sent and {s.status for s in sent} == {200}, "every delivery is accepted"
        return len(sent)

    def truth(self, source: str) -> dict:
        world = self.sandbox.github if source == "github" else self.sandbox.linear
        return expected(world.expected_rows())

    def assert_matches_the_worlds(self) -> None:
        for source in ("github", "linear"):
            assert differences(warehouse_rows(self.url, source), self.truth(source)) == {}, \
                source


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Setup]:
    for var in ("DAGSTER_HOME", "LOG_FILE", "GITHUB_ORG", "SYNC_INTERVAL_MINUTES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("LINEAR_WEBHOOK_SECRET", LINEAR_SECRET)
    store = Warehouse(database_url)
    store.create_schema()
    receiver = ReceiverServer(create_app(Settings.from_env()))
    github = GitHubWorld(4, repos=5, issues_per_repo=40, commits_per_repo=20)
    linear = LinearWorld(4, teams=2, issues_per_team=60, users=6, projects=3)
    target = WebhookTarget(receiver.url, GITHUB_SECRET, LINEAR_SECRET)
    with receiver, Sandbox(github=github, linear=linear, webhooks=target) as sandbox, \
            dg.instance_for_test() as instance:
        for name, value in sandbox.env.as_environ().items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env()
        defs = build_definitions(settings)
        for service in ("github", "linear"):
            assert sync_service(defs, service, instance=instance).ok
        yield Setup(sandbox, settings, defs, store, instance, database_url)
    store.dispose()


def test_changes_and_deletions_arrive_through_webhooks_process(setup: Setup) -> None:
    imported = {key[1:] for key in warehouse_rows(setup.url, "github")}
    received = setup.mutate(delete_repos=True)
    deleted_github = setup.sandbox.github.deleted_ids()
    deleted_linear = setup.sandbox.linear.deleted_keys()
    assert deleted_github and deleted_linear, "the mutation deleted something in both worlds"
    setup.sandbox.server.reset_stats()

    report = process_once(setup.defs, setup.store, setup.instance, setup.settings)

    assert report.ok, report.failures
    assert sum(report.outcomes.values()) == received
    assert report.outcomes["deleted"] >= len(deleted_linear)
    assert len(report.runs) < received / 3, "events are coalesced into few runs"
    assert deliveries.counts(setup.store).get("pending", 0) == 0
    setup.assert_matches_the_worlds()
    marked = warehouse_rows(setup.url, "github", include_deleted=True).keys() - \
        warehouse_rows(setup.url, "github").keys()
    assert {key[1:] for key in marked} >= deleted_github & imported
    marked_linear = warehouse_rows(setup.url, "linear", include_deleted=True).keys() - \
        warehouse_rows(setup.url, "linear").keys()
    assert {key[1:] for key in marked_linear} == deleted_linear
    assert all(r["processed_at"] and r["outcome"] for r in rows(setup.store))


def test_processing_again_or_replaying_stale_events_changes_nothing(setup: Setup) -> None:
    setup.mutate()
    assert process_once(setup.defs, setup.store, setup.instance, setup.settings).ok
    before = {s: warehouse_rows(setup.url, s, include_deleted=True) for s in ("github", "linear")}

    again = process_once(setup.defs, setup.store, setup.instance, setup.settings)
    assert sum(again.outcomes.values()) == 0, "nothing is pending any more"
    # Every delivery again, as new deliveries and in reverse: edits of deleted items come last.
    stale = [deliveries.Delivery(r["service"], f"replay-{r['delivery_id']}", r["event"],
                                 r["action"], r["partition_key"], r["payload"])
             for r in reversed(rows(setup.store))]
    assert all(deliveries.insert_all(setup.store, stale))
    assert process_once(setup.defs, setup.store, setup.instance, setup.settings).ok
    after = {s: warehouse_rows(setup.url, s, include_deleted=True) for s in ("github", "linear")}
    assert after == before
    setup.assert_matches_the_worlds()


def test_the_sensor_requests_partition_runs_and_records_their_outcome(setup: Setup) -> None:
    received = setup.mutate()
    resources = {"warehouse": WarehouseResource(database_url=setup.url)}
    with dg.build_sensor_context(instance=setup.instance, resources=resources,
                                 definitions=setup.defs) as context, \
            dg.partition_loading_context(dynamic_partitions_store=setup.instance):
        # What the daemon does: evaluate, then map each request onto the asset job it needs.
        result = webhook_sensor.evaluate_tick(context)
    requests = result.run_requests or []
    assert requests and len(requests) < received / 3
    assert all(request.job_name for request in requests), "each maps onto an asset job"
    counts = deliveries.counts(setup.store)
    assert counts.get("pending", 0) == len(deliveries.handed_to_runs(setup.store)) > 0
    for request in requests:  # what the daemon does with the requests
        assert request.tags[WEBHOOK_TAG] == request.run_key
        selection = list(request.asset_selection or [])
        assert dg.materialize(setup.defs.assets or [], selection=selection,
                              resources=setup.defs.resources, instance=setup.instance,
                              partition_key=request.partition_key, tags=request.tags).success
    with dg.build_sensor_context(instance=setup.instance, resources=resources) as context:
        settled = webhook_sensor(context)
    assert isinstance(settled, dg.SensorResult) and not settled.run_requests
    counts = deliveries.counts(setup.store)
    assert "pending" not in counts and set(counts) <= {"synced", "deleted"}
    setup.assert_matches_the_worlds()


def test_a_disabled_service_is_recorded_and_skipped(setup: Setup) -> None:
    setup.store.set_service("github", enabled=False)
    setup.mutate()
    before = warehouse_rows(setup.url, "github", include_deleted=True)
    report = process_once(setup.defs, setup.store, setup.instance, setup.settings)
    assert report.ok
    github = [r for r in rows(setup.store) if r["service"] == "github"]
    assert github and all(r["outcome"].startswith("ignored: github syncs are disabled")
                          for r in github)
    assert warehouse_rows(setup.url, "github", include_deleted=True) == before
    assert differences(warehouse_rows(setup.url, "linear"), setup.truth("linear")) == {}


def test_the_process_command_applies_and_reports(setup: Setup,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    setup.mutate()
    assert main(["webhooks", "process"]) == 0
    out = capsys.readouterr().out
    assert "deliveries applied" in out and "synced" in out
    setup.assert_matches_the_worlds()
    assert main(["webhooks", "process"]) == 0
    assert "nothing to apply" in capsys.readouterr().out
