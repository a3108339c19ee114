"""A warehouse filled by the real command: a GitHub sync refused (bad token), then good syncs of
both services from the sandbox, as a new user's first day goes."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from gofap_assets.sandbox import Sandbox
from gofap_assets_tests.reliability.harness import run_cli


@dataclass(frozen=True)
class Synced:
    env: dict[str, str]
    """DATABASE_URL of the synced warehouse (no credentials: reading needs none)."""
    sandbox: Sandbox
    """Stopped; its worlds are the ground truth."""


@pytest.fixture(scope="session")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'warehouse.db'}"
    with Sandbox("small", seed=5) as sandbox:
        env = {**sandbox.env.as_environ(), "DATABASE_URL": database_url}
        refused = run_cli(["sync", "--service", "github"],
                          {**env, "GITHUB_TOKEN": "ghp_wrong_token_000000000000000000"})
        assert refused.returncode == 1, refused.stdout + refused.stderr
        good = run_cli(["sync"], env)
        assert good.returncode == 0, good.stdout + good.stderr
    return Synced({"DATABASE_URL": database_url}, sandbox)


def cli(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = run_cli(args, env)
    return result.returncode, result.stdout, result.stderr


__all__ = ["Path", "Synced", "cli"]
