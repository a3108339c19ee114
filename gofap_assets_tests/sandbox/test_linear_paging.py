"""Relay paging, ordering, filters and visibility of the Linear emulator, through ``handle()``."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gofap_assets.sandbox.linear import LinearApp, LinearWorld, graphql_request, queries
from gofap_assets.sandbox.linear.values import format_datetime

KEY = "lin_api_sandbox"
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

Q_IDS = """
query Ids($first: Int, $after: String, $filter: IssueFilter, $orderBy: PaginationOrderBy,
          $includeArchived: Boolean) {
  issues(first: $first, after: $after, filter: $filter, orderBy: $orderBy,
         includeArchived: $includeArchived) {
    edges { cursor node { id identifier updatedAt createdAt archivedAt trashed team { key } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def world() -> LinearWorld:
    return LinearWorld.scaled("small", seed=11, now=NOW)


@pytest.fixture(scope="module")
def app(world: LinearWorld) -> LinearApp:
    return LinearApp(world, api_key=KEY)


def ask(app: LinearApp, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = app.handle(graphql_request(query, variables, api_key=KEY))
    body = json.loads(response.body)
    assert response.status == 200, body
    assert "errors" not in body, body
    return body["data"]


def collect(app: LinearApp, variables: dict[str, Any], query: str = Q_IDS,
            field: str = "issues") -> list[dict[str, Any]]:
    """Every node, following ``endCursor`` while ``hasNextPage``."""
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        connection = ask(app, query, {**variables, "after": after})[field]
        page = ([edge["node"] for edge in connection["edges"]] if "edges" in connection
                else connection["nodes"])
        nodes += page
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
        assert after is not None and page
    raise AssertionError("paging did not end")


def expected_issues(world: LinearWorld) -> dict[str, Any]:
    return {row.external_id: row for row in world.expected_rows() if row.data_type == "issue"}


def test_paging_past_250_visits_every_issue_exactly_once(app: LinearApp,
                                                         world: LinearWorld) -> None:
    expected = expected_issues(world)
    assert len(expected) == 600
    for order in ("createdAt", "updatedAt"):
        nodes = collect(app, {"first": 250, "orderBy": order, "includeArchived": True})
        ids = [node["id"] for node in nodes]
        assert len(ids) == len(set(ids)) == 600
        assert set(ids) == set(expected)
        keys = [(node[order], node["id"]) for node in nodes]
        assert keys == sorted(keys), f"not in ascending {order}"


def test_the_default_page_is_50_and_hides_archived_and_trashed(app: LinearApp,
                                                               world: LinearWorld) -> None:
    first = ask(app, Q_IDS)["issues"]
    assert len(first["edges"]) == 50
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    visible = collect(app, {})
    expected = expected_issues(world)
    assert {n["id"] for n in visible} == {i for i, row in expected.items() if not row.archived}
    assert all(n["archivedAt"] is None and n["trashed"] is None for n in visible)
    everything = collect(app, {"first": 250, "includeArchived": True})
    trashed = [n for n in everything if n["trashed"]]
    archived = [n for n in everything if n["archivedAt"]]
    assert trashed and all(n["archivedAt"] for n in trashed)
    assert len(archived) > len(trashed)


def test_updated_at_gte_with_order_by_updated_at_returns_exactly_the_expected_ties_included(
        app: LinearApp, world: LinearWorld) -> None:
    expected = expected_issues(world)
    ties = Counter(row.external_updated_at for row in expected.values())
    tied_at, count = max(sorted(ties.items()), key=lambda item: item[1])
    assert count >= 3, "the world should have issues sharing one updatedAt"
    # Small pages, so runs of equal updatedAt straddle page boundaries.
    for op, keep in (("gte", lambda ts: ts >= tied_at), ("gt", lambda ts: ts > tied_at)):
        nodes = collect(app, {"first": 7, "orderBy": "updatedAt", "includeArchived": True,
                              "filter": {"updatedAt": {op: tied_at}}})
        want = {i for i, row in expected.items() if keep(row.external_updated_at)}
        assert [n["id"] for n in nodes if n["updatedAt"] == tied_at] == sorted(
            n["id"] for n in nodes if n["updatedAt"] == tied_at)
        assert len(nodes) == len(want) and {n["id"] for n in nodes} == want, op


def test_date_filters_accept_linear_durations_on_the_worlds_clock(app: LinearApp,
                                                                  world: LinearWorld) -> None:
    since = format_datetime(NOW - timedelta(days=30))
    by_duration = collect(app, {"first": 250, "filter": {"updatedAt": {"gte": "-P30D"}}})
    by_date = collect(app, {"first": 250, "filter": {"updatedAt": {"gte": since}}})
    assert by_duration == by_date and by_duration
    window = collect(app, {"first": 250, "includeArchived": True, "filter": {"and": [
        {"createdAt": {"gte": "2025"}}, {"createdAt": {"lt": "2025-04-01"}}]}})
    assert window and all("2025-01-01" <= n["createdAt"] < "2025-04-01" for n in window)


def test_team_filters_by_key_and_id_and_or(app: LinearApp, world: LinearWorld) -> None:
    teams = ask(app, queries.TEAMS)["teams"]["nodes"]
    eng, ops = (next(t for t in teams if t["key"] == key) for key in ("ENG", "OPS"))
    by_key = collect(app, {"first": 250, "filter": {"team": {"key": {"eq": "ENG"}}}})
    by_id = collect(app, {"first": 250, "filter": {"team": {"id": {"eq": eng["id"]}}}})
    assert by_key == by_id and by_key
    assert {n["team"]["key"] for n in by_key} == {"ENG"}
    assert all(n["identifier"].startswith("ENG-") for n in by_key)
    both = collect(app, {"first": 250, "filter": {"or": [
        {"team": {"key": {"eq": "ENG"}}}, {"team": {"id": {"in": [ops["id"]]}}}]}})
    assert len(both) == len(collect(app, {"first": 250}))
    nested = ask(app, queries.TEAM_ISSUES, {"id": "OPS", "first": 250})["team"]["issues"]
    assert {n["team"]["key"] for n in nested["nodes"]} == {"OPS"}
    assert nested["pageInfo"]["hasNextPage"] is True  # 300 issues: a second page
    assert ask(app, queries.TEAM_ISSUES, {"id": ops["id"], "first": 1})["team"]["key"] == "OPS"


def test_id_filter(app: LinearApp) -> None:
    some = [edge["node"]["id"] for edge in ask(app, Q_IDS, {"first": 5})["issues"]["edges"]]
    found = collect(app, {"filter": {"id": {"in": some[1:4]}}})
    assert [n["id"] for n in found] == some[1:4]
    assert [n["id"] for n in collect(app, {"filter": {"id": {"eq": some[0]}}})] == [some[0]]


def test_backward_paging_with_last_and_before_mirrors_forward(app: LinearApp) -> None:
    forward = [n["id"] for n in collect(app, {"first": 250, "includeArchived": True})]
    backward: list[str] = []
    before = None
    while True:
        connection = ask(app, queries.ISSUES_BACKWARD, {"last": 100, "before": before,
                                                       "includeArchived": True})["issues"]
        backward = [edge["node"]["id"] for edge in connection["edges"]] + backward
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert backward == forward


def test_users_hide_disabled_unless_include_disabled(app: LinearApp) -> None:
    default = ask(app, queries.USERS)["users"]["nodes"]
    everyone = ask(app, queries.USERS, {"includeDisabled": True})["users"]["nodes"]
    assert all(user["active"] for user in default)
    disabled = [user for user in everyone if not user["active"]]
    assert len(disabled) == 1 and len(everyone) == len(default) + 1 == 10
    assert any(user["guest"] for user in everyone) and any(user["app"] for user in everyone)
    paged = collect(app, {"first": 3, "includeDisabled": True}, queries.USERS, "users")
    assert [user["id"] for user in paged] == [user["id"] for user in everyone]


def test_projects_hide_archived_unless_include_archived(app: LinearApp) -> None:
    default = ask(app, queries.PROJECTS)["projects"]["nodes"]
    everything = ask(app, queries.PROJECTS, {"includeArchived": True})["projects"]["nodes"]
    assert len(everything) == 4 and len(default) == 3
    [archived] = [p for p in everything if p["archivedAt"]]
    assert archived["state"] == archived["status"]["type"]
    paged = collect(app, {"first": 1, "includeArchived": True}, queries.PROJECTS, "projects")
    assert [p["id"] for p in paged] == [p["id"] for p in everything]


def test_entity_filters_on_updated_at(app: LinearApp) -> None:
    teams = ask(app, queries.TEAMS)["teams"]["nodes"]
    newest = max(team["updatedAt"] for team in teams)
    recent = ask(app, queries.TEAMS, {"filter": {"updatedAt": {"gte": newest}}})
    assert [t["updatedAt"] for t in recent["teams"]["nodes"]] == [newest]
    keyed = ask(app, queries.TEAMS, {"filter": {"key": {"in": ["OPS"]}}})
    assert [t["key"] for t in keyed["teams"]["nodes"]] == ["OPS"]


def test_an_invalid_cursor_is_an_input_error(app: LinearApp) -> None:
    response = app.handle(graphql_request(Q_IDS, {"after": "not-a-cursor!"}, api_key=KEY))
    body = json.loads(response.body)
    assert response.status == 400
    assert body["errors"][0]["extensions"]["type"] == "invalid input"


def test_cursors_stay_valid_while_the_data_changes() -> None:
    """A cursor holds (sort value, id), not an offset: no unchanged issue is skipped."""
    world = LinearWorld.scaled("small", seed=5, now=NOW)
    app = LinearApp(world, api_key=KEY)
    before = expected_issues(world)
    variables = {"first": 100, "orderBy": "updatedAt", "includeArchived": True}
    first_page = ask(app, Q_IDS, variables)["issues"]
    seen = [edge["node"]["id"] for edge in first_page["edges"]]
    world.mutate(0.2, seed=1)
    after = expected_issues(world)
    seen += [n["id"] for n in collect(app, {**variables,
                                           "after": first_page["pageInfo"]["endCursor"]})]
    unchanged = {i for i, row in before.items()
                 if i in after and after[i].external_updated_at == row.external_updated_at}
    assert unchanged <= set(seen)
    changed = {i for i, row in after.items() if i not in before
               or before[i].external_updated_at != row.external_updated_at}
    assert changed <= set(seen), "edited issues move to the end of updatedAt order"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(1, 250), order=st.sampled_from(["createdAt", "updatedAt"]),
       op=st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq"]),
       pick=st.floats(0, 1), include_archived=st.booleans(),
       team=st.sampled_from([None, "ENG", "OPS"]))
def test_any_page_size_filter_and_order_matches_a_brute_force_answer(
        app: LinearApp, world: LinearWorld, first: int, order: str, op: str, pick: float,
        include_archived: bool, team: str | None) -> None:
    rows = list(expected_issues(world).values())
    stamps = sorted({row.external_updated_at for row in rows})
    threshold = stamps[min(int(pick * len(stamps)), len(stamps) - 1)]
    compare = {"gt": str.__gt__, "gte": str.__ge__, "lt": str.__lt__, "lte": str.__le__,
               "eq": str.__eq__, "neq": str.__ne__}[op]
    sort_field = "external_updated_at" if order == "updatedAt" else "external_created_at"
    want = sorted(((getattr(row, sort_field), row.external_id) for row in rows
                   if compare(row.external_updated_at, threshold)
                   and (include_archived or not row.archived)
                   and team in (None, row.team_key)), key=lambda key: key)
    conditions: list[dict[str, Any]] = [{"updatedAt": {op: threshold}}]
    if team:
        conditions.append({"team": {"key": {"eq": team}}})
    nodes = collect(app, {"first": first, "orderBy": order, "includeArchived": include_archived,
                          "filter": {"and": conditions}})
    assert [n["id"] for n in nodes] == [node_id for _, node_id in want]
