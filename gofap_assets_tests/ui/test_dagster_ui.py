"""The Dagster UI in headless Chromium: materialize `github_repositories` from its asset page
against the sandbox APIs, watch the run succeed, and find the repositories in the warehouse.

Needs Debian's chromium and the playwright package (no browser download): it skips, saying
which is missing, on a machine without them.
"""

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gofap_assets.dagster_home import CODE_LOCATION, PG_VARS, prepare_dagster_home
from gofap_assets.warehouse import Warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
STARTUP_SECONDS = 120
RUN_SECONDS = 120


def _browser_problem() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class DagsterDev:
    url: str
    warehouse: Warehouse
    repositories: set[str]
    log: Path
    env: dict[str, str]
    """The environment `dagster dev` runs with (sandbox APIs, warehouse, DAGSTER_HOME)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n"
                        f"{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster dev did not answer within {STARTUP_SECONDS}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the whole process group, as Ctrl+C would: dagster dev stops its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[DagsterDev]:
    problem = _browser_problem()
    if problem:
        pytest.skip(problem)
    from gofap_assets.sandbox import Sandbox

    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent))
    if dagster is None:
        pytest.skip("the dagster command is not installed beside this Python")
    with Sandbox("small", seed=1) as sandbox:
        database_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        warehouse = Warehouse(database_url)
        warehouse.create_schema()
        for service in ("github", "linear"):  # keep the schedules and sensors quiet
            warehouse.set_service(service, enabled=False)
        home = prepare_dagster_home(tmp_path / "dagster_home", {})
        env = {k: v for k, v in os.environ.items() if k not in PG_VARS.values()}
        env.update(sandbox.env.as_environ(), DAGSTER_HOME=str(home.path),
                   DATABASE_URL=database_url, LOG_LEVEL="INFO")
        port = _free_port()
        log = tmp_path / "dagster_dev.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [dagster, "dev", "-m", "gofap_assets.definitions", "-h", "127.0.0.1",
                 "-p", str(port)],
                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, process, log)
            names = {repo.full_name for repo in sandbox.github.repositories()}
            yield DagsterDev(url, warehouse, names, log, env)
        finally:
            _stop(process)
            warehouse.dispose()


def test_materialize_github_repositories_from_the_ui(dagster_dev: DagsterDev) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{dagster_dev.url}/assets/github_repositories")
            page.get_by_text("Every repository of GITHUB_ORG").wait_for()
            with contextlib.suppress(PlaywrightTimeout):  # the one-time newsletter prompt
                page.get_by_role("button", name="Skip").click(timeout=8_000)
            page.locator("button", has_text="Materialize").first.click()
            page.get_by_text("Launched run").wait_for()
            page.goto(f"{dagster_dev.url}/runs")
            status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
            status.wait_for(timeout=RUN_SECONDS * 1000)
            outcome = status.inner_text()
        finally:
            browser.close()
    assert outcome == "Success", dagster_dev.log.read_text(errors="replace")[-3000:]
    rows = dagster_dev.warehouse.browse(source="github", data_type="repository", limit=10_000)
    assert {row["title"] for row in rows} == dagster_dev.repositories
    status_row = next(r for r in dagster_dev.warehouse.service_status()
                      if r["service"] == "github")
    assert status_row["success_count"] == 1 and status_row["last_error"] is None


def _browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_FLAGS)


def test_an_operator_reads_the_sync_runs_and_service_settings(dagster_dev: DagsterDev,
                                                              tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    dagster_dev.warehouse.set_service("github", interval_minutes=45)
    gofap = str(Path(sys.executable).with_name("gofap-import"))
    synced = subprocess.run([gofap, "sync", "--service", "github"], env=dagster_dev.env,
                            capture_output=True, text=True, timeout=RUN_SECONDS * 3, check=False)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    url = dagster_dev.url
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            # Runs: the CLI's sync is the named job, tagged with service and trigger.
            page.goto(f"{url}/runs")
            page.get_by_role("link", name="github_sync_job").first.wait_for()
            page.get_by_text("gofap/trigger: cli").first.wait_for()
            page.get_by_text("gofap/service: github").first.wait_for()

            # The listing asset: enabled, interval, last sync, success rate.
            page.goto(f"{url}/assets/github_repositories?view=events")
            with contextlib.suppress(PlaywrightTimeout):  # the one-time newsletter prompt
                page.get_by_role("button", name="Skip").click(timeout=8_000)
            page.get_by_text("service_settings").first.wait_for()
            page.get_by_text(re.compile(
                r"github: disabled, every 45 min \(from set-interval\), last sync "
                r"\d{4}-\d\d-\d\d \d\d:\d\dZ, 100% of the last \d+ syncs succeeded")
            ).first.wait_for()
            page.get_by_text("sync_interval_minutes").first.wait_for()

            # The schedule, evaluated as its next tick would be: why it skips, and the settings.
            page.goto(f"{url}/locations/{CODE_LOCATION}/schedules/github_sync_schedule")
            page.get_by_role("button", name=re.compile("Preview tick result", re.I)).click()
            page.get_by_role("button", name="Continue").click()
            page.get_by_text(re.compile(r"github syncs are disabled.*github: disabled, every 45 "
                                        r"min")).first.wait_for()
        except PlaywrightTimeout:
            page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
            raise
        finally:
            browser.close()
