"""Per-service sync jobs and the schedules that run them at each service's interval."""

import dagster as dg

jobs: list = []
schedules: list[dg.ScheduleDefinition] = []
