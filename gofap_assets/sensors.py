"""Sensors: partition discovery and failure recording."""

import dagster as dg

sensors: list[dg.SensorDefinition] = []
