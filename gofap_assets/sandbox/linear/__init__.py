"""The Linear half of the sandbox: a GraphQL emulator over a generated, mutable workspace.

``LinearWorld`` holds the data (lazy, deterministic, with ground truth), ``LinearApp`` serves it
as api.linear.app would, on a schema cut from Linear's published SDL.
"""

from gofap_assets.sandbox.linear.app import LinearApp, graphql_request
from gofap_assets.sandbox.linear.world import SCALES, ExpectedRow, LinearWorld, Page

__all__ = ["SCALES", "ExpectedRow", "LinearApp", "LinearWorld", "Page", "graphql_request"]
