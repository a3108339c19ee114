"""Repositories (`owner/name`) as the dynamic partitions of the per-repository assets."""

import dagster as dg

repository_partitions = dg.DynamicPartitionsDefinition(name="github_repositories")
