"""`gofap-import demo`: the sandbox APIs synced into a local SQLite warehouse, end to end."""

import os
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from gofap_assets.config import Settings, mask_database_url
from gofap_assets.dagster_home import prepare_dagster_home
from gofap_assets.sandbox import Sandbox

DEMO_DATABASE = Path("gofap_demo.db")
DEMO_DAGSTER_HOME = Path(".gofap_demo/dagster_home")
SERVE_PORT = 8765


def run_demo(*, scale: str = "small", seed: int = 1, database_url: str | None = None) -> int:
    from gofap_assets.definitions import build_definitions
    from gofap_assets.logs import configure_logging
    from gofap_assets.sync_runner import open_instance, sync_service

    database_url = database_url or f"sqlite:///{DEMO_DATABASE.resolve()}"
    # Keep the demo's runs so that `dagster dev` with the same DAGSTER_HOME shows them.
    home = prepare_dagster_home(Path(os.environ.get("DAGSTER_HOME") or DEMO_DAGSTER_HOME)).path
    os.environ["DAGSTER_HOME"] = str(home)
    started = time.monotonic()
    print(f"Starting the sandbox GitHub and Linear APIs ({scale} scale, seed {seed})...",
          flush=True)
    with Sandbox(scale, seed) as sandbox:
        os.environ.update(sandbox.env.as_environ())
        os.environ["DATABASE_URL"] = database_url
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_file)
        defs = build_definitions(settings)
        instance = open_instance()
        print(f"Warehouse: {mask_database_url(database_url)}\nDagster home: {home}", flush=True)
        failed = False
        for service in ("github", "linear"):
            print(f"Syncing {service}...", flush=True)
            report = sync_service(defs, service, instance=instance, log_level="CRITICAL")
            for run in report.runs:
                mark = "ok" if run.ok else f"FAILED: {run.error}"
                print(f"  {run.asset}: {mark}", flush=True)
            failed = failed or not report.ok
        requests = sandbox.server.stats.requests
    elapsed = time.monotonic() - started
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        counts = pd.read_sql(sa.text(
            "SELECT source, data_type, count(*) AS rows FROM imported_data "
            "GROUP BY source, data_type ORDER BY source, data_type"), conn)
    engine.dispose()
    print("\n" + counts.to_string(index=False))
    print(f"\n{int(counts['rows'].sum())} rows, {requests} API requests, {elapsed:.1f}s")
    env_file = _write_env_file(home, database_url, sandbox)
    db_path = database_url.removeprefix("sqlite:///")
    print(f"""
Look at it:
  SQL:      sqlite3 {db_path} "SELECT repository, number, title, state FROM github_issues LIMIT 5"
  Dagster:  gofap-import sandbox --scale {scale} --seed {seed} &   # the same APIs again
            set -a; . {env_file}; set +a
            cd "$DAGSTER_HOME" && dagster dev -m gofap_assets.definitions
            # in its home, where its dagster.yaml is; then open http://127.0.0.1:3000""")
    return 1 if failed else 0


def _write_env_file(home: Path, database_url: str, sandbox: Sandbox) -> Path:
    """The variables `dagster dev` needs, in a file rather than on screen (they hold tokens)."""
    env = sandbox.env.as_environ()
    env["GITHUB_API_URL"] = f"http://127.0.0.1:{SERVE_PORT}/github"
    env["LINEAR_API_URL"] = f"http://127.0.0.1:{SERVE_PORT}/linear/graphql"
    env.update(DAGSTER_HOME=str(home), DATABASE_URL=database_url)
    path = home.parent / "demo.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    path.chmod(0o600)
    return path
