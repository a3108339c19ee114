"""Teams (by team key) as the dynamic partitions of `linear_issues`."""

import dagster as dg

team_partitions = dg.DynamicPartitionsDefinition(name="linear_teams")
