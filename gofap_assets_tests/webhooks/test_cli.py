"""`gofap-import webhooks serve` as its own process: it answers, keeps secrets out of its
output, and a SIGKILL loses no delivery it has acknowledged."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gofap_assets.cli.main import main
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.webhooks.helpers import (
    GITHUB_SECRET,
    LINEAR_SECRET,
    github_request,
    issue_payload,
    rows,
)

BIN = Path(sys.executable).parent / "gofap-import"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items()
              if not k.startswith(("GITHUB_", "LINEAR_", "DAGSTER_", "LOG_"))}
    values.update(DATABASE_URL=f"sqlite:///{tmp_path / 'warehouse.db'}",
                  GITHUB_WEBHOOK_SECRET=GITHUB_SECRET, LINEAR_WEBHOOK_SECRET=LINEAR_SECRET,
                  LOG_LEVEL="DEBUG")
    return values


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([str(BIN), "webhooks", "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, line + process.stderr.read()
    url = line.split("listening on ", 1)[1].split()[0]
    yield process, url
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def test_serve_accepts_refuses_and_never_prints_a_secret(
        served: tuple[subprocess.Popen[str], str], env: dict[str, str]) -> None:
    process, url = served
    good = github_request("issues", issue_payload(), delivery="one")
    assert httpx.post(url + "/webhooks/github", **good).status_code == 200
    forged = github_request("issues", issue_payload(), secret="guess", delivery="two")
    assert httpx.post(url + "/webhooks/github", **forged).status_code == 401
    assert httpx.get(url + "/healthz").json()["status"] == "ok"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "X-Hub-Signature-256 does not match" in err
    for secret in (GITHUB_SECRET, LINEAR_SECRET):
        assert secret not in out and secret not in err
    assert [r["delivery_id"] for r in rows(Warehouse(env["DATABASE_URL"]))] == ["one"]


def test_a_receiver_killed_mid_burst_loses_no_acknowledged_delivery(
        served: tuple[subprocess.Popen[str], str], env: dict[str, str]) -> None:
    process, url = served
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    local = threading.local()

    def send(n: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=10)
        request = github_request("issues", issue_payload(issue_id=n), delivery=f"d-{n}")
        try:
            answer = local.client.post(url + "/webhooks/github", **request)
        except httpx.HTTPError:
            return  # the receiver died before answering: GitHub would show a failure
        if answer.status_code == 200:
            with lock:
                acknowledged.append(f"d-{n}")
                if len(acknowledged) >= 100:
                    enough.set()

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(send, n) for n in range(1000)]
        assert enough.wait(timeout=120), "the receiver acknowledged deliveries"
        process.send_signal(signal.SIGKILL)
        for future in futures:
            future.result()
    process.wait(timeout=30)
    stored = {r["delivery_id"] for r in rows(Warehouse(env["DATABASE_URL"]))}
    assert len(acknowledged) >= 100
    assert set(acknowledged) <= stored, "an acknowledged delivery is a committed one"
    assert len(stored) < 1000, "the kill happened mid-burst"


def test_config_info_masks_the_webhook_secrets(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               env: dict[str, str]) -> None:
    for name in ("GITHUB_WEBHOOK_SECRET", "LINEAR_WEBHOOK_SECRET", "DATABASE_URL"):
        monkeypatch.setenv(name, env[name])
    assert main(["config-info"]) == 0
    out = capsys.readouterr().out
    assert GITHUB_SECRET not in out and LINEAR_SECRET not in out
    lines = [line for line in out.splitlines() if "WEBHOOK_SECRET" in line]
    assert len(lines) == 2 and all("***" in line for line in lines)


def test_serve_without_any_secret_is_a_configuration_error(
        env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if "WEBHOOK_SECRET" not in k}
    done = subprocess.run([str(BIN), "webhooks", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "GITHUB_WEBHOOK_SECRET" in done.stderr
