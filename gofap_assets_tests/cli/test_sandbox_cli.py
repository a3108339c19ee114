"""`gofap-import sandbox` through the real command: its choices in --help, one-line refusals,
a busy port, `--port 0`, and export lines that work when pasted."""

import os
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from gofap_assets.sandbox import GITHUB_TOKEN, LINEAR_API_KEY
from gofap_assets.sandbox.faults import PRESETS
from gofap_assets.sandbox.github.world import SCALES
from gofap_assets_tests.reliability.harness import GOFAP_CLI, child_env, run_cli


def test_help_lists_every_fault_profile_and_scale() -> None:
    result = run_cli(["sandbox", "--help"], {})
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    profiles = re.search(r"--faults PROFILE faults injected into the answers: (.*?) \(default",
                         text)
    assert profiles is not None, result.stdout
    assert profiles.group(1).replace("- ", "-").split(", ") == list(PRESETS)
    assert "size of the generated data: " + ", ".join(SCALES) in text


@pytest.mark.parametrize(("args", "named"), [
    (["--faults", "bogus"], "argument --faults: invalid choice: 'bogus'"),
    (["--scale", "huge"], "argument --scale: invalid choice: 'huge'"),
    (["--port", "70000"], "--port 70000 is not a port number"),
    (["--latency-ms", "-5"], "--latency-ms -5 cannot be negative"),
])
def test_a_bad_option_is_refused_in_one_line(args: list[str], named: str) -> None:
    result = run_cli(["sandbox", *args], {}, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert named in line and "Traceback" not in result.stderr
    if "--faults" in args:
        assert all(f"'{name}'" in line for name in PRESETS)


def test_a_busy_port_is_one_line_naming_it_and_the_way_out() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["sandbox", "--port", str(port)], {}, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port 0" in line


def _read_until(process: subprocess.Popen[bytes], lines: int, seconds: float) -> list[str]:
    """The first `lines` lines of stdout, read straight from the pipe (no buffer to hide in)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + seconds
    while data.count(b"\n") < lines:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the sandbox printed only {data!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the sandbox exited ({process.poll()}) after {data!r}"
            data += chunk
    return data.decode().splitlines()[:lines]


def test_port_0_serves_on_a_free_port_and_prints_exports_to_paste() -> None:
    process = subprocess.Popen([GOFAP_CLI, "sandbox", "--port", "0"], env=child_env({}),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        output = _read_until(process, 7, seconds=60)
        first = re.match(r"^sandbox APIs on http://127\.0\.0\.1:(\d+) ", output[0])
        assert first is not None, output
        port = int(first.group(1))
        assert port != 0
        exports = dict(re.fullmatch(r"export (\w+)=(\S+)", line).groups()  # type: ignore[union-attr]
                       for line in output if line.startswith("export "))
        assert exports == {
            "GITHUB_API_URL": f"http://127.0.0.1:{port}/github", "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_ORG": "acme", "LINEAR_API_URL": f"http://127.0.0.1:{port}/linear/graphql",
            "LINEAR_API_KEY": LINEAR_API_KEY}
        assert "gofap_assets.sandbox." not in "\n".join(output)
        pasted = run_cli(["test-connections"], exports, timeout=60)  # as if pasted in a shell
        assert pasted.returncode == 0, pasted.stdout + pasted.stderr
        assert pasted.stdout.count("ok") >= 2, pasted.stdout
    finally:
        os.kill(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and b"sandbox stopped" in out
