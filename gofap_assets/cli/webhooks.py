"""`gofap-import webhooks serve|process`: the webhook receiver, and applying what it received.

Kept apart from the other commands: main.py only registers the parser and the handler.
"""

import argparse
import sys

from gofap_assets.config import ConfigError, Settings
from gofap_assets.logs import configure_logging, redact

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    webhooks = sub.add_parser(
        "webhooks", help="receive GitHub and Linear webhooks, and apply them")
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", help="run the receiver: POST /webhooks/github, POST /webhooks/linear, "
        "GET /healthz (put an HTTPS reverse proxy in front of it)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, behind a proxy)")
    serve.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    actions.add_parser("process", help="apply the received deliveries once: what the "
                       "webhook_sensor does on every tick")


def _settings() -> Settings:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_file)
    return settings


def serve(args: argparse.Namespace) -> int:
    from gofap_assets.webhooks.receiver import create_app
    from gofap_assets.webhooks.server import bind, serve_forever, url_of

    settings = _settings()
    if settings.github_webhook_secret is None and settings.linear_webhook_secret is None:
        raise ConfigError("set GITHUB_WEBHOOK_SECRET and/or LINEAR_WEBHOOK_SECRET (the "
                          "webhooks' signing secrets): without one, every delivery is refused")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: not a TCP port")
    app = create_app(settings)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    state = ", ".join(f"{service}: {'accepting' if secret else 'refused (' + var + ' unset)'}"
                      for service, secret, var in (
                          ("github", settings.github_webhook_secret, "GITHUB_WEBHOOK_SECRET"),
                          ("linear", settings.linear_webhook_secret, "LINEAR_WEBHOOK_SECRET")))
    url = url_of(sock)

    def ready() -> None:
        print(f"webhooks: listening on {url} ({state}); Ctrl+C stops", flush=True)

    serve_forever(app, sock, log_level=settings.log_level, ready=ready)
    return EXIT_OK


def process(_args: argparse.Namespace) -> int:
    from gofap_assets.definitions import build_definitions
    from gofap_assets.sync_runner import open_instance
    from gofap_assets.warehouse import Warehouse
    from gofap_assets.webhooks.runner import process_once

    settings = _settings()
    warehouse = Warehouse(settings.database_url)
    if not warehouse.schema_ready():
        warehouse.create_schema()
    defs = build_definitions(settings)
    instance = open_instance()
    try:
        report = process_once(defs, warehouse, instance, settings)
    finally:
        instance.dispose()
        warehouse.dispose()
    total = sum(report.outcomes.values())
    if not total:
        print("webhooks: nothing to apply")
        return EXIT_OK
    for line in report.runs:
        print(f"  {redact(line)}")
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(report.outcomes.items()))
    print(f"webhooks: {total} deliveries applied: {summary}")
    for failure in report.failures:
        print(f"  FAILED: {redact(failure)}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_PARTIAL


def run(args: argparse.Namespace) -> int:
    return serve(args) if args.webhooks_command == "serve" else process(args)
