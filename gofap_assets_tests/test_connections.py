"""`test-connections`: who each credential belongs to and the rate limit left; never the secret,
and a rejected credential names its service and variable (APIs mocked with respx)."""

from pathlib import Path

import httpx
import pytest
import respx

from gofap_assets.cli import main
from gofap_assets.connections import check_connections
from gofap_assets_tests.orchestration import (
    GITHUB_API,
    LINEAR_API,
    LINEAR_KEY,
    ORG,
    TOKEN,
    configure_env,
)

VIEWER = {"data": {"viewer": {"id": "u-1", "name": "Ada", "email": "ada@example.gov"},
                   "organization": {"id": "o-1", "name": "GOFAP", "urlKey": "gofap"}}}


def github_ok(router: respx.MockRouter) -> respx.Route:
    router.get(f"{GITHUB_API}/rate_limit").mock(return_value=httpx.Response(200, json={
        "resources": {"core": {"limit": 5000, "remaining": 4998, "reset": 1_900_000_000,
                               "used": 2, "resource": "core"}}}))
    router.get(f"{GITHUB_API}/orgs/{ORG}").mock(return_value=httpx.Response(
        200, json={"login": ORG, "id": 7}, headers={"x-ratelimit-remaining": "4998"}))
    return router.get(f"{GITHUB_API}/user").mock(return_value=httpx.Response(
        200, json={"login": "octo-bot", "id": 1},
        headers={"x-ratelimit-remaining": "4999", "x-oauth-scopes": "repo, read:org"}))


def row_text(rows: list[dict[str, object]]) -> str:
    return " ".join(str(v) for row in rows for v in row.values())


@respx.mock
def test_both_services_report_who_they_are_and_the_rate_limit_left(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = configure_env(monkeypatch, tmp_path, github=True, linear=True)
    user = github_ok(respx.mock)
    linear = respx.post(LINEAR_API).mock(return_value=httpx.Response(
        200, json=VIEWER, headers={"x-ratelimit-requests-remaining": "1499",
                                   "x-ratelimit-complexity-remaining": "250000"}))
    linear_result, github_result = check_connections(settings)
    assert github_result.ok and github_result.configured
    assert (github_result.account, github_result.organization) == ("octo-bot", ORG)
    assert github_result.rate_limit_remaining == 4998
    assert "repo, read:org" in github_result.as_row()["details"]
    assert "token#1: 4998 of 5000 left, resets 2030-03-17T17:46:40Z" in github_result.details
    assert user.calls[0].request.headers["authorization"] == f"Bearer {TOKEN}"
    assert linear_result.ok and linear_result.account == "Ada <ada@example.gov>"
    assert linear_result.organization == "gofap" and linear_result.rate_limit_remaining == 1499
    assert linear.calls[0].request.headers["authorization"] == LINEAR_KEY
    text = row_text([r.as_row() for r in (linear_result, github_result)])
    assert TOKEN not in text and LINEAR_KEY not in text


def test_unconfigured_services_are_reported_not_contacted(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = configure_env(monkeypatch, tmp_path, github=False, linear=False)
    with respx.mock(assert_all_called=False) as router:
        results = check_connections(settings)
        assert not router.calls
    assert [(r.service, r.configured, r.as_row()["status"]) for r in results] == [
        ("linear", False, "not configured"), ("github", False, "not configured")]
    assert "LINEAR_API_KEY is unset" in results[0].as_row()["details"]


@respx.mock
def test_a_rejected_github_token_names_the_service_and_the_variable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = configure_env(monkeypatch, tmp_path)
    respx.get(f"{GITHUB_API}/user").mock(
        return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    github = check_connections(settings)[1]
    assert github.configured and not github.ok
    details = str(github.as_row()["details"])
    assert "GitHub 401" in details and "GITHUB_TOKEN" in details and TOKEN not in details
    assert github.as_row()["status"] == "FAILED"


@respx.mock
def test_a_rejected_linear_key_names_the_service_and_the_variable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = configure_env(monkeypatch, tmp_path, github=False, linear=True)
    respx.post(LINEAR_API).mock(return_value=httpx.Response(400, json={"errors": [{
        "message": "Authentication required, not authenticated",
        "extensions": {"code": "AUTHENTICATION_ERROR", "type": "authentication error"}}]}))
    linear = check_connections(settings)[0]
    assert not linear.ok
    details = str(linear.as_row()["details"])
    assert "Linear" in details and "LINEAR_API_KEY" in details and LINEAR_KEY not in details


@respx.mock
def test_an_organization_the_token_cannot_see_is_a_clear_failure(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = configure_env(monkeypatch, tmp_path)
    respx.get(f"{GITHUB_API}/user").mock(return_value=httpx.Response(200, json={"login": "me"}))
    respx.get(f"{GITHUB_API}/orgs/{ORG}").mock(
        return_value=httpx.Response(404, json={"message": "Not Found"}))
    github = check_connections(settings)[1]
    assert not github.ok and github.account == "me"
    assert f"GITHUB_ORG={ORG}: no such organization" in str(github.as_row()["details"])


@respx.mock
def test_the_command_exits_1_when_a_configured_service_fails(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_env(monkeypatch, tmp_path)
    route = github_ok(respx.mock)
    assert main(["test-connections"]) == 0
    assert "octo-bot" in capsys.readouterr().out
    route.mock(return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    assert main(["test-connections"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and TOKEN not in out
