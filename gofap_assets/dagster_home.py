"""Prepares DAGSTER_HOME for the scheduler: a dagster.yaml on SQLite under DAGSTER_HOME by
default, or on PostgreSQL when the `DAGSTER_PG_*` variables are set.

The file names variables (`{env: ...}`) rather than values, so the PostgreSQL password is never
written to disk. The repository's top-level `dagster.yaml` is the SQLite variant of the same
configuration (a test keeps the two equal).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from gofap_assets.config import ConfigError

DEFAULT_HOME = Path(".dagster_home")
CODE_LOCATION = "gofap_assets.definitions"
"""The module, and so the code-location name `dagster dev -m` gives it; workspace.yaml and
`[tool.dagster]` use the same name, so schedule state (kept per location) survives switching."""
MARKER = "# Written by gofap-import"
HEADER = (f"{MARKER} from the DAGSTER_PG_* variables; it rewrites this file on each start.\n"
          "# Delete this first line to keep your own edits.\n")

PG_VARS = {
    "username": "DAGSTER_PG_USERNAME",
    "password": "DAGSTER_PG_PASSWORD",
    "hostname": "DAGSTER_PG_HOST",
    "db_name": "DAGSTER_PG_DB",
    "port": "DAGSTER_PG_PORT",
}
PG_REQUIRED = ("DAGSTER_PG_USERNAME", "DAGSTER_PG_HOST", "DAGSTER_PG_DB")

POOL_DEFAULT_LIMIT = 1
"""Runs in progress per pool (`github`, `linear`), each pool counted apart: one run at a time
reads an API and parallelises inside itself, while queued runs wait in the queue, not in a
process. Raise one pool alone with `dagster instance concurrency set github 2`."""
MAX_CONCURRENT_RUNS = 10

Storage = Literal["sqlite", "postgres"]


def storage_kind(environ: Mapping[str, str]) -> Storage:
    return "postgres" if any(environ.get(var) for var in PG_VARS.values()) else "sqlite"


def _postgres_storage(environ: Mapping[str, str]) -> dict[str, Any]:
    missing = [var for var in PG_REQUIRED if not environ.get(var)]
    if missing:
        raise ConfigError(f"Dagster on PostgreSQL needs {', '.join(missing)} as well (set "
                          "DAGSTER_PG_USERNAME, DAGSTER_PG_HOST and DAGSTER_PG_DB; "
                          "DAGSTER_PG_PASSWORD and DAGSTER_PG_PORT are optional)")
    port = environ.get(PG_VARS["port"])
    if port and not port.isdigit():
        raise ConfigError(f"DAGSTER_PG_PORT={port!r} is not a port number")
    db = {field: {"env": var} for field, var in PG_VARS.items() if environ.get(var)}
    return {"postgres": {"postgres_db": db}}


def instance_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The dagster.yaml contents for this environment."""
    env = os.environ if environ is None else environ
    storage = {"storage": _postgres_storage(env)} if storage_kind(env) == "postgres" else {}
    return {
        **storage,  # none: Dagster's default, SQLite files under DAGSTER_HOME
        "concurrency": {
            "pools": {"default_limit": POOL_DEFAULT_LIMIT, "granularity": "run"},
            "runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
        },
        "run_monitoring": {"enabled": True},
        "retention": {
            "schedule": {"purge_after_days": {"skipped": 7, "failure": 30}},
            "sensor": {"purge_after_days": {"skipped": 7, "failure": 30}},
        },
        "telemetry": {"enabled": False},
    }


@dataclass(frozen=True)
class PreparedHome:
    path: Path
    storage: Storage
    written: bool
    """False when an existing dagster.yaml without our marker was left as it is."""


def prepare_dagster_home(home: Path, environ: Mapping[str, str] | None = None) -> PreparedHome:
    """Create `home` and write its dagster.yaml, unless the file there is the user's own."""
    env = os.environ if environ is None else environ
    home = home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    kind = storage_kind(env)
    if target.exists() and not target.read_text(encoding="utf-8").startswith(MARKER):
        return PreparedHome(home, kind, written=False)
    text = HEADER + yaml.safe_dump(instance_config(env), sort_keys=False)
    target.write_text(text, encoding="utf-8")
    return PreparedHome(home, kind, written=True)
