"""`gofap-import sandbox --webhook-url URL` against `gofap-import webhooks serve`, two real
processes over real sockets: the sandbox changes its worlds, posts signed deliveries, and the
receiver stores them."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from gofap_assets_tests.cli.test_sandbox_cli import _read_until
from gofap_assets_tests.reliability.harness import GOFAP_CLI, child_env, run_cli

SECRETS = {"GITHUB_WEBHOOK_SECRET": "gh-secret-for-the-watch-test-000",
           "LINEAR_WEBHOOK_SECRET": "lin-secret-for-the-watch-test-00"}


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([GOFAP_CLI, *args], env=child_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _stop(process: subprocess.Popen[bytes]) -> bytes:
    os.kill(process.pid, signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    return out


def _stored(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT service, count(*) FROM webhook_deliveries "
                                    "GROUP BY service")).all()
    engine.dispose()
    return {service: int(count) for service, count in rows}


def test_the_sandbox_posts_signed_deliveries_the_receiver_stores(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = {**SECRETS, "DATABASE_URL": url}
    assert run_cli(["init-db"], env).returncode == 0
    receiver = _start(["webhooks", "serve", "--port", "0"], env)
    sandbox = None
    try:
        (line,) = _read_until(receiver, 1, seconds=60)
        listening = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert listening is not None, line
        sandbox = _start(["sandbox", "--port", "0", "--webhook-url", listening.group(1),
                          "--change-every", "0.5"], env)
        lines = _read_until(sandbox, 10, seconds=60)
        text = "\n".join(lines)
        assert "signed with GITHUB_WEBHOOK_SECRET and LINEAR_WEBHOOK_SECRET" in text, text
        assert SECRETS["GITHUB_WEBHOOK_SECRET"] not in text, "a given secret is never printed"
        change = next((ln for ln in lines if ln.startswith("change 1: ")), None)
        assert change is not None, text
        posted = re.fullmatch(r"change 1: (\d+) deliveries posted \((\d+) answered 200\)",
                              change)
        assert posted is not None and posted.group(1) == posted.group(2), change
        assert int(posted.group(1)) > 0
    finally:
        if sandbox is not None:
            assert b"sandbox stopped" in _stop(sandbox)
        _stop(receiver)
    stored = _stored(url)
    assert stored.get("github", 0) > 0 and stored.get("linear", 0) > 0, stored
    assert sum(stored.values()) >= int(posted.group(1))


def test_without_secrets_it_makes_them_up_and_says_so(tmp_path: Path) -> None:
    """No receiver running: the secrets to start it with are printed, and each change says the
    receiver could not be reached."""
    sandbox = _start(["sandbox", "--port", "0", "--webhook-url", "http://127.0.0.1:9",
                      "--change-every", "0.2"], {})
    try:
        lines = _read_until(sandbox, 12, seconds=60)
    finally:
        _stop(sandbox)
    text = "\n".join(lines)
    made_up = dict(re.findall(r"^export (\w+_WEBHOOK_SECRET)=([0-9a-f]{64})$", text, re.M))
    assert set(made_up) == set(SECRETS), text
    change = next(ln for ln in lines if ln.startswith("change 1: "))
    assert "unreachable" in change and "gofap-import webhooks serve" in change, change


@pytest.mark.parametrize(("args", "named"), [
    (["--webhook-url", "localhost:8787"], "--webhook-url 'localhost:8787'"),
    (["--webhook-url", "ftp://127.0.0.1:8787"], "--webhook-url"),
    (["--webhook-url", "http://127.0.0.1:x"], "--webhook-url"),
    (["--change-every", "0"], "--change-every 0"),
])
def test_a_bad_webhook_option_is_one_line(args: list[str], named: str) -> None:
    result = run_cli(["sandbox", *args], {}, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert named in line and "Traceback" not in result.stderr
