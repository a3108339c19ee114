"""Webhook benchmark: the receiver's throughput and answer times (idle, and while a sync
writes), and the latency from a sandbox change to the warehouse through `webhooks process`.

    python -m bench.webhooks [--deliveries 2000] [--senders 16] [--json out.json]

The receiver runs as its own process (`gofap-import webhooks serve`), as in production, so the
senders' CPU is not its CPU. Benchmarks, not tests: nothing asserts on time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import httpx

from gofap_assets.config import Settings
from gofap_assets.warehouse import Batch, Record, Warehouse
from gofap_assets.warehouse.store import utcnow
from gofap_assets.webhooks.signatures import github_signature

SECRET = "bench-webhook-secret"
BIN = Path(sys.executable).parent / "gofap-import"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([str(BIN), "webhooks", "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError(f"the receiver did not start: {line!r}")
    return process, line.split("listening on ", 1)[1].split()[0]


def _usage(pid: int) -> tuple[float | None, float | None]:
    """A running process's peak resident memory in MB (VmHWM) and CPU seconds so far, from
    Linux's /proc; (None, None) elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None, None
    peak = next((int(line.split()[1]) / 1024 for line in status.splitlines()
                 if line.startswith("VmHWM:")), None)
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return peak, cpu


def _writer(url: str, stop: threading.Event) -> int:
    """A sync's writes: pages of 100 issues, back to back."""
    store, pages = Warehouse(url), 0
    while not stop.is_set():
        now = utcnow()
        store.write(Batch("github", "issue", "acme/bench", [
            Record(source="github", data_type="issue", external_id=f"{pages}-{i}",
                   parent_key="acme/bench", title="t", description="d" * 200, state="open",
                   external_created_at=now, external_updated_at=now, raw_data={"i": i},
                   processed_data={"i": i}) for i in range(100)]))
        pages += 1
    store.dispose()
    return pages


def receiver_throughput(workdir: Path, deliveries: int, senders: int,
                        busy: bool) -> dict[str, Any]:
    url = f"sqlite:///{workdir / f'receiver-{busy}.db'}"
    Warehouse(url).create_schema()
    env = {**os.environ, "DATABASE_URL": url, "GITHUB_WEBHOOK_SECRET": SECRET,
           "LOG_LEVEL": "WARNING"}
    process, base = _serve(env)
    _, cpu_before = _usage(process.pid)
    bodies = [json.dumps({"action": "edited", "issue": {"id": n, "number": n},
                          "repository": {"full_name": "acme/api"}}).encode()
              for n in range(deliveries)]
    local = threading.local()

    def send(n: int) -> tuple[int, float]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=10.0)
        started = time.perf_counter()
        status = local.client.post(f"{base}/webhooks/github", content=bodies[n], headers={
            "X-GitHub-Event": "issues", "X-GitHub-Delivery": f"bench-{busy}-{n}",
            "X-Hub-Signature-256": github_signature(SECRET, bodies[n])}).status_code
        return status, time.perf_counter() - started

    stop = threading.Event()
    try:
        with ThreadPoolExecutor(1) as sync, ThreadPoolExecutor(senders) as pool:
            pages = sync.submit(_writer, url, stop) if busy else None
            started = time.perf_counter()
            results = list(pool.map(send, range(deliveries)))
            wall = time.perf_counter() - started
            stop.set()
            written = pages.result() if pages else 0
        peak, cpu_after = _usage(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    answers = [seconds for _, seconds in results]
    return {"scenario": "during a sync" if busy else "idle warehouse",
            "deliveries": deliveries, "accepted": sum(s == 200 for s, _ in results),
            "per_second": deliveries / wall, "p50_ms": 1000 * statistics.median(answers),
            "p99_ms": 1000 * _percentile(answers, 0.99), "max_ms": 1000 * max(answers),
            "sync_pages_written": written, "receiver_peak_rss_mb": peak,
            "receiver_cpu_s": (cpu_after - cpu_before) if cpu_after is not None
            and cpu_before is not None else None}


def event_to_warehouse(workdir: Path) -> dict[str, Any]:
    """Mutate the sandbox, wait for its deliveries, apply them: seconds for each stage."""
    from gofap_assets.definitions import build_definitions
    from gofap_assets.logs import configure_logging
    from gofap_assets.sandbox import Sandbox, WebhookTarget
    from gofap_assets.sync_runner import sync_service
    from gofap_assets.webhooks.receiver import create_app
    from gofap_assets.webhooks.runner import process_once
    from gofap_assets.webhooks.server import ReceiverServer

    url = f"sqlite:///{workdir / 'latency.db'}"
    saved = dict(os.environ)
    os.environ.update(DATABASE_URL=url, GITHUB_WEBHOOK_SECRET=SECRET,
                      LINEAR_WEBHOOK_SECRET=SECRET, LOG_LEVEL="WARNING")
    os.environ.pop("DAGSTER_HOME", None)
    try:
        with ReceiverServer(create_app(Settings.from_env())) as receiver, Sandbox(
                "small", webhooks=WebhookTarget(receiver.url, SECRET, SECRET)) as sandbox, \
                dg.instance_for_test() as instance:
            os.environ.update(sandbox.env.as_environ())
            settings = Settings.from_env()
            configure_logging(settings.log_level)
            defs = build_definitions(settings)
            for service in ("github", "linear"):
                sync_service(defs, service, instance=instance)
            store = Warehouse(url)
            assert sandbox.webhooks is not None
            started = time.perf_counter()
            sandbox.github.mutate(0.05, seed=9)
            sandbox.linear.mutate(0.02, seed=9)
            sent = sandbox.webhooks.flush()
            delivered = time.perf_counter()
            report = process_once(defs, store, instance, settings)
            applied = time.perf_counter()
            store.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"deliveries": len(sent), "runs": len(report.runs),
            "outcomes": dict(report.outcomes), "delivered_s": delivered - started,
            "applied_s": applied - delivered, "event_to_warehouse_s": applied - started,
            "note": "through `webhooks process`; the sensor adds up to its 30 s interval"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gofap-bench-webhooks-") as tmp:
        workdir = Path(tmp)
        results = [receiver_throughput(workdir, args.deliveries, args.senders, busy)
                   for busy in (False, True)]
        latency = event_to_warehouse(workdir)
    print(f"{'receiver':<16} {'accepted':>9} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7}")
    for r in results:
        print(f"{r['scenario']:<16} {r['accepted']:>5}/{r['deliveries']:<4}"
              f"{r['per_second']:>7.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
              f"{r['max_ms']:>7.1f}")
    print(f"event to warehouse: {latency['deliveries']} deliveries posted in "
          f"{latency['delivered_s']:.2f} s, applied in {latency['applied_s']:.2f} s "
          f"({latency['runs']} runs): {latency['event_to_warehouse_s']:.2f} s in all "
          f"({latency['note']})")
    if args.json:
        args.json.write_text(json.dumps({"receiver": results, "latency": latency}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
