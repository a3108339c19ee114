"""The contenders, each run as its own process against a running sandbox.

- ``importer``: `gofap-import sync` (Dagster in-process), as a user runs it.
- ``floor``: `bench/floor.py`, the least work that produces the same rows.
- ``dlt``: `bench/dlt_peer.py`, dlt's `rest_api` source into SQLite (skipped without dlt).
- ``direct``: `bench/direct.py`, the importer's sync functions without Dagster.
- ``drain``: `bench/floor.py --drain`, every page fetched and thrown away: the sandbox's ceiling.
"""

import importlib.util
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.measure import Measurement, ProcessRun, run_process
from gofap_assets.sandbox import Sandbox
from gofap_assets.warehouse.schema import imported_data
from gofap_assets.warehouse.store import normalise_url

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
_DONE = re.compile(r"^(github|linear): (?:done|finished with failures) in ([\d.]+)s", re.M)
_SKIPPED = re.compile(r"^(github|linear): skipped: (.*)$", re.M)
_OWN_VARIABLES = ("GITHUB_", "LINEAR_", "DATABASE_URL", "DAGSTER_HOME", "GOFAP_", "LOG_",
                  "SYNC_INTERVAL", "MAX_RETRIES", "TIMEOUT_SECONDS")


class ContenderFailed(RuntimeError):
    pass


class ContenderSkipped(RuntimeError):
    pass


def dlt_available() -> bool:
    return importlib.util.find_spec("dlt") is not None


def gofap_import() -> str:
    beside = Path(PYTHON).with_name("gofap-import")
    found = str(beside) if beside.exists() else shutil.which("gofap-import")
    if found is None:
        raise ContenderSkipped("gofap-import is not installed (pip install -e .)")
    return found


def environment(sandbox: Sandbox, database_url: str | None, concurrency: int) -> dict[str, str]:
    """This process's environment without any importer settings, then the sandbox's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARIABLES)}
    env.update(sandbox.env.as_environ())
    env["GOFAP_CONCURRENCY"] = str(concurrency)
    env["PYTHONWARNINGS"] = "ignore"
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


# -- databases -----------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    path: Path | None = None
    """The SQLite file, when it is one."""

    def dispose(self) -> None:
        if self.path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def sqlite_database(directory: Path, name: str = "warehouse.db") -> Database:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    return Database(f"sqlite:///{path}", path)


def copy_database(source: Database, directory: Path) -> Database:
    """A copy of a synced SQLite warehouse (with its WAL), to sync onwards from."""
    assert source.path is not None, "only SQLite warehouses are copied"
    target = sqlite_database(directory, source.path.name)
    for suffix in ("", "-wal"):
        if Path(f"{source.path}{suffix}").exists():
            shutil.copyfile(f"{source.path}{suffix}", f"{target.path}{suffix}")
    return target


def _admin(server_url: str, sql: str, attempts: int = 5) -> None:
    """Run one statement on the server's maintenance database; ride out a server restart."""
    engine = sa.create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT",
                              poolclass=sa.pool.NullPool)
    try:
        for attempt in range(attempts):
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql(sql)
                return
            except sa.exc.OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
    finally:
        engine.dispose()


@contextmanager
def postgres_database(server_url: str) -> Iterator[Database]:
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    name = f"gofap_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield Database(sa.engine.make_url(server_url).set(database=name)
                       .render_as_string(hide_password=False))
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable(server_url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = sa.create_engine(normalise_url(server_url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {sa.engine.make_url(server_url).render_as_string()} is not " \
               f"reachable ({type(exc).__name__})"
    return None


def warehouse_rows(url: str, source: str, since: datetime) -> tuple[int, int, dict[str, int]]:
    """Live rows of `source`, rows written (inserted or changed) since `since`, by type."""
    engine = sa.create_engine(normalise_url(url))
    t = imported_data.c
    try:
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).where(
                t.source == source, t.deleted_at.is_(None))).scalar_one()
            written = dict(conn.execute(
                sa.select(t.data_type, sa.func.count()).where(
                    t.source == source, t.updated_at >= since).group_by(t.data_type)).all())
    finally:
        engine.dispose()
    return int(total), sum(written.values()), {k: int(v) for k, v in written.items()}


# -- running one contender ------------------------------------------------------------------


@dataclass
class Run:
    """Where and against what one contender runs."""

    sandbox: Sandbox
    service: str
    items: int
    directory: Path
    concurrency: int = 4
    timeout: float = 1800.0


def _measure(run: Run, argv: list[str], env: dict[str, str],
             rows: Callable[[ProcessRun, datetime], tuple[int, int | None, dict[str, Any]]]
             ) -> Measurement:
    run.directory.mkdir(parents=True, exist_ok=True)
    server = run.sandbox.server
    server.reset_stats()
    started = datetime.now(UTC)
    process = run_process(argv, env=env, cwd=run.directory, timeout=run.timeout)
    stats = server.stats
    skipped = _SKIPPED.search(process.stdout)
    if skipped:
        raise ContenderSkipped(skipped.group(2).strip())
    if not process.ok:
        raise ContenderFailed(f"{' '.join(argv[:4])} exited {process.returncode}:\n"
                              f"{process.tail()}")
    written, total, extra = rows(process, started)
    done = _DONE.search(process.stdout)
    sync_s = (float(done.group(2)) if done
              else (process.result or {}).get("sync_seconds", (process.result or {})
                                                  .get("seconds")))
    failures = {k: v for k, v in stats.by_status.items() if k >= 500}
    if failures:
        extra["server_errors"] = failures
    return Measurement(
        wall_s=process.wall_s, items=run.items, requests=stats.requests,
        not_modified=stats.not_modified, peak_rss_mb=process.peak_rss_bytes / 2**20,
        rows_written=written, rows_total=total, sandbox_cpu_s=process.harness_cpu_s,
        cpu_s=process.cpu_s,
        sync_s=sync_s, by_status={str(k): v for k, v in sorted(stats.by_status.items())},
        extra=extra)


def importer(run: Run, database: Database, *, full: bool,
             settings: Mapping[str, str] | None = None) -> Measurement:
    """`gofap-import sync --service S [--full]`; `settings` are further environment variables."""
    argv = [gofap_import(), "sync", "--service", run.service, *(["--full"] if full else [])]
    env = {**environment(run.sandbox, database.url, run.concurrency), **(settings or {})}

    def rows(_process: ProcessRun, started: datetime) -> tuple[int, int | None, dict[str, Any]]:
        total, written, by_type = warehouse_rows(database.url, run.service, started)
        return written, total, {"written_by_type": by_type}

    return _measure(run, argv, env, rows)


def _reported_rows(process: ProcessRun, _started: datetime) -> tuple[int, int | None,
                                                                      dict[str, Any]]:
    result = process.result or {}
    return int(result.get("rows_written", 0)), None, {
        k: v for k, v in result.items() if k not in ("rows_written", "seconds")}


def floor(run: Run, database: Database, etags: Path | None = None) -> Measurement:
    """The floor; with `etags`, conditional on each listing's last ETag (its no-change sync)."""
    assert database.path is not None, "the floor writes SQLite"
    argv = [PYTHON, str(HERE / "floor.py"), run.service, "--db", str(database.path),
            *(["--etags", str(etags)] if etags else [])]
    return _measure(run, argv, environment(run.sandbox, None, 1), _reported_rows)


def drain(run: Run, threads: int = 4) -> Measurement:
    argv = [PYTHON, str(HERE / "floor.py"), run.service, "--drain", "--threads", str(threads)]
    return _measure(run, argv, environment(run.sandbox, None, threads), _reported_rows)


def dlt_peer(run: Run, database: Database) -> Measurement:
    if not dlt_available():
        raise ContenderSkipped("dlt is not installed (pip install 'dlt[sqlalchemy]')")
    assert database.path is not None, "the peer writes SQLite"
    pipelines = run.directory / "dlt-pipelines"
    argv = [PYTHON, str(HERE / "dlt_peer.py"), "--db", str(database.path), "--pipelines-dir",
            str(pipelines)]
    try:
        return _measure(run, argv, environment(run.sandbox, None, 1), _reported_rows)
    finally:
        shutil.rmtree(pipelines, ignore_errors=True)
        for extra in database.path.parent.glob(f"{database.path.stem}__*"):
            extra.unlink(missing_ok=True)  # dlt's dataset and staging files beside the db


def direct(run: Run, database: Database, *, full: bool) -> Measurement:
    argv = [PYTHON, str(HERE / "direct.py"), *(["--full"] if full else [])]
    env = environment(run.sandbox, database.url, run.concurrency)

    def rows(process: ProcessRun, started: datetime) -> tuple[int, int | None, dict[str, Any]]:
        total, written, by_type = warehouse_rows(database.url, run.service, started)
        return written, total, {"written_by_type": by_type}

    return _measure(run, argv, env, rows)
