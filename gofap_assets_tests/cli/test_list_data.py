"""`gofap-import list-data` through the real command: known types only (from the views), states
in any case, and a reference a person can read on every row."""

import csv
import io
import json
import re

import pytest

from gofap_assets.warehouse.catalog import known_types
from gofap_assets_tests.cli.conftest import Synced, cli


@pytest.mark.parametrize(("given", "data_type"), [
    ("issue", "issue"), ("issues", "issue"), ("Pull-Requests", "pull_request"),
    ("commits", "commit"), ("repository", "repository"), ("teams", "team")])
def test_type_is_accepted_singular_or_plural(synced: Synced, given: str, data_type: str) -> None:
    code, out, err = cli(["list-data", "--type", given, "--format", "json", "--limit", "50"],
                         synced.env)
    assert code == 0, err
    rows = json.loads(out)
    assert rows and {row["data_type"] for row in rows} == {data_type}


def test_an_unknown_type_exits_2_listing_every_known_type(synced: Synced) -> None:
    code, out, err = cli(["list-data", "--type", "isues"], synced.env)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert "'isues' is not a known data type" in line
    for data_type in known_types():  # from the views' registry: new types appear by themselves
        assert data_type.name in line
    code, _, err = cli(["list-data", "--source", "linear", "--type", "commits"], synced.env)
    assert code == 2 and "for linear" in err and "pull_request" not in err


def test_state_is_compared_in_any_case(synced: Synced) -> None:
    _, lower, _ = cli(["list-data", "--state", "open", "--format", "json", "--limit", "500"],
                      synced.env)
    code, upper, _ = cli(["list-data", "--state", "OPEN", "--format", "json", "--limit", "500"],
                         synced.env)
    assert code == 0 and json.loads(upper) == json.loads(lower) != []
    code, out, _ = cli(["list-data", "--source", "linear", "--state", "in progress",
                        "--format", "json"], synced.env)
    assert code == 0 and {row["state"] for row in json.loads(out)} == {"In Progress"}


REFERENCE = {
    "issue": re.compile(r"^[\w.-]+/[\w.-]+#\d+$"),
    "pull_request": re.compile(r"^[\w.-]+/[\w.-]+#\d+$"),
    "commit": re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{7}$"),
    "repository": re.compile(r"^[\w.-]+/[\w.-]+$"),
}


@pytest.mark.parametrize("data_type", sorted(REFERENCE))
def test_github_rows_carry_a_human_reference(synced: Synced, data_type: str) -> None:
    code, out, _ = cli(["list-data", "--source", "github", "--type", data_type, "--format",
                        "json", "--limit", "1000"], synced.env)
    rows = json.loads(out)
    assert code == 0 and rows
    for row in rows:
        assert REFERENCE[data_type].match(row["reference"]), row
    if data_type == "repository":
        assert {row["reference"] for row in rows} == {
            repo.full_name for repo in synced.sandbox.github.repositories()}
    if data_type == "commit":
        assert all(row["external_id"].startswith(row["reference"]) for row in rows)


def test_linear_issues_are_referenced_by_identifier_in_every_format(synced: Synced) -> None:
    _, out, _ = cli(["list-data", "--source", "linear", "--type", "issues", "--format", "csv",
                     "--limit", "5"], synced.env)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5 and all(re.match(r"^[A-Z]+-\d+$", row["reference"]) for row in rows)
    _, table, _ = cli(["list-data", "--source", "linear", "--type", "issues", "--limit", "5"],
                      synced.env)
    assert table.splitlines()[0].split()[:3] == ["source", "data_type", "reference"]
    for row in rows:
        assert row["reference"] in table
