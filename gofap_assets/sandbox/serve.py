"""`gofap-import sandbox`: serve both emulated APIs until interrupted."""

import contextlib
import signal
import threading

from gofap_assets.sandbox import FaultProfile, Sandbox


def serve_forever(*, port: int, scale: str, seed: int, faults: str = "none",
                  latency_ms: float = 0.0) -> int:
    profile = None if faults == "none" else FaultProfile.named(faults, seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Sandbox(scale, seed, faults=profile, latency_ms=latency_ms, port=port) as sandbox:
        env = sandbox.env
        print(f"sandbox APIs ({scale} scale, seed {seed}, faults: {faults}):\n"
              f"  GITHUB_API_URL={env.github_api_url}  GITHUB_ORG={env.github_org}\n"
              f"  LINEAR_API_URL={env.linear_api_url}\n"
              "  tokens: gofap_assets.sandbox.GITHUB_TOKEN / LINEAR_API_KEY "
              "(written to .gofap_demo/demo.env by `gofap-import demo`)\n"
              "Ctrl+C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    print("sandbox stopped")
    return 0
