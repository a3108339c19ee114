"""GitHub App authentication and rate limits as a budget, over real sockets against the sandbox:
an App's first sync, its token renewed before expiry and after a 401, a bad key and a missing
installation; a pool of tokens where one runs out mid-sync; every credential spent with a far
reset (a clean stop, deferred partitions, exit 0, and the next sync completing the data); the
reserve never crossed."""

import math
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gofap_assets.cli.main import main
from gofap_assets.github.app_auth import GitHubAppInstallation
from gofap_assets.github.client import GitHubClient
from gofap_assets.github.sync import (
    PULL_REQUESTS,
    sync_pull_request_reviews,
    sync_repositories,
    sync_repository_endpoint,
)
from gofap_assets.http import BudgetExhaustedError
from gofap_assets.sandbox.app import Request, Response
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld, SandboxGitHubAppIdentity
from gofap_assets.sandbox.server import SandboxServer
from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.reliability.harness import (
    Sleeps,
    apply_env,
    direct_sync,
    github_differences,
    small_world,
)

TOKENS = ("ghp_BUDGET0pool0token0number0one00000001", "ghp_BUDGET0pool0token0number0two00000002",
          "ghp_BUDGET0pool0token0number0three000003")
DATA_PREFIXES = ("/repos/", "/repositories/", "/orgs/", "/user", "/installation/")


class Recorder:
    """Wraps the emulator: records each request's path and credential, and can run a hook
    before the Nth data request (another tool spends a budget, a token expires, time passes)."""

    def __init__(self, inner: GitHubApp) -> None:
        self.inner, self.world = inner, inner.world
        self.seen: list[tuple[str, str, int]] = []
        self.empty: list[bool] = []
        """Per request in `seen`: answered without any item (a 304, or an empty page)."""
        self.hooks: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._data = 0

    def handle(self, request: Request) -> Response:
        is_data = (request.path.startswith(DATA_PREFIXES)
                   and not request.path.endswith("/installation"))
        if is_data:
            with self._lock:
                self._data += 1
                hook = self.hooks.pop(self._data, None)
            if hook is not None:
                hook()
        response = self.inner.handle(request)
        with self._lock:
            self.seen.append((request.method, request.path, response.status))
            self.empty.append(response.status == 304 or response.body.strip() == b"[]")
        return response

    def data_requests(self) -> list[tuple[str, str, int]]:
        return [s for s in self.seen if s[1].startswith(DATA_PREFIXES)
                and not s[1].endswith("/installation")]

    def statuses(self, status: int) -> int:
        return sum(1 for s in self.seen if s[2] == status)


@contextmanager
def serving(app: GitHubApp) -> Iterator[tuple[SandboxServer, Recorder]]:
    recorder = Recorder(app)
    with SandboxServer({"/github": recorder}) as server:
        yield server, recorder


def identity_for(world: GitHubWorld, **options: Any) -> SandboxGitHubAppIdentity:
    return SandboxGitHubAppIdentity(world.org, **options)


def app_env(server: SandboxServer, world: GitHubWorld, identity: SandboxGitHubAppIdentity,
            key_file: Path, database_url: str, **extra: str) -> dict[str, str]:
    key_file.write_text(identity.private_key_pem)
    return {"GITHUB_API_URL": f"{server.url}/github", "GITHUB_APP_ID": str(identity.app_id),
            "GITHUB_APP_PRIVATE_KEY_PATH": str(key_file), "GITHUB_ORG": world.org,
            "DATABASE_URL": database_url, **extra}


def secrets_of(identity: SandboxGitHubAppIdentity) -> list[str]:
    body = "".join(identity.private_key_pem.strip().splitlines()[1:-1])
    return [identity.private_key_pem.strip().splitlines()[1], body[:64],
            *(m.token for m in identity.minted), *identity.jwts]


def stored_text(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        text = "\n".join(str(row) for table in sa.inspect(conn).get_table_names()
                         for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
    engine.dispose()
    return text


def files_text(*folders: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for folder in folders
                   for p in folder.rglob("*") if p.is_file() and p.suffix != ".pem")


def deferred_rows(database_url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data_type, partition_key FROM sync_partitions "
                                    "WHERE deferred_until IS NOT NULL")).all()
    engine.dispose()
    return sorted((r[0], r[1]) for r in rows)


def app_client(server: SandboxServer, world: GitHubWorld, identity: SandboxGitHubAppIdentity,
               sleeps: Sleeps, *, org: str | None = None, clock: Any = None,
               **options: Any) -> GitHubClient:
    app = GitHubAppInstallation(str(identity.app_id), identity.private_key_pem, org=org,
                                **({"clock": clock} if clock else {}))
    return GitHubClient.create(app=app, api_url=f"{server.url}/github", org=org, sleep=sleeps,
                               timeout=10, **options)


# -- the App -----------------------------------------------------------------------------------


def test_an_app_syncs_end_to_end_and_none_of_its_secrets_is_kept(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(31)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    home, log = tmp_path / "dagster_home", tmp_path / "gofap.log"
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        apply_env(monkeypatch, app_env(server, world, identity, tmp_path / "app.pem", url,
                                       LOG_LEVEL="DEBUG", LOG_FILE=str(log),
                                       DAGSTER_HOME=str(home)))
        assert main(["config-info"]) == 0
        assert main(["test-connections"]) == 0
        assert main(["sync", "--service", "github"]) == 0
        assert main(["status"]) == 0
    out, err = capfd.readouterr()
    assert "GitHub App 424242" in out
    assert "app gofap-sandbox-app, installation 51515151 on acme" in out
    assert "installation token expires" in out and "app:installation 51515151" in out
    assert github_differences(url, world) == {}
    assert identity.minted and all(len(m.token) > 40 for m in identity.minted)
    assert recorder.statuses(401) == 0
    text = out + err + log.read_text() + stored_text(url) + files_text(home)
    for secret in secrets_of(identity):
        assert secret not in text


def test_without_an_org_the_installation_lists_what_to_sync(tmp_path: Path) -> None:
    world = small_world(32)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        client = app_client(server, world, identity, Sleeps())
        assert direct_sync(client, store) == []
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    assert ("GET", "/installation/repositories", 200) in recorder.seen
    assert not any(path.startswith("/user") for _m, path, _s in recorder.seen)


def test_an_expired_token_is_renewed_once_on_its_401_mid_sync(tmp_path: Path) -> None:
    world = small_world(33, repos=3)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        recorder.hooks[6] = identity.expire_all
        sleeps = Sleeps()
        client = app_client(server, world, identity, sleeps, org=world.org)
        assert direct_sync(client, store, concurrency=1) == []
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    assert recorder.statuses(401) == 1 and len(identity.minted) == 2
    assert sleeps == []


def test_a_token_about_to_expire_is_renewed_before_it_does(tmp_path: Path) -> None:
    world = small_world(34, repos=3)
    now = [1_900_000_000.0]
    identity = identity_for(world, clock=lambda: now[0])
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()

    def later() -> None:
        now[0] += 3_400  # 200 s of the hour left: inside the renewal margin, still valid

    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        recorder.hooks[5] = later
        client = app_client(server, world, identity, Sleeps(), org=world.org,
                            clock=lambda: now[0])
        assert direct_sync(client, store, concurrency=1) == []
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    assert len(identity.minted) == 2 and recorder.statuses(401) == 0


def _other_rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(("key", "code", "named"), [
    ("not a key at all", 2, "GITHUB_APP_PRIVATE_KEY_PATH is not a PEM private key"),
    (_ec_key(), 2, "GitHub Apps sign with RSA"),
    (_other_rsa_key(), 1, "GITHUB_APP_ID=424242 and GITHUB_APP_PRIVATE_KEY_PATH do not belong"),
])
def test_a_bad_key_is_a_clear_error_before_any_data_request(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        key: str, code: int, named: str) -> None:
    world = small_world(35)
    identity = identity_for(world)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        env = app_env(server, world, identity, tmp_path / "app.pem", url)
        (tmp_path / "app.pem").write_text(key)
        apply_env(monkeypatch, env)
        assert main(["sync", "--service", "github"]) == code
        assert main(["test-connections"]) in (1, 2)
    out, err = capfd.readouterr()
    assert named in out + err
    assert recorder.data_requests() == [] and not identity.minted
    secret = key.strip().splitlines()[-2] if "-----" in key else key
    assert secret not in out + err


def test_a_missing_installation_names_the_variables(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(36)
    identity = identity_for(world)
    identity.installed = False
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with serving(GitHubApp(world, token=TOKENS[0], app=identity)) as (server, recorder):
        apply_env(monkeypatch, app_env(server, world, identity, tmp_path / "app.pem", url))
        assert main(["sync", "--service", "github"]) == 1
        monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "777")
        assert main(["sync", "--service", "github"]) == 1
    out = capfd.readouterr().out
    assert f"not installed on GITHUB_ORG={world.org}" in out
    assert "no installation 777 of app 424242: check GITHUB_APP_INSTALLATION_ID" in out
    assert recorder.data_requests() == []


# -- pools and budgets ---------------------------------------------------------------------------


def test_a_pool_finishes_on_the_others_when_one_token_runs_out_mid_sync(
        tmp_path: Path) -> None:
    world = small_world(37, repos=4)
    app = GitHubApp(world, token=TOKENS[0], tokens=TOKENS[1:], rate_limit=1000)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()

    def someone_else_spends_token_two() -> None:
        budget = app.budget(TOKENS[1])
        budget.used = budget.limit

    with serving(app) as (server, recorder):
        recorder.hooks[6] = someone_else_spends_token_two
        sleeps = Sleeps()
        client = GitHubClient.create(token=",".join(TOKENS), api_url=f"{server.url}/github",
                                     org=world.org, sleep=sleeps, timeout=10)
        assert direct_sync(client, store) == []
        account = {row["credential"]: row for row in client.http.account()}
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    assert sleeps == [], "the other tokens had budget: no wait"
    assert recorder.statuses(403) <= 4, "at most one refused request per worker thread"
    assert account["token#2"]["remaining"] == 0
    assert account["token#1"]["requests"] > 0 and account["token#3"]["requests"] > 0
    assert app.budget(TOKENS[1]).remaining == 0 and app.budget(TOKENS[0]).lowest > 900


def _budget_spent(app: GitHubApp, keys: tuple[str, ...]) -> int:
    return sum(app.budget(key).used for key in keys)


def test_a_spent_budget_stops_cleanly_defers_and_the_next_sync_completes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    world = small_world(38, repos=3)
    reserve, limit = 3, 8
    pool = TOKENS[:2]
    app = GitHubApp(world, token=pool[0], tokens=pool[1:], rate_limit=limit)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with serving(app) as (server, recorder):
        apply_env(monkeypatch, {
            "GITHUB_API_URL": f"{server.url}/github", "GITHUB_TOKEN": ",".join(pool),
            "GITHUB_ORG": world.org, "DATABASE_URL": url,
            "GOFAP_GITHUB_RATE_LIMIT_RESERVE": str(reserve)})
        assert main(["sync", "--service", "github"]) == 0
        first = capfd.readouterr().out
        assert main(["status"]) == 0
        status = capfd.readouterr().out
        deferred = deferred_rows(url)
        assert _budget_spent(app, pool) == 2 * (limit - reserve)
        assert all(app.budget(key).lowest >= reserve for key in pool), "reserve crossed"
        assert recorder.statuses(403) == 0, "the pool knew the budget: nothing was refused"
        first_answers = {path: status for _m, path, status in recorder.data_requests()}
        boundary = len(recorder.seen)

        for key in pool:  # the hour is over, and a bigger budget came back
            app.budget(key).limit, app.budget(key).used = 1000, 0
        assert main(["sync", "--service", "github"]) == 0
        second = capfd.readouterr().out
        second_answers = [(path, empty) for (_m, path, _s), empty in
                          zip(recorder.seen[boundary:], recorder.empty[boundary:], strict=True)
                          if path.startswith(DATA_PREFIXES)]
    assert deferred and "the rate-limit budget is spent until" in first
    assert "github: done" in first and "FAILED" not in first
    assert f"{len(deferred)} until" in status
    assert github_differences(url, world) == {}, second
    assert deferred_rows(url) == [] and "deferred" not in second
    # Resumed, not redone: what the first sync finished brings nothing again (a 304, or an
    # empty page past its cursor); the deferred partitions are read for the first time.
    again = [(path, empty) for path, empty in second_answers
             if first_answers.get(path) == 200 and path != f"/orgs/{world.org}/repos"]
    assert again and all(empty for _path, empty in again), again
    listings = {"issue": "issues", "pull_request": "pulls", "commit": "commits",
                "issue_comment": "issues/comments", "review_comment": "pulls/comments",
                "label": "labels", "milestone": "milestones", "release": "releases"}
    for data_type, key in deferred:
        if data_type == "pull_request_review":  # one listing per pull request
            assert any(path.startswith(f"/repos/{key}/pulls/") and path.endswith("/reviews")
                       for path, _s in second_answers)
            continue
        assert any(path == f"/repos/{key}/{listings[data_type]}" for path, _s in second_answers)


def test_a_listing_cut_short_by_the_budget_goes_on_from_its_next_page(tmp_path: Path) -> None:
    world = GitHubWorld(39, repos=1, issues_per_repo=450, commits_per_repo=5,
                        vanished_repo=False)
    app = GitHubApp(world, token=TOKENS[0], rate_limit=6)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(app) as (server, recorder):
        client = GitHubClient.create(token=TOKENS[0], api_url=f"{server.url}/github",
                                     org=world.org, sleep=Sleeps(), timeout=10,
                                     rate_limit_reserve=1)
        failures = direct_sync(client, store, concurrency=1)
        client.close()
        assert failures and all("budget exhausted until" in f for f in failures)
        first = [p for _m, p, _s in recorder.data_requests()]
        app.budget(TOKENS[0]).limit, app.budget(TOKENS[0]).used = 1000, 0
        boundary = len(recorder.seen)
        client = GitHubClient.create(token=TOKENS[0], api_url=f"{server.url}/github",
                                     org=world.org, sleep=Sleeps(), timeout=10)
        assert direct_sync(client, store, concurrency=1) == []
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    main = max(world.repositories(), key=lambda r: sum(
        1 for p in first if p in (f"/repos/{r.full_name}/issues", f"/repositories/{r.id}/issues")))
    mine = (f"/repos/{main.full_name}/issues", f"/repositories/{main.id}/issues")
    # 450 issue numbers (every 7th a pull request) are 5 pages; the first sync read some.
    read_before = sum(1 for p in first if p in mine)
    read_after = sum(1 for _m, p, _s in recorder.seen[boundary:] if p in mine)
    assert 0 < read_before < 5
    assert read_before + read_after == 5, "the committed pages were not read again"
    assert Warehouse(url).partition_state("github", "issue", main.full_name).resume_url is None


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_reviews_cut_short_by_the_budget_go_on_from_the_next_pull_request(
        database_url: str, full: bool) -> None:
    """A repository with more pull requests than a window's budget still gets all its reviews:
    each pull request read moves the cursor, so the next window starts after it. The pull
    requests were written in one page, so they share a change time: the number breaks the tie.
    A full sync cut short goes on incrementally from where it stopped."""
    world = GitHubWorld(40, repos=1, issues_per_repo=420, commits_per_repo=5,
                        vanished_repo=False)
    app = GitHubApp(world, token=TOKENS[0])
    url = database_url
    store = Warehouse(url)
    store.create_schema()
    with serving(app) as (server, recorder):
        def client() -> GitHubClient:  # one per window: each run reads its budget afresh
            return GitHubClient.create(token=TOKENS[0], api_url=f"{server.url}/github",
                                       org=world.org, sleep=Sleeps(), timeout=10,
                                       rate_limit_reserve=1)

        with closing(client()) as first:
            sync_repositories(first, store)
            repo = world.repositories()[0].full_name
            sync_repository_endpoint(first, store, PULL_REQUESTS, repo)
        with store.engine.connect() as conn:
            pulls = conn.execute(sa.text(
                "SELECT count(*) FROM imported_data WHERE data_type = 'pull_request' "
                "AND parent_key = :repo"), {"repo": repo}).scalar_one()
        assert pulls >= 50

        def reviews_read(start: int) -> list[str]:
            return [p for _m, p, _s in recorder.seen[start:]
                    if p.startswith(f"/repos/{repo}/pulls/") and p.endswith("/reviews")]

        reads: list[str] = []
        share = pulls // 3  # each window's budget reads a third of them (1 is the reserve)
        for window in range(1, 6):
            app.reset_budgets({TOKENS[0]: share + 1})
            start = len(recorder.seen)
            try:
                with closing(client()) as this:
                    sync_pull_request_reviews(this, store, repo, full=full and window == 1)
                break
            except BudgetExhaustedError:
                pass
            finally:
                reads += reviews_read(start)
        assert window == math.ceil(pulls / share), "each window read its share, no less"
        assert len(reads) == len(set(reads)) == pulls, "a pull request's reviews were read twice"

        app.reset_budgets({})  # a big hour: the rest of the repository, and nothing again
        start = len(recorder.seen)
        with closing(client()) as last:
            assert direct_sync(last, store, concurrency=1) == []
        assert reviews_read(start) == []
    store.dispose()
    assert github_differences(url, world) == {}


def test_the_materializations_count_deferrals_and_account_for_each_credential(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dagster as dg

    from gofap_assets.config import Settings
    from gofap_assets.definitions import build_definitions
    from gofap_assets.sync_runner import sync_service

    world = small_world(40, repos=2)
    pool = TOKENS[:2]
    app = GitHubApp(world, token=pool[0], tokens=pool[1:], rate_limit=7)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with serving(app) as (server, _recorder):
        apply_env(monkeypatch, {
            "GITHUB_API_URL": f"{server.url}/github", "GITHUB_TOKEN": ",".join(pool),
            "GITHUB_ORG": world.org, "DATABASE_URL": url,
            "GOFAP_GITHUB_RATE_LIMIT_RESERVE": "2"})
        with dg.instance_for_test() as instance:
            report = sync_service(build_definitions(Settings.from_env()), "github",
                                  instance=instance)
    assert report.ok and report.deferred > 0 and report.deferred_until
    runs: dict[str, Any] = {run.asset: run.metadata for run in report.runs}
    assert sum(int(str(m.get("partitions_deferred", 0))) for m in runs.values()) == \
        report.deferred
    accounts = [row for m in runs.values() for row in m["credentials"]]
    assert {row["credential"] for row in accounts} == {"token#1", "token#2"}
    listing = {row["credential"]: row for row in runs["github_repositories"]["credentials"]}
    assert sum(int(row["requests"]) for row in listing.values()) == 1
    assert all(set(row) >= {"requests", "not_modified", "remaining", "reset"}
               for row in accounts)
    assert all(row["remaining"] is None or int(row["remaining"]) >= 2 for row in accounts)
    assert not any(token in str(runs) for token in pool)


@pytest.mark.parametrize("options", [{"github_app": True}, {"github_tokens": 3}])
def test_the_sandbox_serves_an_app_or_a_pool_for_the_demo_and_tests(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, options: dict[str, Any]) -> None:
    from gofap_assets.sandbox import Sandbox

    world = small_world(41)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Sandbox(github=world, linear=None, **options) as sandbox:
        environ = sandbox.env.as_environ()
        assert ("GITHUB_APP_ID" in environ) == bool(options.get("github_app"))
        environ.pop("LINEAR_API_KEY")
        apply_env(monkeypatch, {**environ, "DATABASE_URL": url})
        assert main(["sync", "--service", "github"]) == 0
    assert github_differences(url, world) == {}
    if options.get("github_tokens"):
        assert len(environ["GITHUB_TOKEN"].split(",")) == 3


def test_an_app_and_tokens_form_one_pool_sharing_one_installation_token(
        tmp_path: Path) -> None:
    world = small_world(42, repos=4)
    identity = identity_for(world)
    app = GitHubApp(world, token=TOKENS[0], tokens=TOKENS[1:2], app=identity,
                    rate_limits={TOKENS[0]: 5000, TOKENS[1]: 5000,
                                 f"installation:{identity.installation_id}": 5000})
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    with serving(app) as (server, _recorder):
        installation = GitHubAppInstallation(str(identity.app_id), identity.private_key_pem,
                                             org=world.org)
        client = GitHubClient.create(token=",".join(TOKENS[:2]), app=installation,
                                     api_url=f"{server.url}/github", org=world.org,
                                     sleep=Sleeps(), timeout=10)
        assert direct_sync(client, store, concurrency=4) == []
        account = {row["credential"]: row for row in client.http.account()}
        client.close()
    store.dispose()
    assert github_differences(url, world) == {}
    assert set(account) == {f"app:installation {identity.installation_id}", "token#1",
                            "token#2"}
    assert all(int(row["requests"]) > 0 for row in account.values())
    assert len(identity.minted) == 1, "one installation token, shared by every thread"
