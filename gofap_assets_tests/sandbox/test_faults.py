"""Fault profiles: reproducible draws, sane presets, and each kind seen by a real client."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.faults import PRESETS, FaultProfile
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld
from gofap_assets.sandbox.server import SandboxServer, json_response

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TOKEN = "test-token"


def test_the_same_seed_draws_the_same_faults() -> None:
    one, two = FaultProfile.named("chaos", 7), FaultProfile.named("chaos", 7)
    assert [one.draw() for _ in range(500)] == [two.draw() for _ in range(500)]
    other = FaultProfile.named("chaos", 8)
    assert [one.draw() for _ in range(500)] != [other.draw() for _ in range(500)]


def test_reset_replays_the_sequence() -> None:
    profile = FaultProfile(seed=3, error_5xx=0.5)
    first = [profile.draw() for _ in range(50)]
    profile.reset()
    assert [profile.draw() for _ in range(50)] == first


def test_draw_frequencies_match_the_rates() -> None:
    profile = FaultProfile(seed=1, error_5xx=0.1, dropped_connection=0.05, slow_response=0.02)
    draws = [profile.draw() for _ in range(20_000)]
    kinds = [d.kind for d in draws if d is not None]
    assert kinds.count("5xx") / 20_000 == pytest.approx(0.1, abs=0.01)
    assert kinds.count("dropped") / 20_000 == pytest.approx(0.05, abs=0.01)
    assert kinds.count("slow") / 20_000 == pytest.approx(0.02, abs=0.005)
    assert all(0 <= d.variant < 1 for d in draws if d is not None)


@pytest.mark.parametrize("bad", [{"error_5xx": -0.1}, {"error_5xx": 1.5},
                                 {"error_5xx": 0.6, "dropped_connection": 0.6}])
def test_invalid_rates_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultProfile(seed=1, **bad)


def test_presets_are_named_and_low_enough_for_three_retries_to_converge() -> None:
    assert set(PRESETS) == {"none", "5xx", "secondary", "primary", "dropped", "truncated",
                            "slow", "linear-ratelimited", "chaos"}
    for name in PRESETS:
        profile = FaultProfile.named(name, 1)
        assert profile.total_rate <= 0.15
        assert (profile.total_rate > 0) == (name != "none")
    assert FaultProfile.named("slow", 1, slow_seconds=0.5).slow_seconds == 0.5
    with pytest.raises(ValueError, match="unknown fault profile"):
        FaultProfile.named("gremlins", 1)


# -- against a real socket --------------------------------------------------------------------


class Plain:
    """An app without rate-limit shapes: such faults must not be injected into it."""

    def handle(self, request: Request) -> Response:
        return json_response(200, {"path": request.path, "padding": "x" * 2000})


@pytest.fixture(scope="module")
def github_app() -> GitHubApp:
    return GitHubApp(GitHubWorld(1, repos=1, issues_per_repo=20, commits_per_repo=5, now=NOW),
                     token=TOKEN)


def _attempts(server: SandboxServer, path: str, *, timeout: float = 5.0,
              limit: int = 300) -> Iterator[httpx.Response | Exception]:
    with httpx.Client(base_url=server.url, timeout=timeout,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for _ in range(limit):
            try:
                yield client.get(path)
            except httpx.HTTPError as error:
                yield error


SYMPTOMS = {
    "5xx": lambda r: isinstance(r, httpx.Response) and r.status_code in (502, 503),
    "secondary": lambda r: isinstance(r, httpx.Response) and r.status_code == 403
    and float(r.headers["retry-after"]) > 0 and "secondary rate limit" in r.text,
    "primary": lambda r: isinstance(r, httpx.Response) and r.status_code == 403
    and r.headers["x-ratelimit-remaining"] == "0" and "API rate limit exceeded" in r.text,
    "dropped": lambda r: isinstance(r, httpx.RemoteProtocolError)
    and "without sending" in str(r),
    "truncated": lambda r: isinstance(r, httpx.RemoteProtocolError)
    and "complete message body" in str(r),
    "slow": lambda r: isinstance(r, httpx.ReadTimeout),
}


@pytest.mark.parametrize("preset", ["5xx", "secondary", "primary", "dropped", "truncated",
                                    "slow"])
def test_each_preset_injects_its_kind_into_a_real_connection(github_app: GitHubApp,
                                                             preset: str) -> None:
    profile = FaultProfile.named(preset, 11, slow_seconds=0.6)
    kind = preset
    with SandboxServer({"/github": github_app}, faults=profile) as server:
        seen = []
        for outcome in _attempts(server, "/github/repos/acme/api/issues?state=all",
                                 timeout=0.25):
            if not (isinstance(outcome, httpx.Response) and outcome.status_code == 200):
                seen.append(outcome)
                break
        assert seen, f"no {kind} fault in 300 requests"
        assert SYMPTOMS[kind](seen[0]), repr(seen[0])
        assert server.stats.faults == {kind: 1}


def test_rate_limit_faults_are_not_injected_into_apps_that_cannot_shape_them() -> None:
    profile = FaultProfile(seed=1, secondary_limit=0.5, primary_exhaustion=0.5)
    with SandboxServer({"/plain": Plain()}, faults=profile) as server:
        statuses = [r.status_code for r in _attempts(server, "/plain/x", limit=40)
                    if isinstance(r, httpx.Response)]
    assert statuses == [200] * 40
    assert server.stats.faults == {}


def test_linear_rate_limits_do_not_hit_github(github_app: GitHubApp) -> None:
    profile = FaultProfile.named("linear-ratelimited", 1, linear_ratelimited=1.0)
    with SandboxServer({"/github": github_app}, faults=profile) as server:
        outcomes = list(_attempts(server, "/github/user", limit=10))
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in outcomes)


def test_faults_never_hit_the_control_endpoints(github_app: GitHubApp) -> None:
    profile = FaultProfile(seed=1, dropped_connection=1.0)
    with SandboxServer({"/github": github_app}, faults=profile) as server:
        for _ in range(5):
            assert httpx.get(f"{server.url}/_sandbox/stats").status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{server.url}/github/user")
        assert server.stats.faults == {"dropped": 1}


def test_a_client_retrying_three_times_gets_through_chaos(github_app: GitHubApp) -> None:
    profile = FaultProfile.named("chaos", 5, slow_seconds=0.3)
    with SandboxServer({"/github": github_app}, faults=profile) as server, \
            httpx.Client(base_url=server.url, timeout=0.1,
                         headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for _ in range(200):
            for _attempt in range(4):
                try:
                    if client.get("/github/repos/acme/api/commits").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            else:
                pytest.fail("four faults in a row")
        faults = server.stats.faults
    assert len(faults) >= 4 and sum(faults.values()) >= 15, faults
