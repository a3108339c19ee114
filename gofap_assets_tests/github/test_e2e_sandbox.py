"""GitHub end to end over real sockets: the `gofap-import` CLI against the sandbox emulator,
checked against the sandbox's ground truth after a first sync, an incremental one and --full."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets.cli.main import main
from gofap_assets.github.sync import CHILD_TYPES
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets_tests.groundtruth import differences, expected, warehouse_rows

TOKEN = "ghp_e2e_sandbox_token_0123456789"


@pytest.fixture
def world() -> GitHubWorld:
    return GitHubWorld(3, repos=3, issues_per_repo=120, commits_per_repo=130,
                       vanished_repo=False)


@pytest.fixture
def server(world: GitHubWorld) -> Iterator[SandboxServer]:
    with SandboxServer({"/github": GitHubApp(world, token=TOKEN)}) as srv:
        yield srv


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: SandboxServer,
        world: GitHubWorld, database_url: str) -> dict[str, str]:
    values = {"GITHUB_API_URL": f"{server.url}/github", "GITHUB_TOKEN": TOKEN,
              "GITHUB_ORG": world.org, "DATABASE_URL": database_url, "MAX_RETRIES": "2"}
    for var in ("LINEAR_API_KEY", "DAGSTER_HOME", "LOG_FILE"):
        monkeypatch.delenv(var, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def github_truth(world: GitHubWorld) -> dict:
    return expected(world.expected_rows())


EVERY_TYPE = {"repository", *CHILD_TYPES}


def assert_every_type(rows: dict) -> None:
    """The comparison means something for each type: the world holds some of every one."""
    assert {key[1] for key in rows} == EVERY_TYPE


def test_first_incremental_and_full_sync_match_the_ground_truth(
        env: dict[str, str], world: GitHubWorld, server: SandboxServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = env["DATABASE_URL"]
    assert main(["init-db"]) == 0
    assert main(["sync", "--service", "github"]) == 0
    assert differences(warehouse_rows(url, "github"), github_truth(world)) == {}
    assert_every_type(github_truth(world))
    out = capsys.readouterr().out
    assert "github_issues:" in out and "new" in out

    changed = world.mutate(0.05, seed=11)
    assert changed["issues_edited"] + changed.get("issues_closed", 0) > 0
    for kind in ("comments_created", "comments_edited", "reviews_submitted", "labels_edited",
                 "milestones_edited", "releases_created", "comments_deleted", "labels_deleted",
                 "milestones_deleted", "releases_deleted"):
        assert changed[kind] > 0, kind
    server.reset_stats()
    assert main(["sync", "--service", "github"]) == 0
    actual = warehouse_rows(url, "github")
    wanted = github_truth(world)
    # An incremental sync cannot see deletions; everything else must match.
    assert differences({k: v for k, v in actual.items() if k[1:] not in
                        world.deleted_ids()}, wanted) == {}
    incremental_requests = server.stats.requests

    server.reset_stats()
    assert main(["sync", "--service", "github", "--full"]) == 0
    assert server.stats.requests > incremental_requests
    assert differences(warehouse_rows(url, "github"), github_truth(world)) == {}
    deleted = warehouse_rows(url, "github", include_deleted=True).keys() - github_truth(
        world).keys()
    assert {key[1:] for key in deleted} == world.deleted_ids()
    assert {"issue_comment", "label", "milestone", "release"} <= {
        data_type for data_type, _id in world.deleted_ids()}


def test_an_idle_organization_is_answered_with_304s(env: dict[str, str],
                                                    server: SandboxServer) -> None:
    for _ in range(3):
        server.reset_stats()
        assert main(["sync", "--service", "github"]) == 0
    stats = server.stats
    # 3 normal + archived + empty + no-issues repositories, 8 listings each (reviews cost
    # nothing while no pull request changed), plus the repository listing; only that and the
    # three "nothing here" answers (409 commits, 410 issues and their comments) are not 304.
    assert stats.requests == 6 * 8 + 1
    assert stats.not_modified == stats.requests - 4


def test_one_failing_repository_does_not_lose_the_others(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    world = GitHubWorld(5, repos=2, issues_per_repo=30, commits_per_repo=10,
                        vanished_repo=True, dmca_repo=True)
    with SandboxServer({"/github": GitHubApp(world, token=TOKEN)}) as srv:
        for name, value in {"GITHUB_API_URL": f"{srv.url}/github", "GITHUB_TOKEN": TOKEN,
                            "GITHUB_ORG": world.org, "DATABASE_URL": database_url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("LINEAR_API_KEY", raising=False)
        assert main(["sync", "--service", "github"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "dmca-takedown" in out and "vanished-service" in out
    truth = {k: v for k, v in github_truth(world).items()
             if not any(bad in (v[0] or "") for bad in ("dmca-takedown", "vanished-service"))}
    actual = warehouse_rows(database_url, "github")
    assert truth.keys() <= actual.keys()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        errors = dict(conn.execute(sa.text(
            "SELECT partition_key, last_error FROM sync_partitions "
            "WHERE data_type = 'issue' AND last_error IS NOT NULL")).all())
        status = conn.execute(sa.text(
            "SELECT failure_count, last_error FROM sync_status WHERE service = 'github'")).one()
    engine.dispose()
    assert set(errors) == {f"{world.org}/dmca-takedown", f"{world.org}/vanished-service"}
    assert "451" in errors[f"{world.org}/dmca-takedown"]
    assert "404" in errors[f"{world.org}/vanished-service"]
    assert status[0] >= 1 and "dmca-takedown" in status[1]


@pytest.mark.slow
def test_dagster_cli_materializes_one_repository_partition(
        env: dict[str, str], world: GitHubWorld, tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    child_env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
    assert main(["sync", "--service", "github"]) == 0  # the listing creates the partitions
    repo = f"{world.org}/{world.repositories()[0].name}"
    listing = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
         "gofap_assets.definitions", "--select", "github_repositories",
         "--config-json", '{"execution": {"config": {"in_process": {}}}}'],
        env=child_env, capture_output=True, text=True, timeout=180)
    assert listing.returncode == 0, listing.stderr[-2000:]
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
         "gofap_assets.definitions", "--select", "github_issues", "--partition", repo,
         "--config-json", '{"execution": {"config": {"in_process": {}}}}'],
        env=child_env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "RUN_SUCCESS" in result.stderr or "Finished execution" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
