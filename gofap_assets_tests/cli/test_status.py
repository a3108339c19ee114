"""`gofap-import status` through the real command, after a refused sync and a good one."""

import json
import re

import sqlalchemy as sa

from gofap_assets.cli.commands import ERROR_WIDTH
from gofap_assets_tests.cli.conftest import Synced, cli


def _counts(database_url: str, service: str) -> tuple[int, int]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        live = conn.execute(sa.text("SELECT count(*) FROM imported_data WHERE source = :s "
                                    "AND deleted_at IS NULL"), {"s": service}).scalar_one()
        written = conn.execute(sa.text("SELECT coalesce(sum(items), 0) FROM sync_history "
                                       "WHERE service = :s"), {"s": service}).scalar_one()
    engine.dispose()
    return int(live), int(written)


def test_json_has_the_full_last_error_its_time_and_that_it_was_resolved(synced: Synced) -> None:
    code, out, err = cli(["status", "--format", "json"], synced.env)
    assert code == 0, err
    rows = {row["service"]: row for row in json.loads(out)}
    github = rows["github"]
    assert github["health"] == "healthy"
    assert "check GITHUB_TOKEN (needs the repo and read:org scopes)" in github["last_error"]
    assert "ghp_wrong_token" not in out
    assert github["last_error_resolved"] is True
    assert github["last_error_at"] < github["last_success"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", github["last_error_at"])
    assert rows["linear"]["last_error"] is None and not rows["linear"]["last_error_resolved"]


def test_rows_now_and_rows_written_are_two_plain_columns(synced: Synced) -> None:
    _, out, _ = cli(["status", "--format", "json"], synced.env)
    for row in json.loads(out):
        live, written = _counts(synced.env["DATABASE_URL"], row["service"])
        assert (row["rows_now"], row["rows_written"]) == (live, written)
        assert live > 0
    _, table, _ = cli(["status"], synced.env)
    header = table.splitlines()[0].split()
    assert "rows_now" in header and "rows_written" in header and "items" not in header


def test_the_table_elides_the_error_at_a_word_boundary_and_says_when(synced: Synced) -> None:
    _, out, _ = cli(["status", "--format", "json"], synced.env)
    full = {row["service"]: row for row in json.loads(out)}["github"]["last_error"]
    assert len(full) > ERROR_WIDTH, "the sandbox's 401 message is long enough to elide"
    code, table, _ = cli(["status"], synced.env)
    assert code == 0
    line = next(line for line in table.splitlines() if line.startswith("github"))
    cell = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ) \(resolved\): (.*?) …", line)
    assert cell is not None, line
    shown = cell.group(2)
    assert full.startswith(shown) and len(shown) <= ERROR_WIDTH
    assert full[len(shown)] == " ", "cut between words, never inside one"
