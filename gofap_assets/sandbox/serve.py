"""`gofap-import sandbox`: serve both emulated APIs until interrupted."""

import contextlib
import shlex
import signal
import threading

from gofap_assets.sandbox import FaultProfile, Sandbox


def serve_forever(*, port: int, scale: str, seed: int, faults: str = "none",
                  latency_ms: float = 0.0) -> int:
    """Serve until Ctrl+C or SIGTERM. A port that cannot be bound raises OSError before any
    output, so the caller can say which port and what to do."""
    profile = None if faults == "none" else FaultProfile.named(faults, seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Sandbox(scale, seed, faults=profile, latency_ms=latency_ms, port=port) as sandbox:
        exports = "\n".join(f"export {name}={shlex.quote(value)}"
                            for name, value in sandbox.env.as_environ().items())
        print(f"sandbox APIs on {sandbox.server.url} ({scale} scale, seed {seed}, faults: "
              f"{faults}); Ctrl+C stops it.\n"
              "Paste these into another shell to point gofap-import at it (the tokens are the "
              f"sandbox's own, not secrets):\n{exports}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    print("sandbox stopped")
    return 0
