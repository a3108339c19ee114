"""`gofap-import archive` and `restore`: old deleted rows out to Parquet, and back.

Kept apart from the other commands: main.py only registers the parsers and the handlers.
"""

import argparse
from pathlib import Path

from gofap_assets.config import Settings, mask_database_url
from gofap_assets.logs import configure_logging
from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.retention import (
    RetentionError,
    archive,
    parse_cutoff,
    plan,
    read_archive,
    restore,
)

EXIT_OK = 0


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    archived = sub.add_parser(
        "archive", help="move rows marked deleted before a date to Parquet files, one per type")
    archived.add_argument("--deleted-before", required=True, metavar="DATE",
                          help="YYYY-MM-DD (midnight UTC) or an ISO time; not in the future")
    archived.add_argument("--output-dir", type=Path, default=Path("archive"), metavar="DIR",
                          help="where the files go (default: %(default)s)")
    archived.add_argument("--dry-run", action="store_true",
                          help="print how many rows of each type would move; touch nothing")
    restored = sub.add_parser(
        "restore", help="put archived rows back (same ids, hashes and timestamps)")
    restored.add_argument("files", nargs="+", type=Path, metavar="FILE",
                          help="Parquet files written by archive")


def _warehouse() -> Warehouse:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_file)
    warehouse = Warehouse(settings.database_url)
    if not warehouse.schema_ready():
        warehouse.create_schema()
    return warehouse


def run_archive(args: argparse.Namespace) -> int:
    cutoff = parse_cutoff(args.deleted_before)  # before the warehouse: bad input touches nothing
    warehouse = _warehouse()
    target = mask_database_url(warehouse.url)
    if args.dry_run:
        found = plan(warehouse, cutoff)
        for item in found:
            print(f"{item.source} {item.data_type}: {item.rows} rows would be archived")
        total = sum(item.rows for item in found)
        print(f"dry run: {total} rows marked deleted before {cutoff:%Y-%m-%d %H:%M:%SZ} in "
              f"{target}; nothing written")
        return EXIT_OK
    done = archive(warehouse, cutoff, args.output_dir)
    for item in done:
        print(f"{item.source} {item.data_type}: {item.rows} rows archived to {item.path}")
    print(f"archived {sum(item.rows for item in done)} rows marked deleted before "
          f"{cutoff:%Y-%m-%d %H:%M:%SZ} from {target}")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    for path in args.files:  # every file checked before any is restored
        read_archive(path)
    warehouse = _warehouse()
    for path in args.files:
        result = restore(warehouse, path)
        kept = (f"; {result.skipped} left alone, already in the warehouse again"
                if result.skipped else "")
        print(f"{result.source} {result.data_type}: {result.restored} of {result.rows} rows "
              f"restored from {path}{kept}")
    return EXIT_OK


__all__ = ["RetentionError", "add_commands", "run_archive", "run_restore"]
