"""The Linear emulator's HTTP surface, through ``handle()``: auth, errors in Linear's shapes,
rate-limit and complexity headers, the complexity cap, partial data with errors."""

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import execute, parse

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.faults import FaultProfile
from gofap_assets.sandbox.linear import LinearApp, LinearWorld, graphql_request, queries
from gofap_assets.sandbox.linear.app import _Context, _executable_schema
from gofap_assets.sandbox.server import SandboxServer

KEY = "lin_api_testkey0000000000000000000000000"
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

Q_VIEWER = "query Me { viewer { id name email } }"
Q_NESTED = """
query Nested { teams(first: 100) { nodes { issues(first: 100) { nodes { id title } } } } }
"""
Q_SMALL_PAGE = "query Few { issues(first: 2) { nodes { id assignee { id name } } } }"
Q_ISSUE = "query One($id: String!) { issue(id: $id) { id identifier title } }"


@pytest.fixture(scope="module")
def world() -> LinearWorld:
    return LinearWorld.scaled("small", seed=7, now=NOW)


@pytest.fixture
def app(world: LinearWorld) -> LinearApp:
    return LinearApp(world, api_key=KEY)


def ask(app: LinearApp, query: str, variables: dict[str, Any] | None = None, *,
        api_key: str | None = KEY) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = app.handle(graphql_request(query, variables, api_key=api_key))
    return response.status, json.loads(response.body), response.headers


def raw(app: LinearApp, body: bytes, *, method: str = "POST", path: str = "/graphql",
        headers: dict[str, str] | None = None) -> Response:
    return app.handle(Request(method, path, {}, {"authorization": KEY, **(headers or {})}, body,
                              "http://sandbox.invalid/linear"))


def test_a_query_answers_with_data_and_the_rate_limit_and_complexity_headers(
        app: LinearApp) -> None:
    before_ms = int(time.time() * 1000)
    status, body, headers = ask(app, Q_VIEWER)
    assert status == 200
    assert body == {"data": {"viewer": {"id": body["data"]["viewer"]["id"],
                                        "name": "Ada Okafor",
                                        "email": "ada.okafor@gofap.example"}}}
    assert headers["x-ratelimit-requests-limit"] == "2500"
    assert int(headers["x-ratelimit-requests-remaining"]) == 2499
    assert int(headers["x-ratelimit-complexity-limit"]) == 3_000_000
    assert int(headers["x-complexity"]) == 2  # viewer (1) + three properties (0.3), rounded up
    for name in ("x-ratelimit-requests-reset", "x-ratelimit-complexity-reset"):
        reset = int(headers[name])
        assert before_ms <= reset <= before_ms + 3_600_000 + 1_000  # epoch *milliseconds*
    assert headers["content-type"].startswith("application/json")


def test_complexity_counts_properties_objects_and_multiplies_connections(app: LinearApp) -> None:
    _, _, headers = ask(app, queries.ISSUES_PAGE, {"first": 250, "includeArchived": True})
    # the node object, 21 properties, state (4), team and assignee (3 each), four more (2 each)
    per_issue = 1 + 21 * 0.1 + 1.4 + 2 * 1.3 + 4 * 1.2
    page_info = 1 + 4 * 0.1
    assert int(headers["x-complexity"]) == pytest.approx(1 + 250 * (per_issue + page_info),
                                                         abs=1)
    _, _, default = ask(app, "query Default { issues { nodes { id } } }")
    assert int(default["x-complexity"]) == 56  # 1 + 50 x (1 + 0.1), rounded up


def test_a_query_over_the_complexity_cap_is_rejected_like_linear(app: LinearApp) -> None:
    status, body, headers = ask(app, Q_NESTED)
    assert status == 400
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "Query too complex"
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["type"] == "invalid input"
    assert "Maximum allowed complexity: 10000" in error["extensions"]["userPresentableMessage"]
    assert int(headers["x-complexity"]) > 10_000


def test_the_complexity_cap_is_configurable(world: LinearWorld) -> None:
    strict = LinearApp(world, api_key=KEY, max_complexity=50)
    assert ask(strict, Q_SMALL_PAGE)[0] == 200
    status, body, _ = ask(strict, "query Big { issues { nodes { id title } } }")
    assert status == 400
    assert body["errors"][0]["message"] == "Query too complex"


@pytest.mark.parametrize("api_key", [None, "lin_api_wrong", f"Bearer {KEY}", f"{KEY} "])
def test_a_missing_or_wrong_key_is_an_authentication_error(app: LinearApp,
                                                           api_key: str | None) -> None:
    status, body, _ = ask(app, Q_VIEWER, api_key=api_key)
    assert status == 400
    [error] = body["errors"]
    assert error["message"] == "Authentication required, not authenticated"
    assert error["extensions"]["type"] == "authentication error"
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert error["extensions"]["userPresentableMessage"]


def test_rate_limited_answers_like_linear_400_ratelimited_with_reset_in_epoch_ms(
        app: LinearApp) -> None:
    before_ms = int(time.time() * 1000)
    response = app.rate_limited(graphql_request(Q_VIEWER, api_key=KEY), "linear_ratelimited",
                                2.5)
    assert response is not None
    assert response.status == 400
    [error] = json.loads(response.body)["errors"]
    assert error["message"].startswith("Rate limit exceeded")
    assert error["extensions"]["code"] == "RATELIMITED"
    assert error["extensions"]["type"] == "ratelimited"
    assert error["extensions"]["statusCode"] == 429
    assert response.headers["x-ratelimit-requests-remaining"] == "0"
    reset = int(response.headers["x-ratelimit-requests-reset"])
    assert before_ms + 2_500 <= reset <= int(time.time() * 1000) + 2_500
    assert app.rate_limited(graphql_request(Q_VIEWER), "secondary", 1.0) is None
    assert app.rate_limited(graphql_request(Q_VIEWER), "primary", 1.0) is None


def test_enforced_limits_run_out_and_answer_ratelimited(world: LinearWorld) -> None:
    clock = [1_800_000_000.0]
    limited = LinearApp(world, api_key=KEY, requests_per_hour=3, enforce_rate_limits=True,
                        clock=lambda: clock[0])
    assert [ask(limited, Q_VIEWER)[0] for _ in range(3)] == [200, 200, 200]
    status, body, headers = ask(limited, Q_VIEWER)
    assert (status, body["errors"][0]["extensions"]["code"]) == (400, "RATELIMITED")
    assert int(headers["x-ratelimit-requests-reset"]) == 1_800_000_000_000 + 1_200_000
    clock[0] += 1_200  # a third of an hour refills one request
    assert ask(limited, Q_VIEWER)[0] == 200
    costly = LinearApp(world, api_key=KEY, complexity_per_hour=100, enforce_rate_limits=True,
                       clock=lambda: clock[0])
    big = "query Big { issues { nodes { id title } } }"  # 61 points
    assert ask(costly, big)[0] == 200
    status, body, headers = ask(costly, big)
    assert (status, body["errors"][0]["extensions"]["code"]) == (400, "RATELIMITED")
    assert "complexity" in body["errors"][0]["message"]
    assert headers["x-ratelimit-complexity-remaining"] == "0"


def test_validation_errors_are_400_graphql_validation_failed(app: LinearApp) -> None:
    bad = "query Bad { issues { nodes { id notAField } } }"
    status, body, _ = ask(app, bad)
    assert status == 400
    [error] = body["errors"]
    assert "notAField" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["locations"] == [{"line": 1, "column": bad.index("notAField") + 1}]
    status, body, _ = ask(app, "query BadArg { issues(sort: [{}]) { nodes { id } } }")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == \
        "GRAPHQL_VALIDATION_FAILED"
    status, body, _ = ask(app, "query Broken { issues { ")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_bad_variables_are_400_with_data_null(app: LinearApp) -> None:
    status, body, _ = ask(app, queries.ISSUES_PAGE, {"first": "many"})
    assert status == 400
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["type"] == "invalid input"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"variables": {}}', b'{"query": 3}'])
def test_a_body_that_is_not_a_graphql_request_is_400(app: LinearApp, body: bytes) -> None:
    response = raw(app, body)
    assert response.status == 400
    assert json.loads(response.body)["errors"][0]["message"]


def test_other_paths_and_methods(app: LinearApp) -> None:
    assert raw(app, b"", path="/rest").status == 404
    response = raw(app, b"", method="GET")
    assert (response.status, response.headers["allow"]) == (405, "POST")


def test_first_above_250_is_an_invalid_input_error(app: LinearApp) -> None:
    status, body, _ = ask(app, queries.ISSUES_PAGE, {"first": 251})
    assert status == 400
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["issues"]
    assert error["extensions"]["type"] == "invalid input"
    assert "250" in error["extensions"]["userPresentableMessage"]
    assert ask(app, queries.ISSUES_PAGE, {"first": 250})[0] == 200


def test_an_unknown_id_is_entity_not_found(app: LinearApp) -> None:
    status, body, _ = ask(app, Q_ISSUE, {"id": "00000000-0000-4000-8000-000000000000"})
    assert status == 400
    assert body["errors"][0]["message"] == "Entity not found: Issue"
    assert body["errors"][0]["extensions"]["code"] == "INPUT_ERROR"


def test_a_failing_field_gives_partial_data_and_errors() -> None:
    world = LinearWorld.scaled("small", seed=7, now=NOW)
    app = LinearApp(world, api_key=KEY)
    [broken] = world.fail_field("assignee", count=1)
    status, body, _ = ask(app, Q_SMALL_PAGE)
    assert status == 200
    nodes = body["data"]["issues"]["nodes"]
    assert nodes[0]["id"] == broken and nodes[0]["assignee"] is None
    [error] = body["errors"]
    assert error["path"] == ["issues", "nodes", 0, "assignee"]
    assert error["extensions"]["type"] == "internal error"
    world.heal()
    assert "errors" not in ask(app, Q_SMALL_PAGE)[1]


def test_a_failing_non_null_field_nulls_up_to_the_nearest_nullable_parent() -> None:
    world = LinearWorld.scaled("small", seed=7, now=NOW)
    app = LinearApp(world, api_key=KEY)
    world.fail_field("title", count=1)
    status, body, _ = ask(app, "query T { issues(first: 2) { nodes { id title } } }")
    # Issue.title, nodes: [Issue!]! and issues: IssueConnection! are all non-null.
    assert (status, body["data"]) == (400, None)
    assert body["errors"][0]["path"] == ["issues", "nodes", 0, "title"]


def test_the_fast_executor_answers_exactly_like_plain_graphql_core() -> None:
    world = LinearWorld.scaled("small", seed=3, now=NOW)
    world.fail_field("creator", count=2)
    app = LinearApp(world, api_key=KEY)
    variables = {"first": 120, "includeArchived": True, "orderBy": "updatedAt"}
    _, fast, _ = ask(app, queries.ISSUES_PAGE, variables)
    plain = execute(_executable_schema(), parse(queries.ISSUES_PAGE),
                    context_value=_Context(world, app), variable_values=variables)
    assert fast["data"] == plain.data
    assert [e["path"] for e in fast["errors"]] == [e.path for e in plain.errors or []]


def test_viewer_organization_and_rate_limit_status(app: LinearApp) -> None:
    status, body, _ = ask(app, queries.VIEWER)
    assert status == 200
    data = body["data"]
    assert data["viewer"]["admin"] is True
    assert data["organization"]["urlKey"] == "gofap"
    kinds = {limit["type"]: limit for limit in data["rateLimitStatus"]["limits"]}
    assert kinds["requestLimit"]["allowedAmount"] == 2500
    assert kinds["requestLimit"]["period"] == 3_600_000


def test_over_a_real_socket_with_the_sandbox_server_and_its_faults(world: LinearWorld) -> None:
    app = LinearApp(world, api_key=KEY)
    payload = {"query": queries.ISSUES_PAGE, "variables": {"first": 250}}
    with SandboxServer({"/linear": app}) as server, httpx.Client(
            base_url=f"{server.url}/linear", headers={"Authorization": KEY}) as client:
        response = client.post("/graphql", json=payload)
        assert response.status_code == 200
        assert len(response.json()["data"]["issues"]["nodes"]) == 250
        assert int(response.headers["x-ratelimit-requests-remaining"]) < 2500
        assert int(response.headers["x-complexity"]) > 1000
        mutated = httpx.post(f"{server.url}/_sandbox/mutate", json={"fraction": 0, "seed": 1})
        assert mutated.json()["/linear"]["edited"] == 0
    faults = FaultProfile(seed=1, linear_ratelimited=1.0, retry_after_seconds=3)
    with SandboxServer({"/linear": app}, faults=faults) as server:
        response = httpx.post(f"{server.url}/linear/graphql", json=payload,
                              headers={"Authorization": KEY})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"
        assert int(response.headers["x-ratelimit-requests-reset"]) > time.time() * 1000 + 2000
