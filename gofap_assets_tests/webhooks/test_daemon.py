"""A real `dagster-daemon` applies webhooks: its `webhook_sensor` ticks request the targeted
runs, the daemon launches them, a later tick records their outcome, and the warehouse ends up
equal to the sandbox's ground truth, deletions included, without a full sync."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gofap_assets.config import Settings
from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets.definitions import build_definitions
from gofap_assets.sandbox import Sandbox, WebhookTarget
from gofap_assets.sandbox.github import GitHubWorld
from gofap_assets.sandbox.linear import LinearWorld
from gofap_assets.sync_runner import open_instance, sync_service
from gofap_assets.warehouse import Warehouse
from gofap_assets.webhooks import deliveries
from gofap_assets.webhooks.receiver import create_app
from gofap_assets.webhooks.server import ReceiverServer
from gofap_assets_tests.groundtruth import differences, expected, warehouse_rows
from gofap_assets_tests.webhooks.helpers import GITHUB_SECRET, LINEAR_SECRET

DEADLINE_SECONDS = 600
"""How long the daemon may take on a loaded machine; it is a limit, not a measurement."""


def test_the_daemon_applies_webhooks_through_the_sensor(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    for var in ("LOG_FILE", "GITHUB_ORG", "SYNC_INTERVAL_MINUTES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("LINEAR_WEBHOOK_SECRET", LINEAR_SECRET)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    prepare_dagster_home(tmp_path / "home")
    github = GitHubWorld(4, repos=3, issues_per_repo=30, commits_per_repo=10)
    linear = LinearWorld(4, teams=2, issues_per_team=40, users=5, projects=2)
    receiver = ReceiverServer(create_app(Settings.from_env()))
    with receiver, Sandbox(github=github, linear=linear, webhooks=WebhookTarget(
            receiver.url, GITHUB_SECRET, LINEAR_SECRET)) as sandbox:
        for name, value in sandbox.env.as_environ().items():
            monkeypatch.setenv(name, value)
        defs = build_definitions(Settings.from_env())
        instance = open_instance()
        for service in ("github", "linear"):
            assert sync_service(defs, service, instance=instance).ok
        instance.dispose()
        github.mutate(0.2, seed=3)
        linear.mutate(0.15, seed=3)
        assert sandbox.webhooks is not None
        sent = sandbox.webhooks.flush()
        assert sent and {s.status for s in sent} == {200}
        assert linear.deleted_ids()
        store = Warehouse(url)
        log = (tmp_path / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m",
             "gofap_assets.definitions"], env=dict(os.environ), stdout=log,
            stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while "pending" in deliveries.counts(store) and time.monotonic() < deadline:
                time.sleep(2)  # polling the warehouse for the daemon's progress
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
            log.close()
        counts = deliveries.counts(store)
        assert set(counts) <= {"synced", "deleted"}, (counts, (tmp_path / "daemon.log")
                                                      .read_text()[-3000:])
        assert sum(counts.values()) == len(sent)
        for source, world in (("github", github), ("linear", linear)):
            assert differences(warehouse_rows(url, source),
                               expected(world.expected_rows())) == {}, source
        store.dispose()
