"""The body of each `gofap-import` command; parsing and exit codes live in `main`."""

import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gofap_assets.config import ENV_VARS, SECRET_FIELDS, Settings, mask_database_url
from gofap_assets.logs import configure_logging, redact
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.catalog import UnknownType, reference, resolve_type
from gofap_assets.warehouse.schema import FIELD_NOTE, QUARANTINED, sync_status

EXIT_OK, EXIT_PARTIAL = 0, 1


class UsageError(ValueError):
    """A command was called with values it cannot use."""


def _settings() -> Settings:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_file)
    return settings


def _warehouse(settings: Settings) -> Warehouse:
    warehouse = Warehouse(settings.database_url)
    if not warehouse.schema_ready():
        warehouse.create_schema()
    return warehouse


def _check_writable(warehouse: Warehouse) -> None:
    """Refuse to start a sync the warehouse cannot take (read-only, locked): WarehouseError."""
    with warehouse.transaction() as conn:
        conn.execute(warehouse.insert(sync_status).values(service="github", enabled=True)
                     .on_conflict_do_nothing(index_elements=["service"]))


def _print_frame(rows: list[Any], fmt: str = "table", columns: list[str] | None = None) -> None:
    import pandas as pd  # here, not at the top: `sync` never needs it (about 0.4 s)

    frame = pd.DataFrame(rows, columns=columns)
    if fmt == "json":
        # Through json again: pandas escapes every "/" ("acme\\/api#12").
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        print(json.dumps(records, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif frame.empty:
        print("(no rows)")
    else:
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            print(frame.to_string(index=False))


def init_db(_args: argparse.Namespace) -> int:
    settings = _settings()
    warehouse = Warehouse(settings.database_url)
    warehouse.create_schema()
    print(f"warehouse ready: {mask_database_url(warehouse.url)}")
    return EXIT_OK


def config_info(_args: argparse.Namespace) -> int:
    settings = _settings()
    sources = Settings.sources()
    rows = []
    for field, var in ENV_VARS.items():
        value: Any = getattr(settings, field)
        if field in SECRET_FIELDS:
            shown = "(unset)" if value is None else "***"
        elif field == "database_url":
            shown = mask_database_url(value)
        else:
            shown = "(unset)" if value is None else str(value)
        rows.append({"variable": var, "value": shown, "source": sources[field]})
    _print_frame(rows)
    print(f"\nlinear: {'configured' if settings.linear_enabled else 'not configured'}; "
          f"github: {'configured' if settings.github_enabled else 'not configured'}")
    print(f"linear credential: {settings.linear_credentials}; "
          f"github credentials: {settings.github_credentials}")
    return EXIT_OK


def test_connections(_args: argparse.Namespace) -> int:
    from gofap_assets.connections import check_connections

    settings = _settings()
    results = check_connections(settings)
    _print_frame([r.as_row() for r in results])
    return EXIT_OK if all(r.ok for r in results if r.configured) else EXIT_PARTIAL


def sync(args: argparse.Namespace) -> int:
    from gofap_assets.definitions import build_definitions
    from gofap_assets.sync_runner import SERVICES, open_instance, sync_service

    settings = _settings()
    defs = build_definitions(settings)
    warehouse = _warehouse(settings)
    _check_writable(warehouse)
    enabled = {row["service"]: row["enabled"] for row in warehouse.service_status()}
    services = [args.service] if args.service else list(SERVICES)
    instance = open_instance()
    failed = False
    for service in services:
        if not args.service and not enabled.get(service, True):
            print(f"{service}: disabled (gofap-import configure-service {service} --enabled)")
            continue
        mode = "full" if args.full else "incremental"
        print(f"{service}: {mode} sync...", flush=True)
        report = sync_service(defs, service, full=args.full, instance=instance,
                              log_level=_dagster_console_level(settings))
        if report.skipped:
            print(f"{service}: skipped: {report.skipped}")
            continue
        for run in report.runs:
            if run.ok:
                m = run.metadata
                print(f"  {run.asset}: {m.get('inserted', 0)} new, {m.get('updated', 0)} "
                      f"updated, {m.get('unchanged', 0)} unchanged, "
                      f"{m.get('quarantined', 0)} quarantined, {m.get('marked_deleted', 0)} "
                      f"marked deleted; {m.get('requests', 0)} requests "
                      f"({m.get('not_modified_304', 0)} not modified)")
            else:
                failed = True
                print(f"  {run.asset}: FAILED: {redact(run.error or 'unknown error')}")
        if report.failed_checks:
            failed = True
            print(f"  integrity checks FAILED: {', '.join(report.failed_checks)}")
        if report.warnings:
            print(f"  health warnings: {', '.join(report.warnings)}")
        if report.deferred:
            print(f"  {report.deferred} partition(s) deferred: the rate-limit budget is spent "
                  f"until {report.deferred_until}; the rest follows at the next sync after "
                  "that (scheduled syncs resume them first)")
        print(f"{service}: {'done' if report.ok else 'finished with failures'} in "
              f"{report.seconds:.1f}s", flush=True)
    return EXIT_PARTIAL if failed else EXIT_OK


def _dagster_console_level(settings: Settings) -> str:
    """Dagster's own console lines only when debugging; progress comes from our logger."""
    return "DEBUG" if settings.log_level == "DEBUG" else "CRITICAL"


def _health(row: dict[str, Any], default_interval: int) -> str:
    if not row["enabled"]:
        return "disabled"
    if row["last_sync_at"] is None:
        return "never synced"
    interval = row["sync_interval_minutes"] or default_interval
    if row["last_success_at"] is None:
        return "failing"
    if row["last_error_at"] and row["last_error_at"] > row["last_success_at"]:
        return "failing"
    if datetime.now(UTC) - row["last_success_at"] > timedelta(minutes=2 * interval):
        return "stale"
    return "healthy"


ERROR_WIDTH = 72
"""Characters of the last error the status table shows; `--format json` has all of it."""


def _last_error(row: dict[str, Any]) -> dict[str, Any]:
    """The last error, its time, and whether a later sync succeeded (it is then resolved)."""
    error, at, success = row["last_error"], row["last_error_at"], row["last_success_at"]
    return {"last_error": redact(error) if error else None,
            "last_error_at": at,
            "last_error_resolved": bool(error) and at is not None and success is not None
            and success > at}


def _error_cell(error: dict[str, Any]) -> str:
    if not error["last_error"]:
        return ""
    when = _when(error["last_error_at"])
    mark = "resolved" if error["last_error_resolved"] else "unresolved"
    text = textwrap.shorten(error["last_error"], width=ERROR_WIDTH, placeholder=" …")
    return f"{when} ({mark}): {text}"


def status(args: argparse.Namespace) -> int:
    settings = _settings()
    warehouse = _warehouse(settings)
    rows = []
    for row in warehouse.service_status():
        service = row["service"]
        runs = row["success_count"] + row["failure_count"]
        configured = settings.linear_enabled if service == "linear" else settings.github_enabled
        rows.append({
            "service": service,
            "configured": configured,
            "enabled": bool(row["enabled"]),
            "interval_min": row["sync_interval_minutes"] or settings.sync_interval_minutes,
            "last_sync": row["last_sync_at"],
            "last_success": row["last_success_at"],
            "rows_now": warehouse.live_count(service),
            "rows_written": row["total_items_synced"],
            "success_rate": row["success_count"] / runs if runs else None,
            **_import_errors(warehouse, service),
            "health": _health(row, settings.sync_interval_minutes),
            "deferred": _deferred(warehouse, service),
            **_last_error(row),
        })
    if args.format == "json":
        print(json.dumps(rows, default=_iso, ensure_ascii=False, indent=2))
        return EXIT_OK
    table = [{
        **{k: row[k] for k in ("service", "interval_min")},
        "configured": "yes" if row["configured"] else "no",
        "enabled": "yes" if row["enabled"] else "no",
        "last_sync": _when(row["last_sync"]),
        "last_success": _when(row["last_success"]),
        "rows_now": row["rows_now"],
        "rows_written": row["rows_written"],
        "success_rate": "-" if row["success_rate"] is None else f"{row['success_rate']:.0%}",
        "quarantined": row["quarantined"],
        "field_notes": row["field_notes"],
        "health": row["health"],
        "deferred": row["deferred"],
        "last_error": _error_cell(row),
    } for row in rows]
    columns = ["service", "configured", "enabled", "interval_min", "last_sync", "last_success",
               "rows_now", "rows_written", "success_rate", "quarantined", "field_notes",
               "health", "deferred",
               "last_error"]
    width = max((len(row["last_error"]) for row in table), default=0)
    for row in table:  # pandas right-aligns text; a sentence reads from the left
        row["last_error"] = row["last_error"].ljust(width)
    import pandas as pd  # here, not at the top: `sync` never needs it (about 0.4 s)

    frame = pd.DataFrame(table, columns=columns)
    if frame.empty:
        print("(no rows)")
    else:
        with pd.option_context("display.max_colwidth", None, "display.width", 250):
            print(frame.to_string(index=False, justify="left"))
    return EXIT_OK


def _import_errors(warehouse: Warehouse, service: str) -> dict[str, int]:
    """Every `import_errors` row under `quarantined` (what the column has always counted), and
    how many of them are field notes on records that did land (`list-errors --kind`)."""
    counts = warehouse.import_error_counts(service)
    return {"quarantined": counts[QUARANTINED] + counts[FIELD_NOTE],
            "field_notes": counts[FIELD_NOTE]}


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _deferred(warehouse: Warehouse, service: str) -> str:
    """Partitions waiting for the rate-limit budget, and from when (UTC) they can go on."""
    waiting = warehouse.deferred_partitions(service)
    if not waiting:
        return ""
    return f"{len(waiting)} until {_when(min(waiting.values()))}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "never"


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date (YYYY-MM-DD)") from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


LIST_COLUMNS = ["source", "data_type", "reference", "title", "state", "external_updated_at",
                "external_id"]


def list_data(args: argparse.Namespace) -> int:
    settings = _settings()
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    data_type = None
    if args.data_type:
        try:
            data_type = resolve_type(args.data_type, args.source)
        except UnknownType as exc:
            raise UsageError(str(exc)) from None
    since = _since(args.since)
    warehouse = _warehouse(settings)
    rows = warehouse.browse(source=args.source, data_type=data_type, state=args.state,
                            search=args.search, since=since, limit=args.limit,
                            include_deleted=args.include_deleted)
    for row in rows:
        row["reference"] = reference(row)
    _print_frame(rows, args.format, columns=LIST_COLUMNS)
    return EXIT_OK


ERROR_COLUMNS = ["seen_at", "source", "data_type", "kind", "partition_key", "external_id",
                 "reason"]


def list_errors(args: argparse.Namespace) -> int:
    """The `import_errors` rows, newest first: what was quarantined, which fields were nulled."""
    settings = _settings()
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    data_type = None
    if args.data_type:
        try:
            data_type = resolve_type(args.data_type, args.source)
        except UnknownType as exc:
            raise UsageError(str(exc)) from None
    since = _since(args.since)
    rows = _warehouse(settings).list_import_errors(
        source=args.source, data_type=data_type, kind=args.kind, since=since, limit=args.limit)
    columns = ERROR_COLUMNS + (["raw_text"] if args.format != "table" else [])
    for row in rows:
        row["seen_at"] = _when(row["seen_at"]) if args.format == "table" else _iso(row["seen_at"])
    _print_frame(rows, args.format, columns=columns)
    return EXIT_OK


def configure_service(args: argparse.Namespace) -> int:
    warehouse = _warehouse(_settings())
    warehouse.set_service(args.name, enabled=args.enabled)
    print(f"{args.name}: {'enabled' if args.enabled else 'disabled'}")
    return EXIT_OK


def set_interval(args: argparse.Namespace) -> int:
    if not 1 <= args.minutes <= 7 * 24 * 60:
        raise UsageError("minutes must be between 1 and 10080 (a week)")
    warehouse = _warehouse(_settings())
    warehouse.set_service(args.name, interval_minutes=args.minutes)
    print(f"{args.name}: sync every {args.minutes} minutes")
    return EXIT_OK


def start_scheduler(_args: argparse.Namespace) -> int:
    from gofap_assets.dagster_home import CODE_LOCATION, DEFAULT_HOME, prepare_dagster_home

    _settings()
    # Beside this interpreter first: a venv's tools work without the venv on PATH.
    daemon = (shutil.which("dagster-daemon", path=str(Path(sys.executable).parent))
              or shutil.which("dagster-daemon"))
    if daemon is None:
        raise UsageError("dagster-daemon is not installed in this environment")
    home = prepare_dagster_home(Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME))
    print(f"Dagster instance: {home.path}, " + (f"{home.storage} storage" if home.written else
                                               "its own dagster.yaml left as it is"))
    target = ["-m", CODE_LOCATION]
    print("starting the Dagster daemon (schedules and sensors); Ctrl+C stops it.\n"
          f"Open the UI alongside with: DAGSTER_HOME={home.path} dagster-webserver "
          f"{' '.join(target)}  (http://127.0.0.1:3000)", flush=True)
    process = subprocess.Popen([daemon, "run", *target],
                               env={**os.environ, "DAGSTER_HOME": str(home.path)})
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        print("scheduler stopped")
        return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    from gofap_assets.sandbox.demo import run_demo

    return run_demo(scale=args.scale, seed=args.seed, database_url=args.database_url)


def _check_webhook_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise UsageError(f"--webhook-url {url!r} is not the receiver's base URL "
                         "(http://HOST:PORT, as `gofap-import webhooks serve` prints it)")


def sandbox(args: argparse.Namespace) -> int:
    from gofap_assets.sandbox.serve import serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number (0 to 65535; 0: any free "
                         "port)")
    if args.latency_ms < 0:
        raise UsageError(f"--latency-ms {args.latency_ms:g} cannot be negative")
    if args.webhook_url is not None:
        _check_webhook_url(args.webhook_url)
    if not 0.1 <= args.change_every <= 86_400:
        raise UsageError(f"--change-every {args.change_every:g} must be between 0.1 and 86400 "
                         "seconds")
    try:
        return serve_forever(port=args.port, scale=args.scale, seed=args.seed,
                             faults=args.faults, latency_ms=args.latency_ms,
                             webhook_url=args.webhook_url, change_every=args.change_every)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} on 127.0.0.1 is already in use; choose another "
                             "with --port N, or --port 0 for any free port") from None
        raise UsageError(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
                         "choose another with --port N, or --port 0 for any free port") from None
