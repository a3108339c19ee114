"""What a user reads from the real `gofap-import` command: one plain sentence per bad variable,
no Dagster warnings, and the documented exit codes for a warehouse that cannot be used."""

import re
import subprocess
from pathlib import Path

import pytest

from gofap_assets.sandbox import Sandbox
from gofap_assets_tests.reliability.harness import run_cli

LIBRARY_WORDING = re.compile(r"=None|Value error|Input should|validation error|pydantic|"
                             r"Traceback", re.I)


def _sentence_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("configuration error: ") for line in lines), \
        result.stderr
    assert not LIBRARY_WORDING.search(result.stderr), result.stderr
    return [line.removeprefix("configuration error: ") for line in lines]


@pytest.mark.parametrize(("env", "expected"), [
    ({"GITHUB_API_URL": "http://example.com/api"},
     "GITHUB_API_URL=http://example.com/api would send credentials over plain http"),
    ({"LINEAR_API_URL": "ftp://linear.example"},
     "LINEAR_API_URL='ftp://linear.example' is not an absolute http(s) URL"),
    ({"MAX_RETRIES": "abc"}, "MAX_RETRIES='abc' must be a whole number from 0 to 20"),
    ({"MAX_RETRIES": "99"}, "MAX_RETRIES='99' must be a whole number from 0 to 20"),
    ({"TIMEOUT_SECONDS": "-1"}, "TIMEOUT_SECONDS='-1' must be a number above 0 and at most 600"),
    ({"SYNC_INTERVAL_MINUTES": "soon"},
     "SYNC_INTERVAL_MINUTES='soon' must be a whole number from 1 to 10080"),
    ({"GOFAP_CONCURRENCY": "1.5"}, "GOFAP_CONCURRENCY='1.5' must be a whole number from 1 to 64"),
    ({"GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS": "-3"},
     "GOFAP_MAX_RATE_LIMIT_WAIT_SECONDS='-3' must be a number of 0 or more"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' must be one of DEBUG, INFO, WARNING, ERROR"),
    ({"GOFAP_ALLOW_INSECURE_HTTP": "maybe"},
     "GOFAP_ALLOW_INSECURE_HTTP='maybe' must be true or false"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a SQLAlchemy URL"),
    ({"DATABASE_URL": "mysql://admin:hunter2secret@db/x"},
     "DATABASE_URL='mysql://admin:***@db/x' names an unsupported database 'mysql'"),
    ({"LOG_FILE": "/proc/no-such-dir/gofap.log"},
     "LOG_FILE='/proc/no-such-dir/gofap.log' cannot be written"),
])
def test_each_configuration_error_is_one_plain_sentence_naming_the_variable(
        env: dict[str, str], expected: str, tmp_path: Path) -> None:
    result = run_cli(["test-connections"], {"DATABASE_URL": f"sqlite:///{tmp_path}/w.db", **env})
    assert result.returncode == 2
    (line,) = _sentence_lines(result)
    assert line.startswith(expected), line
    assert "hunter2secret" not in result.stderr + result.stdout


def test_several_bad_variables_are_one_line_each(tmp_path: Path) -> None:
    result = run_cli(["status"], {"MAX_RETRIES": "abc", "LOG_LEVEL": "loud",
                                  "GITHUB_TOKEN": "ghp_secret_value_1234"})
    assert result.returncode == 2
    lines = _sentence_lines(result)
    assert [line.split("=")[0] for line in lines] == ["MAX_RETRIES", "LOG_LEVEL"]
    assert "ghp_secret_value_1234" not in result.stderr


def test_help_documents_the_exit_codes() -> None:
    result = run_cli(["--help"], {})
    assert result.returncode == 0
    assert "exit codes:" in result.stdout
    assert re.search(r"^\s+2\s+usage, configuration or environment error", result.stdout, re.M)


@pytest.mark.parametrize("args", [["status"], ["list-data"], ["init-db"],
                                  ["configure-service", "github", "--disabled"],
                                  ["set-interval", "linear", "30"], ["sync"]])
def test_an_unreachable_warehouse_exits_2_from_every_command(args: list[str]) -> None:
    result = run_cli(args, {"DATABASE_URL": "sqlite:////nonexistent-dir/gofap/w.db",
                            "GITHUB_TOKEN": "ghp_unused_token_0000"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("warehouse error: warehouse "), result.stderr
    assert "unable to open database file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["init-db"], ["configure-service", "github", "--disabled"],
                                  ["set-interval", "linear", "30"], ["sync"]])
def test_a_read_only_warehouse_exits_2_before_anything_runs(args: list[str],
                                                            tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    assert run_cli(["init-db"], {"DATABASE_URL": f"sqlite:///{path}"}).returncode == 0
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = run_cli(args, {"DATABASE_URL": read_only,
                            "GITHUB_TOKEN": "ghp_unused_token_0000",
                            "GITHUB_API_URL": "http://127.0.0.1:9/github"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "warehouse write failed" in result.stderr and "readonly" in result.stderr
    assert "incremental sync" not in result.stdout, "nothing may start on a read-only warehouse"
    assert run_cli(["status"], {"DATABASE_URL": read_only}).returncode == 0, "reading still works"


def test_dagster_warnings_stay_out_of_sync_output_unless_debugging(tmp_path: Path) -> None:
    with Sandbox("small", seed=3) as sandbox:
        env = {**sandbox.env.as_environ(), "DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
        quiet = run_cli(["sync", "--service", "github"], env)
        debug = run_cli(["sync", "--service", "github"], {**env, "LOG_LEVEL": "DEBUG"})
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "Warning" not in quiet.stdout + quiet.stderr
    assert "github: done" in quiet.stdout
    assert debug.returncode == 0
    assert "BetaWarning" in debug.stderr, "LOG_LEVEL=DEBUG still shows Dagster's warnings"


def test_an_unreachable_postgresql_warehouse_is_one_line_without_its_password() -> None:
    result = run_cli(["status"], {"DATABASE_URL": "postgresql://gofap:pw-s3cret@127.0.0.1:9/x"})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("warehouse error: warehouse unreachable (postgresql+psycopg2://"
                           "gofap:***@127.0.0.1:9/x)")
    assert "pw-s3cret" not in result.stderr
