"""The generated Linear workspace: realistic shapes, determinism, laziness, mutation and the
ground truth that follows it."""

import json
import re
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from gofap_assets.sandbox.linear import LinearApp, LinearWorld, graphql_request, queries

KEY = "lin_api_sandbox"
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Q_COUNT_PAGE = """
query Recent($filter: IssueFilter, $after: String) {
  issues(first: 250, after: $after, filter: $filter, orderBy: updatedAt, includeArchived: true) {
    nodes { id identifier number title updatedAt archivedAt trashed state { name } team { key } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def all_issues(app: LinearApp, query: str = queries.ISSUES_PAGE,
               variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        response = app.handle(graphql_request(
            query, {"first": 250, "includeArchived": True, **(variables or {}), "after": after},
            api_key=KEY))
        body = json.loads(response.body)
        assert response.status == 200 and "errors" not in body, body
        nodes += body["data"]["issues"]["nodes"]
        if not body["data"]["issues"]["pageInfo"]["hasNextPage"]:
            return nodes
        after = body["data"]["issues"]["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
def small_issues() -> list[dict[str, Any]]:
    return all_issues(LinearApp(LinearWorld.scaled("small", seed=1, now=NOW), api_key=KEY))


def test_issues_have_linears_shapes(small_issues: list[dict[str, Any]]) -> None:
    issues = small_issues
    assert len(issues) == 600
    for issue in issues:
        assert re.fullmatch(r"[A-Z]+-\d+", issue["identifier"])
        assert issue["identifier"] == f"{issue['team']['key']}-{int(issue['number'])}"
        assert isinstance(issue["number"], float) and isinstance(issue["priority"], float)
        assert 0 <= issue["priority"] <= 4
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            issue["id"])
        assert ISO_MS.match(issue["createdAt"]) and ISO_MS.match(issue["updatedAt"])
        assert issue["updatedAt"] >= issue["createdAt"]
        assert issue["state"]["type"] in {"backlog", "unstarted", "started", "completed",
                                          "canceled"}
        if issue["trashed"]:
            assert issue["archivedAt"]
        if issue["autoArchivedAt"]:
            assert issue["archivedAt"] == issue["autoArchivedAt"]
            assert issue["state"]["type"] in {"completed", "canceled"}
        if issue["completedAt"]:
            assert issue["state"]["type"] == "completed"
        assert issue["dueDate"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", issue["dueDate"])
    assert sum(i["description"] is None for i in issues) > 30
    assert any(len(i["description"] or "") > 10_000 for i in issues)
    assert sum(i["assignee"] is None for i in issues) > 50
    assert sum(i["creator"] is None for i in issues) > 5
    assert any(i["parent"] for i in issues) and any(i["cycle"] for i in issues)
    assert any(i["project"] for i in issues) and any(i["labelIds"] for i in issues)
    assert {i["state"]["name"] for i in issues} == {"Backlog", "Todo", "In Progress", "In Review",
                                                    "Done", "Canceled"}
    assert any(not (i["title"] + (i["description"] or "")).isascii() for i in issues)
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", i["title"]) for i in issues)
    assert any(i["autoArchivedAt"] for i in issues) and any(i["trashed"] for i in issues)
    spread = min(i["createdAt"] for i in issues), max(i["updatedAt"] for i in issues)
    assert spread[0] < "2024-08-01" and spread[1] > "2026-06-01"
    ties = Counter(i["updatedAt"] for i in issues)
    assert sum(n for n in ties.values() if n > 1) >= 20, "updatedAt ties are part of the world"
    by_team = Counter(i["team"]["key"] for i in issues)
    assert by_team == {"ENG": 300, "OPS": 300}


def test_parents_resolve_to_their_issue(small_issues: list[dict[str, Any]]) -> None:
    by_id = {i["id"]: i for i in small_issues}
    with_parent = [i for i in small_issues if i["parent"]]
    assert with_parent
    for issue in with_parent:
        assert by_id[issue["parent"]["id"]]["identifier"] == issue["parent"]["identifier"]


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    def answer(seed: int) -> bytes:
        app = LinearApp(LinearWorld.scaled("small", seed=seed, now=NOW), api_key=KEY)
        return app.handle(graphql_request(queries.ISSUES_PAGE, {
            "first": 250, "orderBy": "updatedAt", "includeArchived": True}, api_key=KEY)).body

    assert answer(3) == answer(3)
    assert answer(3) != answer(4)
    one, two = (list(LinearWorld.scaled("small", seed=3, now=NOW).expected_rows())
                for _ in range(2))
    assert one == two


def test_expected_rows_follow_specs_mapping() -> None:
    world = LinearWorld.scaled("small", seed=2, now=NOW)
    rows = list(world.expected_rows())
    kinds = Counter(row.data_type for row in rows)
    assert kinds == {"team": 2, "user": 10, "project": 4, "issue": 600}
    assert all(row.source == "linear" for row in rows)
    teams = [row for row in rows if row.data_type == "team"]
    assert {row.title for row in teams} == {"Engineering", "Operations"}
    assert all(row.state is None for row in teams)
    users = [row for row in rows if row.data_type == "user"]
    assert Counter(row.state for row in users) == {"active": 9, "inactive": 1}
    assert all("@" in (row.description or "") for row in users)
    projects = [row for row in rows if row.data_type == "project"]
    assert {row.state for row in projects} <= {"backlog", "planned", "started", "paused",
                                               "completed", "canceled"}
    assert sum(row.archived for row in projects) == 1
    issues = [row for row in rows if row.data_type == "issue"]
    assert {row.state for row in issues} == {"Backlog", "Todo", "In Progress", "In Review",
                                             "Done", "Canceled"}
    assert any(row.archived for row in issues) and any(row.trashed for row in issues)
    assert all(row.archived for row in issues if row.trashed)
    assert {row.team_key for row in issues} == {"ENG", "OPS"}
    assert world.deleted_ids() == set()


def test_mutation_changes_what_it_reports_and_the_truth_follows() -> None:
    world = LinearWorld.scaled("small", seed=4, now=NOW)
    app = LinearApp(world, api_key=KEY)
    before = {row.external_id: row for row in world.expected_rows()}
    before_issues = {i["id"]: i for i in all_issues(app, Q_COUNT_PAGE)}
    clock = world.now
    counts = world.mutate(0.05, seed=9)
    assert world.now > clock
    assert all(counts[kind] >= 1 for kind in ("edited", "state_changed", "reassigned", "moved",
                                              "archived", "trashed", "deleted", "added"))
    assert counts["users_disabled"] == counts["teams_renamed"] == 1
    touched = sum(counts[kind] for kind in ("edited", "state_changed", "reassigned", "moved",
                                            "archived", "trashed", "added"))
    visible_before = sum(1 for row in before.values()
                         if row.data_type == "issue" and not row.archived)
    assert touched + counts["deleted"] - counts["added"] == round(0.05 * visible_before)

    after = {row.external_id: row for row in world.expected_rows()}
    deleted = world.deleted_ids()
    assert len(deleted) == counts["deleted"] and deleted <= set(before)
    assert not deleted & set(after)
    assert len(set(after) - set(before)) == counts["added"]
    stamp = world.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    recent = all_issues(app, Q_COUNT_PAGE, {"filter": {"updatedAt": {"gte": stamp}}})
    assert len(recent) == touched and all(i["updatedAt"] == stamp for i in recent)
    assert sum(i["title"].endswith("(edited)") for i in recent) == counts["edited"]
    assert sum(bool(i["trashed"]) for i in recent) == counts["trashed"]
    for issue in recent:
        row = after[issue["id"]]
        assert (row.title, row.state, row.archived, row.team_key) == (
            issue["title"], issue["state"]["name"], issue["archivedAt"] is not None,
            issue["team"]["key"])
    moved = [i for i in recent if i["id"] in before_issues
             and i["team"]["key"] != before_issues[i["id"]]["team"]["key"]]
    assert len(moved) == counts["moved"]
    for issue in moved:
        old = before_issues[issue["id"]]
        assert issue["identifier"] != old["identifier"]
        assert int(issue["number"]) > 300  # next number in the new team
    visible = all_issues(app, queries.ISSUES_PAGE, {"includeArchived": False})
    assert len(visible) == sum(1 for row in after.values()
                               if row.data_type == "issue" and not row.archived)
    users = [row for row in after.values() if row.data_type == "user"]
    assert Counter(row.state for row in users)["inactive"] == 2
    renamed = [row for row in after.values() if row.data_type == "team"
               and row.title != before[row.external_id].title]
    assert len(renamed) == 1 and renamed[0].external_updated_at == stamp


def test_mutation_is_deterministic() -> None:
    worlds = [LinearWorld.scaled("small", seed=4, now=NOW) for _ in range(2)]
    assert worlds[0].mutate(0.1, seed=2) == worlds[1].mutate(0.1, seed=2)
    assert list(worlds[0].expected_rows()) == list(worlds[1].expected_rows())


def test_queries_and_mutations_can_run_concurrently() -> None:
    world = LinearWorld.scaled("small", seed=6, now=NOW)
    app = LinearApp(world, api_key=KEY)
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(3):
                all_issues(app, Q_COUNT_PAGE)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for seed in range(5):
        world.mutate(0.02, seed=seed)
    for reader in readers:
        reader.join()
    assert not failures


def test_a_medium_world_is_built_lazily() -> None:
    world = LinearWorld.scaled("medium", seed=1, now=NOW)
    assert world.indexed_teams == 0
    assert world.issue_count() == 50_000
    app = LinearApp(world, api_key=KEY)
    response = app.handle(graphql_request(queries.ISSUES_PAGE, {
        "first": 250, "filter": {"team": {"key": {"eq": "FIN"}}}}, api_key=KEY))
    page = json.loads(response.body)["data"]["issues"]
    assert len(page["nodes"]) == 250 and page["pageInfo"]["hasNextPage"]
    assert {node["team"]["key"] for node in page["nodes"]} == {"FIN"}
    assert world.indexed_teams == 1, "only the queried team's index is built"
    assert LinearWorld.scaled("large").issue_count() >= 50_000


def test_unknown_scale_and_bad_fraction_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        LinearWorld.scaled("huge")
    with pytest.raises(ValueError, match="fraction"):
        LinearWorld.scaled("small").mutate(1.5, seed=1)
