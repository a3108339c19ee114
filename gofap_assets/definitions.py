"""The code location: assembles assets, checks, schedules, sensors and resources."""

import dagster as dg

from gofap_assets.checks import asset_checks
from gofap_assets.config import Settings
from gofap_assets.github.assets import github_assets
from gofap_assets.linear.assets import linear_assets
from gofap_assets.logs import configure_logging
from gofap_assets.resources import build_resources
from gofap_assets.retention_job import archive_job
from gofap_assets.schedules import jobs, schedules
from gofap_assets.sensors import sensors


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything Dagster loads, with resources configured from `settings`."""
    return dg.Definitions(
        assets=[*github_assets, *linear_assets],
        asset_checks=asset_checks,
        jobs=[*jobs, archive_job],
        schedules=schedules,
        sensors=sensors,
        resources=build_resources(settings),
    )


settings = Settings.from_env()
configure_logging(settings.log_level, settings.log_file)
defs = build_definitions(settings)
