"""Teams as dynamic partitions (by team key), kept in step with the teams listing."""

from collections.abc import Iterable

import dagster as dg

team_partitions = dg.DynamicPartitionsDefinition(name="linear_teams")

_BATCH = 500


def sync_team_partition_keys(instance: dg.DagsterInstance, listed: Iterable[str], *,
                             complete: bool) -> tuple[list[str], list[str]]:
    """Add new team keys in batches; drop vanished ones only after a complete listing.

    Returns (added, removed). The teams' warehouse rows are kept either way.
    """
    name = team_partitions.name
    assert name is not None
    existing = set(instance.get_dynamic_partitions(name))
    wanted = set(listed)
    added = sorted(wanted - existing)
    for start in range(0, len(added), _BATCH):
        instance.add_dynamic_partitions(name, added[start:start + _BATCH])
    removed = sorted(existing - wanted) if complete else []
    for key in removed:
        instance.delete_dynamic_partition(name, key)
    return added, removed
