"""Local emulators of the GitHub REST and Linear GraphQL APIs, over real HTTP on loopback.

`Sandbox` starts both behind one server, with deterministic generated data, mutation between
syncs, ground truth and fault injection, for tests, the demo and the benchmarks.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from gofap_assets.sandbox.faults import FaultProfile
from gofap_assets.sandbox.github import GitHubApp, GitHubWorld, SandboxGitHubAppIdentity
from gofap_assets.sandbox.linear import LinearApp, LinearWorld
from gofap_assets.sandbox.server import SandboxServer, SandboxStats
from gofap_assets.sandbox.webhooks import WebhookEmitter, WebhookTarget

GITHUB_TOKEN = "ghp_sandboxtoken0000000000000000000000"
LINEAR_API_KEY = "lin_api_sandboxkey000000000000000000000"


@dataclass(frozen=True)
class SandboxEnv:
    """The environment variables that point the importer at a running sandbox."""

    github_api_url: str
    github_token: str
    github_org: str
    linear_api_url: str
    linear_api_key: str
    github_app_id: str | None = None
    github_app_private_key: str | None = None
    """With an emulated GitHub App: its id and PEM key replace the token."""

    def as_environ(self) -> dict[str, str]:
        github = ({"GITHUB_APP_ID": self.github_app_id,
                   "GITHUB_APP_PRIVATE_KEY": self.github_app_private_key or ""}
                  if self.github_app_id else {"GITHUB_TOKEN": self.github_token})
        return {
            "GITHUB_API_URL": self.github_api_url,
            **github,
            "GITHUB_ORG": self.github_org,
            "LINEAR_API_URL": self.linear_api_url,
            "LINEAR_API_KEY": self.linear_api_key,
        }


class Sandbox:
    """Both emulated APIs behind one loopback server; a context manager."""

    def __init__(self, scale: str = "small", seed: int = 1, *,
                 github: GitHubWorld | None = None, linear: LinearWorld | None = None,
                 faults: FaultProfile | None = None, latency_ms: float = 0.0,
                 port: int = 0, github_tokens: int = 1, github_app: bool = False,
                 webhooks: WebhookTarget | None = None) -> None:
        """`github_tokens` > 1 serves a pool (GITHUB_TOKEN comma-separated, each with its own
        budget); `github_app` emulates a GitHub App installed on the world's organization;
        `webhooks` posts a signed delivery there for every change `mutate` makes."""
        self.github = github if github is not None else GitHubWorld.scaled(scale, seed)
        self.linear = linear if linear is not None else LinearWorld.scaled(scale, seed)
        self.github_tokens = [GITHUB_TOKEN] + [f"{GITHUB_TOKEN[:-3]}{n:03d}"
                                               for n in range(1, github_tokens)]
        self.github_app = SandboxGitHubAppIdentity(self.github.org) if github_app else None
        apps = {"/github": GitHubApp(self.github, token=GITHUB_TOKEN,
                                     tokens=self.github_tokens[1:], app=self.github_app),
                "/linear": LinearApp(self.linear, api_key=LINEAR_API_KEY)}
        self.server = SandboxServer(apps, faults=faults, latency_ms=latency_ms, port=port)
        self.webhook_target = webhooks
        self.webhooks: WebhookEmitter | None = None
        """Posts a signed delivery for every change `mutate` makes, once started."""

    def __enter__(self) -> "Sandbox":
        self.server.start()
        if self.webhook_target is not None:
            self.webhooks = WebhookEmitter(self.webhook_target, github=self.github,
                                           github_api_url=self.env.github_api_url,
                                           linear=self.linear)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
            self.webhooks = None
        self.server.stop()

    @property
    def env(self) -> SandboxEnv:
        url = self.server.url
        app = self.github_app
        return SandboxEnv(github_api_url=f"{url}/github",
                          github_token=",".join(self.github_tokens),
                          github_org=self.github.org, linear_api_url=f"{url}/linear/graphql",
                          linear_api_key=LINEAR_API_KEY,
                          github_app_id=str(app.app_id) if app else None,
                          github_app_private_key=app.private_key_pem if app else None)

    def expected_rows(self) -> Iterator[object]:
        yield from self.github.expected_rows()
        yield from self.linear.expected_rows()

    @property
    def stats(self) -> SandboxStats:
        return self.server.stats


__all__ = ["GITHUB_TOKEN", "LINEAR_API_KEY", "FaultProfile", "GitHubWorld", "LinearWorld",
           "Sandbox", "SandboxEnv", "WebhookTarget"]
