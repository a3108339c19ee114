"""`gofap-import sandbox`: serve both emulated APIs until interrupted; with a webhook URL,
change the worlds now and then and post the signed deliveries, to watch a receiver work."""

import contextlib
import os
import secrets
import shlex
import signal
import threading
from collections import Counter

from gofap_assets.sandbox import FaultProfile, Sandbox, WebhookTarget
from gofap_assets.sandbox.webhooks import Sent

SECRET_VARS = ("GITHUB_WEBHOOK_SECRET", "LINEAR_WEBHOOK_SECRET")
MUTATED_FRACTION = 0.02
"""Of each repository's and team's items, per change: a few deliveries, not a flood."""


def serve_forever(*, port: int, scale: str, seed: int, faults: str = "none",
                  latency_ms: float = 0.0, webhook_url: str | None = None,
                  change_every: float = 10.0) -> int:
    """Serve until Ctrl+C or SIGTERM. A port that cannot be bound raises OSError before any
    output, so the caller can say which port and what to do."""
    profile = None if faults == "none" else FaultProfile.named(faults, seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    webhook_env, target = _webhook_target(webhook_url)
    with Sandbox(scale, seed, faults=profile, latency_ms=latency_ms, port=port,
                 webhooks=target) as sandbox:
        exports = "\n".join(f"export {name}={shlex.quote(value)}"
                            for name, value in sandbox.env.as_environ().items())
        print(f"sandbox APIs on {sandbox.server.url} ({scale} scale, seed {seed}, faults: "
              f"{faults}); Ctrl+C stops it.\n"
              "Paste these into another shell to point gofap-import at it (the tokens are the "
              f"sandbox's own, not secrets):\n{exports}", flush=True)
        if target is not None:
            _announce(target.url, webhook_env, change_every)
        with contextlib.suppress(KeyboardInterrupt):
            tick = 0
            while not stop.wait(change_every if target is not None else None):
                tick += 1
                _change_and_post(sandbox, tick, target.url if target else "")
    print("sandbox stopped")
    return 0


def _webhook_target(url: str | None) -> tuple[dict[str, str], WebhookTarget | None]:
    """The secrets deliveries are signed with: the receiver's own from the environment, or
    fresh ones to paste into the receiver's shell."""
    if url is None:
        return {}, None
    fresh = {name: os.environ.get(name) or secrets.token_hex(32) for name in SECRET_VARS}
    printed = {name: value for name, value in fresh.items() if not os.environ.get(name)}
    return printed, WebhookTarget(url, fresh["GITHUB_WEBHOOK_SECRET"],
                                  fresh["LINEAR_WEBHOOK_SECRET"])


def _announce(url: str, printed: dict[str, str], every: float) -> None:
    lines = [f"every {every:g}s the worlds change and the signed deliveries go to {url}"
             "/webhooks/{github,linear}."]
    given = [name for name in SECRET_VARS if name not in printed]
    if given:
        lines.append(f"signed with {' and '.join(given)} from this environment.")
    if printed:
        lines.append("Start the receiver with these too (made up now; set them before "
                     "starting the sandbox to use your own):")
        lines += [f"export {name}={value}" for name, value in printed.items()]
    print("\n".join(lines), flush=True)


def _change_and_post(sandbox: Sandbox, tick: int, url: str) -> None:
    assert sandbox.webhooks is not None
    before = len(sandbox.webhooks.sent)
    sandbox.github.mutate(MUTATED_FRACTION, seed=tick)
    sandbox.linear.mutate(MUTATED_FRACTION, seed=tick)
    sent = sandbox.webhooks.flush()[before:]
    print(f"change {tick}: {_describe(sent, url)}", flush=True)


def _describe(sent: list[Sent], url: str) -> str:
    if not sent:
        return "nothing to post"
    answers = Counter(s.status for s in sent)
    parts = [f"{count} {'unreachable' if status == 0 else f'answered {status}'}"
             for status, count in sorted(answers.items())]
    text = f"{len(sent)} deliveries posted ({', '.join(parts)})"
    if answers.get(0):
        text += f"; is the receiver running at {url}? (gofap-import webhooks serve)"
    return text
