"""GitHub incremental sync rules, with the API mocked at the HTTP layer (respx)."""

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx
import sqlalchemy as sa

from gofap_assets.github.client import GitHubClient
from gofap_assets.github.sync import (
    COMMITS,
    ISSUES,
    PULL_REQUESTS,
    InvalidPartitionKey,
    sync_repository_endpoint,
)
from gofap_assets.http import ApiError
from gofap_assets.warehouse import Warehouse

API = "https://gh.example.test"
DATE = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
HEADERS = {"date": format_datetime(DATE, usegmt=True), "etag": '"page1"'}


def issue(number: int, updated: str = "2026-04-01T00:00:00Z", *, pr: bool = False) -> dict:
    item = {"id": 9_000_000_000 + number, "number": number, "title": f"Issue {number}",
            "body": None, "state": "open", "user": {"login": "ghost", "id": 10137},
            "labels": [{"name": "bug"}], "assignees": [], "comments": 0,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": updated}
    if pr:
        item["pull_request"] = {"url": "x", "merged_at": None}
    return item


def pull(number: int, updated: str) -> dict:
    return {"id": 7_000_000_000 + number, "number": number, "title": f"PR {number}",
            "body": "b", "state": "closed", "user": None, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": updated, "merged_at": "2026-02-01T00:00:00Z",
            "head": {"ref": "f", "sha": "a", "repo": None}, "base": {"ref": "main", "sha": "b"}}


@pytest.fixture
def warehouse(sqlite_url: str) -> Warehouse:
    store = Warehouse(sqlite_url)
    store.create_schema()
    return store


@pytest.fixture
def client() -> GitHubClient:
    return GitHubClient.create(token="t0ken-value", api_url=API, max_retries=1,
                               backoff_base=0.001)


def titles(store: Warehouse, data_type: str) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT external_id, title FROM imported_data WHERE data_type = :t "
            "AND deleted_at IS NULL"), {"t": data_type}).all())


@respx.mock
def test_issues_follow_links_skip_pull_requests_and_commit_the_cursor(
        client: GitHubClient, warehouse: Warehouse) -> None:
    page2 = f"{API}/repositories/42/issues?page=2&per_page=100&state=all"
    first = respx.get(f"{API}/repos/acme/api/issues").mock(return_value=httpx.Response(
        200, json=[issue(1), issue(2, pr=True)],
        headers={**HEADERS, "link": f'<{page2}>; rel="next", <{page2}>; rel="last"'}))
    respx.get(page2).mock(return_value=httpx.Response(200, json=[issue(3)], headers=HEADERS))
    outcome = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    assert outcome.error is None and outcome.complete and outcome.pages == 2
    assert dict(first.calls[0].request.url.params) == {
        "state": "all", "sort": "updated", "direction": "desc", "per_page": "100"}
    assert set(titles(warehouse, "issue").values()) == {"Issue 1", "Issue 3"}
    state = warehouse.partition_state("github", "issue", "acme/api")
    assert state.cursor == "2026-05-01T11:59:55Z"  # the server's Date less the overlap


@respx.mock
def test_second_sync_sends_since_and_an_unchanged_listing_answers_304(
        client: GitHubClient, warehouse: Warehouse) -> None:
    route = respx.get(f"{API}/repos/acme/api/issues").mock(side_effect=[
        httpx.Response(200, json=[issue(1)], headers=HEADERS),
        httpx.Response(200, json=[], headers={**HEADERS, "etag": '"empty"'}),
        httpx.Response(304, headers={"etag": '"empty"'}),
    ])
    sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    quiet = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    assert route.calls[1].request.url.params["since"] == "2026-05-01T11:59:55Z"
    assert "if-none-match" not in route.calls[1].request.headers
    idle = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    assert route.calls[2].request.url.params["since"] == "2026-05-01T11:59:55Z"
    assert route.calls[2].request.headers["if-none-match"] == '"empty"'
    assert quiet.counts.seen == 0 and idle.not_modified
    assert client.http.stats.snapshot()["not_modified"] == 1


@respx.mock
def test_pulls_stop_at_the_cursor_without_reading_older_pages(
        client: GitHubClient, warehouse: Warehouse) -> None:
    older = f"{API}/repositories/42/pulls?page=2"
    route = respx.get(f"{API}/repos/acme/api/pulls").mock(side_effect=[
        httpx.Response(200, json=[pull(1, "2026-03-01T00:00:00Z")], headers=HEADERS),
        httpx.Response(200, json=[pull(2, "2026-06-01T00:00:00Z"),
                                  pull(1, "2026-03-01T00:00:00Z")],
                       headers={**HEADERS, "etag": '"p2"',
                                "link": f'<{older}>; rel="next"'}),
    ])
    never = respx.get(older).mock(return_value=httpx.Response(500))
    sync_repository_endpoint(client, warehouse, PULL_REQUESTS, "acme/api")
    outcome = sync_repository_endpoint(client, warehouse, PULL_REQUESTS, "acme/api")
    assert route.call_count == 2 and never.call_count == 0
    assert outcome.counts.inserted == 1 and outcome.complete
    with warehouse.engine.connect() as conn:
        states = conn.execute(sa.text("SELECT state FROM imported_data")).scalars().all()
    assert states == ["merged", "merged"]


@respx.mock
def test_an_empty_repository_is_zero_commits(client: GitHubClient,
                                             warehouse: Warehouse) -> None:
    respx.get(f"{API}/repos/acme/empty/commits").mock(return_value=httpx.Response(
        409, json={"message": "Git Repository is empty."}))
    outcome = sync_repository_endpoint(client, warehouse, COMMITS, "acme/empty")
    assert outcome.error is None and outcome.note == "repository is empty"
    assert outcome.complete and outcome.counts.seen == 0


@respx.mock
def test_a_vanished_repository_is_an_error_naming_it(client: GitHubClient,
                                                     warehouse: Warehouse) -> None:
    respx.get(f"{API}/repos/acme/gone/issues").mock(return_value=httpx.Response(
        404, json={"message": "Not Found"}))
    with pytest.raises(ApiError, match=r"GitHub 404: Not Found .*repos/acme/gone/issues"):
        sync_repository_endpoint(client, warehouse, ISSUES, "acme/gone")


@respx.mock
def test_odd_fields_are_nulled_with_a_note_and_only_unidentified_records_quarantined(
        client: GitHubClient, warehouse: Warehouse) -> None:
    broken = issue(5)
    del broken["number"]
    naive = issue(6, updated="2026-04-01T00:00:00")
    anonymous = issue(7)
    del anonymous["id"]
    respx.get(f"{API}/repos/acme/api/issues").mock(return_value=httpx.Response(
        200, json=[issue(1), broken, naive, "not an object", anonymous, issue(2)],
        headers=HEADERS))
    outcome = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    assert outcome.counts.inserted == 4
    assert (outcome.counts.quarantined, outcome.counts.field_notes) == (2, 2)
    with warehouse.engine.connect() as conn:
        reasons = conn.execute(sa.text(
            "SELECT external_id, reason, raw_text FROM import_errors ORDER BY id")).all()
        numbers = dict(conn.execute(sa.text("SELECT issue_id, number FROM github_issues")).all())
    notes = {r[0]: r[1] for r in reasons if r[0] is not None}
    assert "'number'" in notes[str(broken["id"])] and "imported" in notes[str(broken["id"])]
    assert "'updated_at'" in notes[str(naive["id"])] and "timezone" in notes[str(naive["id"])]
    assert numbers[broken["id"]] is None and numbers[9_000_000_001] == 1
    whole = [r[1] for r in reasons if r[0] is None]
    assert any("expected a JSON object" in r for r in whole)
    assert any("id" in r for r in whole)


@respx.mock
def test_full_sync_marks_vanished_issues_deleted(client: GitHubClient,
                                                 warehouse: Warehouse) -> None:
    respx.get(f"{API}/repos/acme/api/issues").mock(side_effect=[
        httpx.Response(200, json=[issue(1), issue(2)], headers=HEADERS),
        httpx.Response(200, json=[issue(1)], headers=HEADERS),
    ])
    sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    outcome = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api", full=True)
    assert outcome.counts.deleted == 1
    assert list(titles(warehouse, "issue").values()) == ["Issue 1"]


@pytest.mark.parametrize("key", ["acme", "a/b/c", "../x", "a/b?x=1", "a b/c", "' OR 1=1/x"])
def test_hostile_partition_keys_are_refused(client: GitHubClient, warehouse: Warehouse,
                                            key: str) -> None:
    with pytest.raises(InvalidPartitionKey):
        sync_repository_endpoint(client, warehouse, ISSUES, key)


@respx.mock
def test_a_quarantined_item_is_not_marked_deleted_by_a_full_sync(
        client: GitHubClient, warehouse: Warehouse) -> None:
    broken = issue(2)
    del broken["id"]
    broken["title"] = "Issue 2, broken"
    respx.get(f"{API}/repos/acme/api/issues").mock(side_effect=[
        httpx.Response(200, json=[issue(1), issue(2)], headers=HEADERS),
        httpx.Response(200, json=[issue(1), broken], headers=HEADERS),
    ])
    sync_repository_endpoint(client, warehouse, ISSUES, "acme/api")
    outcome = sync_repository_endpoint(client, warehouse, ISSUES, "acme/api", full=True)
    assert outcome.counts.quarantined == 1 and outcome.counts.deleted == 0
    assert set(titles(warehouse, "issue").values()) == {"Issue 1", "Issue 2"}
    assert outcome.note and "no id" in outcome.note
