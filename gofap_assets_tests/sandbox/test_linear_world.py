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

OLD = ("team", "user", "project", "issue")
"""The types the issue-mutation test counts; the newer ones have a test of their own."""

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
    assert {k: kinds[k] for k in ("team", "user", "project", "issue", "workflow_state",
                                  "cycle", "label")} == {
        "team": 2, "user": 10, "project": 4, "issue": 600, "workflow_state": 12, "cycle": 8,
        "label": 19}
    assert 400 < kinds["comment"] < 1000
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
    before = {row.external_id: row for row in world.expected_rows() if row.data_type in OLD}
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

    after = {row.external_id: row for row in world.expected_rows() if row.data_type in OLD}
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


def page(app: LinearApp, query: str, field: str,
         variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every node of one root connection, paged at 250."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = json.loads(app.handle(graphql_request(
            query, {"first": 250, "includeArchived": True, **(variables or {}), "after": after},
            api_key=KEY)).body)
        assert "errors" not in body, body
        nodes += body["data"][field]["nodes"]
        if not body["data"][field]["pageInfo"]["hasNextPage"]:
            return nodes
        after = body["data"][field]["pageInfo"]["endCursor"]


def test_comments_are_on_issues_of_a_team_or_on_no_issue() -> None:
    world = LinearWorld.scaled("small", seed=2, now=NOW)
    app = LinearApp(world, api_key=KEY)
    everything = page(app, queries.COMMENTS, "comments")
    eng = page(app, queries.COMMENTS, "comments",
               {"filter": {"issue": {"team": {"key": {"eq": "ENG"}}}}, "orderBy": "updatedAt"})
    ops = page(app, queries.COMMENTS, "comments",
               {"filter": {"issue": {"team": {"key": {"eq": "OPS"}}}}})
    assert len(eng) > 250, "a team's comments take more than one page"
    assert {c["issue"]["team"]["key"] for c in eng} == {"ENG"}
    assert [c["updatedAt"] for c in eng] == sorted(c["updatedAt"] for c in eng)
    orphans = [c for c in everything if c["issue"] is None]
    assert len(orphans) == 4 and all(c["issueId"] is None for c in orphans)
    assert len(everything) == len(eng) + len(ops) + len(orphans)
    truth = {r.external_id: r for r in world.expected_rows() if r.data_type == "comment"}
    assert set(truth) == {c["id"] for c in eng + ops}
    replies = [c for c in eng if c["parentId"]]
    assert replies and all(truth[c["parentId"]].team_key == "ENG" for c in replies)
    for comment in eng[:50]:
        row = truth[comment["id"]]
        assert (row.title, row.description, row.team_key) == (
            comment["body"].splitlines()[0], comment["body"], "ENG")


def test_cycles_states_and_labels_follow_linears_shapes() -> None:
    world = LinearWorld.scaled("small", seed=2, now=NOW)
    app = LinearApp(world, api_key=KEY)
    cycles = page(app, queries.CYCLES, "cycles", {"filter": {"team": {"key": {"eq": "ENG"}}}})
    flags = [(c["isPast"], c["isActive"], c["isFuture"]) for c in
             sorted(cycles, key=lambda c: c["number"])]
    assert flags == [(True, False, False), (True, False, False), (False, True, False),
                     (False, False, True)]
    assert all((c["completedAt"] is not None) == c["isPast"] for c in cycles)
    assert sum(c["archivedAt"] is not None for c in cycles) == 1
    visible = page(app, queries.CYCLES, "cycles", {"includeArchived": False})
    assert len(visible) == 6
    states = page(app, queries.WORKFLOW_STATES, "workflowStates",
                  {"filter": {"team": {"key": {"eq": "OPS"}}}})
    assert [s["type"] for s in sorted(states, key=lambda s: s["position"])] == [
        "backlog", "unstarted", "started", "started", "completed", "canceled"]
    labels = page(app, queries.LABELS, "issueLabels")
    workspace = [label for label in labels if label["team"] is None]
    assert len(workspace) == 3 and sum(label["archivedAt"] is not None for label in workspace) == 1
    children = [label for label in labels if label["parent"]]
    assert {label["parent"]["name"] for label in children} == {"Area"}
    issue_labels = {i for issue in all_issues(app) for i in issue["labelIds"]}
    assert issue_labels <= {label["id"] for label in labels if label["team"]}
    truth = {(r.data_type, r.external_id): r for r in world.expected_rows()}
    by_number = {c["number"]: c for c in cycles}
    assert truth[("cycle", by_number[3.0]["id"])].state == "active"
    assert truth[("cycle", by_number[4.0]["id"])].state == "upcoming"
    assert all(truth[("workflow_state", s["id"])].state == s["type"] for s in states)


def test_mutation_of_comments_cycles_and_labels_and_the_truth_that_follows() -> None:
    world = LinearWorld.scaled("small", seed=4, now=NOW)
    app = LinearApp(world, api_key=KEY)
    before = {(r.data_type, r.external_id): r for r in world.expected_rows()}
    counts = world.mutate(0.05, seed=9)
    assert counts["comments_added"] >= 1 and counts["comments_edited"] >= 1
    assert counts["comments_removed"] == counts["cycles_removed"] == 1
    assert counts["cycles_renamed"] == counts["labels_renamed"] == counts["labels_removed"] == 1
    after = {(r.data_type, r.external_id): r for r in world.expected_rows()}
    gone = world.deleted_keys()
    assert gone == set(before) - set(after)
    assert {kind for kind, _ in gone} == {"issue", "comment", "cycle", "label"}
    assert {("issue", i) for i in world.deleted_ids()} <= gone
    new = {key for key in set(after) - set(before)}
    assert {kind for kind, _ in new} == {"issue", "comment"}
    assert sum(kind == "comment" for kind, _ in new) == counts["comments_added"]
    stamp = world.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    recent = page(app, queries.COMMENTS, "comments",
                  {"filter": {"updatedAt": {"gte": stamp}}})
    assert len(recent) == counts["comments_added"] + counts["comments_edited"]
    assert sum(c["body"].endswith("(edited)") for c in recent) == counts["comments_edited"]
    renamed = [key for key, row in after.items() if key[0] in ("cycle", "label")
               and key in before and row.title != before[key].title]
    assert len(renamed) == 2 and all(after[key].external_updated_at == stamp for key in renamed)


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
