"""The `gofap-import` command."""

from gofap_assets.cli.main import main

__all__ = ["main"]
