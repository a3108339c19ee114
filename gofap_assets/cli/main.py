"""`gofap-import`: the seed's commands, running on Dagster.

Exit codes: 0 success; 1 a sync ran but some part failed; 2 usage or configuration error.
"""

import argparse
import sys
from collections.abc import Callable, Sequence

from gofap_assets.cli import commands, webhooks
from gofap_assets.config import ConfigError
from gofap_assets.warehouse import WarehouseError

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gofap-import",
        description="Import Linear and GitHub work data into the GOFAP warehouse.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-db", help="create the warehouse tables and views (idempotent)")
    sub.add_parser("config-info", help="show every setting and where it came from")
    sub.add_parser("test-connections", help="authenticate against each configured service")

    sync = sub.add_parser("sync", help="sync now, through Dagster")
    sync.add_argument("--service", choices=["linear", "github"],
                      help="only this service (default: every configured one)")
    sync.add_argument("--full", action="store_true",
                      help="re-read everything and mark what disappeared")

    sub.add_parser("status", help="per-service sync status and health")

    data = sub.add_parser("list-data", help="browse imported rows")
    data.add_argument("--source", choices=["linear", "github"])
    data.add_argument("--type", dest="data_type")
    data.add_argument("--state")
    data.add_argument("--search", help="text to find in title or description")
    data.add_argument("--since", help="external update on or after this date (YYYY-MM-DD)")
    data.add_argument("--limit", type=int, default=20)
    data.add_argument("--format", choices=["table", "json", "csv"], default="table")
    data.add_argument("--include-deleted", action="store_true")

    configure = sub.add_parser("configure-service", help="enable or disable a service's syncs")
    configure.add_argument("name", choices=["linear", "github"])
    toggle = configure.add_mutually_exclusive_group(required=True)
    toggle.add_argument("--enabled", dest="enabled", action="store_true")
    toggle.add_argument("--disabled", dest="enabled", action="store_false")

    interval = sub.add_parser("set-interval", help="minutes between a service's scheduled syncs")
    interval.add_argument("name", choices=["linear", "github"])
    interval.add_argument("minutes", type=int)

    sub.add_parser("start-scheduler", help="run the Dagster daemon (schedules and sensors)")

    demo = sub.add_parser("demo", help="sync the built-in sandbox APIs into a local warehouse")
    demo.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--database-url", help="default: sqlite:///gofap_demo.db")

    sandbox = sub.add_parser("sandbox", help="serve the sandbox GitHub and Linear APIs")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--faults", default="none", help="fault profile name")
    sandbox.add_argument("--latency-ms", type=float, default=0.0)

    webhooks.add_commands(sub)
    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init-db": commands.init_db,
    "config-info": commands.config_info,
    "test-connections": commands.test_connections,
    "sync": commands.sync,
    "status": commands.status,
    "list-data": commands.list_data,
    "configure-service": commands.configure_service,
    "set-interval": commands.set_interval,
    "start-scheduler": commands.start_scheduler,
    "demo": commands.demo,
    "sandbox": commands.sandbox,
    "webhooks": webhooks.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except commands.UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WarehouseError as exc:
        print(f"warehouse error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
