"""The Linear client against a mocked endpoint (respx): auth, rate limits, errors and paging."""

import json
import time
from collections.abc import Callable

import httpx
import pytest
import respx

from gofap_assets.http import AuthenticationError, MalformedResponseError
from gofap_assets.linear.client import LinearClient
from gofap_assets.linear.errors import LinearQueryError, WorkspaceMismatchError
from gofap_assets.linear.queries import ISSUES, ORGANIZATION, TEAMS
from gofap_assets_tests.linear.conftest import API, KEY, FakeLinear, issue_node, team_node

RATELIMITED = {"errors": [{"message": "Rate limit exceeded. Only 2500 requests are allowed "
                           "per 1 hour.", "extensions": {"code": "RATELIMITED",
                                                          "statusCode": 429}}]}
AUTH_ERROR = {"errors": [{"message": "Authentication required, not authenticated",
                          "extensions": {"type": "authentication error",
                                         "code": "AUTHENTICATION_ERROR",
                                         "userPresentableMessage": "You need to authenticate."}}]}
TOO_COMPLEX = {"errors": [{"message": "Query too complex", "extensions": {
    "type": "invalid input", "code": "INPUT_ERROR", "userPresentableMessage":
    "The query is too complex. Complexity: 12304.9. Maximum allowed complexity: 10000."}}]}
ORG = {"data": {"organization": {"id": "org-1", "name": "Acme", "urlKey": "acme"}}}


def reset_in(seconds: float) -> str:
    return str(int((time.time() + seconds) * 1000))


@respx.mock
def test_sends_the_personal_key_as_is_and_the_document_as_json(client: LinearClient) -> None:
    route = respx.post(API).mock(return_value=httpx.Response(200, json=ORG))
    assert client.query(ORGANIZATION)["organization"]["urlKey"] == "acme"
    request = route.calls[0].request
    assert request.headers["authorization"] == KEY  # no "Bearer" for personal keys
    assert json.loads(request.content) == {"query": ORGANIZATION}


@pytest.mark.parametrize("status", [400, 429])
@respx.mock
def test_ratelimited_waits_until_the_epoch_ms_reset_then_retries(
        client: LinearClient, sleeps: list[float], status: int) -> None:
    headers = {"x-ratelimit-requests-remaining": "0",
               "x-ratelimit-requests-reset": reset_in(42),
               "x-ratelimit-complexity-remaining": "5000",
               "x-ratelimit-complexity-reset": reset_in(3000)}
    route = respx.post(API).mock(side_effect=[
        httpx.Response(status, json=RATELIMITED, headers=headers),
        httpx.Response(200, json=ORG)])
    assert client.query(ORGANIZATION)["organization"]["id"] == "org-1"
    assert route.call_count == 2
    assert len(sleeps) == 1 and 40 < sleeps[0] <= 42  # milliseconds read as such
    assert client.http.stats.snapshot()["rate_limit_waits"] == 1


@respx.mock
def test_ratelimited_by_extension_type_honours_retry_after(client: LinearClient,
                                                          sleeps: list[float]) -> None:
    body = {"errors": [{"message": "slow down", "extensions": {"type": "Ratelimited"}}]}
    respx.post(API).mock(side_effect=[
        httpx.Response(400, json=body, headers={"retry-after": "7"}),
        httpx.Response(200, json=ORG)])
    client.query(ORGANIZATION)
    assert sleeps == [7.0]


@respx.mock
def test_a_502_is_retried_with_backoff(client: LinearClient, sleeps: list[float]) -> None:
    route = respx.post(API).mock(side_effect=[httpx.Response(502, text="bad gateway"),
                                              httpx.Response(200, json=ORG)])
    client.query(ORGANIZATION)
    assert route.call_count == 2 and len(sleeps) == 1
    assert client.http.stats.snapshot()["retries"] == 1


@respx.mock
def test_an_authentication_error_names_the_variable_and_stops_further_requests(
        client: LinearClient) -> None:
    route = respx.post(API).mock(return_value=httpx.Response(400, json=AUTH_ERROR))
    with pytest.raises(AuthenticationError, match="LINEAR_API_KEY") as caught:
        client.query(ORGANIZATION)
    assert KEY not in str(caught.value)
    with pytest.raises(AuthenticationError):
        client.query(ORGANIZATION)
    assert route.call_count == 1


@respx.mock
def test_a_401_is_an_authentication_error_too(client: LinearClient) -> None:
    respx.post(API).mock(return_value=httpx.Response(401, json=AUTH_ERROR))
    with pytest.raises(AuthenticationError, match="LINEAR_API_KEY"):
        client.query(ORGANIZATION)


@respx.mock
def test_partial_data_with_errors_is_never_silently_accepted(client: LinearClient) -> None:
    respx.post(API).mock(return_value=httpx.Response(200, json={
        "data": {"organization": None},
        "errors": [{"message": "boom", "path": ["organization"]}]}))
    with pytest.raises(LinearQueryError, match=r"organization: boom"):
        client.query(ORGANIZATION)


@respx.mock
def test_errors_inside_nodes_are_placed_on_those_nodes(client: LinearClient) -> None:
    nodes = [issue_node(1), issue_node(2)]
    respx.post(API).mock(return_value=httpx.Response(200, json={
        "data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": False,
                                                          "endCursor": None}}},
        "errors": [{"message": "assignee lookup failed",
                    "path": ["issues", "nodes", 1, "assignee"]}]}))
    [page] = list(client.pages(ISSUES))
    assert list(page.node_errors) == [1]
    assert "issues.nodes.1.assignee: assignee lookup failed" in page.node_errors[1]


@respx.mock
def test_errors_outside_the_nodes_fail_the_page(client: LinearClient) -> None:
    respx.post(API).mock(return_value=httpx.Response(200, json={
        "data": {"teams": {"nodes": [], "pageInfo": {"hasNextPage": False}}},
        "errors": [{"message": "internal", "path": ["teams", "pageInfo"]}]}))
    with pytest.raises(LinearQueryError, match=r"teams\.pageInfo: internal"):
        list(client.pages(TEAMS))


@respx.mock
def test_a_page_rejected_as_too_complex_is_retried_at_half_the_size(
        client: LinearClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        variables = json.loads(request.content)["variables"]
        if variables["first"] > 100:
            return httpx.Response(400, json=TOO_COMPLEX)
        after = variables.get("after")
        return httpx.Response(200, json={"data": {"issues": {
            "nodes": [issue_node(2 if after else 1)],
            "pageInfo": {"hasNextPage": after is None, "endCursor": "c1"}}}})

    route = respx.post(API).mock(side_effect=answer)
    pages = list(client.pages(ISSUES))
    sizes = [json.loads(call.request.content)["variables"]["first"] for call in route.calls]
    assert sizes == [250, 125, 62, 62]
    assert [p.page_size for p in pages] == [62, 62]
    assert json.loads(route.calls[3].request.content)["variables"]["after"] == "c1"
    assert client.complexity_halvings == 2


@respx.mock
def test_has_next_page_without_a_new_cursor_is_malformed(client: LinearClient) -> None:
    respx.post(API).mock(return_value=httpx.Response(200, json={"data": {"teams": {
        "nodes": [team_node()], "pageInfo": {"hasNextPage": True, "endCursor": None}}}}))
    with pytest.raises(MalformedResponseError, match="endCursor"):
        list(client.pages(TEAMS))


def test_pages_use_first_after_and_the_filter(client: LinearClient, fake: FakeLinear) -> None:
    fake.nodes["issues"] = [issue_node(n, team="ENG" if n % 2 else "OPS")
                            for n in range(1, 601)]
    pages = list(client.pages(ISSUES, {"team": {"key": {"eq": "ENG"}}}))
    assert [len(p.nodes) for p in pages] == [250, 50]
    assert [r["variables"].get("after") for r in fake.requests] == [None, "250"]
    assert all(r["variables"]["filter"] == {"team": {"key": {"eq": "ENG"}}}
               for r in fake.requests)


def test_the_workspace_is_checked_against_id_or_url_key(
        make_client: Callable[..., LinearClient], fake: FakeLinear) -> None:
    make_client(workspace_id="acme").verify_workspace()
    make_client(workspace_id="org-1").verify_workspace()
    with pytest.raises(WorkspaceMismatchError, match="LINEAR_WORKSPACE_ID"):
        make_client(workspace_id="other").verify_workspace()


def test_connection_test_reports_who_and_the_rate_limit_left(client: LinearClient,
                                                             fake: FakeLinear) -> None:
    info = client.test_connection()
    assert (info.user_name, info.url_key, info.requests_remaining) == ("User 1", "acme", 2400)
    assert "2400 requests left" in info.describe()
    metadata = client.rate_limits.as_metadata()
    assert metadata["rate_limit_requests_limit"] == 2500
    assert metadata["rate_limit_complexity_remaining"] == 2990000
    assert metadata["query_complexity_max"] == 3151
