"""The GitHub half of the sandbox: a generated organisation (`GitHubWorld`) and the REST
emulator that serves it (`GitHubApp`)."""

from gofap_assets.sandbox.github.app import GitHubApp
from gofap_assets.sandbox.github.auth import SandboxGitHubAppIdentity
from gofap_assets.sandbox.github.world import SCALES, ExpectedRow, GitHubWorld

__all__ = ["SCALES", "ExpectedRow", "GitHubApp", "GitHubWorld", "SandboxGitHubAppIdentity"]
