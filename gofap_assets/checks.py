"""Asset checks: integrity (blocking) and health signals (warnings)."""

import dagster as dg

asset_checks: list[dg.AssetChecksDefinition] = []
