"""`gofap-import`: the seed's commands, running on Dagster.

Exit codes: 0 success; 1 a sync ran but some part failed; 2 usage, configuration or environment
error (a bad variable, a warehouse that cannot be reached or written), nothing was done.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from gofap_assets.cli import commands, retention, webhooks
from gofap_assets.config import ConfigError
from gofap_assets.warehouse import WarehouseError
from gofap_assets.warehouse.catalog import known_types
from gofap_assets.warehouse.schema import ERROR_KINDS

EXIT_USAGE = 2
EXIT_CODES = """exit codes:
  0    success
  1    a sync ran but some part of it failed (named in the output and in `status`), or
       test-connections could not authenticate to a configured service
  2    usage, configuration or environment error: a bad option or variable, a warehouse that
       cannot be reached or written; nothing was done
  130  interrupted (Ctrl+C)"""


class _SandboxChoices(Sequence[str]):
    """Names the sandbox defines, read when first needed: importing the sandbox costs half a
    second that commands other than `sandbox` and `demo` should not pay."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._names: Sequence[str] | None = None

    def _all(self) -> Sequence[str]:
        if self._names is None:
            self._names = self._load()
        return self._names

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


def _fault_profiles() -> list[str]:
    from gofap_assets.sandbox.faults import PRESETS

    return list(PRESETS)


def _scales() -> list[str]:
    from gofap_assets.sandbox.github.world import SCALES

    return list(SCALES)


FAULT_PROFILES = _SandboxChoices(_fault_profiles)
SANDBOX_SCALES = _SandboxChoices(_scales)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (what is wrong, where help is), not the usage text again."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gofap-import",
        description="Import Linear and GitHub work data into the GOFAP warehouse.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-db", help="create the warehouse tables and views (idempotent)")
    sub.add_parser("config-info", help="show every setting and where it came from")
    sub.add_parser("test-connections", help="authenticate against each configured service")

    sync = sub.add_parser("sync", help="sync now, through Dagster")
    sync.add_argument("--service", choices=["linear", "github"],
                      help="only this service (default: every configured one)")
    sync.add_argument("--full", action="store_true",
                      help="re-read everything and mark what disappeared")

    status = sub.add_parser("status", help="per-service sync status and health")
    status.add_argument("--format", choices=["table", "json"], default="table",
                        help="json: every field, and the last error in full")

    data = sub.add_parser("list-data", help="browse imported rows")
    data.add_argument("--source", choices=["linear", "github"])
    data.add_argument("--type", dest="data_type", metavar="TYPE",
                      help="one data type, singular or plural: "
                      + ", ".join(sorted({t.name for t in known_types()})))
    data.add_argument("--state", help="exact state, any case (open, merged, 'In Progress')")
    data.add_argument("--search", help="text to find in title or description")
    data.add_argument("--since", help="external update on or after this date (YYYY-MM-DD)")
    data.add_argument("--limit", type=int, default=20)
    data.add_argument("--format", choices=["table", "json", "csv"], default="table")
    data.add_argument("--include-deleted", action="store_true")

    errors = sub.add_parser("list-errors",
                            help="records quarantined and fields stored as null, newest first")
    errors.add_argument("--source", choices=["linear", "github"])
    errors.add_argument("--type", dest="data_type", metavar="TYPE",
                        help="one data type, singular or plural")
    errors.add_argument("--kind", choices=ERROR_KINDS,
                        help="quarantined: the record was not imported; field_note: it was, "
                        "with one field stored as null")
    errors.add_argument("--since", help="seen on or after this date (YYYY-MM-DD)")
    errors.add_argument("--limit", type=int, default=20)
    errors.add_argument("--format", choices=["table", "json", "csv"], default="table",
                        help="json and csv add the raw text")

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
    demo.add_argument("--scale", choices=SANDBOX_SCALES, default="small", metavar="SCALE",
                      help="size of the generated data: %(choices)s (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--database-url", help="default: sqlite:///gofap_demo.db")

    sandbox = sub.add_parser("sandbox", help="serve the sandbox GitHub and Linear APIs")
    sandbox.add_argument("--port", type=int, default=8765,
                         help="loopback port (default: %(default)s; 0: any free port)")
    sandbox.add_argument("--scale", choices=SANDBOX_SCALES, default="small", metavar="SCALE",
                         help="size of the generated data: %(choices)s (default: %(default)s)")
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--faults", choices=FAULT_PROFILES, default="none", metavar="PROFILE",
                         help="faults injected into the answers: %(choices)s "
                         "(default: %(default)s)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0,
                         help="added to every answer (default: %(default)s)")
    sandbox.add_argument("--webhook-url", metavar="URL",
                         help="a webhook receiver (gofap-import webhooks serve) to post signed "
                         "deliveries to, for changes made every --change-every seconds")
    sandbox.add_argument("--change-every", type=float, default=10.0, metavar="SECONDS",
                         help="with --webhook-url: seconds between changes (default: "
                         "%(default)s)")

    retention.add_commands(sub)
    webhooks.add_commands(sub)
    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init-db": commands.init_db,
    "config-info": commands.config_info,
    "test-connections": commands.test_connections,
    "sync": commands.sync,
    "status": commands.status,
    "list-data": commands.list_data,
    "list-errors": commands.list_errors,
    "configure-service": commands.configure_service,
    "set-interval": commands.set_interval,
    "start-scheduler": commands.start_scheduler,
    "demo": commands.demo,
    "sandbox": commands.sandbox,
    "archive": retention.run_archive,
    "restore": retention.run_restore,
    "webhooks": webhooks.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems or (str(exc),):
            print(f"configuration error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (commands.UsageError, retention.RetentionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WarehouseError as exc:
        # One line: drivers add hints on lines of their own ("Is the server running...").
        print(f"warehouse error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
